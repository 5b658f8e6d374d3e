#include "storage/postgres/pg_store.hpp"

#include "storage/postgres/pg_schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace reelbatch {
namespace json = boost::json;

namespace {

// The server's clock in Unix ms at the start of the current statement: the
// one clock every daemon's leases and windows are measured by.
constexpr const char* kNowMs = "(floor(extract(epoch FROM statement_timestamp()) * 1000))::bigint";

// The columns read_job() reads, in its order.
constexpr const char* kJobColumns =
    "id, batch_id, key, content_hash, file, line, seq, spec_json, state, attempts, remote_id, "
    "native_state, intent_at_ms, video_url, cover_url, last_frame_url, url_expires_at_ms, cost, "
    "error_code, error_message, output_path, bytes, sha256, created_at_ms, updated_at_ms, "
    "lease_owner, lease_expires_at_ms, fence";

// kJobColumns, each qualified by `table` (for statements that join).
std::string qualified_job_columns(const std::string& table) {
  std::string out;
  std::string_view cols(kJobColumns);
  while (!cols.empty()) {
    const auto comma = cols.find(',');
    auto name = cols.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    out += (out.empty() ? "" : ", ") + table + "." + std::string(name);
    cols = comma == std::string_view::npos ? std::string_view{} : cols.substr(comma + 1);
  }
  return out;
}

std::string job_select(const std::string& rest) { return std::string("SELECT ") + kJobColumns + " FROM jobs " + rest; }

// A JobFilter as three parameters starting at $first: batch ids (a bigint
// array literal), states (a text array literal) and the profile ('' = any).
std::string filter_sql(int first) {
  const auto p = [&](int i) { return "$" + std::to_string(first + i); };
  return "(" + p(0) + "::bigint[] = '{}' OR batch_id = ANY(" + p(0) + "::bigint[])) AND (" + p(1) +
         "::text[] = '{}' OR state = ANY(" + p(1) + "::text[])) AND (" + p(2) + "::text = '' OR profile = " + p(2) +
         "::text)";
}

std::string batch_ids_literal(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "}";
}

// State names are lowercase words (src/core/job_state.hpp): no quoting needed.
std::string states_literal(const std::vector<JobState>& states) {
  std::string s = "{";
  for (std::size_t i = 0; i < states.size(); ++i) s += std::string(i ? "," : "") + to_string(states[i]);
  return s + "}";
}

// Shortest text that reads back as the same double.
std::string double_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

JobState parse_state(const std::string& text, const std::string& what) {
  if (auto s = job_state_from_string(text)) return *s;
  throw StoreError(what + " has unknown state '" + text + "'");
}

JobRecord read_job(const pqxx::row& r) {
  JobRecord j;
  pqxx::row::size_type c = 0;
  j.id = r[c++].as<std::int64_t>();
  j.batch_id = r[c++].as<std::int64_t>();
  j.key = r[c++].as<std::string>();
  j.content_hash = r[c++].as<std::string>();
  j.file = r[c++].as<std::string>();
  j.line = r[c++].as<int>();
  j.seq = r[c++].as<std::int64_t>();
  j.spec = job_spec_from_json(json::parse(r[c++].c_str()).as_object());
  j.state = parse_state(r[c++].as<std::string>(), "job " + std::to_string(j.id) + " ('" + j.key + "')");
  j.attempts = r[c++].as<int>();
  j.remote_id = r[c++].as<std::string>();
  j.native_state = r[c++].as<std::string>();
  j.intent_at_ms = r[c++].as<std::int64_t>();
  j.video_url = r[c++].as<std::string>();
  j.cover_url = r[c++].as<std::string>();
  j.last_frame_url = r[c++].as<std::string>();
  j.url_expires_at_ms = r[c++].as<std::int64_t>();
  if (const auto f = r[c++]; !f.is_null()) j.cost = f.as<double>();
  j.error_code = r[c++].as<std::string>();
  j.error_message = r[c++].as<std::string>();
  j.output_path = r[c++].as<std::string>();
  j.bytes = static_cast<std::uint64_t>(r[c++].as<std::int64_t>());
  j.sha256 = r[c++].as<std::string>();
  j.created_at_ms = r[c++].as<std::int64_t>();
  j.updated_at_ms = r[c++].as<std::int64_t>();
  j.lease_owner = r[c++].as<std::string>();
  j.lease_expires_at_ms = r[c++].as<std::int64_t>();
  j.fence = r[c++].as<std::int64_t>();
  return j;
}

std::vector<JobRecord> read_jobs(const pqxx::result& res) {
  std::vector<JobRecord> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(read_job(r));
  return out;
}

BatchRecord read_batch(const pqxx::row& r) {
  BatchRecord b;
  b.id = r[0].as<std::int64_t>();
  b.name = r[1].as<std::string>();
  b.manifest_path = r[2].as<std::string>();
  b.out_dir = r[3].as<std::string>();
  b.created_at_ms = r[4].as<std::int64_t>();
  if (!r[5].is_null()) b.max_credits = r[5].as<double>();
  return b;
}

constexpr const char* kBatchColumns = "id, name, manifest_path, out_dir, created_at_ms, max_credits";

// An events row selected as "id, ts_ms, job_id, kind, from_state, to_state, detail".
EventRecord read_event(const pqxx::row& r) {
  EventRecord e;
  e.id = r[0].as<std::int64_t>();
  e.ts_ms = r[1].as<std::int64_t>();
  e.job_id = r[2].as<std::int64_t>();
  e.kind = r[3].as<std::string>();
  const auto what = "event " + std::to_string(e.id) + " of job " + std::to_string(e.job_id);
  e.from_state = parse_state(r[4].as<std::string>(), what);
  e.to_state = parse_state(r[5].as<std::string>(), what);
  auto v = json::parse(r[6].c_str());
  if (v.is_object()) e.detail = std::move(v.as_object());
  return e;
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Runs `body`, rethrowing every libpqxx exception as StoreError naming the
// method and the (redacted) database.
template <typename F>
auto guarded(const std::string& where, const char* method, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const pqxx::sql_error& e) {
    throw StoreError("postgres " + where + ": " + method + ": " + trimmed(e.what()) + " (SQLSTATE " + e.sqlstate() +
                     ")");
  } catch (const pqxx::pqxx_exception& e) {
    throw StoreError("postgres " + where + ": " + method + ": " + trimmed(e.base().what()));
  }
}

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The libpq connection string: the URI with our parameters appended.
std::string conninfo(const PgConnectOptions& o) {
  std::string s = o.url;
  char sep = s.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](const std::string& key, const std::string& value) {
    s += sep;
    s += key + "=" + percent_encode(value);
    sep = '&';
  };
  if (o.connect_timeout_s > 0) add("connect_timeout", std::to_string(o.connect_timeout_s));
  add("application_name", "reelbatch");
  if (!o.password.empty()) add("password", o.password);
  return s;
}

