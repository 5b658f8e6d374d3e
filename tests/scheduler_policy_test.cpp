// Unit tests of scheduler/error_policy: every branch of every decision the
// engine takes after a failed call, with exact delays for fixed random
// inputs (0.0: the lower bound of the jitter, 0.999: near its upper bound).
// Pure logic: no sockets, no sleeping.
#include "scheduler/error_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Call = CallDecision::Action;
using Upload = UploadFailureDecision::Action;
using Submit = SubmitFailureDecision::Action;
using Poll = PollErrorDecision::Action;

constexpr ErrorClass kAllClasses[] = {ErrorClass::retryable,     ErrorClass::rate_limited, ErrorClass::out_of_credit,
                                      ErrorClass::auth,          ErrorClass::permanent,    ErrorClass::unknown_outcome};

const ErrorPolicy kPolicy{};

// ---- the policy --------------------------------------------------------------

TEST(ErrorPolicy, DefaultsAreTheEnginesLongStandingValues) {
  const ErrorPolicy p;
  EXPECT_EQ(p.upload_attempts, 5);
  EXPECT_EQ(p.upload_call_base, 1s);
  EXPECT_EQ(p.upload_call_cap, 30s);
  EXPECT_EQ(p.upload_round_base, 5s);
  EXPECT_EQ(p.upload_round_cap, 120s);
  EXPECT_EQ(p.submit_retry_base, 2s);
  EXPECT_EQ(p.submit_retry_cap, 60s);
  EXPECT_EQ(p.reconcile_settle_max, 10s);
  EXPECT_EQ(p.throttle_base, 1s);
  EXPECT_EQ(p.throttle_cap, 60s);
  EXPECT_EQ(p.poll_error_max_exponent, 6);
  EXPECT_EQ(p.poll_error_cap_factor, 4);
  EXPECT_EQ(p.reconcile_pages, 20);
  EXPECT_EQ(p.reconcile_page_size, 50);
  EXPECT_EQ(p.reconcile_slack, 120s);
  EXPECT_EQ(p.list_attempts, 5);
  EXPECT_EQ(p.list_base, 1s);
  EXPECT_EQ(p.list_cap, 30s);
  EXPECT_EQ(p.refresh_attempts, 5);
  EXPECT_EQ(p.refresh_base, 1s);
  EXPECT_EQ(p.refresh_cap, 30s);
  EXPECT_EQ(p.download_base, 2s);
  EXPECT_EQ(p.download_cap, 300s);
}

TEST(ErrorPolicy, ThrottleDelay) {
  EXPECT_EQ(throttle_delay(std::nullopt, 0, 0.0, kPolicy), 500ms);
  EXPECT_EQ(throttle_delay(std::nullopt, 0, 0.999, kPolicy), 999ms);
  EXPECT_EQ(throttle_delay(std::nullopt, 3, 0.0, kPolicy), 4000ms);
  EXPECT_EQ(throttle_delay(std::nullopt, 20, 0.0, kPolicy), 30000ms);    // cap 60 s
  EXPECT_EQ(throttle_delay(std::nullopt, 20, 0.999, kPolicy), 59970ms);
  EXPECT_EQ(throttle_delay(2500ms, 20, 0.999, kPolicy), 2500ms);         // the server's wait wins
  EXPECT_EQ(throttle_delay(std::chrono::hours(1), 0, 0.0, kPolicy), kMaxRetryAfter);
}

// ---- upload calls --------------------------------------------------------------

TEST(DecideUploadCall, TransientClassesRetryWithBackoff) {
  for (auto cls : {ErrorClass::retryable, ErrorClass::rate_limited, ErrorClass::unknown_outcome}) {
    const auto d0 = decide_upload_call(cls, 0, std::nullopt, 0.0, kPolicy);
    EXPECT_EQ(d0.action, Call::retry) << to_string(cls);
    EXPECT_EQ(d0.delay, 500ms);
    EXPECT_FALSE(d0.refresh_urls);
    EXPECT_EQ(decide_upload_call(cls, 0, std::nullopt, 0.999, kPolicy).delay, 999ms);
    EXPECT_EQ(decide_upload_call(cls, 3, std::nullopt, 0.0, kPolicy).delay, 4000ms);
    EXPECT_EQ(decide_upload_call(cls, 3, std::nullopt, 0.999, kPolicy).delay, 7996ms);
  }
}

