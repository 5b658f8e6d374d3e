#include "src/app/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace reelbatch {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string AdminAddress::describe() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "http://" + h + ":" + std::to_string(port);
}

std::optional<AdminAddress> parse_admin_address(const std::string& text) {
  AdminAddress a;
  constexpr std::string_view http_prefix = "http://";
  if (text.rfind(http_prefix, 0) == 0) {
    std::string rest = text.substr(http_prefix.size());
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const auto hp = parse_loopback_listen(rest);
    if (!hp || hp->second == 0) return std::nullopt;
    a.host = hp->first;
    a.port = hp->second;
    return a;
  }
  std::string path = text.rfind("unix:", 0) == 0 ? text.substr(5) : text;
  if (path.empty() || path.find("://") != std::string::npos) return std::nullopt;
  a.unix_path = path;
  return a;
}

namespace {

bool socket_answers(const std::string& path) {
  asio::io_context io;
  asio::local::stream_protocol::socket s(io);
  boost::system::error_code ec;
  s.connect(asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

template <class Stream>
AdminReply exchange(Stream& stream, const AdminAddress& addr, const std::string& method, const std::string& target,
                    const std::string& body, const std::string& content_type, asio::io_context& io,
                    std::chrono::milliseconds timeout) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, addr.unix_path.empty() ? addr.host : "localhost");
  req.set(http::field::user_agent, "reelbatch-cli");
  if (!addr.token.empty()) req.set(http::field::authorization, "Bearer " + addr.token);
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256ull << 20);
  boost::system::error_code result;
  bool done = false;
  stream.expires_after(timeout);
  http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
    // A server refusing a body (413) answers and closes before reading it
    // all: the write then fails with a broken pipe, but the answer may be
    // there to read.
    if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
      result = ec;
      done = true;
      return;
    }
    http::async_read(stream, buf, parser, [&](boost::system::error_code ec2, std::size_t) {
      result = ec2;
      done = true;
    });
  });
  io.run();
  if (!done || result) throw AdminUnavailable("daemon at " + addr.describe() + ": " + (done ? result.message() : "no answer"));
  AdminReply r;
  r.status = static_cast<int>(parser.get().result_int());
  r.body = std::move(parser.get().body());
  return r;
}

}  // namespace

std::optional<AdminAddress> find_daemon(const DaemonConfig* cfg, const EnvLookup& env) {
  if (auto v = env ? env("REELBATCH_ADDR") : std::nullopt; v && !v->empty()) {
    auto a = parse_admin_address(*v);
    if (!a)
      throw ConfigError("REELBATCH_ADDR: expected a socket path or http://127.0.0.1:PORT, got '" + *v + "'");
    if (a->unix_path.empty()) {
      if (auto t = env("REELBATCH_TOKEN")) a->token = *t;
    }
    return a;
  }
  if (!cfg || cfg->admin_socket.empty()) return std::nullopt;
  const std::string path = cfg->admin_socket.string();
  if (!socket_answers(path)) return std::nullopt;
  AdminAddress a;
  a.unix_path = path;
  return a;
}

AdminReply admin_request(const AdminAddress& addr, const std::string& method, const std::string& target,
                         const std::string& body, const std::string& content_type, std::chrono::milliseconds timeout) {
  asio::io_context io;
  boost::system::error_code ec;
  if (!addr.unix_path.empty()) {
    beast::basic_stream<asio::local::stream_protocol> stream(io);
    stream.socket().connect(asio::local::stream_protocol::endpoint(addr.unix_path), ec);
    if (ec) throw AdminUnavailable("cannot connect to the daemon at " + addr.describe() + ": " + ec.message());
    return exchange(stream, addr, method, target, body, content_type, io, timeout);
  }
  beast::tcp_stream stream(io);
  const auto ip = asio::ip::make_address(addr.host, ec);
  if (ec) throw AdminUnavailable("bad daemon address " + addr.describe());
  stream.socket().connect(asio::ip::tcp::endpoint(ip, addr.port), ec);
  if (ec) throw AdminUnavailable("cannot connect to the daemon at " + addr.describe() + ": " + ec.message());
  return exchange(stream, addr, method, target, body, content_type, io, timeout);
}

}  // namespace reelbatch
