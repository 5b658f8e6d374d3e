// Stage: downloading -> every output on disk (src/output/downloader.hpp),
// sidecar written -> succeeded. Issue 7 case 1: a paid clip is never lost
// while its URL works.
//  - Downloads run earliest URL expiry first (scheduler/download_queue.hpp).
//    One pass per pop: a failed try requeues the row with a not-before time
//    (full-jitter backoff, decide_download_call), so a waiting row holds no
//    worker.
//  - A transient failure (transport, 5xx, 429, short body, a body that failed
//    validation) never fails the row: it waits until its URL deadline (the
//    recorded URL expiry, which a re-signed link moves on), then `expired`
//    naming that deadline. A rejected link (401/403/404/410) is refreshed by
//    querying the task again; only a 404/410 on a task the provider says is
//    gone fails the row.
//  - A full or unusable output folder pauses every download (logged once),
//    keeps the .part files, and resumes when the folder is usable again
//    (checked every disk_check_interval on the engine's clock).
//  - An exception thrown anywhere in a paid row's download pass (a bug, an
//    unusable value) does not fail the row either: it is logged once per row
//    and the row waits with the same backoff until its URL deadline
//    (download_pass()). Database failures still stop the engine.
//  - The row succeeds only when the video and its sidecar are in place; a
//    sidecar that cannot be written is retried later without fetching the
//    video again.
#include "providers/kit/util.hpp"
#include "src/core/text.hpp"
#include "src/engine/engine_impl.hpp"
#include "src/engine/observed_provider.hpp"

#include "src/output/results.hpp"

#include <boost/asio/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <limits>

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

// Errors of a folder that cannot take files until someone frees space or
// fixes it: pause every download rather than count tries.
bool is_disk_unusable(int err) {
  return err == ENOSPC || err == EDQUOT || err == EFBIG || err == EROFS || err == EACCES || err == EPERM ||
         err == ENOTDIR;
}

// The nearest existing folder at or above `dir`.
std::filesystem::path existing_ancestor(std::filesystem::path dir) {
  std::error_code ec;
  while (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return dir.empty() ? std::filesystem::path(".") : dir;
}

struct OutputWant {
  OutputKind kind;
  const char* suffix;
  bool required;
};
constexpr OutputWant kOutputs[] = {{OutputKind::video, ".mp4", true},
                                   {OutputKind::cover, ".cover.jpg", false},
                                   {OutputKind::last_frame, ".last_frame.jpg", false}};

enum class Refresh { fresh, unchanged, gone, error };

struct RefreshResult {
  Refresh outcome = Refresh::error;
  std::string message;
};

// One status query for fresh links. A provider that re-signs (juhuo: "过期后可
// 重新调用任务查询接口获取新的签名链接") answers new URLs: they replace the old
// ones and the URL deadline moves to now + url_ttl. The same URLs (content
// endpoints, vibegen's 24 h files) leave the deadline as it is.
awaitable<RefreshResult> refresh_links(Engine::Impl& m, Engine::Impl::Profile& p, ActiveJob& j) {
  JobRecord& r = j.rec;
  co_await m.sleep_until(std::max(p.poll_bucket.reserve(m.clock.now()), p.throttled_until));
  if (m.stopping || j.lost) co_return RefreshResult{};
  auto q = co_await p.provider->async_query(r.remote_id);
  if (!q) {
    const ProviderError& err = q.error();
    if (err.cls == ErrorClass::rate_limited)
      m.throttle(p, err, throttle_delay(err.retry_after, j.download_tries, m.random01(), *m.policy));
    co_return RefreshResult{err.cls == ErrorClass::permanent ? Refresh::gone : Refresh::error, err.describe()};
  }
  if (q->state != RemoteState::succeeded)
    co_return RefreshResult{Refresh::gone, "task " + r.remote_id + " is now " + q->native_state};
  if (q->video_url == r.video_url && q->cover_url == r.cover_url && q->last_frame_url == r.last_frame_url)
    co_return RefreshResult{Refresh::unchanged, {}};
  r.video_url = q->video_url;
  r.cover_url = q->cover_url;
  r.last_frame_url = q->last_frame_url;
  const auto ttl = std::chrono::duration_cast<milliseconds>(p.cfg->url_ttl.value_or(p.provider->default_url_ttl()));
  r.url_expires_at_ms = std::max(r.url_expires_at_ms, m.now_unix_ms() + ttl.count());
  if (!m.note(j, "url_refreshed", json::object{{"expires_at_ms", r.url_expires_at_ms}})) co_return RefreshResult{};
  co_return RefreshResult{Refresh::fresh, {}};
}

awaitable<Result<DownloadedFile, DownloadError>> fetch_one(Engine::Impl& m, Engine::Impl::Profile& p,
                                                           const DownloadTarget& target,
                                                           const std::filesystem::path& path) {
  // Not `seam ? co_await a : co_await b`: GCC 12 destroys the result of a
  // co_await inside a conditional expression twice (a double free).
  Result<DownloadedFile, DownloadError> r = fail(DownloadError{0, false, "not attempted"});
  if (m.opts.download)
    r = co_await m.opts.download(target.url, target.headers, path, p.cfg->request_timeout);
  else
    r = co_await async_download_file(m.http, m.pool, target.url, target.headers, path, p.cfg->request_timeout,
                                     kit::net_options(*p.cfg));  // the profile's proxy and trust store
  if (m.opts.observer)
    m.opts.observer->on_request(p.cfg->name, RequestKind::download, download_outcome(r ? nullptr : &r.error()));
  co_return r;
}

}  // namespace

