// Manifest ingestion: parse, validate against each row's provider profile,
// and record the good rows as pending jobs (idempotently).
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace reelbatch {

class JobStore;

struct IngestReport {
  std::vector<std::int64_t> batch_ids;  ///< one per manifest, in argument order
  std::vector<std::string> errors;      ///< "file:line: field: reason", one or more per rejected row
  int rejected = 0;                     ///< rows skipped because of those errors
  int added = 0;                        ///< new jobs
  int existing = 0;                     ///< rows already in the database (not added again)
};

/// Loads each manifest, validates every row against its profile's provider
/// (with the profile's defaults applied) and ingests the good rows into one
/// batch per manifest (named after the file stem, output folder
/// `<cfg.output_dir>/<stem>`). Bad rows are reported and skipped.
/// Throws ManifestError when a manifest cannot be read or its header is bad,
/// ConfigError when a profile's kind is unknown, SQLite::Exception on
/// database failure.
IngestReport ingest_manifests(const Config& cfg, JobStore& store,
                              const std::vector<std::filesystem::path>& manifests);

/// As above, with `default_profile` as the profile of rows that name none
/// (the daemon's `POST /v1/batches?profile=`, `reelbatch submit --profile`);
/// empty: the config's only profile, if it has one. A default naming no
/// profile makes those rows rejected ("provider: no profile named ...").
IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<std::filesystem::path>& manifests,
                              const std::string& default_profile);

}  // namespace reelbatch
