// What the engine does after a failed provider call: retry in place, requeue
// the row, throttle or pause the profile, reconcile, or fail the row. Pure
// functions (no I/O, no clock, no sleeping): the randomness for jitter is
// passed in as a number in [0, 1), the counters as plain ints. The engine
// performs the actions these functions name; it holds no policy of its own.
// Implements DESIGN.md, "Invariants" 2 (never pay twice: a lost submit is
// reconciled, never resubmitted), 3 (honour Retry-After), 6 (a transient fault
// never fails a row), and README "Error classes" (src/core/error.hpp).
//
// Every limit and backoff base lives in ErrorPolicy; its defaults are the
// values the engine has always used.
#pragma once

#include "scheduler/backoff.hpp"
#include "scheduler/circuit.hpp"
#include "scheduler/job_state.hpp"
#include "src/core/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reelbatch {

/// Limits and backoff bases of the engine's error handling. A plain struct:
/// every field has a default (today's value) and a unit. Durations are
/// std::chrono::milliseconds, >= 0 (negative values count as 0, as in
/// backoff_delay()); the counts `*_attempts` are >= 1 (values below 1
/// behave as 1: one call, no retry).
///
/// Issue 7 ("a transient fault never fails a row"): there is no limit on
/// transient upload rounds or transient submit refusals any more; such a row
/// waits (capped exponential backoff with full jitter) indefinitely, and the
/// profile's circuit (scheduler/circuit.hpp) stops it from hammering a
/// provider that is down.
struct ErrorPolicy {
  // ---- uploads -------------------------------------------------------------
  /// Calls per asset within one upload round (the first call included), before
  /// the round fails. Default 5.
  int upload_attempts = 5;
  /// Backoff base between calls of one round (when the server sent no
  /// Retry-After). Default 1 s.
  std::chrono::milliseconds upload_call_base{1000};
  /// Backoff cap between calls of one round. Default 30 s.
  std::chrono::milliseconds upload_call_cap{30000};
  /// Backoff base before the row is queued again after a failed round
  /// (full jitter: the wait is uniform in [0, min(cap, base * 2^rounds))).
  /// Default 5 s.
  std::chrono::milliseconds upload_round_base{5000};
  /// Backoff cap before the row is queued again after a failed round.
  /// Default 120 s.
  std::chrono::milliseconds upload_round_cap{120000};

  // ---- submit --------------------------------------------------------------
  /// Backoff base before a row whose submit failed transiently (nothing
  /// created) is queued again; full jitter: the wait is uniform in
  /// [0, min(cap, base * 2^(tries - 1))). Default 2 s.
  std::chrono::milliseconds submit_retry_base{2000};
  /// Backoff cap for the same. Default 60 s.
  std::chrono::milliseconds submit_retry_cap{60000};
  /// Longest wait after a submit with a lost response before the provider's
  /// task list is read; the wait is min(request_timeout, this), so a task
  /// the provider was still creating shows up. Default 10 s.
  std::chrono::milliseconds reconcile_settle_max{10000};

  // ---- the profile's circuit (issue 7) ---------------------------------------
  /// When a profile's requests fail transiently K times in a row, its rows
  /// wait for a cool-down and one probe (scheduler/circuit.hpp). Defaults:
  /// K = 5, cool-down 15 s doubling per failed probe up to 5 min.
  CircuitPolicy circuit;

  // ---- profile throttle (rate_limited) -------------------------------------
  /// Backoff base of a profile throttle when a 429 carries no Retry-After.
  /// Default 1 s.
  std::chrono::milliseconds throttle_base{1000};
  /// Backoff cap of the same. Default 60 s.
  std::chrono::milliseconds throttle_cap{60000};

  // ---- polling -------------------------------------------------------------
  /// Consecutive failed status queries beyond which the poll-error backoff
  /// stops growing: the exponent is min(consecutive_errors, this), >= 0.
  /// Default 6.
  int poll_error_max_exponent = 6;
  /// The poll-error backoff's cap, as a multiple of the schedule's
  /// max_interval; its base is the schedule's interval. Default 4 (values
  /// below 1 count as 1).
  int poll_error_cap_factor = 4;

