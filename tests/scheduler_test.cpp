// Unit tests of scheduler/: the job state machine, token buckets, backoff,
// Retry-After, lane admission and download ordering. Pure logic: no sockets,
// no sleeping; time is a simulated clock passed in.
#include "scheduler/backoff.hpp"
#include "scheduler/download_queue.hpp"
#include "scheduler/job_state.hpp"
#include "scheduler/lane.hpp"
#include "scheduler/token_bucket.hpp"
#include "src/net/retry_after.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
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
                                   JobState::failed,    JobState::cancelled, JobState::held};

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
        {JobState::held, JobEvent::release_held_resubmit, JobState::pending, false},
        {JobState::held, JobEvent::release_held_fail, JobState::failed, false},
    };
    for (JobState s : kAllStates)
      if (!is_terminal(s)) t.push_back({s, JobEvent::cancel, JobState::cancelled, false});
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
  EXPECT_EQ(illegal, 9 * 19 - static_cast<int>(legal_transitions().size()));
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
  // Terminal states accept nothing, not even cancel.
  for (JobState s : {JobState::succeeded, JobState::failed, JobState::cancelled})
    for (JobEvent e : kAllEvents) EXPECT_FALSE(next_state(s, e, ctx)) << describe(s, e);
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
  // A held job leaves only by an explicit decision (or cancel).
  int exits = 0;
  for (JobEvent e : kAllEvents)
    if (next_state(JobState::held, e, ctx)) ++exits;
  EXPECT_EQ(exits, 3);
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
    const bool terminal = s == JobState::succeeded || s == JobState::failed || s == JobState::cancelled;
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

// ============================================================================
// Token bucket
// ============================================================================

using Tp = TokenBucket::time_point;
const Tp t0 = Tp{} + std::chrono::hours(1000);

TEST(TokenBucket, StartsFullThenSpacesGrantsByTheInterval) {
  TokenBucket b(60, 5, t0);  // one per second, burst 5
  EXPECT_DOUBLE_EQ(b.available(t0), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.reserve(t0), t0) << i;
  EXPECT_DOUBLE_EQ(b.available(t0), 0);
  EXPECT_EQ(b.reserve(t0), t0 + 1s);
  EXPECT_EQ(b.reserve(t0), t0 + 2s);
  EXPECT_EQ(b.reserve(t0), t0 + 3s);
  EXPECT_DOUBLE_EQ(b.available(t0), -3);  // in debt
  // A caller arriving later joins the end of the debt queue.
  EXPECT_EQ(b.reserve(t0 + 500ms), t0 + 4s);
}

TEST(TokenBucket, RefillsAtTheRateUpToCapacity) {
  TokenBucket b(120, 3, t0);  // one per 500 ms
  for (int i = 0; i < 3; ++i) b.reserve(t0);
  EXPECT_DOUBLE_EQ(b.available(t0 + 250ms), 0.5);
  EXPECT_DOUBLE_EQ(b.available(t0 + 1s), 2);
  EXPECT_DOUBLE_EQ(b.available(t0 + 1h), 3);  // never above capacity
  // Two tokens earned by t0 + 1 s: two immediate grants, then spacing.
  EXPECT_EQ(b.reserve(t0 + 1s), t0 + 1s);
  EXPECT_EQ(b.reserve(t0 + 1s), t0 + 1s);
  EXPECT_EQ(b.reserve(t0 + 1s), t0 + 1500ms);
  // After a long idle period the burst is capacity, not more.
  const Tp later = t0 + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.reserve(later), later);
  EXPECT_EQ(b.reserve(later), later + 500ms);
}

TEST(TokenBucket, FractionalTokenShortensTheWait) {
  TokenBucket b(60, 1, t0);
  EXPECT_EQ(b.reserve(t0), t0);
  // 0.25 tokens earned: the next grant waits the remaining 0.75 s.
  EXPECT_EQ(b.reserve(t0 + 250ms), t0 + 1s);
}

TEST(TokenBucket, SustainedRateMatchesConfig) {
  for (double rate : {1.0, 7.0, 60.0, 600.0, 3000.0}) {
    TokenBucket b(rate, 4, t0);
    Tp last{};
    const int n = 1000;
    for (int i = 0; i < n; ++i) last = b.reserve(t0);
    // n grants: 4 at once, then n - 4 intervals of 60/rate seconds (rounded
    // up to a nanosecond each).
    const double expected_s = (n - 4) * 60.0 / rate;
    const double got_s = std::chrono::duration<double>(last - t0).count();
    EXPECT_GE(got_s, expected_s) << rate;
    EXPECT_NEAR(got_s, expected_s, 1e-6 * n) << rate;
  }
}

