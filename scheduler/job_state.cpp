#include "scheduler/job_state.hpp"

#include <array>
#include <utility>

namespace reelbatch {

namespace {

Transition to(JobState next, bool counts_attempt = false) { return Transition{next, counts_attempt}; }

// A submission's outcome is known-failed: retry while attempts remain.
Transition after_known_failure(const JobContext& ctx, bool retryable) {
  const int max_attempts = ctx.max_attempts < 1 ? 1 : ctx.max_attempts;
  const bool again = retryable && ctx.attempts + 1 < max_attempts;
  return to(again ? JobState::pending : JobState::failed, /*counts_attempt=*/true);
}

}  // namespace

std::optional<Transition> next_state(JobState s, JobEvent e, const JobContext& ctx) {
  if (s == JobState::failed || s == JobState::cancelled) {
    if (e == JobEvent::retry) return to(JobState::pending);
    if (e == JobEvent::retry_download) return to(JobState::downloading);
  }
  // An expired job's task was paid for: it may only be downloaded again.
  if (s == JobState::expired && e == JobEvent::retry_download) return to(JobState::downloading);
  if (is_terminal(s)) return std::nullopt;
  if (e == JobEvent::cancel) return to(JobState::cancelled);
  if (e == JobEvent::internal_error) return to(JobState::failed);

  switch (s) {
    case JobState::pending:
      switch (e) {
        case JobEvent::admit: return to(JobState::uploading);
        case JobEvent::paused: return to(JobState::pending);
        default: return std::nullopt;
      }
    case JobState::uploading:
      switch (e) {
        case JobEvent::assets_ready: return to(JobState::submitting);
        // Upload failures: nothing was submitted, so no attempt is consumed.
        case JobEvent::submit_rejected_retryable: return to(JobState::pending);
        case JobEvent::submit_rejected_permanent: return to(JobState::failed);
        case JobEvent::paused: return to(JobState::pending);
        // The submit ceiling is reached while an earlier submit's outcome is
        // still unknown: a task may exist and be paid, so hold, never fail.
        case JobEvent::reconcile_inconclusive: return to(JobState::held);
        default: return std::nullopt;
      }
    case JobState::submitting:
      switch (e) {
        case JobEvent::submit_accepted: return to(JobState::running);
        case JobEvent::submit_rejected_retryable: return after_known_failure(ctx, true);
        case JobEvent::submit_rejected_permanent: return after_known_failure(ctx, false);
        case JobEvent::submit_throttled: return to(JobState::pending);
        case JobEvent::submit_outcome_unknown: return to(JobState::submitting);
        case JobEvent::reconciled_found: return to(JobState::running);
        case JobEvent::reconciled_absent: return to(JobState::pending);
        case JobEvent::reconcile_inconclusive: return to(JobState::held);
        default: return std::nullopt;
      }
    case JobState::running:
      switch (e) {
        case JobEvent::remote_succeeded: return to(JobState::downloading);
        case JobEvent::remote_failed: return after_known_failure(ctx, ctx.remote_failure_retryable);
        default: return std::nullopt;
      }
    case JobState::downloading:
      switch (e) {
        case JobEvent::download_done: return to(JobState::succeeded);
        case JobEvent::download_failed: return to(JobState::failed);
        case JobEvent::url_expired: return to(JobState::downloading);
        case JobEvent::download_expired: return to(JobState::expired);
        default: return std::nullopt;
      }
    case JobState::held:
      switch (e) {
        case JobEvent::release_held_resubmit: return to(JobState::pending);
        case JobEvent::release_held_fail: return to(JobState::failed);
        default: return std::nullopt;
      }
    case JobState::succeeded:
    case JobState::failed:
    case JobState::cancelled:
    case JobState::expired:
      return std::nullopt;
  }
  return std::nullopt;
}

const char* to_string(JobEvent e) {
  switch (e) {
    case JobEvent::admit: return "admit";
    case JobEvent::assets_ready: return "assets_ready";
    case JobEvent::submit_accepted: return "submit_accepted";
    case JobEvent::submit_rejected_retryable: return "submit_rejected_retryable";
    case JobEvent::submit_rejected_permanent: return "submit_rejected_permanent";
    case JobEvent::submit_throttled: return "submit_throttled";
    case JobEvent::submit_outcome_unknown: return "submit_outcome_unknown";
    case JobEvent::reconciled_found: return "reconciled_found";
    case JobEvent::reconciled_absent: return "reconciled_absent";
    case JobEvent::reconcile_inconclusive: return "reconcile_inconclusive";
    case JobEvent::remote_succeeded: return "remote_succeeded";
    case JobEvent::remote_failed: return "remote_failed";
    case JobEvent::download_done: return "download_done";
    case JobEvent::download_failed: return "download_failed";
    case JobEvent::url_expired: return "url_expired";
    case JobEvent::cancel: return "cancel";
    case JobEvent::release_held_resubmit: return "release_held_resubmit";
    case JobEvent::release_held_fail: return "release_held_fail";
    case JobEvent::paused: return "paused";
    case JobEvent::retry: return "retry";
    case JobEvent::retry_download: return "retry_download";
    case JobEvent::download_expired: return "download_expired";
    case JobEvent::internal_error: return "internal_error";
  }
  return "unknown";
}

}  // namespace reelbatch
