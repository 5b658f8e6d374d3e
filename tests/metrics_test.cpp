// Metrics (src/metrics/metrics.hpp) fed by a real engine run in virtual time
// (EngineHarness: ManualClock, in-memory store, scripted fake provider), then
// scraped; the scrape is checked by value and by `promtool check metrics`.
#include "src/metrics/metrics.hpp"

#include "support/fake_provider.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace reelbatch::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The value of the series `name{labels}` in a text-format scrape, or nullopt
// when absent. prometheus-cpp writes labels sorted by name, a histogram's
// `le` last.
std::optional<double> value(const std::string& text, const std::string& name,
                            const std::map<std::string, std::string>& labels = {}) {
  std::string series = name;
  if (!labels.empty()) {
    series += "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (k == "le") continue;  // written last
      series += (first ? "" : ",") + k + "=\"" + v + "\"";
      first = false;
    }
    if (auto le = labels.find("le"); le != labels.end()) series += (first ? "" : ",") + std::string("le=\"") + le->second + "\"";
    series += "}";
  }
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

class MetricsTest : public EngineHarness {
 protected:
  Metrics metrics{MetricsOptions{{{"p", "credit"}}}};

  MetricsTest() { opts.observer = &metrics; }

  std::string scrape() {
    const EngineSnapshot snap = engine ? engine->snapshot() : EngineSnapshot{};
    return metrics.scrape(store, {"p"}, engine ? &snap : nullptr, clock.unix_ms());
  }
};

TEST_F(MetricsTest, CountsAnEngineBatch) {
  // The first submit gets a 429 (nothing created), the row waits and goes again.
  world.submit_answers.push_back(SubmitAnswer::error(ErrorClass::rate_limited, "429", "slow down", seconds(10), 429));
  const auto ids = run_rows(3);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(all_in(ids, JobState::succeeded));
  const std::string text = scrape();
  SCOPED_TRACE(text);

  EXPECT_EQ(value(text, "reelbatch_jobs", {{"profile", "p"}, {"state", "succeeded"}}), 3);
  EXPECT_EQ(value(text, "reelbatch_jobs", {{"profile", "p"}, {"state", "pending"}}), 0);
  EXPECT_EQ(value(text, "reelbatch_requests_total", {{"kind", "submit"}, {"outcome", "ok"}, {"profile", "p"}}), 3);
  EXPECT_EQ(
      value(text, "reelbatch_requests_total", {{"kind", "submit"}, {"outcome", "rate_limited"}, {"profile", "p"}}), 1);
  EXPECT_EQ(value(text, "reelbatch_rate_limited_total", {{"kind", "submit"}, {"profile", "p"}}), 1);
  EXPECT_EQ(value(text, "reelbatch_requests_total", {{"kind", "poll"}, {"outcome", "ok"}, {"profile", "p"}}),
            static_cast<double>(world.calls_of("query").size()));
  EXPECT_EQ(value(text, "reelbatch_requests_total", {{"kind", "download"}, {"outcome", "ok"}, {"profile", "p"}}),
            static_cast<double>(world.downloads.size()));
  EXPECT_EQ(value(text, "reelbatch_retries_total", {{"profile", "p"}, {"reason", "submit_rate_limited"}}), 1);
  EXPECT_EQ(value(text, "reelbatch_job_transitions_total", {{"profile", "p"}, {"to", "succeeded"}}), 3);

  double bytes = 0;
  for (auto id : ids) bytes += static_cast<double>(job(id).bytes);
  EXPECT_GT(bytes, 0);
  EXPECT_EQ(value(text, "reelbatch_download_bytes_total", {{"profile", "p"}}), bytes);
  EXPECT_EQ(value(text, "reelbatch_credits_charged_total", {{"profile", "p"}, {"unit", "credit"}}), 3.0);
  EXPECT_EQ(value(text, "reelbatch_credits_spent", {{"profile", "p"}, {"unit", "credit"}}), 3.0);

  // Three finished jobs; four admissions (the 429'd row was admitted twice).
  EXPECT_EQ(value(text, "reelbatch_submit_to_done_seconds_count", {{"profile", "p"}}), 3);
  EXPECT_EQ(value(text, "reelbatch_queue_wait_seconds_count", {{"profile", "p"}}), 4);
  // Submit to done is at least poll_first + one interval (5 s + ~5 s) of virtual time.
  const auto sum = value(text, "reelbatch_submit_to_done_seconds_sum", {{"profile", "p"}});
  ASSERT_TRUE(sum.has_value());
  EXPECT_GE(*sum, 3 * 9.0);
  EXPECT_LE(*sum, 3 * 60.0);
  // The 429'd row waited out its Retry-After (10 s) in pending before its second admission.
  const auto wait = value(text, "reelbatch_queue_wait_seconds_sum", {{"profile", "p"}});
  ASSERT_TRUE(wait.has_value());
  EXPECT_GE(*wait, 9.0);
  EXPECT_LE(*wait, 60.0);
  EXPECT_EQ(value(text, "reelbatch_queue_wait_seconds_bucket", {{"le", "+Inf"}, {"profile", "p"}}), 4);

  EXPECT_EQ(value(text, "reelbatch_lane_capacity", {{"profile", "p"}}), 4);
  EXPECT_EQ(value(text, "reelbatch_lane_in_flight", {{"profile", "p"}}), 0);
  EXPECT_EQ(value(text, "reelbatch_profile_paused", {{"profile", "p"}}), 0);
  // Nothing is downloading: no slack series. Each finished download had days of URL left.
  EXPECT_FALSE(value(text, "reelbatch_download_url_slack_seconds", {{"profile", "p"}}).has_value());
  EXPECT_EQ(value(text, "reelbatch_download_url_slack_at_done_seconds_count", {{"profile", "p"}}), 3);
  EXPECT_EQ(value(text, "reelbatch_download_url_slack_at_done_seconds_bucket", {{"le", "86400"}, {"profile", "p"}}),
            0);
}

