// The shared JobStore: one PostgreSQL database (libpqxx 6.4, Debian 12's
// libpqxx-dev) that several reelbatch processes, on one machine or many, use
// at once (DESIGN.md, "Beyond one machine"; issue 13). Same contract as
// SqliteJobStore (storage/job_store.hpp, tests/job_store_contract.cpp):
// - claims take free or expired jobs with SELECT ... FOR UPDATE SKIP LOCKED,
//   so two daemons claiming at once never take the same job and never wait
//   on each other;
// - every transition is a compare-and-set on (state, fence); begin_submit()
//   locks the job row, counts its attempts and records the intent in one
//   transaction, so no two writers can pass the submit ceiling together;
// - every timestamp the store writes (created/updated, event ts, attempt
//   intent, lease expiry) is the database server's clock (Unix ms), so the
//   daemons share one clock for leases whatever their own clocks say;
// - begin_submit_reserving() takes a transaction-level advisory lock before
//   it reads the credit uses, so the cap checks of all daemons are
//   serialized as SQLite's write lock serializes them (no two submits can
//   pass one cap together).
// Transactions run at READ COMMITTED; each method is one short transaction.
//
// Error contract: as JobStore. Every libpqxx exception (connection refused
// or lost, SQL error, bad value) is rethrown as StoreError naming the
// method and the redacted URL, so is_store_failure() sees it; the password
// never appears in a message. A schema newer than this build throws
// StoreError too. An instance holds one connection and is used from one
// thread at a time; open one PgJobStore per thread.
#pragma once

#include "storage/job_store.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace reelbatch {

/// Schema version this build writes (table reelbatch_schema); older
/// databases are migrated on open (storage/postgres/pg_schema.cpp). Numbered
/// on its own: PostgreSQL's version 1 holds what SQLite's version 4 holds,
/// 2 adds poll_times (SQLite's 5), 3 rejected_rows (SQLite's 6), 4 the
/// credit ledger and batches.max_credits (SQLite's 7).
inline constexpr int kPgSchemaVersion = 4;

/// How to reach the database.
struct PgConnectOptions {
  /// libpq connection URI: "postgresql://user@host:port/db" or
  /// "postgres://..."; query parameters (sslmode=...) are passed through.
  /// Must not carry a password (config/config.cpp refuses one).
  std::string url;
  /// The password, or empty to let libpq find one (PGPASSWORD, ~/.pgpass).
  /// Never logged and never part of a message.
  std::string password;
  /// Seconds libpq waits for a connection before failing; 0 waits forever.
  int connect_timeout_s = 10;
};

/// True when `url` starts with "postgresql://" or "postgres://" (any case):
/// the config's [storage] url selects PgJobStore.
bool is_postgres_url(std::string_view url);

/// `url` fit for a log line or a message: a password in the user info is
/// replaced by "***", and so is the value of any "password" query
/// parameter. Other parts (user, host, port, database) are kept.
std::string redact_postgres_url(std::string_view url);

/// JobStore over one PostgreSQL database. Every override behaves as
/// documented in storage/job_store.hpp; the differences are listed in the
/// file comment above (server clock, StoreError for every database failure).
class PgJobStore final : public JobStore {
 public:
  /// Connects, migrates the schema to kPgSchemaVersion under a
  /// transaction-level advisory lock (two processes opening one empty
  /// database at once migrate it once) and prepares the statements. Throws
  /// StoreError (naming the redacted URL) when the server cannot be
  /// reached, the login fails, a migration fails (rolled back) or the
  /// database's schema is newer than this build.
  explicit PgJobStore(const PgConnectOptions& options);
  ~PgJobStore() override;
  PgJobStore(const PgJobStore&) = delete;
  PgJobStore& operator=(const PgJobStore&) = delete;

  /// The redacted URL of the database, for messages.
  const std::string& describe() const { return where_; }

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
  void record_poll_times(const std::string& profile, const std::vector<std::int64_t>& at_ms) override;
  std::vector<std::int64_t> poll_times_since(const std::string& profile, std::int64_t since_ms) const override;
  std::optional<std::int64_t> last_attempt_id(std::int64_t job_id) const override;
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
  struct Impl;  // the pqxx connection (libpqxx stays out of this header)
  std::string where_;  ///< redacted URL
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelbatch
