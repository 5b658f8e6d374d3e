#include "storage/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>

namespace reelbatch {
namespace json = boost::json;

namespace {

// Each entry migrates from version i to i + 1. Never edit a shipped entry:
// append a new one and bump kSchemaVersion.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE batches (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  manifest_path TEXT NOT NULL UNIQUE,
  out_dir       TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE jobs (
  id             INTEGER PRIMARY KEY,
  batch_id       INTEGER NOT NULL REFERENCES batches(id),
  key            TEXT NOT NULL UNIQUE,
  content_hash   TEXT NOT NULL,
  file           TEXT NOT NULL,
  line           INTEGER NOT NULL,
  seq            INTEGER NOT NULL,
  profile        TEXT NOT NULL,
  priority       INTEGER NOT NULL DEFAULT 0,
  spec_json      TEXT NOT NULL,
  state          TEXT NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  remote_id      TEXT NOT NULL DEFAULT '',
  native_state   TEXT NOT NULL DEFAULT '',
  intent_at_ms   INTEGER NOT NULL DEFAULT 0,
  video_url      TEXT NOT NULL DEFAULT '',
  cover_url      TEXT NOT NULL DEFAULT '',
  last_frame_url TEXT NOT NULL DEFAULT '',
  url_expires_at_ms INTEGER NOT NULL DEFAULT 0,
  cost           REAL,
  error_code     TEXT NOT NULL DEFAULT '',
  error_message  TEXT NOT NULL DEFAULT '',
  output_path    TEXT NOT NULL DEFAULT '',
  bytes          INTEGER NOT NULL DEFAULT 0,
  sha256         TEXT NOT NULL DEFAULT '',
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL
);
CREATE INDEX jobs_batch ON jobs(batch_id, seq);
CREATE INDEX jobs_state ON jobs(state);
CREATE INDEX jobs_remote ON jobs(profile, remote_id);
CREATE TABLE attempts (
  id            INTEGER PRIMARY KEY,
  job_id        INTEGER NOT NULL REFERENCES jobs(id),
  profile       TEXT NOT NULL,
  intent_at_ms  INTEGER NOT NULL,
  outcome       TEXT NOT NULL DEFAULT 'pending',
  remote_id     TEXT NOT NULL DEFAULT '',
  error         TEXT NOT NULL DEFAULT '',
  finished_at_ms INTEGER
);
CREATE INDEX attempts_job ON attempts(job_id);
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  ts_ms      INTEGER NOT NULL,
  job_id     INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  from_state TEXT NOT NULL DEFAULT '',
  to_state   TEXT NOT NULL DEFAULT '',
  detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_job ON events(job_id, id);
CREATE TABLE uploads (
  profile    TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  remote_ref TEXT NOT NULL,
  file_name  TEXT NOT NULL,
  uploaded_at_ms INTEGER NOT NULL,
  PRIMARY KEY (profile, sha256)
);
-- Events are append-only.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
)sql",
    // 1 -> 2: profile pauses survive the run, for `reelbatch status`.
    R"sql(
CREATE TABLE profile_pauses (
  profile TEXT PRIMARY KEY,
  reason  TEXT NOT NULL,
  at_ms   INTEGER NOT NULL
);
)sql",
};

constexpr const char* kJobColumns =
    "id, batch_id, key, content_hash, file, line, seq, spec_json, state, attempts, remote_id, "
    "native_state, intent_at_ms, video_url, cover_url, last_frame_url, url_expires_at_ms, cost, "
    "error_code, error_message, output_path, bytes, sha256, created_at_ms, updated_at_ms";

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
  j.state = q.getColumn(c++).getString();
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
  return j;
}

std::string batch_filter(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return "1";
  std::string s = "batch_id IN (";
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + ")";
}

