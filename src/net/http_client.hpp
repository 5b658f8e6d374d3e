// HTTP/1.1 client on Boost.Beast with C++20 coroutines. Beast stays in the
// .cpp: this header pulls in only Asio's awaitable and executor types.
//
// Every operation has a deadline (HttpRequest::timeout) covering resolve,
// connect, TLS handshake, write and read. https uses OpenSSL with the
// system's CA store and host name verification.
#pragma once

#include "src/core/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reelbatch {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  ///< "GET", "POST", "PUT", "DELETE", "HEAD"
  std::string url;             ///< absolute http:// or https:// URL
  HttpHeaders headers;         ///< sent as given (Host/Content-Length are added)
  std::string body;
  std::chrono::milliseconds timeout{30000};  ///< whole exchange
  std::uint64_t max_body_bytes = 64ull << 20;  ///< for async_request only
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  /// First header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
};

enum class NetErrc { bad_url, resolve, connect, tls, send, receive, timeout, too_large, sink };

/// A transport failure. `request_sent` is true when the request may have
/// reached the server (the failure happened after the write began): the
/// outcome of a non-idempotent request is then unknown.
struct NetError {
  NetErrc code = NetErrc::connect;
  bool request_sent = false;
  std::string message;
};

/// Receives body bytes of a streamed download, in order, with the response
/// status (200, or 206 for a Range answer). Returning false aborts the
/// transfer with NetErrc::sink.
using BodySink = std::function<bool(int status, std::string_view chunk)>;

class HttpClient {
 public:
  /// `ex`: the executor all I/O runs on (the engine's io_context).
  explicit HttpClient(boost::asio::any_io_executor ex);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// The executor given at construction.
  boost::asio::any_io_executor get_executor() const;

  /// Performs one request and reads the whole response body (up to
  /// max_body_bytes). Never throws for network or HTTP errors: any status
  /// code is a successful HttpResponse; transport failures are a NetError.
  boost::asio::awaitable<Result<HttpResponse, NetError>> async_request(HttpRequest req);

  /// Performs one request and streams the response body to `sink` in chunks
  /// of at most 64 KiB; the returned response has an empty body. The sink is
  /// only called for 2xx responses; other statuses return with their (small)
  /// body read into HttpResponse::body.
  boost::asio::awaitable<Result<HttpResponse, NetError>> async_download(HttpRequest req,
                                                                        BodySink sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelbatch
