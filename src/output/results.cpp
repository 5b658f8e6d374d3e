#include "src/output/results.hpp"

#include <boost/json/serialize.hpp>

#include <filesystem>

namespace reelbatch {
namespace json = boost::json;

namespace {

json::value file_json(const std::optional<DownloadedFile>& f) {
  if (!f) return nullptr;
  return json::object{{"file", f->path.filename().string()}, {"bytes", f->bytes}, {"sha256", f->sha256}};
}

}  // namespace

json::object make_sidecar(const JobRecord& j, const BatchRecord& b, const std::string& provider_kind, int attempts,
                          const RowOutputs& out, const std::vector<EventRecord>& events, std::int64_t now_ms) {
  json::array history;
  for (const auto& e : events) {
    if (e.kind != "state" && e.kind != "remote_state") continue;
    history.push_back(json::object{{"at_ms", e.ts_ms}, {"kind", e.kind}, {"from", to_string(e.from_state)},
                                   {"to", to_string(e.to_state)}, {"detail", e.detail}});
  }
  history.push_back(json::object{{"at_ms", now_ms}, {"kind", "state"}, {"from", to_string(j.state)},
                                 {"to", to_string(JobState::succeeded)}});
  json::object sidecar{
      {"id", j.key},
      {"batch", b.name},
      {"manifest", json::object{{"file", j.file}, {"line", j.line}}},
      {"row", to_json(j.spec)},
      {"profile", j.spec.provider},
      {"provider_kind", provider_kind},
      {"remote_task_id", j.remote_id},
      {"attempts", attempts},
      {"cost", j.cost ? json::value(*j.cost) : nullptr},
      {"video", file_json(out.video)},
      {"cover", file_json(out.cover)},
      {"last_frame", file_json(out.last_frame)},
      {"history", std::move(history)},
  };
  if (!out.download_errors.empty()) sidecar["download_errors"] = out.download_errors;
  return sidecar;
}

void write_results_jsonl(const JobStore& store, std::int64_t batch_id) {
  const auto b = store.batch(batch_id);
  if (!b) return;
  std::string out;
  JobQuery q;
  q.filter.batch_ids = {batch_id};
  for (;;) {
    const auto page = store.jobs(q);
    for (const auto& j : page.jobs) {
      json::object line{{"id", j.key},
                        {"line", j.line},
                        {"state", to_string(j.state)},
                        {"profile", j.spec.provider},
                        {"remote_task_id", j.remote_id},
                        {"output", j.output_path.empty() ? json::value(nullptr) : json::value(j.output_path)},
                        {"bytes", j.bytes},
                        {"sha256", j.sha256},
                        {"cost", j.cost ? json::value(*j.cost) : nullptr},
                        {"error_code", j.error_code},
                        {"error_message", j.error_message}};
      out += json::serialize(line);
      out += '\n';
    }
    if (!page.next_after_seq) break;
    q.after_seq = *page.next_after_seq;
  }
  std::filesystem::create_directories(b->out_dir);
  write_file_atomic(std::filesystem::path(b->out_dir) / "results.jsonl", out);
}

}  // namespace reelbatch
