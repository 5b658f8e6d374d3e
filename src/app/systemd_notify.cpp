#include "src/app/systemd_notify.hpp"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <systemd/sd-daemon.h>

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <ctime>

namespace reelbatch::systemd {
namespace {

bool notify(const std::string& message) { return ::sd_notify(0, message.c_str()) > 0; }

// `<N>` before every message, by the message's level.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto p = priority_prefix(static_cast<int>(msg.level));
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

}  // namespace

bool ready() { return notify("READY=1"); }

bool status(std::string_view text) {
  std::string line(text);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return notify("STATUS=" + line);
}

bool stopping() { return notify("STOPPING=1"); }

bool reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
  return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool watchdog() { return notify("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
}

bool is_journal_stream(int fd) {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  const std::string_view v(env);
  const auto colon = v.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0, ino = 0;
  const auto r1 = std::from_chars(v.data(), v.data() + colon, dev);
  const auto r2 = std::from_chars(v.data() + colon + 1, v.data() + v.size(), ino);
  if (r1.ec != std::errc{} || r1.ptr != v.data() + colon || r2.ec != std::errc{} || r2.ptr != v.data() + v.size())
    return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string_view priority_prefix(int level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "<7>";  // SD_DEBUG
    case spdlog::level::info: return "<6>";   // SD_INFO
    case spdlog::level::warn: return "<4>";   // SD_WARNING
    case spdlog::level::err: return "<3>";    // SD_ERR
    case spdlog::level::critical: return "<2>";  // SD_CRIT
    default: return "<6>";
  }
}

std::unique_ptr<spdlog::formatter> journal_formatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<PriorityFlag>('J').set_pattern("%J" + pattern);
  return f;
}

bool use_journal_priorities_if_journal(spdlog::logger& logger, const std::string& pattern) {
  if (!is_journal_stream(2)) return false;
  logger.set_formatter(journal_formatter(pattern));
  return true;
}

}  // namespace reelbatch::systemd