void Engine::Impl::queue_download(ActiveJob& j, milliseconds delay) {
  downloads.push(j.rec.id, std::chrono::system_clock::time_point(milliseconds(j.rec.url_expires_at_ms)),
                 clock.now() + std::max(delay, milliseconds::zero()));
  download_wake->notify();
}

void Engine::Impl::pause_downloads(const std::filesystem::path& dir, const std::string& reason) {
  if (downloads_paused) return;
  downloads_paused = true;
  paused_dir = dir;
  logger().error("downloads paused: {}; rows wait in downloading (their .part files are kept); checking {} every {} ms",
                 reason, dir.string(), policy->disk_check_interval.count());
  spawn(watch_disk(), "disk watch");
  changed->notify();
}

awaitable<void> Engine::Impl::watch_disk() {
  const auto every = std::max(policy->disk_check_interval, milliseconds(10));
  while (!stopping && downloads_paused) {
    co_await sleep_for(every);
    if (stopping) break;
    const auto dir = existing_ancestor(paused_dir);
    std::uintmax_t free_bytes = 0;
    if (opts.free_space) {
      free_bytes = opts.free_space(dir);
    } else {
      std::error_code ec;
      const auto info = std::filesystem::space(dir, ec);
      free_bytes = ec ? 0 : info.available;
    }
    if (free_bytes < policy->disk_resume_free_bytes || ::access(dir.c_str(), W_OK) != 0) continue;
    downloads_paused = false;
    logger().info("downloads resumed: {} is writable with {} MiB free", dir.string(), free_bytes >> 20);
    download_wake->notify();
  }
}