// ---- the statements, one per store operation ---------------------------------

struct Statement {
  const char* name;
  std::string sql;
};

std::vector<Statement> statements() {
  const std::string now = kNowMs;
  const std::string returning_job = std::string(" RETURNING ") + kJobColumns;
  return {
      {"schema_version", "SELECT version FROM reelbatch_schema"},
      {"batch_insert",
       "INSERT INTO batches(name, manifest_path, out_dir, created_at_ms) VALUES ($1, $2, $3, " + now +
           ") ON CONFLICT (manifest_path) DO NOTHING"},
      {"batch_by_path", std::string("SELECT ") + kBatchColumns + " FROM batches WHERE manifest_path = $1"},
      {"batches", std::string("SELECT ") + kBatchColumns + " FROM batches ORDER BY id"},
      {"batch", std::string("SELECT ") + kBatchColumns + " FROM batches WHERE id = $1"},
      {"output_claims",
       "SELECT j.key, COALESCE(j.spec_json->>'output', ''), j.file, j.line FROM batches b "
       "JOIN jobs j ON j.batch_id = b.id WHERE b.out_dir = $1 ORDER BY j.seq"},
      {"ingest_find", "SELECT id, content_hash, file, line FROM jobs WHERE key = $1"},
      {"ingest_insert",
       "INSERT INTO jobs(batch_id, key, content_hash, file, line, profile, priority, spec_json, state, "
       "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, 'pending', " +
           now + ", " + now + ") ON CONFLICT (key) DO NOTHING RETURNING id"},
      {"ingest_event",
       "INSERT INTO events(ts_ms, job_id, kind, from_state, to_state, detail) "
       "VALUES (" + now + ", $1, 'ingest', 'pending', 'pending', $2::jsonb)"},
      {"job", job_select("WHERE id = $1")},
      {"job_by_key", job_select("WHERE key = $1")},
      {"jobs_page", job_select("WHERE seq > $1 AND " + filter_sql(2) + " ORDER BY seq LIMIT $5")},
      {"count_by_state", "SELECT state, COUNT(*), MIN(id) FROM jobs WHERE " + filter_sql(1) + " GROUP BY state"},
      {"remote_ids",
       "SELECT remote_id COLLATE \"C\" FROM attempts WHERE profile = $1 AND remote_id <> '' "
       "UNION SELECT remote_id COLLATE \"C\" FROM jobs WHERE profile = $1 AND remote_id <> '' ORDER BY 1"},
      {"transition",
       "UPDATE jobs SET state = $1, attempts = $2, remote_id = $3, native_state = $4, intent_at_ms = $5, "
       "video_url = $6, cover_url = $7, last_frame_url = $8, url_expires_at_ms = $9, cost = $10, "
       "error_code = $11, error_message = $12, output_path = $13, bytes = $14, sha256 = $15, updated_at_ms = " +
           now + " WHERE id = $16 AND state = $17 AND fence = $18 RETURNING updated_at_ms"},
      {"event_insert",
       "INSERT INTO events(ts_ms, job_id, kind, from_state, to_state, detail) "
       "VALUES ($1, $2, $3, $4, $5, $6::jsonb)"},
      {"job_lock", "SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE"},
      // Attempts that created or may have created a task, and those of them
      // whose outcome is not known (JobStore::begin_submit).
      {"submits_of_job",
       "SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome IN ('pending', 'unknown')) FROM attempts "
       "WHERE job_id = $1 AND outcome NOT IN ('rejected', 'absent')"},
      // Claims: rows another claimer holds locked are skipped, not waited for.
      {"claim_jobs",
       "WITH now AS (SELECT " + now + " AS ms), pick AS (SELECT jobs.id FROM jobs, now "
       "WHERE (jobs.lease_owner = '' OR jobs.lease_expires_at_ms <= now.ms) AND " + filter_sql(4) +
           " ORDER BY jobs.priority DESC, jobs.seq LIMIT $3 FOR UPDATE OF jobs SKIP LOCKED) "
           "UPDATE jobs SET lease_owner = $1, lease_expires_at_ms = (SELECT ms FROM now) + $2, "
           "fence = jobs.fence + 1 FROM pick WHERE jobs.id = pick.id RETURNING " +
           qualified_job_columns("jobs")},
      {"claim_job",
       "WITH now AS (SELECT " + now + " AS ms) UPDATE jobs SET lease_owner = $2, "
       "lease_expires_at_ms = now.ms + $3, fence = jobs.fence + 1 FROM now WHERE jobs.id = $1 AND "
       "(jobs.lease_owner = '' OR jobs.lease_expires_at_ms <= now.ms OR jobs.lease_owner = $2) RETURNING " +
           qualified_job_columns("jobs")},
      {"renew_leases", "UPDATE jobs SET lease_expires_at_ms = " + now + " + $2 WHERE lease_owner = $1"},
      {"release_leases",
       "UPDATE jobs SET lease_owner = '', lease_expires_at_ms = 0 WHERE lease_owner = $1 "
       "AND ($2::bigint[] = '{}' OR id = ANY($2::bigint[]))"},
      {"lease_owners",
       "SELECT lease_owner FROM jobs WHERE lease_owner <> '' GROUP BY lease_owner ORDER BY lease_owner COLLATE \"C\""},
      {"attempt_insert",
       "INSERT INTO attempts(job_id, profile, intent_at_ms, outcome) VALUES ($1, $2, " + now +
           ", 'pending') RETURNING id"},
      {"attempt_finish",
       "UPDATE attempts SET outcome = $1, remote_id = $2, error = $3, finished_at_ms = " + now +
           " WHERE id = $4 AND ($5::bigint = 0 OR job_id = $5::bigint)"},
      {"submit_times",
       "SELECT intent_at_ms FROM attempts WHERE profile = $1 AND intent_at_ms >= $2 ORDER BY intent_at_ms, id"},
      {"attempt_counts",
       "SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome = 'accepted') FROM attempts WHERE job_id = $1"},
      {"accepted_remote_id",
       "SELECT remote_id FROM attempts WHERE job_id = $1 AND outcome = 'accepted' AND remote_id <> '' "
       "ORDER BY id DESC LIMIT 1"},
      {"events",
       "SELECT id, ts_ms, job_id, kind, from_state, to_state, detail FROM events WHERE job_id = $1 ORDER BY id"},
      {"last_attempt_id", "SELECT MAX(id) FROM attempts WHERE job_id = $1"},
      {"poll_times_prune", "DELETE FROM poll_times WHERE profile = $1 AND at_ms < " + now + " - 120000"},
      {"poll_times_insert", "INSERT INTO poll_times(profile, at_ms) SELECT $1::text, unnest($2::bigint[])"},
      {"poll_times_since", "SELECT at_ms FROM poll_times WHERE profile = $1 AND at_ms >= $2 ORDER BY at_ms"},
      // ---- credits: the ledger (issue 9) ----
      {"credits_release_job",
       "UPDATE credit_ledger SET state = 'released', settled_at_ms = " + now +
           " WHERE job_id = $1 AND state = 'reserved'"},
      {"credits_reserve",
       "INSERT INTO credit_ledger(job_id, attempt_id, batch_id, profile, unit, amount, source, state, created_at_ms) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7, 'reserved', " + now + ")"},
      {"credit_uses_profile",
       "SELECT "
       "COALESCE(SUM(amount) FILTER (WHERE state = 'settled'), 0), "
       "COALESCE(SUM(amount) FILTER (WHERE state = 'reserved'), 0), "
       "COALESCE(SUM(amount) FILTER (WHERE state = 'settled' AND created_at_ms >= $2), 0), "
       "COALESCE(SUM(amount) FILTER (WHERE state = 'reserved' AND created_at_ms >= $2), 0) "
       "FROM credit_ledger WHERE profile = $1 AND state <> 'released'"},
      {"credit_uses_batch",
       "SELECT "
       "COALESCE(SUM(amount) FILTER (WHERE state = 'settled'), 0), "
       "COALESCE(SUM(amount) FILTER (WHERE state = 'reserved'), 0) "
       "FROM credit_ledger WHERE batch_id = $1 AND unit = $2 AND state <> 'released'"},
      {"batch_max_credits", "SELECT max_credits FROM batches WHERE id = $1"},
      {"credits_entry_of_attempt",
       "SELECT id, state FROM credit_ledger WHERE job_id = $1 AND attempt_id IS NOT DISTINCT FROM $2::bigint "
       "ORDER BY id DESC LIMIT 1"},
      {"credits_settle_cost",
       "UPDATE credit_ledger SET state = 'settled', amount = $1, source = $2, settled_at_ms = " + now +
           " WHERE id = $3"},
      {"credits_settle_estimate",
       "UPDATE credit_ledger SET state = 'settled', source = 'estimated:' || source, settled_at_ms = " + now +
           " WHERE id = $1"},
      {"credits_settle_new",
       "INSERT INTO credit_ledger(job_id, attempt_id, batch_id, profile, unit, amount, source, state, created_at_ms, "
       "settled_at_ms) SELECT id, $2::bigint, batch_id, profile, '', $3::double precision, $4::text, 'settled', " +
           now + ", " + now + " FROM jobs WHERE id = $1"},
      {"batch_set_max_credits", "UPDATE batches SET max_credits = $2 WHERE id = $1"},
      // Spec fields as stored: a duration that is not an integer reads as none.
      {"learned_costs",
       "SELECT m, r, d, COUNT(cost), AVG(cost), MIN(cost), MAX(cost), COUNT(g), AVG(g) FROM ("
       "  SELECT COALESCE(j.spec_json->>'model', '') AS m,"
       "         COALESCE(j.spec_json->>'resolution', '') AS r,"
       "         CASE WHEN jsonb_typeof(j.spec_json->'duration') = 'number'"
       "              THEN trunc((j.spec_json->>'duration')::numeric)::integer END AS d,"
       "         j.cost AS cost,"
       "         (SELECT MIN(e.ts_ms) FROM events e WHERE e.job_id = j.id AND e.kind = 'state'"
       "            AND e.from_state = 'running' AND e.to_state = 'downloading')"
       "           - NULLIF(j.intent_at_ms, 0) AS g"
       "  FROM jobs j WHERE j.profile = $1 AND j.state IN ('downloading', 'succeeded')) AS t"
       " GROUP BY m, r, d ORDER BY m COLLATE \"C\", r COLLATE \"C\", d NULLS FIRST"},
      // ---- results files ----
      {"rejected_rows_delete", "DELETE FROM rejected_rows WHERE batch_id = $1 AND source = $2"},
      {"rejected_rows_insert",
       "INSERT INTO rejected_rows(batch_id, source, line, key, profile, field, message) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7)"},
      {"rejected_rows",
       "SELECT source, line, key, profile, field, message FROM rejected_rows WHERE batch_id = $1 "
       "ORDER BY source COLLATE \"C\", line, id"},
      {"events_of_jobs",
       "SELECT id, ts_ms, job_id, kind, from_state, to_state, detail FROM events WHERE job_id = ANY($1::bigint[]) "
       "ORDER BY job_id, id"},
      {"attempt_counts_of",
       "SELECT job_id, COUNT(*) FROM attempts WHERE job_id = ANY($1::bigint[]) GROUP BY job_id"},
      {"cost_by_profile",
       "SELECT profile, SUM(cost) FROM jobs WHERE " + filter_sql(1) + " AND cost IS NOT NULL GROUP BY profile"},
      {"pause_set",
       "INSERT INTO profile_pauses(profile, reason, at_ms) VALUES ($1, $2, " + now +
           ") ON CONFLICT (profile) DO UPDATE SET reason = excluded.reason, at_ms = excluded.at_ms"},
      {"pause_clear", "DELETE FROM profile_pauses WHERE profile = $1"},
      {"pauses", "SELECT profile, reason FROM profile_pauses ORDER BY profile COLLATE \"C\""},
      {"upload_find", "SELECT remote_ref FROM uploads WHERE profile = $1 AND sha256 = $2"},
      {"upload_record",
       "INSERT INTO uploads(profile, sha256, remote_ref, file_name, uploaded_at_ms) VALUES ($1, $2, $3, $4, " + now +
           ") ON CONFLICT (profile, sha256) DO UPDATE SET remote_ref = excluded.remote_ref, "
           "file_name = excluded.file_name, uploaded_at_ms = excluded.uploaded_at_ms"},
      {"watch_find",
       "SELECT sha256, path, name, batch_id, outcome, rows, rejected, error, created_at_ms, updated_at_ms "
       "FROM watch_files WHERE sha256 = $1"},
      {"batch_exists", "SELECT 1 FROM batches WHERE id = $1"},
      {"watch_record",
       "INSERT INTO watch_files(sha256, path, name, batch_id, outcome, rows, rejected, error, created_at_ms, "
       "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " + now + ", " + now +
           ") ON CONFLICT (sha256) DO UPDATE SET path = excluded.path, name = excluded.name, "
           "batch_id = excluded.batch_id, outcome = excluded.outcome, rows = excluded.rows, "
           "rejected = excluded.rejected, error = excluded.error, updated_at_ms = excluded.updated_at_ms"},
  };
}

}  // namespace

