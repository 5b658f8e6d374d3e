#include "tests/support/pg_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pqxx/pqxx>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace reelbatch::testing_support {
namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string random_hex(std::size_t n) {
  std::random_device rd;
  std::uniform_int_distribution<int> nibble(0, 15);
  std::string s(n, '0');
  for (auto& c : s) c = "0123456789abcdef"[nibble(rd)];
  return s;
}

// A port the kernel just handed out on 127.0.0.1 (free a moment ago).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  if (port == 0) throw std::runtime_error("no free loopback port");
  return port;
}

std::string tail_of(const fs::path& file, std::size_t max = 2000) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

struct Shared {
  std::unique_ptr<PgServer> server;
  bool tried = false;
  std::string why;
};

Shared& shared_state() {
  static Shared s;
  return s;
}

// Every binary linking this file: starts the server before the first test
// and stops it after the last. Skips every test where PostgreSQL is not
// installed ("skipped: ..." on stdout, which ctest reports as skipped);
// fails them all when it is installed but the server does not start.
class SharedServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (PgServer::shared()) return;
    if (!PgServer::find_bin_dir()) GTEST_SKIP() << "skipped: " << PgServer::why_unavailable();
    FAIL() << PgServer::why_unavailable();
  }
  void TearDown() override { PgServer::stop_shared(); }
};
[[maybe_unused]] ::testing::Environment* const kSharedServerEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedServerEnvironment);

}  // namespace

std::optional<fs::path> PgServer::find_bin_dir() {
  std::error_code ec;
  if (const char* dir = std::getenv("REELBATCH_TEST_PG_BIN"); dir && *dir) {
    const fs::path bin = dir;
    if (fs::exists(bin / "initdb", ec) && fs::exists(bin / "pg_ctl", ec)) return bin;
    return std::nullopt;
  }
  const fs::path root = "/usr/lib/postgresql";
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (fs::exists(e.path() / "bin" / "initdb") && fs::exists(e.path() / "bin" / "pg_ctl"))
      found.push_back(e.path() / "bin");
  if (found.empty()) return std::nullopt;
  // The newest major version (names are numbers: compare as numbers).
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.parent_path().filename().c_str()) < std::atoi(b.parent_path().filename().c_str());
  });
  return found.back();
}

PgServer::PgServer() {
  const auto bin = find_bin_dir();
  if (!bin) throw std::runtime_error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)");
  bin_ = *bin;
  password_ = random_hex(24);
  char tmpl[] = "/tmp/reelbatch-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (::geteuid() == 0) {  // initdb refuses root: the server runs as another account
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw) throw std::runtime_error("running as root and neither 'postgres' nor 'nobody' exists");
    run_as_ = pw->pw_name;
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + dir_.string());
  }
  const auto pwfile = dir_ / "pwfile";
  std::ofstream(pwfile) << password_ << "\n";
  if (!run_as_.empty()) {
    const passwd* pw = ::getpwnam(run_as_.c_str());
    if (::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + pwfile.string());
  }
  const std::string as = run_as_.empty() ? std::string() : "runuser -u " + quote(run_as_) + " -- ";
  const auto log = dir_ / "setup.log";
  const std::string initdb = as + quote((bin_ / "initdb").string()) + " -D " + quote((dir_ / "data").string()) +
                             " -U " + user_ + " --pwfile=" + quote(pwfile.string()) +
                             " -A scram-sha-256 --auth-local=trust -N -E UTF8 --locale=C > " + quote(log.string()) +
                             " 2>&1";
  if (std::system(initdb.c_str()) != 0)
    throw std::runtime_error("initdb failed (" + initdb + "):\n" + tail_of(log));
  fs::remove(pwfile);
  // The port was free a moment ago; another process may take it first: retry.
  for (int attempt = 0; attempt < 3 && !started_; ++attempt) {
    port_ = free_port();
    const std::string opts = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) + " -k " +
                             dir_.string() + " -c fsync=off -c full_page_writes=off -c synchronous_commit=off";
    const std::string start = as + quote((bin_ / "pg_ctl").string()) + " -D " + quote((dir_ / "data").string()) +
                              " -l " + quote((dir_ / "server.log").string()) + " -w -t 60 -o " + quote(opts) +
                              " start > " + quote(log.string()) + " 2>&1";
    started_ = std::system(start.c_str()) == 0;
  }
  if (!started_)
    throw std::runtime_error("pg_ctl start failed:\n" + tail_of(log) + "\n" + tail_of(dir_ / "server.log"));
}

PgServer::~PgServer() {
  if (started_) {
    const std::string as = run_as_.empty() ? std::string() : "runuser -u " + quote(run_as_) + " -- ";
    const std::string stop = as + quote((bin_ / "pg_ctl").string()) + " -D " + quote((dir_ / "data").string()) +
                             " -m immediate -w stop > /dev/null 2>&1";
    [[maybe_unused]] const int rc = std::system(stop.c_str());
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

PgServer* PgServer::shared() {
  auto& s = shared_state();
  if (!s.tried) {
    s.tried = true;
    if (!find_bin_dir()) {
      s.why = "PostgreSQL is not installed (no initdb and pg_ctl in /usr/lib/postgresql/*/bin or "
              "$REELBATCH_TEST_PG_BIN; apt-get install postgresql)";
    } else {
      try {
        s.server = std::make_unique<PgServer>();
      } catch (const std::exception& e) {
        s.why = std::string("the test PostgreSQL server did not start: ") + e.what();
      }
    }
  }
  return s.server.get();
}

const std::string& PgServer::why_unavailable() { return shared_state().why; }

void PgServer::stop_shared() { shared_state().server.reset(); }

std::string PgServer::url(const std::string& db) const {
  return "postgresql://" + user_ + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string PgServer::create_database() {
  const std::string name = "t" + std::to_string(++databases_);
  pqxx::connection c(url("postgres") + "?password=" + password_);
  pqxx::nontransaction tx(c);
  tx.exec0("CREATE DATABASE " + name + " TEMPLATE template0 STRATEGY FILE_COPY");
  return name;
}

}  // namespace reelbatch::testing_support