TEST(DecideUploadCall, RetryAfterWinsAndIsCapped) {
  EXPECT_EQ(decide_upload_call(ErrorClass::rate_limited, 0, 7000ms, 0.0, kPolicy).delay, 7000ms);
  EXPECT_EQ(decide_upload_call(ErrorClass::rate_limited, 0, std::chrono::hours(2), 0.0, kPolicy).delay,
            kMaxRetryAfter);
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 1, 0ms, 0.5, kPolicy).delay, 0ms);
}

TEST(DecideUploadCall, CapIsThirtySeconds) {
  ErrorPolicy p;
  p.upload_attempts = 100;
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 5, std::nullopt, 0.0, p).delay, 15000ms);
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 5, std::nullopt, 0.999, p).delay, 29985ms);
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 60, std::nullopt, 0.999, p).delay, 29985ms);
}

TEST(DecideUploadCall, GivesUpOnTheFifthFailedCall) {
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 3, std::nullopt, 0.0, kPolicy).action, Call::retry);
  const auto last = decide_upload_call(ErrorClass::retryable, 4, std::nullopt, 0.0, kPolicy);
  EXPECT_EQ(last.action, Call::give_up);
  EXPECT_EQ(last.delay, 0ms);
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 9, std::nullopt, 0.0, kPolicy).action, Call::give_up);
}

TEST(DecideUploadCall, OtherClassesGiveUpAtOnce) {
  for (auto cls : {ErrorClass::permanent, ErrorClass::auth, ErrorClass::out_of_credit})
    EXPECT_EQ(decide_upload_call(cls, 0, 1000ms, 0.0, kPolicy).action, Call::give_up) << to_string(cls);
}

TEST(DecideUploadCall, AttemptsBelowOneMeanOneCall) {
  ErrorPolicy p;
  p.upload_attempts = 0;
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 0, std::nullopt, 0.0, p).action, Call::give_up);
  p.upload_attempts = 2;
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 0, std::nullopt, 0.0, p).action, Call::retry);
  EXPECT_EQ(decide_upload_call(ErrorClass::retryable, 1, std::nullopt, 0.0, p).action, Call::give_up);
}

// ---- upload rounds ---------------------------------------------------------------

TEST(DecideUploadFailure, AuthAndCreditPauseTheProfile) {
  for (auto cls : {ErrorClass::auth, ErrorClass::out_of_credit}) {
    for (int rounds : {0, 2, 50}) {
      const auto d = decide_upload_failure(cls, rounds, 0.5, kPolicy);
      EXPECT_EQ(d.action, Upload::pause_profile) << to_string(cls);
      EXPECT_EQ(d.event, JobEvent::paused);
      EXPECT_EQ(d.delay, 0ms);
      EXPECT_FALSE(d.counts_round);
      EXPECT_EQ(d.message_prefix, "");
    }
  }
}

TEST(DecideUploadFailure, PermanentFailsTheRowWithThePlainMessage) {
  const auto d = decide_upload_failure(ErrorClass::permanent, 0, 0.5, kPolicy);
  EXPECT_EQ(d.action, Upload::fail_row);
  EXPECT_EQ(d.event, JobEvent::submit_rejected_permanent);
  EXPECT_FALSE(d.counts_round);
  EXPECT_EQ(d.message_prefix, "");
}

TEST(DecideUploadFailure, TransientRoundsRequeueWithFullJitterForever) {
  // Issue 7, case 2: a transient upload fault never fails the row.
  for (auto cls : {ErrorClass::retryable, ErrorClass::rate_limited, ErrorClass::unknown_outcome}) {
    const auto first = decide_upload_failure(cls, 0, 0.0, kPolicy);
    EXPECT_EQ(first.action, Upload::requeue) << to_string(cls);
    EXPECT_EQ(first.event, JobEvent::submit_rejected_retryable);
    EXPECT_TRUE(first.counts_round);
    EXPECT_EQ(first.message_prefix, "will retry: ");
    EXPECT_EQ(first.delay, 0ms);  // full jitter over [0, 5 s)
    EXPECT_EQ(decide_upload_failure(cls, 0, 0.5, kPolicy).delay, 2500ms);
    EXPECT_EQ(decide_upload_failure(cls, 1, 0.5, kPolicy).delay, 5000ms);  // exp 10 s
    for (int rounds : {2, 10, 100, 100000}) {
      const auto d = decide_upload_failure(cls, rounds, 0.999, kPolicy);
      EXPECT_EQ(d.action, Upload::requeue) << rounds;
      EXPECT_LE(d.delay, 120000ms) << rounds;
    }
  }
}

