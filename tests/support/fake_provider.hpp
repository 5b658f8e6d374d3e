// A scriptable Provider for engine unit tests (tests/engine_test*.cpp): no
// I/O, answers from queues the test fills, and a log of every call stamped
// with the ManualClock's virtual time. The engine owns the adapter it builds
// through EngineOptions::provider_factory; the test owns the FakeWorld that
// holds the scripts and the log, so it can read both while the engine runs.
#pragma once

#include "providers/provider.hpp"
#include "src/engine/clock.hpp"
#include "src/engine/engine.hpp"
#include "src/net/http_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <sstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace reelbatch::test {

/// One answer to a submit.
struct SubmitAnswer {
  /// Accepted with this task id (empty: the fake names it "t<n>").
  static SubmitAnswer ok(std::string task_id = {});
  /// Refused with `cls` (nothing created). `retry_after` as a server's Retry-After.
  static SubmitAnswer error(ErrorClass cls, std::string code = {}, std::string message = {},
                            std::optional<std::chrono::milliseconds> retry_after = std::nullopt,
                            int http_status = 0);
  /// The response is lost (ErrorClass::unknown_outcome); when `creates_task`
  /// the provider did create the task (it shows in the task list and can be
  /// queried).
  static SubmitAnswer lost(bool creates_task);

  bool accepted = true;
  std::string task_id;
  ProviderError err;  ///< when !accepted (provider filled in by the fake)
  bool creates_task = false;  ///< for a lost response
};

/// One answer to a status query.
struct QueryAnswer {
  static QueryAnswer queued();
  static QueryAnswer running(std::string native = "running");
  /// Succeeded with the fake's URLs (video and cover) and `cost`.
  static QueryAnswer succeeded(std::optional<double> cost = 1.0);
  /// The task failed with `code` / `message`.
  static QueryAnswer failed(std::string code, std::string message = "generation failed");
  /// The query itself failed (the task is unchanged).
  static QueryAnswer error(ErrorClass cls, std::string code = "5000", std::string message = "busy");

  std::optional<RemoteState> state;  ///< nullopt: `err`
  std::string native_state;
  std::optional<double> cost;
  std::string error_code, error_message;
  ProviderError err;
};

/// One call the engine made, in call order.
struct Call {
  std::string op;   ///< "upload", "submit", "query", "list", "cancel"
  std::string arg;  ///< submit: the row's key; query, cancel: the task id; list: the page
  std::string task_id;  ///< submit: the task created (accepted or lost-but-created); else empty
  SteadyTime at;    ///< virtual time of the call
  std::size_t seq = 0;  ///< global order
};

/// A download the fake fetcher made.
struct DownloadCall {
  std::string url;
  std::filesystem::path path;
  SteadyTime at;
};

/// Scripts, state and log shared by the adapters the factory builds.
class FakeWorld {
 public:
  explicit FakeWorld(Clock& clock) : clock_(clock) {}

  // ---- scripts --------------------------------------------------------------
  /// Answers for the next submits, in order; when empty, submits are accepted.
  std::deque<SubmitAnswer> submit_answers;
  /// Query answers per task id, consumed in order; the last one repeats.
  std::map<std::string, std::deque<QueryAnswer>> task_scripts;
  /// The script a task gets when it has none when created.
  std::deque<QueryAnswer> default_script{QueryAnswer::running(), QueryAnswer::succeeded()};
  /// Tasks on the account, newest first (async_list); created tasks are added.
  std::vector<TaskStatus> task_list;
  bool has_task_list = true;
  bool has_cancel = false;
  /// Task error codes is_retryable_failure() says are transient and unbilled.
  std::set<std::string> retryable_codes;
  /// Virtual time each submit takes before answering (0: answers at once).
  std::chrono::milliseconds submit_latency{0};
  /// Download answers: a failure message for the next downloads, in order
  /// (empty string: success).
  std::deque<std::string> download_failures;

  // ---- what happened --------------------------------------------------------
  std::vector<Call> calls;
  std::vector<DownloadCall> downloads;
  std::vector<std::string> cancel_log;  ///< task ids cancelled remotely
  std::vector<std::string> created;     ///< task ids created, in order
  int running_now = 0;  ///< tasks created and not seen finished by a query
  int max_running = 0;  ///< highest running_now observed

  /// Calls of `op`, in order.
  std::vector<Call> calls_of(const std::string& op) const;
  /// Calls of `op` with `arg`.
  std::vector<Call> calls_of(const std::string& op, const std::string& arg) const;
  /// The submit calls for the row with this key.
  std::vector<Call> submits_for(const std::string& key) const { return calls_of("submit", key); }

