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
// `dry` (plan, issue 9): every check the same, nothing created or written;
// the rows that would be recorded go to dry->rows.
void ingest_rows(const Config& cfg, JobStore& store, const Kinds& kinds, Manifest manifest,
                 const BatchTarget& target, const std::string& shown, IngestReport& report,
                 ManifestCheck* dry = nullptr) {
  std::set<int> bad_lines;
  // What is kept of the rejected rows, for the results files.
  std::vector<RejectedRow> rejected;
  for (const auto& e : manifest.errors) {
    report.errors.push_back(e.to_string());
    bad_lines.insert(e.line);
    rejected.push_back(RejectedRow{shown, e.line, "", "", e.field, e.reason});
  }
  report.rejected += static_cast<int>(bad_lines.size());

  // The batch's own folder, and the stems its rows already hold there.
  if (dry == nullptr)
    if (auto why = check_writable_folder(target.out_dir)) throw ManifestError(shown + ": output folder: " + *why);
  OutputClaims claims;
  claims.add_existing(store.output_claims(target.out_dir.string()));

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
      for (const auto& fe : problems) {
        report.errors.push_back(RowError{row.file, row.line, fe.field, fe.reason}.to_string());
        rejected.push_back(RejectedRow{shown, row.line, row.spec.id, row.spec.provider, fe.field, fe.reason});
      }
      ++report.rejected;
      continue;
    }
    good.push_back(IngestRow{std::move(row.spec), row.content_hash, row.file, row.line});
  }

  if (dry != nullptr) {
    // What store.ingest() would answer, read instead of written.
    for (auto& g : good) {
      CheckedRow c{g.spec, g.file, g.line, std::nullopt};
      if (auto known = store.find_job(g.spec.id); known && known->key == g.spec.id) {
        if (known->content_hash != g.content_hash) {
          report.errors.push_back(g.file + ":" + std::to_string(g.line) + ": id: '" + g.spec.id +
                                  "' is already used by a different row (" + known->file + ":" +
                                  std::to_string(known->line) + ")");
          ++report.rejected;
          continue;
        }
        ++report.existing;
        c.existing_state = known->state;
      } else {
        ++report.added;
      }
      dry->rows.push_back(std::move(c));
    }
    return;
  }

  const auto batch = store.ensure_batch(target.name, target.manifest_key, target.out_dir.string());
  const auto result = store.ingest(batch.id, good);
  report.errors.insert(report.errors.end(), result.conflicts.begin(), result.conflicts.end());
  // An id conflict is reported as "file:line: id: ..." for one of `good`.
  for (const auto& c : result.conflicts) {
    for (const auto& g : good) {
      const std::string prefix = g.file + ":" + std::to_string(g.line) + ": ";
      if (!c.starts_with(prefix)) continue;
      std::string rest = c.substr(prefix.size());
      std::string field = "id";
      if (rest.starts_with("id: ")) rest.erase(0, 4);
      rejected.push_back(RejectedRow{shown, g.line, g.spec.id, g.spec.provider, field, std::move(rest)});
      break;
    }
  }
  std::stable_sort(rejected.begin(), rejected.end(),
                   [](const RejectedRow& a, const RejectedRow& b) { return a.line < b.line; });
  store.replace_rejected_rows(batch.id, shown, rejected);
  report.rejected += static_cast<int>(result.conflicts.size());
  report.added += result.added;
  report.existing += result.existing;
  report.batch_ids.push_back(batch.id);
  spdlog::info("{}: {} new rows, {} already known; outputs in {}", shown, result.added, result.existing, batch.out_dir);
}

}  // namespace

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests) {
  return ingest_manifests(cfg, store, manifests, std::string());
}

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests,
                              const std::string& default_profile) {
  // An unknown kind throws ConfigError here, before any row is read.
  const Kinds kinds = kinds_of(cfg);
  // Where the files go is checked before anything is recorded, let alone paid.
  check_output_root(cfg);

  ManifestOptions mopts;
  if (cfg.profiles.size() == 1) mopts.default_provider = cfg.profiles.begin()->first;
  mopts.allowed_roots = cfg.allowed_roots;
  if (!default_profile.empty()) mopts.default_provider = default_profile;

  IngestReport report;
  for (const auto& path : manifests) {
    Manifest manifest = load_manifest(path, mopts);
    const fs::path abs = fs::absolute(path).lexically_normal();
    const auto [name, out_dir] = choose_batch_folder(store.batches(), abs, cfg.output_dir);
    ingest_rows(cfg, store, kinds, std::move(manifest), BatchTarget{name, abs.string(), out_dir}, path.string(),
                report);
  }
  return report;
}

ManifestCheck check_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests,
                              const std::string& default_profile) {
  const Kinds kinds = kinds_of(cfg);
  ManifestOptions mopts;
  if (cfg.profiles.size() == 1) mopts.default_provider = cfg.profiles.begin()->first;
  mopts.allowed_roots = cfg.allowed_roots;
  if (!default_profile.empty()) mopts.default_provider = default_profile;

  ManifestCheck check;
  for (const auto& path : manifests) {
    Manifest manifest = load_manifest(path, mopts);
    const fs::path abs = fs::absolute(path).lexically_normal();
    const auto [name, out_dir] = choose_batch_folder(store.batches(), abs, cfg.output_dir);
    ingest_rows(cfg, store, kinds, std::move(manifest), BatchTarget{name, abs.string(), out_dir}, path.string(),
                check.report, &check);
  }
  return check;
}

IngestReport ingest_parsed_manifest(const Config& cfg, JobStore& store, Manifest manifest, const BatchTarget& target) {
  IngestReport report;
  ingest_rows(cfg, store, kinds_of(cfg), std::move(manifest), target, target.manifest_key, report);
  return report;
}

}  // namespace reelbatch