  // ---- reconcile (reading the provider's task list) -------------------------
  /// Task-list pages read at most per lost submit. Default 20.
  int reconcile_pages = 20;
  /// Tasks asked for per page. Default 50.
  int reconcile_page_size = 50;
  /// Clock-skew allowance: tasks created more than this before the intent
  /// was recorded are not candidates. Default 120 s.
  std::chrono::milliseconds reconcile_slack{120000};
  /// Calls per task-list page (the first included) before reconciling gives
  /// up and the row is held. Default 5.
  int list_attempts = 5;
  /// Backoff base between task-list calls (when no Retry-After). Default 1 s.
  std::chrono::milliseconds list_base{1000};
  /// Backoff cap between task-list calls. Default 30 s.
  std::chrono::milliseconds list_cap{30000};

  // ---- downloads ----------------------------------------------------------------
  // A paid row's download is never given up for a transient cause: it is
  // retried until its URL deadline (decide_download_call()), then `expired`.
  /// Status queries per URL refresh (the first included). Default 5.
  int refresh_attempts = 5;
  /// Backoff base between URL-refresh queries. Default 1 s.
  std::chrono::milliseconds refresh_base{1000};
  /// Backoff cap between URL-refresh queries. Default 30 s.
  std::chrono::milliseconds refresh_cap{30000};
  /// Full-jitter backoff base between download tries of one row. Default 2 s.
  std::chrono::milliseconds download_base{2000};
  /// Full-jitter backoff cap between download tries of one row. Default 5 min.
  std::chrono::milliseconds download_cap{300000};
  /// Shortest wait between download tries (full jitter may draw 0). Default 250 ms.
  std::chrono::milliseconds download_min_delay{250};
  /// Tries after which optional outputs (cover, last frame) that keep failing
  /// are given up (the row succeeds with the video; their errors go to the
  /// sidecar). Default 8.
  int optional_output_tries = 8;
  /// While downloads are paused for a full or unusable output folder, how
  /// often the folder is checked again (free space, writable). Default 5 s.
  std::chrono::milliseconds disk_check_interval{5000};
  /// Free bytes the output folder's filesystem needs before paused downloads
  /// resume. Default 64 MiB.
  std::uint64_t disk_resume_free_bytes = 64ull * 1024 * 1024;
};

// ---- calls retried in place (upload, task list, URL refresh, download) -------

/// Whether to call again after one failed call within a loop.
struct CallDecision {
  enum class Action {
    retry,    ///< wait `delay`, then make the same call again
    give_up,  ///< stop; the caller handles the last error
  };
  Action action = Action::give_up;
  /// For retry: how long to wait first (>= 0). Zero for give_up.
  std::chrono::milliseconds delay{0};
  /// Unused since downloads decide with DownloadDecision; always false.
  bool refresh_urls = false;
};

/// After upload call number `attempt` (0-based: 0 is the first call) of one
/// asset failed with `cls`: retry when `cls` is retryable, rate_limited or
/// unknown_outcome (an upload is free to repeat) and attempt + 1 <
/// upload_attempts, after retry_after_or_backoff(retry_after, attempt,
/// upload_call_base, upload_call_cap, random01); otherwise give up (the round
/// fails: see decide_upload_failure(), which queues the row again).
/// `retry_after`: the server's wait, if
/// it sent one. `random01` in [0, 1). Never throws.
/// Implements the upload loop of the engine's prepare().
CallDecision decide_upload_call(ErrorClass cls, int attempt, std::optional<std::chrono::milliseconds> retry_after,
                                double random01, const ErrorPolicy& policy);

/// After task-list call number `attempt` (0-based) for one page failed with
/// `cls`: give up when `cls` is permanent or auth, or attempt + 1 >=
/// list_attempts (the row is then held: "cannot read the task list: ...");
/// otherwise retry after retry_after_or_backoff(retry_after, attempt,
/// list_base, list_cap, random01). Every other class (retryable,
/// rate_limited, out_of_credit, unknown_outcome) is retried. Never throws.
/// Implements the page loop of the engine's reconcile().
CallDecision decide_list_call(ErrorClass cls, int attempt, std::optional<std::chrono::milliseconds> retry_after,
                              double random01, const ErrorPolicy& policy);

