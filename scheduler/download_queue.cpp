#include "scheduler/download_queue.hpp"

#include <algorithm>

namespace reelbatch {

void DownloadQueue::drop_wait(std::int64_t job_id, steady_point not_before) {
  auto [b, e] = wait_.equal_range(not_before);
  for (auto it = b; it != e; ++it) {
    if (it->second == job_id) {
      wait_.erase(it);
      return;
    }
  }
}

bool DownloadQueue::push(std::int64_t job_id, time_point url_expires_at, steady_point not_before) {
  const Key key{url_expires_at, next_seq_++, job_id};
  auto [it, inserted] = keys_.try_emplace(job_id, Entry{key, not_before});
  if (!inserted) {
    queue_.erase(it->second.key);
    drop_wait(job_id, it->second.not_before);
    it->second = Entry{key, not_before};
  }
  queue_.insert(key);
  wait_.emplace(not_before, job_id);
  return inserted;
}

std::optional<std::int64_t> DownloadQueue::pop(steady_point now) {
  // EDF among the ready: the first key in expiry order whose not_before has come.
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    const std::int64_t job_id = std::get<2>(*it);
    const auto e = keys_.find(job_id);
    if (e->second.not_before > now) continue;
    drop_wait(job_id, e->second.not_before);
    queue_.erase(it);
    keys_.erase(e);
    return job_id;
  }
  return std::nullopt;
}

std::optional<DownloadQueue::steady_point> DownloadQueue::next_ready_after(steady_point now) const {
  const auto it = wait_.upper_bound(now);
  if (it == wait_.end()) return std::nullopt;
  return it->first;
}

bool DownloadQueue::erase(std::int64_t job_id) {
  const auto it = keys_.find(job_id);
  if (it == keys_.end()) return false;
  queue_.erase(it->second.key);
  drop_wait(job_id, it->second.not_before);
  keys_.erase(it);
  return true;
}

bool needs_refresh(std::chrono::system_clock::time_point expires_at, std::chrono::system_clock::time_point now,
                   std::chrono::seconds margin) {
  // Compare as `expires_at - now <= margin` so extreme time points cannot overflow `now + margin`.
  if (expires_at <= now) return true;
  return expires_at - now <= std::max(margin, std::chrono::seconds::zero());
}

}  // namespace reelbatch
