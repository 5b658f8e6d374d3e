// The engine: drives every job of a run from `pending` to a terminal state
// on one io_context: lane admission, uploads, submit, polling, downloads.
// Decisions come from scheduler/ (pure); this file performs the I/O and
// commits each transition to the Store before the side effect that follows.
#pragma once

#include "config/config.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace reelbatch {

class HttpClient;
class Store;

/// A snapshot for progress display.
struct Progress {
  std::map<std::string, int> by_state;  ///< job state name -> count
  std::vector<std::string> paused;      ///< "profile: reason" for paused profiles
  double credits_spent = 0;
};

/// What a run ended with.
struct RunSummary {
  std::map<std::string, int> by_state;
  int succeeded = 0;
  int failed = 0;
  int cancelled = 0;
  int held = 0;      ///< submit outcome unknown: needs `reelbatch resolve`
  int waiting = 0;   ///< not finished: their profile is paused (auth, credit)
  double credits_spent = 0;
  std::vector<std::string> paused;
  bool interrupted = false;
};

struct EngineOptions {
  /// Called every `progress_interval` on the engine's thread.
  std::function<void(const Progress&)> on_progress;
  std::chrono::milliseconds progress_interval{1000};
  /// Safety margin before URL expiry within which a task is re-queried for
  /// fresh links before downloading.
  std::chrono::seconds url_refresh_margin{300};
  std::uint64_t seed = 0;  ///< jitter seed; 0 = random
};

class Engine {
 public:
  /// `cfg`, `store` and `http` must outlive the engine; all run on `http`'s
  /// executor. Throws ConfigError when a profile's kind is unknown.
  Engine(const Config& cfg, Store& store, HttpClient& http, EngineOptions opts = {});
  ~Engine();

  /// Runs the jobs of `batch_ids` until each is terminal, held, or waiting
  /// on a paused profile, then returns the summary and writes each batch's
  /// results.jsonl. Resumes whatever an earlier run left: running tasks are
  /// polled, never submitted again; submits whose outcome was lost are
  /// reconciled through the provider's task list.
  /// Throws SQLite::Exception when the database fails.
  boost::asio::awaitable<RunSummary> async_run(std::vector<std::int64_t> batch_ids);

  /// Stops admitting and polling; async_run returns soon with interrupted set.
  /// Safe to call from the engine's thread only (e.g. a signal_set handler).
  void request_stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Rewrites `<out_dir>/results.jsonl` for a batch from the database: one
/// line per job with its state, output file, size, SHA-256, cost and error.
void write_results_jsonl(const Store& store, std::int64_t batch_id);

}  // namespace reelbatch
