// The SQLite schema of SqliteJobStore and its migrations (internal to
// storage/sqlite/).
#pragma once

namespace SQLite {
class Database;
}

namespace reelbatch::sqlite_schema {

/// Migrates `db` from its PRAGMA user_version to kSchemaVersion
/// (sqlite_store.hpp), one transaction per step. Throws StoreError when the
/// database is newer than this build, SQLite::Exception when a step fails
/// (that step is rolled back; earlier steps stay).
void migrate(SQLite::Database& db);

}  // namespace reelbatch::sqlite_schema
