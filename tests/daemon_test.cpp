// `reelbatch daemon` end to end: the real emulator on an ephemeral loopback
// port (in this process), the real reelbatch binary as the daemon and as
// the CLI client (child processes), the admin API on a temp unix socket and
// a token-guarded loopback TCP port. Each test checks that no row was
// submitted twice (the emulator's record against the rows).
#include "config/config.hpp"
#include "providers/emulator/emulator.hpp"
#include "providers/registry.hpp"
#include "src/app/admin_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace reelbatch {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace reelbatch::it;  // TempDir, EmulatorThread, read_file, write_file

constexpr const char* kKey = "sk-daemontest0000000000000000000000";  // sk- + 32 alphanumerics
constexpr const char* kToken = "test-token-0123456789abcdef";

// `rows` rows with ids <prefix>-<i>; `bad_rows` more with an invalid duration.
fs::path write_manifest(const fs::path& dir, const std::string& name, int rows, int bad_rows = 0) {
  std::string csv = "id,prompt,duration,resolution\n";
  for (int i = 0; i < rows; ++i)
    csv += name + "-" + std::to_string(i) + ",\"" + name + " row " + std::to_string(i) + ": a fox in snow\",4,480\n";
  for (int i = 0; i < bad_rows; ++i) csv += name + "-bad-" + std::to_string(i) + ",\"bad row\",99,480\n";
  const fs::path p = dir / (name + ".csv");
  write_file(p, csv);
  return p;
}

struct ConfigOpts {
  int max_in_flight = 4;
  bool tcp = false;
  std::string stop_grace = "10s";
  std::string extra;  ///< appended TOML (e.g. [[watch]] tables)
};

fs::path write_config(const fs::path& dir, const std::string& base_url, const ConfigOpts& o) {
  const fs::path path = dir / "reelbatch.toml";
  std::string daemon = "[daemon]\nadmin_socket = \"state/admin.sock\"\nstop_grace = \"" + o.stop_grace + "\"\n";
  if (o.tcp) {
    write_file(dir / "token", std::string(kToken) + "\n");
    daemon += "http_listen = \"127.0.0.1:0\"\ntoken_file = \"token\"\n";
  }
  write_file(path, "[storage]\npath = \"state/reelbatch.db\"\n[output]\ndir = \"out\"\n" + daemon +
                       "[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"" + base_url +
                       "\"\napi_key_env = \"REELBATCH_DT_KEY\"\nmax_in_flight = " + std::to_string(o.max_in_flight) +
                       "\nsubmit_per_minute = 6000\npoll_per_minute = 60000\n"
                       "poll_first = \"50ms\"\npoll_interval = \"50ms\"\npoll_max_interval = \"200ms\"\n" + o.extra);
  return path;
}

pid_t spawn(const std::vector<std::string>& args, const fs::path& out_file) {
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, (out_file.string() + ".err").c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Exit code, -signal, or -1000 on timeout (then the child is killed).
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1000;
}

// The reelbatch binary as a CLI client: its exit code and stdout.
struct CliResult {
  int rc = 0;
  std::string out, err;
};

CliResult cli(const fs::path& dir, std::vector<std::string> args, std::chrono::seconds limit = 120s) {
  static int n = 0;
  const fs::path out = dir / ("cli-" + std::to_string(++n) + ".out");
  args.insert(args.begin(), REELBATCH_BINARY);
  const pid_t pid = spawn(args, out);
  CliResult r;
  r.rc = wait_exit(pid, limit);
  r.out = read_file(out);
  r.err = read_file(out.string() + ".err");
  return r;
}

// The body as JSON; a body that is not JSON fails the test naming it.
json::value parse_body(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) ADD_FAILURE() << "not JSON (" << ec.message() << "): " << body;
  return v;
}

// The daemon as a child process.
struct DaemonProcess {
  fs::path dir, config, log;
  pid_t pid = -1;
  AdminAddress addr;
  unsigned short tcp_port = 0;