  /// A provider_factory building adapters over this world.
  ProviderFactory factory();
  /// A download seam writing "video of <url>" to the path.
  DownloadFn download();

  Clock& clock() { return clock_; }

  // Used by the adapter.
  void log(std::string op, std::string arg, std::string task_id = {});
  std::string create_task();
  void task_finished(const std::string& id);

 private:
  Clock& clock_;
  int next_task_ = 1;
  std::set<std::string> finished_;
};

/// The Provider over a FakeWorld.
class FakeProvider final : public Provider {
 public:
  FakeProvider(const ProfileConfig& profile, FakeWorld& world) : profile_(profile), w_(world) {}

  const ProfileConfig& profile() const override { return profile_; }
  std::vector<FieldError> validate(const JobSpec&) const override { return {}; }
  boost::asio::awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override;
  boost::asio::awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override;
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override;
  bool has_task_list() const override { return w_.has_task_list; }
  boost::asio::awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size) override;
  bool has_cancel() const override { return w_.has_cancel; }
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_cancel(const std::string& remote_id) override;
  bool is_retryable_failure(const TaskStatus& s) const override { return w_.retryable_codes.contains(s.error_code); }
  PollPolicy default_poll() const override { return {}; }
  std::chrono::seconds default_url_ttl() const override { return std::chrono::hours(24 * 7); }
  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override;

 private:
  ProviderError error_of(ProviderError e) const;
  const ProfileConfig& profile_;
  FakeWorld& w_;
};

/// A gtest fixture running one Engine on a ManualClock over an in-memory
/// SqliteJobStore and a FakeWorld, in virtual time. Profile "p" (kind
/// "juhuo", answered by the fake), batch "b" with outputs under a temporary
/// folder. Tests change cfg / opts before start().
class EngineHarness : public ::testing::Test {
 protected:
  EngineHarness();
  ~EngineHarness() override;
  void TearDown() override;

  boost::asio::io_context io;
  ManualClock clock{io.get_executor()};
  SteadyTime t0 = clock.now();
  FakeWorld world{clock};
  SqliteJobStore store{":memory:"};
  HttpClient http{io.get_executor()};
  std::filesystem::path dir;
  Config cfg;
  EngineOptions opts;
  std::int64_t batch_id = 0;
  std::filesystem::path out_dir;
  std::unique_ptr<Engine> engine;
  bool run_done = false;
  std::exception_ptr run_error;
  std::ostringstream log_text;

  ProfileConfig& profile() { return cfg.profiles.at("p"); }
  /// Ingests rows "<prefix>1".."<prefix>n" of profile "p"; returns their job ids.
  std::vector<std::int64_t> add_rows(int n, const std::string& prefix = "r");
  /// Builds the engine with `opts` and spawns async_run.
  void start();
  /// Runs ready handlers, then advances virtual time to the next timer,
  /// until `done` (true) or `limit` of virtual time has passed (false).
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::hours(2));
  /// Lets `d` of virtual time pass (at least).
  void run_for(std::chrono::milliseconds d);
  /// Stops the engine and runs until async_run returns; true when it did.
  bool stop_engine();
  /// Runs `a` to completion on the io_context (virtual time moves meanwhile).
  template <class T>
  T await(boost::asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr err;
    bool fin = false;
    boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
      fin = true;
      err = e;
      if (!e) out = std::move(v);
    });
    EXPECT_TRUE(run_until([&] { return fin; }));
    if (err) std::rethrow_exception(err);
    if (!out) throw std::runtime_error("awaitable did not finish");
    return std::move(*out);
  }
  /// Spawns async_drain of the batch; the flag turns true when it returns.
  std::shared_ptr<bool> drain();
  /// add_rows(n), start(), and runs until the batch drains (a failure is
  /// recorded when it does not within the limit). Returns the job ids.
  std::vector<std::int64_t> run_rows(int n);

  JobRecord job(std::int64_t id) const { return store.job(id).value(); }
  /// The "event" names of the job's state events, in order.
  std::vector<std::string> state_events(std::int64_t id) const;
  /// The job's events of `kind`.
  std::vector<EventRecord> events_of(std::int64_t id, const std::string& kind) const;
  bool all_in(const std::vector<std::int64_t>& ids, JobState s) const;
  /// Virtual time since the engine started.
  std::chrono::milliseconds since_start(SteadyTime t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - t0);
  }
};

}  // namespace reelbatch::test
