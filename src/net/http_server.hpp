// A small HTTP/1.1 server (the emulator, the daemon's admin API), on
// Boost.Beast and C++20 coroutines, on a TCP port or a unix socket. Beast
// stays in the .cpp: handlers see plain Request/Response values.
//
// - keep-alive; every read and write has a deadline (tcp_stream::expires_after)
// - request bodies up to 64 MiB (413 beyond); "Expect: 100-continue" answered
// - HEAD: the handler answers as for GET, the server sends the headers
//   (Content-Length of the would-be body) without the body
// - each session is co_spawned with a completion handler that logs its
//   exception, so one bad session never stops the server
// - stop(): stops accepting and closes every open connection
// - streamed responses (server-sent events): Response::stream writes the
//   body piece by piece after the headers; the connection closes after it
//
// Threading: the server runs all its work on the executor given at
// construction (the emulator passes a strand). Call listen() and stop() on
// that executor, or while nothing runs it.
#pragma once

#include "src/core/text.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

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
  std::string local_endpoint;  ///< "127.0.0.1:PORT" the connection was accepted on; "unix:PATH" on a unix socket
  bool unix_socket = false;    ///< accepted on a unix socket (listen_unix)

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

/// The body writer a streamed response gets.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  /// Sends `data` now (each call is one write, flushed). Returns false when
  /// the client is gone, the write timed out, or the server stops: the
  /// stream function should then return.
  virtual boost::asio::awaitable<bool> write(std::string data) = 0;
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
  /// When set, the server sends the status and headers without a
  /// Content-Length (the body ends when the connection closes), then runs
  /// `stream` on the server's executor; `body` is ignored. For
  /// text/event-stream. The connection closes when it returns.
  std::function<boost::asio::awaitable<void>(BodyWriter&)> stream;

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
  /// port. Throws std::system_error when the address can't be resolved or
  /// bound; std::logic_error when already listening.
  unsigned short listen(const std::string& host, unsigned short port);
  /// Binds a unix stream socket at `path` with permission bits `mode`
  /// (e.g. 0660), starts accepting. A leftover socket file that nobody
  /// accepts on (a dead server's) is replaced; one where a server answers
  /// is refused. Requests from it have Request::unix_socket set. The file
  /// is removed by stop(). Throws std::system_error when the path exists as
  /// another kind of file, a live server owns it (errc::address_in_use), or
  /// bind/chmod/listen fail; std::logic_error when already listening.
  void listen_unix(const std::string& path, unsigned mode);
  /// Stops accepting and closes all connections. Idempotent.
  void stop();
  /// Open connections (for tests and logs).
  std::size_t sessions() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace reelbatch::net
