#include "src/net/http_client.hpp"
#include "src/core/text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace reelbatch {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk_bytes = 64 * 1024;

struct Target {
  bool tls = false;
  std::string host;  // for the resolver and SNI, no brackets
  std::string host_header;
  std::string port;
  std::string path;  // path and query
};

Result<Target, NetError> parse_target(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r) return fail(NetError{NetErrc::bad_url, false, "bad URL: " + url});
  const auto& u = *r;
  Target t;
  if (u.scheme() == "https") {
    t.tls = true;
  } else if (u.scheme() != "http") {
    return fail(NetError{NetErrc::bad_url, false, "unsupported URL scheme in " + url});
  }
  t.host = u.host_address();  // no brackets around IPv6 literals
  if (t.host.empty()) return fail(NetError{NetErrc::bad_url, false, "URL has no host: " + url});
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(u.encoded_host_and_port());
  t.path = std::string(u.encoded_target());
  if (t.path.empty()) t.path = "/";
  return t;
}

http::verb to_verb(const std::string& method) {
  auto v = http::string_to_verb(method);
  return v == http::verb::unknown ? http::verb::get : v;
}

HttpResponse to_response(const http::response_header<>& h) {
  HttpResponse out;
  out.status = static_cast<int>(h.result_int());
  for (const auto& f : h) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

NetError io_error(NetErrc code, bool sent, const beast::error_code& ec) {
  if (ec == beast::error::timeout) return NetError{NetErrc::timeout, sent, "timed out"};
  return NetError{code, sent, ec.message()};
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

struct HttpClient::Impl {
  asio::any_io_executor ex;
  asio::ssl::context tls{asio::ssl::context::tls_client};

  explicit Impl(asio::any_io_executor e) : ex(std::move(e)) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
  }

  // Resolves with a deadline.
  awaitable<Result<tcp::resolver::results_type, NetError>> resolve(const Target& t,
                                                                  std::chrono::milliseconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, timeout);
    auto res = co_await (resolver.async_resolve(t.host, t.port, tuple_awaitable) ||
                         timer.async_wait(tuple_awaitable));
    if (res.index() == 1) co_return fail(NetError{NetErrc::timeout, false, "resolving " + t.host + " timed out"});
    auto [ec, results] = std::get<0>(std::move(res));
    if (ec) co_return fail(NetError{NetErrc::resolve, false, "cannot resolve " + t.host + ": " + ec.message()});
    co_return results;
  }

  // One exchange over an established stream. With a sink, the body of a 2xx
  // response is streamed; otherwise it is read whole.
  template <class Stream>
  awaitable<Result<HttpResponse, NetError>> exchange(Stream& stream, beast::tcp_stream& lowest,
                                                    const HttpRequest& req, const Target& t,
                                                    const BodySink* sink) {
    http::request<http::string_body> msg{to_verb(req.method), t.path, 11};
    msg.set(http::field::host, t.host_header);
    msg.set(http::field::user_agent, "reelbatch/0.1");
    for (const auto& [k, v] : req.headers) msg.set(k, v);
    msg.body() = req.body;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT") msg.prepare_payload();

    lowest.expires_after(req.timeout);
    auto [wec, wn] = co_await http::async_write(stream, msg, tuple_awaitable);
    (void)wn;
    if (wec) co_return fail(io_error(NetErrc::send, true, wec));

    beast::flat_buffer buffer;
    if (sink == nullptr) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(req.max_body_bytes);
      if (req.method == "HEAD") parser.skip(true);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      (void)rn;
      if (rec == http::error::body_limit)
        co_return fail(NetError{NetErrc::too_large, true, "response body exceeds limit"});
      if (rec) co_return fail(io_error(NetErrc::receive, true, rec));
      HttpResponse out = to_response(parser.get().base());
      out.body = std::move(parser.get().body());
      co_return out;
    }

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
    (void)hn;
    if (hec) co_return fail(io_error(NetErrc::receive, true, hec));
    HttpResponse out = to_response(parser.get().base());
    const bool ok = out.status >= 200 && out.status < 300;
    std::array<char, chunk_bytes> chunk{};
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      lowest.expires_after(req.timeout);  // inactivity deadline per chunk
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      (void)n;
      if (ec && ec != http::error::need_buffer) co_return fail(io_error(NetErrc::receive, true, ec));
      const std::size_t got = chunk.size() - parser.get().body().size;
      if (got == 0) continue;
      if (ok) {
        if (!(*sink)(out.status, std::string_view(chunk.data(), got)))
          co_return fail(NetError{NetErrc::sink, true, "download aborted by the writer"});
      } else if (out.body.size() < (64u << 10)) {
        out.body.append(chunk.data(), got);
      }
    }
    co_return out;
  }

  awaitable<Result<HttpResponse, NetError>> run(HttpRequest req, const BodySink* sink) {
    auto target = parse_target(req.url);
    if (!target) co_return fail(target.error());
    const Target& t = *target;

    auto endpoints = co_await resolve(t, req.timeout);
    if (!endpoints) co_return fail(endpoints.error());

    if (!t.tls) {
      beast::tcp_stream stream(ex);
      stream.expires_after(req.timeout);
      auto [cec, ep] = co_await stream.async_connect(*endpoints, tuple_awaitable);
      (void)ep;
      if (cec) co_return fail(io_error(NetErrc::connect, false, cec));
      auto r = co_await exchange(stream, stream, req, t, sink);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return r;
    }

    beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str()))
      co_return fail(NetError{NetErrc::tls, false, "cannot set TLS SNI host name"});
    stream.set_verify_callback(asio::ssl::host_name_verification(t.host));
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(req.timeout);
    auto [cec, ep] = co_await lowest.async_connect(*endpoints, tuple_awaitable);
    (void)ep;
    if (cec) co_return fail(io_error(NetErrc::connect, false, cec));
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
    if (hec) co_return fail(io_error(NetErrc::tls, false, hec));
    auto r = co_await exchange(stream, lowest, req, t, sink);
    lowest.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(tuple_awaitable);  // errors at shutdown are common and harmless
    co_return r;
  }
};

HttpClient::HttpClient(asio::any_io_executor ex) : impl_(std::make_unique<Impl>(std::move(ex))) {}
HttpClient::~HttpClient() = default;

asio::any_io_executor HttpClient::get_executor() const { return impl_->ex; }

awaitable<Result<HttpResponse, NetError>> HttpClient::async_request(HttpRequest req) {
  co_return co_await impl_->run(std::move(req), nullptr);
}

awaitable<Result<HttpResponse, NetError>> HttpClient::async_download(HttpRequest req, BodySink sink) {
  co_return co_await impl_->run(std::move(req), &sink);
}

}  // namespace reelbatch
