// Issue 9, item 4, against the real binary and the emulator: results.jsonl
// and results.csv list every manifest row (rejected rows included), follow
// a `cancel` at once (no run needed), and are complete and correct after a
// run killed with SIGKILL and started again. Then `reelbatch report` reads
// the same database.
#include "src/ingest/csv.hpp"
#include "src/output/probe.hpp"
#include "src/output/results.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace reelbatch {
namespace {
using namespace std::chrono_literals;
using namespace reelbatch::it;
namespace fs = std::filesystem;
namespace json = boost::json;

// Runs `reelbatch ARGS...` to its end; returns its exit code and stdout.
std::pair<int, std::string> run_binary(const std::vector<std::string>& args, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt";
  std::vector<std::string> all = {REELBATCH_BINARY, "-q"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, REELBATCH_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return {-1, ""};
  return {wait_exit(pid, 120s), read_file(out)};
}

std::vector<json::object> read_jsonl(const fs::path& p) {
  std::vector<json::object> out;
  std::istringstream in(read_file(p));
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
  return out;
}

std::map<std::string, json::object> by_source(const std::vector<json::object>& records) {
  std::map<std::string, json::object> out;
  for (const auto& r : records) out[std::string(r.at("source").as_string())] = r;
  return out;
}

TEST(ResultsIntegration, EveryRowAfterCancelAndAfterKillAndRestart) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  eo.juhuo_concurrency = 4;
  eo.seed = 9;
  EmulatorThread emu(eo);
  TempDir dir;
  constexpr int kRows = 30;
  const auto manifest = write_manifest(dir.path, kRows);
  // Two rows the ingest rejects: a duration juhuo does not make, and an
  // empty prompt.
  std::string text = read_file(manifest);
  text += "bad-duration,too long,99,720p,16:9,false,,0\n";
  text += "bad-line,\"\",5,720p,16:9,false,,0\n";
  write_file(manifest, text);
  const auto config = write_config(dir.path, emu.base_url(), 4);
  ::setenv("REELBATCH_IT_KEY", kKey, 1);
  const std::string cfg_arg = config.string();
  const Config cfg = load_test_config(config);
  const fs::path out_dir = cfg.output_dir / "batch";
  const std::string src = manifest.string();

  // 1. Nothing runs while the profile is paused: the run ingests, lists
  //    every row (rejected ones too) and stops with the rows waiting.
  ASSERT_EQ(run_binary({"pause", "juhuo", "--config", cfg_arg}, dir.path).first, 0);
  EXPECT_EQ(run_binary({"run", src, "--config", cfg_arg}, dir.path).first, 1);  // rows were rejected
  auto records = by_source(read_jsonl(out_dir / "results.jsonl"));
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kRows + 2));
  EXPECT_EQ(records.at(src + ":2").at("state"), "pending");
  EXPECT_EQ(records.at(src + ":" + std::to_string(kRows + 2)).at("state"), "rejected");
  EXPECT_EQ(records.at(src + ":" + std::to_string(kRows + 3)).at("state"), "rejected");

  // 2. A cancel (no engine running) shows in the results at once.
  ASSERT_EQ(run_binary({"cancel", "row-5", "--config", cfg_arg}, dir.path).first, 0);
  records = by_source(read_jsonl(out_dir / "results.jsonl"));
  EXPECT_EQ(records.at(src + ":7").at("id"), "row-5");
  EXPECT_EQ(records.at(src + ":7").at("state"), "cancelled");

  // 3. Resume, kill a run mid-flight, run again to the end.
  ASSERT_EQ(run_binary({"resume", "juhuo", "--config", cfg_arg}, dir.path).first, 0);
  const pid_t pid = spawn_run(manifest, config);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(400ms);
  ::kill(pid, SIGKILL);
  wait_exit(pid, 30s);
  const auto [rc, summary] = run_binary({"run", src, "--config", cfg_arg}, dir.path);
  EXPECT_EQ(rc, 1) << summary;  // a cancelled row and rejected rows
  EXPECT_NE(summary.find("credits spent by this run: "), std::string::npos) << summary;
  EXPECT_NE(summary.find("juhuo credits"), std::string::npos) << summary;

  SqliteJobStore store(cfg.storage_path);
  const auto jsonl = read_jsonl(out_dir / "results.jsonl");
  records = by_source(jsonl);
  ASSERT_EQ(jsonl.size(), static_cast<std::size_t>(kRows + 2));
  int succeeded = 0;
  for (const auto& j : all_jobs(store)) {
    const auto& r = records.at(j.file + ":" + std::to_string(j.line));
    EXPECT_EQ(r.at("id"), json::value(j.key));
    EXPECT_EQ(r.at("state"), json::value(to_string(j.state)));
    if (j.state != JobState::succeeded) continue;
    ++succeeded;
    EXPECT_EQ(r.at("sha256"), json::value(j.sha256));
    EXPECT_EQ(r.at("video"), json::value(j.output_path));
    EXPECT_TRUE(fs::exists(std::string(r.at("video").as_string())));
    EXPECT_TRUE(r.at("cover").is_string());
    EXPECT_TRUE(r.at("remote_task_id").is_string());
    EXPECT_TRUE(r.at("submitted_at").is_string());
    EXPECT_TRUE(r.at("downloaded_at").is_string());
    EXPECT_TRUE(r.at("cost").is_number());
    EXPECT_EQ(r.at("cost_unit"), "juhuo credits");
    EXPECT_GE(r.at("attempts").as_int64(), 1);
    if (find_ffprobe()) {
      // The emulator serves one 2 s sample: rows that asked for more are flagged.
      EXPECT_NEAR(r.at("video_duration_s").as_double(), 2.0, 0.2);
      const bool longer = j.spec.duration_s && *j.spec.duration_s > 3;
      EXPECT_EQ(r.at("mismatch").is_string(), longer) << json::serialize(r);
    }
  }
  EXPECT_EQ(succeeded, kRows - 1);
  EXPECT_EQ(records.at(src + ":7").at("state"), "cancelled");

  // The CSV is the same records, read back with the manifest parser.
  const auto doc = parse_csv(read_file(out_dir / "results.csv"));
  EXPECT_TRUE(doc.errors.empty());
  ASSERT_EQ(doc.records.size(), jsonl.size() + 1);
  EXPECT_EQ(doc.records[0].fields, result_columns());
  const auto& cols = result_columns();
  const auto col = [&](const char* name) {
    return static_cast<std::size_t>(std::find(cols.begin(), cols.end(), name) - cols.begin());
  };
  for (std::size_t i = 1; i < doc.records.size(); ++i) {
    const auto& f = doc.records[i].fields;
    const auto& r = records.at(f[col("source")]);
    EXPECT_EQ(f[col("state")], r.at("state").as_string());
    if (r.at("prompt").is_string()) {
      EXPECT_EQ(f[col("prompt")], r.at("prompt").as_string());
    }
  }

  // `reelbatch report` over the same database: 30 rows, 29 succeeded.
  const auto [rrc, report] = run_binary({"report", "--json", "--config", cfg_arg}, dir.path);
  ASSERT_EQ(rrc, 0) << report;
  const auto groups = json::parse(report).as_object().at("groups").as_array();
  ASSERT_EQ(groups.size(), 2u);
  const auto& g = groups[0].as_object();
  EXPECT_EQ(g.at("key"), "juhuo");
  EXPECT_EQ(g.at("rows"), kRows);
  EXPECT_EQ(g.at("succeeded"), kRows - 1);
  EXPECT_EQ(g.at("cancelled"), 1);
  EXPECT_TRUE(g.at("generation_p50_s").is_number());
  EXPECT_TRUE(g.at("download_slack_p95_s").is_number());
}

}  // namespace
}  // namespace reelbatch