// ---- URLs ----------------------------------------------------------------------

bool is_postgres_url(std::string_view url) {
  auto starts = [&](std::string_view prefix) {
    return url.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), url.begin(), [](char a, char b) {
             return a == std::tolower(static_cast<unsigned char>(b));
           });
  };
  return starts("postgresql://") || starts("postgres://");
}

std::string redact_postgres_url(std::string_view url) {
  std::string out;
  const auto scheme_end = url.find("://");
  std::size_t pos = 0;
  if (scheme_end != std::string_view::npos) {
    pos = scheme_end + 3;
    out.append(url.substr(0, pos));
    const auto auth_end = std::min(url.find_first_of("/?#", pos), url.size());
    const auto auth = url.substr(pos, auth_end - pos);
    const auto at = auth.rfind('@');
    if (at != std::string_view::npos) {
      const auto userinfo = auth.substr(0, at);
      const auto colon = userinfo.find(':');
      out.append(userinfo.substr(0, colon));
      if (colon != std::string_view::npos) out.append(":***");
      out.append(auth.substr(at));
    } else {
      out.append(auth);
    }
    pos = auth_end;
  }
  const auto query = url.find('?', pos);
  out.append(url.substr(pos, query == std::string_view::npos ? std::string_view::npos : query - pos));
  if (query == std::string_view::npos) return out;
  // Query parameters: every value of "password" is hidden.
  std::string_view rest = url.substr(query + 1);
  char sep = '?';
  while (true) {
    const auto amp = rest.find('&');
    const auto param = rest.substr(0, amp);
    const auto eq = param.find('=');
    out += sep;
    sep = '&';
    if (param.substr(0, eq) == "password")
      out.append("password=***");
    else
      out.append(param);
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

// ---- connection ------------------------------------------------------------------

struct PgJobStore::Impl {
  std::unique_ptr<pqxx::connection> conn;
};

PgJobStore::PgJobStore(const PgConnectOptions& options)
    : where_(redact_postgres_url(options.url)), impl_(std::make_unique<Impl>()) {
  if (!is_postgres_url(options.url))
    throw StoreError("postgres: not a postgresql:// or postgres:// URL: " + where_);
  guarded(where_, "connect", [&] { impl_->conn = std::make_unique<pqxx::connection>(conninfo(options)); });
  guarded(where_, "migrate", [&] { pg_schema::migrate(*impl_->conn, where_); });
  guarded(where_, "prepare", [&] {
    for (const auto& s : statements()) impl_->conn->prepare(s.name, s.sql);
  });
}

PgJobStore::~PgJobStore() = default;

int PgJobStore::schema_version() const {
  return guarded(where_, "schema_version", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    return tx.exec_prepared1("schema_version")[0].as<int>();
  });
}

// ---- batches and ingest ------------------------------------------------------

BatchRecord PgJobStore::ensure_batch(const std::string& name, const std::string& manifest_path,
                                     const std::string& out_dir) {
  return guarded(where_, "ensure_batch", [&] {
    pqxx::work tx(*impl_->conn);
    tx.exec_prepared("batch_insert", name, manifest_path, out_dir);
    auto b = read_batch(tx.exec_prepared1("batch_by_path", manifest_path));
    tx.commit();
    return b;
  });
}

std::vector<BatchRecord> PgJobStore::batches() const {
  return guarded(where_, "batches", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<BatchRecord> out;
    for (const auto& r : tx.exec_prepared("batches")) out.push_back(read_batch(r));
    return out;
  });
}

