#include "storage/sqlite/schema.hpp"

#include "storage/sqlite/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <iterator>
#include <string>

namespace reelbatch::sqlite_schema {

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
    // 2 -> 3: leases with fencing tokens (JobStore, "Concurrency model"), an
    // index for claiming, and seq made unique. Ingest numbers jobs MAX(seq) + 1
    // inside one write transaction, so seq is unique already; a duplicate
    // (a hand-edited file) is renumbered after every other job first.
    R"sql(
UPDATE jobs SET seq = (SELECT MAX(seq) FROM jobs) + id
  WHERE EXISTS (SELECT 1 FROM jobs AS k WHERE k.seq = jobs.seq AND k.id < jobs.id);
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_expires_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX jobs_seq ON jobs(seq);
CREATE INDEX jobs_claim ON jobs(profile, state, priority DESC, seq);
CREATE INDEX jobs_lease ON jobs(lease_owner);
)sql",
    // 3 -> 4: the watch-folder ledger (src/watch/): one row per manifest
    // content taken from a watch folder, so a re-dropped file adds nothing.
    R"sql(
CREATE TABLE watch_files (
  sha256        TEXT PRIMARY KEY,
  path          TEXT NOT NULL,
  name          TEXT NOT NULL,
  batch_id      INTEGER REFERENCES batches(id),
  outcome       TEXT NOT NULL,
  rows          INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0,
  error         TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
)sql",
    // 4 -> 5: status-query times per profile (JobStore::record_poll_times),
    // so the poll budget is seeded after a restart like the submit budget.
    // Pruned to the last two minutes on every write; written in batches.
    R"sql(
CREATE TABLE poll_times (
  profile TEXT NOT NULL,
  at_ms   INTEGER NOT NULL
);
CREATE INDEX poll_times_profile ON poll_times(profile, at_ms);
)sql",
    // 5 -> 6: manifest rows rejected at ingest, so results files list every
    // row (issue 9, item 4). One entry per problem; a row may have several.
    // IF NOT EXISTS: tests (and hand repairs) set user_version back without
    // dropping the newer tables.
    R"sql(
CREATE TABLE IF NOT EXISTS rejected_rows (
  id       INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  source   TEXT NOT NULL,
  line     INTEGER NOT NULL,
  key      TEXT NOT NULL DEFAULT '',
  profile  TEXT NOT NULL DEFAULT '',
  field    TEXT NOT NULL,
  message  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_rows_batch ON rejected_rows(batch_id, source, line);
)sql",
    // 6 -> 7 (issue 9): the credit ledger (one entry per submit attempt:
    // reserved estimate, then settled cost or released) and per-batch caps.
    // Costs recorded before the ledger become settled entries (unit '' =
    // unknown: they count for profile caps, not for batch caps per unit).
    R"sql(
CREATE TABLE credit_ledger (
  id            INTEGER PRIMARY KEY,
  job_id        INTEGER NOT NULL REFERENCES jobs(id),
  attempt_id    INTEGER,
  batch_id      INTEGER NOT NULL,
  profile       TEXT NOT NULL,
  unit          TEXT NOT NULL,
  amount        REAL NOT NULL,
  source        TEXT NOT NULL,
  state         TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  settled_at_ms INTEGER
);
CREATE INDEX credit_ledger_profile ON credit_ledger(profile, state, created_at_ms);
CREATE INDEX credit_ledger_batch ON credit_ledger(batch_id, unit, state);
CREATE INDEX credit_ledger_job ON credit_ledger(job_id, attempt_id);
ALTER TABLE batches ADD COLUMN max_credits REAL;
INSERT INTO credit_ledger(job_id, attempt_id, batch_id, profile, unit, amount, source, state, created_at_ms,
                          settled_at_ms)
  SELECT id, (SELECT MAX(a.id) FROM attempts a WHERE a.job_id = jobs.id), batch_id, profile, '', cost, 'reported',
         'settled', updated_at_ms, updated_at_ms
  FROM jobs WHERE cost IS NOT NULL;
)sql",
};

static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

}  // namespace

void migrate(SQLite::Database& db) {
  for (;;) {
    // The version is read inside the write transaction, so two processes
    // opening one old file at once migrate it once.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version > kSchemaVersion)
      throw StoreError("database " + db.getFilename() + " has schema version " + std::to_string(version) +
                       ", newer than this build's " + std::to_string(kSchemaVersion));
    if (version == kSchemaVersion) return;  // nothing written: the rollback is a no-op
    db.exec(kMigrations[version]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
}

}  // namespace reelbatch::sqlite_schema
