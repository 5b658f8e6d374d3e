// Issue 7, "Outage" and "Disk full", against the real emulator on an
// ephemeral loopback port with the real engine in-process (its own
// io_context thread, the system clock, real HTTP), time-compressed:
//  - the whole juhuo module goes down (the emulator's `down` fault, installed
//    at run time as POST /_emulator/faults does) for longer than every retry
//    budget of the old code, mid-run, then comes back: every row succeeds,
//    one task per row, none failed;
//  - the output folder is a real, full filesystem (a 4 MiB tmpfs, when this
//    process may mount one): paid rows wait in `downloading` with no
//    corrupt file under a final name, and finish in a second run once space
//    is freed.
#include "config/config.hpp"
#include "providers/emulator/emulator.hpp"
#include "scheduler/error_policy.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/net/http_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/mount.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

namespace reelbatch {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace reelbatch::it;

// Short retry, circuit and list backoffs: the engine's policy compressed like
// the emulator's time (defaults: circuit cool-down 15 s doubling to 5 min).
std::shared_ptr<const ErrorPolicy> fast_policy() {
  auto p = std::make_shared<ErrorPolicy>();
  p->submit_retry_base = 50ms;
  p->submit_retry_cap = 400ms;
  p->upload_call_base = 50ms;
  p->upload_round_base = 100ms;
  p->upload_round_cap = 400ms;
  p->reconcile_settle_max = 200ms;
  p->list_base = 50ms;
  p->list_cap = 300ms;
  p->refresh_base = 50ms;
  p->refresh_cap = 300ms;
  p->download_base = 50ms;
  p->download_cap = 400ms;
  p->download_min_delay = 20ms;
  p->disk_check_interval = 100ms;
  p->circuit.cooldown_base = 200ms;
  p->circuit.cooldown_cap = 800ms;
  return p;
}

// The engine in-process on its own thread, limited to `batches`: stops when
// they drain (run_until_drained) or when told (stop()).
class EngineThread {
 public:
  EngineThread(const Config& cfg, JobStore& store, std::vector<std::int64_t> batches, bool stop_when_drained)
      : http_(io_.get_executor()) {
    EngineOptions opts;
    opts.seed = 7;
    opts.batches = batches;
    opts.policy = fast_policy();
    opts.lease_ttl = 3s;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    opts.log = std::make_shared<spdlog::logger>("outage-test", sink);
    opts.log->set_level(spdlog::level::info);
    engine_ = std::make_unique<Engine>(cfg, store, http_, opts);
    asio::co_spawn(io_, engine_->async_run(), [this](std::exception_ptr e) {
      error_ = e;
      done_ = true;
    });
    if (stop_when_drained)
      asio::co_spawn(
          io_,
          [this, batches]() -> asio::awaitable<void> {
            co_await engine_->async_drain(batches);
            engine_->stop();
          },
          asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EngineThread() {
    stop();
    join(60s);
  }
  void stop() { engine_->stop(); }
  /// Waits up to `limit` for the engine to return; true when it did.
  bool join(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done_ && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(20ms);
    if (!done_) return false;
    if (thread_.joinable()) thread_.join();
    return true;
  }
  std::exception_ptr error() const { return error_; }
  std::string log() {
    std::lock_guard<std::mutex> lock(log_mutex_);
    return log_.str();
  }

 private:
  asio::io_context io_;
  HttpClient http_;
  std::ostringstream log_;
  std::mutex log_mutex_;
  std::unique_ptr<Engine> engine_;
  std::exception_ptr error_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Waits up to `limit` for `cond`.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

int count_in(const JobStore& store, JobState s) {
  int n = 0;
  for (const auto& j : all_jobs(store)) n += j.state == s ? 1 : 0;
  return n;
}

// The whole provider down mid-run (every request answered 503, or reset
// unprocessed), 2.5 s of wall time, i.e. about 10 minutes of the emulator's
// compressed time and far beyond the old "gave up after 10 tries": every row
// still succeeds once it is back, one task per row, none failed.
void whole_provider_outage(bool drop) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 6;
  eo.seed = 3;
  EmulatorThread emu(eo);
  TempDir dir;
  constexpr int kRows = 24;
  const auto manifest = write_manifest(dir.path, kRows);
  const Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 6, "request_timeout = \"1s\"\n"));
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, kRows);

  const auto t0 = std::chrono::steady_clock::now();
  EngineThread run(cfg, store, report.batch_ids, /*stop_when_drained=*/true);
  // Mid-run: some tasks created, most rows not yet.
  ASSERT_TRUE(eventually([&] { return emu.emu.submissions().size() >= 4; }, 20s));
  emulator::FaultPlan down;
  emulator::parse_fault_spec(std::string("juhuo:down=3600") + (drop ? ",down_mode=drop" : ""), down);
  emu.emu.set_faults(down);
  const std::size_t before = emu.emu.submissions().size();
  std::this_thread::sleep_for(2500ms);
  const std::size_t during = emu.emu.submissions().size();
  emu.emu.set_faults(emulator::FaultPlan{});  // back up
  ASSERT_TRUE(run.join(120s)) << run.log().substr(0, 6000);
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  if (run.error()) std::rethrow_exception(run.error());

