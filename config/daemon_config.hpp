// The `[daemon]` table (config/daemon_config.cpp): read by `reelbatch
// daemon` and by the CLI to find a running daemon. Kept apart from
// config.hpp's Config (which accepts and skips the table) so that the
// daemon's settings do not concern the engine or the adapters.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace reelbatch {

/// `[daemon]`.
struct DaemonConfig {
  /// Unix socket of the admin API. Default: $RUNTIME_DIRECTORY/admin.sock
  /// when RUNTIME_DIRECTORY is set (systemd's RuntimeDirectory=; the first
  /// of a ':'-separated list), else reelbatch.sock beside the database.
  /// Relative to the config file's folder.
  std::filesystem::path admin_socket;
  /// Optional loopback TCP listener "127.0.0.1:PORT" / "[::1]:PORT" of the
  /// admin API (requires a token); empty: none. Port 0: any free port.
  std::string http_listen;
  /// File holding the bearer token for http_listen (first line, trimmed).
  std::filesystem::path token_file;
  /// Or: the name of a systemd credential ($CREDENTIALS_DIRECTORY/<name>).
  std::string token_credential;
  /// How long SIGTERM waits for the engine to stop (default 10 s, at most 1 h).
  std::chrono::milliseconds stop_grace{10000};
  /// Log level set at start and on SIGHUP: trace, debug, info, warn, error;
  /// empty: the command line's (-v / -q).
  std::string log_level;
};

/// Parses the `[daemon]` table of TOML text. `source` names the file in
/// messages and anchors relative paths (its folder); `storage_path` (the
/// config's [storage] path) places the default socket; `env` gives
/// RUNTIME_DIRECTORY. A missing table gives the defaults. Throws
/// ConfigError ("file: daemon.key: reason") on a TOML syntax error, an
/// unknown key, a wrong type, a bad duration or log level, an http_listen
/// that is not a loopback HOST:PORT, an http_listen without token_file or
/// token_credential, or a token_credential that is a path.
DaemonConfig parse_daemon_config(std::string_view toml_text, const std::filesystem::path& source,
                                 const std::filesystem::path& storage_path, const EnvLookup& env = process_env());

/// parse_daemon_config of the file `cfg` was loaded from (cfg.source), with
/// cfg.storage_path. Throws ConfigError as above, and when the file cannot
/// be read.
DaemonConfig load_daemon_config(const Config& cfg, const EnvLookup& env = process_env());

/// Parses `[daemon] http_listen`: "HOST:PORT" or "[v6]:PORT" where HOST is a
/// loopback IP literal (127.0.0.0/8, ::1) and PORT 0..65535. Returns
/// {host, port}, or nullopt when malformed (an IPv6 host without brackets
/// included) or not loopback.
std::optional<std::pair<std::string, unsigned short>> parse_loopback_listen(const std::string& s);

}  // namespace reelbatch
