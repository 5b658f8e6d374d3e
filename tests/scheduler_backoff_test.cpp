// Unit tests of scheduler/backoff: exponential backoff with jitter, the poll
// schedule and retry_after_or_backoff(). Pure logic: no sockets, no sleeping.
#include "scheduler/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

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
  // r = 0 means no jitter: interval * 1.5^n (rounded up), capped.
  std::vector<std::int64_t> got;
  for (int n = 0; n < 8; ++n) got.push_back(next_poll_delay(s, n + 1, n, 0.0).count());
  EXPECT_EQ(got, (std::vector<std::int64_t>{5000, 7500, 11250, 16875, 25313, 30000, 30000, 30000}));
  // A state change resets the growth, whatever the number of polls done.
  EXPECT_EQ(next_poll_delay(s, 50, 0, 0.0), 5000ms);
}

// Jitter only upward (issue 7 item 9): never below the nominal interval.
TEST(PollSchedule, JitterIsUpToTenPercentUpwardWithinTheBounds) {
  const PollSchedule s{1000ms, 10000ms, 60000ms, 2.0};
  EXPECT_EQ(next_poll_delay(s, 1, 0, 0.0), 10000ms);
  EXPECT_EQ(next_poll_delay(s, 1, 0, 1.0), 11000ms);
  EXPECT_EQ(next_poll_delay(s, 1, 1, 0.0), 20000ms);
  EXPECT_EQ(next_poll_delay(s, 1, 1, 1.0), 22000ms);
  // At the cap there is no room for jitter: exactly max_interval.
  EXPECT_EQ(next_poll_delay(s, 9, 10, 0.0), 60000ms);
  EXPECT_EQ(next_poll_delay(s, 9, 10, 0.999), 60000ms);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int i = 0; i < 10000; ++i) {
    const int polls = 1 + static_cast<int>(u01(rng) * 100);
    const int since = static_cast<int>(u01(rng) * polls);
    const auto d = next_poll_delay(s, polls, since, u01(rng));
    EXPECT_GE(d, 10000ms);
    EXPECT_LE(d, 60000ms);
    const double nominal = std::min(60000.0, 10000.0 * std::pow(2.0, since));
    EXPECT_GE(d.count(), nominal);
    EXPECT_LE(d.count(), std::ceil(nominal * 1.1));
  }
}

TEST(PollSchedule, EdgeInputs) {
  // max_interval below interval counts as interval.
  const PollSchedule inverted{0ms, 10000ms, 2000ms, 1.5};
  for (double r : {0.0, 0.5, 0.99})
    for (int n : {0, 3, 1000}) {
      const auto d = next_poll_delay(inverted, 5, n, r);
      EXPECT_EQ(d, 10000ms);
    }
  // Growth below 1 (or NaN) counts as 1: no shrinking below the interval.
  for (double g : {0.5, 0.0, -2.0, std::nan("")}) {
    const PollSchedule s{0ms, 4000ms, 20000ms, g};
    EXPECT_EQ(next_poll_delay(s, 3, 10, 0.0), 4000ms) << g;
  }
  // Huge growth exponents saturate at the cap.
  const PollSchedule s{1000ms, 4000ms, 20000ms, 1.5};
  EXPECT_EQ(next_poll_delay(s, 1, std::numeric_limits<int>::max(), 0.5), 20000ms);
  EXPECT_EQ(next_poll_delay(s, 1, -5, 0.0), 4000ms);
  EXPECT_EQ(next_poll_delay(s, -1, 0, 0.5), 1000ms);  // no poll done yet
  // Jitter rounds up to whole ms: never below the interval.
  const PollSchedule odd{0ms, 1001ms, 5000ms, 1.0};
  EXPECT_EQ(next_poll_delay(odd, 1, 0, 0.0), 1001ms);
  EXPECT_EQ(next_poll_delay(odd, 1, 0, 0.5), 1052ms);  // ceil(1001 * 1.05 = 1051.05)
  // Default-constructed schedule is usable.
  const PollSchedule def;
  EXPECT_EQ(next_poll_delay(def, 0, 0, 0.3), 5000ms);
  EXPECT_EQ(next_poll_delay(def, 1, 0, 0.0), 5000ms);
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

}  // namespace
}  // namespace reelbatch
