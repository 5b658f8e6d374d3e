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

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

constexpr const char* kKey = "sk-integrationtest00000000000000000";  // sk- + 32 alphanumerics

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("reelbatch-it-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    if (std::getenv("REELBATCH_KEEP_TMP") != nullptr) return;  // for debugging a failure
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The emulator on its own thread and io_context, like a separate server.
struct EmulatorThread {
  asio::io_context io;
  emulator::Emulator emu;
  unsigned short port = 0;
  std::thread thread;

  explicit EmulatorThread(emulator::Options opts) : emu(io.get_executor(), opts) {
    port = emu.listen("127.0.0.1", 0);
    thread = std::thread([this] { io.run(); });
  }
  ~EmulatorThread() {
    asio::post(io, [this] { emu.stop(); io.stop(); });
    thread.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port) + "/juhuo"; }
};

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
                      const std::string& extra = "") {
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