TEST(TokenBucket, FractionalCapacityRoundsTheBurstDown) {
  TokenBucket b(60, 2.5, t0);
  EXPECT_EQ(b.reserve(t0), t0);
  EXPECT_EQ(b.reserve(t0), t0);
  EXPECT_EQ(b.reserve(t0), t0 + 500ms);  // the half token left
  EXPECT_EQ(b.reserve(t0), t0 + 1500ms);
}

TEST(TokenBucket, EarlierNowCountsAsTheLatestSeen) {
  TokenBucket b(60, 1, t0);
  EXPECT_EQ(b.reserve(t0 + 10s), t0 + 10s);
  // A stale clock reading does not let the caller proceed in the past.
  EXPECT_EQ(b.reserve(t0), t0 + 11s);
  EXPECT_DOUBLE_EQ(b.available(t0), -1);
}

TEST(TokenBucket, SetRateKeepsTheLevelAndChangesTheSpacing) {
  TokenBucket b(60, 2, t0);
  b.reserve(t0);
  b.reserve(t0);
  EXPECT_EQ(b.reserve(t0), t0 + 1s);  // debt 1 at 60/min
  b.set_rate(120, t0);                // debt 1 now takes 500 ms to pay back
  EXPECT_DOUBLE_EQ(b.rate_per_minute(), 120);
  EXPECT_DOUBLE_EQ(b.available(t0), -1);
  EXPECT_EQ(b.reserve(t0), t0 + 1s);  // 2 tokens of debt at 500 ms each
  EXPECT_EQ(b.reserve(t0), t0 + 1500ms);

  TokenBucket c(600, 10, t0);
  c.set_rate(6, t0 + 1s);
  EXPECT_DOUBLE_EQ(c.available(t0 + 1s), 10);  // still full, capacity unchanged
  for (int i = 0; i < 10; ++i) c.reserve(t0 + 1s);
  EXPECT_EQ(c.reserve(t0 + 1s), t0 + 11s);  // 10 s per token now
}