TEST(DecideUploadFailure, RoundCapIsTwoMinutes) {
  EXPECT_EQ(decide_upload_failure(ErrorClass::retryable, 10, 0.5, kPolicy).delay, 60000ms);
  EXPECT_EQ(decide_upload_failure(ErrorClass::retryable, 10, 0.999, kPolicy).delay, 119880ms);
}

// ---- submit ------------------------------------------------------------------------

TEST(DecideSubmitFailure, UnknownOutcomeReconcilesAfterTheSettleWait) {
  const auto d = decide_submit_failure(ErrorClass::unknown_outcome, 3, 1, std::nullopt, 30s, 0.5, kPolicy);
  EXPECT_EQ(d.action, Submit::reconcile);
  EXPECT_EQ(d.event, std::nullopt);
  EXPECT_EQ(d.attempt_outcome, "unknown");
  EXPECT_EQ(d.delay, 10s);  // min(request_timeout, 10 s)
  EXPECT_EQ(d.throttle_for, std::nullopt);
  EXPECT_FALSE(d.pause_profile);
  EXPECT_FALSE(d.counts_transient_try);
  EXPECT_EQ(d.message_prefix, "");
  EXPECT_EQ(decide_submit_failure(ErrorClass::unknown_outcome, 0, 0, 5s, 4s, 0.5, kPolicy).delay, 4s);
  EXPECT_EQ(decide_submit_failure(ErrorClass::unknown_outcome, 0, 0, std::nullopt, 10s, 0.5, kPolicy).delay, 10s);
  EXPECT_EQ(decide_submit_failure(ErrorClass::unknown_outcome, 0, 0, std::nullopt, -5s, 0.5, kPolicy).delay, 0ms);
}

TEST(DecideSubmitFailure, RateLimitedThrottlesTheProfileAndRequeuesNow) {
  const auto d = decide_submit_failure(ErrorClass::rate_limited, 0, 0, std::nullopt, 30s, 0.0, kPolicy);
  EXPECT_EQ(d.action, Submit::requeue);
  EXPECT_EQ(d.event, JobEvent::submit_throttled);
  EXPECT_EQ(d.attempt_outcome, "rejected");
  EXPECT_EQ(d.delay, 0ms);
  EXPECT_EQ(d.throttle_for, 500ms);  // backoff_delay(job_attempts = 0, 1 s, 60 s)
  EXPECT_FALSE(d.pause_profile);
  EXPECT_FALSE(d.counts_transient_try);
  EXPECT_EQ(d.message_prefix, "");
  EXPECT_EQ(decide_submit_failure(ErrorClass::rate_limited, 0, 2, std::nullopt, 30s, 0.999, kPolicy).throttle_for,
            3998ms);
  EXPECT_EQ(decide_submit_failure(ErrorClass::rate_limited, 5, 2, 3000ms, 30s, 0.999, kPolicy).throttle_for,
            3000ms);
  EXPECT_EQ(decide_submit_failure(ErrorClass::rate_limited, 0, 30, std::nullopt, 30s, 0.0, kPolicy).throttle_for,
            30000ms);
}

TEST(DecideSubmitFailure, AuthAndCreditPauseTheProfileAndRequeueNow) {
  for (auto cls : {ErrorClass::auth, ErrorClass::out_of_credit}) {
    const auto d = decide_submit_failure(cls, 9, 2, 5000ms, 30s, 0.5, kPolicy);
    EXPECT_EQ(d.action, Submit::requeue) << to_string(cls);
    EXPECT_EQ(d.event, JobEvent::submit_throttled);
    EXPECT_EQ(d.attempt_outcome, "rejected");
    EXPECT_EQ(d.delay, 0ms);
    EXPECT_EQ(d.throttle_for, std::nullopt);
    EXPECT_TRUE(d.pause_profile);
    EXPECT_FALSE(d.counts_transient_try);
    EXPECT_EQ(d.message_prefix, "");
  }
}

