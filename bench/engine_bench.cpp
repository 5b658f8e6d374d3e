// Engine throughput against the emulator on loopback: N rows, emulator time
// compressed so generation takes ~0.1-0.3 s, profile limits set high, to
// measure the engine's own overhead (SQLite commits, HTTP, downloads).
//
//   cmake --build build --target engine_bench && build/bench/engine_bench 500 32
//
// Prints rows, wall time, rows per second, CPU time and database size.
#include "config/config.hpp"
#include "providers/registry.hpp"
#include "providers/emulator/emulator.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/net/http_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace reelbatch;

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 300;
  const int in_flight = argc > 2 ? std::atoi(argv[2]) : 32;
  spdlog::set_level(spdlog::level::warn);

  asio::io_context emu_io;
  emulator::Options eo;
  eo.time_scale = 0.002;
  eo.juhuo_concurrency = in_flight;
  eo.juhuo_credits = 1e9;
  emulator::Emulator emu(emu_io.get_executor(), eo);
  const auto port = emu.listen("127.0.0.1", 0);
  std::thread emu_thread([&] { emu_io.run(); });

  const fs::path dir = fs::temp_directory_path() / ("reelbatch-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream m(dir / "bench.csv");
    m << "id,prompt,duration,resolution,aspect_ratio\n";
    for (int i = 0; i < rows; ++i) m << "b" << i << ",\"Benchmark clip " << i << ", a paper boat on a river\",4,480,16:9\n";
    std::ofstream c(dir / "reelbatch.toml");
    c << "[storage]\npath = \"bench.db\"\n[output]\ndir = \"out\"\ndownload_concurrency = 8\n"
      << "[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"http://127.0.0.1:" << port << "/juhuo\"\n"
      << "api_key_env = \"BENCH_KEY\"\nmax_in_flight = " << in_flight << "\n"
      << "submit_per_minute = 100000\npoll_per_minute = 100000\n"
      << "poll_first = \"20ms\"\npoll_interval = \"20ms\"\npoll_max_interval = \"50ms\"\n";
  }
  const Config cfg = load_config(dir / "reelbatch.toml", [](const std::string&) -> std::optional<std::string> {
    return std::string("sk-benchmark00000000000000000000000");
  });
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {dir / "bench.csv"});

  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto t0 = std::chrono::steady_clock::now();
  asio::io_context io;
  HttpClient http(io.get_executor());
  EngineOptions eopts;
  eopts.batches = report.batch_ids;
  Engine engine(cfg, store, http, eopts);
  asio::co_spawn(io, engine.async_run(), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await engine.async_drain(report.batch_ids);
        engine.stop();
      },
      asio::detached);
  io.run();
  struct {
    int succeeded = 0, failed = 0;
  } summary;
  JobFilter f;
  f.batch_ids = report.batch_ids;
  for (const auto& [state, n] : store.count_by_state(f)) {
    if (state == JobState::succeeded) summary.succeeded += n;
    if (state == JobState::failed) summary.failed += n;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::getrusage(RUSAGE_SELF, &after);
  auto cpu = [](const rusage& r) {
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  std::printf("rows %d  succeeded %d  failed %d  wall %.2f s  %.1f rows/s  cpu (engine+emulator) %.2f s  db %.1f KiB\n",
              rows, summary.succeeded, summary.failed, wall, rows / wall, cpu(after) - cpu(before),
              fs::file_size(cfg.storage_path) / 1024.0);
  asio::post(emu_io, [&] { emu.stop(); emu_io.stop(); });
  emu_thread.join();
  fs::remove_all(dir);
  return summary.succeeded == rows ? 0 : 1;
}
