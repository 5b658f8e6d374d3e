// The long-lived engine: claims jobs from the JobStore and drives each from
// `pending` to a terminal state on one executor: lane admission, uploads,
// submit, reconcile, polling, downloads (DESIGN.md, "The engine and the
// daemon"). Decisions come from scheduler/ (pure); the stage files
// (submit.cpp, reconcile.cpp, poll.cpp, download.cpp, recovery.cpp) perform
// the I/O and commit each transition through JobStore::try_transition before
// the side effect that follows.
//
// It holds in memory only the jobs it works on: jobs are claimed (a lease
// with a fencing token) a few at a time per profile as lane slots free up,
// and released when they end.
//
// Threading: async_run() and the async_* control functions run on the
// executor of the HttpClient given at construction. The non-async control
// functions (stop, add_batch, cancel, ...) are safe from any thread: they
// post to that executor.
#pragma once

#include "config/config.hpp"
#include "src/core/job_state.hpp"
#include "src/output/downloader.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace reelbatch {

class Clock;
class EngineObserver;
class HttpClient;
class JobStore;
class Provider;
struct ErrorPolicy;

/// Builds the adapter of a profile (tests pass fakes; default: the registry).
using ProviderFactory = std::function<std::unique_ptr<Provider>(const ProfileConfig&, HttpClient&)>;

/// Fetches one output to `path` (default: async_download_file of
/// src/output/downloader.hpp through the engine's HttpClient); tests pass a
/// fake that writes a file. `timeout` in milliseconds per chunk.
using DownloadFn = std::function<boost::asio::awaitable<Result<DownloadedFile, DownloadError>>(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::filesystem::path& path, std::chrono::milliseconds timeout)>;

struct EngineOptions {
  /// Where the engine logs; nullptr: spdlog's default logger.
  std::shared_ptr<spdlog::logger> log;
  /// Jitter seed; 0 = random.
  std::uint64_t seed = 0;
  /// Margin before URL expiry within which a task is re-queried for fresh
  /// links before downloading.
  std::chrono::seconds url_refresh_margin{300};
  /// Lease lifetime on claimed jobs; renewed every third of it.
  std::chrono::milliseconds lease_ttl{30000};
  /// Only jobs of these batches are claimed (more are added by add_batch);
  /// nullopt: every batch in the store (the daemon).
  std::optional<std::vector<std::int64_t>> batches;
  /// Adapter factory; empty: make_provider (providers/provider.hpp).
  ProviderFactory provider_factory;
  /// Output fetcher; empty: async_download_file.
  DownloadFn download;
  /// Clock and timers; nullptr: the system clock on the engine's executor.
  /// Must outlive the engine.
  Clock* clock = nullptr;
  /// Lease owner id; empty: make_owner_id().
  std::string owner;
  /// Retry, pause and reconcile limits; nullptr: the defaults.
  std::shared_ptr<const ErrorPolicy> policy;
  /// Free bytes for output folder `dir` (an existing folder), checked while
  /// downloads are paused for a full disk; empty:
  /// std::filesystem::space(dir).available. Tests pass a fake.
  std::function<std::uintmax_t(const std::filesystem::path& dir)> free_space;
  /// Told of every provider request's outcome, retry, committed state
  /// transition, download and credit charge (src/engine/observer.hpp), on
  /// the engine's executor; nullptr: nobody. Must outlive the engine.
  EngineObserver* observer = nullptr;
};

/// One profile's lane, as snapshot() sees it.
struct LaneSnapshot {
  std::string profile;
  int in_flight = 0;       ///< slots taken (submitting + running)
  int max_in_flight = 0;
  std::size_t queued = 0;  ///< claimed pending jobs waiting for a slot
  std::string pause_reason;  ///< empty: not paused
  bool throttled = false;    ///< waiting out a 429
  double credits_spent = 0;  ///< in the profile's credit unit
  /// The profile's circuit breaker (issue 7): "closed" (requests flow),
  /// "open" (its provider failed transiently K times in a row: rows wait for
  /// the cool-down), "half_open" (one probe request decides).
  std::string circuit = "closed";
  /// Issue 9: non-empty while a credit cap holds the profile's submits
  /// ("waiting for budget: credit_cap ... would pass it"); its rows stay
  /// pending, not failed, until a cap is raised or reservations settle.
  std::string budget_reason;
};

/// What the engine is doing now.
struct EngineSnapshot {
  std::map<JobState, int> active;  ///< jobs held in memory, by state
  std::vector<LaneSnapshot> lanes;
  std::size_t downloads_queued = 0;
  bool stopping = false;
};