TEST(DecideSubmitFailure, Case2_RetryableRequeuesWithFullJitterAndNeverFails) {
  const auto first = decide_submit_failure(ErrorClass::retryable, 0, 0, std::nullopt, 30s, 0.5, kPolicy);
  EXPECT_EQ(first.action, Submit::requeue);
  EXPECT_EQ(first.event, JobEvent::submit_throttled);
  EXPECT_EQ(first.attempt_outcome, "rejected");
  EXPECT_EQ(first.delay, 1000ms);  // full jitter over [0, 2 s)
  EXPECT_EQ(first.throttle_for, std::nullopt);
  EXPECT_FALSE(first.pause_profile);
  EXPECT_TRUE(first.counts_transient_try);
  EXPECT_EQ(first.message_prefix, "will retry: ");
  EXPECT_EQ(decide_submit_failure(ErrorClass::retryable, 0, 0, std::nullopt, 30s, 0.0, kPolicy).delay, 0ms);
  EXPECT_EQ(decide_submit_failure(ErrorClass::retryable, 2, 0, std::nullopt, 30s, 0.5, kPolicy).delay, 4000ms);
  // Retry-After is not consulted for a transient submit error.
  EXPECT_EQ(decide_submit_failure(ErrorClass::retryable, 2, 0, 50ms, 30s, 0.5, kPolicy).delay, 4000ms);
  // The tenth, the hundredth, the millionth: still a requeue, capped at 60 s.
  for (int tries : {9, 10, 99, 1000000}) {
    const auto d = decide_submit_failure(ErrorClass::retryable, tries, 0, std::nullopt, 30s, 0.999, kPolicy);
    EXPECT_EQ(d.action, Submit::requeue) << tries;
    EXPECT_EQ(d.delay, 59940ms) << tries;
  }
}

TEST(FullJitterDelay, UniformBelowTheCappedExponential) {
  EXPECT_EQ(full_jitter_delay(0, 1s, 60s, 0.0), 0ms);
  EXPECT_EQ(full_jitter_delay(0, 1s, 60s, 0.5), 500ms);
  EXPECT_EQ(full_jitter_delay(3, 1s, 60s, 0.5), 4000ms);
  EXPECT_EQ(full_jitter_delay(30, 1s, 60s, 0.5), 30000ms);
  EXPECT_LT(full_jitter_delay(30, 1s, 60s, 1.0), 60000ms);
  EXPECT_EQ(full_jitter_delay(-4, 1s, 60s, 0.5), 500ms);
  EXPECT_EQ(full_jitter_delay(2, 1s, 60s, -1.0), 0ms);
}

TEST(RemoteFailurePolicy, Case4_ResubmitOnlyWhenThePolicySaysSoAndTheFailureIsTransient) {
  EXPECT_EQ(parse_remote_failure_policy("fail"), RemoteFailurePolicy::fail);
  EXPECT_EQ(parse_remote_failure_policy("resubmit"), RemoteFailurePolicy::resubmit);
  EXPECT_EQ(parse_remote_failure_policy("Resubmit"), std::nullopt);
  EXPECT_EQ(parse_remote_failure_policy(""), std::nullopt);
  EXPECT_TRUE(resubmit_remote_failure(RemoteFailurePolicy::resubmit, true));
  EXPECT_FALSE(resubmit_remote_failure(RemoteFailurePolicy::resubmit, false));
  EXPECT_FALSE(resubmit_remote_failure(RemoteFailurePolicy::fail, true));
  EXPECT_FALSE(resubmit_remote_failure(RemoteFailurePolicy::fail, false));
}

