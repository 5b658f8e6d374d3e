// Unit tests of scheduler/job_state: the job state machine (every legal and
// illegal transition, attempt counting). Pure logic: no sockets, no sleeping.
#include "scheduler/job_state.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ============================================================================
// Job state machine
// ============================================================================

constexpr JobState kAllStates[] = {JobState::pending,   JobState::uploading, JobState::submitting,
                                   JobState::running,   JobState::downloading, JobState::succeeded,
                                   JobState::failed,    JobState::cancelled, JobState::held,
                                   JobState::expired};

constexpr JobEvent kAllEvents[] = {
    JobEvent::admit,
    JobEvent::assets_ready,
    JobEvent::submit_accepted,
    JobEvent::submit_rejected_retryable,
    JobEvent::submit_rejected_permanent,
    JobEvent::submit_throttled,
    JobEvent::submit_outcome_unknown,
    JobEvent::reconciled_found,
    JobEvent::reconciled_absent,
    JobEvent::reconcile_inconclusive,
    JobEvent::remote_succeeded,
    JobEvent::remote_failed,
    JobEvent::download_done,
    JobEvent::download_failed,
    JobEvent::url_expired,
    JobEvent::cancel,
    JobEvent::release_held_resubmit,
    JobEvent::release_held_fail,
    JobEvent::paused,
    JobEvent::retry,
    JobEvent::retry_download,
    JobEvent::download_expired,
    JobEvent::internal_error,
};

struct Legal {
  JobState from;
  JobEvent event;
  JobState to;
  bool counts_attempt;
};

// Every legal transition with a fresh context (attempts 0 of 3, remote
// failure not retryable). Anything not listed here must be illegal.
const std::vector<Legal>& legal_transitions() {
  static const std::vector<Legal> table = [] {
    std::vector<Legal> t{
        {JobState::pending, JobEvent::admit, JobState::uploading, false},
        {JobState::pending, JobEvent::paused, JobState::pending, false},
        {JobState::uploading, JobEvent::assets_ready, JobState::submitting, false},
        {JobState::uploading, JobEvent::submit_rejected_retryable, JobState::pending, false},
        {JobState::uploading, JobEvent::submit_rejected_permanent, JobState::failed, false},
        {JobState::uploading, JobEvent::paused, JobState::pending, false},
        // Issue 7: the submit ceiling reached while an earlier outcome is unknown.
        {JobState::uploading, JobEvent::reconcile_inconclusive, JobState::held, false},
        {JobState::submitting, JobEvent::submit_accepted, JobState::running, false},
        {JobState::submitting, JobEvent::submit_rejected_retryable, JobState::pending, true},
        {JobState::submitting, JobEvent::submit_rejected_permanent, JobState::failed, true},
        {JobState::submitting, JobEvent::submit_throttled, JobState::pending, false},
        {JobState::submitting, JobEvent::submit_outcome_unknown, JobState::submitting, false},
        {JobState::submitting, JobEvent::reconciled_found, JobState::running, false},
        {JobState::submitting, JobEvent::reconciled_absent, JobState::pending, false},
        {JobState::submitting, JobEvent::reconcile_inconclusive, JobState::held, false},
        {JobState::running, JobEvent::remote_succeeded, JobState::downloading, false},
        {JobState::running, JobEvent::remote_failed, JobState::failed, true},
        {JobState::downloading, JobEvent::download_done, JobState::succeeded, false},
        {JobState::downloading, JobEvent::download_failed, JobState::failed, false},
        {JobState::downloading, JobEvent::url_expired, JobState::downloading, false},
        {JobState::downloading, JobEvent::download_expired, JobState::expired, false},
        {JobState::expired, JobEvent::retry_download, JobState::downloading, false},
        {JobState::held, JobEvent::release_held_resubmit, JobState::pending, false},
        {JobState::held, JobEvent::release_held_fail, JobState::failed, false},
        {JobState::failed, JobEvent::retry, JobState::pending, false},
        {JobState::failed, JobEvent::retry_download, JobState::downloading, false},
        {JobState::cancelled, JobEvent::retry, JobState::pending, false},
        {JobState::cancelled, JobEvent::retry_download, JobState::downloading, false},
    };
    for (JobState s : kAllStates)
      if (!is_terminal(s)) {
        t.push_back({s, JobEvent::cancel, JobState::cancelled, false});
        t.push_back({s, JobEvent::internal_error, JobState::failed, false});  // issue 7, case 8
      }
    return t;
  }();
  return table;
}

