// Per-profile admission: which pending job goes next, and whether a slot is
// free. No I/O, no clock. Implements DESIGN.md, "Invariants" 3 (at most
// max_in_flight tasks generating per provider account) and "Data flow"
// (the scheduler picks by priority when the lane has a free slot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace reelbatch {

/// A priority queue of pending jobs plus a counting semaphore of in-flight
/// slots for one provider profile.
///
/// Order: higher `priority` first; among equal priorities, lower `seq`
/// (manifest order) first; among equal both, lower job id first. A job id is
/// queued at most once. `in_flight` counts slots taken by admit() and
/// occupy() and not yet given back by release(). Not thread-safe.
class Lane {
 public:
  /// An empty, unpaused lane. `max_in_flight` >= 1 in normal use; 0 admits
  /// nothing, negative counts as 0.
  explicit Lane(int max_in_flight);

  /// Queues pending job `job_id`. If the job is already queued, its priority
  /// and seq are updated instead (it never appears twice, so it can never be
  /// admitted twice). Returns true when the job was not queued before.
  bool push(std::int64_t job_id, int priority, std::int64_t seq);

  /// If a job is queued, the lane is not paused and in_flight() <
  /// max_in_flight(): removes the first job in order, takes a slot
  /// (in_flight() + 1) and returns its id. Otherwise returns nullopt and
  /// changes nothing.
  std::optional<std::int64_t> admit();

  /// Takes a slot for a job that is already in flight without queueing it
  /// (at startup: recovered `submitting` or `running` jobs). May take
  /// in_flight() above max_in_flight(); admit() then waits until enough
  /// slots are released.
  void occupy();

  /// Gives back one slot taken by admit() or occupy(). Precondition:
  /// in_flight() > 0; at 0 it does nothing.
  void release();

  /// Pauses (true) or resumes (false) admission; queued jobs stay queued and
  /// in-flight jobs are not affected.
  void set_paused(bool paused);

  /// True while admission is paused.
  bool paused() const { return paused_; }

  /// Slots currently taken, >= 0.
  int in_flight() const { return in_flight_; }

  /// The slot limit.
  int max_in_flight() const { return max_in_flight_; }

  /// Number of queued (pending, not admitted) jobs.
  std::size_t pending() const { return queue_.size(); }

  /// Removes queued job `job_id` (e.g. cancelled while pending). Returns true
  /// if it was queued. Does not touch in_flight().
  bool erase(std::int64_t job_id);

  /// Changes the slot limit (negative counts as 0). Lowering it below
  /// in_flight() takes no slot back; admit() waits until enough are released.
  void set_max_in_flight(int max_in_flight);

 private:
  // (-priority, seq, job_id): std::set's ascending order is admission order.
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t>;

  std::set<Key> queue_;
  std::map<std::int64_t, Key> keys_;  // job_id -> its key in queue_
  int max_in_flight_;
  int in_flight_ = 0;
  bool paused_ = false;
};

}  // namespace reelbatch
