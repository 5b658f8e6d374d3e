// Opening a connected, TLS-ready stream to an origin: name resolution,
// connecting to each resolved address in turn within one deadline, an HTTP
// proxy (CONNECT tunnel for https, absolute-form for http) and TLS with a
// chosen trust store. The HTTP client (http_client.cpp) sends one exchange
// over it; a keep-alive pool can keep the Connection and reuse it.
//
// This header pulls in Beast and Asio SSL: include it only from .cpp files
// (src/net/), never from a widely included header.
#pragma once

#include "src/core/result.hpp"
#include "src/net/http_client.hpp"
#include "src/net/url.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace reelbatch::net_detail {

/// TLS client contexts, one per trust store (ca_file, ca_dir, ca_only),
/// created on first use and kept: building a context reads the CA files.
/// Thread-safe.
class TlsContexts {
 public:
  /// The context for `opts`: peer verification on; trusting the system's
  /// default store plus opts.ca_file / opts.ca_dir, or only those when
  /// opts.ca_only. Errors (NetErrc::tls): a ca_file or ca_dir that OpenSSL
  /// cannot load, named with OpenSSL's reason; ca_only without a file or dir.
  Result<boost::asio::ssl::context*, NetError> get(const NetOptions& opts);

 private:
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, bool>, std::unique_ptr<boost::asio::ssl::context>> ctx_;
};

/// A connected stream to an origin, ready for HTTP/1.1: plain TCP, or TLS
/// (handshake done, certificate and host name verified), possibly through a
/// proxy.
class Connection {
 public:
  explicit Connection(boost::beast::tcp_stream tcp);
  Connection(Connection&&) = delete;

  /// True when the stream is TLS (an https origin).
  bool tls() const { return tls_ != nullptr; }
  /// The TCP stream at the bottom (for deadlines: expires_after).
  boost::beast::tcp_stream& lowest();
  /// The TLS stream; precondition: tls().
  boost::beast::ssl_stream<boost::beast::tcp_stream>& tls_stream() { return *tls_; }
  /// The plain stream; precondition: !tls().
  boost::beast::tcp_stream& plain_stream() { return *tcp_; }

  /// The request-target to send for `url`: origin-form ("/path?q"), or the
  /// absolute form ("http://host:port/path?q") through an http proxy.
  std::string request_target(const HttpUrl& url) const;
  /// Headers every request over this connection carries: Proxy-Authorization
  /// when requests go in absolute form to a proxy with credentials.
  const HttpHeaders& extra_headers() const { return extra_headers_; }

  /// Closes the stream (TLS close_notify with a 2 s deadline, then TCP
  /// shutdown). Never fails: errors at shutdown are common and harmless.
  boost::asio::awaitable<void> async_close();

 private:
  friend boost::asio::awaitable<Result<std::unique_ptr<Connection>, NetError>> async_open_connection(
      boost::asio::any_io_executor, const HttpUrl&, const NetOptions&, const ProxyEnv&, TlsContexts&,
      std::chrono::steady_clock::time_point);
  std::unique_ptr<boost::beast::tcp_stream> tcp_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  bool absolute_form_ = false;
  HttpHeaders extra_headers_;
};

/// Connects `stream` to the first of `endpoints` that accepts, in order,
/// before `deadline`. Each address gets an equal share of the time left
/// (the remaining time divided by the addresses not yet tried), so one
/// address that drops packets cannot use up the whole deadline. Returns the
/// endpoint connected to; NetErrc::connect naming `what` and every address
/// with its error, or NetErrc::timeout when the deadline passed.
boost::asio::awaitable<Result<boost::asio::ip::tcp::endpoint, NetError>> async_connect_in_turn(
    boost::beast::tcp_stream& stream, const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
    const std::string& what, std::chrono::steady_clock::time_point deadline);

/// Opens a connection to `url`'s origin before `deadline`: picks the proxy
/// (select_proxy(url, opts.proxy, env)), resolves and connects (every
/// address in turn), sends CONNECT host:port through the proxy for https
/// (Proxy-Authorization: Basic from the proxy URL's credentials), and does
/// the TLS handshake with SNI and host name verification against
/// tls.get(opts). Errors, all with request_sent = false: bad_url (the
/// proxy URL is malformed or not http://), resolve, connect, timeout, tls
/// (naming the host and the X509 verification failure, e.g. "TLS handshake
/// with localhost:8443 failed: certificate verify failed (X509: unable to
/// get local issuer certificate)"), and connect for a proxy that refuses
/// the tunnel ("proxy 127.0.0.1:3128 refused CONNECT localhost:443: 403
/// Forbidden"). Proxy credentials never appear in a message.
boost::asio::awaitable<Result<std::unique_ptr<Connection>, NetError>> async_open_connection(
    boost::asio::any_io_executor ex, const HttpUrl& url, const NetOptions& opts, const ProxyEnv& env,
    TlsContexts& tls, std::chrono::steady_clock::time_point deadline);

}  // namespace reelbatch::net_detail
