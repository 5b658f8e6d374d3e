#include "src/engine/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace reelbatch {
namespace asio = boost::asio;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

class SystemTimer final : public Timer {
 public:
  explicit SystemTimer(asio::any_io_executor ex) : timer_(std::move(ex)) {}
  asio::awaitable<void> async_wait_until(SteadyTime deadline) override {
    timer_.expires_at(deadline);
    co_await timer_.async_wait(kTuple);
  }
  void cancel() override { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

class SystemClock final : public Clock {
 public:
  explicit SystemClock(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::unique_ptr<Timer> make_timer() override { return std::make_unique<SystemTimer>(ex_); }

 private:
  asio::any_io_executor ex_;
};

}  // namespace

std::unique_ptr<Clock> make_system_clock(asio::any_io_executor ex) {
  return std::make_unique<SystemClock>(std::move(ex));
}

class ManualClock::ManualTimer final : public Timer {
 public:
  ManualTimer(ManualClock& clock) : clock_(clock), timer_(clock.ex_, SteadyTime::max()) {}
  ~ManualTimer() override { unregister(); }

  asio::awaitable<void> async_wait_until(SteadyTime deadline) override {
    if (deadline <= clock_.now_) co_return;
    unregister();
    pos_ = clock_.waiting_.emplace(deadline, this);
    registered_ = true;
    timer_.expires_at(SteadyTime::max());
    co_await timer_.async_wait(kTuple);
    unregister();
  }
  void cancel() override {
    unregister();
    timer_.cancel();
  }
  // Called by the clock when due: already removed from waiting_.
  void fire() {
    registered_ = false;
    timer_.cancel();
  }

 private:
  void unregister() {
    if (!registered_) return;
    clock_.waiting_.erase(pos_);
    registered_ = false;
  }
  ManualClock& clock_;
  asio::steady_timer timer_;
  std::multimap<SteadyTime, ManualTimer*>::iterator pos_;
  bool registered_ = false;
};

ManualClock::ManualClock(asio::any_io_executor ex, SteadyTime start, std::int64_t unix_start_ms)
    : ex_(std::move(ex)), start_(start), now_(start), unix_start_ms_(unix_start_ms) {}

ManualClock::~ManualClock() = default;

std::int64_t ManualClock::unix_ms() const {
  return unix_start_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(now_ - start_).count();
}

std::unique_ptr<Timer> ManualClock::make_timer() { return std::make_unique<ManualTimer>(*this); }

void ManualClock::fire_due() {
  while (!waiting_.empty() && waiting_.begin()->first <= now_) {
    ManualTimer* t = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    t->fire();
  }
}

bool ManualClock::advance_to_next() {
  if (waiting_.empty()) return false;
  now_ = std::max(now_, waiting_.begin()->first);
  fire_due();
  return true;
}

void ManualClock::advance(std::chrono::milliseconds d) {
  now_ += d;
  fire_due();
}

}  // namespace reelbatch
