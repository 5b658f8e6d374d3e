#include "src/ingest/ingest.hpp"

#include "providers/provider.hpp"
#include "providers/registry.hpp"
#include "src/ingest/manifest.hpp"
#include "src/ingest/output_paths.hpp"
#include "storage/job_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <set>

namespace reelbatch {
namespace fs = std::filesystem;

void check_output_root(const Config& cfg) {
  if (auto why = check_writable_folder(cfg.output_dir))
    throw ConfigError(cfg.source.string() + ": output.dir: " + *why);
}

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests) {
  // Rows are checked by the registry's pure validators: no network objects.
  // An unknown kind throws ConfigError here, before any row is read.
  std::map<std::string, const ProviderKind*> kinds;
  for (const auto& [name, prof] : cfg.profiles) kinds.emplace(name, &provider_kind_of(prof));
  // Where the files go is checked before anything is recorded, let alone paid.
  check_output_root(cfg);

  ManifestOptions mopts;
  if (cfg.profiles.size() == 1) mopts.default_provider = cfg.profiles.begin()->first;
  mopts.allowed_roots = cfg.allowed_roots;

  IngestReport report;
  for (const auto& path : manifests) {
    Manifest manifest = load_manifest(path, mopts);
    std::set<int> bad_lines;
    for (const auto& e : manifest.errors) {
      report.errors.push_back(e.to_string());
      bad_lines.insert(e.line);
    }
    report.rejected += static_cast<int>(bad_lines.size());

    // The batch's own folder, and the stems its rows already hold there.
    const fs::path abs = fs::absolute(path).lexically_normal();
    const auto [name, out_dir] = choose_batch_folder(store.batches(), abs, cfg.output_dir);
    if (auto why = check_writable_folder(out_dir))
      throw ManifestError(path.string() + ": output folder: " + *why);
    OutputClaims claims;
    claims.add_existing(store.output_claims(out_dir.string()));

    std::vector<IngestRow> good;
    for (auto& row : manifest.rows) {
      std::vector<FieldError> problems;
      // The file name stem: its own rules, then one row per stem.
      const std::string stem = output_stem(row.spec);
      if (auto why = output_stem_problem(stem))
        problems.push_back(FieldError{row.spec.output.empty() ? "id" : "output",
                                      "as the output file name " + *why +
                                          (row.spec.output.empty() ? "; give the row an `output`" : "")});
      else if (auto clash = claims.claim(stem, row.spec.id, row.file, row.line))
        problems.push_back(FieldError{row.spec.output.empty() ? "id" : "output", std::move(*clash)});

      auto it = kinds.find(row.spec.provider);
      if (it == kinds.end()) {
        problems.push_back(FieldError{"provider", "no profile named '" + row.spec.provider + "' in " +
                                                      cfg.source.string()});
      } else {
        const ProfileConfig& prof = *cfg.profile(it->first);
        auto found = it->second->validate(prof, apply_defaults(row.spec, prof.defaults));
        const bool prompt_reported =
            std::any_of(found.begin(), found.end(), [](const FieldError& fe) { return fe.field == "prompt"; });
        if (!prompt_reported)
          if (auto why = check_prompt_length(*it->second, row.spec.prompt))
            found.push_back(FieldError{"prompt", std::move(*why)});
        problems.insert(problems.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
      }
      if (!problems.empty()) {
        for (const auto& fe : problems)
          report.errors.push_back(RowError{row.file, row.line, fe.field, fe.reason}.to_string());
        ++report.rejected;
        continue;
      }
      good.push_back(IngestRow{std::move(row.spec), row.content_hash, row.file, row.line});
    }

    const auto batch = store.ensure_batch(name, abs.string(), out_dir.string());
    const auto result = store.ingest(batch.id, good);
    report.errors.insert(report.errors.end(), result.conflicts.begin(), result.conflicts.end());
    report.rejected += static_cast<int>(result.conflicts.size());
    report.added += result.added;
    report.existing += result.existing;
    report.batch_ids.push_back(batch.id);
    spdlog::info("{}: {} new rows, {} already known; outputs in {}", path.string(), result.added, result.existing,
                 batch.out_dir);
  }
  return report;
}

}  // namespace reelbatch
