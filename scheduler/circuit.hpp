// A per-profile circuit breaker (issue 7, "Behaviour wanted": "per-profile
// circuit: open after repeated failures, half-open probe, rows wait, other
// profiles run"). Pure: the caller passes the time; no I/O, no sleeping.
//
// closed ──K consecutive transient failures──▶ open ──cool-down over──▶ half_open
//   ▲                                          ▲                          │ one probe
//   └────────────── probe (or any request) succeeds ◀─────────────────────┤
//                                              └─── probe fails (cool-down doubles, capped)
//
// Only transient failures count (transport errors, 5xx, timeouts: the
// classes retryable and unknown_outcome); a permanent answer, a 429 (the
// throttle handles those) or an auth / credit answer is an answer from a
// working provider and neither opens nor keeps open the circuit.
#pragma once

#include <chrono>
#include <string>

namespace reelbatch {

/// The breaker's limits. Durations in milliseconds.
struct CircuitPolicy {
  /// Consecutive transient failures of a profile's requests that open the
  /// circuit, >= 1 (values below 1 count as 1). Default 5.
  int failure_threshold = 5;
  /// First cool-down before the half-open probe. Default 15 s.
  std::chrono::milliseconds cooldown_base{15000};
  /// The cool-down doubles after every failed probe, up to this. Default 5 min.
  std::chrono::milliseconds cooldown_cap{300000};
};

/// One profile's circuit. Not thread-safe (one io_context thread uses it).
class Circuit {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  enum class State { closed, open, half_open };

  explicit Circuit(CircuitPolicy policy = {}) : policy_(policy) {}

  /// Whether a request may start at `now`. closed: always. open: false until
  /// the cool-down ends; then the circuit turns half_open and the first call
  /// gets true (the probe) and later calls false until the probe reports
  /// through on_success() / on_failure(), or until cooldown_base passed
  /// since the probe was granted (a probe whose caller never reported is
  /// replaced by the next caller). Never throws.
  bool allow(time_point now);

  /// A request of the profile got an answer from a working provider: closes
  /// the circuit, resets the failure count and the cool-down. Never throws.
  void on_success();

  /// A request failed transiently at `now`: counts it; at failure_threshold
  /// consecutive failures the circuit opens for the current cool-down. A
  /// failed probe reopens it with the cool-down doubled (capped). Failures
  /// reported while open (requests started before it opened) change nothing.
  /// Never throws.
  void on_failure(time_point now);

  /// The state at `now` (open turns half_open once the cool-down ended,
  /// without taking the probe). Never throws.
  State state(time_point now) const;

  /// When the current cool-down ends (meaningful while open).
  time_point reopens_at() const { return reopens_at_; }

  /// Consecutive transient failures counted since the last success.
  int consecutive_failures() const { return failures_; }

  /// How many times the circuit opened since construction.
  int times_opened() const { return opened_; }

 private:
  void open(time_point now);

  CircuitPolicy policy_;
  State state_ = State::closed;
  int failures_ = 0;
  int opened_ = 0;
  int probes_failed_ = 0;  // failed probes since the circuit last closed (cool-down exponent)
  bool probe_out_ = false;
  time_point reopens_at_{};
  time_point probe_expires_at_{};
};

/// "closed", "open", "half_open". Never null.
const char* to_string(Circuit::State s);

}  // namespace reelbatch