std::optional<BatchRecord> PgJobStore::batch(std::int64_t id) const {
  return guarded(where_, "batch", [&]() -> std::optional<BatchRecord> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("batch", id);
    if (res.empty()) return std::nullopt;
    return read_batch(res[0]);
  });
}

std::vector<OutputClaim> PgJobStore::output_claims(const std::string& out_dir) const {
  return guarded(where_, "output_claims", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<OutputClaim> out;
    for (const auto& r : tx.exec_prepared("output_claims", out_dir))
      out.push_back(OutputClaim{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                                r[3].as<int>()});
    return out;
  });
}

IngestResult PgJobStore::ingest(std::int64_t batch_id, const std::vector<IngestRow>& rows) {
  return guarded(where_, "ingest", [&] {
    IngestResult r;
    pqxx::work tx(*impl_->conn);
    // A row whose key is taken: existing (same content) or a conflict.
    auto known = [&](const IngestRow& row, const pqxx::row& found) {
      if (found[1].as<std::string>() == row.content_hash) {
        ++r.existing;
        r.job_ids.push_back(found[0].as<std::int64_t>());
      } else {
        r.conflicts.push_back(row.file + ":" + std::to_string(row.line) + ": id: '" + row.spec.id +
                              "' is already used by a different row (" + found[2].as<std::string>() + ":" +
                              std::to_string(found[3].as<int>()) + ")");
      }
    };
    for (const auto& row : rows) {
      if (const auto found = tx.exec_prepared("ingest_find", row.spec.id); !found.empty()) {
        known(row, found[0]);
        continue;
      }
      const auto ins = tx.exec_prepared("ingest_insert", batch_id, row.spec.id, row.content_hash, row.file, row.line,
                                        row.spec.provider, row.spec.priority, json::serialize(to_json(row.spec)));
      if (ins.empty()) {  // another process inserted the key since: it waited for that commit
        known(row, tx.exec_prepared1("ingest_find", row.spec.id));
        continue;
      }
      const auto id = ins[0][0].as<std::int64_t>();
      tx.exec_prepared("ingest_event", id, json::serialize(json::object{{"file", row.file}, {"line", row.line}}));
      ++r.added;
      r.job_ids.push_back(id);
    }
    tx.commit();
    return r;
  });
}

