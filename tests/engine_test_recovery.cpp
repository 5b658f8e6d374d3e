// Engine stage tests in virtual time, continued (see engine_test.cpp):
// reconciling lost submits, remote failures, poll errors, recovery of jobs
// left mid-flight, cancel, compare-and-set against another writer, stop().
#include "tests/support/fake_provider.hpp"

#include <algorithm>

namespace reelbatch::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using EngineRecovery = EngineHarness;

std::size_t count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), s));
}

TaskStatus listed(std::string id, std::int64_t created_at_ms) {
  TaskStatus t;
  t.remote_id = std::move(id);
  t.state = RemoteState::succeeded;
  t.native_state = "success";
  t.created_at_ms = created_at_ms;
  return t;
}

// 8. Lost response, and the task list shows exactly one new task: that task is
// polled; no second submit.
TEST_F(EngineRecovery, LostSubmitFoundInTaskListIsPolledNotResubmitted) {
  world.task_list.push_back(listed("old-1", clock.unix_ms() - 3'600'000));  // long before the intent
  world.submit_answers.push_back(SubmitAnswer::lost(/*creates_task=*/true));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());

  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  const auto submits = world.calls_of("submit");
  ASSERT_EQ(submits.size(), 1u);
  ASSERT_EQ(world.created.size(), 1u);
  EXPECT_EQ(r.remote_id, world.created[0]);
  const auto lists = world.calls_of("list");
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0].at - submits[0].at, seconds(10));  // min(request_timeout 30 s, reconcile_settle_max 10 s)
  EXPECT_FALSE(world.calls_of("query", r.remote_id).empty());
  EXPECT_TRUE(world.calls_of("query", "old-1").empty());
  EXPECT_EQ(events_of(ids[0], "submit_unknown").size(), 1u);
  EXPECT_EQ(state_events(ids[0]), (std::vector<std::string>{"admit", "assets_ready", "reconciled_found",
                                                            "remote_succeeded", "download_done"}));
  EXPECT_EQ(r.attempts, 0);
}

// 9. Lost response, and the task list shows no new task: submitted once more.
TEST_F(EngineRecovery, LostSubmitAbsentFromTaskListIsSubmittedAgain) {
  world.task_list.push_back(listed("old-1", clock.unix_ms() - 3'600'000));
  world.submit_answers.push_back(SubmitAnswer::lost(/*creates_task=*/false));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());

  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  const auto submits = world.calls_of("submit");
  ASSERT_EQ(submits.size(), 2u);
  ASSERT_EQ(world.created.size(), 1u);
  EXPECT_EQ(r.remote_id, world.created[0]);
  const auto lists = world.calls_of("list");
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_LT(lists[0].seq, submits[1].seq);
  EXPECT_GE(submits[1].at - submits[0].at, seconds(10));
  const auto ev = state_events(ids[0]);
  EXPECT_EQ(count(ev, "reconciled_absent"), 1u);
  EXPECT_EQ(count(ev, "reconciled_found"), 0u);
  const auto notes = events_of(ids[0], "reconciled");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_FALSE(notes[0].detail.at("found").as_bool());
  EXPECT_EQ(r.attempts, 0);
}

// 10. Lost response on a provider with no task list: held with the resolve
// hint; resolve --resubmit sends it again.
TEST_F(EngineRecovery, LostSubmitWithoutTaskListIsHeldUntilResolved) {
  world.has_task_list = false;
  world.submit_answers.push_back(SubmitAnswer::lost(/*creates_task=*/false));
  const auto ids = add_rows(1);
  start();
  auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }));  // held counts as drained

  JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::held);
  EXPECT_EQ(r.error_code, "unknown_outcome");
  EXPECT_NE(r.error_message.find("reelbatch resolve " + r.key + " --resubmit"), std::string::npos)
      << r.error_message;
  EXPECT_TRUE(world.calls_of("list").empty());
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_TRUE(r.lease_owner.empty());
  run_for(std::chrono::minutes(10));
  EXPECT_EQ(world.calls_of("submit").size(), 1u);  // never resubmitted silently

  const ControlResult res = await(engine->async_resolve(ids[0], /*resubmit=*/true));
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_EQ(res.state, JobState::pending);
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::succeeded; }));
  EXPECT_EQ(world.calls_of("submit").size(), 2u);
  r = job(ids[0]);
  EXPECT_TRUE(r.error_code.empty());
  EXPECT_EQ(count(state_events(ids[0]), "release_held_resubmit"), 1u);
}

// 11a. A remote failure the provider calls transient: resubmitted up to
// max_attempts, then failed.
TEST_F(EngineRecovery, RetryableRemoteFailureIsResubmittedUpToMaxAttempts) {
  world.retryable_codes = {"PIPELINE_TIMEOUT"};
  world.default_script = {QueryAnswer::running(), QueryAnswer::failed("PIPELINE_TIMEOUT", "pipeline timed out")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.error_code, "PIPELINE_TIMEOUT");
  EXPECT_NE(r.error_message.find("pipeline timed out"), std::string::npos);
  EXPECT_EQ(world.calls_of("submit").size(), 3u);
  EXPECT_EQ(world.created.size(), 3u);
  EXPECT_EQ(events_of(ids[0], "resubmit").size(), 2u);
  EXPECT_EQ(count(state_events(ids[0]), "remote_failed"), 3u);
}