  DaemonProcess(const fs::path& d, const fs::path& cfg) : dir(d), config(cfg) { start(); }
  ~DaemonProcess() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
  }

  void start() {
    static int n = 0;
    log = dir / ("daemon-" + std::to_string(++n) + ".log");
    pid = spawn({REELBATCH_BINARY, "daemon", "--config", config.string()}, log);
    ASSERT_GT(pid, 0);
    addr.unix_path = (dir / "state" / "admin.sock").string();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_file(log.string() + ".err");
      int st = 0;
      ASSERT_NE(::waitpid(pid, &st, WNOHANG), pid) << "daemon exited: " << read_file(log.string() + ".err");
      try {
        if (admin_request(addr, "GET", "/healthz", {}, "application/json", 2s).status == 200) break;
      } catch (const AdminUnavailable&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    const std::string out = read_file(log);
    if (auto p = out.find("http://127.0.0.1:"); p != std::string::npos)
      tcp_port = static_cast<unsigned short>(std::stoi(out.substr(p + 17)));
  }

  int stop(int sig, std::chrono::milliseconds limit) {
    ::kill(pid, sig);
    const int rc = wait_exit(pid, limit);
    pid = -1;
    return rc;
  }

  json::value get(const std::string& target) {
    const auto r = admin_request(addr, "GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return parse_body(r.body);
  }
  AdminReply post(const std::string& target, const std::string& body = "{}") {
    return admin_request(addr, "POST", target, body);
  }
};

json::object batch_of(DaemonProcess& d, std::int64_t id) {
  return d.get("/v1/batches/" + std::to_string(id)).as_object()["batch"].as_object();
}

json::object profile_of(DaemonProcess& d, const std::string& name) {
  json::value all = d.get("/v1/profiles");  // kept alive: the loop walks into it
  for (auto& p : all.as_object()["profiles"].as_array())
    if (p.as_object()["name"].as_string() == name) return p.as_object();
  ADD_FAILURE() << "no profile " << name;
  return {};
}

std::int64_t count(const json::object& batch, const char* state) {
  const auto& c = batch.at("counts").as_object();
  const auto* v = c.if_contains(state);
  return v ? v->as_int64() : 0;
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// Every prompt submitted at most once; returns how many distinct ones.
std::size_t check_no_double_submit(const emulator::Emulator& emu) {
  std::map<std::string, int> by_prompt;
  for (const auto& s : emu.submissions()) {
    const auto body = json::parse(s.body).as_object();
    ++by_prompt[std::string(body.at("prompt").as_string())];
  }
  for (const auto& [prompt, n] : by_prompt) EXPECT_EQ(n, 1) << "submitted " << n << " times: " << prompt;
  return by_prompt.size();
}

std::int64_t submit_path(DaemonProcess& d, const fs::path& manifest) {
  const auto r = d.post("/v1/batches", json::serialize(json::object{{"path", manifest.string()}}));
  EXPECT_EQ(r.status, 201) << r.body;
  return parse_body(r.body).as_object()["batch_id"].as_int64();
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("REELBATCH_DT_KEY", kKey, 1); }
};

TEST_F(DaemonTest, SubmitWaitExitCodes) {
  emulator::Options eo;
  eo.time_scale = 0.005;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto config = write_config(dir.path, emu.base_url(), {});
  DaemonProcess d(dir.path, config);

  // All rows succeed: 0, the batch id and a summary on stdout.
  const auto good = write_manifest(dir.path, "good", 4);
  auto r = cli(dir.path, {"submit", good.string(), "--wait", "-q", "--config", config.string()});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("batch 1 good.csv: 4 new"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("succeeded 4"), std::string::npos) << r.out;

  // A row rejected at ingest: 1, the error names file:line.
  const auto bad = write_manifest(dir.path, "bad", 2, 1);
  r = cli(dir.path, {"submit", bad.string(), "--wait", "--config", config.string(), "-q"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("bad.csv:4: duration"), std::string::npos) << r.err;

  // A paused profile: the rows wait, 3.
  r = cli(dir.path, {"pause", "juhuo", "--config", config.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  const auto later = write_manifest(dir.path, "later", 3);
  r = cli(dir.path, {"submit", later.string(), "--wait", "--json", "--config", config.string()});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;
  const auto j = json::parse(r.out).as_object();
  EXPECT_EQ(j.at("exit_code").as_int64(), 3);
  EXPECT_EQ(j.at("batches").as_array().at(0).as_object().at("waiting").as_int64(), 3);

  // Resumed: the same batch finishes; status reads through the daemon.
  r = cli(dir.path, {"resume", "juhuo", "--config", config.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = cli(dir.path, {"submit", later.string(), "--wait", "-q", "--config", config.string()});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  r = cli(dir.path, {"status", "--json", "--config", config.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto st = json::parse(r.out).as_object();
  EXPECT_TRUE(st.at("daemon").is_string());
  EXPECT_EQ(st.at("batches").as_array().size(), 3u);
  EXPECT_EQ(check_no_double_submit(emu.emu), 9u);

  // `run` refuses while the daemon holds the database.
  r = cli(dir.path, {"run", good.string(), "--config", config.string()});
  EXPECT_EQ(r.rc, 4) << r.err;
  EXPECT_EQ(d.stop(SIGTERM, 15s), 0);
}

TEST_F(DaemonTest, CancelRetryPauseResumeThroughTheApi) {
  emulator::Options eo;
  eo.time_scale = 0.005;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto config = write_config(dir.path, emu.base_url(), {});
  DaemonProcess d(dir.path, config);

  // Paused: nothing is submitted.
  ASSERT_EQ(d.post("/v1/profiles/juhuo/pause").status, 200);
  EXPECT_EQ(d.post("/v1/profiles/nosuch/pause").status, 404);
  const auto id = submit_path(d, write_manifest(dir.path, "ctl", 4));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(emu.emu.submissions().size(), 0u);
  auto p = profile_of(d, "juhuo");
  EXPECT_TRUE(p.at("paused").as_bool());
  EXPECT_EQ(p.at("pending").as_int64(), 4);
  auto b = batch_of(d, id);
  EXPECT_EQ(b.at("waiting").as_int64(), 4);
  EXPECT_TRUE(b.at("settled").as_bool());

  // Cancel one row while it waits, retry brings it back.
  auto r = d.post("/v1/jobs/ctl-0/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_body(r.body).as_object()["state"].as_string(), "cancelled");
  EXPECT_EQ(d.post("/v1/jobs/ctl-0/cancel").status, 409);  // already finished
  EXPECT_EQ(d.post("/v1/jobs/nosuch/cancel").status, 404);
  r = d.post("/v1/jobs/ctl-1/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  r = d.post("/v1/jobs/ctl-1/retry");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_body(r.body).as_object()["state"].as_string(), "pending");

  // Resumed: the three live rows run, the cancelled one does not.
  ASSERT_EQ(d.post("/v1/profiles/juhuo/resume").status, 200);
  ASSERT_TRUE(wait_until([&] { return batch_of(d, id).at("settled").as_bool(); }, 60s));
  b = batch_of(d, id);
  EXPECT_EQ(count(b, "succeeded"), 3);
  EXPECT_EQ(count(b, "cancelled"), 1);
  EXPECT_EQ(check_no_double_submit(emu.emu), 3u);
  // The cancelled row's history is there; retry the batch runs it.
  auto job = d.get("/v1/jobs/ctl-0").as_object();
  EXPECT_EQ(job["job"].as_object()["state"].as_string(), "cancelled");
  EXPECT_GE(job["events"].as_array().size(), 2u);
  r = d.post("/v1/batches/" + std::to_string(id) + "/retry");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_body(r.body).as_object()["changed"].as_int64(), 1);
  ASSERT_TRUE(wait_until([&] { return count(batch_of(d, id), "succeeded") == 4; }, 60s));
  EXPECT_EQ(check_no_double_submit(emu.emu), 4u);

  // Paging through /v1/jobs.
  auto page = d.get("/v1/jobs?batch=" + std::to_string(id) + "&limit=3").as_object();
  EXPECT_EQ(page["jobs"].as_array().size(), 3u);
  ASSERT_TRUE(page["next_cursor"].is_string());
  page = d.get("/v1/jobs?batch=" + std::to_string(id) + "&limit=3&cursor=" +
               std::string(page["next_cursor"].as_string()))
             .as_object();
  EXPECT_EQ(page["jobs"].as_array().size(), 1u);
  EXPECT_TRUE(page["next_cursor"].is_null());

  // A batch cancelled mid-run: no row of it is submitted afterwards.
  ASSERT_EQ(d.post("/v1/profiles/juhuo/pause").status, 200);
  const auto id2 = submit_path(d, write_manifest(dir.path, "stopme", 5));
  r = d.post("/v1/batches/stopme/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_body(r.body).as_object()["changed"].as_int64(), 5);
  ASSERT_EQ(d.post("/v1/profiles/juhuo/resume").status, 200);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count(batch_of(d, id2), "cancelled"), 5);
  EXPECT_EQ(emu.emu.submissions().size(), 4u);
  EXPECT_EQ(d.stop(SIGTERM, 15s), 0);
}

TEST_F(DaemonTest, TcpNeedsTheTokenAndBadRequestsAreAnswered) {
  emulator::Options eo;
  eo.time_scale = 0.005;
  EmulatorThread emu(eo);
  TempDir dir;
  ConfigOpts co;
  co.tcp = true;
  const auto config = write_config(dir.path, emu.base_url(), co);
  DaemonProcess d(dir.path, config);
  ASSERT_GT(d.tcp_port, 0) << read_file(d.log);

  AdminAddress tcp;
  tcp.host = "127.0.0.1";
  tcp.port = d.tcp_port;
  auto r = admin_request(tcp, "GET", "/v1/batches");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("\"code\":\"unauthorized\""), std::string::npos) << r.body;
  tcp.token = "wrong-token-0123456789abcdef";
  EXPECT_EQ(admin_request(tcp, "GET", "/healthz").status, 401);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/profiles/juhuo/pause").status, 401);
  tcp.token = kToken;
  EXPECT_EQ(admin_request(tcp, "GET", "/v1/batches").status, 200);
  EXPECT_EQ(profile_of(d, "juhuo").at("paused").as_bool(), false);  // the refused pause did nothing

  // Malformed, unknown, wrong method, too large: JSON errors, the daemon lives.
  r = admin_request(tcp, "POST", "/v1/batches", "{not json");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/batches", "[1,2]").status, 400);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/batches", R"({"path":"relative.csv"})").status, 400);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/batches", R"({"path":"/nonexistent/x.csv"})").status, 400);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/batches?format=xml", "a,b").status, 400);
  EXPECT_EQ(admin_request(tcp, "GET", "/v1/jobs?state=exploded").status, 400);
  EXPECT_EQ(admin_request(tcp, "GET", "/v1/jobs?limit=abc").status, 400);
  EXPECT_EQ(admin_request(tcp, "GET", "/v1/nothing").status, 404);
  r = admin_request(tcp, "DELETE", "/v1/batches");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/profiles/juhuo/pause", std::string(100 << 10, 'x')).status, 413);
  EXPECT_EQ(admin_request(tcp, "POST", "/v1/batches?format=csv", std::string(17 << 20, 'x')).status, 413);
  EXPECT_EQ(admin_request(tcp, "GET", "/healthz").status, 200);

  // A manifest body over TCP is stored and run; the same body again adds nothing.
  const std::string csv = "id,prompt,duration,resolution\nup-1,\"uploaded row\",4,480\n";
  r = admin_request(tcp, "POST", "/v1/batches?format=csv&name=uploaded", csv, "text/csv");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = parse_body(r.body).as_object()["batch_id"].as_int64();
  r = admin_request(tcp, "POST", "/v1/batches?format=csv&name=uploaded", csv, "text/csv");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(parse_body(r.body).as_object()["added"].as_int64(), 0);
  ASSERT_TRUE(wait_until([&] { return count(batch_of(d, id), "succeeded") == 1; }, 60s));

  // The CLI over TCP via REELBATCH_ADDR / REELBATCH_TOKEN.
  ::setenv("REELBATCH_ADDR", ("http://127.0.0.1:" + std::to_string(d.tcp_port)).c_str(), 1);
  ::setenv("REELBATCH_TOKEN", kToken, 1);
  auto c = cli(dir.path, {"jobs", "--json", "--config", config.string()});
  ::unsetenv("REELBATCH_ADDR");
  ::unsetenv("REELBATCH_TOKEN");
  EXPECT_EQ(c.rc, 0) << c.err;
  EXPECT_EQ(json::parse(c.out).as_object()["jobs"].as_array().size(), 1u);

  // A second daemon on the same socket is refused; the first keeps serving.
  const auto second = cli(dir.path, {"daemon", "--config", config.string()}, 30s);
  EXPECT_EQ(second.rc, 2) << second.err;
  EXPECT_NE(second.err.find("already listening"), std::string::npos) << second.err;
  EXPECT_EQ(admin_request(tcp, "GET", "/healthz").status, 200);
  EXPECT_EQ(d.stop(SIGTERM, 15s), 0);
}

TEST_F(DaemonTest, SighupChangesMaxInFlightWithoutLosingTasks) {
  emulator::Options eo;
  eo.time_scale = 0.02;  // ~1.1 s per task
  eo.juhuo_concurrency = 8;
  EmulatorThread emu(eo);
  TempDir dir;
  ConfigOpts co;
  co.max_in_flight = 1;
  const auto config = write_config(dir.path, emu.base_url(), co);
  DaemonProcess d(dir.path, config);
  const auto id = submit_path(d, write_manifest(dir.path, "hup", 8));

  // One at a time.
  int max_seen = 0;
  for (int i = 0; i < 20; ++i) {
    max_seen = std::max<int>(max_seen, static_cast<int>(profile_of(d, "juhuo").at("in_flight").as_int64()));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(max_seen, 1);
  ASSERT_GE(emu.emu.submissions().size(), 1u);

  co.max_in_flight = 4;
  write_config(dir.path, emu.base_url(), co);
  ::kill(d.pid, SIGHUP);
  ASSERT_TRUE(wait_until([&] { return profile_of(d, "juhuo").at("max_in_flight").as_int64() == 4; }, 10s));
  max_seen = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        max_seen = std::max<int>(max_seen, static_cast<int>(profile_of(d, "juhuo").at("in_flight").as_int64()));
        return max_seen > 1;
      },
      20s));
  ASSERT_TRUE(wait_until([&] { return count(batch_of(d, id), "succeeded") == 8; }, 90s));
  EXPECT_EQ(check_no_double_submit(emu.emu), 8u);
  EXPECT_EQ(emu.emu.submissions().size(), 8u);

  // A config that does not load is logged; the old one stays.
  write_file(config, "this is not toml [");
  ::kill(d.pid, SIGHUP);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(profile_of(d, "juhuo").at("max_in_flight").as_int64(), 4);
  EXPECT_NE(read_file(d.log.string() + ".err").find("reload failed"), std::string::npos);
  EXPECT_EQ(d.stop(SIGTERM, 15s), 0);
}

TEST_F(DaemonTest, KilledDaemonRestartsWithoutLossOrDoublePay) {
  emulator::Options eo;
  eo.time_scale = 0.01;
  eo.juhuo_concurrency = 4;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto config = write_config(dir.path, emu.base_url(), {});
  constexpr int kRows = 20;
  std::int64_t id = 0;
  {
    DaemonProcess d(dir.path, config);
    id = submit_path(d, write_manifest(dir.path, "kill", kRows));
    ASSERT_TRUE(wait_until([&] { return emu.emu.submissions().size() >= 6; }, 60s));
    EXPECT_EQ(d.stop(SIGKILL, 10s), -SIGKILL);
  }
  DaemonProcess d(dir.path, config);  // the stale socket file is replaced
  ASSERT_TRUE(wait_until([&] { return count(batch_of(d, id), "succeeded") == kRows; }, 120s))
      << json::serialize(batch_of(d, id));
  EXPECT_EQ(check_no_double_submit(emu.emu), static_cast<std::size_t>(kRows));
  EXPECT_EQ(emu.emu.submissions().size(), static_cast<std::size_t>(kRows));
  // Every row's task is one the emulator created, every file is there.
  std::set<std::string> tasks;
  for (const auto& s : emu.emu.submissions()) tasks.insert(s.task_id);
  const auto jobs = d.get("/v1/jobs?batch=" + std::to_string(id)).as_object()["jobs"].as_array();
  ASSERT_EQ(jobs.size(), static_cast<std::size_t>(kRows));
  for (const auto& jv : jobs) {
    const auto& j = jv.as_object();
    EXPECT_TRUE(tasks.count(std::string(j.at("remote_id").as_string()))) << j.at("key").as_string();
    EXPECT_TRUE(fs::exists(std::string(j.at("output_path").as_string())));
  }
  EXPECT_EQ(d.stop(SIGTERM, 15s), 0);
}

TEST_F(DaemonTest, SigtermStopsWithinTheGrace) {
  emulator::Options eo;
  eo.time_scale = 0.05;  // tasks run for seconds: the stop finds them in flight
  EmulatorThread emu(eo);
  TempDir dir;
  ConfigOpts co;
  co.stop_grace = "3s";
  const auto config = write_config(dir.path, emu.base_url(), co);
  DaemonProcess d(dir.path, config);
  submit_path(d, write_manifest(dir.path, "busy", 6));
  ASSERT_TRUE(wait_until([&] { return emu.emu.submissions().size() >= 2; }, 30s));

  // An events stream open across the stop does not hold it up.
  AdminAddress a = d.addr;
  std::thread sse([a] {
    try {
      admin_request(a, "GET", "/v1/events", {}, "application/json", 20s);
    } catch (const AdminUnavailable&) {
    }
  });
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(d.stop(SIGTERM, 10s), 0);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 3500ms);
  sse.join();
  EXPECT_FALSE(fs::exists(dir.path / "state" / "admin.sock"));

  // Restarted: the rows in flight are polled, not submitted again.
  const auto before = emu.emu.submissions().size();
  DaemonProcess again(dir.path, config);
  ASSERT_TRUE(wait_until([&] { return count(batch_of(again, 1), "succeeded") == 6; }, 120s));
  EXPECT_GE(emu.emu.submissions().size(), before);
  EXPECT_EQ(check_no_double_submit(emu.emu), 6u);
  EXPECT_EQ(again.stop(SIGINT, 15s), 0);
}

// Reads a server-sent-events stream from a unix socket until `done(text)`
// or `limit`; returns everything read (headers included).
template <class Done>
std::string read_events(const std::string& socket_path, const std::string& request, Done done,
                        std::chrono::milliseconds limit) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return {};
  }
  (void)!::write(fd, request.data(), request.size());
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline && !done(text)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