awaitable<void> Engine::Impl::download_job(std::int64_t id) {
  ActiveJob& j = *jobs.at(id);
  JobRecord& r = j.rec;
  Profile& p = profile_of(r);
  if (!batches.contains(r.batch_id))
    if (auto b = store.batch(r.batch_id)) batches[b->id] = *b;
  const BatchRecord& b = batches.at(r.batch_id);
  const std::string stem = output_stem(r.spec);
  const std::filesystem::path dir = b.out_dir;

  // 1. Fresh links when the last try asked for them or the URL is about to expire.
  std::optional<std::string> task_gone;
  const auto expires = std::chrono::system_clock::time_point(milliseconds(r.url_expires_at_ms));
  const auto now = std::chrono::system_clock::time_point(milliseconds(now_unix_ms()));
  if (j.refresh_links || needs_refresh(expires, now, opts.url_refresh_margin)) {
    const auto rr = co_await refresh_links(*this, p, j);
    if (stopping || j.lost) co_return;
    j.refresh_links = false;
    if (rr.outcome == Refresh::gone) task_gone = rr.message;
    if (rr.outcome == Refresh::error) logger().debug("job {}: link refresh failed: {}", r.key, rr.message);
  }

  // 2. Every output not yet in place, one try each.
  std::optional<DownloadError> failure;  // of the first output that failed
  bool required_missing = false;
  for (const auto& want : kOutputs) {
    if (j.fetched.contains(want.kind)) continue;
    const auto target = p.provider->download_target(status_of(r), want.kind);
    if (!target) {
      if (!want.required) continue;
      // A succeeded task without a video link: ask the provider again.
      DownloadError e{0, true, "the task reports no URL for the video"};
      e.fault = DownloadFault::link_rejected;
      j.fetch_errors[want.kind] = e.message;
      failure = e;
      required_missing = true;
      continue;
    }
    const auto path = dir / (stem + want.suffix);
    auto got = co_await fetch_one(*this, p, *target, path);
    if (stopping || j.lost) co_return;
    if (got) {
      j.fetched[want.kind] = *got;
      j.fetch_errors.erase(want.kind);
      continue;
    }
    const DownloadError& e = got.error();
    if (e.fault == DownloadFault::disk) {
      pause_downloads(dir, e.message);
      queue_download(j);
      co_return;
    }
    j.fetch_errors[want.kind] = e.message;
    if (!failure) failure = e;
    required_missing = required_missing || want.required;
    if (want.required) break;  // the optional outputs wait for the video
  }

  if (failure) {
    // 404/410 on a link of a task the provider says is gone: permanent.
    const bool gone = task_gone && (failure->http_status == 404 || failure->http_status == 410);
    const DownloadFailure kind = gone ? DownloadFailure::gone
                                 : failure->fault == DownloadFault::link_rejected ? DownloadFailure::link_rejected
                                                                                  : DownloadFailure::transient;
    const auto d = decide_download_call(kind, j.download_tries, now_unix_ms(), r.url_expires_at_ms, random01(), *policy);
    ++j.download_tries;
    // Only optional outputs (cover, last frame) missing and no more chance:
    // the row succeeds without them, their errors in the sidecar.
    const bool give_up_optional = !required_missing && (d.action != DownloadDecision::Action::retry ||
                                                        j.download_tries >= policy->optional_output_tries);
    if (!give_up_optional) {
      if (d.action == DownloadDecision::Action::retry) {
        if (opts.observer) opts.observer->on_retry(p.cfg->name, d.refresh_urls ? "download_url_expired" : "download");
        j.refresh_links = d.refresh_urls;
        if (j.download_tries == 1)
          logger().warn("job {}: download failed: {}; retrying until the URL deadline {}", r.key, failure->message,
                        iso_utc(r.url_expires_at_ms));
        else
          logger().debug("job {}: download try {} failed: {}; next in {} ms", r.key, j.download_tries,
                         failure->message, d.delay.count());
        queue_download(j, d.delay);
        co_return;
      }
      r.error_code = code_name(errc::download);
      json::object detail{{"message", failure->message}, {"http_status", failure->http_status},
                          {"tries", j.download_tries}};
      if (d.action == DownloadDecision::Action::expire) {
        r.error_message = "download of task " + r.remote_id + " did not finish before its URL deadline " +
                          iso_utc(r.url_expires_at_ms) + " (" + std::to_string(j.download_tries) +
                          " tries); last error: " + failure->message;
        detail["deadline"] = iso_utc(r.url_expires_at_ms);
        logger().error("job {}: {}", r.key, r.error_message);
        if (transition(j, JobEvent::download_expired, std::move(detail))) finish(j);
        co_return;
      }
      r.error_message = "download of task " + r.remote_id + " failed: " + failure->message +
                        (task_gone ? "; task query: " + *task_gone : std::string());
      logger().error("job {}: {}", r.key, r.error_message);
      if (transition(j, JobEvent::download_failed, std::move(detail))) finish(j);
      co_return;
    }
  }

  // 3. The sidecar, then succeeded.
  const DownloadedFile& video = j.fetched.at(OutputKind::video);
  RowOutputs out{video, std::nullopt, std::nullopt, {}};
  if (auto it = j.fetched.find(OutputKind::cover); it != j.fetched.end()) out.cover = it->second;
  if (auto it = j.fetched.find(OutputKind::last_frame); it != j.fetched.end()) out.last_frame = it->second;
  for (const auto& want : kOutputs)
    if (auto it = j.fetch_errors.find(want.kind); it != j.fetch_errors.end()) out.download_errors[want.suffix] = it->second;
  r.output_path = video.path.string();
  r.bytes = video.bytes;
  r.sha256 = video.sha256;
  const auto sidecar = make_sidecar(r, b, p.cfg->kind, store.attempt_counts(r.id).first, out, store.events(r.id),
                                    now_unix_ms());
  try {
    write_file_atomic(dir / (stem + ".json"), json::serialize(sidecar) + "\n");
  } catch (const std::system_error& e) {
    // The video is in place: keep it, write the sidecar later.
    if (is_disk_unusable(e.code().value())) {
      pause_downloads(dir, e.what());
      queue_download(j);
      co_return;
    }
    const auto d = decide_download_call(DownloadFailure::transient, j.download_tries, 0,
                                        std::numeric_limits<std::int64_t>::max(), random01(), *policy);
    ++j.download_tries;
    logger().warn("job {}: the video is in place but its sidecar could not be written ({}); retrying in {} ms",
                  r.key, e.what(), d.delay.count());
    queue_download(j, d.delay);
    co_return;
  }
  if (transition(j, JobEvent::download_done,
                 json::object{{"file", r.output_path}, {"bytes", r.bytes}, {"sha256", r.sha256}}))
    finish(j);
}

