// The watch-folder service's thread: folder setup, inotify and rescans,
// taking files, the ledger, and following batches to done/ or failed/.
#include "src/watch/watch_service.hpp"

#include "src/core/job_state.hpp"
#include "src/core/sha256.hpp"
#include "src/watch/watch_files.hpp"
#include "storage/job_store.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <map>
#include <system_error>

namespace reelbatch {
namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::milliseconds;
using watch::SteadyTime;

namespace {

constexpr std::uint32_t kWatchMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// The longest the loop sleeps without a deadline (it also wakes on events).
constexpr milliseconds kMaxSleep{60000};

bool same_settings(const WatchConfig& a, const WatchConfig& b) {
  return a.path == b.path && a.profile == b.profile && a.pattern == b.pattern && a.settle == b.settle &&
         a.recursive == b.recursive && a.max_credits == b.max_credits;
}

std::string utc_now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One configured folder and what the thread knows about it.
struct Folder {
  explicit Folder(WatchConfig c) : cfg(std::move(c)), tracker(cfg.settle) {}
  WatchConfig cfg;
  bool polling = false;  ///< no inotify: rescans find files
  bool ready = false;    ///< set up (exists; processing/ recovered)
  bool missing_reported = false;  ///< "does not exist" was logged
  watch::SettleTracker tracker;
  std::map<fs::path, int> dirs;  ///< watched folders -> inotify wd
  SteadyTime next_rescan{};
};

// A file in processing/ whose batch runs.
struct Tracked {
  WatchConfig folder;
  WatchFileRecord rec;
  std::map<JobState, int> counts;  ///< last written to its result.json
};

// A file in processing/ to examine again after an error.
struct Retry {
  WatchConfig folder;
  std::string name;
  SteadyTime at;
};

}  // namespace

struct WatchService::Impl {
  Impl(JobStore& s, WatchIngestFn fn, std::shared_ptr<spdlog::logger> l, WatchServiceOptions o)
      : store(s), ingest(std::move(fn)), log(l ? std::move(l) : spdlog::default_logger()), opt(std::move(o)) {}

  ~Impl() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  JobStore& store;
  WatchIngestFn ingest;
  std::shared_ptr<spdlog::logger> log;
  WatchServiceOptions opt;

  // Shared with other threads.
  std::mutex mu;
  std::optional<std::vector<WatchConfig>> pending_folders;
  WatchIngestFn pending_ingest;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> n_taken{0}, n_ingested{0}, n_duplicates{0}, n_done{0}, n_failed{0}, n_errors{0};
  std::thread thread;
  int inotify_fd = -1;
  int wake_fd = -1;

  // The thread's own.
  std::vector<std::unique_ptr<Folder>> folders;
  std::map<int, std::pair<Folder*, fs::path>> wds;
  std::map<fs::path, Tracked> tracked;  ///< by path in processing/
  std::map<fs::path, Retry> retries;    ///< by path in processing/
  std::map<fs::path, SteadyTime> take_backoff;  ///< dropped files that could not be moved, until when
  SteadyTime next_batch_check{};

  SteadyTime now() const { return opt.clock(); }

  void wake() const {
    if (wake_fd < 0) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  void error(const std::string& what, const std::exception& e) {
    ++n_errors;
    log->error("watch: {}: {}", what, e.what());
  }

  // ---- the loop ----------------------------------------------------------------

  void run() {
    while (!stopping) {
      try {
        apply_pending();
        step();
      } catch (const std::exception& e) {
        // Every action catches its own errors; this is a last line so the
        // thread never dies and takes the daemon with it.
        error("unexpected error", e);
      }
      wait();
    }
  }

  void step() {
    const SteadyTime t = now();
    for (auto& f : folders) {
      if (t >= f->next_rescan) {
        rescan(*f);
        f->next_rescan = now() + (f->polling ? opt.poll_interval : opt.rescan_interval);
      }
      for (const auto& file : f->tracker.due(now())) consider(*f, file, false);
    }
    for (auto it = retries.begin(); it != retries.end();) {
      if (it->second.at > now()) {
        ++it;
        continue;
      }
      Retry r = std::move(it->second);
      const fs::path file = it->first;
      it = retries.erase(it);
      examine(file, r.folder, r.name);
    }
    if (now() >= next_batch_check) {
      check_batches();
      next_batch_check = now() + opt.batch_check_interval;
    }
  }

  // Sleeps until the next deadline, an inotify event or a wake-up.
  void wait() {
    if (stopping) return;
    const SteadyTime t = now();
    SteadyTime until = t + kMaxSleep;
    for (const auto& f : folders) {
      until = std::min(until, f->next_rescan);
      if (auto d = f->tracker.next_due()) until = std::min(until, *d);
    }
    for (const auto& [file, r] : retries) until = std::min(until, r.at);
    if (!tracked.empty()) until = std::min(until, next_batch_check);
    const auto ms = std::chrono::ceil<milliseconds>(std::max(until - t, SteadyTime::duration::zero()));
    std::array<pollfd, 2> fds{pollfd{wake_fd, POLLIN, 0}, pollfd{inotify_fd, POLLIN, 0}};
    const int n = ::poll(fds.data(), inotify_fd >= 0 ? 2 : 1, static_cast<int>(ms.count()));
    if (n <= 0) return;
    if (fds[0].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] const auto r = ::read(wake_fd, &v, sizeof v);
    }
    if (inotify_fd >= 0 && (fds[1].revents & POLLIN)) read_events();
  }

