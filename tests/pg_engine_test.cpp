// Several engines on one PostgreSQL database (issue 13): two engines, each
// with its own connection, io_context and thread (as two daemons would be),
// share one 100-row batch against the in-process emulator. Every row ends
// once, both engines did part of the work, and the emulator's record shows
// no row submitted twice (verify_outputs). Needs a PostgreSQL server
// (tests/support/pg_server.hpp): skipped where PostgreSQL is not installed.
#include "config/config.hpp"
#include "src/app/store_factory.hpp"
#include "src/engine/engine.hpp"
#include "src/engine/observer.hpp"
#include "src/ingest/ingest.hpp"
#include "src/net/http_client.hpp"
#include "tests/support/integration_support.hpp"
#include "tests/support/pg_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace reelbatch {
namespace {
namespace asio = boost::asio;
using namespace reelbatch::it;
using testing_support::PgServer;

// Counts what one engine committed.
class Tally : public EngineObserver {
 public:
  void on_transition(const StateChange& c) override {
    if (c.to == JobState::succeeded) ++succeeded;
  }
  std::atomic<int> succeeded{0};
};

// One engine on its own connection, run until every job of `batches` is
// settled (Engine::async_drain reads the shared database, so it waits for
// the other engine's jobs too). Returns the engine's error, if any.
std::exception_ptr run_engine(const Config& cfg, const std::vector<std::int64_t>& batches, const std::string& owner,
                              Tally& tally) {
  try {
    const auto store = open_job_store(cfg);
    asio::io_context io;
    HttpClient http(io.get_executor());
    EngineOptions opts;
    opts.batches = batches;
    opts.owner = owner;
    opts.observer = &tally;
    Engine engine(cfg, *store, http, opts);
    std::exception_ptr error;
    asio::co_spawn(io, engine.async_run(), [&](std::exception_ptr e) { error = e; });
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await engine.async_drain(batches);
          engine.stop();
        },
        asio::detached);
    io.run();
    return error;
  } catch (...) {
    return std::current_exception();
  }
}

TEST(PgEngines, TwoEnginesOnOneDatabaseRunEveryRowOnce) {
  constexpr int kRows = 100;
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 16;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_manifest(dir.path, kRows);
  Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 8));
  PgServer& pg = *PgServer::shared();
  cfg.storage_url = pg.url(pg.create_database());
  cfg.storage_password = pg.password();
  ASSERT_TRUE(uses_postgres(cfg));

  const auto store = open_job_store(cfg);
  const auto report = ingest_manifests(cfg, *store, {manifest});
  ASSERT_TRUE(report.errors.empty()) << report.errors.front();
  ASSERT_EQ(report.added, kRows);

  Tally a, b;
  std::exception_ptr error_a, error_b;
  const auto started = std::chrono::steady_clock::now();
  std::thread ta([&] { error_a = run_engine(cfg, report.batch_ids, "engine-a", a); });
  std::thread tb([&] { error_b = run_engine(cfg, report.batch_ids, "engine-b", b); });
  ta.join();
  tb.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& e : {error_a, error_b}) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      FAIL() << "an engine stopped: " << x.what();
    }
  }

  EXPECT_EQ(a.succeeded + b.succeeded, kRows) << "every row succeeded once, by one engine";
  EXPECT_GT(a.succeeded.load(), 0) << "engine-a did part of the work";
  EXPECT_GT(b.succeeded.load(), 0) << "engine-b did part of the work";
  verify_outputs(*store, emu.emu.submissions(), kRows);  // files, checksums, 0 duplicate submissions
  EXPECT_TRUE(store->lease_owners().empty()) << "both engines released their leases at stop";
  std::printf("[ figures  ] %d rows, 2 engines: engine-a %d, engine-b %d, %zu submissions, %.1f s, %.1f rows/s\n",
              kRows, a.succeeded.load(), b.succeeded.load(), emu.emu.submissions().size(), seconds, kRows / seconds);
}

}  // namespace
}  // namespace reelbatch