// ---- jobs --------------------------------------------------------------------

std::optional<JobRecord> PgJobStore::job(std::int64_t id) const {
  return guarded(where_, "job", [&]() -> std::optional<JobRecord> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("job", id);
    if (res.empty()) return std::nullopt;
    return read_job(res[0]);
  });
}

std::optional<JobRecord> PgJobStore::find_job(const std::string& id_or_key) const {
  const auto by_key = guarded(where_, "find_job", [&]() -> std::optional<JobRecord> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("job_by_key", id_or_key);
    if (res.empty()) return std::nullopt;
    return read_job(res[0]);
  });
  if (by_key) return by_key;
  std::int64_t id = 0;
  const auto* end = id_or_key.data() + id_or_key.size();
  const auto [ptr, ec] = std::from_chars(id_or_key.data(), end, id);
  if (ec != std::errc{} || ptr != end || id_or_key.empty()) return std::nullopt;
  return job(id);
}

JobPage PgJobStore::jobs(const JobQuery& q) const {
  return guarded(where_, "jobs", [&] {
    const int limit = std::clamp(q.limit, 1, 10000);
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("jobs_page", q.after_seq, batch_ids_literal(q.filter.batch_ids),
                                      states_literal(q.filter.states), q.filter.profile, limit + 1);
    JobPage page;
    for (const auto& r : res) {
      if (static_cast<int>(page.jobs.size()) == limit) {  // a row beyond this page: there is a next one
        page.next_after_seq = page.jobs.back().seq;
        break;
      }
      page.jobs.push_back(read_job(r));
    }
    return page;
  });
}

std::map<JobState, int> PgJobStore::count_by_state(const JobFilter& filter) const {
  return guarded(where_, "count_by_state", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::map<JobState, int> out;
    for (const auto& r : tx.exec_prepared("count_by_state", batch_ids_literal(filter.batch_ids),
                                          states_literal(filter.states), filter.profile))
      out[parse_state(r[0].as<std::string>(), "job " + r[2].as<std::string>())] = r[1].as<int>();
    return out;
  });
}

std::vector<std::string> PgJobStore::remote_ids(const std::string& profile) const {
  return guarded(where_, "remote_ids", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<std::string> out;
    for (const auto& r : tx.exec_prepared("remote_ids", profile)) out.push_back(r[0].as<std::string>());
    return out;
  });
}

