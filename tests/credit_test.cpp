// Issue 9 end to end: the bundled examples' estimates against what the
// emulator charges (±5 % per kind with a price), `plan`'s verdicts, caps that
// are never passed by a 200-row run with 8 tasks in flight, and rows waiting
// for budget that resume when the cap is raised (Engine::reconfigure). The
// real engine in-process against the real emulator on an ephemeral loopback
// port, in compressed time.
#include "config/config.hpp"
#include "providers/emulator/emulator.hpp"
#include "providers/registry.hpp"
#include "providers/vibegen/emulator.hpp"
#include "src/app/plan.hpp"
#include "src/engine/credits.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/net/http_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

namespace reelbatch {
namespace {
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace reelbatch::it;

std::optional<std::string> test_env(const std::string& name) {
  if (name == "JUHUO_API_KEY" || name == "REELBATCH_IT_KEY") return std::string(kKey);
  if (name == "VIBEGEN_API_KEY") return std::string("sk-video-integration");
  return "key-for-" + name;
}

// A bundled example config with the emulator's port, written into `dir`
// (its storage and output folders then live there).
Config example_config(const fs::path& dir, const std::string& name, unsigned short port) {
  std::string toml = read_file(fs::path(REELBATCH_SOURCE_DIR) / "examples" / name);
  for (std::size_t at; (at = toml.find("127.0.0.1:18787")) != std::string::npos;)
    toml.replace(at, 15, "127.0.0.1:" + std::to_string(port));
  // Poll the 100x compressed emulator often.
  for (const char* slow : {"\"1s\"", "\"2s\"", "\"3s\""})
    for (std::size_t at; (at = toml.find(slow)) != std::string::npos;) toml.replace(at, std::strlen(slow), "\"100ms\"");
  write_file(dir / name, toml);
  return load_config(dir / name, test_env);
}

// The engine, limited to `batches`, until they drain.
void run_engine(const Config& cfg, JobStore& store, const std::vector<std::int64_t>& batches) {
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
}

// Credits the account of `profile` has been charged (balance API: used).
double balance_used(const Config& cfg, const std::string& profile) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  auto provider = make_provider(*cfg.profile(profile), http);
  double used = -1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto b = co_await provider->async_balance();
        if (b) used = b->used;
      },
      asio::detached);
  io.run();
  return used;
}

// What the emulator charged for the vibegen submissions (its own table,
// applied to the bodies it recorded; vibegen has no balance API).
double vibegen_charged(const std::vector<emulator::Submission>& subs) {
  double sum = 0;
  for (const auto& s : subs) {
    if (s.provider != "vibegen") continue;
    const auto b = json::parse(s.body).as_object();
    const std::string res = b.contains("resolution") ? std::string(b.at("resolution").as_string()) : "480p";
    const int dur = b.contains("duration") ? static_cast<int>(b.at("duration").to_number<double>()) : 5;
    const bool audio = b.contains("generate_audio") && b.at("generate_audio").as_bool();
    sum += emulator::vibegen_credit_cost(res, dur, audio);
  }
  return sum;
}

const PlanProfile* find_profile(const Plan& plan, const std::string& name) {
  for (const auto& p : plan.profiles)
    if (p.profile == name) return &p;
  return nullptr;
}

double relative_error(double estimate, double charged) { return std::abs(estimate - charged) / charged; }

