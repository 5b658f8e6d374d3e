// The embedded JobStore: one SQLite file (through SQLiteCpp) in WAL mode with
// synchronous=FULL, so a committed transition survives kill -9 and power
// loss (DESIGN.md, "Invariants" 1). Several processes may open one file:
// write transactions are BEGIN IMMEDIATE and wait up to 5 s for each other
// (busy timeout), and claims, leases and fences work across processes as the
// JobStore contract says.
//
// Error contract: as JobStore. An unavailable or corrupt file throws
// SQLite::Exception; a schema newer than this build, or a state name this
// build does not know, throws StoreError.
#pragma once

#include "storage/job_store.hpp"

#include <filesystem>
#include <memory>

namespace SQLite {
class Database;
}

namespace reelbatch {

/// Schema version this build writes (PRAGMA user_version); older databases
/// are migrated on open (storage/sqlite/schema.cpp).
inline constexpr int kSchemaVersion = 7;

/// JobStore over one SQLite file. Every override behaves as documented in
/// storage/job_store.hpp.
class SqliteJobStore final : public JobStore {
 public:
  /// Opens (creating it and its parent folders if needed) the database at
  /// `path` and migrates it to kSchemaVersion. ":memory:" opens a private
  /// in-memory database (for tests). Throws SQLite::Exception when it cannot
  /// be opened and StoreError when its schema is newer than this build.
  explicit SqliteJobStore(const std::filesystem::path& path);
  ~SqliteJobStore() override;
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;

  int schema_version() const override;

  BatchRecord ensure_batch(const std::string& name, const std::string& manifest_path,
                           const std::string& out_dir) override;
  std::vector<BatchRecord> batches() const override;
  std::optional<BatchRecord> batch(std::int64_t id) const override;
  IngestResult ingest(std::int64_t batch_id, const std::vector<IngestRow>& rows) override;

  std::optional<JobRecord> job(std::int64_t id) const override;
  std::optional<JobRecord> find_job(const std::string& id_or_key) const override;
  JobPage jobs(const JobQuery& q) const override;
  std::map<JobState, int> count_by_state(const JobFilter& filter) const override;
  std::vector<std::string> remote_ids(const std::string& profile) const override;
  std::vector<OutputClaim> output_claims(const std::string& out_dir) const override;
  bool try_transition(JobRecord& job, JobState from, EventRecord event,
                      const AttemptUpdate* attempt = nullptr) override;

  std::vector<JobRecord> claim_jobs(const ClaimRequest& req) override;
  std::optional<JobRecord> claim_job(std::int64_t id, const std::string& owner,
                                     std::chrono::milliseconds ttl) override;
  int renew_leases(const std::string& owner, std::chrono::milliseconds ttl) override;
  int release_leases(const std::string& owner, const std::vector<std::int64_t>& job_ids = {}) override;
  std::vector<std::string> lease_owners() const override;

  std::int64_t begin_attempt(std::int64_t job_id, const std::string& profile) override;
  std::vector<std::int64_t> submit_times_since(const std::string& profile, std::int64_t since_ms) const override;
  SubmitIntent begin_submit(JobRecord& job, JobState from, EventRecord event, const std::string& profile,
                            int max_submits) override;
  void finish_attempt(const AttemptUpdate& update) override;
  std::pair<int, int> attempt_counts(std::int64_t job_id) const override;
  std::optional<std::int64_t> last_attempt_id(std::int64_t job_id) const override;
  void record_poll_times(const std::string& profile, const std::vector<std::int64_t>& at_ms) override;
  std::vector<std::int64_t> poll_times_since(const std::string& profile, std::int64_t since_ms) const override;
  std::optional<std::string> accepted_remote_id(std::int64_t job_id) const override;
  std::vector<EventRecord> events(std::int64_t job_id) const override;

  SubmitIntent begin_submit_reserving(JobRecord& job, JobState from, EventRecord event, const std::string& profile,
                                      int max_submits, const CreditRequest& credit) override;
  CreditUses credit_uses(const std::string& profile, std::int64_t batch_id, const std::string& unit,
                         std::int64_t day_start_ms) const override;
  void settle_credits(std::int64_t job_id, std::optional<double> cost, const std::string& source) override;
  void release_credits(std::int64_t job_id) override;
  bool set_batch_max_credits(std::int64_t batch_id, std::optional<double> max_credits) override;
  std::vector<LearnedCostGroup> learned_costs(const std::string& profile) const override;

  void set_profile_pause(const std::string& profile, const std::string& reason) override;
  std::map<std::string, std::string> profile_pauses() const override;
  std::optional<std::string> find_upload(const std::string& profile, const std::string& sha256) const override;
  void record_upload(const std::string& profile, const std::string& sha256, const std::string& remote_ref,
                     const std::string& file_name) override;

  std::optional<WatchFileRecord> find_watch_file(const std::string& sha256) const override;
  void record_watch_file(const WatchFileRecord& rec) override;
  void replace_rejected_rows(std::int64_t batch_id, const std::string& source,
                             const std::vector<RejectedRow>& rows) override;
  std::vector<RejectedRow> rejected_rows(std::int64_t batch_id) const override;
  std::vector<EventRecord> events_of_jobs(const std::vector<std::int64_t>& job_ids) const override;
  std::map<std::int64_t, int> attempt_counts_of(const std::vector<std::int64_t>& job_ids) const override;
  std::map<std::string, double> cost_by_profile(const JobFilter& filter) const override;

 private:
  /// Updates the attempt's outcome; `job_id` 0 means any job. Throws
  /// StoreError when no such attempt exists.
  void write_attempt(const AttemptUpdate& a, std::int64_t job_id);
  /// The UPDATE and event INSERT of try_transition, inside the caller's
  /// transaction; false (nothing written) when the CAS fails.
  bool write_transition(JobRecord& j, JobState from, const EventRecord& e, std::int64_t now);
  /// Takes a free or expired lease on `id` for `owner` (the same owner's
  /// live lease too when `allow_own`) and returns the job as updated.
  std::optional<JobRecord> claim_one(std::int64_t id, const std::string& owner, std::int64_t expires_at_ms,
                                     std::int64_t now, bool allow_own);

  /// begin_submit and begin_submit_reserving (credit nullptr: no ledger entry).
  SubmitIntent begin_submit_impl(JobRecord& j, JobState from, EventRecord e, const std::string& profile,
                                 int max_submits, const CreditRequest* credit);

  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace reelbatch
