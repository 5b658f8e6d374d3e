// Issue 7, case 1 (a paid clip is never lost while its URL works) and case 7
// (an error page is never saved as a video), in virtual time: the engine's
// download stage (src/engine/download.cpp) against a scripted CDN. The fetcher
// here does what src/output/downloader does with a response (write .part,
// check_download(), rename or keep/remove the part) so the validation the
// engine relies on is the real one.
#include "tests/support/fake_provider.hpp"

#include "src/core/sha256.hpp"
#include "src/output/validate.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>

namespace reelbatch::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
namespace fs = std::filesystem;
using namespace std::string_literals;

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string iso_utc(std::int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm g{};
  gmtime_r(&t, &g);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

/// What the scripted CDN answers to one GET.
struct Served {
  int status = 200;
  std::string content_type;
  std::string body;
  std::optional<std::uint64_t> content_length;  ///< nullopt: body.size()
  std::size_t cut_at = std::string::npos;       ///< the connection drops after this many bytes
  int disk_errno = 0;                           ///< the local write fails with this errno
};

/// An answer with `status`, `content_type` and `body`.
Served served(int status, std::string content_type, std::string body) {
  Served s;
  s.status = status;
  s.content_type = std::move(content_type);
  s.body = std::move(body);
  return s;
}

/// A good file for `path`: an MP4 (ftyp) or a JPEG, then "video of <url>".
Served good(const std::string& url, const fs::path& path) {
  Served s;
  if (expected_media(path) == MediaKind::image) {
    s.content_type = "image/jpeg";
    s.body = "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"s + "cover of " + url;
  } else {
    s.content_type = "video/mp4";
    s.body = "\x00\x00\x00\x18" "ftypmp42\x00\x00\x00\x00"s + "video of " + url;
  }
  return s;
}

class DownloadFlow : public EngineHarness {
 protected:
  DownloadFlow() {
    opts.download = [this](const std::string& url, const std::vector<std::pair<std::string, std::string>>&,
                           const fs::path& path,
                           milliseconds) -> boost::asio::awaitable<Result<DownloadedFile, DownloadError>> {
      co_return fetch(url, path);
    };
    opts.free_space = [this](const fs::path&) -> std::uintmax_t { return disk_full ? 0 : (1ull << 30); };
  }

  /// The CDN: answers every GET (default: a good file).
  std::function<Served(const std::string& url, const fs::path& path)> cdn = good;
  bool disk_full = false;  ///< every write fails with ENOSPC; free_space says 0
  struct Get {
    fs::path path;
    SteadyTime at;
    int status;
  };
  std::vector<Get> gets;

  std::vector<Get> gets_of(const fs::path& path) const {
    std::vector<Get> out;
    for (const auto& g : gets)
      if (g.path == path) out.push_back(g);
    return out;
  }

  Result<DownloadedFile, DownloadError> fetch(const std::string& url, const fs::path& path) {
    Served s = disk_full ? served(200, "", "") : cdn(url, path);
    if (disk_full) s.disk_errno = ENOSPC;
    gets.push_back(Get{path, clock.now(), s.status});
    const fs::path part = path.string() + ".part";
    if (s.disk_errno != 0) {
      DownloadError e{0, false, "cannot write " + part.string() + ": " + std::strerror(s.disk_errno)};
      e.fault = DownloadFault::disk;
      e.sys_errno = s.disk_errno;
      return fail(e);
    }
    if (s.status < 200 || s.status >= 300) {
      DownloadError e{s.status, false, "HTTP " + std::to_string(s.status)};
      if (s.status == 401 || s.status == 403 || s.status == 404 || s.status == 410) {
        e.url_expired = true;
        e.fault = DownloadFault::link_rejected;
      }
      return fail(e);
    }
    const std::string got = s.body.substr(0, std::min(s.cut_at, s.body.size()));
    fs::create_directories(path.parent_path());
    {
      std::ofstream f(part, std::ios::binary | std::ios::trunc);
      f << got;
    }
    DownloadFacts facts;
    facts.http_status = s.status;
    facts.content_type = s.content_type;
    facts.content_length = s.content_length.value_or(s.body.size());
    facts.received = got.size();
    facts.file_size = got.size();
    facts.head = got.substr(0, 64);
    if (auto bad = check_download(facts, expected_media(path))) {
      if (!bad->truncated) fs::remove(part);
      DownloadError e{s.status, false, bad->message};
      if (!bad->truncated) e.fault = DownloadFault::invalid;
      return fail(e);
    }
    fs::rename(part, path);
    return DownloadedFile{path, got.size(), sha256_hex(got), false};
  }

  fs::path video_of(std::int64_t id) const { return out_dir / (job(id).key + ".mp4"); }
};

// Issue 7 case 1: "6 of 40 paid rows were lost to a 4-minute CDN outage".
// The CDN answers 503 for the first 4 minutes: every paid row waits in
// downloading, then succeeds; nothing is submitted twice.
TEST_F(DownloadFlow, Case1_CdnOutageDoesNotFailPaidRows) {
  profile().max_in_flight = 10;
  profile().submit_per_minute = 600;
  const SteadyTime outage_end = t0 + minutes(4);
  cdn = [&](const std::string& url, const fs::path& path) {
    if (clock.now() < outage_end) return served(503, "text/html", "<html>503 Service Unavailable</html>");
    return good(url, path);
  };
  const auto ids = add_rows(10);
  start();
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::downloading; }));
  run_until([&] { return clock.now() >= t0 + minutes(3); });
  for (auto id : ids) EXPECT_EQ(job(id).state, JobState::downloading) << job(id).key;  // waiting, not failed
  const auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }, std::chrono::hours(1)));

  EXPECT_TRUE(all_in(ids, JobState::succeeded));
  EXPECT_EQ(world.calls_of("submit").size(), 10u);
  for (auto id : ids) {
    const JobRecord r = job(id);
    SCOPED_TRACE(r.key);
    const auto tries = gets_of(video_of(id));
    ASSERT_GE(tries.size(), 3u);  // several failed tries during the outage
    EXPECT_EQ(tries.back().status, 200);
    EXPECT_GE(tries.back().at, outage_end);
    // Backed off: the last failed try and the success are at most the cap apart.
    EXPECT_LE(tries.back().at - tries[tries.size() - 2].at, minutes(5));
    const auto events = state_events(id);
    EXPECT_EQ(std::count(events.begin(), events.end(), "download_failed"), 0);
    EXPECT_EQ(events.back(), "download_done");
    EXPECT_EQ(read_file(video_of(id)).substr(4, 4), "ftyp");
    EXPECT_EQ(r.sha256, sha256_hex(read_file(video_of(id))));
  }
  // One warning per row for the first failure, not one per try.
  EXPECT_EQ(count_of(log_text.str(), "download failed:"), 10) << log_text.str();
}

