#include "src/net/http_server.hpp"
#include "src/core/text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <cctype>
#include <mutex>
#include <system_error>
#include <unordered_map>

namespace reelbatch::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using unix_stream = beast::basic_stream<unix_socket>;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string endpoint_string(const tcp::endpoint& ep) {
  const auto a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

bool plausible_authority(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' ||
           c == ']' || c == '_';
  });
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

// ---- Request / Response --------------------------------------------------

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

bool Request::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  std::string_view t = target;
  const auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view q = query();
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq), true);
    if (key != name) continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::string Request::authority() const {
  const std::string host = header("Host");
  return plausible_authority(host) ? host : local_endpoint;
}

Response::Response(int s, std::string content_type, std::string b) : status(s), body(std::move(b)) {
  if (!content_type.empty()) headers.emplace_back("Content-Type", std::move(content_type));
}

Response& Response::set(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

// ---- server -------------------------------------------------------------

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  struct Session {
    std::function<void()> close;  // shuts the connection down (on the server's executor)
    bool busy = false;  // between a complete request and the end of its response
  };

  asio::any_io_executor ex;
  Handler handler;
  ServerLimits limits;
  tcp::acceptor acceptor;
  unix_socket::acceptor unix_acceptor;
  std::string unix_path;  // the socket file listen_unix created; removed by stop()
  std::string local;
  std::atomic<bool> stopped{false};

  mutable std::mutex mu;  // guards sessions and handler
  std::unordered_map<std::uint64_t, Session> sessions;
  std::uint64_t next_id = 1;

  Impl(asio::any_io_executor e, Handler h, ServerLimits l)
      : ex(std::move(e)), handler(std::move(h)), limits(l), acceptor(ex), unix_acceptor(ex) {}

  // Removes a session from the registry when its coroutine frame ends or is destroyed.
  struct Registration {
    Impl* impl;
    std::uint64_t id;
    ~Registration() {
      std::lock_guard lk(impl->mu);
      impl->sessions.erase(id);
    }
  };

  void set_busy(std::uint64_t id, bool busy) {
    std::lock_guard lk(mu);
    if (auto it = sessions.find(id); it != sessions.end()) it->second.busy = busy;
  }

  Response call_handler(const Request& req) {
    Handler h;
    {
      std::lock_guard lk(mu);
      h = handler;
    }
    if (!h) return Response(503, "text/plain", "server stopping\n");
    try {
      return h(req);
    } catch (const std::exception& e) {
      spdlog::error("emulator: handler failed for {} {}: {}", req.method, req.path(), e.what());
      return Response(500, "text/plain", "internal error\n");
    }
  }

  static http::response<http::string_body> to_beast(Response&& r, const Request& req, unsigned version,
                                                    bool keep_alive) {
    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(r.status));
    res.set(http::field::server, "reelbatch-emulator");
    for (auto& [k, v] : r.headers) {
      if (iequals(k, "Content-Length") || iequals(k, "Transfer-Encoding") || iequals(k, "Connection")) continue;
      res.insert(k, v);
    }
    res.keep_alive(keep_alive);
    const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
    if (no_body) {
      res.body().clear();
    } else if (req.method == "HEAD") {
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    return res;
  }

  template <class Stream>
  awaitable<void> reply_too_large(Stream& stream, unsigned version) {
    http::response<http::string_body> res{http::status::payload_too_large, version};
    res.set(http::field::server, "reelbatch-emulator");
    res.set(http::field::content_type, "text/plain");
    res.body() = "request body exceeds " + std::to_string(limits.body_limit) + " bytes\n";
    res.keep_alive(false);
    res.prepare_payload();
    stream.expires_after(limits.write_timeout);
    co_await http::async_write(stream, res, tuple_awaitable);
  }

  // Fault injection (Response::stall_body, truncate_body_at): the headers
  // with the whole body's Content-Length, then nothing for stall_body, then
  // the first truncate_body_at bytes (none after a stall), then the caller
  // closes the connection.
  template <class Stream>
  awaitable<void> send_faulty(Stream& stream, Response r, const Request& req, unsigned version) {
    const std::size_t send = r.stall_body.count() > 0 ? 0 : std::min(r.body.size(), *r.truncate_body_at);
    std::string partial = r.body.substr(0, req.method == "HEAD" ? 0 : send);
    const auto stall = r.stall_body;
    auto res = to_beast(std::move(r), req, version, false);
    http::response_serializer<http::string_body> sr(res);
    stream.expires_after(limits.write_timeout);
    auto [hec, hn] = co_await http::async_write_header(stream, sr, tuple_awaitable);
    (void)hn;
    if (hec) co_return;
    if (stall.count() > 0) {
      stream.expires_never();
      // In slices, so that stop() does not wait for a long stall.
      const auto until = std::chrono::steady_clock::now() + stall;
      asio::steady_timer t(ex);
      while (!stopped && std::chrono::steady_clock::now() < until) {
        t.expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50),
                                                                      until - std::chrono::steady_clock::now()));
        co_await t.async_wait(tuple_awaitable);
      }
      co_return;
    }
    if (!partial.empty()) {
      stream.expires_after(limits.write_timeout);
      co_await asio::async_write(stream, asio::buffer(partial), tuple_awaitable);
    }
  }

  // Writes a streamed body straight to the connection.
  template <class Stream>
  struct StreamWriter : BodyWriter {
    Impl& impl;
    Stream& stream;
    bool failed = false;
    StreamWriter(Impl& i, Stream& s) : impl(i), stream(s) {}
    awaitable<bool> write(std::string data) override {
      if (failed || impl.stopped) co_return false;
      stream.expires_after(impl.limits.write_timeout);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data), tuple_awaitable);
      (void)n;
      if (ec) failed = true;
      co_return !failed;
    }
  };

  template <class Stream>
  awaitable<void> send_stream(Stream& stream, Response& r, unsigned version, std::uint64_t id) {
    http::response<http::empty_body> head;
    head.version(version);
    head.result(static_cast<unsigned>(r.status));
    head.set(http::field::server, "reelbatch");
    for (auto& [k, v] : r.headers) {
      if (iequals(k, "Content-Length") || iequals(k, "Transfer-Encoding") || iequals(k, "Connection")) continue;
      head.insert(k, v);
    }
    head.keep_alive(false);
    http::response_serializer<http::empty_body> sr{head};
    stream.expires_after(limits.write_timeout);
    auto [ec, n] = co_await http::async_write_header(stream, sr, tuple_awaitable);
    (void)n;
    set_busy(id, false);  // stop() may close it now: the stream then ends
    if (ec) co_return;
    StreamWriter<Stream> w(*this, stream);
    try {
      co_await r.stream(w);
    } catch (const std::exception& e) {
      spdlog::warn("http: streamed response ended by exception: {}", e.what());
    }
  }

  template <class Stream>
  awaitable<void> session(Stream stream, std::string local_ep) {
    auto self = shared_from_this();
    std::uint64_t id = 0;
    {
      std::lock_guard lk(mu);
      id = next_id++;
      sessions.emplace(id, Session{[&stream] {
                                     boost::system::error_code ignored;
                                     stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
                                     stream.socket().close(ignored);
                                   },
                                   false});
    }
    Registration reg{this, id};
    if (stopped) co_return;

    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(limits.body_limit);
      parser.header_limit(64 * 1024);
      stream.expires_after(limits.read_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
      (void)hn;
      if (hec == http::error::body_limit) {  // a Content-Length beyond the limit
        co_await reply_too_large(stream, parser.get().version());
        break;
      }
      if (hec) {
        if (hec != http::error::end_of_stream && hec != asio::error::operation_aborted &&
            hec != beast::error::timeout && hec != asio::error::connection_reset)
          spdlog::debug("emulator: session read error: {}", hec.message());
        break;
      }
      if (iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
        stream.expires_after(limits.write_timeout);
        auto [cec, cn] = co_await http::async_write(stream, cont, tuple_awaitable);
        (void)cn;
        if (cec) break;
      }
      stream.expires_after(limits.read_timeout);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
      (void)rn;
      if (rec == http::error::body_limit) {
        co_await reply_too_large(stream, parser.get().version());
        break;
      }
      if (rec) {
        spdlog::debug("emulator: session read error: {}", rec.message());
        break;
      }
      set_busy(id, true);
      auto msg = parser.release();
      Request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.body = std::move(msg.body());
      req.local_endpoint = local_ep;
      req.unix_socket = local_ep.rfind("unix:", 0) == 0;

      const auto t0 = std::chrono::steady_clock::now();
      Response r = call_handler(req);
      if (r.drop_connection) {
        set_busy(id, false);
        spdlog::debug("emulator: {} {} -> connection dropped{}", req.method, req.path(),
                      r.reset_connection ? " (reset)" : "");
        if (r.reset_connection) {
          boost::system::error_code ignored;
          stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
          stream.socket().close(ignored);
          co_return;
        }
        break;
      }
      if (r.stall_body.count() > 0 || (r.truncate_body_at && *r.truncate_body_at < r.body.size())) {
        co_await send_faulty(stream, std::move(r), req, msg.version());
        set_busy(id, false);
        break;
      }
      if (r.stream) {
        co_await send_stream(stream, r, msg.version(), id);
        break;
      }
      const int status = r.status;
      const std::size_t bytes = r.body.size();
      const bool keep = msg.keep_alive() && !stopped;
      auto res = to_beast(std::move(r), req, msg.version(), keep);
      stream.expires_after(limits.write_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
      (void)wn;
      set_busy(id, false);
      spdlog::debug("emulator: {} {} -> {} ({} bytes, {} us)", req.method, req.path(), status, bytes,
                    std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
                        .count());
      if (wec || !keep || stopped) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    stream.socket().close(ignored);
  }

  template <class Acceptor>
  awaitable<void> accept_loop(Acceptor& acceptor) {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, accepted] = co_await acceptor.async_accept(tuple_awaitable);
      // Not captured as a structured binding: clang 15 (the fuzz build)
      // refuses lambdas that capture one.
      auto socket = std::move(accepted);
      if (stopped || ec == asio::error::operation_aborted) break;
      if (ec) {
        spdlog::warn("emulator: accept failed: {}", ec.message());
        asio::steady_timer t(ex, std::chrono::milliseconds(50));  // e.g. out of file descriptors
        co_await t.async_wait(tuple_awaitable);
        continue;
      }
      auto task = [&]() -> awaitable<void> {
        if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
          boost::system::error_code lec;
          const auto lep = socket.local_endpoint(lec);
          return session(beast::tcp_stream(std::move(socket)), lec ? local : endpoint_string(lep));
        } else {
          return session(unix_stream(std::move(socket)), "unix:" + unix_path);
        }
      };
      asio::co_spawn(ex, task(), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          spdlog::error("http: session ended by exception: {}", x.what());
        } catch (...) {
          spdlog::error("emulator: session ended by unknown exception");
        }
      });
    }
  }

  void stop() {
    if (stopped.exchange(true)) return;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    unix_acceptor.close(ignored);
    if (!unix_path.empty()) ::unlink(unix_path.c_str());
    std::lock_guard lk(mu);
    for (auto& [id, s] : sessions) {
      if (s.busy) continue;  // finishes its response, then closes (keep-alive off)
      s.close();
    }
  }
};

