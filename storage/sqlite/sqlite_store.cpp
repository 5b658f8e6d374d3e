#include "storage/sqlite/sqlite_store.hpp"

#include "storage/sqlite/schema.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <variant>

namespace reelbatch {
namespace json = boost::json;

namespace {

constexpr auto kImmediate = SQLite::TransactionBehavior::IMMEDIATE;

// The columns read_job() reads, in its order.
constexpr const char* kJobColumns =
    "id, batch_id, key, content_hash, file, line, seq, spec_json, state, attempts, remote_id, "
    "native_state, intent_at_ms, video_url, cover_url, last_frame_url, url_expires_at_ms, cost, "
    "error_code, error_message, output_path, bytes, sha256, created_at_ms, updated_at_ms, "
    "lease_owner, lease_expires_at_ms, fence";

std::string job_select(const std::string& rest) { return std::string("SELECT ") + kJobColumns + " FROM jobs " + rest; }

JobState parse_state(const std::string& text, const std::string& what) {
  if (auto s = job_state_from_string(text)) return *s;
  throw StoreError(what + " has unknown state '" + text + "'");
}

JobRecord read_job(SQLite::Statement& q) {
  JobRecord j;
  int c = 0;
  j.id = q.getColumn(c++).getInt64();
  j.batch_id = q.getColumn(c++).getInt64();
  j.key = q.getColumn(c++).getString();
  j.content_hash = q.getColumn(c++).getString();
  j.file = q.getColumn(c++).getString();
  j.line = q.getColumn(c++).getInt();
  j.seq = q.getColumn(c++).getInt64();
  j.spec = job_spec_from_json(json::parse(q.getColumn(c++).getString()).as_object());
  j.state = parse_state(q.getColumn(c++).getString(), "job " + std::to_string(j.id) + " ('" + j.key + "')");
  j.attempts = q.getColumn(c++).getInt();
  j.remote_id = q.getColumn(c++).getString();
  j.native_state = q.getColumn(c++).getString();
  j.intent_at_ms = q.getColumn(c++).getInt64();
  j.video_url = q.getColumn(c++).getString();
  j.cover_url = q.getColumn(c++).getString();
  j.last_frame_url = q.getColumn(c++).getString();
  j.url_expires_at_ms = q.getColumn(c++).getInt64();
  auto cost = q.getColumn(c++);
  if (!cost.isNull()) j.cost = cost.getDouble();
  j.error_code = q.getColumn(c++).getString();
  j.error_message = q.getColumn(c++).getString();
  j.output_path = q.getColumn(c++).getString();
  j.bytes = static_cast<std::uint64_t>(q.getColumn(c++).getInt64());
  j.sha256 = q.getColumn(c++).getString();
  j.created_at_ms = q.getColumn(c++).getInt64();
  j.updated_at_ms = q.getColumn(c++).getInt64();
  j.lease_owner = q.getColumn(c++).getString();
  j.lease_expires_at_ms = q.getColumn(c++).getInt64();
  j.fence = q.getColumn(c++).getInt64();
  return j;
}

// An events row selected as "id, ts_ms, job_id, kind, from_state, to_state, detail".
EventRecord read_event(SQLite::Statement& q) {
  EventRecord e;
  e.id = q.getColumn(0).getInt64();
  e.ts_ms = q.getColumn(1).getInt64();
  e.job_id = q.getColumn(2).getInt64();
  e.kind = q.getColumn(3).getString();
  const auto what = "event " + std::to_string(e.id) + " of job " + std::to_string(e.job_id);
  // Schema 1-2 wrote ingest events with an empty from_state.
  const auto from = q.getColumn(4).getString();
  e.from_state = from.empty() ? JobState::pending : parse_state(from, what);
  e.to_state = parse_state(q.getColumn(5).getString(), what);
  auto v = json::parse(q.getColumn(6).getString());
  if (v.is_object()) e.detail = std::move(v.as_object());
  return e;
}

BatchRecord read_batch(SQLite::Statement& q) {
  BatchRecord b;
  b.id = q.getColumn(0).getInt64();
  b.name = q.getColumn(1).getString();
  b.manifest_path = q.getColumn(2).getString();
  b.out_dir = q.getColumn(3).getString();
  b.created_at_ms = q.getColumn(4).getInt64();
  if (!q.getColumn(5).isNull()) b.max_credits = q.getColumn(5).getDouble();
  return b;
}

// A WHERE clause over jobs with its arguments: only generated "?" lists are
// spliced into the SQL, every value is bound.
struct Where {
  std::string sql = "1";
  std::vector<std::variant<std::int64_t, std::string>> args;
};

// "?,?,?": n SQL bind markers for an IN list.
std::string bind_markers(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

Where where_of(const JobFilter& f) {
  Where w;
  if (!f.batch_ids.empty()) {
    w.sql += " AND batch_id IN (" + bind_markers(f.batch_ids.size()) + ")";
    for (auto id : f.batch_ids) w.args.emplace_back(id);
  }
  if (!f.states.empty()) {
    w.sql += " AND state IN (" + bind_markers(f.states.size()) + ")";
    for (auto s : f.states) w.args.emplace_back(std::string(to_string(s)));
  }
  if (!f.profile.empty()) {
    w.sql += " AND profile = ?";
    w.args.emplace_back(f.profile);
  }
  return w;
}

/// Binds `args` from parameter `index` on; returns the next free index.
int bind_args(SQLite::Statement& q, const Where& w, int index) {
  for (const auto& a : w.args) std::visit([&](const auto& v) { q.bind(index++, v); }, a);
  return index;
}

std::int64_t expiry(std::int64_t now, std::chrono::milliseconds ttl) { return now + ttl.count(); }

}  // namespace

namespace {

std::string corrupt_message(const std::filesystem::path& path, const std::string& problems) {
  return "database " + path.string() + " is damaged: " + problems +
         "; stop every reelbatch using it, keep the file for inspection, and restore the latest copy made with "
         "`reelbatch backup` (or try `sqlite3 " + path.string() + " .recover`)";
}

// PRAGMA quick_check (O(pages), no index cross-checks): "ok", or up to
// `max` problem lines joined with "; ".
std::string quick_check(SQLite::Database& db, int max) {
  SQLite::Statement q(db, "PRAGMA quick_check(" + std::to_string(max) + ")");
  std::string problems;
  while (q.executeStep()) {
    const std::string line = q.getColumn(0).getString();
    if (line == "ok") return {};
    problems += (problems.empty() ? "" : "; ") + line;
  }
  return problems;
}

}  // namespace

SqliteJobStore::SqliteJobStore(const std::filesystem::path& path) {
  const bool in_memory = path == ":memory:";
  if (!in_memory && path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  try {
    db_ = std::make_unique<SQLite::Database>(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->setBusyTimeout(5000);
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("PRAGMA synchronous=FULL");
    db_->exec("PRAGMA foreign_keys=ON");
    // Issue 7, "Shutdown/start": a damaged file stops the program here,
    // before anything is read from it or written to it.
    if (!in_memory)
      if (const auto problems = quick_check(*db_, 5); !problems.empty())
        throw DatabaseCorrupt(corrupt_message(path, problems));
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;  // the primary result code
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) throw DatabaseCorrupt(corrupt_message(path, e.what()));
    throw;
  }
  sqlite_schema::migrate(*db_);
}

SqliteJobStore::~SqliteJobStore() = default;

int SqliteJobStore::schema_version() const { return db_->execAndGet("PRAGMA user_version").getInt(); }

// ---- batches and ingest ------------------------------------------------------

BatchRecord SqliteJobStore::ensure_batch(const std::string& name, const std::string& manifest_path,
                                         const std::string& out_dir) {
  SQLite::Transaction tx(*db_, kImmediate);
  SQLite::Statement ins(*db_,
                        "INSERT OR IGNORE INTO batches(name, manifest_path, out_dir, created_at_ms) "
                        "VALUES (?, ?, ?, ?)");
  ins.bind(1, name);
  ins.bind(2, manifest_path);
  ins.bind(3, out_dir);
  ins.bind(4, now_ms());
  ins.exec();
  SQLite::Statement q(*db_,
                      "SELECT id, name, manifest_path, out_dir, created_at_ms, max_credits FROM batches WHERE manifest_path = ?");
  q.bind(1, manifest_path);
  q.executeStep();
  BatchRecord b = read_batch(q);
  q.reset();
  tx.commit();
  return b;
}

std::vector<BatchRecord> SqliteJobStore::batches() const {
  SQLite::Statement q(*db_, "SELECT id, name, manifest_path, out_dir, created_at_ms, max_credits FROM batches ORDER BY id");
  std::vector<BatchRecord> out;
  while (q.executeStep()) out.push_back(read_batch(q));
  return out;
}

std::optional<BatchRecord> SqliteJobStore::batch(std::int64_t id) const {
  SQLite::Statement q(*db_, "SELECT id, name, manifest_path, out_dir, created_at_ms, max_credits FROM batches WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) return std::nullopt;
  return read_batch(q);
}

IngestResult SqliteJobStore::ingest(std::int64_t batch_id, const std::vector<IngestRow>& rows) {
  IngestResult r;
  SQLite::Transaction tx(*db_, kImmediate);
  std::int64_t seq = db_->execAndGet("SELECT COALESCE(MAX(seq), 0) FROM jobs").getInt64();
  SQLite::Statement find(*db_, "SELECT id, content_hash, file, line FROM jobs WHERE key = ?");
  SQLite::Statement ins(*db_,
                        "INSERT INTO jobs(batch_id, key, content_hash, file, line, seq, profile, priority, "
                        "spec_json, state, created_at_ms, updated_at_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)");
  SQLite::Statement ev(*db_,
                       "INSERT INTO events(ts_ms, job_id, kind, from_state, to_state, detail) "
                       "VALUES (?, ?, 'ingest', 'pending', 'pending', ?)");
  const auto now = now_ms();
  for (const auto& row : rows) {
    find.reset();
    find.bind(1, row.spec.id);
    if (find.executeStep()) {
      if (find.getColumn(1).getString() == row.content_hash) {
        ++r.existing;
        r.job_ids.push_back(find.getColumn(0).getInt64());
      } else {
        r.conflicts.push_back(row.file + ":" + std::to_string(row.line) + ": id: '" + row.spec.id +
                              "' is already used by a different row (" + find.getColumn(2).getString() + ":" +
                              std::to_string(find.getColumn(3).getInt()) + ")");
      }
      continue;
    }
    ins.reset();
    ins.bind(1, batch_id);
    ins.bind(2, row.spec.id);
    ins.bind(3, row.content_hash);
    ins.bind(4, row.file);
    ins.bind(5, row.line);
    ins.bind(6, ++seq);
    ins.bind(7, row.spec.provider);
    ins.bind(8, row.spec.priority);
    ins.bind(9, json::serialize(to_json(row.spec)));
    ins.bind(10, now);
    ins.bind(11, now);
    ins.exec();
    const auto id = db_->getLastInsertRowid();
    ev.reset();
    ev.bind(1, now);
    ev.bind(2, id);
    ev.bind(3, json::serialize(json::object{{"file", row.file}, {"line", row.line}}));
    ev.exec();
    ++r.added;
    r.job_ids.push_back(id);
  }
  find.reset();
  tx.commit();
  return r;
}

// ---- jobs --------------------------------------------------------------------

std::optional<JobRecord> SqliteJobStore::job(std::int64_t id) const {
  SQLite::Statement q(*db_, job_select("WHERE id = ?"));
  q.bind(1, id);
  if (!q.executeStep()) return std::nullopt;
  return read_job(q);
}

std::optional<JobRecord> SqliteJobStore::find_job(const std::string& id_or_key) const {
  {
    SQLite::Statement q(*db_, job_select("WHERE key = ?"));
    q.bind(1, id_or_key);
    if (q.executeStep()) return read_job(q);
  }
  std::int64_t id = 0;
  const auto* end = id_or_key.data() + id_or_key.size();
  const auto [ptr, ec] = std::from_chars(id_or_key.data(), end, id);
  if (ec != std::errc{} || ptr != end || id_or_key.empty()) return std::nullopt;
  return job(id);
}

JobPage SqliteJobStore::jobs(const JobQuery& query) const {
  const int limit = std::clamp(query.limit, 1, 10000);
  const Where w = where_of(query.filter);
  SQLite::Statement q(*db_, job_select("WHERE seq > ? AND " + w.sql + " ORDER BY seq LIMIT ?"));
  q.bind(1, query.after_seq);
  q.bind(bind_args(q, w, 2), limit + 1);
  JobPage page;
  while (q.executeStep()) {
    if (static_cast<int>(page.jobs.size()) == limit) {  // a row beyond this page: there is a next one
      page.next_after_seq = page.jobs.back().seq;
      break;
    }
    page.jobs.push_back(read_job(q));
  }
  return page;
}

std::map<JobState, int> SqliteJobStore::count_by_state(const JobFilter& filter) const {
  const Where w = where_of(filter);
  SQLite::Statement q(*db_, "SELECT state, COUNT(*), MIN(id) FROM jobs WHERE " + w.sql + " GROUP BY state");
  bind_args(q, w, 1);
  std::map<JobState, int> out;
  while (q.executeStep()) {
    const auto state = parse_state(q.getColumn(0).getString(), "job " + std::to_string(q.getColumn(2).getInt64()));
    out[state] = q.getColumn(1).getInt();
  }
  return out;
}

std::vector<OutputClaim> SqliteJobStore::output_claims(const std::string& out_dir) const {
  SQLite::Statement q(*db_,
                      "SELECT j.key, COALESCE(json_extract(j.spec_json, '$.output'), ''), j.file, j.line "
                      "FROM batches b JOIN jobs j ON j.batch_id = b.id WHERE b.out_dir = ? ORDER BY j.seq");
  q.bind(1, out_dir);
  std::vector<OutputClaim> out;
  while (q.executeStep())
    out.push_back(OutputClaim{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                              q.getColumn(3).getInt()});
  return out;
}

std::vector<std::string> SqliteJobStore::remote_ids(const std::string& profile) const {
  SQLite::Statement q(*db_,
                      "SELECT remote_id FROM attempts WHERE profile = ? AND remote_id != '' "
                      "UNION SELECT remote_id FROM jobs WHERE profile = ? AND remote_id != '' ORDER BY 1");
  q.bind(1, profile);
  q.bind(2, profile);
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

bool SqliteJobStore::try_transition(JobRecord& j, JobState from, EventRecord e, const AttemptUpdate* attempt) {
  SQLite::Transaction tx(*db_, kImmediate);
  const auto now = now_ms();
  if (!write_transition(j, from, e, now)) return false;  // moved or claimed by another writer: tx rolls back
  if (attempt) write_attempt(*attempt, j.id);
  tx.commit();
  j.updated_at_ms = now;
  return true;
}

SubmitIntent SqliteJobStore::begin_submit(JobRecord& j, JobState from, EventRecord e, const std::string& profile,
                                          int max_submits) {
  return begin_submit_impl(j, from, std::move(e), profile, max_submits, nullptr);
}

SubmitIntent SqliteJobStore::begin_submit_reserving(JobRecord& j, JobState from, EventRecord e,
                                                    const std::string& profile, int max_submits,
                                                    const CreditRequest& credit) {
  return begin_submit_impl(j, from, std::move(e), profile, max_submits, &credit);
}

SubmitIntent SqliteJobStore::begin_submit_impl(JobRecord& j, JobState from, EventRecord e, const std::string& profile,
                                               int max_submits, const CreditRequest* credit) {
  SQLite::Transaction tx(*db_, kImmediate);
  const auto now = now_ms();
  SubmitIntent out;
  {
    SQLite::Statement q(*db_,
                        "SELECT COUNT(*), COALESCE(SUM(outcome IN (?, ?)), 0) FROM attempts "
                        "WHERE job_id = ? AND outcome NOT IN (?, ?)");
    q.bind(1, to_string(AttemptOutcome::pending));
    q.bind(2, to_string(AttemptOutcome::unknown));
    q.bind(3, j.id);
    q.bind(4, to_string(AttemptOutcome::rejected));
    q.bind(5, to_string(AttemptOutcome::absent));
    q.executeStep();
    out.submits = q.getColumn(0).getInt();
    out.unknown = q.getColumn(1).getInt();
  }
  if (out.submits >= std::max(1, max_submits)) {
    out.status = SubmitIntent::Status::ceiling;
    return out;  // tx rolls back: nothing written
  }
  if (credit != nullptr) {
    // Earlier open reservations of this row are released: it is submitted
    // again only once its earlier attempts are known not to be charged.
    SQLite::Statement rel(*db_, "UPDATE credit_ledger SET state = 'released', settled_at_ms = ? "
                                "WHERE job_id = ? AND state = 'reserved'");
    rel.bind(1, now);
    rel.bind(2, j.id);
    rel.exec();
    if (credit->refuse) {
      const CreditUses uses = credit_uses(profile, j.batch_id, credit->unit, credit->day_start_ms);
      std::string why = credit->refuse(uses);
      if (!why.empty()) {
        out.status = SubmitIntent::Status::budget;
        out.budget_reason = std::move(why);
        return out;  // tx rolls back: the release above included
      }
    }
  }
  {
    SQLite::Statement q(*db_, "INSERT INTO attempts(job_id, profile, intent_at_ms, outcome) VALUES (?, ?, ?, ?)");
    q.bind(1, j.id);
    q.bind(2, profile);
    q.bind(3, now);
    q.bind(4, to_string(AttemptOutcome::pending));
    q.exec();
  }
  out.attempt_id = db_->getLastInsertRowid();
  e.detail["attempt"] = out.attempt_id;
  if (credit != nullptr) {
    SQLite::Statement q(*db_,
                        "INSERT INTO credit_ledger(job_id, attempt_id, batch_id, profile, unit, amount, source, state, "
                        "created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved', ?)");
    q.bind(1, j.id);
    q.bind(2, out.attempt_id);
    q.bind(3, j.batch_id);
    q.bind(4, profile);
    q.bind(5, credit->unit);
    q.bind(6, std::max(0.0, credit->amount));
    q.bind(7, credit->source);
    q.bind(8, now);
    q.exec();
    e.detail["reserved"] = std::max(0.0, credit->amount);
  }
  if (!write_transition(j, from, e, now)) {
    out.status = SubmitIntent::Status::lost;
    out.attempt_id = 0;
    return out;  // tx rolls back, the attempt insert included
  }
  tx.commit();
  j.updated_at_ms = now;
  out.status = SubmitIntent::Status::recorded;
  return out;
}

bool SqliteJobStore::write_transition(JobRecord& j, JobState from, const EventRecord& e, std::int64_t now) {
  {
    SQLite::Statement u(*db_,
                        "UPDATE jobs SET state=?, attempts=?, remote_id=?, native_state=?, intent_at_ms=?, "
                        "video_url=?, cover_url=?, last_frame_url=?, url_expires_at_ms=?, cost=?, error_code=?, "
                        "error_message=?, output_path=?, bytes=?, sha256=?, updated_at_ms=? "
                        "WHERE id=? AND state=? AND fence=?");
    int c = 1;
    u.bind(c++, to_string(j.state));
    u.bind(c++, j.attempts);
    u.bind(c++, j.remote_id);
    u.bind(c++, j.native_state);
    u.bind(c++, j.intent_at_ms);
    u.bind(c++, j.video_url);
    u.bind(c++, j.cover_url);
    u.bind(c++, j.last_frame_url);
    u.bind(c++, j.url_expires_at_ms);
    if (j.cost) u.bind(c++, *j.cost); else u.bind(c++);
    u.bind(c++, j.error_code);
    u.bind(c++, j.error_message);
    u.bind(c++, j.output_path);
    u.bind(c++, static_cast<std::int64_t>(j.bytes));
    u.bind(c++, j.sha256);
    u.bind(c++, now);
    u.bind(c++, j.id);
    u.bind(c++, to_string(from));
    u.bind(c++, j.fence);
    if (u.exec() == 0) return false;
  }
  SQLite::Statement ev(*db_,
                       "INSERT INTO events(ts_ms, job_id, kind, from_state, to_state, detail) VALUES (?,?,?,?,?,?)");
  ev.bind(1, now);
  ev.bind(2, j.id);
  ev.bind(3, e.kind);
  ev.bind(4, to_string(from));
  ev.bind(5, to_string(j.state));
  ev.bind(6, json::serialize(e.detail));
  ev.exec();
  return true;
}

// ---- leases ------------------------------------------------------------------

std::optional<JobRecord> SqliteJobStore::claim_one(std::int64_t id, const std::string& owner,
                                                   std::int64_t expires_at_ms, std::int64_t now, bool allow_own) {
  SQLite::Statement u(*db_,
                      std::string("UPDATE jobs SET lease_owner = ?1, lease_expires_at_ms = ?2, fence = fence + 1 "
                                  "WHERE id = ?3 AND (lease_owner = '' OR lease_expires_at_ms <= ?4 "
                                  "OR (?5 AND lease_owner = ?1)) RETURNING ") +
                          kJobColumns);
  u.bind(1, owner);
  u.bind(2, expires_at_ms);
  u.bind(3, id);
  u.bind(4, now);
  u.bind(5, allow_own ? 1 : 0);
  if (!u.executeStep()) return std::nullopt;
  auto j = read_job(u);
  u.reset();
  return j;
}

std::vector<JobRecord> SqliteJobStore::claim_jobs(const ClaimRequest& req) {
  if (req.owner.empty()) throw std::invalid_argument("claim_jobs: empty owner");
  std::vector<JobRecord> out;
  if (req.limit <= 0) return out;
  SQLite::Transaction tx(*db_, kImmediate);
  const auto now = now_ms();
  std::vector<std::int64_t> ids;
  {
    const Where w = where_of(req.filter);
    SQLite::Statement q(*db_, "SELECT id FROM jobs WHERE (lease_owner = '' OR lease_expires_at_ms <= ?) AND " +
                                  w.sql + " ORDER BY priority DESC, seq LIMIT ?");
    q.bind(1, now);
    q.bind(bind_args(q, w, 2), req.limit);
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
  }
  out.reserve(ids.size());
  for (auto id : ids)
    if (auto j = claim_one(id, req.owner, expiry(now, req.ttl), now, false)) out.push_back(std::move(*j));
  tx.commit();
  return out;
}

std::optional<JobRecord> SqliteJobStore::claim_job(std::int64_t id, const std::string& owner,
                                                   std::chrono::milliseconds ttl) {
  if (owner.empty()) throw std::invalid_argument("claim_job: empty owner");
  SQLite::Transaction tx(*db_, kImmediate);
  const auto now = now_ms();
  auto j = claim_one(id, owner, expiry(now, ttl), now, true);
  tx.commit();
  return j;
}

int SqliteJobStore::renew_leases(const std::string& owner, std::chrono::milliseconds ttl) {
  if (owner.empty()) return 0;  // '' marks a free job: nobody to renew for
  SQLite::Statement u(*db_, "UPDATE jobs SET lease_expires_at_ms = ? WHERE lease_owner = ?");
  u.bind(1, expiry(now_ms(), ttl));
  u.bind(2, owner);
  return u.exec();
}

std::vector<std::string> SqliteJobStore::lease_owners() const {
  SQLite::Statement q(*db_, "SELECT DISTINCT lease_owner FROM jobs WHERE lease_owner != '' ORDER BY lease_owner");
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

int SqliteJobStore::release_leases(const std::string& owner, const std::vector<std::int64_t>& job_ids) {
  if (owner.empty()) return 0;  // '' marks a free job: nobody to release for
  if (job_ids.empty()) {
    SQLite::Statement u(*db_, "UPDATE jobs SET lease_owner = '', lease_expires_at_ms = 0 WHERE lease_owner = ?");
    u.bind(1, owner);
    return u.exec();
  }
  SQLite::Transaction tx(*db_, kImmediate);
  int n = 0;
  {
    SQLite::Statement u(*db_,
                        "UPDATE jobs SET lease_owner = '', lease_expires_at_ms = 0 WHERE id = ? AND lease_owner = ?");
    for (auto id : job_ids) {
      u.reset();
      u.bind(1, id);
      u.bind(2, owner);
      n += u.exec();
    }
  }
  tx.commit();
  return n;
}

// ---- attempts and events -----------------------------------------------------

std::int64_t SqliteJobStore::begin_attempt(std::int64_t job_id, const std::string& profile) {
  SQLite::Statement q(*db_, "INSERT INTO attempts(job_id, profile, intent_at_ms, outcome) VALUES (?, ?, ?, ?)");
  q.bind(1, job_id);
  q.bind(2, profile);
  q.bind(3, now_ms());
  q.bind(4, to_string(AttemptOutcome::pending));
  q.exec();
  return db_->getLastInsertRowid();
}

void SqliteJobStore::finish_attempt(const AttemptUpdate& update) { write_attempt(update, 0); }

// Read once per engine start, over the attempts of one window: a scan of the
// attempts table is cheap at that rate, so no index (and no schema step).
std::vector<std::int64_t> SqliteJobStore::submit_times_since(const std::string& profile, std::int64_t since_ms) const {
  SQLite::Statement q(*db_,
                      "SELECT intent_at_ms FROM attempts WHERE profile = ? AND intent_at_ms >= ? "
                      "ORDER BY intent_at_ms, id");
  q.bind(1, profile);
  q.bind(2, since_ms);
  std::vector<std::int64_t> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getInt64());
  return out;
}

void SqliteJobStore::write_attempt(const AttemptUpdate& a, std::int64_t job_id) {
  SQLite::Statement q(*db_,
                      "UPDATE attempts SET outcome=?, remote_id=?, error=?, finished_at_ms=? "
                      "WHERE id=? AND (? = 0 OR job_id = ?)");
  q.bind(1, to_string(a.outcome));
  q.bind(2, a.remote_id);
  q.bind(3, a.error);
  q.bind(4, now_ms());
  q.bind(5, a.attempt_id);
  q.bind(6, job_id);
  q.bind(7, job_id);
  if (q.exec() == 0)
    throw StoreError("attempt " + std::to_string(a.attempt_id) + " does not exist" +
                     (job_id ? " for job " + std::to_string(job_id) : std::string()));
}

std::pair<int, int> SqliteJobStore::attempt_counts(std::int64_t job_id) const {
  SQLite::Statement q(*db_, "SELECT COUNT(*), COALESCE(SUM(outcome = ?), 0) FROM attempts WHERE job_id = ?");
  q.bind(1, to_string(AttemptOutcome::accepted));
  q.bind(2, job_id);
  q.executeStep();
  return {q.getColumn(0).getInt(), q.getColumn(1).getInt()};
}

std::optional<std::int64_t> SqliteJobStore::last_attempt_id(std::int64_t job_id) const {
  SQLite::Statement q(*db_, "SELECT MAX(id) FROM attempts WHERE job_id = ?");
  q.bind(1, job_id);
  if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
  return q.getColumn(0).getInt64();
}

void SqliteJobStore::record_poll_times(const std::string& profile, const std::vector<std::int64_t>& at_ms) {
  SQLite::Transaction tx(*db_, kImmediate);
  {
    SQLite::Statement q(*db_, "DELETE FROM poll_times WHERE profile = ? AND at_ms < ?");
    q.bind(1, profile);
    q.bind(2, now_ms() - 120000);
    q.exec();
  }
  SQLite::Statement q(*db_, "INSERT INTO poll_times(profile, at_ms) VALUES (?, ?)");
  for (const std::int64_t t : at_ms) {
    q.bind(1, profile);
    q.bind(2, t);
    q.exec();
    q.reset();
  }
  tx.commit();
}

std::vector<std::int64_t> SqliteJobStore::poll_times_since(const std::string& profile, std::int64_t since_ms) const {
  SQLite::Statement q(*db_, "SELECT at_ms FROM poll_times WHERE profile = ? AND at_ms >= ? ORDER BY at_ms");
  q.bind(1, profile);
  q.bind(2, since_ms);
  std::vector<std::int64_t> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getInt64());
  return out;
}

std::optional<std::string> SqliteJobStore::accepted_remote_id(std::int64_t job_id) const {
  SQLite::Statement q(*db_,
                      "SELECT remote_id FROM attempts WHERE job_id = ? AND outcome = ? AND remote_id != '' "
                      "ORDER BY id DESC LIMIT 1");
  q.bind(1, job_id);
  q.bind(2, to_string(AttemptOutcome::accepted));
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

std::vector<EventRecord> SqliteJobStore::events(std::int64_t job_id) const {
  SQLite::Statement q(*db_,
                      "SELECT id, ts_ms, job_id, kind, from_state, to_state, detail FROM events "
                      "WHERE job_id = ? ORDER BY id");
  q.bind(1, job_id);
  std::vector<EventRecord> out;
  while (q.executeStep()) out.push_back(read_event(q));
  return out;
}

// ---- profiles and uploads ----------------------------------------------------

// ---- credits (issue 9) -----------------------------------------------------------

CreditUses SqliteJobStore::credit_uses(const std::string& profile, std::int64_t batch_id, const std::string& unit,
                                       std::int64_t day_start_ms) const {
  CreditUses u;
  {
    SQLite::Statement q(*db_,
                        "SELECT "
                        "COALESCE(SUM(CASE WHEN state = 'settled' THEN amount END), 0), "
                        "COALESCE(SUM(CASE WHEN state = 'reserved' THEN amount END), 0), "
                        "COALESCE(SUM(CASE WHEN state = 'settled' AND created_at_ms >= ? THEN amount END), 0), "
                        "COALESCE(SUM(CASE WHEN state = 'reserved' AND created_at_ms >= ? THEN amount END), 0) "
                        "FROM credit_ledger WHERE profile = ? AND state != 'released'");
    q.bind(1, day_start_ms);
    q.bind(2, day_start_ms);
    q.bind(3, profile);
    q.executeStep();
    u.profile_settled = q.getColumn(0).getDouble();
    u.profile_reserved = q.getColumn(1).getDouble();
    u.day_settled = q.getColumn(2).getDouble();
    u.day_reserved = q.getColumn(3).getDouble();
  }
  if (batch_id != 0) {
    SQLite::Statement q(*db_,
                        "SELECT "
                        "COALESCE(SUM(CASE WHEN state = 'settled' THEN amount END), 0), "
                        "COALESCE(SUM(CASE WHEN state = 'reserved' THEN amount END), 0) "
                        "FROM credit_ledger WHERE batch_id = ? AND unit = ? AND state != 'released'");
    q.bind(1, batch_id);
    q.bind(2, unit);
    q.executeStep();
    u.batch_settled = q.getColumn(0).getDouble();
    u.batch_reserved = q.getColumn(1).getDouble();
    SQLite::Statement b(*db_, "SELECT max_credits FROM batches WHERE id = ?");
    b.bind(1, batch_id);
    if (b.executeStep() && !b.getColumn(0).isNull()) u.batch_max_credits = b.getColumn(0).getDouble();
  }
  return u;
}

void SqliteJobStore::settle_credits(std::int64_t job_id, std::optional<double> cost, const std::string& source) {
  SQLite::Transaction tx(*db_, kImmediate);
  const auto now = now_ms();
  std::optional<std::int64_t> attempt;
  {
    SQLite::Statement q(*db_, "SELECT MAX(id) FROM attempts WHERE job_id = ?");
    q.bind(1, job_id);
    if (q.executeStep() && !q.getColumn(0).isNull()) attempt = q.getColumn(0).getInt64();
  }
  SQLite::Statement find(*db_, "SELECT id, state FROM credit_ledger WHERE job_id = ? AND attempt_id IS ? "
                               "ORDER BY id DESC LIMIT 1");
  find.bind(1, job_id);
  if (attempt) find.bind(2, *attempt); else find.bind(2);
  if (find.executeStep()) {
    const std::int64_t id = find.getColumn(0).getInt64();
    const std::string state = find.getColumn(1).getString();
    find.reset();
    if (state == "settled") return;  // already: nothing to commit
    if (cost) {
      SQLite::Statement u(*db_, "UPDATE credit_ledger SET state = 'settled', amount = ?, source = ?, "
                                "settled_at_ms = ? WHERE id = ?");
      u.bind(1, *cost);
      u.bind(2, source);
      u.bind(3, now);
      u.bind(4, id);
      u.exec();
    } else {
      SQLite::Statement u(*db_, "UPDATE credit_ledger SET state = 'settled', source = 'estimated:' || source, "
                                "settled_at_ms = ? WHERE id = ?");
      u.bind(1, now);
      u.bind(2, id);
      u.exec();
    }
    tx.commit();
    return;
  }
  find.reset();
  if (!cost) return;
  SQLite::Statement q(*db_,
                      "INSERT INTO credit_ledger(job_id, attempt_id, batch_id, profile, unit, amount, source, state, "
                      "created_at_ms, settled_at_ms) SELECT id, ?, batch_id, profile, '', ?, ?, 'settled', ?, ? "
                      "FROM jobs WHERE id = ?");
  if (attempt) q.bind(1, *attempt); else q.bind(1);
  q.bind(2, *cost);
  q.bind(3, source);
  q.bind(4, now);
  q.bind(5, now);
  q.bind(6, job_id);
  q.exec();
  tx.commit();
}

void SqliteJobStore::release_credits(std::int64_t job_id) {
  SQLite::Statement u(*db_, "UPDATE credit_ledger SET state = 'released', settled_at_ms = ? "
                            "WHERE job_id = ? AND state = 'reserved'");
  u.bind(1, now_ms());
  u.bind(2, job_id);
  u.exec();
}

bool SqliteJobStore::set_batch_max_credits(std::int64_t batch_id, std::optional<double> max_credits) {
  SQLite::Statement u(*db_, "UPDATE batches SET max_credits = ? WHERE id = ?");
  if (max_credits) u.bind(1, *max_credits); else u.bind(1);
  u.bind(2, batch_id);
  return u.exec() > 0;
}

std::vector<LearnedCostGroup> SqliteJobStore::learned_costs(const std::string& profile) const {
  SQLite::Statement q(*db_,
                      "SELECT m, r, d, COUNT(cost), AVG(cost), MIN(cost), MAX(cost), COUNT(g), AVG(g) FROM ("
                      "  SELECT COALESCE(json_extract(j.spec_json, '$.model'), '') AS m,"
                      "         COALESCE(json_extract(j.spec_json, '$.resolution'), '') AS r,"
                      "         json_extract(j.spec_json, '$.duration') AS d, j.cost AS cost,"
                      "         (SELECT MIN(e.ts_ms) FROM events e WHERE e.job_id = j.id AND e.kind = 'state'"
                      "            AND e.from_state = 'running' AND e.to_state = 'downloading')"
                      "           - NULLIF(j.intent_at_ms, 0) AS g"
                      "  FROM jobs j WHERE j.profile = ? AND j.state IN ('downloading', 'succeeded'))"
                      " GROUP BY m, r, d ORDER BY m, r, d");
  q.bind(1, profile);
  std::vector<LearnedCostGroup> out;
  while (q.executeStep()) {
    LearnedCostGroup g;
    g.model = q.getColumn(0).getString();
    g.resolution = q.getColumn(1).getString();
    if (!q.getColumn(2).isNull()) g.duration_s = q.getColumn(2).getInt();
    g.samples = q.getColumn(3).getInt();
    if (g.samples > 0) {
      g.mean = q.getColumn(4).getDouble();
      g.min = q.getColumn(5).getDouble();
      g.max = q.getColumn(6).getDouble();
    }
    g.generation_samples = q.getColumn(7).getInt();
    if (g.generation_samples > 0) g.mean_generation_ms = q.getColumn(8).getDouble();
    out.push_back(std::move(g));
  }
  return out;
}

void SqliteJobStore::set_profile_pause(const std::string& profile, const std::string& reason) {
  if (reason.empty()) {
    SQLite::Statement q(*db_, "DELETE FROM profile_pauses WHERE profile = ?");
    q.bind(1, profile);
    q.exec();
    return;
  }
  SQLite::Statement q(*db_, "INSERT OR REPLACE INTO profile_pauses(profile, reason, at_ms) VALUES (?, ?, ?)");
  q.bind(1, profile);
  q.bind(2, reason);
  q.bind(3, now_ms());
  q.exec();
}

std::map<std::string, std::string> SqliteJobStore::profile_pauses() const {
  SQLite::Statement q(*db_, "SELECT profile, reason FROM profile_pauses ORDER BY profile");
  std::map<std::string, std::string> out;
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getString();
  return out;
}

std::optional<std::string> SqliteJobStore::find_upload(const std::string& profile, const std::string& sha256) const {
  SQLite::Statement q(*db_, "SELECT remote_ref FROM uploads WHERE profile = ? AND sha256 = ?");
  q.bind(1, profile);
  q.bind(2, sha256);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

void SqliteJobStore::record_upload(const std::string& profile, const std::string& sha256,
                                   const std::string& remote_ref, const std::string& file_name) {
  SQLite::Statement q(*db_,
                      "INSERT OR REPLACE INTO uploads(profile, sha256, remote_ref, file_name, uploaded_at_ms) "
                      "VALUES (?, ?, ?, ?, ?)");
  q.bind(1, profile);
  q.bind(2, sha256);
  q.bind(3, remote_ref);
  q.bind(4, file_name);
  q.bind(5, now_ms());
  q.exec();
}

// ---- watch-folder ledger ----------------------------------------------------

std::optional<WatchFileRecord> SqliteJobStore::find_watch_file(const std::string& sha256) const {
  SQLite::Statement q(*db_,
                      "SELECT sha256, path, name, batch_id, outcome, rows, rejected, error, created_at_ms, "
                      "updated_at_ms FROM watch_files WHERE sha256 = ?");
  q.bind(1, sha256);
  if (!q.executeStep()) return std::nullopt;
  WatchFileRecord r;
  r.sha256 = q.getColumn(0).getString();
  r.path = q.getColumn(1).getString();
  r.name = q.getColumn(2).getString();
  if (!q.getColumn(3).isNull()) r.batch_id = q.getColumn(3).getInt64();
  const std::string outcome = q.getColumn(4).getString();
  const auto o = watch_file_outcome_from_string(outcome);
  if (!o) throw StoreError("watch file " + r.sha256 + " has unknown outcome '" + outcome + "'");
  r.outcome = *o;
  r.rows = q.getColumn(5).getInt();
  r.rejected = q.getColumn(6).getInt();
  r.error = q.getColumn(7).getString();
  r.created_at_ms = q.getColumn(8).getInt64();
  r.updated_at_ms = q.getColumn(9).getInt64();
  return r;
}

void SqliteJobStore::record_watch_file(const WatchFileRecord& rec) {
  SQLite::Transaction tx(*db_, kImmediate);
  if (rec.batch_id) {
    SQLite::Statement b(*db_, "SELECT 1 FROM batches WHERE id = ?");
    b.bind(1, *rec.batch_id);
    if (!b.executeStep()) throw StoreError("watch file " + rec.sha256 + ": no batch " + std::to_string(*rec.batch_id));
  }
  const std::int64_t now = now_ms();
  SQLite::Statement q(*db_,
                      "INSERT INTO watch_files(sha256, path, name, batch_id, outcome, rows, rejected, error, "
                      "created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, name = excluded.name, "
                      "batch_id = excluded.batch_id, outcome = excluded.outcome, rows = excluded.rows, "
                      "rejected = excluded.rejected, error = excluded.error, updated_at_ms = excluded.updated_at_ms");
  q.bind(1, rec.sha256);
  q.bind(2, rec.path);
  q.bind(3, rec.name);
  if (rec.batch_id)
    q.bind(4, *rec.batch_id);
  else
    q.bind(4);
  q.bind(5, std::string(to_string(rec.outcome)));
  q.bind(6, rec.rows);
  q.bind(7, rec.rejected);
  q.bind(8, rec.error);
  q.bind(9, now);
  q.bind(10, now);
  q.exec();
  tx.commit();
}

// ---- results files -----------------------------------------------------------

void SqliteJobStore::replace_rejected_rows(std::int64_t batch_id, const std::string& source,
                                           const std::vector<RejectedRow>& rows) {
  SQLite::Transaction tx(*db_, kImmediate);
  SQLite::Statement del(*db_, "DELETE FROM rejected_rows WHERE batch_id = ? AND source = ?");
  del.bind(1, batch_id);
  del.bind(2, source);
  del.exec();
  SQLite::Statement ins(*db_,
                        "INSERT INTO rejected_rows(batch_id, source, line, key, profile, field, message) "
                        "VALUES (?,?,?,?,?,?,?)");
  for (const auto& r : rows) {
    ins.bind(1, batch_id);
    ins.bind(2, source);
    ins.bind(3, r.line);
    ins.bind(4, r.key);
    ins.bind(5, r.profile);
    ins.bind(6, r.field);
    ins.bind(7, r.message);
    ins.exec();
    ins.reset();
  }
  tx.commit();
}

std::vector<RejectedRow> SqliteJobStore::rejected_rows(std::int64_t batch_id) const {
  SQLite::Statement q(*db_,
                      "SELECT source, line, key, profile, field, message FROM rejected_rows WHERE batch_id = ? "
                      "ORDER BY source, line, id");
  q.bind(1, batch_id);
  std::vector<RejectedRow> out;
  while (q.executeStep())
    out.push_back(RejectedRow{q.getColumn(0).getString(), q.getColumn(1).getInt(), q.getColumn(2).getString(),
                              q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getString()});
  return out;
}

std::vector<EventRecord> SqliteJobStore::events_of_jobs(const std::vector<std::int64_t>& job_ids) const {
  std::vector<EventRecord> out;
  // SQLite's default limit on bound parameters is 32766; stay well below it.
  constexpr std::size_t kChunk = 500;
  for (std::size_t at = 0; at < job_ids.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, job_ids.size() - at);
    SQLite::Statement q(*db_,
                        "SELECT id, ts_ms, job_id, kind, from_state, to_state, detail FROM events WHERE job_id IN (" +
                            bind_markers(n) + ") ORDER BY job_id, id");
    for (std::size_t i = 0; i < n; ++i) q.bind(static_cast<int>(i + 1), job_ids[at + i]);
    while (q.executeStep()) out.push_back(read_event(q));
  }
  std::stable_sort(out.begin(), out.end(), [](const EventRecord& a, const EventRecord& b) { return a.job_id < b.job_id; });
  return out;
}

std::map<std::int64_t, int> SqliteJobStore::attempt_counts_of(const std::vector<std::int64_t>& job_ids) const {
  std::map<std::int64_t, int> out;
  constexpr std::size_t kChunk = 500;
  for (std::size_t at = 0; at < job_ids.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, job_ids.size() - at);
    SQLite::Statement q(*db_, "SELECT job_id, COUNT(*) FROM attempts WHERE job_id IN (" + bind_markers(n) +
                                  ") GROUP BY job_id");
    for (std::size_t i = 0; i < n; ++i) q.bind(static_cast<int>(i + 1), job_ids[at + i]);
    while (q.executeStep()) out[q.getColumn(0).getInt64()] = q.getColumn(1).getInt();
  }
  return out;
}

std::map<std::string, double> SqliteJobStore::cost_by_profile(const JobFilter& filter) const {
  const Where w = where_of(filter);
  SQLite::Statement q(*db_, "SELECT profile, SUM(cost) FROM jobs WHERE (" + w.sql +
                                ") AND cost IS NOT NULL GROUP BY profile");
  bind_args(q, w, 1);
  std::map<std::string, double> out;
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getDouble();
  return out;
}

}  // namespace reelbatch