TEST(TokenBucket, RejectsBadParameters) {
  EXPECT_THROW(TokenBucket(0, 1, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(-5, 1, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(std::nan(""), 1, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(std::numeric_limits<double>::infinity(), 1, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(1e-12, 1, t0), std::invalid_argument);  // slower than one per 30 years
  EXPECT_THROW(TokenBucket(60, 0.5, t0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(60, std::nan(""), t0), std::invalid_argument);
  TokenBucket b(60, 1, t0);
  EXPECT_THROW(b.set_rate(0, t0), std::invalid_argument);
  EXPECT_DOUBLE_EQ(b.rate_per_minute(), 60);  // unchanged
  EXPECT_EQ(b.reserve(t0), t0);
  EXPECT_EQ(b.reserve(t0), t0 + 1s);
}

// The most grants whose proceed time falls in any closed window of length w.
// `grants` is sorted; the maximum is reached by a window starting at a grant.
std::size_t max_in_window(const std::vector<Tp>& grants, TokenBucket::clock::duration w) {
  std::size_t best = 0, hi = 0;
  for (std::size_t lo = 0; lo < grants.size(); ++lo) {
    hi = std::max(hi, lo);
    while (hi < grants.size() && grants[hi] - grants[lo] <= w) ++hi;
    best = std::max(best, hi - lo);
  }
  return best;
}

TEST(TokenBucket, WindowPropertyHoldsForRandomSequences) {
  std::mt19937_64 rng(20240601);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  int checked = 0;
  for (int seq = 0; seq < 300; ++seq) {
    const double rate = std::exp(std::log(0.5) + u01(rng) * (std::log(6000.0) - std::log(0.5)));  // 0.5..6000/min
    const double capacity = 1 + std::floor(u01(rng) * 8) + (u01(rng) < 0.3 ? u01(rng) : 0.0);
    const auto interval = std::chrono::duration<double>(60.0 / rate);
    SCOPED_TRACE("rate " + std::to_string(rate) + "/min, capacity " + std::to_string(capacity));

    TokenBucket b(rate, capacity, t0);
    Tp now = t0;
    std::vector<Tp> grants;
    for (int i = 0; i < 400; ++i) {
      // Arrivals: bursts at one instant, arrivals at about the rate, and idle gaps.
      const double pick = u01(rng);
      double gap_intervals = 0;
      if (pick < 0.4) gap_intervals = 0;
      else if (pick < 0.8) gap_intervals = u01(rng) * 2;
      else if (pick < 0.95) gap_intervals = u01(rng) * 20;
      else gap_intervals = 1000;
      now += std::chrono::duration_cast<TokenBucket::clock::duration>(interval * gap_intervals);
      const Tp p = b.reserve(now);
      EXPECT_GE(p, now);
      if (!grants.empty()) {
        EXPECT_GE(p, grants.back());  // proceed times never decrease
      }
      grants.push_back(p);
      // Sometimes the caller waits for its grant before the next arrival,
      // as the engine's single submit section does.
      if (u01(rng) < 0.3) now = std::max(now, p);
    }
    std::vector<double> windows_s{0.0, 1e-9, 60.0, 600.0, 3600.0};
    for (double k : {0.5, 1.0, 2.0, 3.0, 10.0, 37.5}) windows_s.push_back(interval.count() * k);
    for (int r = 0; r < 5; ++r) windows_s.push_back(u01(rng) * interval.count() * 50);
    for (double w_s : windows_s) {
      const auto w = std::chrono::duration_cast<TokenBucket::clock::duration>(std::chrono::duration<double>(w_s));
      const double bound = capacity + rate * std::chrono::duration<double>(w).count() / 60.0;
      const std::size_t got = max_in_window(grants, w);
      ASSERT_LE(static_cast<double>(got), bound + 1e-9) << "window " << w_s << " s";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 300 * 16);
}

TEST(TokenBucket, WindowPropertyIsTight) {
  // A full bucket drained at one instant, then grants every interval: a
  // window of k intervals starting at t0 holds capacity + k grants.
  TokenBucket b(60, 3, t0);
  std::vector<Tp> grants;
  for (int i = 0; i < 20; ++i) grants.push_back(b.reserve(t0));
  for (int k = 0; k < 10; ++k) EXPECT_EQ(max_in_window(grants, std::chrono::seconds(k)), 3u + k) << k;
}

// ============================================================================
// Backoff
// ============================================================================

TEST(Backoff, EqualJitterBounds) {
  const milliseconds base = 1000ms, cap = 60000ms;
  for (int attempt = 0; attempt < 40; ++attempt) {
    const std::int64_t exp = std::min<std::int64_t>(60000, 1000LL << std::min(attempt, 20));
    for (double r : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999999}) {
      const auto d = backoff_delay(attempt, base, cap, r);
      EXPECT_GE(d.count(), exp / 2) << attempt << " " << r;
      EXPECT_LE(d.count(), exp) << attempt << " " << r;
    }
    EXPECT_EQ(backoff_delay(attempt, base, cap, 0.0).count(), exp / 2) << attempt;  // the fixed half
    EXPECT_EQ(backoff_delay(attempt, base, cap, 0.5).count(), exp / 2 + exp / 4) << attempt;
  }
}

TEST(Backoff, GrowsExponentiallyUntilTheCap) {
  std::vector<std::int64_t> got;
  for (int a = 0; a < 9; ++a) got.push_back(backoff_delay(a, 100ms, 10000ms, 0.0).count());
  EXPECT_EQ(got, (std::vector<std::int64_t>{50, 100, 200, 400, 800, 1600, 3200, 5000, 5000}));
  // Upper end of the jitter reaches (nearly) the exponential value.
  EXPECT_EQ(backoff_delay(3, 100ms, 10000ms, 0.9999999).count(), 799);
  EXPECT_EQ(backoff_delay(3, 100ms, 10000ms, 1.0).count(), 800);  // clamped input
}

TEST(Backoff, EdgeInputs) {
  EXPECT_EQ(backoff_delay(-3, 1000ms, 60000ms, 0.0), backoff_delay(0, 1000ms, 60000ms, 0.0));
  EXPECT_EQ(backoff_delay(5, 0ms, 60000ms, 0.7), 0ms);
  EXPECT_EQ(backoff_delay(5, -10ms, 60000ms, 0.7), 0ms);
  EXPECT_EQ(backoff_delay(0, 5000ms, 1000ms, 0.0), 500ms);  // cap below base: the cap wins
  EXPECT_EQ(backoff_delay(3, 1000ms, 0ms, 0.9), 0ms);
  EXPECT_EQ(backoff_delay(0, 1000ms, 60000ms, -1.0), 500ms);           // clamped to 0
  EXPECT_EQ(backoff_delay(0, 1000ms, 60000ms, std::nan("")), 500ms);   // NaN counts as 0
  // No overflow for huge attempts, bases and caps.
  const milliseconds huge = milliseconds::max();
  EXPECT_EQ(backoff_delay(std::numeric_limits<int>::max(), 1000ms, 60000ms, 0.0), 30000ms);
  const auto d = backoff_delay(1000, milliseconds(huge.count() / 3), huge, 0.0);
  EXPECT_EQ(d.count(), huge.count() / 2);
}

TEST(Backoff, RandomizedBoundsAndMonotoneInTheRandomInput) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::uniform_int_distribution<int> attempt_d(0, 30);
  std::uniform_int_distribution<std::int64_t> base_d(1, 10000), cap_d(1, 600000);
  for (int i = 0; i < 20000; ++i) {
    const int a = attempt_d(rng);
    const milliseconds base(base_d(rng)), cap(cap_d(rng));
    const double r1 = u01(rng), r2 = u01(rng);
    const auto d1 = backoff_delay(a, base, cap, r1), d2 = backoff_delay(a, base, cap, r2);
    const double exp = std::min<double>(static_cast<double>(cap.count()), static_cast<double>(base.count()) * std::pow(2.0, a));
    EXPECT_GE(d1.count(), std::floor(exp / 2));
    EXPECT_LE(d1.count(), exp);
    EXPECT_LE(d1, cap);
    if (r1 <= r2) {
      EXPECT_LE(d1, d2);
    }
  }
}

TEST(PollSchedule, FirstWaitThenGrowingInterval) {
  const PollSchedule s{20000ms, 5000ms, 30000ms, 1.5};
  for (double r : {0.0, 0.5, 0.99}) EXPECT_EQ(next_poll_delay(s, 0, 0, r), 20000ms);
  // r = 0.5 means no jitter: interval * 1.5^n, capped.
  std::vector<std::int64_t> got;
  for (int n = 0; n < 8; ++n) got.push_back(next_poll_delay(s, n + 1, n, 0.5).count());
  EXPECT_EQ(got, (std::vector<std::int64_t>{5000, 7500, 11250, 16875, 25313, 30000, 30000, 30000}));
  // A state change resets the growth, whatever the number of polls done.
  EXPECT_EQ(next_poll_delay(s, 50, 0, 0.5), 5000ms);
}

TEST(PollSchedule, JitterIsTenPercentWithinTheBounds) {
  const PollSchedule s{1000ms, 10000ms, 60000ms, 2.0};
  EXPECT_EQ(next_poll_delay(s, 1, 0, 0.0), 9000ms);
  EXPECT_EQ(next_poll_delay(s, 1, 0, 1.0), 11000ms);
  EXPECT_EQ(next_poll_delay(s, 1, 1, 0.0), 18000ms);
  EXPECT_EQ(next_poll_delay(s, 1, 1, 1.0), 22000ms);
  // At the cap, jitter goes down but never above max_interval.
  EXPECT_EQ(next_poll_delay(s, 9, 10, 0.0), 54000ms);
  EXPECT_EQ(next_poll_delay(s, 9, 10, 0.999), 60000ms);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int i = 0; i < 10000; ++i) {
    const int polls = 1 + static_cast<int>(u01(rng) * 100);
    const int since = static_cast<int>(u01(rng) * polls);
    const auto d = next_poll_delay(s, polls, since, u01(rng));
    EXPECT_GE(d, 9000ms);
    EXPECT_LE(d, 60000ms);
    const double nominal = std::min(60000.0, 10000.0 * std::pow(2.0, since));
    EXPECT_GE(d.count(), std::floor(nominal * 0.9));
    EXPECT_LE(d.count(), std::ceil(nominal * 1.1));
  }
}

TEST(PollSchedule, EdgeInputs) {
  // max_interval below interval counts as interval.
  const PollSchedule inverted{0ms, 10000ms, 2000ms, 1.5};
  for (double r : {0.0, 0.5, 0.99})
    for (int n : {0, 3, 1000}) {
      const auto d = next_poll_delay(inverted, 5, n, r);
      EXPECT_GE(d, 9000ms);
      EXPECT_LE(d, 10000ms);
    }
  // Growth below 1 (or NaN) counts as 1: no shrinking below the interval.
  for (double g : {0.5, 0.0, -2.0, std::nan("")}) {
    const PollSchedule s{0ms, 4000ms, 20000ms, g};
    EXPECT_EQ(next_poll_delay(s, 3, 10, 0.5), 4000ms) << g;
  }
  // Huge growth exponents saturate at the cap.
  const PollSchedule s{1000ms, 4000ms, 20000ms, 1.5};
  EXPECT_EQ(next_poll_delay(s, 1, std::numeric_limits<int>::max(), 0.5), 20000ms);
  EXPECT_EQ(next_poll_delay(s, 1, -5, 0.5), 4000ms);
  EXPECT_EQ(next_poll_delay(s, -1, 0, 0.5), 1000ms);  // no poll done yet
  // The lower bound rounds up: never below interval * 0.9.
  const PollSchedule odd{0ms, 1001ms, 5000ms, 1.0};
  EXPECT_EQ(next_poll_delay(odd, 1, 0, 0.0), 901ms);
  // Default-constructed schedule is usable.
  const PollSchedule def;
  EXPECT_EQ(next_poll_delay(def, 0, 0, 0.3), 5000ms);
  EXPECT_EQ(next_poll_delay(def, 1, 0, 0.5), 5000ms);
}

TEST(RetryAfterOrBackoff, ServerValueWinsAndIsCapped) {
  EXPECT_EQ(retry_after_or_backoff(5000ms, 4, 1000ms, 60000ms, 0.9), 5000ms);
  EXPECT_EQ(retry_after_or_backoff(0ms, 4, 1000ms, 60000ms, 0.9), 0ms);
  EXPECT_EQ(retry_after_or_backoff(milliseconds(-20), 4, 1000ms, 60000ms, 0.9), 0ms);
  EXPECT_EQ(retry_after_or_backoff(std::chrono::hours(2), 0, 1000ms, 60000ms, 0.0), std::chrono::minutes(10));
  EXPECT_EQ(retry_after_or_backoff(kMaxRetryAfter, 0, 1000ms, 60000ms, 0.0), kMaxRetryAfter);
  for (int a = 0; a < 10; ++a)
    for (double r : {0.0, 0.3, 0.99})
      EXPECT_EQ(retry_after_or_backoff(std::nullopt, a, 1000ms, 60000ms, r), backoff_delay(a, 1000ms, 60000ms, r));
}

// ---- Retry-After ------------------------------------------------------------

using SysTp = std::chrono::system_clock::time_point;

SysTp utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) / std::chrono::day(d)) +
         std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
}