HttpServer::HttpServer(asio::any_io_executor ex, Handler handler, ServerLimits limits)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(handler), limits)) {}

HttpServer::~HttpServer() {
  impl_->stop();
  std::lock_guard lk(impl_->mu);
  impl_->handler = nullptr;
}

unsigned short HttpServer::listen(const std::string& host, unsigned short port) {
  if (impl_->acceptor.is_open() || impl_->unix_acceptor.is_open())
    throw std::logic_error("HttpServer::listen called twice");
  // Asio reports boost::system errors; callers get std::system_error.
  auto check = [&](const boost::system::error_code& ec, const char* what) {
    if (ec) throw std::system_error(std::error_code(ec), std::string(what) + " " + host + ":" + std::to_string(port));
  };
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint ep;
  if (!ec) {
    ep = tcp::endpoint(addr, port);
  } else {
    tcp::resolver resolver(impl_->ex);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    check(ec, "cannot resolve");
    if (results.empty()) check(asio::error::host_not_found, "cannot resolve");
    ep = results.begin()->endpoint();
  }
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  check(ec, "cannot open a socket for");
  a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    a.close(ignored);
    check(ec, "cannot listen on");
  }
  const auto bound = a.local_endpoint(ec);
  check(ec, "cannot listen on");
  impl_->local = endpoint_string(bound);
  impl_->stopped = false;
  asio::co_spawn(impl_->ex, impl_->accept_loop(impl_->acceptor), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("emulator: accept loop ended by exception: {}", x.what());
    }
  });
  return bound.port();
}

