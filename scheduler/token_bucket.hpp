// A request-rate limiter for one provider profile (submit or poll requests),
// with the clock passed in: no sleeping, no I/O. Implements DESIGN.md,
// "Invariants" 3 (within budget: submit_per_minute / poll_per_minute).
#pragma once

#include <chrono>
#include <cstdint>

namespace reelbatch {

/// A token bucket that grants reservations instead of refusing them: a
/// caller that finds the bucket empty takes a token on credit (the bucket
/// goes into debt) and is told when it may proceed.
///
/// Tokens refill continuously at `rate_per_minute` up to `capacity` (the
/// burst). Granted proceed times never decrease, and once the bucket is in
/// debt successive grants are exactly one interval (60 s / rate, rounded up
/// to the clock's tick) apart.
///
/// Guarantee, while the rate is unchanged: over any window [t, t + W], the
/// number of reserve() calls whose returned proceed time lies in the window
/// is at most capacity + rate_per_minute * W / 1 min. It holds exactly
/// (integer clock ticks; the interval is rounded up, the burst down).
///
/// `now` must not decrease from call to call; an earlier `now` is treated as
/// the latest one seen. Not thread-safe (one io_context thread uses it).
class TokenBucket {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// A full bucket (`capacity` tokens available at `now`).
  /// `rate_per_minute` > 0 tokens per minute, at least one per 30 years;
  /// `capacity` >= 1 tokens (the largest burst). Throws std::invalid_argument
  /// otherwise (also for NaN).
  TokenBucket(double rate_per_minute, double capacity, time_point now);

  /// Takes one token and returns the instant at which the caller may send
  /// its request: `now` when a token was available, otherwise the instant
  /// the debt incurred by this and earlier reservations is paid back.
  /// The caller must honour the returned time (sleep until it) or the
  /// guarantee is about requests nobody made.
  time_point reserve(time_point now);

  /// Tokens available at `now`, in [.., capacity]; negative while in debt
  /// (-2.5 means 3.5 intervals must pass before a reservation proceeds at
  /// once). Does not change the bucket.
  double available(time_point now) const;

  /// Changes the refill rate from `now` on (e.g. a provider's documented
  /// limit learnt at run time). Keeps the current token level, including
  /// debt, which is then paid back at the new rate; proceed times already
  /// returned are not revised, so the window guarantee spans the change
  /// only approximately. `per_minute` as in the constructor; throws
  /// std::invalid_argument otherwise, leaving the bucket unchanged.
  void set_rate(double per_minute, time_point now);

  /// The current rate in tokens per minute, as given.
  double rate_per_minute() const { return rate_per_minute_; }

  /// The burst size in tokens, as given.
  double capacity() const { return capacity_; }

 private:
  using ticks = clock::duration;

  // Moves `empty_at_` forward so that the level at `now` is at most capacity.
  void refill(time_point now);

  double rate_per_minute_;
  double capacity_;
  ticks interval_;    // time to earn one token, rounded up
  ticks burst_span_;  // capacity * interval_, rounded down
  // The instant at which the token level is (or was, or will be) zero:
  // level(t) = min(capacity, (t - empty_at_) / interval_).
  time_point empty_at_;
  time_point last_now_;
};

}  // namespace reelbatch