std::string describe(JobState s, JobEvent e) { return std::string(to_string(s)) + " --" + to_string(e) + "-->"; }

TEST(JobState, EveryLegalTransition) {
  const JobContext ctx;  // attempts 0 of 3, remote failure not retryable
  for (const auto& l : legal_transitions()) {
    SCOPED_TRACE(describe(l.from, l.event));
    const auto t = next_state(l.from, l.event, ctx);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->next, l.to) << to_string(t->next);
    EXPECT_EQ(t->counts_attempt, l.counts_attempt);
  }
}

TEST(JobState, EveryOtherPairIsIllegal) {
  std::set<std::pair<JobState, JobEvent>> legal;
  for (const auto& l : legal_transitions()) legal.insert({l.from, l.event});
  int illegal = 0;
  for (JobState s : kAllStates) {
    for (JobEvent e : kAllEvents) {
      if (legal.contains({s, e})) continue;
      SCOPED_TRACE(describe(s, e));
      // Illegal whatever the context says.
      for (bool retryable : {false, true}) {
        for (int attempts : {0, 1, 5}) {
          EXPECT_FALSE(next_state(s, e, JobContext{attempts, 3, retryable}).has_value());
        }
      }
      ++illegal;
    }
  }
  EXPECT_EQ(illegal, 10 * 23 - static_cast<int>(legal_transitions().size()));
}

TEST(JobState, IllegalSamples) {
  const JobContext ctx;
  // Never submit from pending without the upload step, never skip polling.
  EXPECT_FALSE(next_state(JobState::pending, JobEvent::assets_ready, ctx));
  EXPECT_FALSE(next_state(JobState::pending, JobEvent::submit_accepted, ctx));
  EXPECT_FALSE(next_state(JobState::uploading, JobEvent::remote_succeeded, ctx));
  // A running or downloading job cannot be paused back to pending (it would
  // be submitted again).
  EXPECT_FALSE(next_state(JobState::submitting, JobEvent::paused, ctx));
  EXPECT_FALSE(next_state(JobState::running, JobEvent::paused, ctx));
  EXPECT_FALSE(next_state(JobState::downloading, JobEvent::paused, ctx));
  // Held jobs wait for an explicit decision.
  EXPECT_FALSE(next_state(JobState::held, JobEvent::admit, ctx));
  EXPECT_FALSE(next_state(JobState::held, JobEvent::reconciled_absent, ctx));
  EXPECT_FALSE(next_state(JobState::held, JobEvent::paused, ctx));
  // Releasing only applies to held jobs.
  EXPECT_FALSE(next_state(JobState::submitting, JobEvent::release_held_resubmit, ctx));
  EXPECT_FALSE(next_state(JobState::pending, JobEvent::release_held_fail, ctx));
  // Terminal states accept nothing, not even cancel, but an explicit retry
  // of a failed or cancelled job; a succeeded job accepts nothing at all.
  for (JobState s : {JobState::succeeded, JobState::failed, JobState::cancelled, JobState::expired})
    for (JobEvent e : kAllEvents) {
      if (s != JobState::succeeded && e == JobEvent::retry_download) continue;
      if ((s == JobState::failed || s == JobState::cancelled) && e == JobEvent::retry) continue;
      EXPECT_FALSE(next_state(s, e, ctx)) << describe(s, e);
    }
}

