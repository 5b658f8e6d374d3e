// The CLI's client of a running daemon's admin API (src/app/admin_api.hpp):
// blocking HTTP/1.1 over the daemon's unix socket or its loopback TCP port.
// Beast stays in the .cpp.
#pragma once

#include "config/daemon_config.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace reelbatch {

/// Where a daemon listens.
struct AdminAddress {
  std::string unix_path;    ///< a unix socket, or empty for TCP
  std::string host;         ///< TCP: loopback host
  unsigned short port = 0;  ///< TCP port
  std::string token;        ///< TCP: bearer token (REELBATCH_TOKEN)
  /// "unix:/run/reelbatch/admin.sock" or "http://127.0.0.1:8787".
  std::string describe() const;
};

/// A transport failure (nothing listening, connection dropped, timeout).
class AdminUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses REELBATCH_ADDR: a socket path ("/run/reelbatch/admin.sock",
/// optionally "unix:" prefixed) or "http://HOST:PORT" with a loopback HOST.
/// Returns nullopt when malformed (or not loopback).
std::optional<AdminAddress> parse_admin_address(const std::string& text);

/// The daemon to talk to: REELBATCH_ADDR (+ REELBATCH_TOKEN) when set,
/// else the config's [daemon] admin_socket when a daemon accepts
/// connections on it. nullopt: no daemon (act on the database directly).
/// Throws ConfigError when REELBATCH_ADDR is set but malformed.
std::optional<AdminAddress> find_daemon(const DaemonConfig* cfg, const EnvLookup& env);

/// One answer from the daemon.
struct AdminReply {
  int status = 0;
  std::string body;
};

/// Sends one request and reads the whole answer (blocking, at most
/// `timeout`). `target` is the path and query ("/v1/jobs?state=failed").
/// Adds the bearer token for TCP. Throws AdminUnavailable on a transport
/// failure or timeout.
AdminReply admin_request(const AdminAddress& addr, const std::string& method, const std::string& target,
                         const std::string& body = {}, const std::string& content_type = "application/json",
                         std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace reelbatch
