#include "src/net/http_client.hpp"
#include "src/core/text.hpp"
#include "src/net/connection.hpp"

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

NetError io_error(NetErrc code, bool sent, const beast::error_code& ec, const std::string& origin) {
  if (ec == beast::error::timeout) return NetError{NetErrc::timeout, sent, origin + ": timed out"};
  return NetError{code, sent, origin + ": " + ec.message()};
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

struct HttpClient::Impl {
  asio::any_io_executor ex;
  ProxyEnv proxy_env;
  net_detail::TlsContexts tls;

  Impl(asio::any_io_executor e, ProxyEnv env) : ex(std::move(e)), proxy_env(std::move(env)) {}

  // One exchange over an established stream. With a sink, the body of a 2xx
  // response is streamed; otherwise it is read whole.
  template <class Stream>
  awaitable<Result<HttpResponse, NetError>> exchange(Stream& stream, net_detail::Connection& conn,
                                                    const HttpRequest& req, const HttpUrl& t,
                                                    const BodySink* sink) {
    beast::tcp_stream& lowest = conn.lowest();
    const std::string& origin = t.host_header;
    http::request<http::string_body> msg{to_verb(req.method), conn.request_target(t), 11};
    msg.set(http::field::host, t.host_header);
    msg.set(http::field::user_agent, "reelbatch/0.1");
    for (const auto& [k, v] : conn.extra_headers()) msg.set(k, v);
    for (const auto& [k, v] : req.headers) msg.set(k, v);
    msg.body() = req.body;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT") msg.prepare_payload();

    lowest.expires_after(req.timeout);
    auto [wec, wn] = co_await http::async_write(stream, msg, tuple_awaitable);
    (void)wn;
    if (wec) co_return fail(io_error(NetErrc::send, true, wec, origin));

    beast::flat_buffer buffer;
    if (sink == nullptr) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(req.max_body_bytes);
      if (req.method == "HEAD") parser.skip(true);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      (void)rn;
      if (rec == http::error::body_limit)
        co_return fail(NetError{NetErrc::too_large, true, origin + ": response body exceeds limit"});
      if (rec) co_return fail(io_error(NetErrc::receive, true, rec, origin));
      HttpResponse out = to_response(parser.get().base());
      out.body = std::move(parser.get().body());
      co_return out;
    }

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
    (void)hn;
    if (hec) co_return fail(io_error(NetErrc::receive, true, hec, origin));
    HttpResponse out = to_response(parser.get().base());
    const bool ok = out.status >= 200 && out.status < 300;
    std::array<char, chunk_bytes> chunk{};
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      lowest.expires_after(req.timeout);  // inactivity deadline per chunk
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      (void)n;
      if (ec && ec != http::error::need_buffer) co_return fail(io_error(NetErrc::receive, true, ec, origin));
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
    auto target = parse_http_url(req.url);
    if (!target) co_return fail(NetError{NetErrc::bad_url, false, target.error()});
    const HttpUrl& t = *target;
    // Credentials in a request URL are not sent (nothing here uses them).
    const auto deadline = std::chrono::steady_clock::now() + req.timeout;
    auto conn = co_await net_detail::async_open_connection(ex, t, req.net, proxy_env, tls, deadline);
    if (!conn) co_return fail(conn.error());
    net_detail::Connection& c = **conn;
    Result<HttpResponse, NetError> r = fail(NetError{});
    if (c.tls())
      r = co_await exchange(c.tls_stream(), c, req, t, sink);
    else
      r = co_await exchange(c.plain_stream(), c, req, t, sink);
    co_await c.async_close();
    co_return r;
  }
};

HttpClient::HttpClient(asio::any_io_executor ex) : HttpClient(std::move(ex), proxy_env_from_process()) {}
HttpClient::HttpClient(asio::any_io_executor ex, ProxyEnv proxy_env)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(proxy_env))) {}
HttpClient::~HttpClient() = default;

asio::any_io_executor HttpClient::get_executor() const { return impl_->ex; }

awaitable<Result<HttpResponse, NetError>> HttpClient::async_request(HttpRequest req) {
  co_return co_await impl_->run(std::move(req), nullptr);
}

awaitable<Result<HttpResponse, NetError>> HttpClient::async_download(HttpRequest req, BodySink sink) {
  co_return co_await impl_->run(std::move(req), &sink);
}

}  // namespace reelbatch
