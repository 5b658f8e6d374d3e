// HTTP/1.1 client on Boost.Beast with C++20 coroutines. Beast stays in the
// .cpp: this header pulls in only Asio's awaitable and executor types.
//
// Every operation has a deadline (HttpRequest::timeout) covering resolve,
// connect, TLS handshake, write and read. https uses OpenSSL with the
// system's CA store (plus or instead of NetOptions::ca_file / ca_dir) and
// host name verification. Requests go through an HTTP proxy when
// NetOptions::proxy or the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)
// says so: a CONNECT tunnel for https, absolute-form requests for http. A
// host that resolves to several addresses (IPv6 and IPv4) is tried address
// by address within the deadline.
#pragma once

#include "src/core/result.hpp"
#include "src/net/url.hpp"

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

namespace reelbatch {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// How a request reaches its origin: proxy and TLS trust. A provider
/// profile's `proxy`, `ca_file`, `ca_dir`, `ca_only` keys (config/config.hpp).
struct NetOptions {
  /// Proxy URL "http://[user:password@]host:port" (credentials
  /// percent-encoded; "host:port" alone means http://). "" connects
  /// directly; nullopt uses the client's environment (HTTPS_PROXY for https,
  /// HTTP_PROXY for http). NO_PROXY of the environment exempts hosts either
  /// way. Only http:// proxies are supported.
  std::optional<std::string> proxy;
  std::string ca_file;   ///< PEM file of trusted CAs; "" = none
  std::string ca_dir;    ///< OpenSSL hashed CA folder (c_rehash); "" = none
  bool ca_only = false;  ///< trust only ca_file / ca_dir, not the system store
};

struct HttpRequest {
  std::string method = "GET";  ///< "GET", "POST", "PUT", "DELETE", "HEAD"
  std::string url;             ///< absolute http:// or https:// URL
  HttpHeaders headers;         ///< sent as given (Host/Content-Length are added)
  std::string body;
  std::chrono::milliseconds timeout{30000};  ///< whole exchange
  std::uint64_t max_body_bytes = 64ull << 20;  ///< for async_request only
  NetOptions net;  ///< proxy and trust store for this request (defaults: environment, system store)
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
  /// `ex`: the executor all I/O runs on (the engine's io_context). The
  /// proxy environment is read now (proxy_env_from_process()).
  explicit HttpClient(boost::asio::any_io_executor ex);
  /// As above with an explicit proxy environment (tests; an embedding
  /// program that does not want the process environment: pass {}).
  HttpClient(boost::asio::any_io_executor ex, ProxyEnv proxy_env);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// The executor given at construction.
  boost::asio::any_io_executor get_executor() const;

  /// Performs one request and reads the whole response body (up to
  /// max_body_bytes). Never throws for network or HTTP errors: any status
  /// code is a successful HttpResponse; transport failures are a NetError
  /// whose message names the host (and the proxy, credentials redacted):
  /// bad_url, resolve, connect (every address tried, or a proxy refusing
  /// the tunnel), tls (with the X509 verification failure), send,
  /// receive, timeout, too_large. Follows no redirects.
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
