#include "scheduler/download_queue.hpp"

#include <algorithm>

namespace reelbatch {

bool DownloadQueue::push(std::int64_t job_id, time_point url_expires_at) {
  const Key key{url_expires_at, next_seq_++, job_id};
  auto [it, inserted] = keys_.try_emplace(job_id, key);
  if (!inserted) {
    queue_.erase(it->second);
    it->second = key;
  }
  queue_.insert(key);
  return inserted;
}

std::optional<std::int64_t> DownloadQueue::pop() {
  if (queue_.empty()) return std::nullopt;
  const std::int64_t job_id = std::get<2>(*queue_.begin());
  queue_.erase(queue_.begin());
  keys_.erase(job_id);
  return job_id;
}

bool DownloadQueue::erase(std::int64_t job_id) {
  const auto it = keys_.find(job_id);
  if (it == keys_.end()) return false;
  queue_.erase(it->second);
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
