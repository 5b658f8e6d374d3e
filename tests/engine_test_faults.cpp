// Issue 7 ("never pay twice, never fail a row for a passing fault"), submit
// side, in virtual time (ManualClock) over the scripted FakeProvider: a
// provider down for minutes, 429s that may have queued a task, remote
// failures on providers that do not say failures are free, the store's
// submission ceiling, exceptions inside one job, and two engines on one
// database. Named after the numbered cases. No sockets, no sleeping.
#include "tests/support/fake_provider.hpp"

#include <algorithm>
#include <stdexcept>

namespace reelbatch::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
namespace fs = std::filesystem;

std::size_t count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), s));
}

// What a wrapped provider does to calls while its outage lasts.
struct Outage {
  SteadyTime until{};      ///< calls before this fail
  int http_status = 0;     ///< 0: connection refused (nothing sent); else e.g. 503
  int refused = 0;         ///< calls refused so far
  int submits = 0;         ///< submits that reached the wrapped provider
  std::string throw_on_submit_of;  ///< a row key whose submit throws
};

// A Provider that refuses every call while an outage lasts (nothing reaches
// the fake world, so nothing is created), then delegates to the fake.
class OutageProvider final : public Provider {
 public:
  OutageProvider(std::unique_ptr<Provider> inner, Clock& clock, Outage& outage)
      : inner_(std::move(inner)), clock_(clock), outage_(outage) {}

  const ProfileConfig& profile() const override { return inner_->profile(); }
  std::vector<FieldError> validate(const JobSpec& s) const override { return inner_->validate(s); }
  boost::asio::awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& a) override {
    if (down()) co_return fail(refusal());
    co_return co_await inner_->async_upload(a);
  }
  boost::asio::awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override {
    if (!outage_.throw_on_submit_of.empty() && req.spec.id == outage_.throw_on_submit_of)
      throw std::runtime_error("adapter bug: unexpected null in the request for " + req.spec.id);
    if (down()) co_return fail(refusal());
    ++outage_.submits;
    co_return co_await inner_->async_submit(req);
  }
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_query(const std::string& id) override {
    if (down()) co_return fail(refusal());
    co_return co_await inner_->async_query(id);
  }
  bool has_task_list() const override { return inner_->has_task_list(); }
  boost::asio::awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size) override {
    if (down()) co_return fail(refusal());
    co_return co_await inner_->async_list(page, page_size);
  }
  bool has_cancel() const override { return inner_->has_cancel(); }
  bool is_retryable_failure(const TaskStatus& s) const override { return inner_->is_retryable_failure(s); }
  PollPolicy default_poll() const override { return inner_->default_poll(); }
  std::chrono::seconds default_url_ttl() const override { return inner_->default_url_ttl(); }
  std::optional<DownloadTarget> download_target(const TaskStatus& s, OutputKind k) const override {
    return inner_->download_target(s, k);
  }

 private:
  bool down() {
    if (clock_.now() >= outage_.until) return false;
    ++outage_.refused;
    return true;
  }
  ProviderError refusal() const {
    if (outage_.http_status == 0)
      return ProviderError{ErrorClass::retryable, profile().name, 0, "network",
                           "network error (connection refused; the request was not sent; will retry)",
                           std::nullopt};
    return ProviderError{ErrorClass::retryable, profile().name, outage_.http_status, "http",
                         "HTTP " + std::to_string(outage_.http_status) + ": server or gateway error; will retry",
                         std::nullopt};
  }

  std::unique_ptr<Provider> inner_;
  Clock& clock_;
  Outage& outage_;
};