  // ---- configuration -----------------------------------------------------------

  void apply_pending() {
    std::optional<std::vector<WatchConfig>> next;
    {
      std::lock_guard lock(mu);
      if (pending_ingest) ingest = std::move(pending_ingest);
      pending_ingest = nullptr;
      next.swap(pending_folders);
    }
    if (!next) return;
    // Folders removed or changed stop being watched; their tracked batches
    // are still followed.
    for (auto it = folders.begin(); it != folders.end();) {
      const auto keep = std::find_if(next->begin(), next->end(),
                                     [&](const WatchConfig& w) { return same_settings(w, (*it)->cfg); });
      if (keep != next->end()) {
        next->erase(keep);
        ++it;
        continue;
      }
      log->info("watch: no longer watching {}", (*it)->cfg.path.string());
      unwatch(**it);
      it = folders.erase(it);
    }
    for (auto& w : *next) {
      log->info("watch: watching {} (profile {}, pattern {}, settle {} ms{})", w.path.string(), w.profile,
                w.pattern.empty() ? std::string(watch::kDefaultPattern) : w.pattern, w.settle.count(),
                w.recursive ? ", recursive" : "");
      folders.push_back(std::make_unique<Folder>(std::move(w)));
      folders.back()->next_rescan = now();  // set up by the next step()
    }
  }

  void unwatch(Folder& f) {
    for (const auto& [dir, wd] : f.dirs) {
      if (wd >= 0) {
        ::inotify_rm_watch(inotify_fd, wd);
        wds.erase(wd);
      }
    }
    f.dirs.clear();
  }

  // ---- finding files -----------------------------------------------------------

  void rescan(Folder& f) {
    std::error_code ec;
    if (!fs::is_directory(f.cfg.path, ec)) {
      if (!f.missing_reported)
        log->warn("watch: folder {} does not exist; looking for it every {} ms", f.cfg.path.string(),
                  opt.poll_interval.count());
      f.missing_reported = true;
      if (f.ready) {
        unwatch(f);
        f.ready = false;
        f.tracker.forget_under(f.cfg.path);
      }
      f.polling = true;  // rescanned at the poll interval until it appears
      return;
    }
    f.missing_reported = false;
    const bool setup = !f.ready;
    if (setup) {
      const auto network = watch::is_network_filesystem(f.cfg.path);
      f.polling = opt.force_polling || inotify_fd < 0 || network.value_or(true);
      if (network.value_or(false))
        log->info("watch: {} is on a network filesystem: polling every {} ms", f.cfg.path.string(),
                  opt.poll_interval.count());
      f.ready = true;
    }
    try {
      scan_dir(f, f.cfg.path, setup);
    } catch (const std::exception& e) {
      error("scanning " + f.cfg.path.string(), e);
    }
  }

  // Watches `dir` (when not polling), resumes its processing/ when
  // `recover`, and considers every file in it; descends into subfolders of
  // a recursive folder.
  void scan_dir(Folder& f, const fs::path& dir, bool recover) {
    if (!f.polling && !f.dirs.count(dir)) add_watch(f, dir);
    if (recover)
      for (const auto& file : watch::manifests_in(dir / watch::kProcessingDir))
        examine(file, f.cfg, file.filename().string());
    std::vector<fs::path> subdirs;
    for (const auto& e : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied)) {
      std::error_code ec;
      const auto st = e.symlink_status(ec);
      if (ec) continue;
      const std::string name = e.path().filename().string();
      if (fs::is_directory(st)) {
        if (f.cfg.recursive && !watch::is_service_dir(name) && name.front() != '.') subdirs.push_back(e.path());
      } else if (fs::is_regular_file(st)) {
        consider(f, e.path(), false);
      }
    }
    for (const auto& d : subdirs) scan_dir(f, d, recover);
  }