TEST(DecideSubmitFailure, PermanentFailsTheRow) {
  const auto d = decide_submit_failure(ErrorClass::permanent, 4, 1, 1000ms, 30s, 0.5, kPolicy);
  EXPECT_EQ(d.action, Submit::fail_row);
  EXPECT_EQ(d.event, JobEvent::submit_rejected_permanent);
  EXPECT_EQ(d.attempt_outcome, "rejected");
  EXPECT_EQ(d.throttle_for, std::nullopt);
  EXPECT_FALSE(d.pause_profile);
  EXPECT_FALSE(d.counts_transient_try);
  EXPECT_EQ(d.message_prefix, "");
}

TEST(DecideSubmitFailure, OnlyUnknownOutcomeLeavesTheStateAlone) {
  for (auto cls : kAllClasses) {
    const auto d = decide_submit_failure(cls, 0, 0, std::nullopt, 30s, 0.5, kPolicy);
    EXPECT_EQ(d.event.has_value(), cls != ErrorClass::unknown_outcome) << to_string(cls);
    EXPECT_EQ(d.attempt_outcome, cls == ErrorClass::unknown_outcome ? "unknown" : "rejected") << to_string(cls);
  }
}

// ---- status queries -------------------------------------------------------------------

TEST(DecidePollError, PermanentFailsTheTask) {
  const auto d = decide_poll_error(ErrorClass::permanent, 1, PollSchedule{}, std::nullopt, 0.5, kPolicy);
  EXPECT_EQ(d.action, Poll::fail_task);
  EXPECT_EQ(d.event, JobEvent::remote_failed);
  EXPECT_EQ(d.delay, 0ms);
  EXPECT_EQ(d.throttle_for, std::nullopt);
}

TEST(DecidePollError, OtherClassesWaitWithBackoffOnThePollInterval) {
  const PollSchedule s{5000ms, 5000ms, 10000ms};  // backoff base 5 s, cap 40 s
  for (auto cls : {ErrorClass::retryable, ErrorClass::auth, ErrorClass::out_of_credit, ErrorClass::unknown_outcome}) {
    const auto d = decide_poll_error(cls, 1, s, 1000ms, 0.0, kPolicy);
    EXPECT_EQ(d.action, Poll::wait) << to_string(cls);
    EXPECT_EQ(d.event, std::nullopt);
    EXPECT_EQ(d.delay, 5000ms);  // backoff_delay(1, 5 s, 40 s): exp 10 s
    EXPECT_EQ(d.throttle_for, std::nullopt);
    EXPECT_EQ(decide_poll_error(cls, 1, s, std::nullopt, 0.999, kPolicy).delay, 9995ms);
    EXPECT_EQ(decide_poll_error(cls, 2, s, std::nullopt, 0.0, kPolicy).delay, 10000ms);
    EXPECT_EQ(decide_poll_error(cls, 3, s, std::nullopt, 0.0, kPolicy).delay, 20000ms);
    EXPECT_EQ(decide_poll_error(cls, 3, s, std::nullopt, 0.999, kPolicy).delay, 39980ms);
    EXPECT_EQ(decide_poll_error(cls, 50, s, std::nullopt, 0.999, kPolicy).delay, 39980ms);
  }
}

TEST(DecidePollError, ExponentStopsGrowingAtSix) {
  const PollSchedule s{100ms, 100ms, 100000ms};  // cap 400 s, out of reach
  EXPECT_EQ(decide_poll_error(ErrorClass::retryable, 5, s, std::nullopt, 0.0, kPolicy).delay, 1600ms);
  EXPECT_EQ(decide_poll_error(ErrorClass::retryable, 6, s, std::nullopt, 0.0, kPolicy).delay, 3200ms);
  EXPECT_EQ(decide_poll_error(ErrorClass::retryable, 7, s, std::nullopt, 0.0, kPolicy).delay, 3200ms);
  EXPECT_EQ(decide_poll_error(ErrorClass::retryable, 1000, s, std::nullopt, 0.999, kPolicy).delay, 6396ms);
  // Counts below 1 count as one error.
  EXPECT_EQ(decide_poll_error(ErrorClass::retryable, 0, s, std::nullopt, 0.0, kPolicy).delay, 100ms);
}