class EngineFaults : public EngineHarness {
 protected:
  Outage outage;
  // Wraps the fake world's adapters of the named profiles (all when empty).
  void wrap_providers(std::vector<std::string> only = {}) {
    opts.provider_factory = [this, only, inner = world.factory()](const ProfileConfig& pc,
                                                                 HttpClient& h) -> std::unique_ptr<Provider> {
      auto p = inner(pc, h);
      if (!only.empty() && std::find(only.begin(), only.end(), pc.name) == only.end()) return p;
      return std::make_unique<OutageProvider>(std::move(p), clock, outage);
    };
  }
  // Each row's key was submitted at most once, and every created task
  // belongs to one row: nothing paid twice.
  void expect_one_task_per_row(const std::vector<std::int64_t>& ids) {
    for (auto id : ids) {
      const JobRecord r = job(id);
      EXPECT_EQ(world.submits_for(r.key).size(), 1u) << r.key;
    }
    EXPECT_EQ(world.created.size(), ids.size());
  }
  // The provider is down (refusing, or answering `status`) for `down_for`,
  // then back: every row succeeds, none fails, each is paid once.
  void provider_down_then_back(int status, milliseconds down_for) {
    outage.until = clock.now() + down_for;
    outage.http_status = status;
    wrap_providers();
    const auto ids = add_rows(10);
    start();
    const auto drained = drain();
    bool saw_open = false;
    ASSERT_TRUE(run_until(
        [&] {
          for (const auto& l : engine->snapshot().lanes)
            if (l.circuit == "open") saw_open = true;
          for (auto id : ids)
            if (job(id).state == JobState::failed) return true;  // fail fast
          return *drained;
        },
        std::chrono::hours(3)));
    for (auto id : ids) EXPECT_EQ(job(id).state, JobState::succeeded) << job(id).key << ": " << job(id).error_message;
    expect_one_task_per_row(ids);
    EXPECT_TRUE(saw_open) << "the circuit never opened";
    EXPECT_NE(log_text.str().find("circuit open after 5 transient failures"), std::string::npos);
    EXPECT_NE(log_text.str().find("circuit closed"), std::string::npos);
    // The circuit keeps the refused calls few: with the cool-down growing
    // 15 s, 30 s, 60 s, ... only one probe goes out per cool-down.
    EXPECT_GE(outage.refused, 5);
    EXPECT_LE(outage.refused, 20) << "refused calls while down";
    // Nothing submitted before the provider came back.
    for (const auto& c : world.calls_of("submit")) EXPECT_GE(c.at, outage.until);
    // Rows waited: "will retry", never "gave up".
    EXPECT_EQ(log_text.str().find("gave up"), std::string::npos);
  }
};

// ---- case 2: rows fail for good in an outage ----------------------------------------

// The provider refuses connections for ~4 simulated minutes (the issue saw
// rows failed after 10 tries in 3.5 minutes): every row waits, then succeeds.
TEST_F(EngineFaults, Case2_ProviderRefusingConnectionsForMinutesEveryRowSucceeds) {
  provider_down_then_back(0, minutes(4));
}

// The same with 503 answers for 12 minutes, longer than any retry budget.
TEST_F(EngineFaults, Case2_Provider503ForTwelveMinutesEveryRowSucceeds) {
  provider_down_then_back(503, minutes(12));
}

// A transient submit refusal is never a reason to fail: 12 in a row (the
// old limit was 10), the row still succeeds, and none of them counts
// against the ceiling.
TEST_F(EngineFaults, Case2_ManyTransientSubmitRefusalsNeverFailTheRow) {
  for (int i = 0; i < 12; ++i)
    world.submit_answers.push_back(SubmitAnswer::error(ErrorClass::retryable, "5003", "服务繁忙", {}, 200));
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::succeeded) << r.error_message;
  EXPECT_EQ(world.calls_of("submit").size(), 13u);
  EXPECT_EQ(store.attempt_counts(ids[0]), std::make_pair(13, 1));
  EXPECT_EQ(world.created.size(), 1u);
  EXPECT_EQ(r.attempts, 0);
}

