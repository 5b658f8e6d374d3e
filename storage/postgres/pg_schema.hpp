// The PostgreSQL schema of PgJobStore and its migrations (internal to
// storage/postgres/).
#pragma once

#include <pqxx/connection>

#include <string>

namespace reelbatch::pg_schema {

/// Migrates the database behind `conn` from the version in its
/// reelbatch_schema table (0 when the table is absent) to kPgSchemaVersion,
/// one transaction per step, each under pg_advisory_xact_lock so that
/// processes opening one database at once migrate it once and the others
/// see the result. Throws StoreError naming `where` (the redacted URL) when
/// the database is newer than this build; pqxx exceptions when a step fails
/// (that step is rolled back; earlier steps stay).
void migrate(pqxx::connection& conn, const std::string& where);

/// The version in reelbatch_schema (0 when the table is absent).
int read_version(pqxx::connection& conn);

}  // namespace reelbatch::pg_schema
