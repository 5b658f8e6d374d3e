#include "src/output/results.hpp"

#include "config/config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>

namespace reelbatch {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

json::value file_json(const std::optional<DownloadedFile>& f) {
  if (!f) return nullptr;
  return json::object{{"file", f->path.filename().string()}, {"bytes", f->bytes}, {"sha256", f->sha256}};
}

// "2026-12-02T16:11:37.123Z", or null for 0.
json::value iso_ms(std::int64_t unix_ms) {
  if (unix_ms <= 0) return nullptr;
  const std::time_t s = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return json::value(fmt::format("{}.{:03}Z", buf, unix_ms % 1000));
}

json::value seconds_between(std::int64_t from_ms, std::int64_t to_ms) {
  if (from_ms <= 0 || to_ms <= 0) return nullptr;
  return json::value(static_cast<double>(to_ms - from_ms) / 1000.0);
}

json::value text_or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

std::string lookup(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

// Streams one file to `<path>.tmp` and renames it into place on commit():
// fsync of the file, rename, fsync of the folder. The destructor of an
// uncommitted writer removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path) : path_(std::move(path)), tmp_(path_.string() + ".tmp") {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + tmp_.string());
    buf_.reserve(kBuffer);
  }
  ~AtomicFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      std::error_code ec;
      fs::remove(tmp_, ec);
    }
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= kBuffer) drain();
  }
  void commit() {
    drain();
    if (::fsync(fd_) != 0) fail("cannot fsync " + tmp_.string());
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const int err = errno;
      std::error_code ec;
      fs::remove(tmp_, ec);
      throw std::system_error(err, std::generic_category(), "cannot rename " + tmp_.string());
    }
    const int d = ::open(path_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
      ::fsync(d);
      ::close(d);
    }
  }

 private:
  static constexpr std::size_t kBuffer = 256 * 1024;
  [[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }
  void drain() {
    std::string_view data = buf_;
    while (!data.empty()) {
      const auto n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("cannot write " + tmp_.string());
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    buf_.clear();
  }

  fs::path path_, tmp_;
  int fd_ = -1;
  std::string buf_;
};

// One process writes one batch's results files at a time (the engine's
// end-of-drain write and the ResultsWriter thread share the `.tmp` names).
std::mutex& results_write_mutex() {
  static std::mutex mu;
  return mu;
}

// Writes `rec` as one JSONL line and one CSV row.
void emit(const json::object& rec, AtomicFile& jsonl, AtomicFile& csv) {
  jsonl.write(json::serialize(rec));
  jsonl.write("\n");
  const auto& cols = result_columns();
  std::string row;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (i) row += ',';
    if (const auto* v = rec.if_contains(cols[i])) row += csv_field(*v);
  }
  row += "\r\n";
  csv.write(row);
}

