// Watch folders (issue 12, "Watch folders"): manifests dropped into a
// configured folder become batches, and the file's place tells the user how
// it went.
//
//   <folder>/nightly.csv             dropped by the user (renamed into place,
//                                    or written in place and left alone for
//                                    `settle`)
//   <folder>/processing/nightly.csv  taken; its batch runs
//   <folder>/done/nightly.csv        every job succeeded, no row rejected
//   <folder>/failed/nightly.csv      a job failed or was cancelled, a row was
//                                    rejected, or the manifest was unreadable
// Beside the manifest in each of those folders:
//   nightly.csv.result.json  {"file", "sha256", "state", "batch_id", "rows",
//                             "rejected", "counts": {state: n}, "output_dir",
//                             "duplicate_of", "error", "updated_at"}
//   nightly.csv.errors.txt   one "file:line: field: reason" per bad row
//                            (or the reason the manifest could not be read)
// `state` is "processing", "done", "failed", or "duplicate" (the same bytes
// were taken before: nothing is added, `duplicate_of` names that batch and
// the file goes to done/).
//
// Finding files: inotify (IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE; new
// subfolders of a recursive folder are watched as they appear) plus a full
// rescan every `rescan_interval` in case an event was missed (queue
// overflow, a folder created later). Folders on network or userspace
// filesystems (statfs magic, watch_rules.hpp), or where inotify is
// unavailable, are polled every `poll_interval` instead. Dot-files, *.tmp,
// *.part, *.partial and processing/, done/, failed/ are never taken.
//
// Exactly once: a taken file is first renamed into processing/ (atomic, a
// clash gets a "-N" suffix), then hashed (SHA-256) and looked up in the
// ledger in the database (JobStore::find_watch_file). Content seen before
// adds nothing (unless it could not be read at all that time: nothing was
// created, so it is tried again). New content is recorded as "ingesting" before its batch is
// created, and batch creation is idempotent (the batch is keyed by the
// file's path and hash, rows by their ids), so a crash at any point and a
// restart, which re-examines every file left in processing/, never ingests
// a file twice. A database or filesystem error leaves the file where it is
// and is retried after `retry_interval` (a dropped file that cannot be
// moved into processing/, e.g. no permission, likewise): a transient fault
// never fails a file.
//
// Threading: the service runs on its own thread (hashing, moves, fsyncs and
// ingest stay off the engine's event loop). The JobStore it is given, and
// the one the ingest function uses, must be used by that thread only (open
// a dedicated SqliteJobStore on the same file). configure(), stats(), start()
// and stop() may be called from any thread.
#pragma once

#include "config/config.hpp"
#include "src/watch/watch_rules.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace reelbatch {

class JobStore;

/// What the service asks the ingest function to do with one taken file.
struct WatchIngestRequest {
  std::filesystem::path file;      ///< the manifest to read, now in <drop_dir>/processing/
  std::filesystem::path drop_dir;  ///< the folder it was dropped in: relative asset paths resolve here
  std::string name;                ///< the file name it was dropped under
  std::string sha256;              ///< hex SHA-256 of its content
  WatchConfig folder;              ///< the watch folder it came from (default profile, ...)
};

/// What the ingest function reports.
struct WatchIngestResult {
  std::optional<std::int64_t> batch_id;  ///< set unless `fatal`
  int rows = 0;      ///< rows accepted (new plus already known)
  int rejected = 0;  ///< rows rejected
  std::vector<std::string> errors;  ///< "file:line: field: reason", one per problem
  std::filesystem::path output_dir;  ///< the batch's output folder
  std::string fatal;  ///< non-empty: the manifest could not be read at all (nothing was created)
};

/// Ingests one taken manifest. Runs on the service's thread. Must be
/// idempotent for one (file, sha256): the service calls it again after a
/// crash or a thrown database error. Problems with the file go in the
/// result (`fatal`, `errors`); a database failure is thrown (the file waits
/// and is retried).
using WatchIngestFn = std::function<WatchIngestResult(const WatchIngestRequest&)>;