// The bundled mixed example (65 rows, five providers): the plan's estimate
// per kind with a price is within 5 % of what the emulator charged; vibegen
// rows record their documented cost; kinds without a price say "unknown".
TEST(Credits, MixedExampleEstimatesMatchTheEmulatorsCharges) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  EmulatorThread emu(eo);
  TempDir dir;
  const Config cfg = example_config(dir.path, "mixed.toml", emu.port);
  const fs::path manifest = fs::path(REELBATCH_SOURCE_DIR) / "examples" / "mixed.csv";
  SqliteJobStore store(cfg.storage_path);

  const Plan plan = make_plan(cfg, store, {manifest});
  ASSERT_EQ(plan.invalid_rows, 0) << plan.errors.front();
  EXPECT_EQ(plan.exit_code(), kPlanFits);
  std::cout << plan.to_text();
  EXPECT_TRUE(store.batches().empty()) << "plan wrote a batch";
  const double juhuo_before = balance_used(cfg, "juhuo"), seedance2_before = balance_used(cfg, "seedance2");

  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, 65);
  run_engine(cfg, store, report.batch_ids);
  JobFilter ok;
  ok.states = {JobState::succeeded};
  EXPECT_EQ(store.count_by_state(ok)[JobState::succeeded], 65);

  const std::map<std::string, double> charged = {
      {"juhuo", balance_used(cfg, "juhuo") - juhuo_before},
      {"seedance2", balance_used(cfg, "seedance2") - seedance2_before},
      {"vibegen", vibegen_charged(emu.emu.submissions())}};
  for (const auto& [name, spent] : charged) {
    const PlanProfile* p = find_profile(plan, name);
    ASSERT_NE(p, nullptr) << name;
    ASSERT_GT(spent, 0) << name;
    EXPECT_EQ(p->cost.unknown_rows, 0) << name;
    const double err = relative_error(p->cost.credits, spent);
    std::cout << "estimate error " << name << ": estimated " << p->cost.credits << " " << p->unit << " ("
              << p->cost.describe_sources() << "), charged " << spent << ", error " << err * 100 << " %\n";
    EXPECT_LE(err, 0.05) << name;
  }
  for (const char* name : {"turing", "openai"}) {
    const PlanProfile* p = find_profile(plan, name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->cost.unknown_rows, p->cost.rows) << name << ": no document price, none configured or learned";
  }
  // vibegen reports no cost: the documented price is recorded, and adds up
  // to what the emulator charged.
  double vibegen_recorded = 0;
  for (const auto& j : all_jobs(store))
    if (j.spec.provider == "vibegen") {
      ASSERT_TRUE(j.cost) << j.key;
      vibegen_recorded += *j.cost;
    }
  EXPECT_DOUBLE_EQ(vibegen_recorded, charged.at("vibegen"));
  // The same manifest planned again counts its rows as done, estimates none.
  const Plan again = make_plan(cfg, store, {manifest});
  EXPECT_EQ(find_profile(again, "juhuo")->to_submit, 0);
  EXPECT_EQ(find_profile(again, "juhuo")->already_done, 13);
}

// The bundled juhuo example (examples/reelbatch.toml + manifest.csv): the
// configured per-second prices estimate the emulator's charge within 5 %,
// and a later plan learns from the finished tasks where no price is set.
TEST(Credits, JuhuoExampleEstimateAndLearnedCost) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  EmulatorThread emu(eo);
  TempDir dir;
  const Config cfg = example_config(dir.path, "reelbatch.toml", emu.port);
  const fs::path manifest = fs::path(REELBATCH_SOURCE_DIR) / "examples" / "manifest.csv";
  SqliteJobStore store(cfg.storage_path);
  const Plan plan = make_plan(cfg, store, {manifest});
  ASSERT_EQ(plan.invalid_rows, 0) << plan.errors.front();
  std::cout << plan.to_text();
  const double before = balance_used(cfg, "juhuo");
  const auto report = ingest_manifests(cfg, store, {manifest});
  run_engine(cfg, store, report.batch_ids);
  const double spent = balance_used(cfg, "juhuo") - before;
  const PlanProfile* p = find_profile(plan, "juhuo");
  ASSERT_NE(p, nullptr);
  const double err = relative_error(p->cost.credits, spent);
  std::cout << "estimate error juhuo (examples/manifest.csv): estimated " << p->cost.credits << ", charged " << spent
            << ", error " << err * 100 << " %\n";
  EXPECT_LE(err, 0.05);

  // Without the [prices] table the same rows are estimated from what the
  // provider reported for finished tasks like them (learned; one task each
  // here), and the generation time is learned too.
  ProfileConfig unpriced = *cfg.profile("juhuo");
  unpriced.prices.clear();
  const auto learned = learned_costs_for(store, unpriced);
  ASSERT_FALSE(learned.empty());
  std::map<std::string, CostTotal> totals;
  for (const auto& j : all_jobs(store)) add_estimate(totals, estimate_job_cost(unpriced, j.spec, learned));
  const CostTotal& t = totals.at("juhuo credits");
  EXPECT_EQ(t.rows, 14);
  EXPECT_EQ(t.unknown_rows, 0);
  EXPECT_NE(t.describe_sources().find("learned from"), std::string::npos) << t.describe_sources();
  EXPECT_LE(relative_error(t.credits, spent), 0.05);
  int generation_samples = 0;
  for (const auto& l : learned) generation_samples += l.generation_samples;
  EXPECT_EQ(generation_samples, 14);
}