  void add_watch(Folder& f, const fs::path& dir) {
    const int wd = ::inotify_add_watch(inotify_fd, dir.c_str(), kWatchMask);
    if (wd < 0) {
      const std::error_code ec(errno, std::generic_category());
      log->warn("watch: cannot watch {} with inotify ({}); polling {} every {} ms instead", dir.string(),
                ec.message(), f.cfg.path.string(), opt.poll_interval.count());
      unwatch(f);
      f.polling = true;
      return;
    }
    f.dirs[dir] = wd;
    wds[wd] = {&f, dir};
  }

  void read_events() {
    alignas(inotify_event) char buf[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(inotify_fd, buf, sizeof buf);
      if (n <= 0) return;  // EAGAIN: drained
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        try {
          handle_event(*ev);
        } catch (const std::exception& e) {
          error("handling an inotify event", e);
        }
      }
    }
  }

  void handle_event(const inotify_event& ev) {
    if (ev.mask & IN_Q_OVERFLOW) {
      log->warn("watch: inotify queue overflowed; rescanning every folder");
      for (auto& f : folders) f->next_rescan = now();
      return;
    }
    const auto it = wds.find(ev.wd);
    if (it == wds.end()) return;
    Folder& f = *it->second.first;
    const fs::path dir = it->second.second;
    if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
      // The folder was deleted, moved away or unmounted (a moved folder's
      // watch would follow it to its new place: drop it). A rescan sets it
      // up again if it comes back.
      if (dir == f.cfg.path) {
        unwatch(f);
        f.ready = false;
      } else {
        if (!(ev.mask & IN_IGNORED)) ::inotify_rm_watch(inotify_fd, ev.wd);
        wds.erase(ev.wd);
        f.dirs.erase(dir);
      }
      f.next_rescan = now();
      return;
    }
    if (ev.len == 0) return;
    const std::string name(ev.name);
    const fs::path path = dir / name;
    if (ev.mask & IN_ISDIR) {
      if ((ev.mask & (IN_CREATE | IN_MOVED_TO)) && f.cfg.recursive && !watch::is_service_dir(name) &&
          name.front() != '.')
        scan_dir(f, path, false);
      return;
    }
    consider(f, path, (ev.mask & IN_MOVED_TO) != 0);
  }

  // A file in a watched folder was seen: take it when it was renamed into
  // place or has settled.
  void consider(Folder& f, const fs::path& file, bool renamed) {
    const std::string name = file.filename().string();
    if (!watch::is_candidate_name(name, f.cfg.pattern)) return;
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {  // gone, or not a plain file
      f.tracker.forget(file);
      take_backoff.erase(file);
      return;
    }
    if (const auto b = take_backoff.find(file); b != take_backoff.end()) {
      if (now() < b->second) return;  // it could not be moved a moment ago: don't spin on it
      take_backoff.erase(b);
    }
    if (!renamed) {
      const watch::FileSignature sig{static_cast<std::uintmax_t>(st.st_size),
                                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                                         st.st_mtim.tv_nsec};
      if (!f.tracker.observe(file, sig, now())) return;
    }
    f.tracker.forget(file);
    take(f, file);
  }

  // ---- taking and ingesting ----------------------------------------------------

  void take(Folder& f, const fs::path& file) {
    const std::string name = file.filename().string();
    fs::path moved;
    try {
      moved = watch::move_with_sidecars(file, file.parent_path() / watch::kProcessingDir, name);
    } catch (const fs::filesystem_error& e) {
      if (e.code() == std::errc::no_such_file_or_directory) return;  // gone before we got to it
      error("taking " + file.string() + " (tried again in " + std::to_string(opt.retry_interval.count()) + " ms)",
            e);
      take_backoff[file] = now() + opt.retry_interval;
      return;
    }
    ++n_taken;
    log->info("watch: took {}", file.string());
    examine(moved, f.cfg, name);
  }

  static fs::path drop_dir_of(const fs::path& in_processing) { return in_processing.parent_path().parent_path(); }

  // Decides what a manifest in processing/ is through the ledger and acts:
  // a duplicate goes to done/, a known batch is followed, anything else is
  // ingested. Errors schedule a retry.
  void examine(const fs::path& file, const WatchConfig& folder, const std::string& name) {
    if (tracked.count(file)) return;
    try {
      std::string sha;
      try {
        sha = sha256_file_hex(file);
      } catch (const std::system_error&) {
        std::error_code ec;
        if (!fs::exists(file, ec)) return;  // removed by the user
        throw;
      }
      const std::optional<WatchFileRecord> rec = store.find_watch_file(sha);
      const bool own = rec && rec->path == file.string();
      std::error_code ec;
      const bool other_copy_pending = rec && !own && !rec->batch_id &&
                                      rec->outcome == WatchFileOutcome::ingesting && fs::exists(rec->path, ec);
      if (rec && !own && (rec->batch_id || other_copy_pending)) {
        duplicate(file, folder, name, *rec);
        return;
      }
      if (own && rec->batch_id) {
        log->info("watch: resuming {} (batch {})", file.string(), *rec->batch_id);
        tracked[file] = Tracked{folder, *rec, {}};
        next_batch_check = now();
        return;
      }
      ingest_file(file, folder, own ? rec->name : name, sha);
    } catch (const std::exception& e) {
      error("examining " + file.string() + " (retried in " + std::to_string(opt.retry_interval.count()) + " ms)",
            e);
      retries[file] = Retry{folder, name, now() + opt.retry_interval};
    }
  }

  void ingest_file(const fs::path& file, const WatchConfig& folder, const std::string& name, const std::string& sha) {
    WatchFileRecord rec;
    rec.sha256 = sha;
    rec.path = file.string();
    rec.name = name;
    rec.outcome = WatchFileOutcome::ingesting;
    store.record_watch_file(rec);

    const fs::path drop = drop_dir_of(file);
    if (!ingest) throw std::logic_error("no ingest function configured");
    const WatchIngestResult res = ingest(WatchIngestRequest{file, drop, name, sha, folder});

    if (!res.fatal.empty() || !res.batch_id) {
      rec.outcome = WatchFileOutcome::failed;
      rec.error = res.fatal.empty() ? "the ingest function created no batch" : res.fatal;
      rec.rows = res.rows;
      rec.rejected = res.rejected;
      std::vector<std::string> lines = res.errors;
      lines.insert(lines.begin(), rec.error);
      write_errors(file, lines);
      write_result(file, rec, "failed", nullptr, "", std::nullopt);
      rec.path = watch::move_with_sidecars(file, drop / watch::kFailedDir, name).string();
      store.record_watch_file(rec);
      ++n_failed;
      log->warn("watch: {} cannot be ingested: {}; moved to {}", (drop / name).string(), rec.error, rec.path);
      return;
    }
    rec.batch_id = res.batch_id;
    rec.rows = res.rows;
    rec.rejected = res.rejected;
    rec.outcome = WatchFileOutcome::processing;
    if (!res.errors.empty()) write_errors(file, res.errors);
    write_result(file, rec, "processing", nullptr, res.output_dir.string(), std::nullopt);
    store.record_watch_file(rec);
    ++n_ingested;
    log->info("watch: {} is batch {}: {} rows, {} rejected", (drop / name).string(), *rec.batch_id, rec.rows,
              rec.rejected);
    tracked[file] = Tracked{folder, rec, {}};
    next_batch_check = now();
  }

  void duplicate(const fs::path& file, const WatchConfig&, const std::string& name, const WatchFileRecord& earlier) {
    std::string out_dir;
    if (earlier.batch_id)
      if (auto b = store.batch(*earlier.batch_id)) out_dir = b->out_dir;
    WatchFileRecord shown = earlier;
    shown.name = name;
    write_result(file, shown, "duplicate", nullptr, out_dir, earlier.batch_id);
    const fs::path to = watch::move_with_sidecars(file, drop_dir_of(file) / watch::kDoneDir, name);
    ++n_duplicates;
    log->info("watch: {} has the same content as {} (batch {}): nothing added; moved to {}", name, earlier.path,
              earlier.batch_id ? std::to_string(*earlier.batch_id) : std::string("pending"), to.string());
  }

  // ---- following batches -------------------------------------------------------

  void check_batches() {
    for (auto it = tracked.begin(); it != tracked.end();) {
      const fs::path file = it->first;
      Tracked& t = it->second;
      try {
        if (finish_if_terminal(file, t)) {
          it = tracked.erase(it);
          continue;
        }
      } catch (const std::exception& e) {
        error("following batch " + std::to_string(t.rec.batch_id.value_or(0)) + " of " + file.string(), e);
      }
      ++it;
    }
  }

  // Returns true when the batch finished and the file moved on, or the file
  // is gone (someone removed it from processing/: there is nothing left to
  // move; the batch itself runs on).
  bool finish_if_terminal(const fs::path& file, Tracked& t) {
    std::error_code ec;
    if (!fs::exists(file, ec) && !ec) {
      log->warn("watch: {} was removed from processing/; batch {} is no longer followed", file.string(),
                *t.rec.batch_id);
      return true;
    }
    JobFilter filter;
    filter.batch_ids = {*t.rec.batch_id};
    const std::map<JobState, int> counts = store.count_by_state(filter);
    int total = 0, terminal = 0, succeeded = 0;
    for (const auto& [s, n] : counts) {
      total += n;
      if (is_terminal(s)) terminal += n;
      if (s == JobState::succeeded) succeeded += n;
    }
    std::string out_dir;
    if (auto b = store.batch(*t.rec.batch_id)) out_dir = b->out_dir;
    if (terminal < total) {
      if (counts != t.counts) {  // progress, for someone looking at the folder
        write_result(file, t.rec, "processing", &counts, out_dir, std::nullopt);
        t.counts = counts;
      }
      return false;
    }
    const bool ok = succeeded == total && t.rec.rejected == 0;
    t.rec.outcome = ok ? WatchFileOutcome::done : WatchFileOutcome::failed;
    write_result(file, t.rec, ok ? "done" : "failed", &counts, out_dir, std::nullopt);
    const fs::path to = watch::move_with_sidecars(file, drop_dir_of(file) / (ok ? watch::kDoneDir : watch::kFailedDir),
                                                  t.rec.name);
    t.rec.path = to.string();
    store.record_watch_file(t.rec);
    ++(ok ? n_done : n_failed);
    log->info("watch: batch {} of {} finished: {} of {} jobs succeeded, {} rows rejected; moved to {}",
              *t.rec.batch_id, t.rec.name, succeeded, total, t.rec.rejected, to.string());
    return true;
  }

  // ---- sidecars ----------------------------------------------------------------

  static void write_result(const fs::path& file, const WatchFileRecord& rec, std::string_view state,
                           const std::map<JobState, int>* counts, const std::string& out_dir,
                           std::optional<std::int64_t> duplicate_of) {
    json::object o;
    o["file"] = rec.name;
    o["sha256"] = rec.sha256;
    o["state"] = state;
    if (rec.batch_id) o["batch_id"] = *rec.batch_id;
    o["rows"] = rec.rows;
    o["rejected"] = rec.rejected;
    if (counts) {
      json::object c;
      for (const auto& [s, n] : *counts) c[to_string(s)] = n;
      o["counts"] = std::move(c);
    }
    if (!out_dir.empty()) o["output_dir"] = out_dir;
    if (duplicate_of) o["duplicate_of"] = *duplicate_of;
    if (!rec.error.empty()) o["error"] = rec.error;
    o["updated_at"] = utc_now_iso();
    watch::write_file_atomic(file.parent_path() / watch::result_name(file.filename().string()),
                             json::serialize(o) + "\n");
  }

  static void write_errors(const fs::path& file, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    watch::write_file_atomic(file.parent_path() / watch::errors_name(file.filename().string()), text);
  }
};

