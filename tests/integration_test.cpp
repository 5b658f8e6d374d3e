// End-to-end tests: the real emulator on an ephemeral loopback port, and the
// real engine (in-process) or the real reelbatch binary (child process)
// against it. Each test checks every output's SHA-256 and size against the
// emulator's own record and that no row was submitted twice.
#include "config/config.hpp"
#include "providers/registry.hpp"
#include "providers/emulator/emulator.hpp"
#include "providers/provider.hpp"
#include "src/core/sha256.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/net/http_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <thread>

namespace reelbatch {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace reelbatch::it;

// What a run of the given batches ended with, read back from the store.
struct RunSummary {
  int succeeded = 0;
  int failed = 0;
  int waiting = 0;  // not finished: pending on a paused profile
  std::vector<std::string> paused;  // "profile: reason"
};

// `reelbatch run` in-process: the engine, limited to `batches`, runs until
// they drain.
RunSummary run_engine(const Config& cfg, JobStore& store, const std::vector<std::int64_t>& batches) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  EngineOptions opts;
  opts.seed = 42;
  opts.batches = batches;
  Engine engine(cfg, store, http, opts);
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
  if (error) std::rethrow_exception(error);
  RunSummary out;
  JobFilter f;
  f.batch_ids = batches;
  for (const auto& [state, n] : store.count_by_state(f)) {
    if (state == JobState::succeeded) out.succeeded += n;
    else if (state == JobState::failed) out.failed += n;
    else if (!is_terminal(state) && state != JobState::held) out.waiting += n;
  }
  for (const auto& [profile, reason] : store.profile_pauses()) out.paused.push_back(profile + ": " + reason);
  return out;
}

TEST(Integration, FiftyRowsRunToCompletion) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 8;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_manifest(dir.path, 50);
  const Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 8));
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_TRUE(report.errors.empty()) << report.errors.front();
  ASSERT_EQ(report.added, 50);

  const auto summary = run_engine(cfg, store, report.batch_ids);
  EXPECT_EQ(summary.succeeded, 50);
  EXPECT_EQ(summary.failed, 0);
  verify_outputs(store, emu.emu.submissions(), 50);

  // results.jsonl has one line per row.
  const auto results = read_file(cfg.output_dir / "batch" / "results.jsonl");
  EXPECT_EQ(std::count(results.begin(), results.end(), '\n'), 50);

  // The same manifest again adds nothing and submits nothing.
  const auto again = ingest_manifests(cfg, store, {manifest});
  EXPECT_EQ(again.added, 0);
  EXPECT_EQ(again.existing, 50);
  const auto summary2 = run_engine(cfg, store, again.batch_ids);
  EXPECT_EQ(summary2.succeeded, 50);
  EXPECT_EQ(emu.emu.submissions().size(), 50u);
}

// The emulator answers 15 % of API requests with 500, 503, 429 or a dropped
// connection after processing (so some submits have an unknown outcome):
// every row still succeeds, exactly once.
TEST(Integration, InjectedFaultsNeitherLoseNorDuplicateRows) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 6;
  eo.fault_rate = 0.15;
  eo.seed = 7;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_manifest(dir.path, 30);
  const Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 6, "request_timeout = \"1s\"\n"));
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, 30);
  const auto summary = run_engine(cfg, store, report.batch_ids);
  EXPECT_EQ(summary.succeeded, 30);
  verify_outputs(store, emu.emu.submissions(), 30);
}

// The account runs out of credit (juhuo 4003): the profile pauses, the rows
// that could not be submitted wait (neither failed nor lost), and `status`
// can show the pause.
TEST(Integration, OutOfCreditPausesTheProfile) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_credits = 3;  // about two clips
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_manifest(dir.path, 8);
  const Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 1));
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  const auto summary = run_engine(cfg, store, report.batch_ids);
  EXPECT_GT(summary.succeeded, 0);
  EXPECT_EQ(summary.failed, 0);
  EXPECT_GT(summary.waiting, 0);
  EXPECT_EQ(summary.succeeded + summary.waiting, 8);
  ASSERT_EQ(summary.paused.size(), 1u);
  EXPECT_NE(summary.paused[0].find("4003"), std::string::npos) << summary.paused[0];
  EXPECT_NE(store.profile_pauses().at("juhuo").find("out_of_credit"), std::string::npos);
  EXPECT_EQ(emu.emu.submissions().size(), static_cast<std::size_t>(summary.succeeded));
}

// The shipped mixed manifest (65 rows over all five providers, reference
// images where the provider takes them) with the shipped profiles, which
// use the documented limits: every row succeeds exactly once, every file
// matches the emulator's record, and no request is answered 429.
TEST(Integration, MixedManifestOverAllFiveProviders) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  EmulatorThread emu(eo);
  TempDir dir;
  const fs::path examples = fs::path(REELBATCH_SOURCE_DIR) / "examples";
  std::string toml = read_file(examples / "mixed.toml");
  for (std::size_t at; (at = toml.find("127.0.0.1:18787")) != std::string::npos;)
    toml.replace(at, 15, "127.0.0.1:" + std::to_string(emu.port));
  write_file(dir.path / "mixed.toml", toml);
  const Config cfg = load_config(dir.path / "mixed.toml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "JUHUO_API_KEY") return std::string(kKey);
    if (name == "VIBEGEN_API_KEY") return std::string("sk-video-integration");
    return "key-for-" + name;
  });
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {examples / "mixed.csv"});
  ASSERT_TRUE(report.errors.empty()) << report.errors.front();
  ASSERT_EQ(report.added, 65);

  const auto summary = run_engine(cfg, store, report.batch_ids);
  EXPECT_EQ(summary.succeeded, 65);
  const auto subs = emu.emu.submissions();
  verify_outputs(store, subs, 65);
  std::map<std::string, int> per_provider;
  for (const auto& s : subs) ++per_provider[s.provider];
  EXPECT_EQ(per_provider, (std::map<std::string, int>{
                              {"juhuo", 13}, {"openai", 13}, {"seedance2", 13}, {"turing", 13}, {"vibegen", 13}}));
  EXPECT_EQ(emu.emu.responses_with_status(429), 0u);
  // seedance2 rows with return_last_frame got their last frame.
  for (const auto& j : all_jobs(store)) {
    if (j.spec.params.contains("return_last_frame")) {
      EXPECT_TRUE(fs::exists(fs::path(j.output_path).replace_extension().string() + ".last_frame.jpg")) << j.key;
    }
  }
}