TEST(DecidePollError, RateLimitedAlsoThrottlesTheProfile) {
  const PollSchedule s{5000ms, 5000ms, 10000ms};
  const auto d = decide_poll_error(ErrorClass::rate_limited, 2, s, std::nullopt, 0.0, kPolicy);
  EXPECT_EQ(d.action, Poll::wait);
  EXPECT_EQ(d.delay, 10000ms);
  EXPECT_EQ(d.throttle_for, 2000ms);  // backoff_delay(2, 1 s, 60 s): exp 4 s
  EXPECT_EQ(decide_poll_error(ErrorClass::rate_limited, 2, s, std::nullopt, 0.999, kPolicy).throttle_for, 3998ms);
  const auto server = decide_poll_error(ErrorClass::rate_limited, 2, s, 1500ms, 0.0, kPolicy);
  EXPECT_EQ(server.throttle_for, 1500ms);
  EXPECT_EQ(server.delay, 10000ms);  // the query's own backoff ignores Retry-After
}

// ---- task list, URL refresh, download ----------------------------------------------------

TEST(DecideListCall, PermanentAndAuthGiveUp) {
  for (auto cls : {ErrorClass::permanent, ErrorClass::auth})
    EXPECT_EQ(decide_list_call(cls, 0, std::nullopt, 0.0, kPolicy).action, Call::give_up) << to_string(cls);
}

TEST(DecideListCall, EveryOtherClassRetriesUpToFiveCalls) {
  for (auto cls : {ErrorClass::retryable, ErrorClass::rate_limited, ErrorClass::out_of_credit,
                   ErrorClass::unknown_outcome}) {
    const auto d = decide_list_call(cls, 0, std::nullopt, 0.0, kPolicy);
    EXPECT_EQ(d.action, Call::retry) << to_string(cls);
    EXPECT_EQ(d.delay, 500ms);
    EXPECT_EQ(decide_list_call(cls, 0, std::nullopt, 0.999, kPolicy).delay, 999ms);
    EXPECT_EQ(decide_list_call(cls, 3, std::nullopt, 0.0, kPolicy).action, Call::retry);
    EXPECT_EQ(decide_list_call(cls, 3, std::nullopt, 0.0, kPolicy).delay, 4000ms);
    EXPECT_EQ(decide_list_call(cls, 4, std::nullopt, 0.0, kPolicy).action, Call::give_up);
  }
}

TEST(DecideListCall, RetryAfterWinsAndTheCapIsThirtySeconds) {
  EXPECT_EQ(decide_list_call(ErrorClass::rate_limited, 1, 9000ms, 0.0, kPolicy).delay, 9000ms);
  ErrorPolicy p;
  p.list_attempts = 20;
  EXPECT_EQ(decide_list_call(ErrorClass::retryable, 6, std::nullopt, 0.0, p).delay, 15000ms);
  EXPECT_EQ(decide_list_call(ErrorClass::retryable, 6, std::nullopt, 0.999, p).delay, 29985ms);
}

TEST(DecideRefreshCall, RetriesUnlessPermanentUpToFiveQueries) {
  // nullopt: the query answered, but the task shows no fresh links.
  for (std::optional<ErrorClass> e : {std::optional<ErrorClass>{}, std::optional{ErrorClass::retryable},
                                      std::optional{ErrorClass::rate_limited}, std::optional{ErrorClass::auth},
                                      std::optional{ErrorClass::out_of_credit},
                                      std::optional{ErrorClass::unknown_outcome}}) {
    const auto d = decide_refresh_call(e, 0, 0.0, kPolicy);
    EXPECT_EQ(d.action, Call::retry);
    EXPECT_EQ(d.delay, 500ms);
    EXPECT_FALSE(d.refresh_urls);
    EXPECT_EQ(decide_refresh_call(e, 3, 0.999, kPolicy).delay, 7996ms);
    EXPECT_EQ(decide_refresh_call(e, 4, 0.0, kPolicy).action, Call::give_up);
  }
  EXPECT_EQ(decide_refresh_call(ErrorClass::permanent, 0, 0.0, kPolicy).action, Call::give_up);
  ErrorPolicy p;
  p.refresh_attempts = 20;
  EXPECT_EQ(decide_refresh_call(std::nullopt, 10, 0.0, p).delay, 15000ms);  // cap 30 s
}

// decide_download_call: tests/scheduler_download_test.cpp.

}  // namespace
}  // namespace reelbatch