// A CDN outage longer than the URL deadline (url_ttl 10 min, links not
// re-signed): the row ends `expired`, naming the deadline it missed. Then
// `retry` brings it back to downloading (fresh links asked for), never
// submitting again, and it succeeds once the CDN answers.
TEST_F(DownloadFlow, Case1_OutageBeyondUrlDeadlineExpiresNamingTheDeadline) {
  profile().url_ttl = minutes(10);
  bool cdn_up = false;
  cdn = [&](const std::string& url, const fs::path& path) {
    if (!cdn_up) return served(503, "text/plain", "busy");
    return good(url, path);
  };
  const auto ids = add_rows(1);
  start();
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::downloading; }));
  const std::int64_t deadline = job(ids[0]).url_expires_at_ms;
  EXPECT_EQ(deadline, clock.unix_ms() + 600'000);
  run_until([&] { return clock.unix_ms() >= deadline - 1000; });
  EXPECT_EQ(job(ids[0]).state, JobState::downloading);  // still waiting one second before the deadline
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::expired; }, minutes(30)));

  JobRecord r = job(ids[0]);
  EXPECT_GE(clock.unix_ms(), deadline);
  EXPECT_LE(clock.unix_ms(), deadline + 1000);  // the last try is at the deadline, not later
  EXPECT_NE(r.error_message.find("URL deadline " + iso_utc(deadline)), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("HTTP 503"), std::string::npos) << r.error_message;
  EXPECT_EQ(state_events(ids[0]).back(), "download_expired");
  EXPECT_FALSE(fs::exists(video_of(ids[0])));
  EXPECT_TRUE(is_terminal(JobState::expired));

  // retry: downloading again, fresh links asked for first, no new submit.
  cdn_up = true;
  const auto queries_before = world.calls_of("query").size();
  const ControlResult res = await(engine->async_retry(ids[0]));
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_EQ(res.state, JobState::downloading);
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }));
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_GT(world.calls_of("query").size(), queries_before);
  const auto events = state_events(ids[0]);
  EXPECT_EQ(std::count(events.begin(), events.end(), "retry_download"), 1);
  EXPECT_EQ(std::count(events.begin(), events.end(), "retry"), 0);
  EXPECT_EQ(read_file(video_of(ids[0])).substr(4, 4), "ftyp");
}

