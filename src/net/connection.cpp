#include "src/net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>

namespace reelbatch::net_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::chrono::milliseconds left(Clock::time_point deadline) {
  const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(d, std::chrono::milliseconds(0));
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// The text of OpenSSL's error queue (most recent first), emptied.
std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

// Resolves host:port before the deadline.
awaitable<Result<std::vector<tcp::endpoint>, NetError>> resolve(asio::any_io_executor ex, const std::string& host,
                                                               const std::string& port, const std::string& what,
                                                               Clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  tcp::resolver resolver(ex);
  asio::steady_timer timer(ex, deadline);
  auto res = co_await (resolver.async_resolve(host, port, tuple_awaitable) || timer.async_wait(tuple_awaitable));
  if (res.index() == 1) co_return fail(NetError{NetErrc::timeout, false, "resolving " + what + " timed out"});
  auto [ec, results] = std::get<0>(std::move(res));
  if (ec) co_return fail(NetError{NetErrc::resolve, false, "cannot resolve " + what + ": " + ec.message()});
  std::vector<tcp::endpoint> eps;
  for (const auto& r : results) eps.push_back(r.endpoint());
  co_return eps;
}

}  // namespace

// ---- TLS contexts ---------------------------------------------------------

Result<asio::ssl::context*, NetError> TlsContexts::get(const NetOptions& opts) {
  std::lock_guard lock(mu_);
  auto key = std::make_tuple(opts.ca_file, opts.ca_dir, opts.ca_only);
  if (auto it = ctx_.find(key); it != ctx_.end()) return it->second.get();
  if (opts.ca_only && opts.ca_file.empty() && opts.ca_dir.empty())
    return fail(NetError{NetErrc::tls, false, "ca_only is set but neither ca_file nor ca_dir is"});
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_verify_mode(asio::ssl::verify_peer);
  if (!opts.ca_only) ctx->set_default_verify_paths();
  ERR_clear_error();
  if (!opts.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx->native_handle(), opts.ca_file.c_str(), nullptr) != 1)
    return fail(NetError{NetErrc::tls, false, "cannot load ca_file " + opts.ca_file + ": " + openssl_errors()});
  if (!opts.ca_dir.empty() && SSL_CTX_load_verify_locations(ctx->native_handle(), nullptr, opts.ca_dir.c_str()) != 1)
    return fail(NetError{NetErrc::tls, false, "cannot use ca_dir " + opts.ca_dir + ": " + openssl_errors()});
  auto* raw = ctx.get();
  ctx_.emplace(std::move(key), std::move(ctx));
  return raw;
}

// ---- Connection ---------------------------------------------------------------

Connection::Connection(beast::tcp_stream tcp) : tcp_(std::make_unique<beast::tcp_stream>(std::move(tcp))) {}

beast::tcp_stream& Connection::lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }

std::string Connection::request_target(const HttpUrl& url) const {
  if (!absolute_form_) return url.target;
  return std::string(url.tls ? "https://" : "http://") + url.host_header + url.target;
}

awaitable<void> Connection::async_close() {
  beast::error_code ignored;
  if (tls_) {
    lowest().expires_after(std::chrono::seconds(2));
    co_await tls_->async_shutdown(tuple_awaitable);
  }
  lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest().socket().close(ignored);
}

awaitable<Result<tcp::endpoint, NetError>> async_connect_in_turn(beast::tcp_stream& stream,
                                                                const std::vector<tcp::endpoint>& endpoints,
                                                                const std::string& what, Clock::time_point deadline) {
  std::string errors;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const auto remaining = left(deadline);
    if (remaining.count() == 0) break;
    const auto share = remaining / static_cast<long>(endpoints.size() - i);
    beast::error_code ignored;
    stream.socket().close(ignored);  // a failed attempt leaves the socket open
    stream.expires_after(std::max(share, std::chrono::milliseconds(1)));
    auto [ec] = co_await stream.async_connect(endpoints[i], tuple_awaitable);
    if (!ec) co_return endpoints[i];
    if (!errors.empty()) errors += "; ";
    errors += endpoint_text(endpoints[i]) + ": " + (ec == beast::error::timeout ? "timed out" : ec.message());
  }
  if (errors.empty()) co_return fail(NetError{NetErrc::timeout, false, "connecting to " + what + " timed out"});
  if (left(deadline).count() == 0 && errors.find("timed out") != std::string::npos)
    co_return fail(NetError{NetErrc::timeout, false, "connecting to " + what + " timed out (" + errors + ")"});
  co_return fail(NetError{NetErrc::connect, false, "cannot connect to " + what + " (" + errors + ")"});
}

