// Unit tests of scheduler/: rate and concurrency admission and download
// order: token buckets, lanes, the download queue (earliest expiry first).
// Pure logic: no sockets, no sleeping; time is a simulated clock passed in.
#include "scheduler/backoff.hpp"
#include "scheduler/download_queue.hpp"
#include "scheduler/lane.hpp"
#include "scheduler/token_bucket.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

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
// Issue 7, case 9: budgets exact (RateWindow) and poll spacing
// ============================================================================

using Dur = RateWindow::clock::duration;

// The most grants within any closed window [t, t + w].
std::size_t max_in_closed_window(std::vector<Tp> grants, Dur w) {
  std::sort(grants.begin(), grants.end());
  return max_in_window(grants, w);
}

// 10 per minute: the first ten go at once spaced by the pacing, the 11th
// only after 60 s (+ margin) from the first: never 11 within 60 s.
TEST(RateWindow, Case9_TenPerMinuteNeverElevenWithinSixtySeconds) {
  for (Dur margin : {Dur::zero(), Dur(std::chrono::seconds(1))}) {
    RateWindow w = RateWindow::per_minute(10, margin);
    EXPECT_EQ(w.limit(), 10u);
    std::vector<Tp> grants;
    for (int i = 0; i < 11; ++i) grants.push_back(w.reserve(t0));  // all arrive at once
    EXPECT_EQ(grants[0], t0);  // no waiting for a first token, but no saved-up burst either
    EXPECT_GT(grants[10] - grants[0], Dur(std::chrono::seconds(60)) + margin);
    EXPECT_EQ(max_in_closed_window(grants, std::chrono::seconds(60)), 10u);
    for (std::size_t i = 1; i < grants.size(); ++i) EXPECT_EQ(grants[i] - grants[i - 1], w.spacing());
  }
}

// Property: for random arrival patterns (bursts, steady, idle gaps, callers
// that wait for their grant or not) and random limits, no closed window of
// 60 s + margin ever holds more than the limit, and grants never go back.
TEST(RateWindow, Case9_WindowBoundHoldsForRandomArrivals) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int seq = 0; seq < 300; ++seq) {
    const double per_minute = u01(rng) < 0.1 ? 0.3 + u01(rng) * 0.7 : 1 + u01(rng) * 600;
    const Dur margin = u01(rng) < 0.5 ? Dur::zero() : Dur(std::chrono::milliseconds(static_cast<int>(u01(rng) * 2000)));
    SCOPED_TRACE("per_minute " + std::to_string(per_minute));
    RateWindow w = RateWindow::per_minute(per_minute, margin);
    const Dur window = w.window();
    std::vector<Tp> grants;
    Tp now = t0;
    const auto spacing = std::chrono::duration<double>(window) / static_cast<double>(w.limit());
    for (int i = 0; i < 500; ++i) {
      const double pick = u01(rng);
      double gaps = 0;
      if (pick < 0.4) gaps = 0;
      else if (pick < 0.8) gaps = u01(rng) * 2;
      else if (pick < 0.97) gaps = u01(rng) * 20;
      else gaps = 500;
      now += std::chrono::duration_cast<Dur>(spacing * gaps);
      const Tp g = w.reserve(now);
      ASSERT_GE(g, now);
      if (!grants.empty()) ASSERT_GE(g, grants.back());
      grants.push_back(g);
      if (u01(rng) < 0.5) now = g;  // the engine's single submit section waits for its grant
    }
    ASSERT_LE(max_in_closed_window(grants, window + margin), w.limit());
    ASSERT_LE(max_in_closed_window(grants, window), static_cast<std::size_t>(std::max(1.0, std::floor(per_minute))));
  }
}