/// The result of a control request on one job.
struct ControlResult {
  bool ok = false;
  JobState state = JobState::pending;  ///< the job's state afterwards
  std::string message;  ///< what was done, or why not ("job 12 is succeeded, not held")
};

class Engine {
 public:
  /// `cfg`, `store` and `http` must outlive the engine; everything runs on
  /// `http`'s executor. Builds one adapter per profile of `cfg`; throws
  /// ConfigError when a profile's kind is unknown.
  Engine(const Config& cfg, JobStore& store, HttpClient& http, EngineOptions opts = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Runs until stop(): resumes the unfinished jobs it can claim (running
  /// tasks are polled, never submitted again; submits whose outcome was
  /// lost are reconciled through the provider's task list), then claims and
  /// drives pending jobs as slots free up. On stop, in-flight requests are
  /// cancelled (a submit POST already sent is let finish, so its outcome is
  /// recorded), every coroutine ends, and the leases are released.
  /// Throws when the database fails (the engine stops first).
  boost::asio::awaitable<void> async_run();

  /// Returns once every job of `batch_ids` is terminal, held, or pending on
  /// a paused profile (or the engine stops), after rewriting each batch's
  /// results.jsonl (src/output/results.hpp). Call while async_run runs.
  /// Throws std::system_error when a results file cannot be written.
  boost::asio::awaitable<void> async_drain(std::vector<std::int64_t> batch_ids);

  /// Cancels a job: a running task is cancelled remotely where the API can
  /// (seedance2), locally elsewhere (the message says the task may still be
  /// billed). Terminal jobs are left as they are (ok = false).
  boost::asio::awaitable<ControlResult> async_cancel(std::int64_t job_id);
  /// Runs a failed, expired or cancelled job again: back to `downloading`
  /// when its remote task had succeeded (always for expired; the clip is
  /// paid: never submitted again; the task is queried for fresh links before
  /// the first try; refused with `resubmit`), else to `pending` with its
  /// attempts reset: at once when no task was ever created (a local or
  /// submit rejection), only with `resubmit` when its task failed remotely (a
  /// new submit may be charged again; refused otherwise, ok = false, saying
  /// so). The store's max_submits_per_row still bounds the submits.
  boost::asio::awaitable<ControlResult> async_retry(std::int64_t job_id, bool resubmit = false);
  /// Decides a held job: `resubmit` (the user checked the provider: no task
  /// exists) back to pending, else failed.
  boost::asio::awaitable<ControlResult> async_resolve(std::int64_t job_id, bool resubmit);
  /// Pauses a profile (persisted with `reason` until resumed): no new
  /// submits; tasks already running are still polled and downloaded.
  /// Returns false for an unknown profile.
  boost::asio::awaitable<bool> async_pause(std::string profile, std::string reason);
  /// Lifts a profile's pause (also an auth / out-of-credit pause). Returns
  /// false for an unknown profile.
  boost::asio::awaitable<bool> async_resume(std::string profile);

  /// A snapshot of lanes and held jobs. Call on the engine's executor.
  EngineSnapshot snapshot() const;

  // ---- safe from any thread ---------------------------------------------------

  /// Stops the engine: async_run returns soon. Idempotent.
  void stop();
  /// New pending jobs (a new batch, a resolved job): claim them. With
  /// EngineOptions::batches set, `batch_id` joins that set.
  void add_batch(std::int64_t batch_id);
  /// async_cancel / async_retry / async_resolve / async_pause /
  /// async_resume / snapshot from another thread.
  std::future<ControlResult> cancel(std::int64_t job_id);
  std::future<ControlResult> retry(std::int64_t job_id, bool resubmit = false);
  std::future<ControlResult> resolve(std::int64_t job_id, bool resubmit);
  std::future<bool> pause(std::string profile, std::string reason);
  std::future<bool> resume(std::string profile);
  std::future<EngineSnapshot> snapshot_async();
  /// Applies a reloaded config (the daemon's SIGHUP) without dropping
  /// in-flight tasks: for every profile present in both, the lane's
  /// max_in_flight, the submit/poll rates, the adapter (base_url, api key,
  /// timeouts, poll settings) and credit_cap change from now on (running
  /// tasks keep being polled, by the new adapter); profiles new in `cfg`
  /// are added and start taking jobs; profiles missing from `cfg` keep
  /// running until the next restart (their jobs may be in flight; a
  /// warning is logged). [output]/[storage] changes need a restart. `cfg`
  /// is copied. The returned future is ready once applied; it holds a
  /// ConfigError when a new profile's kind is unknown (then nothing changed).
  std::future<void> reconfigure(const Config& cfg);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelbatch
