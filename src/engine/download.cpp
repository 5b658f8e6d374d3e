// Stage: downloading -> every output on disk (src/output/downloader.hpp),
// sidecar written -> succeeded. Downloads run earliest URL expiry first
// (scheduler/download_queue.hpp); expired links are refreshed by querying the
// task again; retries follow decide_download_call.
#include "src/engine/engine_impl.hpp"
#include "src/engine/observed_provider.hpp"

#include "src/output/results.hpp"

#include <boost/json/serialize.hpp>

namespace reelbatch {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

TaskStatus status_of(const JobRecord& j) {
  TaskStatus s;
  s.remote_id = j.remote_id;
  s.state = RemoteState::succeeded;
  s.native_state = j.native_state;
  s.video_url = j.video_url;
  s.cover_url = j.cover_url;
  s.last_frame_url = j.last_frame_url;
  s.cost = j.cost;
  return s;
}

}  // namespace

void Engine::Impl::queue_download(ActiveJob& j) {
  downloads.push(j.rec.id, std::chrono::system_clock::time_point(milliseconds(j.rec.url_expires_at_ms)));
  download_wake->notify();
}

// Downloads one output with retries; refreshes expired links.
static awaitable<Result<DownloadedFile, DownloadError>> fetch(Engine::Impl& m, Engine::Impl::Profile& p,
                                                              ActiveJob& j, OutputKind kind,
                                                              const std::filesystem::path& path) {
  DownloadError last{0, false, "not attempted"};
  bool refresh = false;
  for (int attempt = 0; !m.stopping && !j.lost; ++attempt) {
    const auto expires = std::chrono::system_clock::time_point(milliseconds(j.rec.url_expires_at_ms));
    const auto now = std::chrono::system_clock::time_point(milliseconds(m.now_unix_ms()));
    if (refresh || needs_refresh(expires, now, m.opts.url_refresh_margin)) co_await m.refresh_urls(p, j);
    auto target = p.provider->download_target(status_of(j.rec), kind);
    if (!target) co_return fail(DownloadError{0, false, "the task reports no URL for this output"});
    // Not `seam ? co_await a : co_await b`: GCC 12 destroys the result of a
    // co_await inside a conditional expression twice (a double free).
    Result<DownloadedFile, DownloadError> r = fail(last);
    if (m.opts.download)
      r = co_await m.opts.download(target->url, target->headers, path, p.cfg->request_timeout);
    else
      r = co_await async_download_file(m.http, m.pool, target->url, target->headers, path, p.cfg->request_timeout);
    if (m.opts.observer)
      m.opts.observer->on_request(p.cfg->name, RequestKind::download, download_outcome(r ? nullptr : &r.error()));
    if (r) co_return r;
    last = r.error();
    m.logger().warn("job {}: download of {} failed: {}", j.rec.key, path.filename().string(), last.message);
    const auto d = decide_download_call(attempt, last.url_expired, m.random01(), *m.policy);
    if (d.action == CallDecision::Action::give_up) break;
    if (m.opts.observer) m.opts.observer->on_retry(p.cfg->name, last.url_expired ? "download_url_expired" : "download");
    refresh = d.refresh_urls;
    co_await m.sleep_for(d.delay);
  }
  co_return fail(last);
}

namespace {

awaitable<void> download_outputs(Engine::Impl& m, std::int64_t id);

}  // namespace

// A disk that cannot take the output (full, permissions) fails the row with
// the system's message.
awaitable<void> Engine::Impl::download_job(std::int64_t id) {
  std::string disk_error;
  try {
    co_await download_outputs(*this, id);
  } catch (const std::system_error& e) {
    disk_error = e.what();
  }
  if (disk_error.empty()) co_return;
  auto it = jobs.find(id);
  if (it == jobs.end()) co_return;
  ActiveJob& j = *it->second;
  j.rec.error_code = code_name(errc::disk);
  j.rec.error_message = disk_error;
  if (transition(j, JobEvent::download_failed, json::object{{"message", disk_error}})) finish(j);
}

namespace {

awaitable<void> download_outputs(Engine::Impl& m, std::int64_t id) {
  ActiveJob& j = *m.jobs.at(id);
  JobRecord& r = j.rec;
  Engine::Impl::Profile& p = m.profile_of(r);
  if (!m.batches.contains(r.batch_id))
    if (auto b = m.store.batch(r.batch_id)) m.batches[b->id] = *b;
  const BatchRecord& b = m.batches.at(r.batch_id);
  const std::string stem = output_stem(r.spec);
  const std::filesystem::path dir = b.out_dir;

  auto video = co_await fetch(m, p, j, OutputKind::video, dir / (stem + ".mp4"));
  if (m.stopping || j.lost) co_return;
  if (!video) {
    r.error_code = code_name(errc::download);
    r.error_message = "download of task " + r.remote_id + " failed: " + video.error().message;
    if (m.transition(j, JobEvent::download_failed, json::object{{"message", video.error().message}})) m.finish(j);
    co_return;
  }
  RowOutputs out{*video, std::nullopt, std::nullopt, {}};
  const std::pair<OutputKind, std::string> extras[] = {{OutputKind::cover, ".cover.jpg"},
                                                       {OutputKind::last_frame, ".last_frame.jpg"}};
  for (const auto& [kind, suffix] : extras) {
    if (!p.provider->download_target(status_of(r), kind)) continue;
    auto f = co_await fetch(m, p, j, kind, dir / (stem + suffix));
    if (m.stopping || j.lost) co_return;
    if (f) (kind == OutputKind::cover ? out.cover : out.last_frame) = *f;
    else out.download_errors[suffix] = f.error().message;
  }

  r.output_path = video->path.string();
  r.bytes = video->bytes;
  r.sha256 = video->sha256;
  const auto sidecar = make_sidecar(r, b, p.cfg->kind, m.store.attempt_counts(r.id).first, out,
                                    m.store.events(r.id), m.now_unix_ms());
  write_file_atomic(dir / (stem + ".json"), json::serialize(sidecar) + "\n");
  if (m.transition(j, JobEvent::download_done,
                 json::object{{"file", r.output_path}, {"bytes", r.bytes}, {"sha256", r.sha256}}))
    m.finish(j);
}

}  // namespace


awaitable<void> Engine::Impl::download_worker() {
  while (!stopping) {
    if (auto id = downloads.pop()) {
      auto it = jobs.find(*id);
      if (it == jobs.end() || it->second->lost || it->second->done) continue;
      co_await run_job(*it->second, download_job(*id));
      continue;
    }
    co_await download_wake->wait(milliseconds(1000));
  }
}

}  // namespace reelbatch