/// Tuning of the service's timers; the defaults suit production.
struct WatchServiceOptions {
  /// Full rescan of inotify-watched folders (catches missed events).
  std::chrono::milliseconds rescan_interval{60000};
  /// Rescan of polled folders (network filesystems, no inotify).
  std::chrono::milliseconds poll_interval{2000};
  /// How often a running batch's job counts are read from the store.
  std::chrono::milliseconds batch_check_interval{2000};
  /// Wait before retrying a file after a database or filesystem error.
  std::chrono::milliseconds retry_interval{10000};
  /// Poll every folder, as on a network filesystem (tests, or inotify
  /// limits exhausted).
  bool force_polling = false;
  /// The service's clock (steady); a seam for tests.
  std::function<watch::SteadyTime()> clock = [] { return std::chrono::steady_clock::now(); };
};

/// Counters since start, for metrics (watch-folder files by outcome).
struct WatchStats {
  std::uint64_t taken = 0;       ///< files moved into processing/
  std::uint64_t ingested = 0;    ///< new batches created from files
  std::uint64_t duplicates = 0;  ///< files whose content was taken before
  std::uint64_t done = 0;        ///< files moved to done/ after their batch (duplicates not counted)
  std::uint64_t failed = 0;      ///< files moved to failed/
  std::uint64_t errors = 0;      ///< database or filesystem errors (retried)
};

class WatchService {
 public:
  /// `store` and `ingest` are used on the service's thread only (see the
  /// file comment); `log` may be null (spdlog's default logger).
  WatchService(JobStore& store, WatchIngestFn ingest, std::shared_ptr<spdlog::logger> log,
               WatchServiceOptions options = {});
  /// Stops the thread (stop()).
  ~WatchService();
  WatchService(const WatchService&) = delete;
  WatchService& operator=(const WatchService&) = delete;

  /// Sets the folders to watch (at start and on SIGHUP): folders no longer
  /// listed stop being watched (their batches already in processing/ are
  /// still followed to done/ or failed/), new ones are set up (files left
  /// in their processing/ from an earlier run are resumed through the
  /// ledger, files already in them are taken once settled), and changed
  /// settings apply. When `ingest` is given it replaces the ingest function
  /// for files taken from then on (a reloaded config). Thread-safe; applied
  /// by the service's thread. A folder that does not exist is reported and
  /// looked for again at every rescan.
  void configure(std::vector<WatchConfig> folders, WatchIngestFn ingest = {});

  /// Starts the service's thread. Throws std::system_error when inotify or
  /// the wake-up eventfd cannot be created (inotify alone failing means
  /// polling). Calling it twice is a no-op.
  void start();
  /// Stops and joins the thread (the file being handled is finished first).
  /// Idempotent.
  void stop();

  /// Counters since construction.
  WatchStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The ingest function the daemon uses: reads the manifest (CSV or JSONL by
/// extension, asset paths relative to the drop folder, rows without a
/// provider go to the folder's default profile), validates and records its
/// rows through src/ingest (ingest_parsed_manifest) into a batch named
/// after the file (output folder <cfg.output_dir>/<stem>, or
/// <stem>-<first 8 hex of sha256> when another batch uses that folder),
/// keyed by "<drop_dir>/<name>#sha256=<sha256>". Calls `on_new_batch(id)`
/// (on the service's thread: hand it to the engine in a thread-safe way)
/// after every successful ingest, including a repeated one after a restart
/// (adding a batch twice to the engine must be harmless). An unreadable
/// manifest or bad header (ManifestError), or a profile kind no longer
/// known (ConfigError), is reported as `fatal`; database failures are
/// thrown. `cfg` is copied; `store` must outlive the function and be used
/// on the service's thread only.
WatchIngestFn make_watch_ingest(const Config& cfg, JobStore& store,
                                std::function<void(std::int64_t batch_id)> on_new_batch);

}  // namespace reelbatch