// `plan` verdicts: a cap below the estimate stops it (3), an invalid row is 1.
TEST(Credits, PlanVerdicts) {
  TempDir dir;
  const auto manifest = write_manifest(dir.path, 10);
  Config cfg = load_test_config(write_config(dir.path, "http://127.0.0.1:9/juhuo", 4,
                                             "[providers.juhuo.prices.per_second]\n\"*/480\" = 0.115\n"
                                             "\"*/720\" = 0.23\n"));
  SqliteJobStore store(":memory:");
  Plan plan = make_plan(cfg, store, {manifest});
  EXPECT_EQ(plan.exit_code(), kPlanFits);
  const double total = find_profile(plan, "juhuo")->cost.credits;
  EXPECT_GT(total, 0);
  cfg.profiles.at("juhuo").credit_cap = total / 2;
  plan = make_plan(cfg, store, {manifest});
  EXPECT_EQ(plan.exit_code(), kPlanStopped);
  ASSERT_FALSE(find_profile(plan, "juhuo")->stops.empty());
  EXPECT_NE(find_profile(plan, "juhuo")->stops[0].find("credit_cap"), std::string::npos);
  cfg.profiles.at("juhuo").credit_cap.reset();
  plan = make_plan(cfg, store, {manifest}, "", total / 3);
  EXPECT_EQ(plan.exit_code(), kPlanStopped);
  const json::object j = plan.to_json();
  EXPECT_EQ(j.at("exit_code").as_int64(), kPlanStopped);
  write_file(dir.path / "bad.csv", "id,prompt,duration\nb1,ok,8\nb2,bad duration,99\n");
  plan = make_plan(cfg, store, {dir.path / "bad.csv"});
  EXPECT_EQ(plan.exit_code(), kPlanInvalidRows);
  EXPECT_EQ(plan.invalid_rows, 1);
  EXPECT_TRUE(store.batches().empty());
}

// A manifest of juhuo rows with even durations, whose configured price
// (0.115 / 0.23 credits per second) is exactly what the emulator charges.
fs::path write_even_manifest(const fs::path& dir, int rows) {
  std::string csv = "id,prompt,duration,resolution\n";
  for (int i = 0; i < rows; ++i)
    csv += "c-" + std::to_string(i) + ",row " + std::to_string(i) + " a heron over a lake," +
           std::to_string(4 + 2 * (i % 6)) + "," + (i % 2 ? "720" : "480") + "\n";
  write_file(dir / "caps.csv", csv);
  return dir / "caps.csv";
}

const char* kExactPrices = "[providers.juhuo.prices.per_second]\n\"*/480\" = 0.115\n\"*/720\" = 0.23\n";

