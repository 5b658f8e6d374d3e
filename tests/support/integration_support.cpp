#include "tests/support/integration_support.hpp"

#include "providers/registry.hpp"
#include "src/core/sha256.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

extern char** environ;

namespace reelbatch::it {
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const char* const kKey = "sk-integrationtest00000000000000000";  // sk- + 32 alphanumerics

TempDir::TempDir() {
  std::random_device rd;
  path = fs::temp_directory_path() / ("reelbatch-it-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path);
}

TempDir::~TempDir() {
  if (std::getenv("REELBATCH_KEEP_TMP") != nullptr) return;  // for debugging a failure
  std::error_code ec;
  fs::remove_all(path, ec);
}

EmulatorThread::EmulatorThread(emulator::Options opts) : emu(io.get_executor(), opts) {
  port = emu.listen("127.0.0.1", 0);
  thread = std::thread([this] { io.run(); });
}

EmulatorThread::~EmulatorThread() {
  asio::post(io, [this] {
    emu.stop();
    io.stop();
  });
  thread.join();
}

std::string EmulatorThread::base_url() const { return "http://127.0.0.1:" + std::to_string(port) + "/juhuo"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

std::string csv_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A manifest of `rows` rows with varied parameters; every 7th row references
// two local images (copied from examples/images) with <<<name>>>.
fs::path write_manifest(const fs::path& dir, int rows) {
  fs::create_directories(dir / "refs");
  const fs::path images = fs::path(REELBATCH_SOURCE_DIR) / "examples" / "images";
  fs::copy_file(images / "nebula.png", dir / "refs" / "nebula.png", fs::copy_options::overwrite_existing);
  fs::copy_file(images / "sunset.jpg", dir / "refs" / "sunset.jpg", fs::copy_options::overwrite_existing);
  const char* ratios[] = {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"};
  std::string csv = "id,prompt,duration,resolution,aspect_ratio,audio,images,priority\n";
  for (int i = 0; i < rows; ++i) {
    std::string prompt = "Row " + std::to_string(i) + ": a red fox trots through fresh snow, \"slow motion\"";
    std::string imgs;
    if (i % 7 == 3) {
      prompt = "Row " + std::to_string(i) + ": <<<Sky>>> 与 <<<Stars>>> 交融，镜头缓缓推进";
      imgs = "Sky=refs/sunset.jpg;Stars=refs/nebula.png";
    }
    csv += "row-" + std::to_string(i) + "," + csv_quote(prompt) + "," + std::to_string(4 + i % 12) + "," +
           (i % 2 ? "720p" : "480") + "," + ratios[i % 6] + "," + (i % 3 ? "true" : "false") + "," + imgs + "," +
           std::to_string(i % 5 == 0 ? 1 : 0) + "\n";
  }
  const fs::path path = dir / "batch.csv";
  write_file(path, csv);
  return path;
}

fs::path write_config(const fs::path& dir, const std::string& base_url, int max_in_flight,
                      const std::string& extra) {
  const fs::path path = dir / "reelbatch.toml";
  write_file(path, "[storage]\npath = \"state/reelbatch.db\"\n[output]\ndir = \"out\"\n"
                   "[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"" + base_url + "\"\n"
                   "api_key_env = \"REELBATCH_IT_KEY\"\nmax_in_flight = " + std::to_string(max_in_flight) + "\n"
                   "submit_per_minute = 6000\npoll_per_minute = 60000\n"
                   "poll_first = \"50ms\"\npoll_interval = \"50ms\"\npoll_max_interval = \"200ms\"\n" + extra);
  return path;
}

Config load_test_config(const fs::path& path) {
  return load_config(path, [](const std::string& name) -> std::optional<std::string> {
    if (name == "REELBATCH_IT_KEY") return std::string(kKey);
    return std::nullopt;
  });
}

// Every job of the store, in ingest order.
std::vector<JobRecord> all_jobs(const JobStore& store) {
  JobQuery q;
  q.limit = 10000;
  return store.jobs(q).jobs;
}

// The prompt a submission carried: `prompt`, else the text item of a
// `content` array (seedance2's native body).
std::string submitted_prompt(const emulator::Submission& s) {
  const auto body = json::parse(s.body).as_object();
  if (const auto* p = body.if_contains("prompt")) return std::string(p->as_string());
  if (const auto* c = body.if_contains("content"))
    for (const auto& item : c->as_array())
      if (const auto* t = item.as_object().if_contains("text")) return std::string(t->as_string());
  return {};
}

// Every job succeeded, its files match the emulator's record, and every
// row was submitted exactly once.
void verify_outputs(const JobStore& store, const std::vector<emulator::Submission>& subs, std::size_t rows) {
  std::map<std::string, const emulator::Submission*> by_task;
  std::map<std::string, int> by_prompt;
  for (const auto& s : subs) {
    EXPECT_TRUE(by_task.emplace(s.task_id, &s).second) << "task id reused: " << s.task_id;
    ++by_prompt[submitted_prompt(s)];
  }
  EXPECT_EQ(subs.size(), rows);
  for (const auto& [prompt, n] : by_prompt) EXPECT_EQ(n, 1) << "submitted " << n << " times: " << prompt;

  const auto jobs = all_jobs(store);
  ASSERT_EQ(jobs.size(), rows);
  for (const auto& j : jobs) {
    ASSERT_EQ(j.state, JobState::succeeded) << j.key << ": " << j.error_message;
    auto it = by_task.find(j.remote_id);
    ASSERT_NE(it, by_task.end()) << j.key << " has unknown task " << j.remote_id;
    const auto& sub = *it->second;
    EXPECT_EQ(submitted_prompt(sub), j.spec.prompt);
    ASSERT_TRUE(fs::exists(j.output_path)) << j.output_path;
    EXPECT_EQ(fs::file_size(j.output_path), sub.video_bytes);
    EXPECT_EQ(j.bytes, sub.video_bytes);
    EXPECT_EQ(sha256_file_hex(j.output_path), sub.video_sha256);
    EXPECT_EQ(j.sha256, sub.video_sha256);
    const fs::path stem = fs::path(j.output_path).replace_extension();
    // The emulator records the task's image output (a cover, or the last
    // frame for providers that return one) in the cover fields.
    fs::path cover = stem.string() + ".cover.jpg";
    if (!fs::exists(cover)) cover = stem.string() + ".last_frame.jpg";
    if (sub.cover_bytes > 0) {
      ASSERT_TRUE(fs::exists(cover)) << cover;
      EXPECT_EQ(sha256_file_hex(cover), sub.cover_sha256);
      EXPECT_EQ(fs::file_size(cover), sub.cover_bytes);
    }
    const auto sidecar = json::parse(read_file(stem.string() + ".json")).as_object();
    EXPECT_EQ(sidecar.at("remote_task_id").as_string(), j.remote_id);
    EXPECT_EQ(sidecar.at("video").as_object().at("sha256").as_string(), sub.video_sha256);
    EXPECT_FALSE(fs::exists(j.output_path + ".part"));
  }
}

// The real binary, killed with SIGKILL mid-run, then run again: every row
// finishes and none is submitted twice.
pid_t spawn_run(const fs::path& manifest, const fs::path& config) {
  std::vector<std::string> args = {REELBATCH_BINARY, "-q", "run", manifest.string(), "--config", config.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, REELBATCH_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int wait_exit(pid_t pid, std::chrono::seconds limit) {
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

}  // namespace reelbatch::it
