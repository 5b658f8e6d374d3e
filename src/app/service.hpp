// The service layer: what a user can ask of reelbatch (status, cancel,
// retry, resolve, pause, resume, balance), in one place, so the CLI now and
// the daemon's admin API next call the same code. State changes go through
// the Engine (src/engine/engine.hpp), which applies them through the job
// state machine and the store's compare-and-set; this layer resolves names
// (job key or id, batch name or id, profile) and gathers results.
//
// Threading: every function runs on the engine's executor (awaitables) or,
// for the read-only ones, on the caller's thread with the store.
#pragma once

#include "config/config.hpp"
#include "providers/provider.hpp"
#include "src/app/progress.hpp"
#include "src/engine/engine.hpp"
#include "storage/job_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

/// One batch and how many of its jobs are in each state.
struct BatchStatus {
  BatchRecord batch;
  std::map<JobState, int> counts;
};

/// Totals over a set of batches, for a run's summary.
struct BatchTotals {
  std::map<JobState, int> counts;
  double credits = 0;  ///< sum of recorded costs (credits, mixed units: prefer credits_by_unit)
  SpendByUnit credits_by_unit;  ///< recorded costs per credit unit (credit_unit())
  /// Jobs failed or held, in manifest order, at most `max_listed` of them.
  std::vector<JobRecord> problems;
  int problem_count = 0;
};

/// One profile's balance answer.
struct BalanceLine {
  std::string profile;
  std::optional<Balance> balance;  ///< nullopt when the API has none or failed
  std::string error;               ///< the provider's error, or "has no balance API"
  bool supported = true;
};

/// Which rows of a batch `retry` takes, and whether it may resubmit (issue
/// 7: `reelbatch retry --batch B [--failed] [--expired] [--resubmit]`, admin
/// API `POST /v1/batches/{id}/retry` with {"states": [...], "resubmit": bool}).
struct RetrySelection {
  /// States whose rows are retried: any of failed, cancelled, expired.
  /// Default (no flag, no body): failed and cancelled.
  std::vector<JobState> states{JobState::failed, JobState::cancelled};
  /// Submit again rows whose task failed remotely (Engine::async_retry);
  /// never a paid success.
  bool resubmit = false;
};

/// Reads a batch-retry body: {"states": ["failed", "expired"], "resubmit":
/// true}, both members optional (an empty object gives the defaults).
/// Throws std::invalid_argument naming the member and what it expects (a
/// state other than failed, cancelled, expired; an empty list; a non-bool).
RetrySelection parse_retry_selection(const boost::json::object& body);

/// The ids of the jobs of batch `batch_id` in one of `states`, in manifest
/// order (paged from `store`).
std::vector<std::int64_t> jobs_in_states(const JobStore& store, std::int64_t batch_id,
                                         const std::vector<JobState>& states);

/// Retries `ids` one after another (Engine::async_retry with `resubmit`):
/// one result per job, refusals included. Runs on the engine's executor.
boost::asio::awaitable<std::vector<ControlResult>> retry_jobs(Engine& engine, std::vector<std::int64_t> ids,
                                                              bool resubmit);

class Service {
 public:
  /// `cfg`, `store` and `engine` must outlive the service.
  Service(const Config& cfg, JobStore& store, Engine& engine);

  /// Every batch with its counts, and the paused profiles with their reasons.
  std::vector<BatchStatus> status() const;
  std::map<std::string, std::string> pauses() const;
  /// Counts, credits and the failed/held jobs (up to `max_listed`) of `batch_ids`.
  BatchTotals totals(const std::vector<std::int64_t>& batch_ids, int max_listed = 20) const;

  /// Recorded costs of the jobs of `batch_ids` per credit unit (each
  /// profile's credit_unit(); "credits" for a profile no longer in the
  /// config). One store query.
  SpendByUnit spend(const std::vector<std::int64_t>& batch_ids) const;

  /// The jobs a target names: a job key or numeric id, else a batch name or
  /// numeric id (all its jobs). Empty when nothing matches.
  std::vector<std::int64_t> resolve_target(const std::string& target) const;

  /// Cancels every unfinished job of `target` (see resolve_target); one
  /// result per job that was not already finished. Throws nothing for
  /// provider errors (they are in the results).
  boost::asio::awaitable<std::vector<ControlResult>> async_cancel(std::string target);
  /// Retries a failed, expired or cancelled job (key or id); see
  /// Engine::async_retry for `resubmit`.
  boost::asio::awaitable<ControlResult> async_retry(std::string job, bool resubmit = false);
  /// Retries the rows of batch `batch` (name or id) that `sel` selects; one
  /// result per row. nullopt when no batch has that name or id.
  boost::asio::awaitable<std::optional<std::vector<ControlResult>>> async_retry_batch(std::string batch,
                                                                                    RetrySelection sel);
  /// Decides a held job (key or id).
  boost::asio::awaitable<ControlResult> async_resolve(std::string job, bool resubmit);
  /// Pauses / resumes a profile; false for an unknown profile.
  boost::asio::awaitable<bool> async_pause(std::string profile);
  boost::asio::awaitable<bool> async_resume(std::string profile);
  /// The credit balance of every profile whose API has one (juhuo,
  /// seedance2), asked through `http`'s adapters.
  boost::asio::awaitable<std::vector<BalanceLine>> async_balance(HttpClient& http);

 private:
  const Config& cfg_;
  JobStore& store_;
  Engine& engine_;
};

}  // namespace reelbatch
