// The engine's clock and timer seam: the real steady clock and Asio timers
// in production, a ManualClock in unit tests so stage logic runs with
// virtual time (no sleeping), in the manner of Boost.MySQL's mock_timer.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

namespace reelbatch {

using SteadyTime = std::chrono::steady_clock::time_point;

/// One waitable timer. Not thread-safe: used on the engine's executor.
class Timer {
 public:
  virtual ~Timer() = default;
  /// Waits until `deadline` (steady clock) or until cancel(). Returns in both
  /// cases; callers re-check their condition. A per-operation (terminal)
  /// cancellation of the awaiting coroutine ends the wait too; the
  /// coroutine's next co_await then throws boost::system::system_error
  /// (operation_aborted), as Asio's awaitable does.
  virtual boost::asio::awaitable<void> async_wait_until(SteadyTime deadline) = 0;
  /// Ends the current wait, if any, at once.
  virtual void cancel() = 0;
};

/// Time for the engine: a monotonic clock for scheduling and the wall clock
/// (Unix ms) for what is stored.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
  /// Wall-clock time, Unix milliseconds.
  virtual std::int64_t unix_ms() const = 0;
  /// A new timer on the clock's executor.
  virtual std::unique_ptr<Timer> make_timer() = 0;
};

/// std::chrono::steady_clock / system_clock and Asio steady_timers on `ex`.
std::unique_ptr<Clock> make_system_clock(boost::asio::any_io_executor ex);

/// A clock that moves only when told to. Timers wait on Asio timers that
/// never expire by themselves; advance_to_next() wakes the earliest. A test
/// runs the io_context until idle (io.poll()), then advances, and repeats.
class ManualClock final : public Clock {
 public:
  /// Starts at steady time `start` and Unix time `unix_start_ms`.
  explicit ManualClock(boost::asio::any_io_executor ex, SteadyTime start = SteadyTime{} + std::chrono::hours(1),
                       std::int64_t unix_start_ms = 1'800'000'000'000);
  ~ManualClock() override;

  SteadyTime now() const override { return now_; }
  std::int64_t unix_ms() const override;
  std::unique_ptr<Timer> make_timer() override;

  /// Moves time to the earliest pending deadline (never backwards) and wakes
  /// every timer due by then. Returns false (time unchanged) when no timer
  /// waits.
  bool advance_to_next();
  /// Moves time forward by `d` and wakes every timer due by then.
  void advance(std::chrono::milliseconds d);
  /// Timers currently waiting.
  std::size_t waiting() const { return waiting_.size(); }

 private:
  class ManualTimer;
  friend class ManualTimer;
  void fire_due();

  boost::asio::any_io_executor ex_;
  SteadyTime start_;
  SteadyTime now_;
  std::int64_t unix_start_ms_;
  std::multimap<SteadyTime, ManualTimer*> waiting_;
};

}  // namespace reelbatch
