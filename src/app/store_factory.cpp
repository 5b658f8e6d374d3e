#include "src/app/store_factory.hpp"

#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <filesystem>

namespace reelbatch {

bool uses_postgres(const Config& cfg) { return !cfg.storage_url.empty(); }

std::unique_ptr<JobStore> open_job_store(const Config& cfg) {
  if (uses_postgres(cfg)) return std::make_unique<PgJobStore>(PgConnectOptions{cfg.storage_url, cfg.storage_password});
  return std::make_unique<SqliteJobStore>(cfg.storage_path);
}

std::string describe_store(const Config& cfg) {
  if (uses_postgres(cfg)) return redact_postgres_url(cfg.storage_url);
  return cfg.storage_path.string();
}

bool store_exists(const Config& cfg) { return uses_postgres(cfg) || std::filesystem::exists(cfg.storage_path); }

}  // namespace reelbatch