TEST_F(MetricsTest, DownloadRetriesAndUrlSlackWhileDownloading) {
  // Every download of the only row fails for a while: the row stays in
  // `downloading` and its URL slack is visible.
  world.default_script = {QueryAnswer::succeeded(2.5)};
  for (int i = 0; i < 3; ++i) world.download_failures.push_back("connection reset");
  const auto ids = add_rows(1);
  start();
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::downloading && !world.download_failures.empty(); }));
  // Let one failed fetch happen, then look while it waits to try again.
  ASSERT_TRUE(run_until([&] { return world.download_failures.size() < 3; }));
  const std::string during = scrape();
  SCOPED_TRACE(during);
  const auto slack = value(during, "reelbatch_download_url_slack_seconds", {{"profile", "p"}});
  ASSERT_TRUE(slack.has_value());
  // The fake's URLs live 7 days from success; well under a minute of virtual time has passed.
  EXPECT_LE(*slack, 7 * 86400.0);
  EXPECT_GT(*slack, 7 * 86400.0 - 600);
  EXPECT_EQ(value(during, "reelbatch_jobs", {{"profile", "p"}, {"state", "downloading"}}), 1);

  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }));
  const std::string after = scrape();
  EXPECT_EQ(value(after, "reelbatch_requests_total", {{"kind", "download"}, {"outcome", "retryable"}, {"profile", "p"}}),
            3);
  EXPECT_EQ(value(after, "reelbatch_retries_total", {{"profile", "p"}, {"reason", "download"}}), 3);
  EXPECT_EQ(value(after, "reelbatch_credits_charged_total", {{"profile", "p"}, {"unit", "credit"}}), 2.5);
  EXPECT_FALSE(value(after, "reelbatch_download_url_slack_seconds", {{"profile", "p"}}).has_value());
}

TEST_F(MetricsTest, WatchFilesAndRemovedProfiles) {
  add_rows(2);
  metrics.watch_file("/srv/inbox", "done");
  metrics.watch_file("/srv/inbox", "done");
  metrics.watch_file("/srv/inbox", "failed");
  std::string text = metrics.scrape(store, {"p", "q"}, nullptr, clock.unix_ms());
  EXPECT_EQ(value(text, "reelbatch_watch_files_total", {{"folder", "/srv/inbox"}, {"outcome", "done"}}), 2);
  EXPECT_EQ(value(text, "reelbatch_watch_files_total", {{"folder", "/srv/inbox"}, {"outcome", "failed"}}), 1);
  EXPECT_EQ(value(text, "reelbatch_jobs", {{"profile", "p"}, {"state", "pending"}}), 2);
  EXPECT_EQ(value(text, "reelbatch_jobs", {{"profile", "q"}, {"state", "pending"}}), 0);
  EXPECT_FALSE(value(text, "reelbatch_lane_capacity", {{"profile", "p"}}).has_value());  // no engine
  // A reload dropped profile q: its series go.
  text = metrics.scrape(store, {"p"}, nullptr, clock.unix_ms());
  EXPECT_FALSE(value(text, "reelbatch_jobs", {{"profile", "q"}, {"state", "pending"}}).has_value());
  EXPECT_EQ(value(text, "reelbatch_jobs", {{"profile", "p"}, {"state", "pending"}}), 2);
}

// `promtool check metrics` (Debian package prometheus) on a real scrape.
TEST_F(MetricsTest, PromtoolAcceptsTheScrape) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool not installed (Debian package `prometheus`); scrape not linted";
  world.submit_answers.push_back(SubmitAnswer::error(ErrorClass::rate_limited, "429", "slow down", seconds(2), 429));
  world.download_failures.push_back("connection reset");
  run_rows(2);
  ASSERT_FALSE(HasFailure());
  metrics.watch_file("/srv/inbox", "done");
  const std::string text = scrape();
  const auto file = dir / "scrape.prom";
  const auto out = dir / "promtool.out";
  std::ofstream(file) << text;
  const std::string cmd = "promtool check metrics < '" + file.string() + "' > '" + out.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << report << "\n--- scrape ---\n" << text;
  EXPECT_EQ(report, "") << "promtool lint findings:\n" << report;
}

}  // namespace
}  // namespace reelbatch::test