TEST_F(DaemonTest, EventsStreamStateChanges) {
  emulator::Options eo;
  eo.time_scale = 0.005;
  EmulatorThread emu(eo);
  TempDir dir;
  const auto config = write_config(dir.path, emu.base_url(), {});
  DaemonProcess d(dir.path, config);
  ASSERT_EQ(d.post("/v1/profiles/juhuo/pause").status, 200);
  const auto id = submit_path(d, write_manifest(dir.path, "ev", 2));

  // Live: the stream opened now sees both rows go to succeeded.
  std::string live;
  std::thread reader([&] {
    live = read_events(d.addr.unix_path, "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n",
                       [](const std::string& t) {
                         std::size_t n = 0;
                         for (auto p = t.find("\"to\":\"succeeded\""); p != std::string::npos;
                              p = t.find("\"to\":\"succeeded\"", p + 1))
                           ++n;
                         return n >= 2;
                       },
                       60s);
  });
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(d.post("/v1/profiles/juhuo/resume").status, 200);
  reader.join();
  EXPECT_EQ(live.rfind("HTTP/1.1 200", 0), 0u) << live;
  EXPECT_NE(live.find("Content-Type: text/event-stream"), std::string::npos) << live;
  EXPECT_NE(live.find("\"job_key\":\"ev-0\""), std::string::npos) << live;
  EXPECT_NE(live.find("\"job_key\":\"ev-1\""), std::string::npos) << live;
  EXPECT_EQ(live.find("\"to\":\"pending\",\"job_key\":\"ev-0\""), std::string::npos)
      << "ingest happened before the stream opened";

  // Resumed after an id: only what came later.
  const auto first_id = live.find("id: ");
  ASSERT_NE(first_id, std::string::npos);
  const std::string id_text = live.substr(first_id + 4, live.find('\n', first_id) - first_id - 4);
  const std::string replay = read_events(
      d.addr.unix_path, "GET /v1/events?batch=" + std::to_string(id) + " HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " +
                            id_text + "\r\n\r\n",
      [](const std::string& t) { return t.find("\"to\":\"succeeded\"") != std::string::npos &&
                                        t.rfind("\"to\":\"succeeded\"") != t.find("\"to\":\"succeeded\""); },
      10s);
  EXPECT_EQ(replay.find("id: " + id_text + "\n"), std::string::npos) << replay;
  EXPECT_NE(replay.find("\"to\":\"succeeded\""), std::string::npos) << replay;
  EXPECT_EQ(d.stop(SIGTERM, 15s), 0);
}