// One profile's outage does not hold up another profile: "q" finishes while
// "p" is still down.
TEST_F(EngineFaults, Case2_OtherProfilesRunWhileOneIsDown) {
  ProfileConfig q = profile();
  q.name = "q";
  cfg.profiles.emplace("q", q);
  outage.until = clock.now() + minutes(10);
  wrap_providers({"p"});
  const auto p_ids = add_rows(3, "p");
  std::vector<IngestRow> rows;
  for (int i = 1; i <= 3; ++i) {
    IngestRow r;
    r.spec.id = "q" + std::to_string(i);
    r.spec.provider = "q";
    r.spec.prompt = "a lighthouse at dusk, take " + std::to_string(i);
    r.spec.duration_s = 5;
    r.content_hash = "hash-" + r.spec.id;
    r.file = (dir / "b.csv").string();
    r.line = 10 + i;
    rows.push_back(std::move(r));
  }
  const auto q_ids = store.ingest(batch_id, rows).job_ids;
  start();
  ASSERT_TRUE(run_until([&] { return all_in(q_ids, JobState::succeeded); }, minutes(5)));
  EXPECT_LT(clock.now(), outage.until);
  for (auto id : p_ids) EXPECT_NE(job(id).state, JobState::failed);
  const auto drained = drain();
  ASSERT_TRUE(run_until([&] { return *drained; }, std::chrono::hours(2)));
  EXPECT_TRUE(all_in(p_ids, JobState::succeeded));
  EXPECT_EQ(world.created.size(), 6u);
}

// ---- case 3: a 429 without a task id, repeated without limit ----------------------------

ProviderError concurrency_limit_without_task_id() {
  // What the seedance2 adapter makes of {"code":"CONCURRENCY_LIMIT_REACHED",
  // "result":null} (providers/seedance2/seedance2.hpp, "Submit outcomes").
  return ProviderError{ErrorClass::unknown_outcome, "", 429, "CONCURRENCY_LIMIT_REACHED",
                       "已达最大并发数,任务已排队 (the task was queued but the answer names no task)", std::nullopt};
}

// Every row's first submit is answered "limit reached, task queued" without a
// task id, and the task WAS queued: each row is reconciled through the task
// list and polls the queued task. 10 rows, 10 tasks.
TEST_F(EngineFaults, Case3_ConcurrencyLimitWithoutTaskIdIsReconciledOneTaskPerRow) {
  for (int i = 0; i < 10; ++i) {
    SubmitAnswer a = SubmitAnswer::lost(/*creates_task=*/true);
    a.err = concurrency_limit_without_task_id();
    world.submit_answers.push_back(a);
  }
  const auto ids = run_rows(10);
  ASSERT_FALSE(HasFailure());
  for (auto id : ids) {
    const JobRecord r = job(id);
    EXPECT_EQ(r.state, JobState::succeeded) << r.key << ": " << r.error_message;
    EXPECT_EQ(count(state_events(id), "reconciled_found"), 1u) << r.key;
  }
  expect_one_task_per_row(ids);
  EXPECT_GE(world.calls_of("list").size(), 10u);
}

// The provider keeps answering "limit reached" without a task id and the
// task list proves no task was created (the 401 tasks for 10 rows
// came from resubmitting without looking): each lost submit is reconciled
// through the list, proved absent, and does not count toward
// max_submits_per_row (nothing was paid), so the rows wait through the
// fault instead of failing, and once the provider accepts again each row
// has exactly one task.
TEST_F(EngineFaults, Case3_LimitAnswersProvedAbsentWaitAndDoNotCountTowardTheCeiling) {
  for (int i = 0; i < 12; ++i) {
    SubmitAnswer a = SubmitAnswer::lost(/*creates_task=*/false);
    a.err = concurrency_limit_without_task_id();
    world.submit_answers.push_back(a);
  }
  const auto ids = run_rows(4);
  ASSERT_FALSE(HasFailure());
  int attempts = 0;
  for (auto id : ids) {
    const JobRecord r = job(id);
    SCOPED_TRACE(r.key);
    EXPECT_EQ(r.state, JobState::succeeded) << r.error_message;
    EXPECT_EQ(store.attempt_counts(id).second, 1);  // one accepted
    attempts += store.attempt_counts(id).first;
    EXPECT_EQ(count(state_events(id), "reconciled_absent") + 1,
              static_cast<std::size_t>(store.attempt_counts(id).first));
  }
  EXPECT_EQ(attempts, 16);  // 12 proved absent + 4 accepted
  EXPECT_EQ(world.created.size(), 4u);
  EXPECT_EQ(world.calls_of("submit").size(), 16u);
}

