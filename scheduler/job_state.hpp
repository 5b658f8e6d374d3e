// The job state machine: `state + event -> next state`, with no I/O (in the
// manner of Boost.MySQL's sansio_connection_node). The engine performs the
// side effects and feeds the outcomes back as events; every transition is
// committed to the store before the next side effect starts.
// Implements DESIGN.md, "Invariants" 1 (nothing lost) and 2 (never pay twice),
// and "Data flow".
#pragma once

#include "src/core/job_state.hpp"

#include <optional>
#include <string_view>

namespace reelbatch {

/// What happened to a job. See next_state() for which state accepts which.
enum class JobEvent {
  admit,                      ///< the lane gave the job a slot
  assets_ready,               ///< uploads done, intent recorded, submit POST starts
  submit_accepted,            ///< the provider returned a task id
  submit_rejected_retryable,  ///< the submit (or an upload) failed and may be tried again
  submit_rejected_permanent,  ///< the submit (or an upload) was rejected for good
  submit_throttled,           ///< the provider refused the submit before creating a task
                              ///< (429 rate limit, auth failure, out of credit): nothing
                              ///< was created or paid, the attempt is not counted
  submit_outcome_unknown,     ///< the submit response was lost (timeout, reset)
  reconciled_found,           ///< the provider's task list shows the lost submit's task
  reconciled_absent,          ///< the task list proves the lost submit created nothing
  reconcile_inconclusive,     ///< the task list cannot settle it (none, unreadable, ambiguous)
  remote_succeeded,           ///< the remote task finished with outputs
  remote_failed,              ///< the remote task failed (or a permanent query error)
  download_done,              ///< every output on disk
  download_failed,            ///< the outputs could not be fetched
  url_expired,                ///< an output URL expired: re-query the task for fresh links
  cancel,                     ///< the user (or the provider) cancelled the job
  release_held_resubmit,      ///< `reelbatch resolve --resubmit` on a held job
  release_held_fail,          ///< `reelbatch resolve --fail` on a held job
  paused,                     ///< the profile is out of credit or its auth failed: back to pending
  retry,                      ///< `reelbatch retry` on a failed or cancelled job whose task was not
                              ///< paid for (or never created): submit it again
  retry_download,             ///< `reelbatch retry` on a failed or cancelled job whose remote task
                              ///< succeeded (paid): fetch its outputs again, never resubmit
  download_expired,           ///< the outputs could not be fetched before the URL deadline
                              ///< (transient failures until then): the paid clip is lost
  internal_error,             ///< an exception ended the job's coroutine (a bug or an unusable
                              ///< value): the job fails with the exception's message (issue 7, case 8)
};

/// Facts about the job that some transitions depend on.
struct JobContext {
  /// Submissions already made whose outcome was known to have failed
  /// (rejected, or the remote task failed). Range 0..max_attempts.
  int attempts = 0;
  /// Submissions allowed per job while earlier ones are known failed, >= 1
  /// (ProfileConfig::max_attempts). Values below 1 behave as 1.
  int max_attempts = 3;
  /// For remote_failed only: the provider's failure is worth another
  /// submission (e.g. a transient generation error, not a content rejection).
  bool remote_failure_retryable = false;
};

/// The outcome of a legal event.
struct Transition {
  JobState next;
  /// True when this transition consumes an attempt: a submission's outcome
  /// just became known-failed. The caller then stores attempts + 1. It is set
  /// also when the job fails because the attempts ran out.
  bool counts_attempt = false;
};

/// The state machine. Returns the next state for event `e` in state `s`, or
/// nullopt when `e` is illegal in `s` (the caller logs it and changes
/// nothing). Pure; never throws.
///
/// | state       | event                                    | next                                          | attempt |
/// |-------------|------------------------------------------|-----------------------------------------------|---------|
/// | pending     | admit                                    | uploading                                     |         |
/// | pending     | paused                                   | pending                                       |         |
/// | uploading   | assets_ready                             | submitting                                    |         |
/// | uploading   | submit_rejected_retryable (upload error) | pending                                       |         |
/// | uploading   | submit_rejected_permanent (upload error) | failed                                        |         |
/// | uploading   | paused                                   | pending                                       |         |
/// | uploading   | reconcile_inconclusive (submit ceiling reached, an earlier outcome unknown) | held |   |
/// | submitting  | submit_accepted                          | running                                       |         |
/// | submitting  | submit_rejected_retryable                | pending if attempts+1 < max_attempts, else failed | yes |
/// | submitting  | submit_rejected_permanent                | failed                                        | yes     |
/// | submitting  | submit_throttled                         | pending                                       |         |
/// | submitting  | submit_outcome_unknown                   | submitting (to be reconciled)                 |         |
/// | submitting  | reconciled_found                         | running                                       |         |
/// | submitting  | reconciled_absent                        | pending (nothing was paid)                    |         |
/// | submitting  | reconcile_inconclusive                   | held                                          |         |
/// | running     | remote_succeeded                         | downloading                                   |         |
/// | running     | remote_failed                            | pending if remote_failure_retryable and attempts+1 < max_attempts, else failed | yes |
/// | downloading | download_done                            | succeeded                                     |         |
/// | downloading | download_failed (permanent cause only)   | failed                                        |         |
/// | downloading | download_expired                         | expired                                       |         |
/// | downloading | url_expired                              | downloading (re-query the task)               |         |
/// | held        | release_held_resubmit                    | pending                                       |         |
/// | held        | release_held_fail                        | failed                                        |         |
/// | non-terminal| cancel                                   | cancelled                                     |         |
/// | non-terminal| internal_error                           | failed                                        |         |
/// | failed, cancelled | retry                              | pending                                       |         |
/// | failed, cancelled | retry_download                     | downloading                                   |         |
/// | expired     | retry_download                           | downloading (fresh links; never resubmitted)  |         |
///
/// Terminal states accept no other event; succeeded accepts none.
std::optional<Transition> next_state(JobState s, JobEvent e, const JobContext& ctx);

/// The event's name ("admit", "assets_ready", ...), equal to the
/// enumerator's name, for logs and event records. Never null.
const char* to_string(JobEvent e);

}  // namespace reelbatch
