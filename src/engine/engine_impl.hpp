// Internal to src/engine: the engine's state, shared by its stage files
// (engine.cpp: run loop, claiming, control; submit.cpp; reconcile.cpp;
// poll.cpp; download.cpp; recovery.cpp). Not included outside src/engine.
#pragma once

#include "src/engine/budget.hpp"
#include "src/engine/clock.hpp"
#include "src/engine/engine.hpp"

#include "providers/provider.hpp"
#include "scheduler/backoff.hpp"
#include "scheduler/circuit.hpp"
#include "scheduler/cost.hpp"
#include "scheduler/download_queue.hpp"
#include "scheduler/error_policy.hpp"
#include "scheduler/reconcile.hpp"
#include "scheduler/job_state.hpp"
#include "scheduler/lane.hpp"
#include "scheduler/token_bucket.hpp"
#include "src/output/downloader.hpp"
#include "storage/job_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace reelbatch {

using std::chrono::milliseconds;

/// Wakes coroutines waiting for a condition to change. Waiters re-check
/// their condition after every wake-up (wake-ups may be spurious). Each
/// waiter has its own timer, so waiters never cancel one another.
class Notifier {
 public:
  explicit Notifier(Clock& clock) : clock_(clock) {}
  void notify();
  /// Waits for notify() or at most `max`.
  boost::asio::awaitable<void> wait(milliseconds max);

 private:
  Clock& clock_;
  std::vector<Timer*> waiters_;
};

/// A job the engine holds (claimed under its lease).
struct ActiveJob {
  JobRecord rec;
  boost::asio::cancellation_signal cancel;  ///< ends its coroutine (stop, user cancel, lost lease)
  int coroutines = 0;       ///< coroutines driving it now (0 or 1)
  bool done = false;        ///< it left the engine's hands: forget it once its coroutine ends
  bool holds_slot = false;  ///< it holds one of its lane's slots
  bool queued = false;      ///< pending in its lane's queue
  bool lost = false;        ///< another writer moved it: drop it
  int upload_rounds = 0;
  int submit_retries = 0;
  // ---- download.cpp ----
  int download_tries = 0;      ///< failed download tries in this process (backoff exponent)
  bool refresh_links = false;  ///< re-query the task for fresh links before the next try
  std::map<OutputKind, DownloadedFile> fetched;        ///< outputs already in place
  std::map<OutputKind, std::string> fetch_errors;      ///< last error per output still missing
  bool download_exception_logged = false;  ///< download_pass() logged an exception for it
  // ---- credits (issue 9) ----
  /// Where rec.cost came from when the provider did not report it
  /// (documented / configured price); nullopt: reported by the provider.
  std::optional<CostSource> cost_source;
};

struct Engine::Impl {
  struct Profile {
    const ProfileConfig* cfg = nullptr;
    std::unique_ptr<Provider> provider;
    Lane lane;
    RateWindow submit_bucket;  // budget.hpp: exact, across restarts
    RateWindow poll_bucket;
    SteadyTime poll_saved_through{};  // latest poll_bucket grant persisted (save_poll_window)
    PollSchedule poll;
    bool submit_busy = false;
    std::unique_ptr<Notifier> wake;         // slot freed, job queued, pause lifted
    std::unique_ptr<Notifier> submit_free;  // the submit section is free
    std::string pause_reason;               // non-empty: paused until resumed
    SteadyTime throttled_until{};
    bool drained = false;  // the last claim found no pending job
    double spent = 0;      // credits, profile's unit
    // Issue 7: the profile's circuit breaker (transient failures of its
    // submits, uploads, status queries and task-list reads), and what a
    // failed remote task does.
    Circuit circuit;
    std::unique_ptr<Notifier> circuit_change;  // the circuit closed or a probe reported
    RemoteFailurePolicy on_remote_failure = RemoteFailurePolicy::fail;
    // Issue 9: credit budgets. budget_reason non-empty: a cap refused the
    // last submit; the lane is held (not persisted, unlike a pause) until
    // the ledger or the config changes (budget_changed, reconfigure).
    std::string budget_reason;
    std::vector<LearnedCost> learned;  // learned_costs_for(), refreshed at most every kLearnedRefresh
    SteadyTime learned_at{};
    bool learned_loaded = false;
    // Balance gate (providers with a balance API): the balance last read,
    // when, and the profile's settled credits then.
    std::optional<double> balance_remain;
    SteadyTime balance_at{};
    double balance_settled_then = 0;

