#include "scheduler/circuit.hpp"

#include "scheduler/backoff.hpp"

#include <algorithm>

namespace reelbatch {

bool Circuit::allow(time_point now) {
  if (state_ == State::open && now >= reopens_at_) {
    state_ = State::half_open;
    probe_out_ = false;
  }
  switch (state_) {
    case State::closed: return true;
    case State::open: return false;
    case State::half_open:
      // A probe that never reported (its caller stopped) is replaced after
      // one base cool-down, so the circuit cannot stay half-open for good.
      if (probe_out_ && now < probe_expires_at_) return false;
      probe_out_ = true;
      probe_expires_at_ = now + std::max(policy_.cooldown_base, std::chrono::milliseconds(1));
      return true;
  }
  return false;
}

void Circuit::on_success() {
  state_ = State::closed;
  failures_ = 0;
  probes_failed_ = 0;
  probe_out_ = false;
}

void Circuit::on_failure(time_point now) {
  switch (state_) {
    case State::open:
      return;  // a request that started before the circuit opened
    case State::half_open:
      ++failures_;
      ++probes_failed_;
      open(now);
      return;
    case State::closed:
      ++failures_;
      if (failures_ >= std::max(1, policy_.failure_threshold)) open(now);
      return;
  }
}

void Circuit::open(time_point now) {
  state_ = State::open;
  probe_out_ = false;
  ++opened_;
  // backoff_delay(n, base, cap, 1.0) is exactly min(cap, base * 2^n).
  const auto cooldown = backoff_delay(probes_failed_, policy_.cooldown_base, policy_.cooldown_cap, 1.0);
  reopens_at_ = now + cooldown;
}

Circuit::State Circuit::state(time_point now) const {
  if (state_ == State::open && now >= reopens_at_) return State::half_open;
  return state_;
}

const char* to_string(Circuit::State s) {
  switch (s) {
    case Circuit::State::closed: return "closed";
    case Circuit::State::open: return "open";
    case Circuit::State::half_open: return "half_open";
  }
  return "unknown";
}

}  // namespace reelbatch
