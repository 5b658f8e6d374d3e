// Download ordering: earliest URL expiry first, so no output is lost to an
// expired link. No I/O; time is passed in. Implements DESIGN.md,
// "Invariants" 4 (before expiry).
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
/// id is queued at most once. Not thread-safe.
class DownloadQueue {
 public:
  using time_point = std::chrono::system_clock::time_point;

  /// Queues job `job_id` whose URLs expire at `url_expires_at` (wall clock).
  /// If the job is already queued, its expiry is replaced (after a URL
  /// refresh) and it is ordered as if pushed now among equal expiries; it
  /// never appears twice, so it is never downloaded twice at once.
  /// Returns true when the job was not queued before.
  bool push(std::int64_t job_id, time_point url_expires_at);

  /// Removes and returns the job with the earliest expiry (FIFO among equal
  /// expiries), or nullopt when empty.
  std::optional<std::int64_t> pop();

  /// Removes queued job `job_id` (e.g. cancelled). Returns true if it was queued.
  bool erase(std::int64_t job_id);

  /// Number of queued jobs.
  std::size_t size() const { return queue_.size(); }

  /// True when no job is queued.
  bool empty() const { return queue_.empty(); }

 private:
  // (expiry, push sequence, job_id): std::set's ascending order is pop order.
  using Key = std::tuple<time_point, std::uint64_t, std::int64_t>;

  std::set<Key> queue_;
  std::map<std::int64_t, Key> keys_;  // job_id -> its key in queue_
  std::uint64_t next_seq_ = 0;
};

/// True when a URL expiring at `expires_at` must be refreshed (the task
/// re-queried for new links) before downloading at `now`: it has expired or
/// expires within `margin` (expires_at <= now + margin). `margin` >= 0
/// seconds (negative counts as 0). Never throws.
bool needs_refresh(std::chrono::system_clock::time_point expires_at, std::chrono::system_clock::time_point now,
                   std::chrono::seconds margin);

}  // namespace reelbatch
