// Manifest ingestion: parse, validate against each row's provider profile,
// and record the good rows as pending jobs (idempotently).
#pragma once

#include "config/config.hpp"
#include "src/core/job_spec.hpp"
#include "src/core/job_state.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
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

/// Checks, before anything is recorded or paid for, that the output root
/// (cfg.output_dir) exists or can be created and that files can be created
/// in it (output_paths.hpp, check_writable_folder). Throws ConfigError
/// "<config>: output.dir: <reason>". Blocking file-system I/O. Callers that
/// start the engine on batches ingested earlier (no ingest) call it too.
void check_output_root(const Config& cfg);

/// Loads each manifest, validates every row against its profile's provider
/// (with the profile's defaults applied) and ingests the good rows into one
/// batch per manifest. Before any row: check_output_root(cfg). Each batch
/// gets a folder of its own (output_paths.hpp, choose_batch_folder: the
/// manifest's stem, "<stem>-2", ... when another manifest's batch holds it;
/// the folder recorded for this manifest when it was ingested before),
/// created and checked writable before its rows are recorded.
///
/// Row errors ("file:line: field: reason"; the row is skipped, the others
/// go on): every ManifestRow error (manifest.hpp: fields, asset files,
/// allowed_roots, content sniffing); an output stem that output_stem_problem()
/// refuses (field "output", or "id" when the stem is the id); an output stem
/// already held, ignoring ASCII case, by another row of the manifest or by
/// another job in the batch folder (the message names that row's file:line);
/// no profile for the row's provider; the kind's validator's problems; a
/// prompt longer than the kind's prompt_limit (registry.hpp,
/// check_prompt_length, giving the size).
///
/// Every rejected row's problems are recorded with the batch
/// (JobStore::replace_rejected_rows, under the manifest as named in the
/// argument), replacing those of an earlier ingest of that manifest, so the
/// results files list rejected rows too.
///
/// Throws ManifestError when a manifest cannot be read or its header is bad,
/// or its batch folder cannot be created or written ("<manifest>: output
/// folder: <reason>"); ConfigError when a profile's kind is unknown or the
/// output root is unusable; SQLite::Exception on database failure.
IngestReport ingest_manifests(const Config& cfg, JobStore& store,
                              const std::vector<std::filesystem::path>& manifests);

/// As above, with `default_profile` as the profile of rows that name none
/// (the daemon's `POST /v1/batches?profile=`, `reelbatch submit --profile`);
/// empty: the config's only profile, if it has one. A default naming no
/// profile makes those rows rejected ("provider: no profile named ...").
IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<std::filesystem::path>& manifests,
                              const std::string& default_profile);

/// One row check_manifests() would record.
struct CheckedRow {
  JobSpec spec;      ///< as parsed (profile defaults not applied)
  std::string file;  ///< manifest file
  int line = 0;
  /// The state of the same row already in the database (same id and
  /// content); nullopt: a new row.
  std::optional<JobState> existing_state;
};

/// What ingest_manifests() would do, without doing it.
struct ManifestCheck {
  /// As ingest_manifests() reports (batch_ids stay empty; added counts the
  /// rows that would be new).
  IngestReport report;
  std::vector<CheckedRow> rows;  ///< the rows that pass, in manifest order
};

/// Validates `manifests` exactly as ingest_manifests() does (same parser,
/// same validators, output-stem clashes within the manifest and with the
/// batch folder's recorded jobs, id conflicts with recorded rows) and
/// writes nothing: no batch, no job, no folder, no probe file (issue 9:
/// `reelbatch plan`, `run --dry-run`). Throws ManifestError when a manifest
/// cannot be read or its header is bad; ConfigError for an unknown kind;
/// store exceptions on database failure.
ManifestCheck check_manifests(const Config& cfg, JobStore& store, const std::vector<std::filesystem::path>& manifests,
                              const std::string& default_profile = {});

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
