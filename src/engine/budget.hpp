// Internal to src/engine: a profile's request budgets and poll schedule, as
// the engine builds them at start (issue 7 item 9, DESIGN.md "Invariants" 3).
#pragma once

#include "config/config.hpp"
#include "providers/provider.hpp"
#include "scheduler/backoff.hpp"
#include "scheduler/token_bucket.hpp"
#include "src/engine/clock.hpp"
#include "storage/job_store.hpp"

#include <chrono>

namespace reelbatch {

/// The margin every budget window adds to its 60 s (RateWindow's
/// `margin`): a request sent up to this much later than its predecessors,
/// counted on arrival by the provider, still keeps the provider's count
/// within the configured limit.
inline constexpr std::chrono::milliseconds kBudgetMargin{1000};

/// The submit budget of profile `c`: RateWindow::per_minute(submit_per_minute,
/// kBudgetMargin), with the submit attempts `store` recorded for the profile
/// within the last window (JobStore::submit_times_since) recorded into it, so
/// that a restart does not start the window afresh. Stored Unix times are
/// mapped onto `clock`'s steady time by their age on the store's clock
/// (now_ms() − t). Throws std::invalid_argument for a rate the config should
/// have refused, StoreError when the store cannot be read.
RateWindow make_submit_window(const ProfileConfig& c, const Clock& clock, const JobStore& store);

/// The poll budget of profile `c`: RateWindow::per_minute(poll_per_minute,
/// kBudgetMargin). Status queries are not stored, so this window starts
/// empty at each start. Throws std::invalid_argument as above.
RateWindow make_poll_window(const ProfileConfig& c);

/// The poll schedule of `provider`: effective_poll() (its document's
/// suggestion, overridden by the profile's poll_* settings). Unless the
/// profile sets poll_interval explicitly (an operator's choice, e.g. to
/// poll a time-compressed emulator), min_interval = the adapter's
/// default_poll().interval, which every adapter sets to the lower end of its
/// document's recommended spacing (juhuo, vibegen, seedance2 5 s, turing
/// 20 s, openai 8 s): with next_poll_delay()'s upward-only jitter, polls are
/// then never closer than the document allows.
PollSchedule make_poll_schedule(const Provider& provider);

}  // namespace reelbatch
