// Retry and polling delays, and the Retry-After header. Pure functions: the
// randomness is passed in as a number in [0, 1), the clock as a time point.
// Implements DESIGN.md, "Data flow" (poll with backoff) and "Invariants" 3
// (zero 429s caused by us: honour Retry-After).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace reelbatch {

/// The longest wait retry_after_or_backoff() accepts from a server.
inline constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::minutes(10);

/// Delay before retry number `attempt` (0-based: 0 is the wait after the
/// first failure): exponential backoff with "equal jitter".
///   exp   = min(cap, base * 2^attempt)
///   delay = exp/2 + random01 * exp/2,   so delay is in [exp/2, exp]
/// `base`, `cap`: >= 0 (negative values count as 0); when cap < base the cap
/// wins. `attempt` < 0 counts as 0; large attempts saturate at `cap` without
/// overflow. `random01` in [0, 1) (clamped to [0, 1]; NaN counts as 0).
/// Returns whole milliseconds, never negative. Never throws.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap, double random01);

/// How often to query a running remote task (a profile's poll settings or the
/// provider's documented suggestion).
struct PollSchedule {
  std::chrono::milliseconds first_wait{5000};     ///< before the first query, >= 0
  std::chrono::milliseconds interval{5000};       ///< between queries while the state changes, > 0
  std::chrono::milliseconds max_interval{10000};  ///< cap for the growing interval, >= interval
  double growth = 1.5;  ///< factor per query without a state change, >= 1 (below 1 counts as 1)
  /// The provider document's minimum spacing between two status queries of
  /// one task (the lower end of its recommended polling interval: juhuo
  /// 5-10 s, turing 20-30 s, vibegen 5-10 s, seedance2 5-10 s, openai relay
  /// "后续 8~15 秒查一次"); every delay after a query is at least this. 0: none.
  std::chrono::milliseconds min_interval{0};
};

/// Delay before the next status query of one task.
/// - `polls_done` == 0 (no query yet): exactly `s.first_wait`.
/// - otherwise, with floor = max(interval, min_interval) and
///   cap = max(max_interval, floor):
///   d = clamp(interval * growth^polls_since_state_change, floor, cap),
///   then jittered upward only, by up to +10% but not beyond cap
///   (min(cap, d * (1 + 0.1 * random01)), rounded up to whole ms).
///   So the spacing is never below the documented minimum (issue 7 item 9:
///   openai's second poll came 7.2 s after the first, document: 8-15 s).
/// `polls_done`, `polls_since_state_change` >= 0 (negatives count as 0);
/// `random01` in [0, 1) (clamped). Returns whole milliseconds in
/// [floor, cap]. Never throws.
std::chrono::milliseconds next_poll_delay(const PollSchedule& s, int polls_done, int polls_since_state_change,
                                          double random01);

/// The wait after a rejected request: the server's Retry-After when it sent
/// one (negative counts as 0, capped at kMaxRetryAfter = 10 min), otherwise
/// backoff_delay(attempt, base, cap, random01). Never throws.
std::chrono::milliseconds retry_after_or_backoff(std::optional<std::chrono::milliseconds> retry_after, int attempt,
                                                 std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                                 double random01);

}  // namespace reelbatch
