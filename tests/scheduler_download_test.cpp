// decide_download_call (scheduler/error_policy.hpp): a paid row's download
// waits with full-jitter backoff until its URL deadline, then expires; only a
// gone task fails it. Explicit numbers, no clock.
#include "scheduler/error_policy.hpp"

#include <gtest/gtest.h>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using Act = DownloadDecision::Action;

constexpr std::int64_t kNow = 1'800'000'000'000;   // Unix ms
constexpr std::int64_t kDeadline = kNow + 3'600'000;  // one hour ahead

TEST(DecideDownloadCall, DefaultsAreTwoSecondsBaseAndFiveMinutesCap) {
  const ErrorPolicy p;
  EXPECT_EQ(p.download_base, 2s);
  EXPECT_EQ(p.download_cap, 5min);
  EXPECT_EQ(p.download_min_delay, 250ms);
  EXPECT_EQ(p.disk_check_interval, 5s);
  EXPECT_EQ(p.disk_resume_free_bytes, 64ull << 20);
  EXPECT_EQ(p.optional_output_tries, 8);
}

TEST(DecideDownloadCall, TransientFailuresRetryWithFullJitterCapped) {
  const ErrorPolicy p;
  // exp = min(5 min, 2 s * 2^attempt); delay = max(250 ms, r * exp).
  auto d = decide_download_call(DownloadFailure::transient, 0, kNow, kDeadline, 0.5, p);
  EXPECT_EQ(d.action, Act::retry);
  EXPECT_EQ(d.delay, 1000ms);
  EXPECT_FALSE(d.refresh_urls);
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 0, kNow, kDeadline, 0.0, p).delay, 250ms);  // floor
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 3, kNow, kDeadline, 0.999, p).delay, 15984ms);
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 7, kNow, kDeadline, 0.5, p).delay, 128000ms);
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 8, kNow, kDeadline, 0.5, p).delay, 150000ms);  // cap
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 1000, kNow, kDeadline, 0.999, p).delay, 299700ms);
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, -3, kNow, kDeadline, 0.5, p).delay, 1000ms);
}

TEST(DecideDownloadCall, NeverGivesUpBeforeTheDeadline) {
  const ErrorPolicy p;
  for (int attempt : {0, 10, 100, 100000}) {
    const auto d = decide_download_call(DownloadFailure::transient, attempt, kDeadline - 1, kDeadline, 0.9, p);
    EXPECT_EQ(d.action, Act::retry) << attempt;
    EXPECT_EQ(d.delay, 1ms) << attempt;  // one last try at the deadline
  }
}

TEST(DecideDownloadCall, TheWaitIsShortenedToTheDeadline) {
  const ErrorPolicy p;
  const auto d = decide_download_call(DownloadFailure::transient, 20, kDeadline - 30'000, kDeadline, 0.9, p);
  EXPECT_EQ(d.action, Act::retry);
  EXPECT_EQ(d.delay, 30s);
}

TEST(DecideDownloadCall, AtOrAfterTheDeadlineTheRowExpires) {
  const ErrorPolicy p;
  for (auto f : {DownloadFailure::transient, DownloadFailure::link_rejected}) {
    const auto at = decide_download_call(f, 0, kDeadline, kDeadline, 0.5, p);
    EXPECT_EQ(at.action, Act::expire);
    EXPECT_EQ(at.delay, 0ms);
    EXPECT_EQ(decide_download_call(f, 3, kDeadline + 1, kDeadline, 0.5, p).action, Act::expire);
  }
}

TEST(DecideDownloadCall, RejectedLinksAreRefreshedBeforeTheNextTry) {
  const ErrorPolicy p;
  const auto d = decide_download_call(DownloadFailure::link_rejected, 1, kNow, kDeadline, 0.5, p);
  EXPECT_EQ(d.action, Act::retry);
  EXPECT_TRUE(d.refresh_urls);
  EXPECT_EQ(d.delay, 2000ms);
}

TEST(DecideDownloadCall, AGoneTaskFailsTheRowEvenBeforeTheDeadline) {
  const ErrorPolicy p;
  const auto d = decide_download_call(DownloadFailure::gone, 0, kNow, kDeadline, 0.5, p);
  EXPECT_EQ(d.action, Act::fail);
  EXPECT_EQ(decide_download_call(DownloadFailure::gone, 0, kDeadline + 5, kDeadline, 0.5, p).action, Act::fail);
}

TEST(DecideDownloadCall, PolicyValuesAreHonoured) {
  ErrorPolicy p;
  p.download_base = 100ms;
  p.download_cap = 1s;
  p.download_min_delay = 0ms;
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 0, kNow, kDeadline, 0.0, p).delay, 0ms);
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 2, kNow, kDeadline, 0.5, p).delay, 200ms);
  EXPECT_EQ(decide_download_call(DownloadFailure::transient, 5, kNow, kDeadline, 0.5, p).delay, 500ms);  // cap 1 s
}

}  // namespace
}  // namespace reelbatch