namespace {

// The CAS UPDATE and event INSERT of a transition inside `tx`; the new
// updated_at_ms, or nullopt (nothing written) when the CAS fails.
std::optional<std::int64_t> write_transition(pqxx::work& tx, const JobRecord& j, JobState from,
                                             const EventRecord& e) {
  const std::string cost = j.cost ? double_text(*j.cost) : std::string();
  const auto res = tx.exec_prepared(
      "transition", to_string(j.state), j.attempts, j.remote_id, j.native_state, j.intent_at_ms, j.video_url,
      j.cover_url, j.last_frame_url, j.url_expires_at_ms, j.cost ? cost.c_str() : nullptr, j.error_code,
      j.error_message, j.output_path, static_cast<std::int64_t>(j.bytes), j.sha256, j.id, to_string(from), j.fence);
  if (res.empty()) return std::nullopt;
  const auto now = res[0][0].as<std::int64_t>();
  tx.exec_prepared("event_insert", now, j.id, e.kind, to_string(from), to_string(j.state),
                   json::serialize(e.detail));
  return now;
}

// Records an attempt's outcome inside `tx`; `job_id` 0 means any job.
void write_attempt(pqxx::transaction_base& tx, const AttemptUpdate& a, std::int64_t job_id) {
  const auto res = tx.exec_prepared("attempt_finish", to_string(a.outcome), a.remote_id, a.error, a.attempt_id, job_id);
  if (res.affected_rows() == 0)
    throw StoreError("attempt " + std::to_string(a.attempt_id) + " does not exist" +
                     (job_id ? " for job " + std::to_string(job_id) : std::string()));
}

// Serializes credit reservations across processes (begin_submit_reserving).
constexpr const char* kCreditLock = "SELECT pg_advisory_xact_lock(hashtext('reelbatch credits'))";

// JobStore::credit_uses inside `tx`.
CreditUses credit_uses_in(pqxx::transaction_base& tx, const std::string& profile, std::int64_t batch_id,
                          const std::string& unit, std::int64_t day_start_ms) {
  CreditUses u;
  {
    const auto r = tx.exec_prepared1("credit_uses_profile", profile, day_start_ms);
    u.profile_settled = r[0].as<double>();
    u.profile_reserved = r[1].as<double>();
    u.day_settled = r[2].as<double>();
    u.day_reserved = r[3].as<double>();
  }
  if (batch_id != 0) {
    const auto r = tx.exec_prepared1("credit_uses_batch", batch_id, unit);
    u.batch_settled = r[0].as<double>();
    u.batch_reserved = r[1].as<double>();
    if (const auto b = tx.exec_prepared("batch_max_credits", batch_id); !b.empty() && !b[0][0].is_null())
      u.batch_max_credits = b[0][0].as<double>();
  }
  return u;
}

// JobStore::begin_submit / begin_submit_reserving (credit nullptr: no
// ledger entry), one transaction on `conn`.
SubmitIntent begin_submit_in(pqxx::connection& conn, JobRecord& j, JobState from, EventRecord& e,
                             const std::string& profile, int max_submits, const CreditRequest* credit) {
  SubmitIntent out;
  pqxx::work tx(conn);
  // The row lock orders every begin_submit of this job: the count below
  // sees the attempts of any writer that went first.
  if (tx.exec_prepared("job_lock", j.id).empty()) return out;  // no such job: lost, nothing written
  {
    const auto counts = tx.exec_prepared1("submits_of_job", j.id);
    out.submits = counts[0].as<int>();
    out.unknown = counts[1].as<int>();
  }
  if (out.submits >= std::max(1, max_submits)) {
    out.status = SubmitIntent::Status::ceiling;
    return out;  // tx rolls back: nothing written
  }
  if (credit != nullptr) {
    // Serializes the cap checks of every writer (any job, any daemon):
    // each sees the reservations of those that went first, as under
    // SQLite's write lock. Released at commit or rollback.
    tx.exec(kCreditLock);
    // Earlier open reservations of this row are released: it is submitted
    // again only once its earlier attempts are known not to be charged.
    tx.exec_prepared("credits_release_job", j.id);
    if (credit->refuse) {
      const CreditUses uses = credit_uses_in(tx, profile, j.batch_id, credit->unit, credit->day_start_ms);
      std::string why = credit->refuse(uses);
      if (!why.empty()) {
        out.status = SubmitIntent::Status::budget;
        out.budget_reason = std::move(why);
        return out;  // tx rolls back: the release above included
      }
    }
  }
  out.attempt_id = tx.exec_prepared1("attempt_insert", j.id, profile)[0].as<std::int64_t>();
  e.detail["attempt"] = out.attempt_id;
  if (credit != nullptr) {
    const double amount = std::max(0.0, credit->amount);
    tx.exec_prepared("credits_reserve", j.id, out.attempt_id, j.batch_id, profile, credit->unit,
                     double_text(amount), credit->source);
    e.detail["reserved"] = amount;
  }
  const auto now = write_transition(tx, j, from, e);
  if (!now) {
    out.status = SubmitIntent::Status::lost;
    out.attempt_id = 0;
    return out;  // tx rolls back, the attempt insert included
  }
  tx.commit();
  j.updated_at_ms = *now;
  out.status = SubmitIntent::Status::recorded;
  return out;
}

}  // namespace

bool PgJobStore::try_transition(JobRecord& j, JobState from, EventRecord e, const AttemptUpdate* attempt) {
  return guarded(where_, "try_transition", [&] {
    pqxx::work tx(*impl_->conn);
    const auto now = write_transition(tx, j, from, e);
    if (!now) return false;  // moved or claimed by another writer: tx rolls back
    if (attempt) write_attempt(tx, *attempt, j.id);
    tx.commit();
    j.updated_at_ms = *now;
    return true;
  });
}

SubmitIntent PgJobStore::begin_submit(JobRecord& j, JobState from, EventRecord e, const std::string& profile,
                                      int max_submits) {
  return guarded(where_, "begin_submit",
                 [&] { return begin_submit_in(*impl_->conn, j, from, e, profile, max_submits, nullptr); });
}

SubmitIntent PgJobStore::begin_submit_reserving(JobRecord& j, JobState from, EventRecord e,
                                                const std::string& profile, int max_submits,
                                                const CreditRequest& credit) {
  return guarded(where_, "begin_submit_reserving",
                 [&] { return begin_submit_in(*impl_->conn, j, from, e, profile, max_submits, &credit); });
}


// ---- leases ------------------------------------------------------------------

std::vector<JobRecord> PgJobStore::claim_jobs(const ClaimRequest& req) {
  if (req.owner.empty()) throw std::invalid_argument("claim_jobs: empty owner");
  if (req.limit <= 0) return {};
  return guarded(where_, "claim_jobs", [&] {
    pqxx::nontransaction tx(*impl_->conn);  // one statement: atomic on its own
    auto out = read_jobs(tx.exec_prepared("claim_jobs", req.owner, static_cast<std::int64_t>(req.ttl.count()),
                                          req.limit, batch_ids_literal(req.filter.batch_ids),
                                          states_literal(req.filter.states), req.filter.profile));
    // RETURNING has no order: highest priority first, then by seq.
    std::sort(out.begin(), out.end(), [](const JobRecord& a, const JobRecord& b) {
      if (a.spec.priority != b.spec.priority) return a.spec.priority > b.spec.priority;
      return a.seq < b.seq;
    });
    return out;
  });
}

std::optional<JobRecord> PgJobStore::claim_job(std::int64_t id, const std::string& owner,
                                               std::chrono::milliseconds ttl) {
  if (owner.empty()) throw std::invalid_argument("claim_job: empty owner");
  return guarded(where_, "claim_job", [&]() -> std::optional<JobRecord> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("claim_job", id, owner, static_cast<std::int64_t>(ttl.count()));
    if (res.empty()) return std::nullopt;
    return read_job(res[0]);
  });
}

int PgJobStore::renew_leases(const std::string& owner, std::chrono::milliseconds ttl) {
  if (owner.empty()) return 0;  // '' marks a free job: nobody to renew for
  return guarded(where_, "renew_leases", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    return static_cast<int>(
        tx.exec_prepared("renew_leases", owner, static_cast<std::int64_t>(ttl.count())).affected_rows());
  });
}

