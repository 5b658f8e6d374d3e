// Keeps each batch's results.jsonl / results.csv current while it runs
// (issue 9, item 4): the engine's observer marks a batch dirty when one of
// its rows ends (a terminal state, held, or back from one on retry), and a
// worker thread rewrites the dirty batches' files, coalescing: at most once
// per `min_interval` per batch (longer for batches whose rewrite takes
// long: the interval is at least twice the last rewrite's duration), so a
// 100k-row batch is not rewritten for every row. No file I/O happens on the
// caller's thread.
#pragma once

#include "src/output/results.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace reelbatch {

/// Opens the store the writer reads from, on the writer's thread (a
/// JobStore is used from one thread at a time: the writer has its own
/// connection; SQLite in WAL mode lets it read while the engine writes).
using StoreOpener = std::function<std::unique_ptr<JobStore>()>;

class ResultsWriter {
 public:
  /// Starts the worker thread; the store is opened on it at once. A store
  /// that cannot be opened is logged and retried at the next rewrite.
  /// `min_interval`: the least time between two rewrites of one batch.
  ResultsWriter(StoreOpener open_store, ResultsContext ctx,
                std::chrono::milliseconds min_interval = std::chrono::milliseconds(1000));
  /// Writes what is dirty without running ffprobe (a stop must be quick;
  /// unprobed videos are probed by a later process), then stops the thread.
  ~ResultsWriter();
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  /// Asks for a rewrite of `batch_id`'s files. Thread-safe, cheap, never
  /// blocks on I/O: callable from the event loop (an EngineObserver).
  void mark_dirty(std::int64_t batch_id);
  /// Rewrites every batch marked dirty now (ignoring the interval), probing
  /// every finished video not probed yet (no probe budget), and returns
  /// when they are written or failed (failures are logged; the
  /// batch stays dirty and is tried again later). Blocking.
  void flush();
  /// Rewrites done so far (for tests and logs).
  std::uint64_t rewrites() const;

 private:
  void run();
  /// Writes `batch_id` now; false when it failed (logged).
  enum class Probe { budget, all, none };
  bool write_one(std::int64_t batch_id, Probe probe);
  void flush(Probe probe);

  StoreOpener open_store_;
  ResultsContext ctx_;
  std::chrono::milliseconds min_interval_;
  ResultsCache cache_;
  std::unique_ptr<JobStore> store_;  ///< used on the worker thread only

  mutable std::mutex mu_;
  std::condition_variable wake_, flushed_;
  /// Dirty batches -> the earliest time they may be written.
  std::map<std::int64_t, std::chrono::steady_clock::time_point> dirty_;
  std::map<std::int64_t, std::chrono::milliseconds> interval_;  ///< per batch
  std::map<std::int64_t, std::chrono::steady_clock::time_point> last_write_;
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  Probe flush_probe_ = Probe::all;
  std::uint64_t rewrites_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace reelbatch
