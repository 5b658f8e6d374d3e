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

/// The poll budget of profile `c` (status queries, task-list reads, link
/// refreshes): RateWindow::per_minute(poll_per_minute, kBudgetMargin), seeded
/// like the submit window from the query times `store` kept for the profile
/// (JobStore::poll_times_since, written by save_poll_window()). Throws
/// std::invalid_argument as above, StoreError when the store cannot be read.
RateWindow make_poll_window(const ProfileConfig& c, const Clock& clock, const JobStore& store);

/// Persists the grants of `window` (a profile's poll budget) that are due by
/// now (<= clock.now(): sent, or about to be) and later than `saved_through`,
/// as Unix ms on the store's clock (JobStore::record_poll_times, which also
/// prunes times older than two minutes), then moves `saved_through` to the
/// latest grant written. Grants still in the future are left for the next
/// call (a stop may keep them from being sent).
///
/// Cost and trade-off: the engine calls this from its lease heartbeat
/// (every lease_ttl / 3, 10 s by default) and once at a clean stop, not per
/// poll, so polling adds no write of its own on the event loop: one short
/// transaction of at most `poll_per_minute` rows per heartbeat. A crash
/// (kill -9) loses the queries since the last heartbeat, so a restart right
/// after it may poll up to one heartbeat's worth early; a clean stop loses
/// nothing. Throws what JobStore::record_poll_times throws.
void save_poll_window(const std::string& profile, const RateWindow& window, SteadyTime& saved_through,
                      const Clock& clock, JobStore& store);

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
