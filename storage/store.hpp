// The durable record of every batch, job, submit attempt, upload and event:
// SQLite (through SQLiteCpp) in WAL mode with synchronous=FULL, so a
// committed transition survives kill -9 and power loss.
//
// Error contract: an unavailable or corrupt database throws
// SQLite::Exception (or StoreError for schema problems); the engine treats
// that as fatal. Expected outcomes (an id already used) are return values.
//
// Every method runs on the caller's thread and commits before it returns;
// each is one short transaction.
#pragma once

#include "src/core/job_spec.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace reelbatch {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Schema version this build writes; older databases are migrated on open.
inline constexpr int kSchemaVersion = 2;

struct BatchRecord {
  std::int64_t id = 0;
  std::string name;           ///< folder name under the output root
  std::string manifest_path;  ///< absolute; identifies the batch across runs
  std::string out_dir;        ///< absolute output folder of the batch
  std::int64_t created_at_ms = 0;
};

/// One job (manifest row) and everything known about it.
struct JobRecord {
  std::int64_t id = 0;
  std::int64_t batch_id = 0;
  std::string key;           ///< idempotency key (JobSpec::id), unique in the database
  std::string content_hash;  ///< hex sha256 of the normalized row
  std::string file;          ///< manifest file and line it came from
  int line = 0;
  std::int64_t seq = 0;      ///< ingest order; manifest order within a batch
  JobSpec spec;
  std::string state;         ///< scheduler/job_state.hpp names
  int attempts = 0;          ///< submissions known to have failed remotely
  std::string remote_id;
  std::string native_state;  ///< provider's last reported state word
  std::int64_t intent_at_ms = 0;  ///< when the current submit intent was recorded
  std::string video_url, cover_url, last_frame_url;
  std::int64_t url_expires_at_ms = 0;
  std::optional<double> cost;  ///< credits
  std::string error_code, error_message;
  std::string output_path;   ///< the finished video
  std::uint64_t bytes = 0;
  std::string sha256;
  std::int64_t created_at_ms = 0, updated_at_ms = 0;
};

struct EventRecord {
  std::int64_t id = 0;
  std::int64_t ts_ms = 0;
  std::int64_t job_id = 0;
  std::string kind;       ///< "state" for transitions, "remote_state", "upload", ...
  std::string from_state, to_state;
  boost::json::object detail;
};

/// A row offered for ingest.
struct IngestRow {
  JobSpec spec;
  std::string content_hash;
  std::string file;
  int line = 0;
};

struct IngestResult {
  int added = 0;     ///< new jobs
  int existing = 0;  ///< the same row was ingested before (any batch): nothing added
  /// Rows whose id is taken by a different row: "file:line: id: ..." messages.
  std::vector<std::string> conflicts;
  /// Job ids of every accepted row (new or existing), in row order.
  std::vector<std::int64_t> job_ids;
};

class Store {
 public:
  /// Opens (creating if needed) the database at `path` and migrates it to
  /// kSchemaVersion. Throws SQLite::Exception when it cannot be opened and
  /// StoreError when its schema is newer than this build.
  explicit Store(const std::filesystem::path& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Schema version recorded in the file (PRAGMA user_version).
  int schema_version() const;

  /// The batch for `manifest_path` (absolute), created on first use with
  /// `name` and `out_dir`.
  BatchRecord ensure_batch(const std::string& name, const std::string& manifest_path,
                           const std::string& out_dir);
  std::vector<BatchRecord> batches() const;
  std::optional<BatchRecord> batch(std::int64_t id) const;

  /// Inserts new rows as `pending` jobs of `batch_id` in one transaction.
  /// A row whose key exists with the same content hash is counted as
  /// existing; with a different hash it is a conflict and not added.
  IngestResult ingest(std::int64_t batch_id, const std::vector<IngestRow>& rows);

  std::optional<JobRecord> job(std::int64_t id) const;
  /// Looks a job up by its numeric id or its idempotency key.
  std::optional<JobRecord> find_job(const std::string& id_or_key) const;
  /// Jobs of the given batches (all batches when empty), by seq.
  std::vector<JobRecord> jobs(const std::vector<std::int64_t>& batch_ids = {}) const;
  /// Jobs count by state, for the given batches (all when empty).
  std::map<std::string, int> count_by_state(const std::vector<std::int64_t>& batch_ids = {}) const;
  /// Remote task ids ever recorded for `profile` (for reconciling lost submits).
  std::vector<std::string> remote_ids(const std::string& profile) const;

  /// Writes every mutable column of `job` (state, remote id, URLs, ...) and
  /// appends one event, in one transaction. `job.updated_at_ms` is set.
  void save(JobRecord& job, const EventRecord& event);

  /// The outcome of a submit attempt, written with the job in one transaction.
  struct AttemptOutcome {
    std::int64_t attempt_id = 0;
    std::string outcome;  ///< "accepted", "rejected", "unknown", "absent"
    std::string remote_id;
    std::string error;
  };
  /// As save(), and records the attempt's outcome in the same transaction, so
  /// an accepted remote id is never on the attempt without being on the job.
  void save(JobRecord& job, const EventRecord& event, const AttemptOutcome& attempt);

  /// The remote id of the job's latest accepted attempt, if any.
  std::optional<std::string> accepted_remote_id(std::int64_t job_id) const;

  /// Records a submit attempt's intent (before the POST); returns its id.
  std::int64_t begin_attempt(std::int64_t job_id, const std::string& profile);
  /// Records a submit attempt's outcome: "accepted", "rejected", "unknown", "remote_failed", ...
  void finish_attempt(std::int64_t attempt_id, const std::string& outcome,
                      const std::string& remote_id, const std::string& error);
  /// Number of attempts recorded for a job and how many were accepted.
  std::pair<int, int> attempt_counts(std::int64_t job_id) const;

  /// Events of a job, oldest first.
  std::vector<EventRecord> events(std::int64_t job_id) const;

  /// Records that `profile` is paused (auth failure, out of credit) with the
  /// provider's message; an empty reason clears it.
  void set_profile_pause(const std::string& profile, const std::string& reason);
  /// Paused profiles and why, as last recorded by a run.
  std::map<std::string, std::string> profile_pauses() const;

  /// An earlier upload of the file with `sha256` for `profile`: its remote reference.
  std::optional<std::string> find_upload(const std::string& profile, const std::string& sha256) const;
  void record_upload(const std::string& profile, const std::string& sha256,
                     const std::string& remote_ref, const std::string& file_name);

 private:
  void migrate();
  void write_job(JobRecord& job, const EventRecord& event);
  void write_attempt(const AttemptOutcome& a);
  std::unique_ptr<SQLite::Database> db_;
};

/// Current Unix time in milliseconds.
std::int64_t now_ms();

}  // namespace reelbatch
