// The one-line progress of `reelbatch run` / `reelbatch submit --wait`.
// Pure: the caller measures, this formats.
#pragma once

#include <cstdint>
#include <string>

namespace reelbatch {

/// One progress measurement.
struct ProgressSample {
  std::int64_t elapsed_s = 0;  ///< seconds since the command started waiting
  std::int64_t total = 0;      ///< rows in the batches
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;     ///< failed + cancelled
  std::int64_t waiting = 0;    ///< held, or pending on a paused profile
  std::int64_t done_at_start = 0;  ///< succeeded + failed when waiting began (for the rate)
  double credits = 0;          ///< spent so far, in the profiles' credit units
};

/// "[mm:ss] 12/40 30% ok 10 fail 2 wait 0 3.2/min ETA 8:45 12.50 cr": rows
/// finished of total, percent, rate of rows finished per minute since
/// waiting began (omitted until one finished), ETA of the rest at that rate
/// (h:mm:ss above an hour; "ETA -" without a rate), credits. Never longer
/// than 79 characters (fields are dropped from the right, then the line is
/// cut). Never throws.
std::string format_progress(const ProgressSample& s);

}  // namespace reelbatch