// A full disk pauses every download (logged once, not per row), the rows wait
// in downloading, and all finish once space returns.
TEST_F(DownloadFlow, Case1_DiskFullPausesDownloadsUntilSpaceReturns) {
  profile().max_in_flight = 6;
  disk_full = true;
  const auto ids = add_rows(6);
  start();
  ASSERT_TRUE(run_until([&] { return all_in(ids, JobState::downloading); }));
  run_for(minutes(10));
  EXPECT_TRUE(all_in(ids, JobState::downloading));
  const auto gets_while_full = gets.size();
  EXPECT_LE(gets_while_full, 6u);  // paused: not one try per row every few seconds
  run_for(minutes(5));
  EXPECT_EQ(gets.size(), gets_while_full);

  disk_full = false;
  const SteadyTime freed = clock.now();
  const auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }));
  EXPECT_TRUE(all_in(ids, JobState::succeeded));
  EXPECT_LE(gets_of(video_of(ids[0])).back().at - freed, seconds(6));  // checked every 5 s
  const std::string log = log_text.str();
  EXPECT_EQ(count_of(log, "downloads paused"), 1) << log;
  EXPECT_EQ(count_of(log, "downloads resumed"), 1) << log;
  EXPECT_EQ(count_of(log, "download failed"), 0) << log;
  EXPECT_EQ(world.calls_of("submit").size(), 6u);
}

// The video is complete but its sidecar cannot be written: the row waits and
// succeeds once the sidecar is written, without fetching the video again.
TEST_F(DownloadFlow, Case1_SidecarWriteFailureWaitsThenSucceeds) {
  const auto ids = add_rows(1);
  const fs::path blocker = out_dir / "r1.json.tmp";  // a folder: the sidecar's temp file cannot be created
  fs::create_directories(blocker);
  start();
  ASSERT_TRUE(run_until([&] { return fs::exists(video_of(ids[0])); }));
  run_for(minutes(3));
  EXPECT_EQ(job(ids[0]).state, JobState::downloading);
  EXPECT_NE(log_text.str().find("sidecar could not be written"), std::string::npos);
  fs::remove(blocker);
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }));
  EXPECT_EQ(gets_of(video_of(ids[0])).size(), 1u);
  const auto sc = boost::json::parse(read_file(out_dir / "r1.json")).as_object();
  EXPECT_EQ(sc.at("video").at("sha256").as_string(), job(ids[0]).sha256);
}