BatchRecord read_batch(SQLite::Statement& q) {
  return BatchRecord{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                     q.getColumn(3).getString(), q.getColumn(4).getInt64()};
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Store::Store(const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  db_ = std::make_unique<SQLite::Database>(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db_->setBusyTimeout(5000);
  db_->exec("PRAGMA journal_mode=WAL");
  db_->exec("PRAGMA synchronous=FULL");
  db_->exec("PRAGMA foreign_keys=ON");
  migrate();
}

Store::~Store() = default;

int Store::schema_version() const { return db_->execAndGet("PRAGMA user_version").getInt(); }

void Store::migrate() {
  int version = schema_version();
  if (version > kSchemaVersion)
    throw StoreError("database " + db_->getFilename() + " has schema version " + std::to_string(version) +
                     ", newer than this build's " + std::to_string(kSchemaVersion));
  while (version < kSchemaVersion) {
    SQLite::Transaction tx(*db_);
    db_->exec(kMigrations[version]);
    ++version;
    db_->exec("PRAGMA user_version = " + std::to_string(version));
    tx.commit();
  }
}

BatchRecord Store::ensure_batch(const std::string& name, const std::string& manifest_path,
                                const std::string& out_dir) {
  SQLite::Transaction tx(*db_);
  SQLite::Statement ins(*db_,
                        "INSERT OR IGNORE INTO batches(name, manifest_path, out_dir, created_at_ms) "
                        "VALUES (?, ?, ?, ?)");
  ins.bind(1, name);
  ins.bind(2, manifest_path);
  ins.bind(3, out_dir);
  ins.bind(4, now_ms());
  ins.exec();
  SQLite::Statement q(*db_,
                      "SELECT id, name, manifest_path, out_dir, created_at_ms FROM batches WHERE manifest_path = ?");
  q.bind(1, manifest_path);
  q.executeStep();
  BatchRecord b = read_batch(q);
  tx.commit();
  return b;
}

std::vector<BatchRecord> Store::batches() const {
  SQLite::Statement q(*db_, "SELECT id, name, manifest_path, out_dir, created_at_ms FROM batches ORDER BY id");
  std::vector<BatchRecord> out;
  while (q.executeStep()) out.push_back(read_batch(q));
  return out;
}

std::optional<BatchRecord> Store::batch(std::int64_t id) const {
  SQLite::Statement q(*db_, "SELECT id, name, manifest_path, out_dir, created_at_ms FROM batches WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) return std::nullopt;
  return read_batch(q);
}

IngestResult Store::ingest(std::int64_t batch_id, const std::vector<IngestRow>& rows) {
  IngestResult r;
  SQLite::Transaction tx(*db_);
  std::int64_t seq = db_->execAndGet("SELECT COALESCE(MAX(seq), 0) FROM jobs").getInt64();
  SQLite::Statement find(*db_, "SELECT id, content_hash, file, line FROM jobs WHERE key = ?");
  SQLite::Statement ins(*db_,
                        "INSERT INTO jobs(batch_id, key, content_hash, file, line, seq, profile, priority, "
                        "spec_json, state, created_at_ms, updated_at_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)");
  SQLite::Statement ev(*db_,
                       "INSERT INTO events(ts_ms, job_id, kind, to_state, detail) VALUES (?, ?, 'ingest', 'pending', ?)");
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
  tx.commit();
  return r;
}

std::optional<JobRecord> Store::job(std::int64_t id) const {
  SQLite::Statement q(*db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) return std::nullopt;
  return read_job(q);
}

std::optional<JobRecord> Store::find_job(const std::string& id_or_key) const {
  SQLite::Statement q(*db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE key = ?");
  q.bind(1, id_or_key);
  if (q.executeStep()) return read_job(q);
  try {
    std::size_t used = 0;
    const auto id = std::stoll(id_or_key, &used);
    if (used == id_or_key.size()) return job(id);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::vector<JobRecord> Store::jobs(const std::vector<std::int64_t>& batch_ids) const {
  SQLite::Statement q(*db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE " +
                                batch_filter(batch_ids) + " ORDER BY seq");
  std::vector<JobRecord> out;
  while (q.executeStep()) out.push_back(read_job(q));
  return out;
}

std::map<std::string, int> Store::count_by_state(const std::vector<std::int64_t>& batch_ids) const {
  SQLite::Statement q(*db_, "SELECT state, COUNT(*) FROM jobs WHERE " + batch_filter(batch_ids) +
                                " GROUP BY state");
  std::map<std::string, int> out;
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getInt();
  return out;
}

std::vector<std::string> Store::remote_ids(const std::string& profile) const {
  SQLite::Statement q(*db_,
                      "SELECT remote_id FROM attempts WHERE profile = ? AND remote_id != '' "
                      "UNION SELECT remote_id FROM jobs WHERE profile = ? AND remote_id != ''");
  q.bind(1, profile);
  q.bind(2, profile);
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

void Store::save(JobRecord& j, const EventRecord& e) {
  SQLite::Transaction tx(*db_);
  write_job(j, e);
  tx.commit();
}

void Store::save(JobRecord& j, const EventRecord& e, const AttemptOutcome& a) {
  SQLite::Transaction tx(*db_);
  write_attempt(a);
  write_job(j, e);
  tx.commit();
}

std::optional<std::string> Store::accepted_remote_id(std::int64_t job_id) const {
  SQLite::Statement q(*db_,
                      "SELECT remote_id FROM attempts WHERE job_id = ? AND outcome = 'accepted' AND remote_id != '' "
                      "ORDER BY id DESC LIMIT 1");
  q.bind(1, job_id);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

void Store::write_job(JobRecord& j, const EventRecord& e) {
  j.updated_at_ms = now_ms();
  SQLite::Statement u(*db_,
                      "UPDATE jobs SET state=?, attempts=?, remote_id=?, native_state=?, intent_at_ms=?, "
                      "video_url=?, cover_url=?, last_frame_url=?, url_expires_at_ms=?, cost=?, error_code=?, "
                      "error_message=?, output_path=?, bytes=?, sha256=?, updated_at_ms=? WHERE id=?");
  int c = 1;
  u.bind(c++, j.state);
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
  u.bind(c++, j.updated_at_ms);
  u.bind(c++, j.id);
  if (u.exec() != 1) throw StoreError("job " + std::to_string(j.id) + " does not exist");
  SQLite::Statement ev(*db_,
                       "INSERT INTO events(ts_ms, job_id, kind, from_state, to_state, detail) VALUES (?,?,?,?,?,?)");
  ev.bind(1, j.updated_at_ms);
  ev.bind(2, j.id);
  ev.bind(3, e.kind);
  ev.bind(4, e.from_state);
  ev.bind(5, e.to_state);
  ev.bind(6, json::serialize(e.detail));
  ev.exec();
}

std::int64_t Store::begin_attempt(std::int64_t job_id, const std::string& profile) {
  SQLite::Statement q(*db_, "INSERT INTO attempts(job_id, profile, intent_at_ms) VALUES (?, ?, ?)");
  q.bind(1, job_id);
  q.bind(2, profile);
  q.bind(3, now_ms());
  q.exec();
  return db_->getLastInsertRowid();
}

void Store::finish_attempt(std::int64_t attempt_id, const std::string& outcome, const std::string& remote_id,
                           const std::string& error) {
  write_attempt(AttemptOutcome{attempt_id, outcome, remote_id, error});
}

void Store::write_attempt(const AttemptOutcome& a) {
  SQLite::Statement q(*db_,
                      "UPDATE attempts SET outcome=?, remote_id=?, error=?, finished_at_ms=? WHERE id=?");
  q.bind(1, a.outcome);
  q.bind(2, a.remote_id);
  q.bind(3, a.error);
  q.bind(4, now_ms());
  q.bind(5, a.attempt_id);
  q.exec();
}

std::pair<int, int> Store::attempt_counts(std::int64_t job_id) const {
  SQLite::Statement q(*db_,
                      "SELECT COUNT(*), COALESCE(SUM(outcome = 'accepted'), 0) FROM attempts WHERE job_id = ?");
  q.bind(1, job_id);
  q.executeStep();
  return {q.getColumn(0).getInt(), q.getColumn(1).getInt()};
}

std::vector<EventRecord> Store::events(std::int64_t job_id) const {
  SQLite::Statement q(*db_,
                      "SELECT id, ts_ms, job_id, kind, from_state, to_state, detail FROM events "
                      "WHERE job_id = ? ORDER BY id");
  q.bind(1, job_id);
  std::vector<EventRecord> out;
  while (q.executeStep()) {
    EventRecord e;
    e.id = q.getColumn(0).getInt64();
    e.ts_ms = q.getColumn(1).getInt64();
    e.job_id = q.getColumn(2).getInt64();
    e.kind = q.getColumn(3).getString();
    e.from_state = q.getColumn(4).getString();
    e.to_state = q.getColumn(5).getString();
    auto v = json::parse(q.getColumn(6).getString());
    if (v.is_object()) e.detail = std::move(v.as_object());
    out.push_back(std::move(e));
  }
  return out;
}

void Store::set_profile_pause(const std::string& profile, const std::string& reason) {
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

std::map<std::string, std::string> Store::profile_pauses() const {
  SQLite::Statement q(*db_, "SELECT profile, reason FROM profile_pauses ORDER BY profile");
  std::map<std::string, std::string> out;
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getString();
  return out;
}

std::optional<std::string> Store::find_upload(const std::string& profile, const std::string& sha256) const {
  SQLite::Statement q(*db_, "SELECT remote_ref FROM uploads WHERE profile = ? AND sha256 = ?");
  q.bind(1, profile);
  q.bind(2, sha256);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

void Store::record_upload(const std::string& profile, const std::string& sha256, const std::string& remote_ref,
                          const std::string& file_name) {
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

}  // namespace reelbatch