int PgJobStore::release_leases(const std::string& owner, const std::vector<std::int64_t>& job_ids) {
  if (owner.empty()) return 0;  // '' marks a free job: nobody to release for
  return guarded(where_, "release_leases", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    return static_cast<int>(tx.exec_prepared("release_leases", owner, batch_ids_literal(job_ids)).affected_rows());
  });
}

std::vector<std::string> PgJobStore::lease_owners() const {
  return guarded(where_, "lease_owners", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<std::string> out;
    for (const auto& r : tx.exec_prepared("lease_owners")) out.push_back(r[0].as<std::string>());
    return out;
  });
}

// ---- attempts and events -----------------------------------------------------

std::int64_t PgJobStore::begin_attempt(std::int64_t job_id, const std::string& profile) {
  return guarded(where_, "begin_attempt", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    return tx.exec_prepared1("attempt_insert", job_id, profile)[0].as<std::int64_t>();
  });
}

void PgJobStore::finish_attempt(const AttemptUpdate& update) {
  guarded(where_, "finish_attempt", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    write_attempt(tx, update, 0);
  });
}

std::vector<std::int64_t> PgJobStore::submit_times_since(const std::string& profile, std::int64_t since_ms) const {
  return guarded(where_, "submit_times_since", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<std::int64_t> out;
    for (const auto& r : tx.exec_prepared("submit_times", profile, since_ms)) out.push_back(r[0].as<std::int64_t>());
    return out;
  });
}

std::pair<int, int> PgJobStore::attempt_counts(std::int64_t job_id) const {
  return guarded(where_, "attempt_counts", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    const auto r = tx.exec_prepared1("attempt_counts", job_id);
    return std::make_pair(r[0].as<int>(), r[1].as<int>());
  });
}

std::optional<std::string> PgJobStore::accepted_remote_id(std::int64_t job_id) const {
  return guarded(where_, "accepted_remote_id", [&]() -> std::optional<std::string> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("accepted_remote_id", job_id);
    if (res.empty()) return std::nullopt;
    return res[0][0].as<std::string>();
  });
}

std::vector<EventRecord> PgJobStore::events(std::int64_t job_id) const {
  return guarded(where_, "events", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<EventRecord> out;
    for (const auto& r : tx.exec_prepared("events", job_id)) out.push_back(read_event(r));
    return out;
  });
}

std::optional<std::int64_t> PgJobStore::last_attempt_id(std::int64_t job_id) const {
  return guarded(where_, "last_attempt_id", [&]() -> std::optional<std::int64_t> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto r = tx.exec_prepared1("last_attempt_id", job_id);
    if (r[0].is_null()) return std::nullopt;
    return r[0].as<std::int64_t>();
  });
}

void PgJobStore::record_poll_times(const std::string& profile, const std::vector<std::int64_t>& at_ms) {
  guarded(where_, "record_poll_times", [&] {
    pqxx::work tx(*impl_->conn);
    // Two windows of 60 s on the server's clock (the store's clock).
    tx.exec_prepared("poll_times_prune", profile);
    if (!at_ms.empty()) tx.exec_prepared("poll_times_insert", profile, batch_ids_literal(at_ms));
    tx.commit();
  });
}

std::vector<std::int64_t> PgJobStore::poll_times_since(const std::string& profile, std::int64_t since_ms) const {
  return guarded(where_, "poll_times_since", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<std::int64_t> out;
    for (const auto& r : tx.exec_prepared("poll_times_since", profile, since_ms))
      out.push_back(r[0].as<std::int64_t>());
    return out;
  });
}

// ---- credits (issue 9) -----------------------------------------------------------

CreditUses PgJobStore::credit_uses(const std::string& profile, std::int64_t batch_id, const std::string& unit,
                                   std::int64_t day_start_ms) const {
  return guarded(where_, "credit_uses", [&] {
    pqxx::read_transaction tx(*impl_->conn);  // one snapshot for the three reads
    return credit_uses_in(tx, profile, batch_id, unit, day_start_ms);
  });
}

void PgJobStore::settle_credits(std::int64_t job_id, std::optional<double> cost, const std::string& source) {
  guarded(where_, "settle_credits", [&] {
    pqxx::work tx(*impl_->conn);
    // The job's row lock orders settles of one job (and its begin_submit):
    // two settles of a job without an entry cannot both insert one.
    if (tx.exec_prepared("job_lock", job_id).empty()) return;  // no such job: nothing to settle
    const auto last = tx.exec_prepared1("last_attempt_id", job_id);
    const std::string attempt = last[0].is_null() ? std::string() : last[0].as<std::string>();
    const char* attempt_param = last[0].is_null() ? nullptr : attempt.c_str();
    const auto found = tx.exec_prepared("credits_entry_of_attempt", job_id, attempt_param);
    if (!found.empty()) {
      if (found[0][1].as<std::string>() == "settled") return;  // already: nothing to commit
      const auto id = found[0][0].as<std::int64_t>();
      if (cost)
        tx.exec_prepared("credits_settle_cost", double_text(*cost), source, id);
      else
        tx.exec_prepared("credits_settle_estimate", id);
      tx.commit();
      return;
    }
    if (!cost) return;  // no reservation and no reported cost: nothing known to record
    tx.exec_prepared("credits_settle_new", job_id, attempt_param, double_text(*cost), source);
    tx.commit();
  });
}

void PgJobStore::release_credits(std::int64_t job_id) {
  guarded(where_, "release_credits", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    tx.exec_prepared("credits_release_job", job_id);
  });
}

bool PgJobStore::set_batch_max_credits(std::int64_t batch_id, std::optional<double> max_credits) {
  return guarded(where_, "set_batch_max_credits", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    const std::string cap = max_credits ? double_text(*max_credits) : std::string();
    return tx.exec_prepared("batch_set_max_credits", batch_id, max_credits ? cap.c_str() : nullptr)
               .affected_rows() > 0;
  });
}