awaitable<Result<std::unique_ptr<Connection>, NetError>> async_open_connection(asio::any_io_executor ex,
                                                                               const HttpUrl& url,
                                                                               const NetOptions& opts,
                                                                               const ProxyEnv& env, TlsContexts& tls,
                                                                               Clock::time_point deadline) {
  const std::string origin = url.host_header.empty() ? url.host + ":" + url.port : url.host_header;

  // The proxy, if any.
  std::optional<HttpUrl> proxy;
  std::string proxy_shown;
  if (std::string p = select_proxy(url, opts.proxy, env); !p.empty()) {
    if (p.find("://") == std::string::npos) p = "http://" + p;
    proxy_shown = redact_url_credentials(p);
    auto parsed = parse_http_url(p);
    if (!parsed) co_return fail(NetError{NetErrc::bad_url, false, "bad proxy URL: " + parsed.error()});
    if (parsed->tls)
      co_return fail(NetError{NetErrc::bad_url, false,
                              "proxy " + proxy_shown + ": only http:// proxies are supported (the tunnel to an "
                              "https origin is still TLS end to end)"});
    proxy = std::move(parsed).value();
  }

  // Resolve and connect: the origin, or the proxy.
  const std::string& host = proxy ? proxy->host : url.host;
  const std::string& port = proxy ? proxy->port : url.port;
  const std::string what = proxy ? "proxy " + proxy_shown : origin;
  auto endpoints = co_await resolve(ex, host, port, what, deadline);
  if (!endpoints) co_return fail(endpoints.error());
  beast::tcp_stream tcp(ex);
  auto connected = co_await async_connect_in_turn(tcp, *endpoints, what, deadline);
  if (!connected) co_return fail(connected.error());

  std::string proxy_auth;
  if (proxy && proxy->has_credentials) proxy_auth = "Basic " + base64(proxy->user + ":" + proxy->password);

  // https through a proxy: a CONNECT tunnel (RFC 9110, 9.3.6).
  if (proxy && url.tls) {
    http::request<http::empty_body> req{http::verb::connect, origin, 11};
    req.set(http::field::host, origin);
    req.set(http::field::user_agent, "reelbatch/0.1");
    if (!proxy_auth.empty()) req.set(http::field::proxy_authorization, proxy_auth);
    tcp.expires_after(std::max(left(deadline), std::chrono::milliseconds(1)));
    auto [wec, wn] = co_await http::async_write(tcp, req, tuple_awaitable);
    (void)wn;
    if (wec)
      co_return fail(NetError{wec == beast::error::timeout ? NetErrc::timeout : NetErrc::connect, false,
                              "sending CONNECT " + origin + " to " + what + ": " + wec.message()});
    beast::flat_buffer buf;
    http::response_parser<http::empty_body> parser;
    parser.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel starts
    auto [rec, rn] = co_await http::async_read_header(tcp, buf, parser, tuple_awaitable);
    (void)rn;
    if (rec)
      co_return fail(NetError{rec == beast::error::timeout ? NetErrc::timeout : NetErrc::connect, false,
                              "reading the answer to CONNECT " + origin + " from " + what + ": " + rec.message()});
    const auto& res = parser.get();
    if (res.result_int() / 100 != 2)
      co_return fail(NetError{NetErrc::connect, false,
                              what + " refused CONNECT " + origin + ": " + std::to_string(res.result_int()) + " " +
                                  std::string(res.reason())});
    if (buf.size() != 0)
      co_return fail(NetError{NetErrc::connect, false, what + " sent data before the TLS handshake on CONNECT " + origin});
  }

  auto conn = std::make_unique<Connection>(std::move(tcp));
  if (proxy && !url.tls) {
    conn->absolute_form_ = true;
    if (!proxy_auth.empty()) conn->extra_headers_.emplace_back("Proxy-Authorization", proxy_auth);
  }
  if (!url.tls) co_return conn;

  // TLS with SNI and host name verification.
  auto ctx = tls.get(opts);
  if (!ctx) co_return fail(ctx.error());
  conn->tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*conn->tcp_), **ctx);
  conn->tcp_.reset();
  auto& stream = *conn->tls_;
  // SNI is for host names only (RFC 6066, 3): not for IP literals.
  boost::system::error_code addr_ec;
  (void)asio::ip::make_address(url.host, addr_ec);
  if (addr_ec && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
    co_return fail(NetError{NetErrc::tls, false, "cannot set the TLS SNI host name " + url.host});
  // Host name (or IP address) verification by OpenSSL itself, so that a
  // mismatch is reported as X509_V_ERR_HOSTNAME_MISMATCH / IP_ADDRESS_MISMATCH.
  X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
  const int set = addr_ec ? X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size())
                          : X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
  if (set != 1) co_return fail(NetError{NetErrc::tls, false, "cannot verify the TLS peer name " + url.host});
  conn->lowest().expires_after(std::max(left(deadline), std::chrono::milliseconds(1)));
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
  if (hec) {
    if (hec == beast::error::timeout)
      co_return fail(NetError{NetErrc::timeout, false, "TLS handshake with " + origin + " timed out"});
    std::string why = hec.message();
    const long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK)
      why += " (X509: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    co_return fail(NetError{NetErrc::tls, false, "TLS handshake with " + origin + (proxy ? " via " + what : "") +
                                                     " failed: " + why});
  }
  co_return conn;
}

}  // namespace reelbatch::net_detail
