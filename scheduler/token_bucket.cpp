#include "scheduler/token_bucket.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace reelbatch {

namespace {

using ticks = TokenBucket::clock::duration;

// Longest interval or burst span we represent: about 31.7 years of
// nanoseconds, far from the 292-year range of a 64-bit nanosecond clock.
constexpr double kMaxSpanTicks = 1e18;

double ticks_per_minute() {
  return static_cast<double>(std::chrono::duration_cast<ticks>(std::chrono::minutes(1)).count());
}

// Time to earn one token, rounded up to a whole tick so that the effective
// rate never exceeds the configured one.
ticks interval_for(double rate_per_minute) {
  if (!(rate_per_minute > 0) || !std::isfinite(rate_per_minute))
    throw std::invalid_argument("TokenBucket: rate_per_minute must be a finite number > 0 (got " +
                                std::to_string(rate_per_minute) + ")");
  const double t = std::ceil(ticks_per_minute() / rate_per_minute);
  if (t > kMaxSpanTicks)
    throw std::invalid_argument("TokenBucket: rate_per_minute is below one per 30 years (got " +
                                std::to_string(rate_per_minute) + ")");
  return ticks(std::max<ticks::rep>(1, static_cast<ticks::rep>(t)));
}

// capacity * interval, rounded down so that the burst never exceeds capacity.
ticks burst_for(double capacity, ticks interval) {
  const double span = std::floor(capacity * static_cast<double>(interval.count()));
  return ticks(static_cast<ticks::rep>(std::min(span, kMaxSpanTicks)));
}

void check_capacity(double capacity) {
  if (!(capacity >= 1))
    throw std::invalid_argument("TokenBucket: capacity must be >= 1 (got " + std::to_string(capacity) + ")");
}

}  // namespace

TokenBucket::TokenBucket(double rate_per_minute, double capacity, time_point now)
    : rate_per_minute_(rate_per_minute),
      capacity_(capacity),
      interval_(interval_for(rate_per_minute)),
      burst_span_((check_capacity(capacity), burst_for(capacity, interval_))),
      empty_at_(now - burst_span_),
      last_now_(now) {}

void TokenBucket::refill(time_point now) {
  last_now_ = std::max(last_now_, now);
  empty_at_ = std::max(empty_at_, last_now_ - burst_span_);
}

TokenBucket::time_point TokenBucket::reserve(time_point now) {
  refill(now);
  empty_at_ += interval_;
  return std::max(last_now_, empty_at_);
}

double TokenBucket::available(time_point now) const {
  const time_point t = std::max(last_now_, now);
  const double level =
      static_cast<double>((t - empty_at_).count()) / static_cast<double>(interval_.count());
  return std::min(capacity_, level);
}

void TokenBucket::set_rate(double per_minute, time_point now) {
  const ticks new_interval = interval_for(per_minute);  // may throw: nothing changed yet
  const ticks new_burst = burst_for(capacity_, new_interval);
  refill(now);
  const double level = available(last_now_);
  // Round so that the new empty instant is never earlier than exact (no
  // tokens are created by the change).
  const double shift = std::floor(level * static_cast<double>(new_interval.count()));
  empty_at_ = last_now_ - ticks(static_cast<ticks::rep>(shift));
  rate_per_minute_ = per_minute;
  interval_ = new_interval;
  burst_span_ = new_burst;
}

// ---- RateWindow ----------------------------------------------------------------

RateWindow::RateWindow(std::size_t limit, clock::duration window, clock::duration margin)
    : limit_(limit), window_(window), margin_(margin) {
  if (limit < 1) throw std::invalid_argument("RateWindow: limit must be >= 1");
  if (window <= clock::duration::zero()) throw std::invalid_argument("RateWindow: window must be > 0");
  if (margin < clock::duration::zero()) throw std::invalid_argument("RateWindow: margin must be >= 0");
  if (window.count() > static_cast<clock::rep>(kMaxSpanTicks) || margin.count() > static_cast<clock::rep>(kMaxSpanTicks))
    throw std::invalid_argument("RateWindow: window or margin beyond 30 years");
  span_ = window_ + margin_ + clock::duration(1);  // one tick more: closed windows of window + margin
  const auto n = static_cast<clock::rep>(limit_);
  spacing_ = clock::duration((span_.count() + n - 1) / n);
}

RateWindow RateWindow::per_minute(double per_minute, clock::duration margin) {
  if (!(per_minute > 0) || !std::isfinite(per_minute))
    throw std::invalid_argument("RateWindow: per_minute must be a finite number > 0 (got " +
                                std::to_string(per_minute) + ")");
  if (per_minute >= 1) {
    const double n = std::floor(std::min(per_minute, 1e9));
    return RateWindow(static_cast<std::size_t>(n), std::chrono::minutes(1), margin);
  }
  const double t = std::ceil(ticks_per_minute() / per_minute);
  if (t > kMaxSpanTicks)
    throw std::invalid_argument("RateWindow: per_minute is below one per 30 years (got " + std::to_string(per_minute) +
                                ")");
  return RateWindow(1, clock::duration(static_cast<clock::rep>(t)), margin);
}

RateWindow::time_point RateWindow::reserve(time_point now) {
  last_now_ = std::max(last_now_, now);
  time_point g = last_now_;
  if (!grants_.empty()) g = std::max(g, grants_.back() + spacing_);
  if (grants_.size() >= limit_) g = std::max(g, grants_[grants_.size() - limit_] + span_);
  grants_.push_back(g);
  while (grants_.size() > limit_) grants_.pop_front();
  return g;
}

void RateWindow::record(time_point at) {
  grants_.insert(std::upper_bound(grants_.begin(), grants_.end(), at), at);
  while (grants_.size() > limit_) grants_.pop_front();
}

std::size_t RateWindow::in_window(time_point t) const {
  return static_cast<std::size_t>(
      std::count_if(grants_.begin(), grants_.end(), [&](time_point g) { return g <= t && g > t - span_; }));
}

}  // namespace reelbatch