WatchService::WatchService(JobStore& store, WatchIngestFn ingest, std::shared_ptr<spdlog::logger> log,
                           WatchServiceOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(ingest), std::move(log), std::move(options))) {}

WatchService::~WatchService() { stop(); }

void WatchService::configure(std::vector<WatchConfig> folders, WatchIngestFn ingest) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->pending_folders = std::move(folders);
    if (ingest) impl_->pending_ingest = std::move(ingest);
  }
  impl_->wake();
}

void WatchService::start() {
  if (impl_->thread.joinable()) return;
  if (impl_->wake_fd < 0) {
    impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (impl_->wake_fd < 0) throw std::system_error(errno, std::generic_category(), "watch: eventfd");
  }
  if (impl_->inotify_fd < 0 && !impl_->opt.force_polling) {
    impl_->inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (impl_->inotify_fd < 0)
      impl_->log->warn("watch: inotify unavailable ({}); polling every folder",
                       std::error_code(errno, std::generic_category()).message());
  }
  impl_->stopping = false;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void WatchService::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->wake();
  impl_->thread.join();
}

WatchStats WatchService::stats() const {
  return WatchStats{impl_->n_taken, impl_->n_ingested, impl_->n_duplicates,
                    impl_->n_done,  impl_->n_failed,   impl_->n_errors};
}

}  // namespace reelbatch
