// A small HTTP/1.1 server for the emulator, on Boost.Beast and C++20
// coroutines. Beast stays in the .cpp: handlers see plain Request/Response
// values.
//
// - keep-alive; every read and write has a deadline (tcp_stream::expires_after)
// - request bodies up to 64 MiB (413 beyond); "Expect: 100-continue" answered
// - HEAD: the handler answers as for GET, the server sends the headers
//   (Content-Length of the would-be body) without the body
// - each session is co_spawned with a completion handler that logs its
//   exception, so one bad session never stops the server
// - stop(): stops accepting and closes every open connection
//
// Threading: the server runs all its work on the executor given at
// construction (the emulator passes a strand). Call listen() and stop() on
// that executor, or while nothing runs it.
#pragma once

#include "src/core/text.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reelbatch::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`).
std::string percent_decode(std::string_view s, bool plus_is_space = false);

struct Request {
  std::string method;  ///< "GET", "POST", "PUT", "HEAD", ...
  std::string target;  ///< origin-form as received: path and query, not decoded
  Headers headers;
  std::string body;
  std::string local_endpoint;  ///< "127.0.0.1:PORT" the connection was accepted on

  /// First header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// The target's path (before '?'), not decoded.
  std::string_view path() const;
  /// The target's raw query (after '?'), or "".
  std::string_view query() const;
  /// First query parameter named `name`, percent-decoded; nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
  /// "host:port" for absolute URLs pointing back at this server: the Host
  /// header when it looks like a host name, else local_endpoint.
  std::string authority() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  /// Close the connection instead of answering (fault injection: the client
  /// cannot tell whether the request was processed).
  bool drop_connection = false;
  /// With drop_connection: close abortively (TCP RST, SO_LINGER 0) instead
  /// of an orderly FIN, as a crashed peer or middlebox does.
  bool reset_connection = false;
  /// Fault injection, ignored when 0: send the status line and headers
  /// (Content-Length of the whole body), then no body byte for this long,
  /// then close the connection.
  std::chrono::milliseconds stall_body{0};
  /// Fault injection, ignored when unset or >= body size: send the headers
  /// with the whole body's Content-Length but only this many body bytes,
  /// then close the connection (a truncated transfer).
  std::optional<std::size_t> truncate_body_at;

  Response() = default;
  Response(int s, std::string content_type, std::string b);
  Response& set(std::string name, std::string value);  ///< replaces a header
  std::string header(std::string_view name) const;
};

/// Answers one request. Called on the server's executor; must not block for long.
using Handler = std::function<Response(const Request&)>;

struct ServerLimits {
  std::uint64_t body_limit = 64ull << 20;
  std::chrono::milliseconds read_timeout{30000};   ///< per request, idle keep-alive included
  std::chrono::milliseconds write_timeout{30000};  ///< per response
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor ex, Handler handler, ServerLimits limits = {});
  ~HttpServer();  ///< stop()s; the handler is never called afterwards
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds host:port (port 0: ephemeral), starts accepting, returns the bound
  /// port. Throws std::system_error when the address can't be resolved or bound.
  unsigned short listen(const std::string& host, unsigned short port);
  /// Stops accepting and closes all connections. Idempotent.
  void stop();
  /// Open connections (for tests and logs).
  std::size_t sessions() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace reelbatch::net