/// After URL-refresh query number `attempt` (0-based) gave no fresh links:
/// `error` is the query's error class, or nullopt when the query answered but
/// the task is not (or no longer) succeeded. Give up when `error` is
/// permanent or attempt + 1 >= refresh_attempts (the download then goes on
/// with the links it has); otherwise retry after backoff_delay(attempt,
/// refresh_base, refresh_cap, random01). Retry-After is not consulted, as
/// today. Never throws. Implements the engine's refresh_urls().
CallDecision decide_refresh_call(std::optional<ErrorClass> error, int attempt, double random01,
                                 const ErrorPolicy& policy);

/// Why one download try of a paid row failed, as the engine sees it. A full
/// or unusable output folder is not a try: it pauses every download instead
/// (the engine's download stage), so it never reaches decide_download_call().
enum class DownloadFailure {
  transient,      ///< transport error, timeout, 5xx, 429, short body, a body that failed
                  ///< validation (HTML error page, wrong signature), a local write error
                  ///< other than a full disk: wait and try again
  link_rejected,  ///< 401/403/404/410 from the output link: refresh the links (re-query
                  ///< the task; juhuo re-signs, 000 "生成的视频地址有效期") before the next try
  gone,           ///< the link answered 404/410 and the task query says the task is gone
                  ///< (permanent query error, or a state other than succeeded): permanent
};

/// What to do after a failed download try.
struct DownloadDecision {
  enum class Action {
    retry,   ///< requeue the row, try again after `delay`
    expire,  ///< the URL deadline has passed: the row ends `expired`
    fail,    ///< a permanent cause: the row ends `failed` with the detail
  };
  Action action = Action::retry;
  /// For retry: the wait before the next try (>= 0). Zero otherwise.
  std::chrono::milliseconds delay{0};
  /// For retry: re-query the task for fresh links before the next try.
  bool refresh_urls = false;
};

/// After download try number `attempt` (0-based: 0 is the first try of this
/// row in this process) failed with `failure`, at wall time `now_ms` (Unix
/// ms), for a row whose URL deadline is `deadline_ms` (Unix ms: the recorded
/// output URL expiry, which a re-signed link moves on).
/// - gone: fail.
/// - else, now_ms >= deadline_ms: expire.
/// - else retry after a full-jitter backoff
///     exp   = min(download_cap, download_base * 2^attempt)
///     delay = max(download_min_delay, random01 * exp)
///   shortened to deadline_ms - now_ms when that comes first (so one last
///   try happens at the deadline), with refresh_urls for link_rejected.
/// `random01` in [0, 1). Negative durations count as 0; a negative attempt
/// counts as 0. Never throws. Implements DESIGN.md "Invariants" 4 and 6 and
/// issue 7 case 1 (a paid clip is never lost while its URL works).
DownloadDecision decide_download_call(DownloadFailure failure, int attempt, std::int64_t now_ms,
                                      std::int64_t deadline_ms, double random01, const ErrorPolicy& policy);

// ---- a failed upload round -----------------------------------------------------

/// What to do with a row whose uploads failed (after decide_upload_call()
/// gave up, or a local file could not be read).
struct UploadFailureDecision {
  enum class Action {
    pause_profile,  ///< auth / out_of_credit: pause the profile, feed `event`
                    ///< (paused), free the slot, queue the row again now
    fail_row,       ///< feed `event` (submit_rejected_permanent), free the slot;
                    ///< only for a permanent error
    requeue,        ///< feed `event` (submit_rejected_retryable), free the
                    ///< slot, queue the row again after `delay`
  };
  Action action = Action::fail_row;
  JobEvent event = JobEvent::submit_rejected_permanent;
  /// For requeue: the wait before the row is queued again.
  std::chrono::milliseconds delay{0};
  /// True when this failure counts as one more transient round: the caller
  /// stores rounds_done + 1 (the backoff exponent; only transient classes
  /// count). There is no limit on rounds.
  bool counts_round = false;
  /// Prepended to the error's description in the row's error message; empty
  /// means the plain description. "will retry: " for a transient round.
  std::string message_prefix;
};