void HttpServer::listen_unix(const std::string& path, unsigned mode) {
  auto& a = impl_->unix_acceptor;
  if (impl_->acceptor.is_open() || a.is_open()) throw std::logic_error("HttpServer::listen called twice");
  auto fail = [&](std::error_code ec, const std::string& what) {
    boost::system::error_code ignored;
    a.close(ignored);
    throw std::system_error(ec, what + " " + path);
  };
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(std::make_error_code(std::errc::file_exists), "not a socket:");
    // A live server accepts a connection; a dead one's file refuses it.
    asio::io_context probe_io;
    unix_socket::socket probe(probe_io);
    boost::system::error_code cec;
    probe.connect(unix_socket::endpoint(path), cec);
    if (!cec) fail(std::make_error_code(std::errc::address_in_use), "a server is already listening on");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      fail(std::error_code(errno, std::generic_category()), "cannot remove the stale socket");
  }
  boost::system::error_code ec;
  a.open(unix_socket(), ec);
  if (ec) fail(std::error_code(ec), "cannot open a socket for");
  // Created with no permissions for others, then opened to `mode`: no window
  // in which another user could connect.
  const mode_t old = ::umask(0177);
  a.bind(unix_socket::endpoint(path), ec);
  ::umask(old);
  if (ec) fail(std::error_code(ec), "cannot bind");
  impl_->unix_path = path;
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
    fail(std::error_code(errno, std::generic_category()), "cannot chmod");
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(std::error_code(ec), "cannot listen on");
  impl_->local = "unix:" + path;
  impl_->stopped = false;
  asio::co_spawn(impl_->ex, impl_->accept_loop(a), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("http: accept loop ended by exception: {}", x.what());
    }
  });
}

void HttpServer::stop() { impl_->stop(); }

std::size_t HttpServer::sessions() const {
  std::lock_guard lk(impl_->mu);
  return impl_->sessions.size();
}

}  // namespace reelbatch::net
