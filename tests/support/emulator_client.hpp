// What the emulator tests share: a tiny synchronous Beast HTTP client, the
// emulator on its own io_context and thread (like a separate server), a
// loopback callback receiver, a temporary directory and a way to run one
// coroutine to completion. Each test file keeps its provider's reply
// accessors and request helpers.
#pragma once

#include "providers/emulator/emulator.hpp"
#include "src/net/http_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace reelbatch::emulator::test_support {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// An HTTP answer as the tests read it.
struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& lower_name) const;
  boost::json::object json() const;  ///< the body as a JSON object (throws otherwise)
};

/// An answer in the {"code", "message", "result"} envelope (the juhuo and
/// seedance2 APIs); each accessor throws when the field is missing.
struct EnvelopeReply : HttpReply {
  std::string code() const;
  std::string message() const;
  boost::json::object result() const;
};

/// "Authorization: Bearer <key>" (none when `key` is empty), then
/// "Content-Type: application/json" when `json_body`.
HeaderList bearer_headers(const std::string& key, bool json_body);

/// The Host header the client sends: "127.0.0.1" or "127.0.0.1:PORT".
enum class HostHeader { bare, with_port };

/// A request with Host `host`, the headers and the body; POST and PUT (and
/// any request with a body) carry a Content-Length.
boost::beast::http::request<boost::beast::http::string_body> make_request(const std::string& method,
                                                                          const std::string& target,
                                                                          const HeaderList& headers,
                                                                          const std::string& body,
                                                                          const std::string& host = "127.0.0.1");

/// Reads one answer from `s` (`head`: no body follows).
HttpReply read_reply(boost::asio::ip::tcp::socket& s, boost::beast::flat_buffer& buf, bool head);

/// One request on a fresh connection to 127.0.0.1:port; reads the whole
/// answer (no body for HEAD). POST and PUT always carry a Content-Length.
HttpReply http_request(unsigned short port, const std::string& method, const std::string& target,
                       const HeaderList& headers, const std::string& body, HostHeader host);

/// "http://127.0.0.1:PORT/x?y" -> "/x?y" (a gtest failure when `url` has no scheme).
std::string target_of(const std::string& url);

/// The emulator on its own io_context and thread, listening on an ephemeral
/// loopback port.
struct EmulatorThread {
  boost::asio::io_context io;
  std::optional<Emulator> emu;
  unsigned short port = 0;
  std::thread thread;

  /// `modules`, when given, replace opts.modules.
  explicit EmulatorThread(Options opts, std::vector<ModuleFactory> modules = {});
  ~EmulatorThread();
  EmulatorThread(const EmulatorThread&) = delete;
  EmulatorThread& operator=(const EmulatorThread&) = delete;

  /// Stops the emulator; stop() must end every session, the acceptor and
  /// the ticker: io.run() returns by itself. Idempotent.
  void shutdown();
};

/// A loopback HTTP server on its own thread that records every request
/// (a callback_url receiver).
struct CallbackReceiver {
  boost::asio::io_context io;
  std::unique_ptr<HttpServer> server;
  unsigned short port = 0;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Request> got;
  int fail_first = 0;  // answer 500 to this many requests first

  /// `ok`: the answer to a request not failed by fail_first.
  explicit CallbackReceiver(Response ok);
  ~CallbackReceiver();
  std::string url(const std::string& path) const;
  /// Waits up to `limit` for `n` requests; returns those received.
  std::vector<Request> wait_for(std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10));
};

/// Polls `status()` every `pause` until `terminal(status)` holds or `limit`
/// passes (then a gtest failure "<what> not terminal in time"); returns every
/// distinct status seen, in order.
std::vector<std::string> poll_statuses(const std::function<std::string()>& status,
                                       const std::function<bool(const std::string&)>& terminal,
                                       std::chrono::milliseconds limit, std::chrono::milliseconds pause,
                                       const std::string& what);

/// Options with time_scale `scale` (every built-in module).
Options fast(double scale = 0.002);

/// The whole content of the file at `path` ("" when it cannot be opened).
std::string read_text(const std::filesystem::path& path);

/// A fresh directory under the system temp directory, removed at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix);  ///< "reelbatch-emu" -> .../reelbatch-emu-<pid>-<random>
  ~TempDir();
};

/// Runs one coroutine to completion on `io`.
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  auto body = [&](boost::asio::awaitable<T> aw) -> boost::asio::awaitable<void> { out.emplace(co_await std::move(aw)); };
  boost::asio::co_spawn(io, body(std::move(a)), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.restart();
  io.run();
  return std::move(*out);
}

}  // namespace reelbatch::emulator::test_support
