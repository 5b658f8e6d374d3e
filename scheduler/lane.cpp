#include "scheduler/lane.hpp"

#include <algorithm>

namespace reelbatch {

Lane::Lane(int max_in_flight) : max_in_flight_(std::max(0, max_in_flight)) {}

bool Lane::push(std::int64_t job_id, int priority, std::int64_t seq) {
  const Key key{-static_cast<std::int64_t>(priority), seq, job_id};
  auto [it, inserted] = keys_.try_emplace(job_id, key);
  if (!inserted) {
    queue_.erase(it->second);
    it->second = key;
  }
  queue_.insert(key);
  return inserted;
}

std::optional<std::int64_t> Lane::admit() {
  if (paused_ || in_flight_ >= max_in_flight_ || queue_.empty()) return std::nullopt;
  const std::int64_t job_id = std::get<2>(*queue_.begin());
  queue_.erase(queue_.begin());
  keys_.erase(job_id);
  ++in_flight_;
  return job_id;
}

void Lane::occupy() { ++in_flight_; }

void Lane::release() {
  if (in_flight_ > 0) --in_flight_;
}

void Lane::set_paused(bool paused) { paused_ = paused; }

bool Lane::erase(std::int64_t job_id) {
  const auto it = keys_.find(job_id);
  if (it == keys_.end()) return false;
  queue_.erase(it->second);
  keys_.erase(it);
  return true;
}

void Lane::set_max_in_flight(int max_in_flight) { max_in_flight_ = std::max(0, max_in_flight); }

}  // namespace reelbatch