  EXPECT_EQ(during, before) << "a task was created while the provider was down";
  EXPECT_LT(before, static_cast<std::size_t>(kRows)) << "the outage came too late to matter";
  EXPECT_EQ(count_in(store, JobState::failed), 0);
  EXPECT_EQ(count_in(store, JobState::held), 0);
  verify_outputs(store, emu.emu.submissions(), kRows);
  const std::string log = run.log();
  EXPECT_NE(log.find("circuit open"), std::string::npos) << log.substr(0, 6000);
  std::printf("outage (%s): %d rows succeeded, %zu tasks (%zu before the outage), wall %lld ms\n",
              drop ? "drop" : "503", kRows, emu.emu.submissions().size(), before,
              static_cast<long long>(wall.count()));
}

TEST(Outage, WholeProviderDownMidRunAnswering503_EveryRowSucceedsOnce) { whole_provider_outage(false); }

TEST(Outage, WholeProviderDownMidRunResettingConnections_EveryRowSucceedsOnce) { whole_provider_outage(true); }

// A mounted tmpfs, unmounted at destruction.
struct Tmpfs {
  fs::path path;
  bool mounted = false;
  Tmpfs(const fs::path& p, const std::string& size) : path(p) {
    fs::create_directories(path);
    mounted = ::mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, ("size=" + size).c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

// Fills the filesystem of `dir` with `dir`/filler until ENOSPC.
void fill(const fs::path& dir) {
  const int fd = ::open((dir / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  const std::string block(64 * 1024, 'f');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  const std::string byte(1, 'f');
  while (::write(fd, byte.data(), 1) == 1) {
  }
  ::close(fd);
}

// Issue 7, "Disk full": a real full filesystem under the output folder.
// Rows are ingested (and the folder checked writable) first, then the disk
// fills; the run pays for every row, and its downloads pause: each row waits
// in downloading, nothing failed, no file under a final name. A second run
// after space was freed finishes every row with the emulator's bytes.
TEST(DiskFull, PaidRowsWaitOnAFullDiskAndFinishOnceSpaceReturns) {
  TempDir dir;
  Tmpfs out(dir.path / "out", "4m");
  if (!out.mounted)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "; needs root with CAP_SYS_ADMIN); RLIMIT_FSIZE cannot stand in: the emulator's clips are "
                    "smaller than the database file the same process writes";
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 6;
  EmulatorThread emu(eo);
  constexpr int kRows = 6;
  const auto manifest = write_manifest(dir.path, kRows);
  const Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 6));
  ASSERT_EQ(fs::weakly_canonical(cfg.output_dir), fs::weakly_canonical(out.path));
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, kRows);
  fill(out.path);

  {
    EngineThread run(cfg, store, report.batch_ids, /*stop_when_drained=*/true);
    ASSERT_TRUE(eventually([&] { return count_in(store, JobState::downloading) == kRows; }, 30s))
        << run.log().substr(0, 6000);
    std::this_thread::sleep_for(500ms);  // the downloads keep waiting, none fails
    EXPECT_EQ(count_in(store, JobState::downloading), kRows);
    run.stop();
    ASSERT_TRUE(run.join(30s));
    if (run.error()) std::rethrow_exception(run.error());
    const std::string log = run.log();
    EXPECT_NE(log.find("downloads paused"), std::string::npos) << log.substr(0, 6000);
    EXPECT_EQ(log.find("downloads paused", log.find("downloads paused") + 1), std::string::npos)
        << "logged more than once";
  }
  EXPECT_EQ(count_in(store, JobState::failed), 0);
  // No file under a final name: only the kept .part files and temporary
  // names of failed atomic writes (.tmp, never read as a result), and the filler.
  for (const auto& e : fs::recursive_directory_iterator(out.path)) {
    if (!e.is_regular_file() || e.path().filename() == "filler") continue;
    const std::string name = e.path().string();
    EXPECT_TRUE(name.ends_with(".part") || name.ends_with(".tmp")) << e.path();
  }
  EXPECT_EQ(emu.emu.submissions().size(), static_cast<std::size_t>(kRows));

  fs::remove(out.path / "filler");
  {
    EngineThread again(cfg, store, report.batch_ids, /*stop_when_drained=*/true);
    ASSERT_TRUE(again.join(60s)) << again.log().substr(0, 6000);
    if (again.error()) std::rethrow_exception(again.error());
  }
  verify_outputs(store, emu.emu.submissions(), kRows);
}

}  // namespace
}  // namespace reelbatch