// The ceiling is the store's: asking again (a user's `retry --resubmit` of a
// row failed at the ceiling) records no third intent and sends no third
// submit; without --resubmit the retry of a remotely failed row is refused.
TEST_F(EngineFaults, Case3_SubmitCeilingHoldsEvenWhenTheEngineAsksAgain) {
  profile().kind = "vibegen";
  profile().on_remote_failure = "resubmit";
  profile().max_attempts = 10;
  profile().max_submits_per_row = 2;
  world.retryable_codes = {"timeout"};
  world.default_script = {QueryAnswer::running(), QueryAnswer::failed("timeout", "generation timed out")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(job(ids[0]).state, JobState::failed);
  EXPECT_EQ(job(ids[0]).error_code, "max_submits_per_row");
  EXPECT_EQ(world.calls_of("submit").size(), 2u);

  ControlResult res = await(engine->async_retry(ids[0]));
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.message.find("--resubmit"), std::string::npos) << res.message;
  EXPECT_EQ(job(ids[0]).state, JobState::failed);

  res = await(engine->async_retry(ids[0], /*resubmit=*/true));
  EXPECT_TRUE(res.ok) << res.message;
  ASSERT_TRUE(run_until([&] { return job(ids[0]).state == JobState::failed; }, minutes(30)));
  run_for(minutes(5));
  EXPECT_EQ(job(ids[0]).state, JobState::failed);
  EXPECT_EQ(job(ids[0]).error_code, "max_submits_per_row");
  EXPECT_EQ(world.calls_of("submit").size(), 2u);
  EXPECT_EQ(store.attempt_counts(ids[0]).first, 2);
}

// ---- case 4: remote failures resubmitted where nothing says they are free ----------------