TEST(ParseRetryAfter, DelaySeconds) {
  const SysTp now = utc(2024, 6, 1, 12, 0, 0);
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after("0", now), 0ms);
  EXPECT_EQ(parse_retry_after("007", now), 7000ms);
  EXPECT_EQ(parse_retry_after(" \t5 ", now), 5000ms);
  const auto huge = parse_retry_after("99999999999999999999999999", now);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, std::chrono::hours(24 * 365 * 1000));  // saturated, not wrapped
  for (const char* bad : {"", "   ", "-1", "+5", "1.5", "12a", "a12", "1 2", "0x10", "1e3", "5s"})
    EXPECT_FALSE(parse_retry_after(bad, now)) << '"' << bad << '"';
}

TEST(ParseRetryAfter, ImfFixdate) {
  const SysTp now = utc(1994, 11, 6, 8, 49, 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 37000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 09:49:00 GMT", now), 3600000ms);
  EXPECT_EQ(parse_retry_after("Mon, 07 Nov 1994 08:49:00 GMT", now), milliseconds(86400000));
  EXPECT_EQ(parse_retry_after("  Sun, 06 Nov 1994 08:49:37 GMT\t", now), 37000ms);
  // In the past or now: retry at once.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), 0ms);
  EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), 0ms);
  // Sub-millisecond clocks round the wait up.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:01 GMT", now + std::chrono::microseconds(1500)), 999ms);
  // The leap second and the end of February in a leap year.
  EXPECT_EQ(parse_retry_after("Sat, 31 Dec 2016 23:59:60 GMT", utc(2016, 12, 31, 23, 59, 0)), 60000ms);
  EXPECT_EQ(parse_retry_after("Thu, 29 Feb 2024 00:00:10 GMT", utc(2024, 2, 29, 0, 0, 0)), 10000ms);
  // Every month name.
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 1; m <= 12; ++m) {
    const std::string v = std::string("Mon, 01 ") + months[m - 1] + " 2030 00:00:05 GMT";
    EXPECT_EQ(parse_retry_after(v, utc(2030, m, 1, 0, 0, 0)), 5000ms) << v;
  }
}