    Profile(const ProfileConfig& c, std::unique_ptr<Provider> p, Clock& clock, const JobStore& store);
  };

  /// A profile's submit section (one submit at a time per profile), held
  /// from the submit POST until its outcome is known; released at the latest
  /// when the holder ends (cancellation included).
  struct SubmitSection {
    Impl& m;
    Profile& p;
    bool held = true;
    void release() {
      if (!held) return;
      held = false;
      m.end_submit(p);
    }
    ~SubmitSection() { release(); }
  };

  Impl(Engine& self, const Config& c, JobStore& s, HttpClient& h, EngineOptions o);
  ~Impl();

  Engine& self;
  const Config& cfg;
  JobStore& store;
  HttpClient& http;
  EngineOptions opts;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<const ErrorPolicy> policy;
  boost::asio::any_io_executor ex;
  std::unique_ptr<Clock> own_clock;
  Clock& clock;
  boost::asio::thread_pool pool{1};  // file hashing and download verification off the event loop
  std::string owner;
  std::map<std::string, std::unique_ptr<Profile>> profiles;
  std::map<std::int64_t, std::unique_ptr<ActiveJob>> jobs;  // what the engine holds
  std::map<std::int64_t, BatchRecord> batches;              // cache
  DownloadQueue downloads;
  std::unique_ptr<Notifier> download_wake;
  std::unique_ptr<Notifier> changed;  // a job changed state, a coroutine ended
  std::unique_ptr<Notifier> intake_wake;  // new pending jobs may exist
  std::set<Timer*> sleepers;
  std::mt19937_64 rng;
  bool running = false;
  bool stopping = false;
  int live = 0;  // coroutines spawned and not finished
  std::exception_ptr fatal;
  // Engine::reconfigure: every config given to it (profiles point into the
  // latest), and the adapters it replaced (in-flight coroutines may still
  // use them). Both live as long as the engine.
  std::vector<std::shared_ptr<const Config>> config_generations;
  std::vector<std::unique_ptr<Provider>> retired_providers;
  void reconfigure(std::shared_ptr<const Config> next);
  /// The adapter of `pc` (EngineOptions::provider_factory or the registry),
  /// wrapped in ObservedProvider when an observer is set.
  std::unique_ptr<Provider> make_adapter(const ProfileConfig& pc);
  /// A profile's runtime state: lane, budgets (the submit window seeded from
  /// the store), circuit and remote-failure policy.
  std::unique_ptr<Profile> make_profile(const ProfileConfig& pc, std::unique_ptr<Provider> adapter);
  /// on_remote_failure of `pc`, else its provider's documented default.
  static RemoteFailurePolicy remote_failure_policy(const ProfileConfig& pc);

  // ---- plumbing (engine.cpp) ----------------------------------------------------
  double random01();
  spdlog::logger& logger() { return *log; }
  Profile* profile_named(const std::string& name);
  Profile& profile_of(const JobRecord& j);
  /// Logs a coroutine's exception. A database failure also stops the engine
  /// (async_run then rethrows it); returns true for those.
  bool report_failure(std::exception_ptr e, const std::string& what);
  /// Spawns a coroutine that is not tied to one job (loops, workers).
  void spawn(boost::asio::awaitable<void> task, std::string what);
  /// Spawns the coroutine driving `job`, bound to its cancellation signal.
  void spawn_job(ActiveJob& job, boost::asio::awaitable<void> task);
  /// Runs `task` for `job` inside another coroutine (a download worker),
  /// bound to the job's cancellation signal; returns when it ends.
  boost::asio::awaitable<void> run_job(ActiveJob& job, boost::asio::awaitable<void> task);
  /// Handles the end of a job's coroutine (exception `e` or none).
  void job_coroutine_ended(std::int64_t id, std::exception_ptr e);
  /// Forgets a job: releases its lease and drops it from memory.
  void forget(std::int64_t id);
  boost::asio::awaitable<void> sleep_for(milliseconds d);
  boost::asio::awaitable<void> sleep_until(SteadyTime tp);
  void request_stop();
  std::int64_t now_unix_ms() const { return clock.unix_ms(); }