// vibegen: "超时后任务状态将变为 failed", no refund stated. The adapter calls
// a timeout transient, but the profile's default (registry: failures not
// free) is to fail the row: one task, not three.
TEST_F(EngineFaults, Case4_RemoteFailureOnAProviderWithoutFreeFailuresFails) {
  profile().kind = "vibegen";
  world.retryable_codes = {"timeout"};
  world.default_script = {QueryAnswer::running(), QueryAnswer::failed("timeout", "generation timed out")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_EQ(r.error_code, "timeout");
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
  EXPECT_TRUE(events_of(ids[0], "resubmit").empty());
}

// The same provider with on_remote_failure = "resubmit": resubmitted, and
// the store's ceiling (not max_attempts, set high here) ends it.
TEST_F(EngineFaults, Case4_OnRemoteFailureResubmitIsResubmittedUpToTheCeiling) {
  profile().kind = "vibegen";
  profile().on_remote_failure = "resubmit";
  profile().max_attempts = 10;
  world.retryable_codes = {"timeout"};
  world.default_script = {QueryAnswer::running(), QueryAnswer::failed("timeout", "generation timed out")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  const JobRecord r = job(ids[0]);
  EXPECT_EQ(r.state, JobState::failed);
  EXPECT_EQ(r.error_code, "max_submits_per_row");
  EXPECT_EQ(world.calls_of("submit").size(), 3u);
  EXPECT_EQ(world.created.size(), 3u);
  EXPECT_EQ(events_of(ids[0], "resubmit").size(), 3u);
}

// juhuo (doc 9.1: failed tasks are not charged) resubmits a transient
// failure by default; on_remote_failure = "fail" turns that off.
TEST_F(EngineFaults, Case4_FreeFailuresResubmitByDefaultUnlessTheProfileSaysFail) {
  profile().on_remote_failure = "fail";
  world.retryable_codes = {"PIPELINE_TIMEOUT"};
  world.default_script = {QueryAnswer::running(), QueryAnswer::failed("PIPELINE_TIMEOUT", "pipeline timed out")};
  const auto ids = run_rows(1);
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(job(ids[0]).state, JobState::failed);
  EXPECT_EQ(world.calls_of("submit").size(), 1u);
}

// ---- case 8: an exception inside one job hangs the run ------------------------------------

TEST_F(EngineFaults, Case8_ExceptionInOneJobFailsThatJobOthersSucceedAndTheRunEnds) {
  outage.throw_on_submit_of = "r2";
  wrap_providers();
  const auto ids = run_rows(3);  // drains: the run can end
  ASSERT_FALSE(HasFailure());
  const JobRecord bad = job(ids[1]);
  EXPECT_EQ(bad.key, "r2");
  EXPECT_EQ(bad.state, JobState::failed);
  EXPECT_EQ(bad.error_code, "internal_error");
  EXPECT_NE(bad.error_message.find("adapter bug: unexpected null"), std::string::npos) << bad.error_message;
  EXPECT_EQ(count(state_events(ids[1]), "internal_error"), 1u);
  EXPECT_TRUE(bad.lease_owner.empty());
  EXPECT_EQ(job(ids[0]).state, JobState::succeeded);
  EXPECT_EQ(job(ids[2]).state, JobState::succeeded);
  EXPECT_TRUE(stop_engine());
  EXPECT_EQ(run_error, nullptr);
}

// ---- case 6: one owner per database -----------------------------------------------------

// Two engines (two owners) on one database file, the second reaching it
// through a symlink, with no lock file at all: the leases and fences in the
// store let each row be driven, and paid, by one engine only.
TEST_F(EngineFaults, Case6_TwoEnginesOnOneDatabaseThroughASymlinkPayOncePerRow) {
  const fs::path db = dir / "jobs.sqlite";
  const fs::path link = dir / "link-to-jobs.sqlite";
  auto store_a = std::make_unique<SqliteJobStore>(db);
  fs::create_symlink(db, link);
  auto store_b = std::make_unique<SqliteJobStore>(link);
  const auto b = store_a->ensure_batch("b2", (dir / "b2.csv").string(), (cfg.output_dir / "b2").string());
  std::vector<IngestRow> rows;
  for (int i = 1; i <= 30; ++i) {
    IngestRow r;
    r.spec.id = "s" + std::to_string(i);
    r.spec.provider = "p";
    r.spec.prompt = "two engines, one row, take " + std::to_string(i);
    r.spec.duration_s = 5;
    r.content_hash = "hash-" + r.spec.id;
    r.file = (dir / "b2.csv").string();
    r.line = i + 1;
    rows.push_back(std::move(r));
  }
  const auto ids = store_a->ingest(b.id, rows).job_ids;
  ASSERT_EQ(ids.size(), 30u);

  Outage via_a, via_b;  // not down: they count each engine's submits
  auto factory_for = [this](Outage& o) {
    return ProviderFactory([this, &o, inner = world.factory()](const ProfileConfig& pc, HttpClient& h) {
      return std::unique_ptr<Provider>(std::make_unique<OutageProvider>(inner(pc, h), clock, o));
    });
  };
  EngineOptions oa = opts, ob = opts;
  oa.provider_factory = factory_for(via_a);
  ob.provider_factory = factory_for(via_b);
  oa.batches = ob.batches = std::vector<std::int64_t>{b.id};
  oa.owner = "enginetest:1:a";
  ob.owner = "enginetest:1:b";
  ob.seed = 7;
  Engine ea(cfg, *store_a, http, oa);
  Engine eb(cfg, *store_b, http, ob);
  bool a_done = false, b_done = false;
  boost::asio::co_spawn(io, ea.async_run(), [&](std::exception_ptr) { a_done = true; });
  boost::asio::co_spawn(io, eb.async_run(), [&](std::exception_ptr) { b_done = true; });
  ASSERT_TRUE(run_until(
      [&] {
        for (auto id : ids)
          if (!is_terminal(store_a->job(id)->state)) return false;
        return true;
      },
      std::chrono::hours(2)));
  ea.stop();
  eb.stop();
  ASSERT_TRUE(run_until([&] { return a_done && b_done; }, minutes(10)));

  for (auto id : ids) {
    const JobRecord r = *store_b->job(id);
    SCOPED_TRACE(r.key);
    EXPECT_EQ(r.state, JobState::succeeded);
    EXPECT_EQ(world.submits_for(r.key).size(), 1u);
    EXPECT_EQ(store_a->attempt_counts(id).first, 1);
  }
  EXPECT_EQ(world.created.size(), ids.size());
  // Both engines took part (not one engine doing everything).
  EXPECT_GT(via_a.submits, 0);
  EXPECT_GT(via_b.submits, 0);
  EXPECT_EQ(via_a.submits + via_b.submits, 30);
}

}  // namespace
}  // namespace reelbatch::test