TEST(ParseRetryAfter, ObsoleteDateForms) {
  const SysTp now = utc(1994, 11, 6, 8, 49, 0);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 37000ms);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), 37000ms);
  EXPECT_EQ(parse_retry_after("Wed Nov 16 08:49:37 1994", now), milliseconds((10 * 86400 + 37) * 1000LL));
  // RFC 850 two-digit years: more than 50 years ahead means the last century.
  const SysTp y2024 = utc(2024, 6, 1, 0, 0, 0);
  EXPECT_EQ(parse_retry_after("Monday, 01-Jan-74 00:00:00 GMT", y2024),
            std::chrono::ceil<milliseconds>(utc(2074, 1, 1, 0, 0, 0) - y2024));
  EXPECT_EQ(parse_retry_after("Wednesday, 01-Jan-75 00:00:00 GMT", y2024), 0ms);  // 1975: past
  EXPECT_EQ(parse_retry_after("Saturday, 01-Jun-24 00:00:30 GMT", y2024), 30000ms);
}

TEST(ParseRetryAfter, RejectsMalformedDates) {
  const SysTp now = utc(1994, 11, 6, 8, 49, 0);
  for (const char* bad : {
           "Sun, 31 Feb 1994 08:49:37 GMT",   // no such day
           "Sun, 06 Nov 1994 24:00:00 GMT",   // hour
           "Sun, 06 Nov 1994 08:60:00 GMT",   // minute
           "Sun, 06 Nov 1994 08:49:61 GMT",   // second
           "Sun, 06 Nov 1994 08:49:37 UTC",   // zone must be GMT
           "Sun, 06 Nov 1994 08:49:37",       // no zone
           "Sun, 06 Nov 1994 08:49:37 GMT x", // trailing junk
           "Sun, 6 Nov 1994 08:49:37 GMT",    // one-digit day
           "Sun, 06 nov 1994 08:49:37 GMT",   // month is case-sensitive
           "Sun, 06 November 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",     // two-digit year in IMF-fixdate
           "Sunday, 06 Nov 1994 08:49:37 GMT",  // long day name with the IMF layout
           "Sun, 06-Nov-94 08:49:37 GMT",     // short day name with the RFC 850 layout
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sun,06 Nov 1994 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",         // asctime pads the day with a space
           "Sun Nov  6 08:49:37 94",
           "Sun Nov  6 08:49:37 1994 GMT",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 06 Nov 1994 08:49 GMT",
           "tomorrow",
       })
    EXPECT_FALSE(parse_retry_after(bad, now)) << '"' << bad << '"';
}