// 11b. A remote failure the provider calls permanent: failed at once.
TEST_F(EngineRecovery, NonRetryableRemoteFailureFailsAtOnce) {
  world.retryable_codes = {"PIPELINE_TIMEOUT"};
  world.default_script = {QueryAnswer::failed("PAYLOAD_PARSE_ERROR", "bad payload")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.error_code, "PAYLOAD_PARSE_ERROR");
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_TRUE(events_of(ids[0], "resubmit").empty());
}

// 12. Failed status queries (retryable) are retried with growing delays and
// do not fail the row.
TEST_F(EngineRecovery, PollErrorsAreRetriedWithGrowingDelays) {
  world.task_scripts["t1"] = {QueryAnswer::error(ErrorClass::retryable), QueryAnswer::error(ErrorClass::retryable),
                              QueryAnswer::error(ErrorClass::retryable), QueryAnswer::succeeded()};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded);
  EXPECT_EQ(r.attempts, 0);
  const auto q = world.calls_of("query", "t1");
  ASSERT_EQ(q.size(), 4u);
  // Gap after error k (k = 1..3): the schedule's delay (interval 5 s +-10%)
  // plus backoff_delay(k, interval 5 s, cap 4 * 10 s), in [exp/2, exp] with
  // exp = min(40 s, 5 s * 2^k).
  for (int k = 1; k <= 3; ++k) {
    const auto gap = q[static_cast<std::size_t>(k)].at - q[static_cast<std::size_t>(k - 1)].at;
    const milliseconds exp = std::min(milliseconds(40000), milliseconds(5000 << k));
    EXPECT_GE(gap, milliseconds(4500) + exp / 2) << k;
    EXPECT_LE(gap, milliseconds(5500) + exp) << k;
  }
  EXPECT_GT(q[3].at - q[2].at, q[1].at - q[0].at);
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
}

// 13. Jobs left mid-flight by a dead engine: a running one is polled and never
// submitted; a submitting one is reconciled before any new submit.
TEST_F(EngineRecovery, RecoveryPollsRunningAndReconcilesSubmittingFirst) {
  const auto ids = add_rows(3);  // r1: running, r2: submitting, r3: pending
  const std::string dead = "otherhost:4242:dead";
  {
    auto a = store.claim_job(ids[0], dead, milliseconds(0)).value();  // a lease that has already expired
    a.state = JobState::running;
    a.remote_id = "t-old";
    ASSERT_TRUE(store.try_transition(a, JobState::pending, EventRecord{0, 0, 0, "state", {}, {}, {}}));
    auto b = store.claim_job(ids[1], dead, milliseconds(0)).value();
    b.state = JobState::submitting;
    b.intent_at_ms = clock.unix_ms() - 5000;
    store.begin_attempt(b.id, "p");
    ASSERT_TRUE(store.try_transition(b, JobState::pending, EventRecord{0, 0, 0, "state", {}, {}, {}}));
    world.task_list.push_back(listed("t-b", b.intent_at_ms + 1000));
    world.task_list.push_back(listed("t-old", b.intent_at_ms - 60000));
    world.task_scripts["t-old"] = {QueryAnswer::running(), QueryAnswer::succeeded()};
    world.task_scripts["t-b"] = {QueryAnswer::succeeded()};
  }
  start();
  auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }));
  EXPECT_TRUE(all_in(ids, JobState::succeeded));

  EXPECT_TRUE(world.submits_for("r1").empty());
  EXPECT_TRUE(world.submits_for("r2").empty());
  ASSERT_EQ(world.submits_for("r3").size(), 1u);
  EXPECT_EQ(job(ids[0]).remote_id, "t-old");
  EXPECT_EQ(job(ids[1]).remote_id, "t-b");
  EXPECT_EQ(world.calls_of("query", "t-old").front().at - t0, seconds(5));  // polled on its schedule
  const auto lists = world.calls_of("list");
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_LT(lists[0].seq, world.submits_for("r3")[0].seq);  // reconciled before any new submit
  EXPECT_EQ(count(state_events(ids[1]), "reconciled_found"), 1u);
  ASSERT_TRUE(stop_engine());
  EXPECT_TRUE(store.lease_owners().empty());
}

// 14a. Cancelling a running job on a provider with a cancel API.
TEST_F(EngineRecovery, CancelRunningJobCancelsRemotelyAndStopsPolling) {
  world.has_cancel = true;
  world.default_script = {QueryAnswer::running()};  // runs forever
  const auto ids = add_rows(1);
  start();
  ASSERT_TRUE(run_until([&] { return world.calls_of("query").size() >= 2; }));
  const ControlResult res = await(engine->async_cancel(ids[0]));
  const SteadyTime cancelled_at = clock.now();
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_EQ(res.state, JobState::cancelled);
  EXPECT_NE(res.message.find("remotely"), std::string::npos) << res.message;
  EXPECT_EQ(world.cancel_log, std::vector<std::string>{"t1"});
  run_for(std::chrono::minutes(10));
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::cancelled);
  EXPECT_TRUE(r.lease_owner.empty());
  for (const auto& c : world.calls_of("query")) EXPECT_LE(c.at, cancelled_at);
  EXPECT_EQ(engine->snapshot().lanes[0].in_flight, 0);
}