// 200 rows, 8 in flight, a credit_cap of 40 % of their cost: neither the
// ledger (spent + reserved, sampled throughout from another connection) nor
// what the emulator charged ever passes the cap; the rows that did not fit
// wait in pending (none failed).
TEST(Credits, CapNeverPassedByA200RowRunWithConcurrency) {
  emulator::Options eo;
  eo.time_scale = 0.002;
  eo.juhuo_concurrency = 8;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_even_manifest(dir.path, 200);
  Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 8, kExactPrices));
  SqliteJobStore store(cfg.storage_path);
  const double total = find_profile(make_plan(cfg, store, {manifest}), "juhuo")->cost.credits;
  const double cap = std::round(total * 0.4 * 100) / 100;
  cfg.profiles.at("juhuo").credit_cap = cap;
  const double before = balance_used(cfg, "juhuo");
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, 200);

  std::atomic<bool> done{false};
  double max_committed = 0;
  int samples = 0;
  std::thread sampler([&] {
    SqliteJobStore reader(cfg.storage_path);
    while (!done) {
      const auto u = reader.credit_uses("juhuo", 0, "juhuo credits", 0);
      max_committed = std::max(max_committed, u.profile_settled + u.profile_reserved);
      ++samples;
      std::this_thread::sleep_for(2ms);
    }
  });
  run_engine(cfg, store, report.batch_ids);
  done = true;
  sampler.join();

  const double charged = balance_used(cfg, "juhuo") - before;
  const auto u = store.credit_uses("juhuo", 0, "juhuo credits", 0);
  std::map<JobState, int> states = store.count_by_state(JobFilter{});
  std::cout << "cap test: 200 rows, cap " << cap << " of " << total << " juhuo credits; max spent+reserved seen "
            << max_committed << " over " << samples << " samples; final spent " << u.profile_settled
            << ", reserved " << u.profile_reserved << "; emulator charged " << charged << "; succeeded "
            << states[JobState::succeeded] << ", pending " << states[JobState::pending] << "\n";
  EXPECT_LE(max_committed, cap + kCreditEpsilon);
  EXPECT_LE(charged, cap + kCreditEpsilon);
  EXPECT_LE(u.profile_settled + u.profile_reserved, cap + kCreditEpsilon);
  EXPECT_NEAR(u.profile_settled, charged, 1e-6);
  EXPECT_GT(states[JobState::succeeded], 0);
  EXPECT_GT(states[JobState::pending], 0);
  EXPECT_EQ(states[JobState::failed], 0);
  EXPECT_EQ(states[JobState::succeeded] + states[JobState::pending], 200);
  // The cap nearly fills: what is left is less than the dearest row.
  EXPECT_GT(u.profile_settled, cap - 0.23 * 14 - kCreditEpsilon);
  EXPECT_EQ(emu.emu.submissions().size(), static_cast<std::size_t>(states[JobState::succeeded]));
  // A waiting row says why.
  bool reason_seen = false;
  for (const auto& j : all_jobs(store)) {
    if (j.state != JobState::pending) continue;
    for (const auto& e : store.events(j.id))
      if (const auto* r = e.detail.if_contains("reason"); r && r->is_string() &&
                                                           std::string(r->as_string()).starts_with("waiting for budget"))
        reason_seen = true;
    if (reason_seen) break;
  }
  EXPECT_TRUE(reason_seen);
}

// Rows waiting for budget are not failed and resume once the cap is raised
// (the daemon's SIGHUP: Engine::reconfigure).
TEST(Credits, WaitingForBudgetResumesWhenTheCapIsRaised) {
  emulator::Options eo;
  eo.time_scale = 0.002;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto manifest = write_even_manifest(dir.path, 12);
  Config cfg = load_test_config(write_config(dir.path, emu.base_url(), 4, kExactPrices));
  cfg.profiles.at("juhuo").credit_cap = 2.0;  // a few rows' worth
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.added, 12);

  Config raised = cfg;
  raised.profiles.at("juhuo").credit_cap = 1000;
  asio::io_context io;
  HttpClient http(io.get_executor());
  EngineOptions opts;
  opts.seed = 42;
  opts.batches = report.batch_ids;
  Engine engine(cfg, store, http, opts);
  std::exception_ptr error;
  std::string waited_reason;
  std::map<JobState, int> while_waiting;
  asio::co_spawn(io, engine.async_run(), [&](std::exception_ptr e) { error = e; });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io);
        for (int i = 0; i < 1500; ++i) {  // at most 30 s
          t.expires_after(20ms);
          co_await t.async_wait(asio::use_awaitable);
          const auto snap = engine.snapshot();
          if (!snap.lanes.empty() && !snap.lanes[0].budget_reason.empty() && snap.lanes[0].in_flight == 0 &&
              snap.downloads_queued == 0 && snap.active.count(JobState::downloading) == 0) {
            waited_reason = snap.lanes[0].budget_reason;
            break;
          }
        }
        while_waiting = store.count_by_state(JobFilter{});
        (void)engine.reconfigure(raised);  // posted to the engine's executor: applied after this yields
        for (int i = 0; i < 100 && !engine.snapshot().lanes[0].budget_reason.empty(); ++i) {
          t.expires_after(10ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        co_await engine.async_drain(report.batch_ids);
        engine.stop();
      },
      asio::detached);
  io.run();
  if (error) std::rethrow_exception(error);
  EXPECT_NE(waited_reason.find("waiting for budget: credit_cap"), std::string::npos) << waited_reason;
  EXPECT_GT(while_waiting[JobState::pending], 0);
  EXPECT_EQ(while_waiting[JobState::failed], 0);
  EXPECT_EQ(store.count_by_state(JobFilter{})[JobState::succeeded], 12);
  EXPECT_EQ(emu.emu.submissions().size(), 12u);
}

}  // namespace
}  // namespace reelbatch