  // ---- transitions (engine.cpp) -------------------------------------------------
  /// Applies `ev` through the state machine and commits it (CAS). Returns
  /// false when the event is illegal or another writer moved the job (then
  /// the job is marked lost).
  bool transition(ActiveJob& j, JobEvent ev, boost::json::object detail = {}, bool remote_retryable = false,
                  const AttemptUpdate* attempt = nullptr);
  /// Appends a note event (no state change). Returns false when lost.
  bool note(ActiveJob& j, std::string kind, boost::json::object detail);
  void set_error(ActiveJob& j, const ProviderError& err);
  static boost::json::object error_detail(const ProviderError& err);
  /// Ends the engine's hold on a job that left its working states: frees
  /// its slot, releases the lease, forgets it.
  void finish(ActiveJob& j);
  void release_slot(ActiveJob& j);
  void enqueue(ActiveJob& j);
  void enqueue_later(ActiveJob& j, milliseconds delay);
  void pause(Profile& p, const ProviderError& err);
  /// Holds every request of the profile for `d` (a 429), from now.
  void throttle(Profile& p, const ProviderError& err, milliseconds d);
  void end_submit(Profile& p);

  // ---- submit safety (engine.cpp; issue 7) ---------------------------------------
  /// Acts on a submit intent the store did not record (`res.status` lost or
  /// ceiling; j.rec.state already back to what it was): lost marks the job
  /// lost; at max_submits_per_row the row is held when some earlier outcome
  /// is unknown (a task may exist and be paid), else failed with a message
  /// saying so, and finished.
  void intent_not_recorded(ActiveJob& j, Profile& p, const SubmitIntent& res);
  /// Waits until the profile's circuit lets a request through (closed, or
  /// this caller is the half-open probe). Returns false when stopping or
  /// `j` (when given) was lost meanwhile. Every true must be followed by
  /// circuit_report() once the request's answer is known.
  boost::asio::awaitable<bool> circuit_gate(Profile& p, ActiveJob* j = nullptr);
  /// Feeds one request's outcome to the circuit: `err` nullptr (an answer)
  /// or its class; retryable and unknown_outcome count as failures, every
  /// other answer shows the provider is up.
  void circuit_report(Profile& p, const ProviderError* err);

  // ---- credits (submit.cpp, poll.cpp; issue 9) ------------------------------------
  /// Records the submit intent with a reservation of the row's estimate
  /// (JobStore::begin_submit_reserving), checked against the profile's
  /// credit_cap and daily_credit_cap and the batch's max_credits. Returns
  /// the attempt id; nullopt when lost, at the ceiling (intent_not_recorded()),
  /// or refused by a cap: then the job is back in pending with the reason,
  /// queued, and the profile waits for budget.
  std::optional<std::int64_t> record_intent_reserving(ActiveJob& j, Profile& p);
  /// Fills rec.cost (and cost_source) from the configured or documented
  /// price when the provider reported none.
  void fill_unreported_cost(Profile& p, ActiveJob& j);
  /// Settles the job's ledger entry after remote success.
  void settle_success_credits(ActiveJob& j);
  /// Settles or releases the job's entry after a remote failure in `state`.
  void settle_failure_credits(Profile& p, ActiveJob& j, RemoteState state);
  /// The ledger or the caps changed: a profile waiting for budget tries again.
  void budget_changed(Profile& p);
  /// Where the provider has a balance API and the row's price is known:
  /// pauses the profile (as the provider's out-of-credit answer would, but
  /// before it is sent) when the balance, less what was charged since it
  /// was read and less the open reservations, is below the row's estimate.
  /// The balance is re-read at most every kBalanceRefresh. Returns false
  /// when the profile was paused (the row is back in pending, queued).
  boost::asio::awaitable<bool> balance_gate(Profile& p, ActiveJob& j);