std::vector<LearnedCostGroup> PgJobStore::learned_costs(const std::string& profile) const {
  return guarded(where_, "learned_costs", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<LearnedCostGroup> out;
    for (const auto& r : tx.exec_prepared("learned_costs", profile)) {
      LearnedCostGroup g;
      g.model = r[0].as<std::string>();
      g.resolution = r[1].as<std::string>();
      if (!r[2].is_null()) g.duration_s = r[2].as<int>();
      g.samples = r[3].as<int>();
      if (g.samples > 0) {
        g.mean = r[4].as<double>();
        g.min = r[5].as<double>();
        g.max = r[6].as<double>();
      }
      g.generation_samples = r[7].as<int>();
      if (g.generation_samples > 0) g.mean_generation_ms = r[8].as<double>();
      out.push_back(std::move(g));
    }
    return out;
  });
}

// ---- profiles and uploads ----------------------------------------------------

void PgJobStore::set_profile_pause(const std::string& profile, const std::string& reason) {
  guarded(where_, "set_profile_pause", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    if (reason.empty())
      tx.exec_prepared("pause_clear", profile);
    else
      tx.exec_prepared("pause_set", profile, reason);
  });
}

std::map<std::string, std::string> PgJobStore::profile_pauses() const {
  return guarded(where_, "profile_pauses", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::map<std::string, std::string> out;
    for (const auto& r : tx.exec_prepared("pauses")) out[r[0].as<std::string>()] = r[1].as<std::string>();
    return out;
  });
}

std::optional<std::string> PgJobStore::find_upload(const std::string& profile, const std::string& sha256) const {
  return guarded(where_, "find_upload", [&]() -> std::optional<std::string> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("upload_find", profile, sha256);
    if (res.empty()) return std::nullopt;
    return res[0][0].as<std::string>();
  });
}

void PgJobStore::record_upload(const std::string& profile, const std::string& sha256, const std::string& remote_ref,
                               const std::string& file_name) {
  guarded(where_, "record_upload", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    tx.exec_prepared("upload_record", profile, sha256, remote_ref, file_name);
  });
}

// ---- watch-folder ledger ----------------------------------------------------

std::optional<WatchFileRecord> PgJobStore::find_watch_file(const std::string& sha256) const {
  return guarded(where_, "find_watch_file", [&]() -> std::optional<WatchFileRecord> {
    pqxx::nontransaction tx(*impl_->conn);
    const auto res = tx.exec_prepared("watch_find", sha256);
    if (res.empty()) return std::nullopt;
    const auto& q = res[0];
    WatchFileRecord r;
    r.sha256 = q[0].as<std::string>();
    r.path = q[1].as<std::string>();
    r.name = q[2].as<std::string>();
    if (!q[3].is_null()) r.batch_id = q[3].as<std::int64_t>();
    const auto outcome = q[4].as<std::string>();
    const auto o = watch_file_outcome_from_string(outcome);
    if (!o) throw StoreError("watch file " + r.sha256 + " has unknown outcome '" + outcome + "'");
    r.outcome = *o;
    r.rows = q[5].as<int>();
    r.rejected = q[6].as<int>();
    r.error = q[7].as<std::string>();
    r.created_at_ms = q[8].as<std::int64_t>();
    r.updated_at_ms = q[9].as<std::int64_t>();
    return r;
  });
}

void PgJobStore::record_watch_file(const WatchFileRecord& rec) {
  guarded(where_, "record_watch_file", [&] {
    pqxx::work tx(*impl_->conn);
    if (rec.batch_id && tx.exec_prepared("batch_exists", *rec.batch_id).empty())
      throw StoreError("watch file " + rec.sha256 + ": no batch " + std::to_string(*rec.batch_id));
    const std::string batch = rec.batch_id ? std::to_string(*rec.batch_id) : std::string();
    tx.exec_prepared("watch_record", rec.sha256, rec.path, rec.name, rec.batch_id ? batch.c_str() : nullptr,
                     to_string(rec.outcome), rec.rows, rec.rejected, rec.error);
    tx.commit();
  });
}

// ---- results files -----------------------------------------------------------

void PgJobStore::replace_rejected_rows(std::int64_t batch_id, const std::string& source,
                                       const std::vector<RejectedRow>& rows) {
  guarded(where_, "replace_rejected_rows", [&] {
    pqxx::work tx(*impl_->conn);
    tx.exec_prepared("rejected_rows_delete", batch_id, source);
    for (const auto& r : rows)
      tx.exec_prepared("rejected_rows_insert", batch_id, source, r.line, r.key, r.profile, r.field, r.message);
    tx.commit();
  });
}

std::vector<RejectedRow> PgJobStore::rejected_rows(std::int64_t batch_id) const {
  return guarded(where_, "rejected_rows", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<RejectedRow> out;
    for (const auto& r : tx.exec_prepared("rejected_rows", batch_id))
      out.push_back(RejectedRow{r[0].as<std::string>(), r[1].as<int>(), r[2].as<std::string>(),
                                r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
    return out;
  });
}

std::vector<EventRecord> PgJobStore::events_of_jobs(const std::vector<std::int64_t>& job_ids) const {
  if (job_ids.empty()) return {};
  return guarded(where_, "events_of_jobs", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::vector<EventRecord> out;
    for (const auto& r : tx.exec_prepared("events_of_jobs", batch_ids_literal(job_ids))) out.push_back(read_event(r));
    return out;
  });
}

std::map<std::int64_t, int> PgJobStore::attempt_counts_of(const std::vector<std::int64_t>& job_ids) const {
  if (job_ids.empty()) return {};
  return guarded(where_, "attempt_counts_of", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::map<std::int64_t, int> out;
    for (const auto& r : tx.exec_prepared("attempt_counts_of", batch_ids_literal(job_ids)))
      out[r[0].as<std::int64_t>()] = r[1].as<int>();
    return out;
  });
}

std::map<std::string, double> PgJobStore::cost_by_profile(const JobFilter& filter) const {
  return guarded(where_, "cost_by_profile", [&] {
    pqxx::nontransaction tx(*impl_->conn);
    std::map<std::string, double> out;
    for (const auto& r : tx.exec_prepared("cost_by_profile", batch_ids_literal(filter.batch_ids),
                                          states_literal(filter.states), filter.profile))
      out[r[0].as<std::string>()] = r[1].as<double>();
    return out;
  });
}

}  // namespace reelbatch
