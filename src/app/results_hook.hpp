// The engine observer that keeps results files current (issue 9, item 4):
// it forwards every report to the next observer (metrics, or none) and
// marks a row's batch dirty in a ResultsWriter when the row ends (enters or
// leaves a terminal state or `held`). Header-only; runs on the event loop
// and does no I/O there (ResultsWriter::mark_dirty only queues).
#pragma once

#include "src/engine/observer.hpp"
#include "src/output/results_writer.hpp"
#include "storage/job_store.hpp"

namespace reelbatch {

class ResultsObserver final : public EngineObserver {
 public:
  /// `writer` and `next` (may be null) must outlive the observer.
  ResultsObserver(ResultsWriter& writer, EngineObserver* next) : writer_(writer), next_(next) {}

  void on_request(std::string_view profile, RequestKind kind, RequestOutcome outcome) override {
    if (next_) next_->on_request(profile, kind, outcome);
  }
  void on_retry(std::string_view profile, std::string_view reason) override {
    if (next_) next_->on_retry(profile, reason);
  }
  void on_transition(const StateChange& change) override {
    if (next_) next_->on_transition(change);
    if (ends(change.to) || ends(change.from)) writer_.mark_dirty(change.job.batch_id);
  }
  void on_download_bytes(std::string_view profile, std::uint64_t bytes) override {
    if (next_) next_->on_download_bytes(profile, bytes);
  }
  void on_credits(std::string_view profile, double credits) override {
    if (next_) next_->on_credits(profile, credits);
  }

 private:
  static bool ends(JobState s) { return is_terminal(s) || s == JobState::held; }
  ResultsWriter& writer_;
  EngineObserver* next_;
};

}  // namespace reelbatch
