// The one-line progress of `reelbatch run` / `reelbatch submit --wait`, and
// spend lines. Pure: the caller measures, this formats.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace reelbatch {

/// Credits per credit unit ("juhuo credits" -> 12.5). Each provider bills
/// in its own unit: figures are never added across units (issue 9).
using SpendByUnit = std::map<std::string, double>;

/// One progress measurement.
struct ProgressSample {
  std::int64_t elapsed_s = 0;  ///< seconds since the command started waiting
  std::int64_t total = 0;      ///< rows in the batches
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;     ///< failed + cancelled
  std::int64_t waiting = 0;    ///< held, or pending on a paused profile
  std::int64_t done_at_start = 0;  ///< succeeded + failed when waiting began (for the rate)
  SpendByUnit credits;         ///< spent by this run so far, per credit unit
};

/// "[mm:ss] 12/40 30% ok 10 fail 2 wait 0 3.2/min ETA 8:45 12.50 juhuo cr":
/// rows finished of total, percent, rate of rows finished per minute since
/// waiting began (omitted until one finished), ETA of the rest at that rate
/// (h:mm:ss above an hour; "ETA -" without a rate), then the credits spent
/// per unit (a unit's " credits" suffix shortened to " cr"; nothing when
/// none were spent). Never longer than 79 characters (fields are dropped
/// from the right, then the line is cut). Never throws.
std::string format_progress(const ProgressSample& s);

/// "12.50 juhuo credits, 3.00 seedance2 credits" (units in name order),
/// "none" when empty. Never throws beyond allocation.
std::string format_spend(const SpendByUnit& spend);

/// `now - before`, per unit (units whose difference is 0 are dropped).
SpendByUnit spend_difference(const SpendByUnit& now, const SpendByUnit& before);

}  // namespace reelbatch