TEST(JobState, RetryableSubmitRejectionsConsumeAttempts) {
  for (int attempts = 0; attempts < 2; ++attempts) {
    const auto t = next_state(JobState::submitting, JobEvent::submit_rejected_retryable, JobContext{attempts, 3});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->next, JobState::pending) << attempts;
    EXPECT_TRUE(t->counts_attempt);
  }
  // The third known-failed submission of max_attempts = 3 is the last one.
  const auto last = next_state(JobState::submitting, JobEvent::submit_rejected_retryable, JobContext{2, 3});
  ASSERT_TRUE(last);
  EXPECT_EQ(last->next, JobState::failed);
  EXPECT_TRUE(last->counts_attempt);
  // Beyond the limit (e.g. the limit was lowered in the config): failed.
  EXPECT_EQ(next_state(JobState::submitting, JobEvent::submit_rejected_retryable, JobContext{7, 3})->next,
            JobState::failed);
}

TEST(JobState, MaxAttemptsOneOrLessNeverRetries) {
  for (int max : {1, 0, -4}) {
    const JobContext ctx{0, max, true};
    EXPECT_EQ(next_state(JobState::submitting, JobEvent::submit_rejected_retryable, ctx)->next, JobState::failed);
    EXPECT_EQ(next_state(JobState::running, JobEvent::remote_failed, ctx)->next, JobState::failed);
  }
}

TEST(JobState, RemoteFailureRetriesOnlyWhenRetryableAndAttemptsRemain) {
  const auto retry = next_state(JobState::running, JobEvent::remote_failed, JobContext{0, 3, true});
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->next, JobState::pending);
  EXPECT_TRUE(retry->counts_attempt);

  EXPECT_EQ(next_state(JobState::running, JobEvent::remote_failed, JobContext{1, 3, true})->next, JobState::pending);
  const auto exhausted = next_state(JobState::running, JobEvent::remote_failed, JobContext{2, 3, true});
  EXPECT_EQ(exhausted->next, JobState::failed);
  EXPECT_TRUE(exhausted->counts_attempt);

  const auto permanent = next_state(JobState::running, JobEvent::remote_failed, JobContext{0, 3, false});
  EXPECT_EQ(permanent->next, JobState::failed);
  EXPECT_TRUE(permanent->counts_attempt);
}

TEST(JobState, PermanentRejectionFailsAtOnce) {
  for (int attempts : {0, 1, 2}) {
    const auto t = next_state(JobState::submitting, JobEvent::submit_rejected_permanent, JobContext{attempts, 3, true});
    EXPECT_EQ(t->next, JobState::failed);
    EXPECT_TRUE(t->counts_attempt);
  }
}

TEST(JobState, NothingPaidMeansNoAttemptCounted) {
  // Paths back to pending on which no task was created: no attempt consumed,
  // whatever the count so far.
  const JobContext near_limit{2, 3, true};
  for (auto [s, e] : {std::pair{JobState::submitting, JobEvent::reconciled_absent},
                      std::pair{JobState::submitting, JobEvent::submit_throttled},
                      std::pair{JobState::uploading, JobEvent::submit_rejected_retryable},
                      std::pair{JobState::uploading, JobEvent::paused},
                      std::pair{JobState::held, JobEvent::release_held_resubmit}}) {
    const auto t = next_state(s, e, near_limit);
    ASSERT_TRUE(t) << describe(s, e);
    EXPECT_EQ(t->next, JobState::pending) << describe(s, e);
    EXPECT_FALSE(t->counts_attempt) << describe(s, e);
  }
}