// A manifest renamed into a watch folder runs once through the daemon and
// lands in done/ with its result file; a re-drop of the same content adds
// nothing; GET /metrics is Prometheus text that promtool accepts.
TEST_F(DaemonTest, WatchFolderFileRunsOnceAndMetricsPassPromtool) {
  emulator::Options eo;
  eo.time_scale = 0.005;
  EmulatorThread emu(eo);
  TempDir dir;
  fs::create_directories(dir.path / "inbox");
  ConfigOpts co;
  co.extra = "[[watch]]\npath = \"inbox\"\nsettle = \"200ms\"\n";
  const auto config = write_config(dir.path, emu.base_url(), co);
  DaemonProcess d(dir.path, config);

  const auto manifest = write_manifest(dir.path, "dropped", 3);
  fs::copy_file(manifest, dir.path / "inbox" / ".dropped.csv.tmp");
  fs::rename(dir.path / "inbox" / ".dropped.csv.tmp", dir.path / "inbox" / "dropped.csv");
  const fs::path done = dir.path / "inbox" / "done" / "dropped.csv";
  ASSERT_TRUE(wait_until([&] { return fs::exists(done); }, 60s)) << read_file(d.log);
  const auto result = parse_body(read_file(done.string() + ".result.json")).as_object();
  EXPECT_EQ(result.at("state").as_string(), "done");
  EXPECT_EQ(result.at("rows").as_int64(), 3);
  EXPECT_EQ(check_no_double_submit(emu.emu), 3u);

  // The same content again: recorded as a duplicate, nothing submitted.
  fs::copy_file(manifest, dir.path / "inbox" / ".again.tmp");
  fs::rename(dir.path / "inbox" / ".again.tmp", dir.path / "inbox" / "again.csv");
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir.path / "inbox" / "done" / "again.csv"); }, 60s));
  EXPECT_EQ(emu.emu.submissions().size(), 3u);

  const auto r = admin_request(d.addr, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("reelbatch_jobs{profile=\"juhuo\",state=\"succeeded\"} 3"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("reelbatch_requests_total{kind=\"submit\",outcome=\"ok\",profile=\"juhuo\"} 3"),
            std::string::npos)
      << r.body;
  if (::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool missing (Debian: prometheus)";
  write_file(dir.path / "scrape.txt", r.body);
  const std::string cmd = "promtool check metrics < '" + (dir.path / "scrape.txt").string() + "' > '" +
                          (dir.path / "promtool.out").string() + "' 2>&1";
  EXPECT_EQ(::system(cmd.c_str()), 0) << read_file(dir.path / "promtool.out");
}

}  // namespace
}  // namespace reelbatch