// Issue 7 case 7: a 200 text/html error page (38 bytes) is never saved as the
// .mp4; the try counts as failed, and the good bytes are accepted later.
TEST_F(DownloadFlow, Case7_HtmlErrorPageIsNotSaved) {
  int pages = 2;
  bool final_seen_during_errors = false;
  cdn = [&](const std::string& url, const fs::path& path) {
    if (path.extension() == ".mp4" && pages > 0) {
      --pages;
      final_seen_during_errors = final_seen_during_errors || fs::exists(path);
      return served(200, "text/html", "<html><body>error 12345</body></html>\n");
    }
    return good(url, path);
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  EXPECT_FALSE(final_seen_during_errors);
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  const auto tries = gets_of(video_of(ids[0]));
  ASSERT_EQ(tries.size(), 3u);
  const std::string body = read_file(video_of(ids[0]));
  EXPECT_EQ(body.substr(4, 4), "ftyp");
  EXPECT_EQ(r.bytes, body.size());
  EXPECT_FALSE(fs::exists(video_of(ids[0]).string() + ".part"));
  // Reported with what came back.
  EXPECT_NE(log_text.str().find("Content-Type text/html, 38 bytes"), std::string::npos) << log_text.str();
  EXPECT_NE(log_text.str().find("starts with \"<html><body>error 12345</body></html> \""), std::string::npos);
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
}

// A short body (the connection drops before Content-Length) is retried, then
// the complete file is accepted.
TEST_F(DownloadFlow, Case7_ShortBodyIsRetriedThenAccepted) {
  int cuts = 1;
  cdn = [&](const std::string& url, const fs::path& path) {
    Served s = good(url, path);
    if (path.extension() == ".mp4" && cuts > 0) {
      --cuts;
      s.cut_at = 10;
    }
    return s;
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  EXPECT_EQ(gets_of(video_of(ids[0])).size(), 2u);
  const Served full = good("http://fake.invalid/v/" + r.remote_id + ".mp4", video_of(ids[0]));
  EXPECT_EQ(read_file(video_of(ids[0])), full.body);
  EXPECT_EQ(r.bytes, full.body.size());
  EXPECT_NE(log_text.str().find("short body"), std::string::npos);
}

// 404 on the link and the provider says the task is gone: a permanent cause,
// the row fails with the HTTP and provider detail. `retry` re-downloads (it
// never resubmits a paid task).
TEST_F(DownloadFlow, Case1_GoneTaskFailsWithDetailAndRetryNeverResubmits) {
  world.default_script = {QueryAnswer::running(), QueryAnswer::succeeded(),
                          QueryAnswer::error(ErrorClass::permanent, "4004", "任务不存在")};
  bool gone = true;
  cdn = [&](const std::string& url, const fs::path& path) {
    if (gone) return served(404, "text/plain", "not found");
    return good(url, path);
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_NE(r.error_message.find("HTTP 404"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("4004"), std::string::npos) << r.error_message;
  EXPECT_EQ(gets_of(video_of(ids[0])).size(), 2u);  // the refresh came between the two tries
  EXPECT_EQ(state_events(ids[0]).back(), "download_failed");

  // The provider answers again (e.g. it was a passing fault): retry downloads.
  gone = false;
  world.task_scripts[r.remote_id] = {QueryAnswer::succeeded()};
  const ControlResult res = await(engine->async_retry(ids[0]));
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_EQ(res.state, JobState::downloading);
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }));
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
}

// Optional outputs (the cover) that keep failing do not hold the row: after
// optional_output_tries it succeeds with the video and the cover's error in
// the sidecar.
TEST_F(DownloadFlow, OptionalCoverFailingGivesUpAfterItsTries) {
  cdn = [&](const std::string& url, const fs::path& path) {
    if (expected_media(path) == MediaKind::image) return served(503, "text/plain", "busy");
    return good(url, path);
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(job(ids[0]).state, JobState::succeeded);
  EXPECT_EQ(gets_of(video_of(ids[0])).size(), 1u);
  EXPECT_EQ(gets_of(out_dir / "r1.cover.jpg").size(), 8u);
  const auto sc = boost::json::parse(read_file(out_dir / "r1.json")).as_object();
  EXPECT_NE(boost::json::serialize(sc).find("HTTP 503"), std::string::npos);
}

// On start, .part files of terminal rows are removed; those of rows still
// downloading are kept (resumed).
TEST_F(DownloadFlow, StartRemovesPartsOfTerminalRowsOnly) {
  const auto ids = add_rows(2);
  // r1 succeeded earlier, r2 is mid-download (a task that succeeded).
  JobRecord a = job(ids[0]);
  JobRecord b = job(ids[1]);
  fs::create_directories(out_dir);
  std::ofstream(out_dir / "r1.mp4.part") << "partial";
  std::ofstream(out_dir / "r1.json.tmp") << "{";
  std::ofstream(out_dir / "r2.mp4.part") << "partial";
  std::ofstream(out_dir / "unrelated.mp4.part") << "someone else's";
  EventRecord e;
  e.kind = "state";
  for (JobRecord* r : {&a, &b}) {
    const JobState from = r->state;
    r->state = r == &a ? JobState::cancelled : JobState::downloading;
    r->remote_id = "t-" + r->key;
    r->video_url = "http://fake.invalid/v/" + r->remote_id + ".mp4";
    r->url_expires_at_ms = clock.unix_ms() + 3'600'000;
    ASSERT_TRUE(store.try_transition(*r, from, e));
  }
  bool part_seen_at_first_get = false;
  cdn = [&](const std::string& url, const fs::path& path) {
    if (path == out_dir / "r2.mp4" && gets_of(path).empty()) part_seen_at_first_get = fs::exists(out_dir / "r2.mp4.part");
    return good(url, path);
  };
  world.task_scripts["t-r2"] = {QueryAnswer::succeeded()};
  start();
  EXPECT_FALSE(fs::exists(out_dir / "r1.mp4.part"));
  EXPECT_FALSE(fs::exists(out_dir / "r1.json.tmp"));
  EXPECT_TRUE(fs::exists(out_dir / "unrelated.mp4.part"));
  ASSERT_TRUE(run_until([&] { return job(ids[1]).state == JobState::succeeded; }));
  EXPECT_TRUE(part_seen_at_first_get);
}

}  // namespace
}  // namespace reelbatch::test