// The sidecar of a succeeded job, or an empty object.
json::object read_sidecar(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::string sidecar_file(const json::object& sidecar, const char* key, const fs::path& dir) {
  const auto* v = sidecar.if_contains(key);
  if (!v || !v->is_object()) return {};
  const auto* f = v->as_object().if_contains("file");
  if (!f || !f->is_string() || f->as_string().empty()) return {};
  return (dir / std::string(f->as_string())).string();
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

std::string credit_unit(const ProfileConfig& profile) {
  return profile.credit_unit.empty() ? profile.kind + " credits" : profile.credit_unit;
}

ResultsContext results_context(const Config& cfg) {
  ResultsContext ctx;
  for (const auto& [name, prof] : cfg.profiles) {
    ctx.kinds[name] = prof.kind;
    ctx.units[name] = credit_unit(prof);
  }
  return ctx;
}

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> cols{
      "id",           "batch",          "source",          "profile",        "kind",
      "model",        "prompt",         "parameters",      "state",          "error_code",
      "error_message", "remote_task_id", "cost",           "cost_unit",      "cost_source",
      "ingested_at",  "submitted_at",   "generation_started_at", "generation_finished_at", "downloaded_at",
      "url_expires_at", "generation_s", "download_slack_s", "video",         "cover",
      "last_frame",   "bytes",          "sha256",          "attempts",       "video_duration_s",
      "video_width",  "video_height",   "video_codec",     "audio_codec",    "mismatch"};
  return cols;
}

json::object make_result_record(const JobRecord& j, const BatchRecord& b, const ResultsContext& ctx,
                                const std::vector<EventRecord>& events, int attempts, const std::string& cover,
                                const std::string& last_frame, const std::optional<VideoProbe>& probe) {
  // Timestamps of the latest attempt, from the job's events (oldest first).
  std::int64_t submitted = 0, started = 0, finished = 0, downloaded = 0;
  // Where the recorded cost came from: the remote_succeeded event's
  // "cost_source" (src/engine/poll.cpp: reported, documented, configured).
  std::string cost_source;
  for (const auto& e : events) {
    if (e.job_id != j.id) continue;
    if (const auto* cs = e.detail.if_contains("cost_source"); cs && cs->is_string())
      cost_source = std::string(cs->as_string());
    if (e.kind == "state" && e.from_state != e.to_state) {
      if (e.to_state == JobState::submitting) {
        submitted = e.ts_ms;
        started = finished = downloaded = 0;
      }
      if (e.to_state == JobState::downloading) finished = e.ts_ms;
      if (e.to_state == JobState::succeeded) downloaded = e.ts_ms;
    } else if (e.kind == "remote_state" && started == 0) {
      // The provider's own word that the task is generating (poll.cpp
      // records the normalized state beside the native word).
      const auto* n = e.detail.if_contains("normalized");
      if (n && n->is_string() && n->as_string() == "running") started = e.ts_ms;
    }
  }
  json::object params = to_json(j.spec);
  for (const char* k : {"id", "provider", "model", "prompt"}) params.erase(k);

  json::object r;
  r["id"] = j.key;
  r["batch"] = b.name;
  r["source"] = j.file + ":" + std::to_string(j.line);
  r["profile"] = j.spec.provider;
  r["kind"] = text_or_null(lookup(ctx.kinds, j.spec.provider));
  r["model"] = text_or_null(j.spec.model);
  r["prompt"] = j.spec.prompt;
  r["parameters"] = std::move(params);
  r["state"] = to_string(j.state);
  r["error_code"] = text_or_null(j.error_code);
  r["error_message"] = text_or_null(j.error_message);
  r["remote_task_id"] = text_or_null(j.remote_id);
  r["cost"] = j.cost ? json::value(*j.cost) : nullptr;
  r["cost_unit"] = text_or_null(lookup(ctx.units, j.spec.provider));
  r["cost_source"] = !j.cost ? json::value(nullptr) : json::value(cost_source.empty() ? "reported" : cost_source);
  r["ingested_at"] = iso_ms(j.created_at_ms);
  r["submitted_at"] = iso_ms(submitted);
  r["generation_started_at"] = iso_ms(started);
  r["generation_finished_at"] = iso_ms(finished);
  r["downloaded_at"] = iso_ms(downloaded);
  r["url_expires_at"] = iso_ms(j.url_expires_at_ms);
  r["generation_s"] = seconds_between(started ? started : submitted, finished);
  r["download_slack_s"] = downloaded ? seconds_between(downloaded, j.url_expires_at_ms) : json::value(nullptr);
  r["video"] = text_or_null(j.output_path);
  r["cover"] = text_or_null(cover);
  r["last_frame"] = text_or_null(last_frame);
  r["bytes"] = j.bytes;
  r["sha256"] = text_or_null(j.sha256);
  r["attempts"] = attempts;
  if (probe) {
    r["video_duration_s"] = probe->duration_s;
    r["video_width"] = probe->width;
    r["video_height"] = probe->height;
    r["video_codec"] = text_or_null(probe->video_codec);
    r["audio_codec"] = text_or_null(probe->audio_codec);
    r["mismatch"] = text_or_null(probe_mismatch(*probe, j.spec));
  } else {
    for (const char* k : {"video_duration_s", "video_width", "video_height", "video_codec", "audio_codec", "mismatch"})
      r[k] = nullptr;
  }
  return r;
}

json::object make_rejected_record(const BatchRecord& b, const std::vector<RejectedRow>& problems,
                                  const ResultsContext& ctx) {
  json::object r;
  for (const auto& c : result_columns()) r[c] = nullptr;
  if (problems.empty()) return r;
  const RejectedRow& first = problems.front();
  std::string message;
  for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p.field + ": " + p.message;
  r["id"] = text_or_null(first.key);
  r["batch"] = b.name;
  r["source"] = first.source + ":" + std::to_string(first.line);
  r["profile"] = text_or_null(first.profile);
  r["kind"] = text_or_null(lookup(ctx.kinds, first.profile));
  r["state"] = "rejected";
  r["error_code"] = "rejected";
  r["error_message"] = message;
  r["cost_unit"] = text_or_null(lookup(ctx.units, first.profile));
  r["bytes"] = 0;
  r["attempts"] = 0;
  return r;
}

std::string csv_field(const json::value& v) {
  std::string s;
  if (v.is_null()) return s;
  if (v.is_string()) s = v.as_string();
  else if (v.is_double()) s = fmt::format("{}", v.as_double());  // "2.5", not serialize()'s "2.5E0"
  else s = json::serialize(v);
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

ResultsCache::Entry ResultsCache::get(const JobRecord& job, const ResultsContext& ctx, bool allow_probe) {
  const auto key = std::make_pair(job.id, job.output_path);
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) return it->second;
  }
  Entry e;
  if (job.output_path.empty()) return e;
  const fs::path video(job.output_path);
  fs::path sidecar_path = video;
  sidecar_path.replace_extension(".json");
  json::object sidecar = read_sidecar(sidecar_path);
  e.cover = sidecar_file(sidecar, "cover", video.parent_path());
  e.last_frame = sidecar_file(sidecar, "last_frame", video.parent_path());
  if (const auto* p = sidecar.if_contains("probe")) e.probe = video_probe_from_json(*p);
  if (!e.probe && ctx.probe && !allow_probe) return e;  // probed by a later call
  if (!e.probe && ctx.probe) {
    if (auto res = probe_video(video, ctx.probe_timeout)) {
      if (res->probe) {
        e.probe = res->probe;
        if (!sidecar.empty()) {
          sidecar["probe"] = to_json(*res->probe);
          const auto mismatch = probe_mismatch(*res->probe, job.spec);
          if (!mismatch.empty()) sidecar["mismatch"] = mismatch;
          try {
            write_file_atomic(sidecar_path, json::serialize(sidecar) + "\n");
          } catch (const std::exception& ex) {
            spdlog::warn("results: cannot add the probe to {}: {}", sidecar_path.string(), ex.what());
          }
        }
      } else {
        spdlog::warn("results: {}", res->error);
      }
    }
  }
  std::lock_guard lock(mu_);
  entries_[key] = e;
  return e;
}

