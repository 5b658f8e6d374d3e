#include "storage/postgres/pg_schema.hpp"

#include "storage/postgres/pg_store.hpp"

#include <pqxx/transaction>

#include <iterator>

namespace reelbatch::pg_schema {

namespace {

// Each entry migrates from version i to i + 1. Never edit a shipped entry:
// append a new one and bump kPgSchemaVersion. Version 1 is SQLite's
// version 4 (storage/sqlite/schema.cpp) in PostgreSQL's types: identity ids,
// a sequence for the ingest order (concurrent ingests cannot share a
// MAX(seq) + 1), JSONB for the spec and event details, a trigger for
// append-only events, and an index for the submit windows.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE batches (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          TEXT NOT NULL,
  manifest_path TEXT NOT NULL UNIQUE,
  out_dir       TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX batches_out_dir ON batches(out_dir);
CREATE SEQUENCE jobs_seq AS BIGINT;
CREATE TABLE jobs (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id       BIGINT NOT NULL REFERENCES batches(id),
  key            TEXT NOT NULL UNIQUE,
  content_hash   TEXT NOT NULL,
  file           TEXT NOT NULL,
  line           INTEGER NOT NULL,
  seq            BIGINT NOT NULL UNIQUE DEFAULT nextval('jobs_seq'),
  profile        TEXT NOT NULL,
  priority       INTEGER NOT NULL DEFAULT 0,
  spec_json      JSONB NOT NULL,
  state          TEXT NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  remote_id      TEXT NOT NULL DEFAULT '',
  native_state   TEXT NOT NULL DEFAULT '',
  intent_at_ms   BIGINT NOT NULL DEFAULT 0,
  video_url      TEXT NOT NULL DEFAULT '',
  cover_url      TEXT NOT NULL DEFAULT '',
  last_frame_url TEXT NOT NULL DEFAULT '',
  url_expires_at_ms BIGINT NOT NULL DEFAULT 0,
  cost           DOUBLE PRECISION,
  error_code     TEXT NOT NULL DEFAULT '',
  error_message  TEXT NOT NULL DEFAULT '',
  output_path    TEXT NOT NULL DEFAULT '',
  bytes          BIGINT NOT NULL DEFAULT 0,
  sha256         TEXT NOT NULL DEFAULT '',
  created_at_ms  BIGINT NOT NULL,
  updated_at_ms  BIGINT NOT NULL,
  lease_owner    TEXT NOT NULL DEFAULT '',
  lease_expires_at_ms BIGINT NOT NULL DEFAULT 0,
  fence          BIGINT NOT NULL DEFAULT 0
);
ALTER SEQUENCE jobs_seq OWNED BY jobs.seq;
CREATE INDEX jobs_batch ON jobs(batch_id, seq);
CREATE INDEX jobs_state ON jobs(state);
CREATE INDEX jobs_remote ON jobs(profile, remote_id);
CREATE INDEX jobs_claim ON jobs(profile, state, priority DESC, seq);
CREATE INDEX jobs_lease ON jobs(lease_owner);
CREATE TABLE attempts (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id         BIGINT NOT NULL REFERENCES jobs(id),
  profile        TEXT NOT NULL,
  intent_at_ms   BIGINT NOT NULL,
  outcome        TEXT NOT NULL DEFAULT 'pending',
  remote_id      TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT '',
  finished_at_ms BIGINT
);
CREATE INDEX attempts_job ON attempts(job_id);
CREATE INDEX attempts_window ON attempts(profile, intent_at_ms);
CREATE TABLE events (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ts_ms      BIGINT NOT NULL,
  job_id     BIGINT NOT NULL,
  kind       TEXT NOT NULL,
  from_state TEXT NOT NULL DEFAULT '',
  to_state   TEXT NOT NULL DEFAULT '',
  detail     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX events_job ON events(job_id, id);
CREATE FUNCTION reelbatch_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION reelbatch_events_append_only();
CREATE TABLE uploads (
  profile        TEXT NOT NULL,
  sha256         TEXT NOT NULL,
  remote_ref     TEXT NOT NULL,
  file_name      TEXT NOT NULL,
  uploaded_at_ms BIGINT NOT NULL,
  PRIMARY KEY (profile, sha256)
);
CREATE TABLE profile_pauses (
  profile TEXT PRIMARY KEY,
  reason  TEXT NOT NULL,
  at_ms   BIGINT NOT NULL
);
CREATE TABLE watch_files (
  sha256        TEXT PRIMARY KEY,
  path          TEXT NOT NULL,
  name          TEXT NOT NULL,
  batch_id      BIGINT REFERENCES batches(id),
  outcome       TEXT NOT NULL,
  rows          INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0,
  error         TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
)sql",
    // 1 -> 2: status-query times per profile (JobStore::record_poll_times;
    // SQLite's 4 -> 5), so the poll budget is seeded after a restart like the
    // submit budget. Pruned to the last two minutes on every write.
    R"sql(
CREATE TABLE poll_times (
  profile TEXT NOT NULL,
  at_ms   BIGINT NOT NULL
);
CREATE INDEX poll_times_profile ON poll_times(profile, at_ms);
)sql",
    // 2 -> 3: manifest rows rejected at ingest (results files, issue 9 item
    // 4; SQLite's 5 -> 6). One entry per problem; a row may have several.
    R"sql(
CREATE TABLE rejected_rows (
  id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id BIGINT NOT NULL REFERENCES batches(id),
  source   TEXT NOT NULL,
  line     INTEGER NOT NULL,
  key      TEXT NOT NULL DEFAULT '',
  profile  TEXT NOT NULL DEFAULT '',
  field    TEXT NOT NULL,
  message  TEXT NOT NULL
);
CREATE INDEX rejected_rows_batch ON rejected_rows(batch_id, source, line);
)sql",
    // 3 -> 4 (issue 9; SQLite's 6 -> 7): the credit ledger (one entry per
    // submit attempt: reserved estimate, then settled cost or released) and
    // per-batch caps. Costs recorded before the ledger become settled
    // entries (unit '' = unknown: they count for profile caps, not for batch
    // caps per unit).
    R"sql(
CREATE TABLE credit_ledger (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id        BIGINT NOT NULL REFERENCES jobs(id),
  attempt_id    BIGINT,
  batch_id      BIGINT NOT NULL,
  profile       TEXT NOT NULL,
  unit          TEXT NOT NULL,
  amount        DOUBLE PRECISION NOT NULL,
  source        TEXT NOT NULL,
  state         TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  settled_at_ms BIGINT
);
CREATE INDEX credit_ledger_profile ON credit_ledger(profile, state, created_at_ms);
CREATE INDEX credit_ledger_batch ON credit_ledger(batch_id, unit, state);
CREATE INDEX credit_ledger_job ON credit_ledger(job_id, attempt_id);
ALTER TABLE batches ADD COLUMN max_credits DOUBLE PRECISION;
INSERT INTO credit_ledger(job_id, attempt_id, batch_id, profile, unit, amount, source, state, created_at_ms,
                          settled_at_ms)
  SELECT id, (SELECT MAX(a.id) FROM attempts a WHERE a.job_id = jobs.id), batch_id, profile, '', cost, 'reported',
         'settled', updated_at_ms, updated_at_ms
  FROM jobs WHERE cost IS NOT NULL;
)sql",
};

