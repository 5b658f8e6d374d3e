#include "src/ingest/ingest.hpp"

#include "providers/provider.hpp"
#include "providers/registry.hpp"
#include "src/ingest/manifest.hpp"
#include "storage/job_store.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace reelbatch {
namespace fs = std::filesystem;

namespace {

using Kinds = std::map<std::string, const ProviderKind*>;

// Every profile's provider kind. Rows are checked by the registry's pure
// validators: no network objects. An unknown kind throws ConfigError.
Kinds kinds_of(const Config& cfg) {
  Kinds kinds;
  for (const auto& [name, prof] : cfg.profiles) kinds.emplace(name, &provider_kind_of(prof));
  return kinds;
}

// Validates `manifest`'s rows and ingests the good ones into `target`,
// adding to `report`; `shown` names the manifest in the log.
void ingest_rows(const Config& cfg, JobStore& store, const Kinds& kinds, Manifest manifest,
                 const BatchTarget& target, const std::string& shown, IngestReport& report) {
  std::set<int> bad_lines;
  for (const auto& e : manifest.errors) {
    report.errors.push_back(e.to_string());
    bad_lines.insert(e.line);
  }
  report.rejected += static_cast<int>(bad_lines.size());

  std::vector<IngestRow> good;
  for (auto& row : manifest.rows) {
    auto it = kinds.find(row.spec.provider);
    if (it == kinds.end()) {
      report.errors.push_back(RowError{row.file, row.line, "provider",
                                       "no profile named '" + row.spec.provider + "' in " + cfg.source.string()}
                                  .to_string());
      ++report.rejected;
      continue;
    }
    const ProfileConfig& prof = *cfg.profile(it->first);
    const auto problems = it->second->validate(prof, apply_defaults(row.spec, prof.defaults));
    if (!problems.empty()) {
      for (const auto& fe : problems)
        report.errors.push_back(RowError{row.file, row.line, fe.field, fe.reason}.to_string());
      ++report.rejected;
      continue;
    }
    good.push_back(IngestRow{std::move(row.spec), row.content_hash, row.file, row.line});
  }

  const auto batch = store.ensure_batch(target.name, target.manifest_key, target.out_dir.string());
  const auto result = store.ingest(batch.id, good);
  report.errors.insert(report.errors.end(), result.conflicts.begin(), result.conflicts.end());
  report.rejected += static_cast<int>(result.conflicts.size());
  report.added += result.added;
  report.existing += result.existing;
  report.batch_ids.push_back(batch.id);
  spdlog::info("{}: {} new rows, {} already known", shown, result.added, result.existing);
}

}  // namespace

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests) {
  // An unknown kind throws ConfigError here, before any row is read.
  const Kinds kinds = kinds_of(cfg);

  ManifestOptions mopts;
  if (cfg.profiles.size() == 1) mopts.default_provider = cfg.profiles.begin()->first;

  IngestReport report;
  for (const auto& path : manifests) {
    Manifest manifest = load_manifest(path, mopts);
    const fs::path abs = fs::absolute(path).lexically_normal();
    const std::string name = abs.stem().string();
    ingest_rows(cfg, store, kinds, std::move(manifest), BatchTarget{name, abs.string(), cfg.output_dir / name},
                path.string(), report);
  }
  return report;
}

IngestReport ingest_parsed_manifest(const Config& cfg, JobStore& store, Manifest manifest, const BatchTarget& target) {
  IngestReport report;
  ingest_rows(cfg, store, kinds_of(cfg), std::move(manifest), target, target.manifest_key, report);
  return report;
}

}  // namespace reelbatch
