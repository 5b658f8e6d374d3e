// Unit tests of scheduler/circuit: the per-profile circuit breaker (issue 7,
// case 2), on a hand-moved time point. No sockets, no sleeping.
#include "scheduler/circuit.hpp"

#include <gtest/gtest.h>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using State = Circuit::State;

const Circuit::time_point t0{};

TEST(Circuit, ClosedAllowsEverything) {
  Circuit c;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.allow(t0 + i * 1s));
  EXPECT_EQ(c.state(t0), State::closed);
  EXPECT_STREQ(to_string(c.state(t0)), "closed");
}

TEST(Circuit, OpensAfterKConsecutiveFailures) {
  Circuit c(CircuitPolicy{3, 10s, 80s});
  c.on_failure(t0);
  c.on_failure(t0);
  EXPECT_EQ(c.state(t0), State::closed);
  EXPECT_TRUE(c.allow(t0));
  c.on_failure(t0 + 1s);
  EXPECT_EQ(c.state(t0 + 1s), State::open);
  EXPECT_EQ(c.times_opened(), 1);
  EXPECT_EQ(c.reopens_at(), t0 + 11s);
  EXPECT_FALSE(c.allow(t0 + 5s));
  EXPECT_FALSE(c.allow(t0 + 10999ms));
}

TEST(Circuit, ASuccessResetsTheCount) {
  Circuit c(CircuitPolicy{3, 10s, 80s});
  c.on_failure(t0);
  c.on_failure(t0);
  c.on_success();
  c.on_failure(t0);
  c.on_failure(t0);
  EXPECT_EQ(c.state(t0), State::closed);
  EXPECT_EQ(c.consecutive_failures(), 2);
}

TEST(Circuit, HalfOpenLetsOneProbeThrough) {
  Circuit c(CircuitPolicy{1, 10s, 80s});
  c.on_failure(t0);
  EXPECT_EQ(c.state(t0 + 10s), State::half_open);
  EXPECT_TRUE(c.allow(t0 + 10s));   // the probe
  EXPECT_FALSE(c.allow(t0 + 10s));  // everyone else waits for it
  EXPECT_FALSE(c.allow(t0 + 19999ms));
  c.on_success();
  EXPECT_EQ(c.state(t0 + 20s), State::closed);
  EXPECT_TRUE(c.allow(t0 + 20s));
  EXPECT_TRUE(c.allow(t0 + 20s));
}

TEST(Circuit, AFailedProbeReopensWithAGrowingCappedCooldown) {
  Circuit c(CircuitPolicy{2, 10s, 35s});
  c.on_failure(t0);
  c.on_failure(t0);
  EXPECT_EQ(c.reopens_at(), t0 + 10s);
  auto now = t0 + 10s;
  ASSERT_TRUE(c.allow(now));
  c.on_failure(now);  // probe failed: 20 s
  EXPECT_EQ(c.state(now), State::open);
  EXPECT_EQ(c.reopens_at(), now + 20s);
  now += 20s;
  ASSERT_TRUE(c.allow(now));
  c.on_failure(now);  // 40 s capped at 35 s
  EXPECT_EQ(c.reopens_at(), now + 35s);
  now += 35s;
  ASSERT_TRUE(c.allow(now));
  c.on_failure(now);
  EXPECT_EQ(c.reopens_at(), now + 35s);
  EXPECT_EQ(c.times_opened(), 4);
  // Closing resets the cool-down to its base.
  now += 35s;
  ASSERT_TRUE(c.allow(now));
  c.on_success();
  c.on_failure(now);
  c.on_failure(now);
  EXPECT_EQ(c.reopens_at(), now + 10s);
}

TEST(Circuit, AProbeThatNeverReportsIsReplacedAfterOneBaseCooldown) {
  Circuit c(CircuitPolicy{1, 10s, 80s});
  c.on_failure(t0);
  EXPECT_TRUE(c.allow(t0 + 10s));
  EXPECT_FALSE(c.allow(t0 + 15s));
  EXPECT_TRUE(c.allow(t0 + 20s));  // the first probe's caller went away
  EXPECT_FALSE(c.allow(t0 + 21s));
  c.on_failure(t0 + 22s);
  EXPECT_EQ(c.state(t0 + 22s), State::open);
  EXPECT_EQ(c.reopens_at(), t0 + 42s);
}

TEST(Circuit, FailuresWhileOpenChangeNothing) {
  Circuit c(CircuitPolicy{1, 10s, 80s});
  c.on_failure(t0);
  c.on_failure(t0 + 5s);  // started before the circuit opened
  EXPECT_EQ(c.reopens_at(), t0 + 10s);
  EXPECT_EQ(c.times_opened(), 1);
}

TEST(Circuit, ThresholdBelowOneCountsAsOne) {
  Circuit c(CircuitPolicy{0, 1s, 1s});
  c.on_failure(t0);
  EXPECT_EQ(c.state(t0), State::open);
  EXPECT_STREQ(to_string(State::open), "open");
  EXPECT_STREQ(to_string(State::half_open), "half_open");
}

}  // namespace
}  // namespace reelbatch
