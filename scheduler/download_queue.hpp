// Download ordering: earliest URL expiry first, so no output is lost to an
// expired link; a row that failed a try waits out its backoff (not_before)
// without holding a download worker. No I/O; time is passed in. Implements
// DESIGN.md, "Invariants" 4 (before expiry).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace reelbatch {

/// Jobs whose outputs await download, ordered earliest-deadline-first by the
/// expiry of their signed URLs; equal expiries keep push order (FIFO). A job
/// may carry a not-before time (steady clock): it is not popped earlier. A
/// job id is queued at most once. Not thread-safe.
class DownloadQueue {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using steady_point = std::chrono::steady_clock::time_point;

  /// Queues job `job_id` whose URLs expire at `url_expires_at` (wall clock),
  /// to be popped no earlier than `not_before` (steady clock; the default,
  /// the clock's epoch, means at once). If the job is already queued, its
  /// expiry and not-before are replaced and it is ordered as if pushed now
  /// among equal expiries; it never appears twice, so it is never downloaded
  /// twice at once. Returns true when the job was not queued before.
  bool push(std::int64_t job_id, time_point url_expires_at, steady_point not_before = {});

  /// Removes and returns the job with the earliest expiry among those whose
  /// not-before is <= `now` (FIFO among equal expiries), or nullopt when none
  /// is ready.
  std::optional<std::int64_t> pop(steady_point now);

  /// pop() ignoring not-before times: the earliest expiry of all queued jobs.
  std::optional<std::int64_t> pop() { return pop(steady_point::max()); }

  /// The earliest not-before among queued jobs that are not ready at `now`,
  /// or nullopt when there are none (every queued job is ready, or none).
  std::optional<steady_point> next_ready_after(steady_point now) const;

  /// Removes queued job `job_id` (e.g. cancelled). Returns true if it was queued.
  bool erase(std::int64_t job_id);

  /// Number of queued jobs (ready or waiting).
  std::size_t size() const { return keys_.size(); }

  /// True when no job is queued.
  bool empty() const { return keys_.empty(); }

 private:
  // (expiry, push sequence, job_id): std::set's ascending order is pop order.
  using Key = std::tuple<time_point, std::uint64_t, std::int64_t>;
  struct Entry {
    Key key;
    steady_point not_before;
  };

  std::set<Key> queue_;                             // every queued job, EDF order
  std::multimap<steady_point, std::int64_t> wait_;  // not_before -> job (future ones only matter)
  std::map<std::int64_t, Entry> keys_;              // job_id -> its entry
  std::uint64_t next_seq_ = 0;

  void drop_wait(std::int64_t job_id, steady_point not_before);
};

/// True when a URL expiring at `expires_at` must be refreshed (the task
/// re-queried for new links) before downloading at `now`: it has expired or
/// expires within `margin` (expires_at <= now + margin). `margin` >= 0
/// seconds (negative counts as 0). Never throws.
bool needs_refresh(std::chrono::system_clock::time_point expires_at, std::chrono::system_clock::time_point now,
                   std::chrono::seconds margin);

}  // namespace reelbatch