// ============================================================================
// Lane
// ============================================================================

std::vector<std::int64_t> drain(Lane& lane) {
  std::vector<std::int64_t> out;
  while (auto id = lane.admit()) {
    out.push_back(*id);
    lane.release();
  }
  return out;
}

TEST(Lane, HigherPriorityFirstThenManifestOrder) {
  Lane lane(100);
  lane.push(1, 0, 10);
  lane.push(2, 5, 20);
  lane.push(3, 5, 11);
  lane.push(4, 0, 3);
  lane.push(5, -2, 0);
  lane.push(6, 9, 99);
  EXPECT_EQ(lane.pending(), 6u);
  EXPECT_EQ(drain(lane), (std::vector<std::int64_t>{6, 3, 2, 4, 1, 5}));
  EXPECT_EQ(lane.pending(), 0u);
  EXPECT_EQ(lane.in_flight(), 0);
}

TEST(Lane, EqualPriorityFollowsSeqNotPushOrder) {
  Lane lane(100);
  for (std::int64_t seq : {5, 1, 4, 2, 3}) lane.push(100 + seq, 1, seq);
  EXPECT_EQ(drain(lane), (std::vector<std::int64_t>{101, 102, 103, 104, 105}));
}

TEST(Lane, ExtremePriorities) {
  Lane lane(100);
  lane.push(1, std::numeric_limits<int>::min(), 0);
  lane.push(2, std::numeric_limits<int>::max(), 1);
  lane.push(3, 0, 2);
  EXPECT_EQ(drain(lane), (std::vector<std::int64_t>{2, 3, 1}));
}

TEST(Lane, CapLimitsInFlight) {
  Lane lane(2);
  for (int i = 0; i < 5; ++i) lane.push(i, 0, i);
  EXPECT_EQ(lane.admit(), 0);
  EXPECT_EQ(lane.admit(), 1);
  EXPECT_EQ(lane.in_flight(), 2);
  EXPECT_FALSE(lane.admit());
  EXPECT_EQ(lane.pending(), 3u);  // refusal changes nothing
  lane.release();
  EXPECT_EQ(lane.in_flight(), 1);
  EXPECT_EQ(lane.admit(), 2);
  EXPECT_FALSE(lane.admit());
  EXPECT_EQ(lane.max_in_flight(), 2);
}

TEST(Lane, EmptyLaneAdmitsNothing) {
  Lane lane(3);
  EXPECT_FALSE(lane.admit());
  EXPECT_EQ(lane.in_flight(), 0);
}

TEST(Lane, PauseStopsAdmissionOnly) {
  Lane lane(3);
  lane.push(1, 0, 1);
  lane.push(2, 0, 2);
  EXPECT_EQ(lane.admit(), 1);
  lane.set_paused(true);
  EXPECT_TRUE(lane.paused());
  EXPECT_FALSE(lane.admit());
  EXPECT_EQ(lane.pending(), 1u);
  EXPECT_EQ(lane.in_flight(), 1);  // in-flight jobs keep their slot
  lane.release();                  // and give it back normally
  EXPECT_EQ(lane.in_flight(), 0);
  EXPECT_FALSE(lane.admit());
  lane.push(3, 9, 3);  // queueing still works while paused
  lane.set_paused(false);
  EXPECT_FALSE(lane.paused());
  EXPECT_EQ(lane.admit(), 3);
  EXPECT_EQ(lane.admit(), 2);
}

