// make_watch_ingest(): the daemon's ingest function for watch folders, over
// src/ingest.
#include "src/ingest/ingest.hpp"
#include "src/ingest/manifest.hpp"
#include "src/watch/watch_service.hpp"
#include "storage/job_store.hpp"

namespace reelbatch {
namespace fs = std::filesystem;

namespace {

// The batch for (shown, sha256): the existing one on a repeated call,
// otherwise named after the file's stem, with the hash's first 8 digits
// appended when another batch already writes to <output_dir>/<stem>.
BatchTarget batch_target(const Config& cfg, const JobStore& store, const std::string& shown,
                         const std::string& name, const std::string& sha256) {
  BatchTarget t;
  t.manifest_key = shown + "#sha256=" + sha256;
  t.name = fs::path(name).stem().string();
  t.out_dir = cfg.output_dir / t.name;
  bool taken = false;
  for (const auto& b : store.batches()) {
    if (b.manifest_path == t.manifest_key) return BatchTarget{b.name, b.manifest_path, b.out_dir};
    if (b.out_dir == t.out_dir.string()) taken = true;
  }
  if (taken) {
    t.name += "-" + sha256.substr(0, 8);
    t.out_dir = cfg.output_dir / t.name;
  }
  return t;
}

}  // namespace

WatchIngestFn make_watch_ingest(const Config& cfg, JobStore& store,
                                std::function<void(std::int64_t batch_id)> on_new_batch) {
  auto config = std::make_shared<const Config>(cfg);
  return [config, &store, on_new_batch = std::move(on_new_batch)](const WatchIngestRequest& req) {
    WatchIngestResult out;
    const std::string shown = (req.drop_dir / req.name).string();
    ManifestOptions opts;
    opts.default_provider = req.folder.profile;
    opts.allowed_roots = config->allowed_roots;
    Manifest manifest;
    try {
      manifest = load_manifest(req.file, shown, req.drop_dir, opts);
    } catch (const ManifestError& e) {
      out.fatal = e.what();
      return out;
    }
    const BatchTarget target = batch_target(*config, store, shown, req.name, req.sha256);
    IngestReport report;
    try {
      report = ingest_parsed_manifest(*config, store, std::move(manifest), target);
    } catch (const ConfigError& e) {
      out.fatal = e.what();
      return out;
    }
    out.batch_id = report.batch_ids.at(0);
    out.rows = report.added + report.existing;
    out.rejected = report.rejected;
    out.errors = std::move(report.errors);
    out.output_dir = target.out_dir;
    // Issue 9: the folder's per-batch credit cap, before the engine sees the batch.
    if (req.folder.max_credits) store.set_batch_max_credits(*out.batch_id, req.folder.max_credits);
    if (on_new_batch) on_new_batch(*out.batch_id);
    return out;
  };
}

}  // namespace reelbatch