static_assert(std::size(kMigrations) == kPgSchemaVersion, "one migration per schema version");

// Serializes migrations across processes; released at commit or rollback.
constexpr const char* kLock = "SELECT pg_advisory_xact_lock(hashtext('reelbatch schema'))";

int version_in(pqxx::transaction_base& tx) {
  // to_regclass, not CREATE TABLE IF NOT EXISTS: no NOTICE on stderr.
  if (!tx.exec1("SELECT to_regclass('reelbatch_schema') IS NOT NULL")[0].as<bool>()) return 0;
  return tx.exec1("SELECT version FROM reelbatch_schema")[0].as<int>();
}

}  // namespace

int read_version(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  return version_in(tx);
}

void migrate(pqxx::connection& conn, const std::string& where) {
  for (;;) {
    pqxx::work tx(conn);
    tx.exec(kLock);
    const bool fresh = !tx.exec1("SELECT to_regclass('reelbatch_schema') IS NOT NULL")[0].as<bool>();
    const int version = version_in(tx);
    if (version > kPgSchemaVersion)
      throw StoreError("database " + where + " has schema version " + std::to_string(version) +
                       ", newer than this build's " + std::to_string(kPgSchemaVersion));
    if (version == kPgSchemaVersion) return;  // nothing written: the rollback releases the lock
    if (fresh)
      tx.exec0(
          "CREATE TABLE reelbatch_schema (one_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (one_row), "
          "version INTEGER NOT NULL); INSERT INTO reelbatch_schema(version) VALUES (0)");
    tx.exec(kMigrations[version]);
    tx.exec0("UPDATE reelbatch_schema SET version = " + std::to_string(version + 1));
    tx.commit();
  }
}

}  // namespace reelbatch::pg_schema
