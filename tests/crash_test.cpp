// Issue 7's crash test: 300 rows against the emulator with injected faults
// (5xx, 429, connections dropped after the submit was processed), the real
// binary SIGKILLed at 30 seeded moments and restarted each time. Afterwards
// every row is succeeded, none was lost or submitted twice, every file's
// SHA-256 equals the emulator's record and no `.part` is left.
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

namespace reelbatch {
namespace {
using namespace std::chrono_literals;
using namespace reelbatch::it;

TEST(CrashTest, ThirtyKillsWithFaultsLoseNothingAndPayOnce) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  eo.juhuo_concurrency = 8;
  eo.fault_rate = 0.05;
  eo.seed = 20261202;
  EmulatorThread emu(eo);
  TempDir dir;
  constexpr int kRows = 300;
  constexpr int kKills = 30;
  const auto manifest = write_manifest(dir.path, kRows);
  const auto config = write_config(dir.path, emu.base_url(), 8);
  ::setenv("REELBATCH_IT_KEY", kKey, 1);

  // Seeded kill moments: a run lives 150..1200 ms before SIGKILL, so kills
  // land during ingest, submits, polls and downloads alike.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> life_ms(150, 1200);
  int killed = 0;
  int finished_early = 0;
  for (int k = 0; k < kKills; ++k) {
    const pid_t pid = spawn_run(manifest, config);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(life_ms(rng)));
    if (::kill(pid, SIGKILL) == 0) {
      const int rc = wait_exit(pid, 30s);
      if (rc == -SIGKILL) ++killed;
      else ++finished_early;  // the run had already ended
    }
  }
  EXPECT_GE(killed, kKills - 2) << "most runs must be killed mid-flight";

  const pid_t pid = spawn_run(manifest, config);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_exit(pid, 600s), 0);

  const Config cfg = load_test_config(config);
  SqliteJobStore store(cfg.storage_path);
  verify_outputs(store, emu.emu.submissions(), kRows);
  std::printf("crash test: %d kills survived (%d runs ended before their kill), %zu submissions for %d rows\n",
              killed, finished_early, emu.emu.submissions().size(), kRows);
}

}  // namespace
}  // namespace reelbatch
