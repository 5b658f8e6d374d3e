#include "tests/support/emulator_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

namespace reelbatch::emulator::test_support {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// Warnings only (REELBATCH_TEST_LOG=debug for one line per request).
const bool kLogLevelSet = [] {
  const char* env = std::getenv("REELBATCH_TEST_LOG");
  spdlog::set_level(env ? spdlog::level::from_str(env) : spdlog::level::warn);
  return true;
}();

}  // namespace

std::string HttpReply::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

boost::json::object HttpReply::json() const { return boost::json::parse(body).as_object(); }

std::string EnvelopeReply::code() const { return std::string(json().at("code").as_string()); }
std::string EnvelopeReply::message() const { return std::string(json().at("message").as_string()); }
boost::json::object EnvelopeReply::result() const { return json().at("result").as_object(); }

HeaderList bearer_headers(const std::string& key, bool json_body) {
  HeaderList h;
  if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
  if (json_body) h.emplace_back("Content-Type", "application/json");
  return h;
}

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const HeaderList& headers, const std::string& body,
                                              const std::string& host) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
  return req;
}

HttpReply read_reply(tcp::socket& s, beast::flat_buffer& buf, bool head) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  if (head) parser.skip(true);
  http::read(s, buf, parser);
  HttpReply r;
  r.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers[name] = std::string(f.value());
  }
  r.body = parser.get().body();
  return r;
}

HttpReply http_request(unsigned short port, const std::string& method, const std::string& target,
                       const HeaderList& headers, const std::string& body, HostHeader host) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  auto req = make_request(method, target, headers, body,
                          host == HostHeader::bare ? std::string("127.0.0.1") : "127.0.0.1:" + std::to_string(port));
  http::write(s, req);
  beast::flat_buffer buf;
  HttpReply r = read_reply(s, buf, method == "HEAD");
  boost::system::error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  return r;
}

std::string target_of(const std::string& url) {
  const auto scheme = url.find("://");
  EXPECT_NE(scheme, std::string::npos) << url;
  return url.substr(url.find('/', scheme + 3));
}

EmulatorThread::EmulatorThread(Options opts, std::vector<ModuleFactory> modules) {
  if (!modules.empty()) opts.modules = std::move(modules);
  emu.emplace(io.get_executor(), std::move(opts));
  port = emu->listen("127.0.0.1", 0);
  thread = std::thread([this] { io.run(); });
}

EmulatorThread::~EmulatorThread() { shutdown(); }

void EmulatorThread::shutdown() {
  if (!thread.joinable()) return;
  asio::post(io, [this] { emu->stop(); });
  thread.join();
  emu.reset();
}

CallbackReceiver::CallbackReceiver(Response ok) {
  server = std::make_unique<HttpServer>(io.get_executor(), [this, ok = std::move(ok)](const Request& r) {
    std::lock_guard lk(mu);
    got.push_back(r);
    cv.notify_all();
    if (fail_first > 0) {
      --fail_first;
      return Response(500, "text/plain", "try again");
    }
    return ok;
  });
  port = server->listen("127.0.0.1", 0);
  thread = std::thread([this] { io.run(); });
}

CallbackReceiver::~CallbackReceiver() {
  asio::post(io, [this] { server->stop(); });
  thread.join();
}

std::string CallbackReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

std::vector<Request> CallbackReceiver::wait_for(std::size_t n, std::chrono::milliseconds limit) {
  std::unique_lock lk(mu);
  cv.wait_for(lk, limit, [&] { return got.size() >= n; });
  return got;
}

std::vector<std::string> poll_statuses(const std::function<std::string()>& status,
                                       const std::function<bool(const std::string&)>& terminal,
                                       std::chrono::milliseconds limit, std::chrono::milliseconds pause,
                                       const std::string& what) {
  std::vector<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string st = status();
    if (seen.empty() || seen.back() != st) seen.push_back(st);
    if (terminal(st)) return seen;
    std::this_thread::sleep_for(pause);
  }
  ADD_FAILURE() << what << " not terminal in time";
  return seen;
}

Options fast(double scale) {
  Options o;
  o.time_scale = scale;
  return o;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TempDir::TempDir(const std::string& prefix) {
  path = std::filesystem::temp_directory_path() /
         (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace reelbatch::emulator::test_support