awaitable<void> Engine::Impl::download_pass(std::int64_t id) {
  std::exception_ptr error;
  std::string message;
  try {
    co_await download_job(id);
    co_return;
  } catch (const boost::system::system_error& e) {
    if (e.code() == boost::asio::error::operation_aborted) throw;  // stop, cancel, lost lease
    error = std::current_exception();
    message = e.what();
  } catch (const std::exception& e) {
    if (is_store_failure(e)) throw;  // the engine stops on database failures
    error = std::current_exception();
    message = e.what();
  } catch (...) {
    error = std::current_exception();
    message = "unknown exception";
  }
  auto it = jobs.find(id);
  if (it == jobs.end()) co_return;
  ActiveJob& j = *it->second;
  if (j.lost || j.done) co_return;
  JobRecord& r = j.rec;
  // Only a paid row still downloading waits; anything else keeps the
  // engine's internal_error handling (job_coroutine_ended).
  if (r.state != JobState::downloading) std::rethrow_exception(error);
  if (stopping) co_return;  // resumed from downloading at the next start
  const auto d = decide_download_call(DownloadFailure::transient, j.download_tries, now_unix_ms(),
                                      r.url_expires_at_ms, random01(), *policy);
  ++j.download_tries;
  if (!j.download_exception_logged) {
    j.download_exception_logged = true;
    logger().error("job {}: the download raised an exception: {}; the paid row waits and is tried again until its "
                   "URL deadline {}",
                   r.key, message, iso_utc(r.url_expires_at_ms));
  }
  if (d.action == DownloadDecision::Action::retry) {
    if (opts.observer) opts.observer->on_retry(profile_of(r).cfg->name, "download");
    queue_download(j, d.delay);
    co_return;
  }
  // A transient cause is never `fail`: the URL deadline has passed.
  r.error_code = code_name(errc::download);
  r.error_message = "download of task " + r.remote_id + " did not finish before its URL deadline " +
                    iso_utc(r.url_expires_at_ms) + " (" + std::to_string(j.download_tries) +
                    " tries); last error: exception: " + message;
  logger().error("job {}: {}", r.key, r.error_message);
  if (transition(j, JobEvent::download_expired,
                 json::object{{"message", message}, {"tries", j.download_tries},
                              {"deadline", iso_utc(r.url_expires_at_ms)}}))
    finish(j);
}

awaitable<void> Engine::Impl::download_worker() {
  while (!stopping) {
    if (!downloads_paused) {
      if (auto id = downloads.pop(clock.now())) {
        auto it = jobs.find(*id);
        if (it == jobs.end() || it->second->lost || it->second->done) continue;
        co_await run_job(*it->second, download_pass(*id));
        continue;
      }
    }
    milliseconds wait(1000);
    if (!downloads_paused)
      if (auto t = downloads.next_ready_after(clock.now()))
        wait = std::min(wait, std::chrono::ceil<milliseconds>(*t - clock.now()));
    co_await download_wake->wait(wait);
  }
}

void Engine::Impl::remove_stale_parts() {
  static constexpr const char* kLeftovers[] = {".mp4.part", ".cover.jpg.part", ".last_frame.jpg.part", ".json.tmp"};
  for (const auto& [batch_id, b] : batches) {
    if (opts.batches && std::find(opts.batches->begin(), opts.batches->end(), batch_id) == opts.batches->end())
      continue;
    std::error_code ec;
    std::map<std::string, std::vector<std::filesystem::path>> by_stem;  // stem -> leftover files
    for (const auto& e : std::filesystem::directory_iterator(b.out_dir, ec)) {
      const std::string name = e.path().filename().string();
      for (const char* suffix : kLeftovers) {
        const std::string_view sv(suffix);
        if (name.size() > sv.size() && name.ends_with(sv)) {
          by_stem[name.substr(0, name.size() - sv.size())].push_back(e.path());
          break;
        }
      }
    }
    if (by_stem.empty()) continue;
    JobQuery q;
    q.filter.batch_ids = {batch_id};
    for (;;) {
      const auto page = store.jobs(q);
      for (const auto& j : page.jobs) {
        if (!is_terminal(j.state)) continue;
        auto it = by_stem.find(output_stem(j.spec));
        if (it == by_stem.end()) continue;
        for (const auto& path : it->second) {
          if (std::filesystem::remove(path, ec))
            logger().info("removed {} (job {} is {})", path.string(), j.key, to_string(j.state));
        }
      }
      if (!page.next_after_seq) break;
      q.after_seq = *page.next_after_seq;
    }
  }
}

}  // namespace reelbatch