  // ---- claiming and admission (engine.cpp) --------------------------------------
  JobFilter filter_for(const std::string& profile, std::vector<JobState> states) const;
  ActiveJob& hold(JobRecord rec);
  boost::asio::awaitable<void> intake(Profile& p);
  boost::asio::awaitable<void> dispatcher(Profile& p);
  boost::asio::awaitable<void> heartbeat();
  /// Persists every profile's poll budget (budget.hpp save_poll_window):
  /// from the heartbeat and at a clean stop, never per poll.
  void save_poll_windows();
  boost::asio::awaitable<void> rescue();
  /// One pass of rescue(): claims every mid-flight job nobody holds and
  /// recovers it.
  boost::asio::awaitable<void> rescue_pass();

  // ---- stages -------------------------------------------------------------------
  // submit.cpp
  boost::asio::awaitable<void> drive(std::int64_t id);
  boost::asio::awaitable<ProviderResult<SubmitRequest>> prepare(Profile& p, ActiveJob& j);
  boost::asio::awaitable<std::string> hash_file(const std::filesystem::path& path);
  // reconcile.cpp
  /// Settles a lost submit; releases `section` once settled. Returns true
  /// when the submit's task was found (the job is running: poll it next).
  boost::asio::awaitable<bool> reconcile(Profile& p, ActiveJob& j, SubmitSection& section);
  /// Reconciles recovered `submitting` jobs of one profile, one at a time,
  /// holding the profile's submit section (taken by the caller).
  boost::asio::awaitable<void> reconcile_recovered(Profile& p, std::vector<std::int64_t> ids);
  // poll.cpp
  boost::asio::awaitable<void> poll_loop(std::int64_t id);
  void record_success(Profile& p, ActiveJob& j, const TaskStatus& s);
  boost::asio::awaitable<bool> refresh_urls(Profile& p, ActiveJob& j);
  // download.cpp
  /// Queues a downloading job for its next try, `delay` from now (EDF by URL expiry).
  void queue_download(ActiveJob& j, milliseconds delay = milliseconds::zero());
  boost::asio::awaitable<void> download_worker();
  /// One download pass of a job: fresh links when due, every missing output,
  /// the sidecar; then succeeded, requeued (backoff), expired or failed.
  boost::asio::awaitable<void> download_job(std::int64_t id);
  /// download_job() for the download workers: an exception thrown while a
  /// paid row is downloading (other than cancellation or a database failure)
  /// is logged once per row and the row is requeued with the transient
  /// download backoff (decide_download_call), until its URL deadline, then
  /// `expired`. Rethrows for rows no longer downloading.
  boost::asio::awaitable<void> download_pass(std::int64_t id);
  /// Pauses every download: the output folder `dir` is full or unusable
  /// (`reason`). Logged once; rows wait in downloading until watch_disk()
  /// sees the folder usable again.
  void pause_downloads(const std::filesystem::path& dir, const std::string& reason);
  boost::asio::awaitable<void> watch_disk();
  /// On start: removes the .part / .tmp files of terminal jobs (never those
  /// of jobs still downloading, which resume them).
  void remove_stale_parts();
  bool downloads_paused = false;
  std::filesystem::path paused_dir;  // the folder that was full or unusable
  // recovery.cpp
  /// Takes up claimed jobs that were mid-flight when their last owner
  /// stopped (or died): polls running tasks, reconciles lost submits,
  /// requeues uploads and downloads.
  boost::asio::awaitable<void> recover(std::vector<JobRecord> claimed);
  // control.cpp
  boost::asio::awaitable<ControlResult> cancel_job(std::int64_t job_id);
  boost::asio::awaitable<ControlResult> retry_job(std::int64_t job_id, bool resubmit = false);
  boost::asio::awaitable<ControlResult> resolve_job(std::int64_t job_id, bool resubmit);
  bool pause_profile(const std::string& profile, const std::string& reason);
  bool resume_profile(const std::string& profile);
  EngineSnapshot snapshot() const;
  boost::asio::awaitable<bool> drained(const std::vector<std::int64_t>& batch_ids);
};

}  // namespace reelbatch
