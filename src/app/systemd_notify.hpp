// Running under systemd (issue 12, "systemd"): the sd_notify(3) protocol of
// a Type=notify service, its watchdog, and journald priorities on stderr.
// Every function is a no-op returning false (or nullopt) when the process was
// not started by systemd (no $NOTIFY_SOCKET, no $WATCHDOG_USEC, no
// $JOURNAL_STREAM), so the daemon calls them unconditionally. libsystemd only;
// no Asio.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class formatter;
class logger;
}  // namespace spdlog

namespace reelbatch::systemd {

/// Sends READY=1: start-up is done (config loaded, database open, engine
/// running, admin socket listening). systemd then considers the unit started
/// (Type=notify). Returns true when a notification socket took the message.
bool ready();

/// Sends STATUS=<text> (one line, shown by `systemctl status`; newlines
/// become spaces), e.g. "3 running, 12 pending, 40 succeeded, 1 failed".
/// Returns true when sent.
bool status(std::string_view text);

/// Sends STOPPING=1: a graceful stop began (SIGTERM/SIGINT). Returns true when sent.
bool stopping();

/// Sends RELOADING=1 with MONOTONIC_USEC=<CLOCK_MONOTONIC now, µs>, as
/// sd_notify(3) asks, when a reload (SIGHUP) begins; call ready() when it
/// ends (whether the new config loaded or the old one stays). Returns true
/// when sent.
bool reloading();

/// Sends WATCHDOG=1 (the service is alive). Call every watchdog_interval().
/// Returns true when sent.
bool watchdog();

/// How often to call watchdog(): half of the unit's WatchdogSec= (from
/// sd_watchdog_enabled(3): $WATCHDOG_USEC, for this pid per $WATCHDOG_PID),
/// in microseconds; nullopt when the watchdog is off (or the variables are
/// malformed).
std::optional<std::chrono::microseconds> watchdog_interval();

/// True when file descriptor `fd` is the stream connected to journald, as
/// sd-daemon(3) defines it: $JOURNAL_STREAM ("<device>:<inode>", decimal)
/// equals fstat(fd)'s st_dev:st_ino. False when unset, malformed or not
/// matching (output redirected by the user, a terminal).
bool is_journal_stream(int fd);

/// The journald priority prefix sd-daemon(3) defines for a spdlog level
/// (spdlog::level::level_enum as int): trace, debug "<7>"; info "<6>";
/// warn "<4>"; err "<3>"; critical "<2>"; anything else "<6>".
std::string_view priority_prefix(int spdlog_level);

/// A spdlog formatter writing `pattern` (spdlog pattern syntax) after the
/// level's priority_prefix(), so journald files each line with its
/// priority (`journalctl -p warning` works).
std::unique_ptr<spdlog::formatter> journal_formatter(const std::string& pattern);

/// When stderr is the journal stream (is_journal_stream(2)), gives `logger`
/// journal_formatter(pattern) (journald adds its own timestamp, so the
/// pattern usually has none) and returns true; otherwise leaves it and
/// returns false.
///
/// Why prefixes on stderr rather than spdlog's systemd_sink
/// (sd_journal_send): stderr under systemd is already the journal with the
/// unit's metadata, it needs no second logging path, keeps the exact same
/// output in the foreground and in tests, and lines written before the
/// logger is set up (or by libraries) still reach the journal in order.
bool use_journal_priorities_if_journal(spdlog::logger& logger, const std::string& pattern = "%v");

}  // namespace reelbatch::systemd