TEST(Lane, OccupyCountsRecoveredJobs) {
  Lane lane(2);
  lane.push(1, 0, 1);
  lane.occupy();
  lane.occupy();
  lane.occupy();  // more recovered tasks than slots
  EXPECT_EQ(lane.in_flight(), 3);
  EXPECT_FALSE(lane.admit());
  lane.release();
  EXPECT_FALSE(lane.admit());  // 2 still in flight
  lane.release();
  EXPECT_EQ(lane.admit(), 1);
  EXPECT_EQ(lane.in_flight(), 2);
}

TEST(Lane, ReleaseNeverGoesNegative) {
  Lane lane(1);
  lane.release();
  EXPECT_EQ(lane.in_flight(), 0);
  lane.push(1, 0, 1);
  lane.push(2, 0, 2);
  EXPECT_EQ(lane.admit(), 1);
  EXPECT_FALSE(lane.admit());  // a stray release earlier did not create a slot
}

TEST(Lane, EraseRemovesOnlyQueuedJobs) {
  Lane lane(1);
  lane.push(1, 0, 1);
  lane.push(2, 0, 2);
  lane.push(3, 0, 3);
  EXPECT_TRUE(lane.erase(2));
  EXPECT_FALSE(lane.erase(2));
  EXPECT_FALSE(lane.erase(42));
  EXPECT_EQ(lane.pending(), 2u);
  EXPECT_EQ(lane.admit(), 1);
  EXPECT_FALSE(lane.erase(1));  // admitted: no longer queued
  EXPECT_EQ(lane.in_flight(), 1);
  lane.release();
  EXPECT_EQ(lane.admit(), 3);
  lane.release();
  EXPECT_FALSE(lane.admit());
}

TEST(Lane, PushingAQueuedJobAgainUpdatesIt) {
  Lane lane(5);
  EXPECT_TRUE(lane.push(1, 0, 1));
  EXPECT_TRUE(lane.push(2, 0, 2));
  EXPECT_FALSE(lane.push(2, 0, 2));  // duplicate
  EXPECT_FALSE(lane.push(1, -1, 1));  // re-prioritised below job 2
  EXPECT_EQ(lane.pending(), 2u);
  EXPECT_EQ(drain(lane), (std::vector<std::int64_t>{2, 1}));  // each admitted once
  EXPECT_TRUE(lane.push(1, 0, 1));  // after admission it may be queued again
}

TEST(Lane, SetMaxInFlight) {
  Lane lane(1);
  for (int i = 0; i < 4; ++i) lane.push(i, 0, i);
  EXPECT_EQ(lane.admit(), 0);
  EXPECT_FALSE(lane.admit());
  lane.set_max_in_flight(3);
  EXPECT_EQ(lane.admit(), 1);
  EXPECT_EQ(lane.admit(), 2);
  EXPECT_FALSE(lane.admit());
  lane.set_max_in_flight(1);  // lowered below in_flight: nothing taken back
  EXPECT_EQ(lane.in_flight(), 3);
  lane.release();
  lane.release();
  EXPECT_FALSE(lane.admit());  // 1 in flight, max 1
  lane.release();
  EXPECT_EQ(lane.admit(), 3);
  lane.set_max_in_flight(-1);
  EXPECT_EQ(lane.max_in_flight(), 0);
  Lane zero(0);
  zero.push(7, 0, 0);
  EXPECT_FALSE(zero.admit());
}

TEST(Lane, MatchesAReferenceModel) {
  std::mt19937_64 rng(99);
  std::uniform_int_distribution<int> op_d(0, 9), prio_d(-3, 3), id_d(0, 60);
  for (int round = 0; round < 50; ++round) {
    const int max = 1 + round % 4;
    Lane lane(max);
    std::map<std::int64_t, std::pair<int, std::int64_t>> model;  // id -> (priority, seq)
    std::set<std::int64_t> admitted;
    int in_flight = 0;
    bool paused = false;
    std::int64_t seq = 0;
    for (int step = 0; step < 500; ++step) {
      const int op = op_d(rng);
      if (op <= 3) {
        std::int64_t id = id_d(rng);
        if (admitted.contains(id)) continue;
        const int prio = prio_d(rng);
        EXPECT_EQ(lane.push(id, prio, seq), !model.contains(id));
        model[id] = {prio, seq++};
      } else if (op <= 6) {
        std::optional<std::int64_t> expect;
        if (!paused && in_flight < max && !model.empty()) {
          auto best = model.begin();
          for (auto it = model.begin(); it != model.end(); ++it) {
            const auto key = std::tuple(-it->second.first, it->second.second, it->first);
            const auto best_key = std::tuple(-best->second.first, best->second.second, best->first);
            if (key < best_key) best = it;
          }
          expect = best->first;
          model.erase(best);
          admitted.insert(*expect);
          ++in_flight;
        }
        ASSERT_EQ(lane.admit(), expect) << "round " << round << " step " << step;
      } else if (op == 7) {
        if (!admitted.empty()) {
          admitted.erase(admitted.begin());
          lane.release();
          --in_flight;
        }
      } else if (op == 8) {
        const std::int64_t id = id_d(rng);
        EXPECT_EQ(lane.erase(id), model.erase(id) == 1);
      } else {
        paused = !paused;
        lane.set_paused(paused);
      }
      ASSERT_EQ(lane.in_flight(), in_flight);
      ASSERT_EQ(lane.pending(), model.size());
      ASSERT_LE(lane.in_flight(), max);
    }
  }
}