/// After an upload round failed with `cls`. `rounds_done`: rounds of this row
/// that failed before this one with a transient class (0 for the first).
/// - auth, out_of_credit: pause_profile (no round counted).
/// - permanent: fail_row (no round counted, no prefix).
/// - otherwise (retryable, rate_limited, unknown_outcome: an upload creates
///   no paid task) one round more is counted, rounds = rounds_done + 1, and
///   the row is queued again (never failed) after full_jitter_delay(rounds -
///   1, upload_round_base, upload_round_cap, random01), message prefix
///   "will retry: ".
/// Never throws. Implements the upload error handling of the engine's drive().
UploadFailureDecision decide_upload_failure(ErrorClass cls, int rounds_done, double random01,
                                            const ErrorPolicy& policy);

// ---- a failed submit -----------------------------------------------------------

/// What to do after the submit POST failed.
struct SubmitFailureDecision {
  enum class Action {
    reconcile,  ///< the outcome is unknown: record the attempt as `attempt_outcome`
                ///< ("unknown"), keep the submit section and the slot, wait
                ///< `delay`, then reconcile (ReconcileSearch). No event yet.
    requeue,    ///< record the attempt as "rejected", feed `event`
                ///< (submit_throttled), end the submit section, free the slot,
                ///< queue the row again after `delay` (zero: now). Also throttle
                ///< the profile for `throttle_for` when set, or pause it when
                ///< `pause_profile`.
    fail_row,   ///< record the attempt as "rejected", feed `event`
                ///< (submit_rejected_permanent), end the submit section, free the slot.
  };
  Action action = Action::fail_row;
  /// The state-machine event to feed; nullopt for reconcile (the row stays
  /// submitting until the search decides).
  std::optional<JobEvent> event;
  /// How the store records the attempt: "unknown" or "rejected".
  std::string attempt_outcome;
  /// For reconcile: the settle wait. For requeue: the wait before queueing.
  std::chrono::milliseconds delay{0};
  /// rate_limited: hold every request of the profile for this long.
  std::optional<std::chrono::milliseconds> throttle_for;
  /// auth, out_of_credit: pause the profile until the next run.
  bool pause_profile = false;
  /// True when this failure counts as a transient try: the caller stores
  /// transient_tries_done + 1 (ErrorClass::retryable only; the backoff
  /// exponent; there is no limit).
  bool counts_transient_try = false;
  /// Prepended to the error's description in the row's error message (empty:
  /// the plain description). "will retry: " for a transient refusal. Every
  /// action but reconcile sets the row's error (code, message) from the
  /// provider error.
  std::string message_prefix;
};

/// After the submit POST failed with `cls`.
/// `transient_tries_done`: earlier ErrorClass::retryable submit failures of
/// this row (0 for the first). `job_attempts`: the row's known-failed
/// submissions (JobRecord::attempts), the throttle's backoff exponent.
/// `retry_after`: the server's wait, if sent. `request_timeout`: the
/// profile's per-request deadline. `random01` in [0, 1).
/// - unknown_outcome: reconcile after min(request_timeout,
///   reconcile_settle_max) (negative counts as 0), attempt "unknown".
/// - rate_limited: requeue now, event submit_throttled, throttle_for =
///   retry_after_or_backoff(retry_after, job_attempts, throttle_base,
///   throttle_cap, random01).
/// - auth, out_of_credit: requeue now, event submit_throttled, pause_profile.
/// - retryable (the adapter's table says nothing was created): tries =
///   transient_tries_done + 1; requeue (submit_throttled), never fail, after
///   full_jitter_delay(tries - 1, submit_retry_base, submit_retry_cap,
///   random01), prefix "will retry: " (issue 7, case 2).
/// - permanent: fail_row, event submit_rejected_permanent, no prefix.
/// Every case but unknown_outcome records the attempt as "rejected" (no task
/// was created). Never throws. Implements the switch after the submit in the
/// engine's drive() (DESIGN.md "Invariants" 2 and 6).
SubmitFailureDecision decide_submit_failure(ErrorClass cls, int transient_tries_done, int job_attempts,
                                            std::optional<std::chrono::milliseconds> retry_after,
                                            std::chrono::milliseconds request_timeout, double random01,
                                            const ErrorPolicy& policy);

