// Engine stage tests in virtual time (ManualClock), over an in-memory
// SqliteJobStore and a scripted FakeProvider: no sockets, no sleeping.
// This file: the happy path, lane admission, the submit token bucket and
// the submit error classes. engine_test_recovery.cpp: reconcile, remote
// failures, poll errors, recovery, control requests, compare-and-set, stop.
#include "src/engine/budget.hpp"
#include "tests/support/fake_provider.hpp"

#include "src/core/sha256.hpp"

#include <boost/json/parse.hpp>

#include <fstream>
#include <sstream>

namespace reelbatch::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using EngineFlow = EngineHarness;

// 1. Three rows: each submitted once, first poll exactly poll_first after its
// submit, downloaded by the fake fetcher, sidecar and results.jsonl written.
TEST_F(EngineFlow, HappyPathSubmitsPollsDownloadsAndWritesResults) {
  const auto ids = run_rows(3);
  ASSERT_FALSE(HasFailure());

  ASSERT_EQ(world.calls_of("submit").size(), 3u);
  EXPECT_EQ(world.created.size(), 3u);
  EXPECT_TRUE(world.calls_of("list").empty());
  EXPECT_TRUE(world.calls_of("upload").empty());
  for (auto id : ids) {
    const JobRecord r = job(id);
    SCOPED_TRACE(r.key);
    EXPECT_EQ(r.state, JobState::succeeded);
    EXPECT_EQ(r.attempts, 0);
    const auto submits = world.submits_for(r.key);
    ASSERT_EQ(submits.size(), 1u);
    EXPECT_EQ(r.remote_id, submits[0].task_id);
    const auto queries = world.calls_of("query", r.remote_id);
    ASSERT_EQ(queries.size(), 2u);  // running, then succeeded
    EXPECT_EQ(queries[0].at - submits[0].at, seconds(5));  // poll_first, exactly
    EXPECT_GE(queries[1].at - queries[0].at, milliseconds(4500));  // interval, jitter -10%
    EXPECT_LE(queries[1].at - queries[0].at, milliseconds(5500));
    EXPECT_EQ(state_events(id), (std::vector<std::string>{"admit", "assets_ready", "submit_accepted",
                                                          "remote_succeeded", "download_done"}));
    ASSERT_TRUE(r.cost.has_value());
    EXPECT_DOUBLE_EQ(*r.cost, 1.0);

    const fs::path video = out_dir / (r.key + ".mp4");
    EXPECT_EQ(r.output_path, video.string());
    const std::string body = read_file(video);
    EXPECT_EQ(body, "video of http://fake.invalid/v/" + r.remote_id + ".mp4");
    EXPECT_EQ(r.bytes, body.size());
    EXPECT_EQ(r.sha256, sha256_hex(body));
    EXPECT_TRUE(fs::exists(out_dir / (r.key + ".cover.jpg")));
    const fs::path sidecar = out_dir / (r.key + ".json");
    ASSERT_TRUE(fs::exists(sidecar));
    const auto sc = boost::json::parse(read_file(sidecar)).as_object();
    EXPECT_EQ(sc.at("id").as_string(), r.key);
    EXPECT_EQ(sc.at("remote_task_id").as_string(), r.remote_id);
    EXPECT_EQ(sc.at("video").at("sha256").as_string(), r.sha256);
    EXPECT_EQ(sc.at("cover").at("file").as_string(), r.key + ".cover.jpg");
  }
  EXPECT_EQ(world.downloads.size(), 6u);  // video and cover of each

  const fs::path results = out_dir / "results.jsonl";
  ASSERT_TRUE(fs::exists(results));
  std::istringstream lines(read_file(results));
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++n;
    const auto obj = boost::json::parse(line).as_object();
    EXPECT_EQ(obj.at("state").as_string(), "succeeded") << line;
    EXPECT_EQ(obj.at("id").as_string(), "r" + std::to_string(n)) << line;  // manifest order
  }
  EXPECT_EQ(n, 3);

  ASSERT_TRUE(stop_engine());
  EXPECT_FALSE(run_error);
  EXPECT_TRUE(store.lease_owners().empty());
}

// 2. max_in_flight = 2: never more than two tasks submitted and not finished.
TEST_F(EngineFlow, LaneKeepsAtMostMaxInFlightTasks) {
  profile().max_in_flight = 2;
  const auto ids = run_rows(6);
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(all_in(ids, JobState::succeeded));
  EXPECT_EQ(world.calls_of("submit").size(), 6u);
  EXPECT_EQ(world.max_running, 2);  // reached, never exceeded
  // The third submit waits for the first task to finish.
  const auto submits = world.calls_of("submit");
  const auto first_done = world.calls_of("query", submits[0].task_id).back().at;
  EXPECT_GE(submits[2].at, first_done);
}

// 3. submit_per_minute = 6: submits evenly paced, (60 s + margin) / 6 apart
// (src/engine/budget.hpp; issue 7 item 9: never 7 within 60 s).
TEST_F(EngineFlow, SubmitTokenBucketSpacesSubmits) {
  profile().submit_per_minute = 6;
  profile().max_in_flight = 10;
  const auto ids = run_rows(4);
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(all_in(ids, JobState::succeeded));
  const auto submits = world.calls_of("submit");
  ASSERT_EQ(submits.size(), 4u);
  EXPECT_EQ(submits[0].at, t0);  // the first goes at once
  const auto spacing = RateWindow::per_minute(6, kBudgetMargin).spacing();
  EXPECT_GT(spacing, seconds(10));
  for (std::size_t i = 1; i < submits.size(); ++i) EXPECT_EQ(submits[i].at - submits[i - 1].at, spacing) << i;
}

// 4. A 429 with Retry-After 30 s: the next submit waits it out.
TEST_F(EngineFlow, SubmitRateLimitedHonoursRetryAfter) {
  world.submit_answers.push_back(
      SubmitAnswer::error(ErrorClass::rate_limited, "429", "Too Many Requests", seconds(30), 429));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  EXPECT_EQ(r.attempts, 0);
  const auto submits = world.calls_of("submit");
  ASSERT_EQ(submits.size(), 2u);
  EXPECT_GE(submits[1].at - submits[0].at, seconds(30));
  EXPECT_LT(submits[1].at - submits[0].at, seconds(31));
  EXPECT_EQ(world.created.size(), 1u);
  EXPECT_EQ(r.remote_id, world.created[0]);
  const auto ev = state_events(ids[0]);
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "submit_throttled"), 1);
}

// 5. Two transient rejections, then accepted: the row's attempts are untouched.
TEST_F(EngineFlow, TransientSubmitErrorsAreRetriedWithoutUsingAttempts) {
  world.submit_answers.push_back(SubmitAnswer::error(ErrorClass::retryable, "5003", "server busy", {}, 200));
  world.submit_answers.push_back(SubmitAnswer::error(ErrorClass::retryable, "5000", "server error", {}, 200));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_TRUE(r.error_code.empty());
  const auto submits = world.calls_of("submit");
  ASSERT_EQ(submits.size(), 3u);
  EXPECT_EQ(world.created.size(), 1u);
  // Full jitter (issue 7): full_jitter_delay(0, 2 s) in [0, 2 s), then
  // [0, 4 s); the submit bucket (60 a minute) keeps them >= 1 s apart.
  EXPECT_GE(submits[1].at - submits[0].at, seconds(1));
  EXPECT_LE(submits[1].at - submits[0].at, seconds(3));
  EXPECT_GE(submits[2].at - submits[1].at, seconds(1));
  EXPECT_LE(submits[2].at - submits[1].at, seconds(5));
  const auto attempts = store.attempt_counts(ids[0]);
  EXPECT_EQ(attempts.first, 3);
  EXPECT_EQ(attempts.second, 1);
}

// 6. A permanent rejection fails the row with the provider's code and message.
TEST_F(EngineFlow, PermanentSubmitRejectionFailsRow) {
  const auto answer =
      SubmitAnswer::error(ErrorClass::permanent, "4000", "参数错误:duration范围为4-15", {}, 200);
  ProviderError expected = answer.err;
  expected.provider = "p";
  world.submit_answers.push_back(answer);
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_EQ(r.error_code, "4000");
  EXPECT_EQ(r.error_message, expected.describe());
  EXPECT_NE(r.error_message.find("参数错误:duration范围为4-15"), std::string::npos);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_TRUE(world.calls_of("query").empty());
  EXPECT_EQ(state_events(ids[0]).back(), "submit_rejected_permanent");
  EXPECT_TRUE(store.lease_owners().empty());
}

// 7. Out of credit: the profile is paused (persisted), rows wait pending with
// no further submit (also of rows already admitted), until resumed.
TEST_F(EngineFlow, OutOfCreditPausesProfileUntilResumed) {
  world.submit_answers.push_back(SubmitAnswer::error(ErrorClass::out_of_credit, "4003", "积分余额不足", {}, 200));
  world.submit_latency = seconds(1);  // r2 is admitted while r1's POST is in flight
  const auto ids = add_rows(2);
  start();
  ASSERT_TRUE(run_until([&] { return job(ids[1]).state == JobState::uploading; }, seconds(1)));
  auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }));  // pending on a paused profile counts as drained
  run_for(std::chrono::minutes(10));

  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  const auto pauses = store.profile_pauses();
  ASSERT_TRUE(pauses.contains("p"));
  EXPECT_NE(pauses.at("p").find("4003"), std::string::npos);
  EXPECT_TRUE(all_in(ids, JobState::pending));
  EXPECT_EQ(job(ids[0]).attempts, 0);
  EXPECT_EQ(state_events(ids[0]).back(), "submit_throttled");
  const auto snap = engine->snapshot();
  ASSERT_EQ(snap.lanes.size(), 1u);
  EXPECT_FALSE(snap.lanes[0].pause_reason.empty());
  EXPECT_EQ(snap.lanes[0].in_flight, 0);

  EXPECT_TRUE(await(engine->async_resume("p")));
  EXPECT_TRUE(store.profile_pauses().empty());
  ASSERT_TRUE(run_until([&] { return all_in(ids, JobState::succeeded); }));
  EXPECT_EQ(world.calls_of("submit").size(), 3u);
  EXPECT_EQ(world.created.size(), 2u);
}

// 7b. A user pause stops submits of rows already admitted and waiting for the
// submit token bucket, not only new admissions.
TEST_F(EngineFlow, UserPauseStopsAdmittedRowsFromSubmitting) {
  profile().submit_per_minute = 1;  // the second row waits 60 s for its token
  const auto ids = add_rows(2);
  start();
  ASSERT_TRUE(run_until([&] { return world.calls_of("submit").size() == 1; }));
  EXPECT_TRUE(await(engine->async_pause("p", "paused by the test")));
  run_for(std::chrono::minutes(5));
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_EQ(job(ids[1]).state, JobState::pending);
  EXPECT_TRUE(await(engine->async_resume("p")));
  ASSERT_TRUE(run_until([&] { return all_in(ids, JobState::succeeded); }));
  EXPECT_EQ(world.calls_of("submit").size(), 2u);
}

}  // namespace
}  // namespace reelbatch::test