// Two profiles of one kind (two accounts): each row goes through its own
// profile's key, budgets and lane.
TEST(Integration, TwoProfilesOfOneKindKeepTheirOwnAccounts) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 2;
  EmulatorThread emu(eo);
  TempDir dir;
  std::string csv = "id,provider,prompt,duration\n";
  for (int i = 0; i < 12; ++i)
    csv += "two-" + std::to_string(i) + "," + (i % 3 == 0 ? "juhuo-b" : "juhuo-a") + ",Two accounts row " +
           std::to_string(i) + ",5\n";
  write_file(dir.path / "two.csv", csv);
  std::string toml = "[storage]\npath = \"state/reelbatch.db\"\n[output]\ndir = \"out\"\n";
  for (const char* name : {"juhuo-a", "juhuo-b"})
    toml += std::string("[providers.") + name + "]\nkind = \"juhuo\"\nbase_url = \"" + emu.base_url() +
            "\"\napi_key_env = \"KEY_" + (name[6] == 'a' ? "A" : "B") +
            "\"\nmax_in_flight = 2\nsubmit_per_minute = 1200\npoll_first = \"50ms\"\npoll_interval = \"50ms\"\npoll_max_interval = \"100ms\"\n";
  write_file(dir.path / "two.toml", toml);
  const std::string key_a = "sk-accountaaaaaaaaaaaaaaaaaaaaaaaaa", key_b = "sk-accountbbbbbbbbbbbbbbbbbbbbbbbbb";
  const Config cfg = load_config(dir.path / "two.toml", [&](const std::string& n) -> std::optional<std::string> {
    return n == "KEY_A" ? key_a : key_b;
  });
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {dir.path / "two.csv"});
  ASSERT_TRUE(report.errors.empty()) << report.errors.front();
  const auto summary = run_engine(cfg, store, report.batch_ids);
  EXPECT_EQ(summary.succeeded, 12);
  std::map<std::string, int> by_account;
  for (const auto& s : emu.emu.submissions()) ++by_account[s.api_key_fingerprint];
  EXPECT_EQ(by_account, (std::map<std::string, int>{{emulator::key_fingerprint(key_a), 8},
                                                     {emulator::key_fingerprint(key_b), 4}}));
  verify_outputs(store, emu.emu.submissions(), 12);
}

// A submit whose response was lost (the process died after the POST): the
// engine finds the task in the provider's list and polls it; a lost submit
// that never reached the provider is submitted once.
TEST(Integration, LostSubmitIsReconciledNotRepeated) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_manifest(dir.path, 2);
  const Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 4));
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, 2);

  auto jobs = all_jobs(store);
  // Row 0: the POST reached the provider, the answer was lost.
  {
    asio::io_context io;
    HttpClient http(io.get_executor());
    auto provider = make_provider(*cfg.profile("juhuo"), http);
    SubmitRequest req;
    req.spec = jobs[0].spec;
    std::optional<ProviderResult<std::string>> r;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { r = co_await provider->async_submit(req); }, asio::detached);
    io.run();
    ASSERT_TRUE(r && *r) << (r ? r->error().describe() : "no result");
  }
  for (auto& j : jobs) {
    j.state = JobState::submitting;
    j.intent_at_ms = now_ms() - 1000;
    EventRecord e;
    e.kind = "state";
    ASSERT_TRUE(store.try_transition(j, JobState::pending, e));
  }
  ASSERT_EQ(emu.emu.submissions().size(), 1u);

  const auto summary = run_engine(cfg, store, report.batch_ids);
  EXPECT_EQ(summary.succeeded, 2);
  verify_outputs(store, emu.emu.submissions(), 2);
}

TEST(Integration, KilledRunResumesWithoutDuplicateSubmissions) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  eo.juhuo_concurrency = 4;
  EmulatorThread emu(eo);
  TempDir dir;
  constexpr int kRows = 30;
  const auto manifest = write_manifest(dir.path, kRows);
  const auto config = write_config(dir.path, emu.base_url(), 4);
  ::setenv("REELBATCH_IT_KEY", kKey, 1);

  // Kill at three different points of progress.
  for (std::size_t kill_after : {3u, 11u, 19u}) {
    const pid_t pid = spawn_run(manifest, config);
    ASSERT_GT(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (emu.emu.submissions().size() < kill_after && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    ::kill(pid, SIGKILL);
    EXPECT_EQ(wait_exit(pid, 30s), -SIGKILL);
  }
  const pid_t pid = spawn_run(manifest, config);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_exit(pid, 300s), 0);

  const Config cfg = load_test_config(config);
  SqliteJobStore store(cfg.storage_path);
  verify_outputs(store, emu.emu.submissions(), kRows);
}

}  // namespace
}  // namespace reelbatch