// ---- a failed status query -----------------------------------------------------

/// What to do after a status query of a running task failed.
struct PollErrorDecision {
  enum class Action {
    fail_task,  ///< permanent: feed `event` (remote_failed, not retryable), free the slot
    wait,       ///< wait `delay`, then query again (after throttling the
                ///< profile for `throttle_for` when set)
  };
  Action action = Action::wait;
  /// For fail_task: remote_failed.
  std::optional<JobEvent> event;
  /// For wait: the wait before the next query (the poll schedule's own delay
  /// comes on top, as in the engine's loop).
  std::chrono::milliseconds delay{0};
  /// rate_limited: hold every request of the profile for this long.
  std::optional<std::chrono::milliseconds> throttle_for;
};

/// After a status query failed with `cls`. `consecutive_errors`: failed
/// queries in a row for this task, counting this one (>= 1, lower values
/// count as 1; the engine increments its counter before asking and resets it
/// on a good answer).
/// `schedule`: the profile's poll schedule.
/// - permanent: fail_task.
/// - otherwise wait backoff_delay(min(consecutive_errors,
///   poll_error_max_exponent), schedule.interval, schedule.max_interval *
///   poll_error_cap_factor, random01); rate_limited also sets throttle_for =
///   retry_after_or_backoff(retry_after, consecutive_errors, throttle_base,
///   throttle_cap, random01).
/// Never throws. Implements the error handling of the engine's poll_loop().
PollErrorDecision decide_poll_error(ErrorClass cls, int consecutive_errors, const PollSchedule& schedule,
                                    std::optional<std::chrono::milliseconds> retry_after, double random01,
                                    const ErrorPolicy& policy);

// ---- a failed remote task ---------------------------------------------------------

/// What a profile does with a remote task that failed (config
/// `on_remote_failure`; the default comes from the provider's registry
/// capability `remote_failures_free`).
enum class RemoteFailurePolicy {
  fail,      ///< the row fails (the failed task may have been charged)
  resubmit,  ///< the row is submitted again when the adapter calls the failure transient
};

/// Parses "fail" / "resubmit"; nullopt for anything else. Never throws.
std::optional<RemoteFailurePolicy> parse_remote_failure_policy(std::string_view text);

/// Whether a remote task failure is worth another (paid or free) submission:
/// true only when `policy` is resubmit and the adapter said the failure is
/// transient (`adapter_says_transient`, Provider::is_retryable_failure()).
/// The state machine then still applies max_attempts, and the store applies
/// max_submits_per_row. Issue 7, case 4: a provider whose document does not
/// say failed tasks are free defaults to fail. Never throws.
bool resubmit_remote_failure(RemoteFailurePolicy policy, bool adapter_says_transient);

/// Full-jitter backoff: uniform in [0, exp) where exp = min(cap, base *
/// 2^attempt) as in backoff_delay() (`attempt` < 0 counts as 0; saturates at
/// `cap`); `random01` in [0, 1). Returns whole milliseconds >= 0. Never
/// throws.
std::chrono::milliseconds full_jitter_delay(int attempt, std::chrono::milliseconds base,
                                            std::chrono::milliseconds cap, double random01);

/// The profile throttle after a 429: retry_after_or_backoff(retry_after,
/// attempt, throttle_base, throttle_cap, random01). Exposed for callers that
/// throttle outside the decisions above. Never throws.
std::chrono::milliseconds throttle_delay(std::optional<std::chrono::milliseconds> retry_after, int attempt,
                                         double random01, const ErrorPolicy& policy);

}  // namespace reelbatch
