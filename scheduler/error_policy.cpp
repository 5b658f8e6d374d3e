#include "scheduler/error_policy.hpp"

#include <algorithm>
#include <cmath>

namespace reelbatch {

using std::chrono::milliseconds;

namespace {

// Counts below 1 behave as 1 (one call, no retry).
int at_least_one(int n) { return std::max(1, n); }

CallDecision retry_after(milliseconds delay) {
  CallDecision d;
  d.action = CallDecision::Action::retry;
  d.delay = std::max(delay, milliseconds::zero());
  return d;
}

CallDecision give_up() { return CallDecision{}; }

// max_interval * factor without overflow (both >= 0 here).
milliseconds scaled(milliseconds d, int factor) {
  const auto rep = std::max<milliseconds::rep>(0, d.count());
  const auto f = std::max(1, factor);
  if (rep > milliseconds::max().count() / f) return milliseconds::max();
  return milliseconds(rep * f);
}

}  // namespace

milliseconds full_jitter_delay(int attempt, milliseconds base, milliseconds cap, double random01) {
  // backoff_delay() with random01 = 1 is exactly exp = min(cap, base * 2^attempt).
  const auto exp = backoff_delay(attempt, base, cap, 1.0);
  double r = random01;
  if (!(r >= 0.0)) r = 0.0;  // NaN and negatives
  if (r >= 1.0) r = std::nextafter(1.0, 0.0);
  return milliseconds(static_cast<milliseconds::rep>(static_cast<double>(exp.count()) * r));
}

std::optional<RemoteFailurePolicy> parse_remote_failure_policy(std::string_view text) {
  if (text == "fail") return RemoteFailurePolicy::fail;
  if (text == "resubmit") return RemoteFailurePolicy::resubmit;
  return std::nullopt;
}

bool resubmit_remote_failure(RemoteFailurePolicy policy, bool adapter_says_transient) {
  return policy == RemoteFailurePolicy::resubmit && adapter_says_transient;
}

milliseconds throttle_delay(std::optional<milliseconds> retry_after, int attempt, double random01,
                            const ErrorPolicy& policy) {
  return retry_after_or_backoff(retry_after, attempt, policy.throttle_base, policy.throttle_cap, random01);
}

CallDecision decide_upload_call(ErrorClass cls, int attempt, std::optional<milliseconds> retry_after_ms,
                                double random01, const ErrorPolicy& policy) {
  const bool transient =
      cls == ErrorClass::retryable || cls == ErrorClass::rate_limited || cls == ErrorClass::unknown_outcome;
  if (!transient || attempt + 1 >= at_least_one(policy.upload_attempts)) return give_up();
  return retry_after(retry_after_or_backoff(retry_after_ms, attempt, policy.upload_call_base,
                                            policy.upload_call_cap, random01));
}

CallDecision decide_list_call(ErrorClass cls, int attempt, std::optional<milliseconds> retry_after_ms,
                              double random01, const ErrorPolicy& policy) {
  if (cls == ErrorClass::permanent || cls == ErrorClass::auth) return give_up();
  if (attempt + 1 >= at_least_one(policy.list_attempts)) return give_up();
  return retry_after(retry_after_or_backoff(retry_after_ms, attempt, policy.list_base, policy.list_cap, random01));
}

CallDecision decide_refresh_call(std::optional<ErrorClass> error, int attempt, double random01,
                                 const ErrorPolicy& policy) {
  if (error == ErrorClass::permanent) return give_up();
  if (attempt + 1 >= at_least_one(policy.refresh_attempts)) return give_up();
  return retry_after(backoff_delay(attempt, policy.refresh_base, policy.refresh_cap, random01));
}

DownloadDecision decide_download_call(DownloadFailure failure, int attempt, std::int64_t now_ms,
                                      std::int64_t deadline_ms, double random01, const ErrorPolicy& policy) {
  DownloadDecision d;
  if (failure == DownloadFailure::gone) {
    d.action = DownloadDecision::Action::fail;
    return d;
  }
  if (now_ms >= deadline_ms) {
    d.action = DownloadDecision::Action::expire;
    return d;
  }
  // exp = min(cap, base * 2^attempt), without overflow.
  const auto cap = std::max(policy.download_cap, milliseconds::zero());
  auto exp = std::min(std::max(policy.download_base, milliseconds::zero()), cap);
  for (int i = 0; i < std::max(0, attempt) && exp < cap; ++i) exp = exp > cap / 2 ? cap : exp * 2;
  const double r = std::clamp(random01, 0.0, 1.0);
  auto delay = milliseconds(static_cast<milliseconds::rep>(r * static_cast<double>(exp.count())));
  delay = std::max(delay, std::max(policy.download_min_delay, milliseconds::zero()));
  delay = std::min(delay, milliseconds(deadline_ms - now_ms));
  d.action = DownloadDecision::Action::retry;
  d.delay = delay;
  d.refresh_urls = failure == DownloadFailure::link_rejected;
  return d;
}

UploadFailureDecision decide_upload_failure(ErrorClass cls, int rounds_done, double random01,
                                            const ErrorPolicy& policy) {
  UploadFailureDecision d;
  switch (cls) {
    case ErrorClass::auth:
    case ErrorClass::out_of_credit:
      d.action = UploadFailureDecision::Action::pause_profile;
      d.event = JobEvent::paused;
      return d;
    case ErrorClass::permanent:
      d.action = UploadFailureDecision::Action::fail_row;
      d.event = JobEvent::submit_rejected_permanent;
      return d;
    case ErrorClass::retryable:
    case ErrorClass::rate_limited:
    case ErrorClass::unknown_outcome:
      break;
  }
  const int rounds = std::max(0, rounds_done) + 1;
  d.counts_round = true;
  d.action = UploadFailureDecision::Action::requeue;
  d.event = JobEvent::submit_rejected_retryable;
  d.message_prefix = "will retry: ";
  d.delay = full_jitter_delay(rounds - 1, policy.upload_round_base, policy.upload_round_cap, random01);
  return d;
}

SubmitFailureDecision decide_submit_failure(ErrorClass cls, int transient_tries_done, int job_attempts,
                                            std::optional<milliseconds> retry_after_ms,
                                            milliseconds request_timeout, double random01,
                                            const ErrorPolicy& policy) {
  SubmitFailureDecision d;
  d.attempt_outcome = "rejected";
  switch (cls) {
    case ErrorClass::unknown_outcome:
      d.action = SubmitFailureDecision::Action::reconcile;
      d.attempt_outcome = "unknown";
      d.delay = std::max(std::min(request_timeout, policy.reconcile_settle_max), milliseconds::zero());
      return d;
    case ErrorClass::rate_limited:
      d.action = SubmitFailureDecision::Action::requeue;
      d.event = JobEvent::submit_throttled;
      d.throttle_for = throttle_delay(retry_after_ms, job_attempts, random01, policy);
      return d;
    case ErrorClass::auth:
    case ErrorClass::out_of_credit:
      d.action = SubmitFailureDecision::Action::requeue;
      d.event = JobEvent::submit_throttled;
      d.pause_profile = true;
      return d;
    case ErrorClass::retryable: {
      const int tries = std::max(0, transient_tries_done) + 1;
      d.counts_transient_try = true;
      d.action = SubmitFailureDecision::Action::requeue;
      d.event = JobEvent::submit_throttled;
      d.message_prefix = "will retry: ";
      d.delay = full_jitter_delay(tries - 1, policy.submit_retry_base, policy.submit_retry_cap, random01);
      return d;
    }
    case ErrorClass::permanent:
      break;
  }
  d.action = SubmitFailureDecision::Action::fail_row;
  d.event = JobEvent::submit_rejected_permanent;
  return d;
}

PollErrorDecision decide_poll_error(ErrorClass cls, int consecutive_errors, const PollSchedule& schedule,
                                    std::optional<milliseconds> retry_after_ms, double random01,
                                    const ErrorPolicy& policy) {
  PollErrorDecision d;
  if (cls == ErrorClass::permanent) {
    d.action = PollErrorDecision::Action::fail_task;
    d.event = JobEvent::remote_failed;
    return d;
  }
  const int errors = std::max(1, consecutive_errors);
  d.action = PollErrorDecision::Action::wait;
  if (cls == ErrorClass::rate_limited) d.throttle_for = throttle_delay(retry_after_ms, errors, random01, policy);
  d.delay = backoff_delay(std::min(errors, policy.poll_error_max_exponent), schedule.interval,
                          scaled(schedule.max_interval, policy.poll_error_cap_factor), random01);
  return d;
}

}  // namespace reelbatch