// 14b. Without a cancel API: cancelled locally, the message says it may be billed.
TEST_F(EngineRecovery, CancelWithoutCancelApiIsLocal) {
  world.default_script = {QueryAnswer::running()};
  const auto ids = add_rows(1);
  start();
  ASSERT_TRUE(run_until([&] { return !world.calls_of("query").empty(); }));
  const ControlResult res = await(engine->async_cancel(ids[0]));
  const SteadyTime cancelled_at = clock.now();
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_NE(res.message.find("billed"), std::string::npos) << res.message;
  EXPECT_TRUE(world.cancel_log.empty());
  run_for(std::chrono::minutes(10));
  EXPECT_EQ(job(ids[0]).state, JobState::cancelled);
  for (const auto& c : world.calls_of("query")) EXPECT_LE(c.at, cancelled_at);
}

// 15. Another writer moves a running job (compare-and-set with the fence it
// read): the engine lets the job go without writing to it again.
TEST_F(EngineRecovery, JobMovedByAnotherWriterIsLetGo) {
  world.default_script = {QueryAnswer::running(), QueryAnswer::running("generating"), QueryAnswer::succeeded()};
  const auto ids = add_rows(1);
  start();
  ASSERT_TRUE(run_until([&] { return world.calls_of("query").size() == 1; }));
  ASSERT_EQ(job(ids[0]).state, JobState::running);

  JobRecord other = job(ids[0]);  // carries the engine's fence
  other.state = JobState::failed;
  other.error_code = "moved";
  other.error_message = "failed by another writer";
  ASSERT_TRUE(store.try_transition(other, JobState::running,
                                   EventRecord{0, 0, 0, "state", {}, {}, boost::json::object{{"by", "test"}}}));
  const auto events_before = store.events(ids[0]).size();

  run_for(std::chrono::minutes(10));
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_EQ(r.error_code, "moved");
  EXPECT_EQ(store.events(ids[0]).size(), events_before);  // no write by the engine
  EXPECT_TRUE(world.downloads.empty());
  EXPECT_TRUE(r.lease_owner.empty());  // released when let go
  // It stops polling once it noticed (the next query that had to be written).
  EXPECT_LE(world.calls_of("query").size(), 3u);
  const auto snap = engine->snapshot();
  EXPECT_TRUE(snap.active.empty());
  EXPECT_EQ(snap.lanes[0].in_flight, 0);
  EXPECT_FALSE(run_done);  // the engine runs on
}

// 16. stop(): a submit POST in flight is let finish and recorded, async_run
// returns, every lease is released, and nothing is left on the io_context.
TEST_F(EngineRecovery, StopEndsEverythingAndReleasesLeases) {
  profile().max_in_flight = 2;
  world.submit_latency = seconds(2);
  world.default_script = {QueryAnswer::running()};
  const auto ids = add_rows(3);
  start();
  ASSERT_TRUE(run_until([&] { return world.calls_of("submit").size() == 2; }));
  ASSERT_EQ(job(ids[0]).state, JobState::running);
  ASSERT_EQ(job(ids[1]).state, JobState::submitting);  // its POST is in flight

  ASSERT_TRUE(stop_engine());
  EXPECT_FALSE(run_error);
  EXPECT_TRUE(store.lease_owners().empty());
  EXPECT_EQ(job(ids[0]).state, JobState::running);
  const JobRecord second = job(ids[1]);
  EXPECT_EQ(second.state, JobState::running);  // the answer was recorded
  EXPECT_EQ(second.remote_id, world.created.at(1));
  EXPECT_EQ(job(ids[2]).state, JobState::pending);
  EXPECT_EQ(world.calls_of("submit").size(), 2u);

  // No coroutine is left: no timer waits on the clock, and the io_context
  // runs out of work.
  EXPECT_EQ(clock.waiting(), 0u);
  io.restart();
  io.poll();
  EXPECT_TRUE(io.stopped());

  // A new engine takes up where this one stopped: polls, never resubmits.
  engine.reset();
  world.default_script = {QueryAnswer::succeeded()};
  world.task_scripts[world.created.at(0)] = {QueryAnswer::succeeded()};
  world.task_scripts[world.created.at(1)] = {QueryAnswer::succeeded()};
  run_done = false;
  start();
  auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }));
  EXPECT_TRUE(all_in(ids, JobState::succeeded));
  EXPECT_EQ(world.calls_of("submit").size(), 3u);
  EXPECT_EQ(world.submits_for("r1").size(), 1u);
  EXPECT_EQ(world.submits_for("r2").size(), 1u);
}

}  // namespace
}  // namespace reelbatch::test