void write_results_files(const JobStore& store, std::int64_t batch_id, const ResultsContext& ctx,
                         ResultsCache* cache) {
  const auto b = store.batch(batch_id);
  if (!b) return;
  std::lock_guard lock(results_write_mutex());
  const fs::path dir(b->out_dir);
  fs::create_directories(dir);
  AtomicFile jsonl(dir / "results.jsonl"), csv(dir / "results.csv");
  {
    std::string header;
    for (const auto& c : result_columns()) header += (header.empty() ? "" : ",") + c;
    csv.write(header + "\r\n");
  }
  ResultsCache local;
  ResultsCache& sidecars = cache ? *cache : local;
  std::chrono::steady_clock::duration probing{};

  JobQuery q;
  q.filter.batch_ids = {batch_id};
  for (;;) {
    const auto page = store.jobs(q);
    std::vector<std::int64_t> ids;
    ids.reserve(page.jobs.size());
    for (const auto& j : page.jobs) ids.push_back(j.id);
    const auto events = store.events_of_jobs(ids);
    const auto attempts = store.attempt_counts_of(ids);
    for (const auto& j : page.jobs) {
      // events_of_jobs orders by job id; pick this job's run.
      auto first = std::lower_bound(events.begin(), events.end(), j.id,
                                    [](const EventRecord& e, std::int64_t id) { return e.job_id < id; });
      auto last = std::upper_bound(first, events.end(), j.id,
                                   [](std::int64_t id, const EventRecord& e) { return id < e.job_id; });
      const std::vector<EventRecord> mine(first, last);
      ResultsCache::Entry side;
      if (j.state == JobState::succeeded) {
        const auto t0 = std::chrono::steady_clock::now();
        side = sidecars.get(j, ctx, probing < ctx.probe_budget);
        probing += std::chrono::steady_clock::now() - t0;
      }
      const auto a = attempts.find(j.id);
      emit(make_result_record(j, *b, ctx, mine, a == attempts.end() ? 0 : a->second, side.cover, side.last_frame,
                              side.probe),
           jsonl, csv);
    }
    if (!page.next_after_seq) break;
    q.after_seq = *page.next_after_seq;
  }

  // Rejected rows, one record per manifest line.
  const auto rejected = store.rejected_rows(batch_id);
  for (std::size_t i = 0; i < rejected.size();) {
    std::size_t k = i;
    while (k < rejected.size() && rejected[k].source == rejected[i].source && rejected[k].line == rejected[i].line) ++k;
    emit(make_rejected_record(*b, std::vector<RejectedRow>(rejected.begin() + static_cast<std::ptrdiff_t>(i),
                                                           rejected.begin() + static_cast<std::ptrdiff_t>(k)),
                              ctx),
         jsonl, csv);
    i = k;
  }
  jsonl.commit();
  csv.commit();
}

void write_results_jsonl(const JobStore& store, std::int64_t batch_id) {
  ResultsContext ctx;
  ctx.probe = false;
  write_results_files(store, batch_id, ctx);
}

}  // namespace reelbatch