TEST(JobState, UnknownOutcomeIsNeverResubmittedSilently) {
  // From `submitting`, the only ways back to `pending` are proofs that no
  // task exists or that the submit failed: never the unknown outcome itself.
  const JobContext ctx{0, 3, true};
  const auto stay = next_state(JobState::submitting, JobEvent::submit_outcome_unknown, ctx);
  ASSERT_TRUE(stay);
  EXPECT_EQ(stay->next, JobState::submitting);
  EXPECT_FALSE(stay->counts_attempt);
  EXPECT_EQ(next_state(JobState::submitting, JobEvent::reconcile_inconclusive, ctx)->next, JobState::held);
  // A held job leaves only by an explicit decision (or cancel, or an
  // internal error, which fails it: never back to pending).
  int exits = 0;
  for (JobEvent e : kAllEvents)
    if (next_state(JobState::held, e, ctx)) ++exits;
  EXPECT_EQ(exits, 4);
  EXPECT_EQ(next_state(JobState::held, JobEvent::internal_error, ctx)->next, JobState::failed);
}

TEST(JobState, SubmissionsPerJobNeverExceedMaxAttempts) {
  // Drive a job whose every submission fails retryably, as the engine does:
  // apply counts_attempt to the stored count after each transition.
  for (int max : {1, 2, 3, 5}) {
    for (JobEvent failure : {JobEvent::submit_rejected_retryable, JobEvent::remote_failed}) {
      JobState s = JobState::pending;
      JobContext ctx{0, max, true};
      int submissions = 0;
      for (int step = 0; step < 100 && !is_terminal(s); ++step) {
        auto apply = [&](JobEvent e) {
          const auto t = next_state(s, e, ctx);
          ASSERT_TRUE(t) << describe(s, e);
          if (t->counts_attempt) ++ctx.attempts;
          s = t->next;
        };
        apply(JobEvent::admit);
        apply(JobEvent::assets_ready);
        ++submissions;
        if (failure == JobEvent::remote_failed) apply(JobEvent::submit_accepted);
        apply(failure);
      }
      EXPECT_EQ(s, JobState::failed);
      EXPECT_EQ(submissions, max) << "max_attempts " << max << " via " << to_string(failure);
      EXPECT_EQ(ctx.attempts, max);
    }
  }
}

TEST(JobState, HappyPath) {
  const JobContext ctx;
  JobState s = JobState::pending;
  for (JobEvent e : {JobEvent::admit, JobEvent::assets_ready, JobEvent::submit_accepted, JobEvent::remote_succeeded,
                     JobEvent::url_expired, JobEvent::download_done}) {
    const auto t = next_state(s, e, ctx);
    ASSERT_TRUE(t) << describe(s, e);
    EXPECT_FALSE(t->counts_attempt);
    s = t->next;
  }
  EXPECT_EQ(s, JobState::succeeded);
}

TEST(JobState, TerminalAndSlotPredicates) {
  for (JobState s : kAllStates) {
    const bool terminal = s == JobState::succeeded || s == JobState::failed || s == JobState::cancelled ||
                          s == JobState::expired;
    EXPECT_EQ(is_terminal(s), terminal) << to_string(s);
    const bool slot = s == JobState::submitting || s == JobState::running;
    EXPECT_EQ(occupies_slot(s), slot) << to_string(s);
  }
}

TEST(JobState, NamesRoundTrip) {
  std::set<std::string> names;
  for (JobState s : kAllStates) {
    const std::string name = to_string(s);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(job_state_from_string(name), s) << name;
  }
  EXPECT_EQ(std::string(to_string(JobState::pending)), "pending");
  EXPECT_EQ(std::string(to_string(JobState::held)), "held");
  EXPECT_EQ(std::string(to_string(JobState::downloading)), "downloading");
  EXPECT_EQ(std::string(to_string(JobState::expired)), "expired");
  for (const char* bad : {"", "Pending", "PENDING", "pending ", "done", "unknown", "runnin"})
    EXPECT_FALSE(job_state_from_string(bad)) << '"' << bad << '"';
}

TEST(JobState, EventNamesAreDistinct) {
  std::set<std::string> names;
  for (JobEvent e : kAllEvents) {
    const std::string name = to_string(e);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(std::string(to_string(JobEvent::submit_outcome_unknown)), "submit_outcome_unknown");
  EXPECT_EQ(std::string(to_string(JobEvent::paused)), "paused");
}

}  // namespace
}  // namespace reelbatch
