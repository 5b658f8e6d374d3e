// systemd integration pieces without systemd: sd_notify messages received on
// a datagram socket standing in for $NOTIFY_SOCKET, the watchdog interval
// from $WATCHDOG_USEC, journald priority prefixes and $JOURNAL_STREAM
// matching, and api_key_credential read from $CREDENTIALS_DIRECTORY.
#include "src/app/systemd_notify.hpp"

#include "config/config.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace reelbatch {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("reelbatch-systemd-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A bound AF_UNIX datagram socket exported as $NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& dir) : path_(dir / "notify.sock") {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "bind " << path_;
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  // The next datagram (waits at most 2 s), or "" when none came.
  std::string next() {
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

TEST(SystemdNotify, NoOpsOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_FALSE(systemd::ready());
  EXPECT_FALSE(systemd::status("idle"));
  EXPECT_FALSE(systemd::stopping());
  EXPECT_FALSE(systemd::reloading());
  EXPECT_FALSE(systemd::watchdog());
  EXPECT_FALSE(systemd::watchdog_interval().has_value());
}

TEST(SystemdNotify, SendsTheProtocolMessages) {
  const auto dir = temp_dir("notify");
  NotifySocket sock(dir);
  EXPECT_TRUE(systemd::ready());
  EXPECT_EQ(sock.next(), "READY=1");
  EXPECT_TRUE(systemd::status("2 running,\n5 pending"));
  EXPECT_EQ(sock.next(), "STATUS=2 running, 5 pending");
  EXPECT_TRUE(systemd::watchdog());
  EXPECT_EQ(sock.next(), "WATCHDOG=1");

  timespec before{};
  ::clock_gettime(CLOCK_MONOTONIC, &before);
  EXPECT_TRUE(systemd::reloading());
  const std::string reload = sock.next();
  ASSERT_EQ(reload.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << reload;
  const long long usec = std::stoll(reload.substr(reload.find('=', 12) + 1));
  const long long before_usec = before.tv_sec * 1000000LL + before.tv_nsec / 1000;
  EXPECT_GE(usec, before_usec);
  EXPECT_LT(usec, before_usec + 5'000'000);

  EXPECT_TRUE(systemd::stopping());
  EXPECT_EQ(sock.next(), "STOPPING=1");
  fs::remove_all(dir);
}

TEST(SystemdNotify, WatchdogIntervalIsHalfOfWatchdogSec) {
  ::setenv("WATCHDOG_USEC", "20000000", 1);  // WatchdogSec=20s
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(systemd::watchdog_interval(), std::chrono::microseconds(10'000'000));
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_FALSE(systemd::watchdog_interval().has_value());
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("WATCHDOG_USEC", "soon", 1);
  EXPECT_FALSE(systemd::watchdog_interval().has_value());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST(JournalPriorities, PrefixesByLevel) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger log("t", sink);
  log.set_level(spdlog::level::trace);
  log.set_formatter(systemd::journal_formatter("%v"));
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  log.critical("c");
  EXPECT_EQ(out.str(), "<7>d\n<6>i\n<4>w\n<3>e\n<2>c\n");
}

TEST(JournalPriorities, JournalStreamMatchesDeviceAndInode) {
  const auto dir = temp_dir("journal");
  const fs::path f = dir / "stream";
  std::ofstream(f) << "";
  const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::string match = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", match.c_str(), 1);
  EXPECT_TRUE(systemd::is_journal_stream(fd));
  EXPECT_FALSE(systemd::is_journal_stream(-1));
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
  EXPECT_FALSE(systemd::is_journal_stream(fd));  // stderr redirected elsewhere by the user
  ::setenv("JOURNAL_STREAM", (match + "x").c_str(), 1);
  EXPECT_FALSE(systemd::is_journal_stream(fd));
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(systemd::is_journal_stream(fd));
  ::close(fd);
  fs::remove_all(dir);
}

// ---- api_key_credential ($CREDENTIALS_DIRECTORY) ------------------------------------

const std::vector<std::string> kKinds{"juhuo", "seedance2"};

std::string profile_toml(const std::string& key_lines) {
  return "[providers.j]\nkind = \"juhuo\"\nbase_url = \"https://api.juhuo.cn\"\n" + key_lines;
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string error_of(const std::string& text, const EnvLookup& env) {
  try {
    parse_config_for_kinds(text, "/etc/reelbatch/reelbatch.toml", kKinds, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ApiKeyCredential, ReadsTheKeyFromTheCredentialsDirectory) {
  const auto dir = temp_dir("creds");
  std::ofstream(dir / "juhuo-key") << "  sk-from-credential\n";
  const Config cfg = parse_config_for_kinds(profile_toml("api_key_credential = \"juhuo-key\"\n"),
                                            "/etc/reelbatch/reelbatch.toml", kKinds,
                                            env_of({{"CREDENTIALS_DIRECTORY", dir.string()}}));
  const ProfileConfig& p = cfg.profiles.at("j");
  EXPECT_EQ(p.api_key, "sk-from-credential");
  EXPECT_EQ(p.api_key_credential, "juhuo-key");
  EXPECT_TRUE(p.api_key_env.empty());
  fs::remove_all(dir);
}

TEST(ApiKeyCredential, ErrorsNameTheKeyAndNeverTheSecret) {
  const auto dir = temp_dir("creds-bad");
  std::ofstream(dir / "blank") << " \n";
  const auto env = env_of({{"CREDENTIALS_DIRECTORY", dir.string()}, {"K", "sk-env"}});
  const std::string prefix = "/etc/reelbatch/reelbatch.toml: providers.j.";
  EXPECT_EQ(error_of(profile_toml("api_key_credential = \"missing\"\n"), env),
            prefix + "api_key_credential: cannot read credential " + (dir / "missing").string() +
                ": No such file or directory");
  EXPECT_EQ(error_of(profile_toml("api_key_credential = \"blank\"\n"), env),
            prefix + "api_key_credential: credential " + (dir / "blank").string() + " is empty");
  EXPECT_EQ(error_of(profile_toml("api_key_credential = \"../etc/passwd\"\n"), env),
            prefix + "api_key_credential: must be a credential name (a file name, no '/'), got '../etc/passwd'");
  EXPECT_EQ(error_of(profile_toml("api_key_credential = \"k\"\n"), env_of({})),
            prefix + "api_key_credential: CREDENTIALS_DIRECTORY is not set (run under systemd with "
                     "LoadCredential=k:... or LoadCredentialEncrypted=k)");
  EXPECT_EQ(error_of(profile_toml("api_key_credential = \"blank\"\napi_key_env = \"K\"\n"), env),
            prefix + "api_key_credential: set either api_key_env or api_key_credential, not both");
  EXPECT_EQ(error_of(profile_toml(""), env),
            prefix + "api_key_env: required (the name of the environment variable holding the API key), or "
                     "api_key_credential (a systemd credential's name)");
  // The environment variable path is unchanged.
  const Config cfg = parse_config_for_kinds(profile_toml("api_key_env = \"K\"\n"), "/x.toml", kKinds, env);
  EXPECT_EQ(cfg.profiles.at("j").api_key, "sk-env");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace reelbatch
