// Which JobStore a config opens (issue 13): the PostgreSQL database named by
// [storage] url when it is set (several daemons on one database), else the
// embedded SQLite file at [storage] path (the default). Every place in
// src/app that opens a store goes through here.
#pragma once

#include "config/config.hpp"
#include "storage/job_store.hpp"

#include <memory>
#include <string>

namespace reelbatch {

/// True when `cfg` names a PostgreSQL database ([storage] url).
bool uses_postgres(const Config& cfg);

/// Opens a new connection to the store `cfg` names: PgJobStore
/// (storage/postgres/pg_store.hpp) for a postgresql:// or postgres://
/// [storage] url, with [storage]'s password; else SqliteJobStore at
/// cfg.storage_path (created with its folders when missing). Each call
/// opens its own connection: one per thread. Throws what the store's
/// constructor throws (StoreError naming the redacted URL; SQLite::Exception
/// or StoreError for the file).
std::unique_ptr<JobStore> open_job_store(const Config& cfg);

/// Where the jobs live, for messages and logs: the URL with any password
/// redacted, or the SQLite file's path. Never holds a secret.
std::string describe_store(const Config& cfg);

/// False only when the store is a SQLite file that does not exist yet
/// (read-only commands then say "no database yet" instead of creating one).
/// A PostgreSQL database always counts as existing: opening it says more.
bool store_exists(const Config& cfg);

}  // namespace reelbatch
