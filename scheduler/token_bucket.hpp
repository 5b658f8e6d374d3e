// A request-rate limiter for one provider profile (submit or poll requests),
// with the clock passed in: no sleeping, no I/O. Implements DESIGN.md,
// "Invariants" 3 (within budget: submit_per_minute / poll_per_minute).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

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

/// The exact request budget of one provider profile (submit or poll
/// requests), DESIGN.md "Invariants" 3 and issue 7 item 9: at most `limit`
/// requests in any rolling window of `window`, also across restarts (the
/// caller seeds the grants of the last window with record()).
///
/// reserve() returns evenly paced proceed times:
///   g_k = max(now, g_{k-1} + spacing, g_{k-limit} + span)
/// where span = window + margin + 1 clock tick and spacing =
/// ceil(span / limit) (whole ticks). There is no initial burst and no token
/// saved up over idle time (the old bucket's initial token let N + 1
/// requests land within 60 s).
///
/// Guarantee (proof): every grant satisfies g_k >= g_{k-limit} + span: by
/// the third term directly (it looks back over the latest `limit` grants,
/// recorded ones included), and for a run of reserve() grants also because
/// limit × spacing >= span. Grants are non-decreasing. Suppose some closed
/// window [t, t + window + margin] held limit + 1 grants g_j <= ... <=
/// g_{j+limit} with g_{j+limit} a reserve() grant: then g_{j+limit} - g_j
/// <= window + margin < span, a contradiction. So every closed window of
/// length window + margin (a fortiori of length `window`) holds at most
/// `limit` grants. Recorded grants (record()) count like granted ones, so
/// after a restart the first new grant waits until the window that began
/// before the restart allows it.
///
/// `margin` (>= 0) absorbs the difference between when the caller is told to
/// proceed and when the provider sees the request (connection set-up,
/// scheduling): a request that arrives up to `margin` later than its
/// predecessors still keeps the provider's own count at or below `limit`.
///
/// `now` must not decrease from call to call; an earlier `now` is treated as
/// the latest one seen. Not thread-safe (one io_context thread uses it).
class RateWindow {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// `limit` >= 1 requests per `window` (> 0); `margin` >= 0. Throws
  /// std::invalid_argument otherwise.
  RateWindow(std::size_t limit, clock::duration window, clock::duration margin = {});

  /// The budget of a profile setting "`per_minute` requests per minute"
  /// (> 0, finite; std::invalid_argument otherwise): limit = floor(per_minute)
  /// per 60 s when per_minute >= 1 (a fraction is never rounded up: 10.5
  /// allows 10), else 1 per ceil(60 s / per_minute).
  static RateWindow per_minute(double per_minute, clock::duration margin = {});

  /// Takes the next grant and returns when the caller may send its request
  /// (>= now). The caller must honour it (sleep until then).
  time_point reserve(time_point now);

  /// Records a request sent at `at` outside reserve() (before a restart, read
  /// from the store): later grants keep the window bound with it included.
  /// Any order; only the latest `limit` records matter.
  void record(time_point at);

  /// Grants (reserved or recorded, among the latest `limit`) g with
  /// t - (window + margin) < g <= t. For logs and tests.
  std::size_t in_window(time_point t) const;

  std::size_t limit() const { return limit_; }
  clock::duration window() const { return window_; }
  clock::duration margin() const { return margin_; }
  /// The latest `limit` grants (reserved or recorded), ascending; a reserved
  /// grant may lie in the future. For persisting the window across restarts.
  const std::deque<time_point>& grants() const { return grants_; }
  /// The pacing between two reserve() grants: ceil((window + margin + 1 tick) / limit).
  clock::duration spacing() const { return spacing_; }

 private:
  std::size_t limit_;
  clock::duration window_;
  clock::duration margin_;
  clock::duration span_;
  clock::duration spacing_;
  std::deque<time_point> grants_;  // the latest `limit_` grants, ascending
  time_point last_now_{};
};

}  // namespace reelbatch
