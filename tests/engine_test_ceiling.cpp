// Issue 7, what the last round left (in virtual time: EngineHarness with the
// scripted FakeProvider, an in-memory SQLite store and ManualClock; no
// sockets, no sleeping):
//  - a row at max_submits_per_row whose earlier submit has an unknown
//    outcome is held (a task may exist and be paid), never failed;
//  - an attempt that reconcile proves created nothing does not count;
//  - an exception in a paid row's download path makes the row wait (the
//    transient download backoff) until its URL deadline, logged once;
//  - the poll budget's window is persisted and seeded after a restart;
//  - `retry`: a remote failure is resubmitted only with --resubmit, a paid
//    success never.
#include "src/engine/budget.hpp"
#include "tests/support/fake_provider.hpp"

#include <algorithm>
#include <stdexcept>

namespace reelbatch::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

using EngineCeiling = EngineHarness;

// No task list (reconcile cannot look): a lost submit holds the row. The user
// resolves it with --resubmit; max_submits_per_row = 1 is reached by the
// unknown attempt, so the row is held again, saying why, and nothing is sent.
TEST_F(EngineCeiling, Case3_UnknownOutcomeAtTheCeilingIsHeldNeverFailed) {
  world.has_task_list = false;
  profile().max_submits_per_row = 1;
  world.submit_answers.push_back(SubmitAnswer::lost(/*creates_task=*/true));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(job(ids[0]).state, JobState::held) << job(ids[0]).error_message;
  EXPECT_EQ(world.calls_of("submit").size(), 1u);

  const ControlResult res = await(engine->async_resolve(ids[0], /*resubmit=*/true));
  ASSERT_TRUE(res.ok) << res.message;
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::held; }, minutes(30)));
  run_for(minutes(5));
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::held);
  EXPECT_EQ(r.error_code, "unknown_outcome");
  EXPECT_NE(r.error_message.find("max_submits_per_row (1)"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("unknown outcome"), std::string::npos) << r.error_message;
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_EQ(store.attempt_counts(ids[0]).first, 1);
  const auto held = events_of(ids[0], "state");
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(held.back().to_state, JobState::held);
  EXPECT_EQ(held.back().detail.at("reason").as_string(), "max_submits_per_row");
}

// With max_submits_per_row = 1, a submit lost without creating a task
// (reconcile reads the list: absent) leaves room for the real one.
TEST_F(EngineCeiling, Case3_AnAttemptProvedAbsentDoesNotCount) {
  profile().max_submits_per_row = 1;
  world.submit_answers.push_back(SubmitAnswer::lost(/*creates_task=*/false));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded) << r.error_message;
  EXPECT_EQ(store.attempt_counts(ids[0]), std::make_pair(2, 1));
  EXPECT_EQ(world.created.size(), 1u);
}

// An exception thrown by the download path of a paid row (here the fetcher)
// does not fail it: logged once, the row waits with the download backoff and
// finishes when the fault passes.
TEST_F(EngineCeiling, Case8_DownloadExceptionMakesAPaidRowWaitNotFail) {
  auto throws = std::make_shared<int>(3);
  opts.download = [inner = world.download(), throws](
                      const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::filesystem::path& path,
                      milliseconds timeout) -> boost::asio::awaitable<Result<DownloadedFile, DownloadError>> {
    if (*throws > 0) {
      --*throws;
      throw std::runtime_error("fetcher bug: unexpected header value");
    }
    co_return co_await inner(url, headers, path, timeout);
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded) << r.error_message;
  EXPECT_EQ(*throws, 0);
  EXPECT_EQ(count_of(log_text.str(), "the download raised an exception"), 1) << log_text.str();
  EXPECT_EQ(world.created.size(), 1u);
}