// Across a restart: the submits of the last window, recorded into a new
// window, hold the bound with the new grants included.
TEST(RateWindow, Case9_RecordedSubmitsOfTheLastWindowCountAfterARestart) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int round = 0; round < 200; ++round) {
    const int limit = 1 + static_cast<int>(u01(rng) * 30);
    const Dur margin = std::chrono::seconds(1);
    // Before the restart: a paced run of submits, stopped at a random point.
    RateWindow before = RateWindow::per_minute(limit, margin);
    std::vector<Tp> grants;
    Tp now = t0;
    const int n = static_cast<int>(u01(rng) * 3 * limit);
    for (int i = 0; i < n; ++i) {
      now += std::chrono::milliseconds(static_cast<int>(u01(rng) * 4000));
      grants.push_back(before.reserve(now));
      now = grants.back();
    }
    const Tp restart = (grants.empty() ? t0 : grants.back()) + std::chrono::milliseconds(static_cast<int>(u01(rng) * 70000));
    RateWindow after = RateWindow::per_minute(limit, margin);
    for (const Tp g : grants)
      if (g > restart - after.window() - after.margin() - Dur(1)) after.record(g);  // what submit_times_since returns
    Tp t = restart;
    for (int i = 0; i < 2 * limit + 3; ++i) {
      grants.push_back(after.reserve(t));
      t = grants.back();
    }
    ASSERT_LE(max_in_closed_window(grants, std::chrono::seconds(61)), static_cast<std::size_t>(limit))
        << "limit " << limit << ", " << n << " submits before the restart";
  }
}

TEST(RateWindow, Case9_RecordOrderAndInWindow) {
  RateWindow w(3, std::chrono::seconds(60));
  w.record(t0 + 10s);
  w.record(t0);  // out of order
  w.record(t0 + 5s);
  EXPECT_EQ(w.in_window(t0 + 10s), 3u);
  EXPECT_EQ(w.in_window(t0 + 60s), 3u);  // t0 is within 60 s + 1 tick
  EXPECT_EQ(w.in_window(t0 + 61s), 2u);  // t0 left
  EXPECT_EQ(w.in_window(t0 + 66s), 1u);  // t0 + 5 s left too
  // The fourth request waits until the first recorded one leaves the window.
  EXPECT_EQ(w.reserve(t0 + 20s), t0 + 60s + Dur(1));
}

TEST(RateWindow, Case9_FractionalAndBadRates) {
  EXPECT_EQ(RateWindow::per_minute(10.9).limit(), 10u);  // never rounded up
  const RateWindow slow = RateWindow::per_minute(0.5);
  EXPECT_EQ(slow.limit(), 1u);
  EXPECT_EQ(slow.window(), Dur(std::chrono::minutes(2)));
  for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()})
    EXPECT_THROW(RateWindow::per_minute(bad), std::invalid_argument) << bad;
  EXPECT_THROW(RateWindow(0, std::chrono::seconds(60)), std::invalid_argument);
  EXPECT_THROW(RateWindow(1, Dur::zero()), std::invalid_argument);
  EXPECT_THROW(RateWindow(1, std::chrono::seconds(1), Dur(-1)), std::invalid_argument);
}

// Poll spacing never below the documented minimum, jitter only upward:
// the openai relay's document says 8-15 s between polls (the old schedule
// polled 7.2 s after the first poll). Every provider's schedule as the
// engine builds it (min_interval = the documented lower bound), with a
// profile asking for less, over random jitter and growth.
TEST(PollSchedule, Case9_PollSpacingNeverBelowTheDocumentedMinimum) {
  struct Doc {
    const char* kind;
    milliseconds min, max;
  };
  const Doc docs[] = {{"juhuo", 5000ms, 10000ms},
                      {"turing", 20000ms, 30000ms},
                      {"vibegen", 5000ms, 10000ms},
                      {"seedance2", 5000ms, 10000ms},
                      {"openai", 8000ms, 15000ms}};
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (const Doc& d : docs) {
    SCOPED_TRACE(d.kind);
    for (milliseconds asked : {d.min, d.min / 2, milliseconds(100)}) {
      PollSchedule s{d.min + 1000ms, asked, d.max, 1.5};
      s.min_interval = d.min;
      for (int i = 0; i < 2000; ++i) {
        const int polls = 1 + static_cast<int>(u01(rng) * 20);
        const int since = static_cast<int>(u01(rng) * polls);
        const auto delay = next_poll_delay(s, polls, since, u01(rng));
        ASSERT_GE(delay, d.min);
        ASSERT_LE(delay, d.max);
      }
      // The openai case of the issue: second poll with the lowest jitter draw.
      EXPECT_GE(next_poll_delay(s, 1, 0, 0.0), d.min);
    }
  }
}

// ---- simulated wall clock ----------------------------------------------------

using SysTp = std::chrono::system_clock::time_point;

SysTp utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) / std::chrono::day(d)) +
         std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
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
