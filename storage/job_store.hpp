// The durable record of every batch, job, submit attempt, upload and event,
// behind one interface so the embedded SQLite store (storage/sqlite/) and a
// shared PostgreSQL store (several daemons, next) pass the same contract
// suite (tests/job_store_contract.{hpp,cpp}). DESIGN.md, "Invariants" 1-2 and
// "Beyond one machine".
//
// Concurrency model:
// - Every job carries a fencing token (`JobRecord::fence`). A job is moved
//   only by try_transition(), a compare-and-set on (state, fence): two
//   writers that read the same job can never both move it, and a writer that
//   read the job before someone else claimed it fails instead of overwriting.
// - An engine claims the jobs it works on (claim_jobs) under a lease: an
//   owner id, an expiry, and a fresh fencing token. It renews its leases
//   (renew_leases) and releases them on a clean stop (release_leases). Jobs
//   whose lease expired (their owner died) can be claimed again by anyone.
//   A lease is live while now < lease_expires_at_ms (Unix ms, the store
//   host's clock): a claim with a ttl of 0 is expired at once.
// - Writers that claim nothing (a CLI `resolve` while no engine runs) read
//   the job and CAS with the fence they read.
//
// Error contract (STYLE.md): an unavailable or corrupt database throws
// (SQLite::Exception, pqxx exceptions, StoreError for schema problems); the
// engine treats that as fatal. Expected outcomes (an id already used, a CAS
// lost to another writer) are return values. Every method commits before it
// returns and is one short transaction. An instance is used from one thread
// at a time.
#pragma once

#include "src/core/job_spec.hpp"
#include "src/core/job_state.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace reelbatch {