// The same exception on every try: the row waits until its URL deadline and
// then ends `expired` (never `failed`), naming the deadline and the exception.
TEST_F(EngineCeiling, Case8_DownloadExceptionUntilTheDeadlineEndsExpired) {
  profile().url_ttl = seconds(600);
  auto tries = std::make_shared<int>(0);
  opts.download = [tries](const std::string&, const std::vector<std::pair<std::string, std::string>>&,
                           const std::filesystem::path&,
                           milliseconds) -> boost::asio::awaitable<Result<DownloadedFile, DownloadError>> {
    ++*tries;
    throw std::runtime_error("fetcher bug");
    co_return fail(DownloadError{0, false, "unreachable"});
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::expired) << r.error_message;
  EXPECT_NE(r.error_message.find("URL deadline"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("fetcher bug"), std::string::npos) << r.error_message;
  EXPECT_GT(*tries, 3);
  EXPECT_EQ(count_of(log_text.str(), "the download raised an exception"), 1);
  EXPECT_TRUE(events_of(ids[0], "internal_error").empty());
}

// The poll window is written at the heartbeat and at a clean stop, and the
// next engine's window starts with those polls in it.
TEST_F(EngineCeiling, Case9_PollWindowIsPersistedAndSeededAfterARestart) {
  profile().poll_per_minute = 6;
  world.default_script = {QueryAnswer::running(), QueryAnswer::running(), QueryAnswer::running(),
                          QueryAnswer::running(), QueryAnswer::running(), QueryAnswer::running(),
                          QueryAnswer::running(), QueryAnswer::running()};
  add_rows(2);
  start();
  ASSERT_TRUE(run_until([&] { return world.calls_of("query").size() >= 4; }));
  ASSERT_TRUE(stop_engine());
  const auto stored = store.poll_times_since("p", 0);
  EXPECT_GE(stored.size(), 4u);
  EXPECT_LE(stored.size(), 6u);

  // Seeding: the stored polls are in the new window (same clock).
  const RateWindow w = make_poll_window(profile(), clock, store);
  EXPECT_EQ(w.in_window(clock.now()), std::min<std::size_t>(stored.size(), 6));
}

TEST_F(EngineCeiling, Case9_SavePollWindowWritesEachGrantOnceAndNotFutureOnes) {
  RateWindow w = RateWindow::per_minute(30, kBudgetMargin);
  SteadyTime saved{};
  const SteadyTime now = clock.now();
  w.record(now - seconds(20));
  w.record(now - seconds(1));
  save_poll_window("p", w, saved, clock, store);
  EXPECT_EQ(store.poll_times_since("p", 0).size(), 2u);
  save_poll_window("p", w, saved, clock, store);  // nothing new
  EXPECT_EQ(store.poll_times_since("p", 0).size(), 2u);
  const auto future = w.reserve(now);  // paced after the last grant: in the future
  ASSERT_GT(future, now);
  save_poll_window("p", w, saved, clock, store);
  EXPECT_EQ(store.poll_times_since("p", 0).size(), 2u);
  clock.advance(std::chrono::duration_cast<milliseconds>(future - now) + milliseconds(1));
  save_poll_window("p", w, saved, clock, store);
  const auto stored = store.poll_times_since("p", 0);
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_LE(stored[0] + 18000, stored[1]);  // the 20 s and 1 s old grants, 19 s apart
  EXPECT_LT(stored[1], stored[2]);
}

// retry: an expired (paid) row is downloaded again, never resubmitted:
// --resubmit is refused, plain retry fetches fresh links and finishes it.
TEST_F(EngineCeiling, RetryOfAPaidRowRefusesResubmitAndDownloadsAgain) {
  profile().url_ttl = seconds(120);
  auto broken = std::make_shared<bool>(true);
  opts.download = [inner = world.download(), broken](
                      const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::filesystem::path& path,
                      milliseconds timeout) -> boost::asio::awaitable<Result<DownloadedFile, DownloadError>> {
    if (*broken) co_return fail(DownloadError{503, false, "HTTP 503 from the CDN"});
    co_return co_await inner(url, headers, path, timeout);
  };
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(job(ids[0]).state, JobState::expired) << job(ids[0]).error_message;

  ControlResult res = await(engine->async_retry(ids[0], /*resubmit=*/true));
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.message.find("never submitted again"), std::string::npos) << res.message;
  EXPECT_EQ(job(ids[0]).state, JobState::expired);

  *broken = false;
  res = await(engine->async_retry(ids[0]));
  ASSERT_TRUE(res.ok) << res.message;
  EXPECT_NE(res.message.find("already dead"), std::string::npos) << res.message;
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }, minutes(30)));
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
}

// retry of a row failed remotely (vibegen: failures are not stated free):
// refused without --resubmit, submitted again with it.
TEST_F(EngineCeiling, RetryOfARemoteFailureNeedsResubmit) {
  profile().kind = "vibegen";
  world.default_script = {QueryAnswer::running(), QueryAnswer::failed("content_policy", "rejected")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(job(ids[0]).state, JobState::failed);
  EXPECT_EQ(world.calls_of("submit").size(), 1u);

  ControlResult res = await(engine->async_retry(ids[0]));
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.message.find("pass --resubmit"), std::string::npos) << res.message;
  EXPECT_EQ(job(ids[0]).state, JobState::failed);

  world.default_script = {QueryAnswer::running(), QueryAnswer::succeeded()};
  res = await(engine->async_retry(ids[0], /*resubmit=*/true));
  ASSERT_TRUE(res.ok) << res.message;
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }, minutes(30)));
  EXPECT_EQ(world.calls_of("submit").size(), 2u);
}

}  // namespace
}  // namespace reelbatch::test