// ============================================================================
// Download queue
// ============================================================================

const SysTp kNow = utc(2024, 6, 1, 12, 0, 0);

TEST(DownloadQueue, EarliestExpiryFirst) {
  DownloadQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop());
  q.push(1, kNow + std::chrono::hours(168));  // 7 days (juhuo)
  q.push(2, kNow + std::chrono::hours(24));   // 24 h (vibegen)
  q.push(3, kNow + std::chrono::hours(1));
  q.push(4, kNow - std::chrono::hours(1));  // already expired: still first (refresh, then fetch)
  q.push(5, kNow + std::chrono::hours(25));
  EXPECT_EQ(q.size(), 5u);
  EXPECT_FALSE(q.empty());
  std::vector<std::int64_t> order;
  while (auto id = q.pop()) order.push_back(*id);
  EXPECT_EQ(order, (std::vector<std::int64_t>{4, 3, 2, 5, 1}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
}

TEST(DownloadQueue, FifoAmongEqualExpiries) {
  DownloadQueue q;
  const SysTp e = kNow + std::chrono::hours(2);
  for (std::int64_t id : {9, 3, 7, 1, 5}) q.push(id, e);
  q.push(100, e - 1s);
  std::vector<std::int64_t> order;
  while (auto id = q.pop()) order.push_back(*id);
  EXPECT_EQ(order, (std::vector<std::int64_t>{100, 9, 3, 7, 1, 5}));
}

TEST(DownloadQueue, PushingAQueuedJobAgainReplacesItsExpiry) {
  DownloadQueue q;
  EXPECT_TRUE(q.push(1, kNow + 1h));
  EXPECT_TRUE(q.push(2, kNow + 2h));
  EXPECT_FALSE(q.push(1, kNow + 3h));  // refreshed links
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_FALSE(q.pop());  // never twice
}

TEST(DownloadQueue, Erase) {
  DownloadQueue q;
  q.push(1, kNow + 1h);
  q.push(2, kNow + 2h);
  EXPECT_TRUE(q.erase(1));
  EXPECT_FALSE(q.erase(1));
  EXPECT_FALSE(q.erase(3));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.pop(), 2);
}

TEST(DownloadQueue, RandomizedMatchesSortByExpiryThenArrival) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> minutes_d(-60, 60 * 24 * 7);
  DownloadQueue q;
  std::vector<std::tuple<SysTp, int, std::int64_t>> ref;
  for (int i = 0; i < 2000; ++i) {
    const SysTp e = kNow + std::chrono::minutes(minutes_d(rng) / 30 * 30);  // many ties
    q.push(i, e);
    ref.emplace_back(e, i, i);
  }
  std::sort(ref.begin(), ref.end());
  for (const auto& r : ref) ASSERT_EQ(q.pop(), std::get<2>(r));
  EXPECT_TRUE(q.empty());
}

TEST(NeedsRefresh, WithinMarginOrExpired) {
  const auto margin = std::chrono::seconds(300);
  EXPECT_TRUE(needs_refresh(kNow - 1s, kNow, margin));   // expired
  EXPECT_TRUE(needs_refresh(kNow, kNow, margin));        // expiring now
  EXPECT_TRUE(needs_refresh(kNow + 299s, kNow, margin));
  EXPECT_TRUE(needs_refresh(kNow + 300s, kNow, margin));  // exactly at the margin
  EXPECT_FALSE(needs_refresh(kNow + 301s, kNow, margin));
  EXPECT_FALSE(needs_refresh(kNow + std::chrono::hours(24), kNow, margin));
  EXPECT_TRUE(needs_refresh(kNow, kNow, 0s));
  EXPECT_FALSE(needs_refresh(kNow + 1ms, kNow, 0s));
  EXPECT_FALSE(needs_refresh(kNow + 1ms, kNow, -60s));  // negative margin counts as 0
  EXPECT_TRUE(needs_refresh(SysTp{}, kNow, margin));    // unknown expiry (epoch): refresh
}

}  // namespace
}  // namespace reelbatch
