#include "scheduler/backoff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace reelbatch {

using std::chrono::milliseconds;

namespace {

using Rep = milliseconds::rep;

double clamp01(double r) {
  if (!(r > 0)) return 0;  // also NaN
  return r > 1 ? 1 : r;
}

Rep non_negative(milliseconds d) { return std::max<Rep>(0, d.count()); }

// min(cap, base * 2^attempt) without overflow.
Rep capped_exponential(int attempt, Rep base, Rep cap) {
  Rep v = std::min(base, cap);
  for (int i = 0; i < attempt && v > 0 && v < cap; ++i) v = (v > cap / 2) ? cap : v * 2;
  return v;
}

}  // namespace

milliseconds backoff_delay(int attempt, milliseconds base, milliseconds cap, double random01) {
  const Rep exp = capped_exponential(std::max(0, attempt), non_negative(base), non_negative(cap));
  const Rep fixed = exp / 2;
  const Rep spread = exp - fixed;
  const auto jitter = static_cast<Rep>(std::floor(clamp01(random01) * static_cast<double>(spread)));
  return milliseconds(fixed + std::min(jitter, spread));
}

milliseconds next_poll_delay(const PollSchedule& s, int polls_done, int polls_since_state_change, double random01) {
  if (polls_done <= 0) return milliseconds(non_negative(s.first_wait));
  const Rep floor = std::max(non_negative(s.interval), non_negative(s.min_interval));
  const Rep cap = std::max(floor, non_negative(s.max_interval));
  const double growth = s.growth >= 1 ? s.growth : 1;  // also NaN -> 1
  const double grown =
      static_cast<double>(non_negative(s.interval)) * std::pow(growth, std::max(0, polls_since_state_change));
  const double base = std::clamp(grown, static_cast<double>(floor), static_cast<double>(cap));
  const double jittered = std::min(static_cast<double>(cap), base * (1.0 + 0.1 * clamp01(random01)));
  return milliseconds(std::clamp(static_cast<Rep>(std::ceil(jittered)), floor, cap));
}

milliseconds retry_after_or_backoff(std::optional<milliseconds> retry_after, int attempt, milliseconds base,
                                    milliseconds cap, double random01) {
  if (retry_after) return std::clamp(*retry_after, milliseconds::zero(), kMaxRetryAfter);
  return backoff_delay(attempt, base, cap, random01);
}

}  // namespace reelbatch
