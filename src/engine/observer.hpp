// What the engine reports as it works, for metrics (src/metrics/) and any
// other watcher: every provider request's outcome, every retry with its
// reason, every committed state transition, download bytes and credits
// charged. The engine calls an EngineObserver (EngineOptions::observer) from
// a few central funnels only: the adapter-call wrapper
// (src/engine/observed_provider.hpp), Engine::Impl::transition() and the
// download fetch loop. Header-only, no Asio: included by src/metrics.
//
// Threading: every call comes from the engine's executor (one thread at a
// time for one engine), synchronously, in the order things happened. An
// implementation must be quick and must not block (no disk or network I/O):
// it runs on the event loop. It must not throw; an exception escaping an
// observer call ends the coroutine that made it.
#pragma once

#include "src/core/error.hpp"
#include "src/core/job_state.hpp"

#include <cstdint>
#include <string_view>

namespace reelbatch {

struct JobRecord;

/// Which provider request (or output fetch) a report is about.
enum class RequestKind {
  upload,    ///< Provider::async_upload (a reference asset)
  submit,    ///< Provider::async_submit (creates a paid task when accepted)
  poll,      ///< Provider::async_query of a task not yet known finished
  refresh,   ///< Provider::async_query for fresh output URLs of a succeeded task
  list,      ///< Provider::async_list (reconciling lost submits)
  cancel,    ///< Provider::async_cancel
  balance,   ///< Provider::async_balance
  download,  ///< one output file fetched from a signed URL
};

/// The request kind's name ("upload", "submit", ...), used as a metric label.
/// Never null.
constexpr const char* to_string(RequestKind k) {
  switch (k) {
    case RequestKind::upload: return "upload";
    case RequestKind::submit: return "submit";
    case RequestKind::poll: return "poll";
    case RequestKind::refresh: return "refresh";
    case RequestKind::list: return "list";
    case RequestKind::cancel: return "cancel";
    case RequestKind::balance: return "balance";
    case RequestKind::download: return "download";
  }
  return "unknown";
}

/// How a request ended, by the class of its error (src/core/error.hpp).
enum class RequestOutcome {
  ok,             ///< the provider answered with success
  rate_limited,   ///< HTTP 429 / the provider's rate-limit code (ErrorClass::rate_limited)
  retryable,      ///< 5xx, a transport failure before the request was sent, a failed download
  permanent,      ///< rejected for good (ErrorClass::permanent)
  unknown,        ///< the answer was lost after sending (ErrorClass::unknown_outcome)
  auth,           ///< the key is wrong or revoked (ErrorClass::auth)
  out_of_credit,  ///< the account cannot pay (ErrorClass::out_of_credit)
};

/// The outcome's name ("ok", "rate_limited", ...), used as a metric label.
/// Never null.
constexpr const char* to_string(RequestOutcome o) {
  switch (o) {
    case RequestOutcome::ok: return "ok";
    case RequestOutcome::rate_limited: return "rate_limited";
    case RequestOutcome::retryable: return "retryable";
    case RequestOutcome::permanent: return "permanent";
    case RequestOutcome::unknown: return "unknown";
    case RequestOutcome::auth: return "auth";
    case RequestOutcome::out_of_credit: return "out_of_credit";
  }
  return "unknown";
}

/// The outcome a failed request with error class `c` reports.
constexpr RequestOutcome outcome_of(ErrorClass c) {
  switch (c) {
    case ErrorClass::retryable: return RequestOutcome::retryable;
    case ErrorClass::rate_limited: return RequestOutcome::rate_limited;
    case ErrorClass::out_of_credit: return RequestOutcome::out_of_credit;
    case ErrorClass::auth: return RequestOutcome::auth;
    case ErrorClass::permanent: return RequestOutcome::permanent;
    case ErrorClass::unknown_outcome: return RequestOutcome::unknown;
  }
  return RequestOutcome::permanent;
}

/// One committed state transition (JobStore::try_transition succeeded).
struct StateChange {
  std::string_view profile;  ///< the job's profile (JobSpec::provider)
  JobState from = JobState::pending;
  JobState to = JobState::pending;
  std::string_view event;    ///< the JobEvent's name (scheduler/job_state.hpp), e.g. "admit"
  /// The error class of the answer that caused it ("rate_limited", ...), or
  /// empty when the transition was not caused by an error.
  std::string_view error_class;
  /// Unix ms of the commit by the engine's clock (the clock that also sets
  /// job.intent_at_ms and job.url_expires_at_ms).
  std::int64_t at_ms = 0;
  /// Unix ms of the job's previous write (state or note) by the store's
  /// clock; compare it with job.updated_at_ms (this write, same clock),
  /// never with at_ms (under a test's ManualClock the two clocks differ).
  std::int64_t prev_updated_ms = 0;
  /// The job after the transition (state, attempts, intent_at_ms, cost,
  /// bytes, url_expires_at_ms are current). Valid during the call only.
  const JobRecord& job;
};

/// Receives the engine's reports. Every method has an empty default, so an
/// observer overrides only what it needs. See the file comment for threading.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;

  /// A provider request of `kind` for `profile` ended with `outcome`. Called
  /// once per HTTP exchange the adapter reports (an adapter's own internal
  /// retries are not seen), and once per output fetch attempt (download).
  virtual void on_request(std::string_view profile, RequestKind kind, RequestOutcome outcome) {
    (void)profile, (void)kind, (void)outcome;
  }

  /// The engine will try something again: `reason` names what and why, e.g.
  /// "submit_rate_limited" (a job back to pending after a 429),
  /// "remote_failed" (a transient remote failure is submitted again),
  /// "download_retryable" (an output fetch is repeated). Names are
  /// [a-z_]+ and few (usable as a metric label).
  virtual void on_retry(std::string_view profile, std::string_view reason) { (void)profile, (void)reason; }

  /// A job's state changed (committed). Notes (from == to, not a state
  /// event) are not reported; a state event with from == to (pending ->
  /// pending on `paused`) is.
  virtual void on_transition(const StateChange& change) { (void)change; }

  /// A job's outputs are on disk: `bytes` is the finished video's size.
  virtual void on_download_bytes(std::string_view profile, std::uint64_t bytes) { (void)profile, (void)bytes; }

  /// A remote task succeeded and the provider charged `credits`, in the
  /// profile's credit unit (whatever the provider bills in: the provider
  /// documents' README, "cost" row).
  virtual void on_credits(std::string_view profile, double credits) { (void)profile, (void)credits; }
};

}  // namespace reelbatch