/// Schema problems (a database newer than this build, a bad migration).
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The database file is damaged (SQLite: PRAGMA quick_check reports
/// problems, or the file is not a database). The message names the file and
/// the first problems and points at `reelbatch backup` / restoring a copy.
/// Programs stop on it with exit code 2 (src/app/cli.hpp kExitUsage).
class DatabaseCorrupt : public StoreError {
 public:
  using StoreError::StoreError;
};

struct BatchRecord {
  std::int64_t id = 0;
  std::string name;           ///< folder name under the output root
  std::string manifest_path;  ///< absolute; identifies the batch across runs
  std::string out_dir;        ///< absolute output folder of the batch
  std::int64_t created_at_ms = 0;  ///< Unix ms
  /// Per-batch credit cap (`run --max-credits`, a watch folder's
  /// max_credits), applied per credit unit; nullopt: none (issue 9 item 3).
  std::optional<double> max_credits;
};

/// One job (manifest row) and everything known about it.
struct JobRecord {
  std::int64_t id = 0;
  std::int64_t batch_id = 0;
  std::string key;           ///< idempotency key (JobSpec::id), unique in the database
  std::string content_hash;  ///< hex sha256 of the normalized row
  std::string file;          ///< manifest file and line it came from
  int line = 0;
  std::int64_t seq = 0;      ///< ingest order, unique; manifest order within a batch
  JobSpec spec;
  JobState state = JobState::pending;
  int attempts = 0;          ///< submissions known to have failed remotely
  std::string remote_id;
  std::string native_state;  ///< provider's last reported state word
  std::int64_t intent_at_ms = 0;  ///< Unix ms when the current submit intent was recorded
  std::string video_url, cover_url, last_frame_url;
  std::int64_t url_expires_at_ms = 0;  ///< Unix ms
  std::optional<double> cost;  ///< credits, in the profile's unit
  std::string error_code, error_message;
  std::string output_path;   ///< the finished video
  std::uint64_t bytes = 0;   ///< size of the finished video
  std::string sha256;        ///< hex digest of the finished video
  std::int64_t created_at_ms = 0, updated_at_ms = 0;  ///< Unix ms
  // Lease (set by claim_jobs, cleared by release_leases).
  std::string lease_owner;            ///< empty: not claimed
  std::int64_t lease_expires_at_ms = 0;  ///< Unix ms
  std::int64_t fence = 0;             ///< fencing token: bumped by every claim
};

/// An appended event. State transitions have from != to; notes (an upload,
/// a remote state word) have from == to == the job's state. Ingest writes
/// one "ingest" event per new job (pending -> pending, detail {file, line}).
struct EventRecord {
  std::int64_t id = 0;
  std::int64_t ts_ms = 0;  ///< Unix ms, set by the store
  std::int64_t job_id = 0;
  std::string kind;        ///< "state" for transitions, "remote_state", "upload", ...
  JobState from_state = JobState::pending;
  JobState to_state = JobState::pending;
  boost::json::object detail;
};

/// The outcome of one submit attempt.
enum class AttemptOutcome {
  pending,        ///< intent recorded, no answer yet
  accepted,       ///< the provider returned a task id
  rejected,       ///< the provider refused it: nothing was created
  unknown,        ///< the answer was lost: it may have created a task
  remote_failed,  ///< the created task failed
  /// The answer was lost, and reconcile then proved from the provider's task
  /// list that the submit created no task: nothing was paid, so the attempt
  /// does not count toward max_submits_per_row (begin_submit()).
  absent,
};
/// "pending", "accepted", ... as stored. Never null.
const char* to_string(AttemptOutcome o);

/// A finished attempt, written with a transition in one transaction.
struct AttemptUpdate {
  std::int64_t attempt_id = 0;
  AttemptOutcome outcome = AttemptOutcome::pending;
  std::string remote_id;  ///< set for accepted
  std::string error;      ///< ProviderError::describe() for the others
};

/// What begin_submit() did.
struct SubmitIntent {
  enum class Status {
    recorded,  ///< the attempt (intent) was recorded and the transition committed
    lost,      ///< another writer moved or claimed the job: nothing written
    ceiling,   ///< the row reached max_submits: nothing written, do not submit
    budget,    ///< begin_submit_reserving: a credit cap refused it; nothing written, wait
  };
  Status status = Status::lost;
  std::int64_t attempt_id = 0;  ///< for recorded: the new attempt's id
  /// Submissions of this job that created or may have created a task
  /// (attempts whose outcome is neither `rejected` nor `absent`), before
  /// this one.
  int submits = 0;
  /// Of `submits`, those whose outcome is not known (`pending` or
  /// `unknown`): a task may exist and be paid. At the ceiling the engine
  /// holds such a row (never fails it) for `reelbatch resolve`.
  int unknown = 0;
  /// For budget: why (CreditRequest::refuse's answer).
  std::string budget_reason;
};

// ---- credits (issue 9 item 3) ---------------------------------------------------------
//
// Every submit reserves its estimated cost in the credit ledger in the same
// transaction as its intent (begin_submit_reserving). The reservation is
// settled to the real cost when known (settle_credits) or released when the
// task is known not to be charged (release_credits). Caps are checked
// against committed credits = settled + reserved.

/// Credits committed against the caps a submit is checked against, each
/// split into settled costs and open reservations.
struct CreditUses {
  double profile_settled = 0, profile_reserved = 0;  ///< every ledger entry of the profile
  double day_settled = 0, day_reserved = 0;          ///< the profile's entries made since day_start_ms
  double batch_settled = 0, batch_reserved = 0;      ///< the batch's entries in the unit asked for
  std::optional<double> batch_max_credits;           ///< the batch's cap (BatchRecord::max_credits)
};

/// The reservation begin_submit_reserving() makes.
struct CreditRequest {
  double amount = 0;     ///< estimated credits, >= 0 (0 when the price is unknown)
  std::string unit;      ///< the profile's credit unit
  std::string source;    ///< the estimate's source ("documented", "configured", "learned", "unknown")
  std::int64_t day_start_ms = 0;  ///< start of the UTC day (Unix ms) the daily cap counts from
  /// Called inside the write transaction with the uses (profile, day, the
  /// job's batch in `unit`); a non-empty answer refuses the submit
  /// (Status::budget with that reason; nothing written). Empty function:
  /// never refuses.
  std::function<std::string(const CreditUses&)> refuse;
};

/// Cost groups of a profile's finished tasks, for learned estimates
/// (scheduler/cost.hpp LearnedCost): spec fields as stored (no profile
/// defaults applied), grouped by model, resolution and duration.
struct LearnedCostGroup {
  std::string model, resolution;  ///< as in the stored spec
  std::optional<int> duration_s;
  int samples = 0;                ///< tasks with a recorded cost
  double mean = 0, min = 0, max = 0;  ///< credits, over those
  int generation_samples = 0;     ///< tasks with both a submit intent and a success time
  double mean_generation_ms = 0;  ///< mean ms from submit intent to the provider's success
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

/// A job's claim on an output stem (see output_claims()).
struct OutputClaim {
  std::string key;     ///< JobSpec::id
  std::string output;  ///< JobSpec::output as stored ("" = the stem is the key)
  std::string file;    ///< manifest file and line the job came from
  int line = 0;
};

/// Where a watch-folder manifest is in its life (src/watch/): the ledger's
/// `outcome` column.
enum class WatchFileOutcome {
  ingesting,   ///< taken and hashed; its batch may or may not exist yet
  processing,  ///< its batch exists; waiting for every job to be terminal
  done,        ///< every job succeeded and no row was rejected
  failed,      ///< some job failed or was cancelled, a row was rejected, or the manifest was unreadable
};
/// "ingesting", "processing", "done", "failed" as stored. Never null.
const char* to_string(WatchFileOutcome o);
/// The outcome named `s` (exactly as to_string writes it), or nullopt.
std::optional<WatchFileOutcome> watch_file_outcome_from_string(const std::string& s);

/// One manifest taken from a watch folder, keyed by the SHA-256 of its
/// content: the ledger that makes a re-dropped file add nothing.
struct WatchFileRecord {
  std::string sha256;     ///< hex SHA-256 of the file's bytes (64 lowercase digits); the key
  std::string path;       ///< absolute path of the file where the service last put it
  std::string name;       ///< the file name it was dropped under
  std::optional<std::int64_t> batch_id;  ///< its batch, once ingested
  WatchFileOutcome outcome = WatchFileOutcome::ingesting;
  int rows = 0;           ///< rows accepted at ingest (new plus already known)
  int rejected = 0;       ///< rows rejected at ingest
  std::string error;      ///< why the manifest could not be read at all (outcome failed, no batch)
  std::int64_t created_at_ms = 0, updated_at_ms = 0;  ///< Unix ms, set by the store
};

/// One problem of a manifest row rejected at ingest (results files, issue 9
/// item 4): the row has no job, so this is all that is kept of it.
struct RejectedRow {
  std::string source;  ///< manifest file as named in the error ("file" of "file:line")
  int line = 0;        ///< 1-based manifest line
  std::string key;     ///< the row's id when it was readable, else empty
  std::string profile; ///< the row's provider (profile) when readable, else empty
  std::string field;   ///< field name, "(row)" for the row as a whole
  std::string message; ///< why it was refused
};

/// A filter over jobs; empty members match everything.
struct JobFilter {
  std::vector<std::int64_t> batch_ids;
  std::vector<JobState> states;
  std::string profile;  ///< the spec's `provider`
};

/// One page of jobs in `seq` order: the jobs with seq > after_seq, at most
/// `limit` (1..10000; values outside are clamped to that range).
struct JobQuery {
  JobFilter filter;
  std::int64_t after_seq = 0;
  int limit = 1000;
};

struct JobPage {
  std::vector<JobRecord> jobs;
  /// The after_seq of the next page; nullopt when this page is the last.
  std::optional<std::int64_t> next_after_seq;
};

/// What claim_jobs takes.
struct ClaimRequest {
  std::string owner;                 ///< this engine's owner id (make_owner_id()); not empty
  std::chrono::milliseconds ttl{30000};  ///< lease lifetime from now
  JobFilter filter;
  /// At most this many jobs, highest priority first, then lowest seq;
  /// 0 or less claims nothing.
  int limit = 100;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  /// Schema version of the database (SQLite: PRAGMA user_version).
  virtual int schema_version() const = 0;

  // ---- batches ----------------------------------------------------------------

  /// The batch for `manifest_path` (absolute), created on first use with
  /// `name` and `out_dir`.
  virtual BatchRecord ensure_batch(const std::string& name, const std::string& manifest_path,
                                   const std::string& out_dir) = 0;
  /// Every batch, by id.
  virtual std::vector<BatchRecord> batches() const = 0;
  virtual std::optional<BatchRecord> batch(std::int64_t id) const = 0;
  /// Every job of every batch whose out_dir is exactly `out_dir`, as output
  /// claims (ingest's check that no two rows write one file; output_stem()
  /// of {key, output} gives the stem). One query over the batch index.
  virtual std::vector<OutputClaim> output_claims(const std::string& out_dir) const = 0;

  /// Inserts new rows as `pending` jobs of `batch_id` in one transaction,
  /// with an "ingest" event each. A row whose key exists with the same
  /// content hash is counted as existing; with a different hash it is a
  /// conflict and not added.
  virtual IngestResult ingest(std::int64_t batch_id, const std::vector<IngestRow>& rows) = 0;

  // ---- jobs -------------------------------------------------------------------

  virtual std::optional<JobRecord> job(std::int64_t id) const = 0;
  /// Looks a job up by its idempotency key, else by its numeric id.
  virtual std::optional<JobRecord> find_job(const std::string& id_or_key) const = 0;
  /// One page of jobs matching `q.filter`, by seq.
  virtual JobPage jobs(const JobQuery& q) const = 0;
  /// Number of jobs per state among those matching `filter` (states with no
  /// job are absent).
  virtual std::map<JobState, int> count_by_state(const JobFilter& filter) const = 0;
  /// Remote task ids ever recorded for `profile` (on jobs and attempts), for
  /// reconciling lost submits.
  virtual std::vector<std::string> remote_ids(const std::string& profile) const = 0;

  /// Compare-and-set: iff the stored job `job.id` is in state `from` with
  /// fencing token `job.fence`, writes every mutable column of `job` (state,
  /// attempts, remote id, URLs, cost, error, output; not the lease) and
  /// appends `event` (its job_id, from and to are set from the job), and,
  /// when given, the attempt's outcome, in one transaction; sets
  /// job.updated_at_ms and returns true. Otherwise writes nothing and
  /// returns false (another writer moved or claimed the job), leaving `job`
  /// as it was. Only a claim changes the fence: two writers holding the same
  /// record may both write a note (from == state), the later one winning.
  /// A note (no state change) is try_transition(job, job.state, event).
  /// Throws StoreError, and writes nothing, when `attempt` names no attempt
  /// of this job (a caller bug).
  virtual bool try_transition(JobRecord& job, JobState from, EventRecord event,
                              const AttemptUpdate* attempt = nullptr) = 0;

  // ---- leases -----------------------------------------------------------------

  /// Claims up to `req.limit` jobs matching `req.filter` that nobody holds
  /// (no owner, or the lease expired; jobs `req.owner` already holds are not
  /// returned again): sets owner and expiry (now + ttl) and bumps each job's
  /// fencing token. Returns the claimed jobs with their new lease, highest
  /// priority first, then by seq. Throws std::invalid_argument for an
  /// empty owner.
  virtual std::vector<JobRecord> claim_jobs(const ClaimRequest& req) = 0;
  /// Claims one job by id under the same rule (nullopt when another owner
  /// holds a live lease, or the job does not exist). A job `owner` already
  /// holds is claimed afresh: new expiry, fence bumped (copies the owner
  /// read before are stale afterwards). Throws std::invalid_argument for
  /// an empty owner.
  virtual std::optional<JobRecord> claim_job(std::int64_t id, const std::string& owner,
                                             std::chrono::milliseconds ttl) = 0;
  /// Extends every lease `owner` holds to now + ttl, including its expired
  /// leases nobody has claimed since. Returns how many.
  virtual int renew_leases(const std::string& owner, std::chrono::milliseconds ttl) = 0;
  /// Releases the lease on `job_ids` (all of owner's jobs when empty) held
  /// by `owner`; the fencing tokens stay. Returns how many.
  virtual int release_leases(const std::string& owner, const std::vector<std::int64_t>& job_ids = {}) = 0;

  /// Owners holding at least one lease, live or expired, sorted. An engine
  /// uses it at start to release the leases of owners it knows are dead
  /// (same host, process gone) instead of waiting for them to expire.
  virtual std::vector<std::string> lease_owners() const = 0;

  // ---- attempts and events ----------------------------------------------------

  /// Records a submit attempt's intent (before the POST); returns its id.
  /// Uncapped and not tied to a transition: for tools, tests and imports.
  /// The engine records intents only through begin_submit().
  virtual std::int64_t begin_attempt(std::int64_t job_id, const std::string& profile) = 0;
  /// The hard ceiling on paid submissions per row (issue 7, "never pay
  /// twice"; config `max_submits_per_row`): in one transaction, counts the
  /// job's attempts that created or may have created a task (every outcome
  /// but `rejected` and `absent`: pending, unknown, accepted, remote_failed),
  /// and among them those of unknown outcome (SubmitIntent::unknown); when that
  /// count is >= `max_submits` (values below 1 count as 1) writes nothing and
  /// returns Status::ceiling; otherwise inserts a pending attempt for
  /// `profile` and commits `job` as try_transition(job, from, event) does
  /// (compare-and-set on state and fence; Status::lost, nothing written, when
  /// another writer moved or claimed the job), with event.detail["attempt"]
  /// set to the new attempt's id. Because the check and the insert are one
  /// transaction, no code path (engine, retry, resolve, a second engine) can
  /// record more than max_submits intents for a row. Throws StoreError on a
  /// database failure.
  virtual SubmitIntent begin_submit(JobRecord& job, JobState from, EventRecord event, const std::string& profile,
                                    int max_submits) = 0;
  /// Records an attempt's outcome on its own (see try_transition for the
  /// transactional form). Throws StoreError when the attempt does not exist.
  virtual void finish_attempt(const AttemptUpdate& update) = 0;
  /// Unix ms (the store's clock, now_ms()) of every submit attempt of
  /// `profile` whose intent was recorded at or after `since_ms`, whatever its
  /// outcome (an attempt may have reached the provider), ascending. What the
  /// engine's submit budget (scheduler/token_bucket.hpp RateWindow) needs to
  /// hold "at most N per rolling window" across restarts.
  virtual std::vector<std::int64_t> submit_times_since(const std::string& profile, std::int64_t since_ms) const = 0;
  /// Persists status queries (polls, task-list reads, link refreshes) of
  /// `profile` sent at `at_ms` (Unix ms on the store's clock, any order), so
  /// the engine's poll budget (RateWindow) is seeded after a restart as the
  /// submit budget is (poll_times_since()). In the same transaction, drops
  /// the profile's stored times older than now_ms() − 120 000 (two windows
  /// of 60 s: more is never read). One short transaction; an empty list
  /// only prunes. Issue 7 item 9 ("persist what the window needs").
  virtual void record_poll_times(const std::string& profile, const std::vector<std::int64_t>& at_ms) = 0;
  /// Unix ms of the stored status queries of `profile` at or after
  /// `since_ms`, ascending (record_poll_times()).
  virtual std::vector<std::int64_t> poll_times_since(const std::string& profile, std::int64_t since_ms) const = 0;
  /// Attempts recorded for a job, and how many were accepted.
  virtual std::pair<int, int> attempt_counts(std::int64_t job_id) const = 0;
  /// The id of the job's latest submit attempt (highest id), if it has any:
  /// the lost submit that reconcile settles (the engine records intents one
  /// at a time per job, so the latest is the one in question).
  virtual std::optional<std::int64_t> last_attempt_id(std::int64_t job_id) const = 0;
  /// The remote id of the job's latest accepted attempt, if any.
  virtual std::optional<std::string> accepted_remote_id(std::int64_t job_id) const = 0;
  /// Events of a job, oldest first.
  virtual std::vector<EventRecord> events(std::int64_t job_id) const = 0;

  // ---- credits (issue 9) ---------------------------------------------------------

  /// begin_submit() with a credit reservation in the same transaction: after
  /// the max_submits check, earlier open reservations of the job are
  /// released (a row is submitted again only once its earlier attempts are
  /// known not to have created a charged task), the uses are read and
  /// `credit.refuse(uses)` asked; a non-empty reason returns Status::budget
  /// (nothing written). Otherwise the attempt, the transition and a
  /// reservation of credit.amount for the new attempt are committed
  /// together. Throws StoreError on a database failure.
  virtual SubmitIntent begin_submit_reserving(JobRecord& job, JobState from, EventRecord event,
                                              const std::string& profile, int max_submits,
                                              const CreditRequest& credit) = 0;
  /// The uses begin_submit_reserving() would check, read on their own (for
  /// `plan` and status): `batch_id` 0 leaves the batch figures 0.
  virtual CreditUses credit_uses(const std::string& profile, std::int64_t batch_id, const std::string& unit,
                                 std::int64_t day_start_ms) const = 0;
  /// Settles the ledger entry of the job's latest attempt: `cost` credits
  /// with `source` ("reported", "documented", ...), or, when `cost` is
  /// nullopt, the reserved estimate (charged, amount not reported). An entry
  /// already settled is left as it is (a URL refresh reports the cost
  /// again); a job without an entry (submitted before the ledger existed)
  /// gets a settled one when `cost` is given. Idempotent.
  virtual void settle_credits(std::int64_t job_id, std::optional<double> cost, const std::string& source) = 0;
  /// Releases the open reservation of the job's latest attempt (the task is
  /// known not to be charged: refused, failed where failures are free,
  /// cancelled before it ran). Idempotent.
  virtual void release_credits(std::int64_t job_id) = 0;
  /// Sets or clears a batch's max_credits. Returns false for no such batch.
  virtual bool set_batch_max_credits(std::int64_t batch_id, std::optional<double> max_credits) = 0;
  /// Learned cost groups of `profile` (jobs downloading or succeeded).
  virtual std::vector<LearnedCostGroup> learned_costs(const std::string& profile) const = 0;

  // ---- profiles and uploads ---------------------------------------------------

  /// Records that `profile` is paused (auth failure, out of credit, by the
  /// user) with a reason; an empty reason clears it. Pauses persist until
  /// cleared.
  virtual void set_profile_pause(const std::string& profile, const std::string& reason) = 0;
  /// Paused profiles and why.
  virtual std::map<std::string, std::string> profile_pauses() const = 0;

  /// An earlier upload of the file with `sha256` for `profile`: its remote reference.
  virtual std::optional<std::string> find_upload(const std::string& profile, const std::string& sha256) const = 0;
  virtual void record_upload(const std::string& profile, const std::string& sha256,
                             const std::string& remote_ref, const std::string& file_name) = 0;

  // ---- watch-folder ledger (src/watch/) ---------------------------------------

  /// The ledger entry for the manifest content `sha256`, if that content was
  /// ever taken from a watch folder.
  virtual std::optional<WatchFileRecord> find_watch_file(const std::string& sha256) const = 0;
  /// Inserts or replaces the entry keyed by `rec.sha256` (created_at_ms is
  /// kept from an earlier entry; both timestamps are set by the store).
  /// Throws StoreError when `rec.batch_id` names no batch.
  virtual void record_watch_file(const WatchFileRecord& rec) = 0;

  // ---- results files (src/output/results.hpp) ---------------------------------

  /// Replaces, in one transaction, the rejected-row problems recorded for
  /// (`batch_id`, `source`) with `rows` (their `source` is ignored: they are
  /// stored under `source`). Ingest calls it once per manifest it reads, so a
  /// re-ingest of a fixed manifest forgets the rows it no longer rejects and
  /// a repeated one adds nothing. Several problems of one row are several
  /// entries with the same line.
  virtual void replace_rejected_rows(std::int64_t batch_id, const std::string& source,
                                     const std::vector<RejectedRow>& rows) = 0;
  /// Every rejected-row problem of `batch_id`, by source, line, then in the
  /// order recorded.
  virtual std::vector<RejectedRow> rejected_rows(std::int64_t batch_id) const = 0;
  /// Events of the jobs `job_ids` (at most a page of ids: results and report
  /// read a page of jobs at a time), ordered by job id, then oldest first.
  virtual std::vector<EventRecord> events_of_jobs(const std::vector<std::int64_t>& job_ids) const = 0;
  /// Submit attempts recorded per job (attempt_counts().first) for `job_ids`;
  /// jobs with none are absent.
  virtual std::map<std::int64_t, int> attempt_counts_of(const std::vector<std::int64_t>& job_ids) const = 0;
  /// Sum of the recorded costs (credits, each in its profile's unit) of the
  /// jobs matching `filter`, per profile; profiles whose jobs have no cost
  /// are absent. One query (progress lines call it every second).
  virtual std::map<std::string, double> cost_by_profile(const JobFilter& filter) const = 0;
};

/// True when `e` is a database failure of any JobStore implementation
/// (StoreError, SQLite::Exception, ...): the engine stops on those instead
/// of letting one job go.
bool is_store_failure(const std::exception& e);

/// Current Unix time in milliseconds.
std::int64_t now_ms();

/// A new owner id for claims: "<host>:<pid>:<random hex>".
std::string make_owner_id();

}  // namespace reelbatch
