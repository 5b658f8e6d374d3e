// Issue 7, "Fault mix": the real `reelbatch run` binary against the real
// emulator on an ephemeral loopback port, time-compressed, with the juhuo
// module answering 10 % 5xx, 5 % 429, 2 % connection resets (half before,
// half after processing: the latter create their task), 1 % truncated
// downloads and 1 % malformed JSON. Every row must succeed, each row's
// prompt must have been submitted (paid) exactly once, and every output
// must be the bytes the emulator served for its task.
#include "providers/emulator/emulator.hpp"
#include "src/core/sha256.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace reelbatch {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace reelbatch::it;  // TempDir, EmulatorThread, write_file

constexpr const char* kKey = "sk-faultmixtest00000000000000000000";  // sk- + 32 alphanumerics
constexpr int kRows = 40;

std::string prompt_of(int i) { return "Fault mix row " + std::to_string(i) + ": a heron lifts off a misty lake"; }

int run_binary(const fs::path& manifest, const fs::path& config, const fs::path& log, std::chrono::seconds limit) {
  std::vector<std::string> args = {REELBATCH_BINARY, "run", manifest.string(), "--config", config.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, REELBATCH_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -2000;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1000;
}

TEST(FaultMix, EveryRowSucceedsAndNoRowIsPaidTwice) {
  emulator::Options eo;
  eo.time_scale = 0.004;
  eo.juhuo_concurrency = 8;
  eo.seed = 11;
  emulator::parse_fault_spec(
      "juhuo:5xx=0.10,429=0.05,reset_before=0.01,reset_after=0.01,truncate=0.01,malformed_json=0.01", eo.faults);
  EmulatorThread emu(eo);
  TempDir dir;

  std::string csv = "id,prompt,duration,resolution\n";
  for (int i = 0; i < kRows; ++i) csv += "row-" + std::to_string(i) + ",\"" + prompt_of(i) + "\",4,480\n";
  const fs::path manifest = dir.path / "mix.csv";
  write_file(manifest, csv);
  const fs::path config = dir.path / "reelbatch.toml";
  write_file(config, "[storage]\npath = \"state/reelbatch.db\"\n[output]\ndir = \"out\"\n"
                     "[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"http://127.0.0.1:" +
                         std::to_string(emu.port) +
                         "/juhuo\"\napi_key_env = \"REELBATCH_MIX_KEY\"\nmax_in_flight = 8\n"
                         "submit_per_minute = 6000\npoll_per_minute = 60000\nrequest_timeout = \"2s\"\n"
                         "poll_first = \"50ms\"\npoll_interval = \"50ms\"\npoll_max_interval = \"200ms\"\n");
  ::setenv("REELBATCH_MIX_KEY", kKey, 1);

  const auto t0 = std::chrono::steady_clock::now();
  const int rc = run_binary(manifest, config, dir.path / "run.log", 150s);
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::ifstream logf(dir.path / "run.log");
  std::stringstream log;
  log << logf.rdbuf();
  EXPECT_EQ(rc, 0) << log.str().substr(0, 4000);

  // What the emulator injected (the mix really happened).
  std::size_t injected = 0;
  for (auto k : {emulator::FaultKind::http_5xx, emulator::FaultKind::http_429, emulator::FaultKind::reset_before,
                 emulator::FaultKind::reset_after, emulator::FaultKind::truncate, emulator::FaultKind::malformed_json})
    injected += emu.emu.faults_injected("juhuo", k);
  EXPECT_GT(injected, 5u);

  // Paid at most once per row: submissions (created tasks) by prompt.
  const auto subs = emu.emu.submissions();
  std::map<std::string, int> by_prompt;
  std::map<std::string, const emulator::Submission*> by_task;
  for (const auto& s : subs) {
    ++by_prompt[std::string(json::parse(s.body).at("prompt").as_string())];
    by_task.emplace(s.task_id, &s);
  }
  for (const auto& [prompt, n] : by_prompt) EXPECT_EQ(n, 1) << "created " << n << " tasks: " << prompt;
  EXPECT_EQ(subs.size(), static_cast<std::size_t>(kRows));

  // Every row succeeded with the bytes its task served.
  SqliteJobStore store(dir.path / "state" / "reelbatch.db");
  JobQuery q;
  q.limit = 10000;
  const auto jobs = store.jobs(q).jobs;
  ASSERT_EQ(jobs.size(), static_cast<std::size_t>(kRows));
  int ok = 0;
  for (const auto& j : jobs) {
    EXPECT_EQ(j.state, JobState::succeeded) << j.key << ": " << j.error_message;
    if (j.state != JobState::succeeded) continue;
    auto it = by_task.find(j.remote_id);
    ASSERT_NE(it, by_task.end()) << j.key << " has unknown task " << j.remote_id;
    EXPECT_EQ(sha256_file_hex(j.output_path), it->second->video_sha256) << j.key;
    EXPECT_EQ(fs::file_size(j.output_path), it->second->video_bytes) << j.key;
    ++ok;
  }
  std::printf("fault mix: %d/%d rows succeeded, %zu tasks created, %zu faults injected, wall %lld ms\n", ok, kRows,
              subs.size(), injected, static_cast<long long>(wall.count()));
}

}  // namespace
}  // namespace reelbatch
