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
struct Manifest;

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

/// The batch a parsed manifest is recorded as (JobStore::ensure_batch).
struct BatchTarget {
  std::string name;          ///< batch name (shown by `status`)
  std::string manifest_key;  ///< identifies the batch across runs: the same key is the same batch
  std::filesystem::path out_dir;  ///< the batch's output folder, absolute
};

/// Validates every row of an already parsed `manifest` against its
/// profile's provider (with the profile's defaults applied), as
/// ingest_manifests() does, and ingests the good rows into the batch
/// `target` (created on first use). Returns one batch id, the rejected rows'
/// errors ("file:line: field: reason", row errors of the parse included),
/// and the added / existing counts. Throws ConfigError when a profile's kind
/// is unknown, SQLite::Exception / StoreError on database failure.
IngestReport ingest_parsed_manifest(const Config& cfg, JobStore& store, Manifest manifest, const BatchTarget& target);

}  // namespace reelbatch
