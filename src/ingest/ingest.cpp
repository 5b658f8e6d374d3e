#include "src/ingest/ingest.hpp"

#include "providers/provider.hpp"
#include "providers/registry.hpp"
#include "src/ingest/manifest.hpp"
#include "storage/job_store.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace reelbatch {
namespace fs = std::filesystem;

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests) {
  return ingest_manifests(cfg, store, manifests, std::string());
}

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests,
                              const std::string& default_profile) {
  // Rows are checked by the registry's pure validators: no network objects.
  // An unknown kind throws ConfigError here, before any row is read.
  std::map<std::string, const ProviderKind*> kinds;
  for (const auto& [name, prof] : cfg.profiles) kinds.emplace(name, &provider_kind_of(prof));

  ManifestOptions mopts;
  if (cfg.profiles.size() == 1) mopts.default_provider = cfg.profiles.begin()->first;
  if (!default_profile.empty()) mopts.default_provider = default_profile;

  IngestReport report;
  for (const auto& path : manifests) {
    Manifest manifest = load_manifest(path, mopts);
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

    const fs::path abs = fs::absolute(path).lexically_normal();
    const std::string name = abs.stem().string();
    const auto batch = store.ensure_batch(name, abs.string(), (cfg.output_dir / name).string());
    const auto result = store.ingest(batch.id, good);
    report.errors.insert(report.errors.end(), result.conflicts.begin(), result.conflicts.end());
    report.rejected += static_cast<int>(result.conflicts.size());
    report.added += result.added;
    report.existing += result.existing;
    report.batch_ids.push_back(batch.id);
    spdlog::info("{}: {} new rows, {} already known", path.string(), result.added, result.existing);
  }
  return report;
}

}  // namespace reelbatch
