#include "src/ingest/ingest.hpp"

#include "providers/provider.hpp"
#include "src/ingest/manifest.hpp"
#include "src/net/http_client.hpp"
#include "storage/job_store.hpp"

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <set>

namespace reelbatch {
namespace fs = std::filesystem;

IngestReport ingest_manifests(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests) {
  // Adapters are built only for their pure validate(); they make no requests.
  boost::asio::io_context io;
  HttpClient http(io.get_executor());
  std::map<std::string, std::unique_ptr<Provider>> providers;
  for (const auto& [name, prof] : cfg.profiles) providers.emplace(name, make_provider(prof, http));

  ManifestOptions mopts;
  if (cfg.profiles.size() == 1) mopts.default_provider = cfg.profiles.begin()->first;

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
      auto it = providers.find(row.spec.provider);
      if (it == providers.end()) {
        report.errors.push_back(RowError{row.file, row.line, "provider",
                                         "no profile named '" + row.spec.provider + "' in " + cfg.source.string()}
                                    .to_string());
        ++report.rejected;
        continue;
      }
      const auto problems = it->second->validate(apply_defaults(row.spec, it->second->profile().defaults));
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
