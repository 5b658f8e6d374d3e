// The HTTP client's network paths on loopback (issue 11): through a real
// proxy (tinyproxy, started here with a generated config on a free port),
// NO_PROXY bypassing it, a CONNECT tunnel to a TLS origin, custom CAs (a test
// CA generated here with OpenSSL), IPv6 literals against the emulator on
// ::1, and a name with several addresses tried in turn.
#include "providers/emulator/emulator.hpp"
#include "src/net/connection.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

namespace reelbatch {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using asio::ip::tcp;

// ---- helpers -------------------------------------------------------------------

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "reelbatch-net-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

bool port_accepts(unsigned short port) {
  asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

// Runs `aw` on `io` until it completes; returns its result.
template <class T>
T run_until_done(asio::io_context& io, asio::awaitable<T> aw) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(aw)); }, asio::detached);
  io.restart();
  io.run();
  return std::move(*out);
}

// Runs one request on a private io_context and returns its outcome.
Result<HttpResponse, NetError> fetch(HttpRequest req, ProxyEnv env = {}) {
  asio::io_context io;
  HttpClient client(io.get_executor(), std::move(env));
  return run_until_done(io, client.async_request(std::move(req)));
}

HttpRequest get(std::string url, NetOptions net = {}) {
  HttpRequest r;
  r.url = std::move(url);
  r.timeout = std::chrono::seconds(10);
  r.net = std::move(net);
  return r;
}

// A plain HTTP origin on 127.0.0.1 that echoes what it saw.
struct Origin {
  asio::io_context io;
  net::HttpServer server;
  unsigned short port = 0;
  std::atomic<int> hits{0};
  std::thread thread;
  explicit Origin(const std::string& host = "127.0.0.1")
      : server(io.get_executor(), [this](const net::Request& r) {
          ++hits;
          return net::Response(200, "text/plain",
                               "target=" + r.target + "\nvia=" + r.header("Via") +
                                   "\nproxy-auth=" + r.header("Proxy-Authorization"));
        }) {
    port = server.listen(host, 0);
    thread = std::thread([this] { io.run(); });
  }
  ~Origin() {
    asio::post(io, [this] {
      server.stop();
      io.stop();
    });
    thread.join();
  }
};

// tinyproxy on a free loopback port with a generated config; its log file
// tells which requests went through it.
struct Tinyproxy {
  TempDir dir;
  unsigned short port = 0;
  pid_t pid = -1;
  fs::path log;

  static bool available() { return std::system("command -v tinyproxy >/dev/null 2>&1") == 0; }

  explicit Tinyproxy(const std::string& basic_auth = "") {
    port = free_port();
    log = dir.path / "tinyproxy.log";
    std::string conf = "Port " + std::to_string(port) + "\nListen 127.0.0.1\nTimeout 10\nLogFile \"" +
                       log.string() + "\"\nLogLevel Info\nMaxClients 20\n";
    if (!basic_auth.empty()) conf += "BasicAuth " + basic_auth + "\n";
    spit(dir.path / "tinyproxy.conf", conf);
    const std::string conf_path = (dir.path / "tinyproxy.conf").string();
    pid = fork();
    if (pid == 0) {
      const std::string out = (dir.path / "stderr.txt").string();
      freopen(out.c_str(), "w", stdout);
      freopen(out.c_str(), "w", stderr);
      execlp("tinyproxy", "tinyproxy", "-d", "-c", conf_path.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !port_accepts(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ~Tinyproxy() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int st = 0;
      waitpid(pid, &st, 0);
    }
  }
  std::string url(const std::string& creds = "") const {
    return "http://" + (creds.empty() ? "" : creds + "@") + "127.0.0.1:" + std::to_string(port);
  }
  std::string log_text() const { return slurp(log); }
};

// ---- a test PKI (OpenSSL APIs) and a TLS origin ------------------------------

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

CertPtr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca, long serial,
                  const char* san = "DNS:localhost,IP:127.0.0.1,IP:::1") {
  CertPtr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_ext(cert.get(), signer, NID_subject_alt_name, san);
  }
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

std::string pem_of(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

struct TestPki {
  std::string ca_pem, server_cert_pem, server_key_pem;
  /// `san`: the names the server certificate is valid for.
  explicit TestPki(const char* san = "DNS:localhost,IP:127.0.0.1,IP:::1") {
    KeyPtr ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    KeyPtr srv_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    CertPtr ca = make_cert(ca_key.get(), "reelbatch test CA", nullptr, nullptr, true, 1);
    CertPtr srv = make_cert(srv_key.get(), "localhost", ca.get(), ca_key.get(), false, 2, san);
    ca_pem = pem_of(ca.get());
    server_cert_pem = pem_of(srv.get());
    server_key_pem = pem_of(srv_key.get());
  }
};

// A TLS origin on 127.0.0.1: one request per connection, answers "tls-ok".
struct TlsOrigin {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  unsigned short port = 0;
  std::atomic<int> served{0};
  std::atomic<int> handshake_failures{0};
  std::thread thread;

  explicit TlsOrigin(const TestPki& pki) {
    ctx.use_certificate_chain(asio::buffer(pki.server_cert_pem));
    ctx.use_private_key(asio::buffer(pki.server_key_pem), asio::ssl::context::pem);
    port = acceptor.local_endpoint().port();
    asio::co_spawn(io, accept_loop(), asio::detached);
    thread = std::thread([this] { io.run(); });
  }
  ~TlsOrigin() {
    asio::post(io, [this] {
      boost::system::error_code ec;
      acceptor.close(ec);
      io.stop();
    });
    thread.join();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io, session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    beast::ssl_stream<beast::tcp_stream> s(beast::tcp_stream(std::move(sock)), ctx);
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
    auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hec) {
      ++handshake_failures;
      co_return;
    }
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(s, buf, req, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = "tls-ok " + std::string(req.target());
    res.prepare_payload();
    ++served;
    co_await http::async_write(s, res, asio::as_tuple(asio::use_awaitable));
    co_await s.async_shutdown(asio::as_tuple(asio::use_awaitable));
  }
};

// ---- proxies -------------------------------------------------------------------

TEST(NetProxy, HttpRequestsGoThroughTheProxyInAbsoluteForm) {
  if (!Tinyproxy::available()) GTEST_SKIP() << "tinyproxy not installed";
  Origin origin;
  Tinyproxy proxy;
  const std::string url = "http://127.0.0.1:" + std::to_string(origin.port) + "/v1/x?a=1";
  auto r = fetch(get(url), ProxyEnv{proxy.url(), "", ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("target=/v1/x?a=1"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("(tinyproxy/"), std::string::npos) << r->body;  // Via: the proxy forwarded it
  EXPECT_NE(proxy.log_text().find("GET " + url), std::string::npos) << proxy.log_text();
}

TEST(NetProxy, NoProxyBypassesTheProxy) {
  if (!Tinyproxy::available()) GTEST_SKIP() << "tinyproxy not installed";
  Origin origin;
  Tinyproxy proxy;
  const std::string url = "http://127.0.0.1:" + std::to_string(origin.port) + "/direct";
  for (const char* no_proxy : {"127.0.0.1", "127.0.0.0/8", "localhost,127.0.0.1:" }) {
    std::string np = no_proxy;
    if (np.back() == ':') np += std::to_string(origin.port);
    auto r = fetch(get(url), ProxyEnv{proxy.url(), proxy.url(), np});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(r->body.find("via=\n"), std::string::npos) << np << ": " << r->body;
  }
  // proxy = "" in a profile: direct although the environment names a proxy.
  auto r = fetch(get(url, NetOptions{std::string(""), "", "", false}), ProxyEnv{proxy.url(), proxy.url(), ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->body.find("via=\n"), std::string::npos) << r->body;
  EXPECT_EQ(proxy.log_text().find("/direct"), std::string::npos) << proxy.log_text();
  EXPECT_EQ(origin.hits.load(), 4);
}

TEST(NetProxy, ProfileProxyWithCredentialsSendsProxyAuthorizationAndNeverShowsThePassword) {
  if (!Tinyproxy::available()) GTEST_SKIP() << "tinyproxy not installed";
  Origin origin;
  Tinyproxy proxy("reel s3cr3tpw");
  const std::string url = "http://127.0.0.1:" + std::to_string(origin.port) + "/auth";
  // The profile's proxy wins over an (unused) environment proxy.
  auto ok = fetch(get(url, NetOptions{proxy.url("reel:s3cr3tpw"), "", "", false}),
                  ProxyEnv{"http://127.0.0.1:1", "", ""});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("(tinyproxy/"), std::string::npos) << ok->body;
  EXPECT_TRUE(ok->body.ends_with("proxy-auth=")) << "the proxy consumes it: " << ok->body;
  EXPECT_EQ(origin.hits.load(), 1);

  // Wrong credentials: the proxy answers (tinyproxy: 401 or 407), the origin never sees it.
  auto refused = fetch(get(url, NetOptions{proxy.url("reel:wrong"), "", "", false}));
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_TRUE(refused->status == 407 || refused->status == 401) << refused->status;
  EXPECT_EQ(origin.hits.load(), 1);

  // A dead proxy: the error names it without the password.
  auto dead = fetch(get(url, NetOptions{"http://reel:s3cr3tpw@127.0.0.1:" + std::to_string(free_port()), "", "",
                                        false}));
  ASSERT_FALSE(dead);
  EXPECT_EQ(dead.error().code, NetErrc::connect);
  EXPECT_FALSE(dead.error().request_sent);
  EXPECT_NE(dead.error().message.find("proxy http://***@127.0.0.1:"), std::string::npos) << dead.error().message;
  EXPECT_EQ(dead.error().message.find("s3cr3tpw"), std::string::npos) << dead.error().message;
}

TEST(NetProxy, HttpsGoesThroughAConnectTunnelWithCredentials) {
  if (!Tinyproxy::available()) GTEST_SKIP() << "tinyproxy not installed";
  TempDir dir;
  TestPki pki;
  spit(dir.path / "ca.pem", pki.ca_pem);
  TlsOrigin origin(pki);
  Tinyproxy proxy("reel s3cr3tpw");
  const std::string url = "https://localhost:" + std::to_string(origin.port) + "/tunnel";
  NetOptions net{std::nullopt, (dir.path / "ca.pem").string(), "", false};
  auto r = fetch(get(url, net), ProxyEnv{"", proxy.url("reel:s3cr3tpw"), ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "tls-ok /tunnel");
  EXPECT_NE(proxy.log_text().find("CONNECT localhost:" + std::to_string(origin.port)), std::string::npos)
      << proxy.log_text();

  auto denied = fetch(get(url, net), ProxyEnv{"", proxy.url(), ""});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, NetErrc::connect);
  EXPECT_NE(denied.error().message.find("refused CONNECT localhost:" + std::to_string(origin.port) + ": 407"),
            std::string::npos)
      << denied.error().message;
}

// ---- TLS trust -----------------------------------------------------------------

TEST(NetTls, TrustedWithCaFileRefusedWithoutIt) {
  TempDir dir;
  TestPki pki;
  spit(dir.path / "ca.pem", pki.ca_pem);
  TlsOrigin origin(pki);
  const std::string port = std::to_string(origin.port);

  auto trusted = fetch(get("https://localhost:" + port + "/a", NetOptions{"", (dir.path / "ca.pem").string()}));
  ASSERT_TRUE(trusted) << trusted.error().message;
  EXPECT_EQ(trusted->body, "tls-ok /a");
  auto by_ip = fetch(get("https://127.0.0.1:" + port + "/b", NetOptions{"", (dir.path / "ca.pem").string(), "", true}));
  ASSERT_TRUE(by_ip) << by_ip.error().message;
  EXPECT_EQ(by_ip->body, "tls-ok /b");

  auto refused = fetch(get("https://localhost:" + port + "/c", NetOptions{""}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, NetErrc::tls);
  EXPECT_FALSE(refused.error().request_sent);
  const std::string& m = refused.error().message;
  EXPECT_NE(m.find("TLS handshake with localhost:" + port + " failed"), std::string::npos) << m;
  EXPECT_NE(m.find("X509: unable to get local issuer certificate"), std::string::npos) << m;
  EXPECT_EQ(origin.served.load(), 2);
}

TEST(NetTls, CaDirOnly) {
  TempDir dir;
  TestPki pki;
  fs::create_directories(dir.path / "certs");
  // OpenSSL looks CA files up by subject hash: <hash>.0.
  BIO* b = BIO_new_mem_buf(pki.ca_pem.data(), static_cast<int>(pki.ca_pem.size()));
  X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08lx.0", X509_subject_name_hash(ca));
  X509_free(ca);
  BIO_free(b);
  spit(dir.path / "certs" / hash, pki.ca_pem);
  TlsOrigin origin(pki);
  const std::string port = std::to_string(origin.port);
  auto ok = fetch(get("https://localhost:" + port + "/d", NetOptions{"", "", (dir.path / "certs").string(), true}));
  ASSERT_TRUE(ok) << ok.error().message;

}

TEST(NetTls, NameMismatchIsRefusedAndNamed) {
  TempDir dir;
  TestPki pki("DNS:api.example.test");  // valid, but for another name
  spit(dir.path / "ca.pem", pki.ca_pem);
  TlsOrigin origin(pki);
  const std::string port = std::to_string(origin.port);
  const NetOptions net{"", (dir.path / "ca.pem").string()};
  auto by_name = fetch(get("https://localhost:" + port + "/", net));
  ASSERT_FALSE(by_name);
  EXPECT_EQ(by_name.error().code, NetErrc::tls);
  EXPECT_NE(by_name.error().message.find("X509: hostname mismatch"), std::string::npos) << by_name.error().message;
  auto by_ip = fetch(get("https://127.0.0.1:" + port + "/", net));
  ASSERT_FALSE(by_ip);
  EXPECT_NE(by_ip.error().message.find("X509: IP address mismatch"), std::string::npos) << by_ip.error().message;
  EXPECT_EQ(origin.served.load(), 0);
}

TEST(NetTls, UnreadableCaFileIsNamed) {
  auto r = fetch(get("https://localhost:1/", NetOptions{"", "/nonexistent/ca.pem"}));
  // Port 1 refuses before TLS starts; the CA file is read at the handshake.
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, NetErrc::connect) << r.error().message;
  TestPki pki;
  TlsOrigin origin(pki);
  auto bad = fetch(get("https://localhost:" + std::to_string(origin.port) + "/", NetOptions{"", "/nonexistent/ca.pem"}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, NetErrc::tls);
  EXPECT_NE(bad.error().message.find("cannot load ca_file /nonexistent/ca.pem"), std::string::npos)
      << bad.error().message;
}

// ---- IPv6 and names ------------------------------------------------------------

TEST(NetIpv6, BracketedLiteralReachesTheEmulatorOnLoopbackV6) {
  asio::io_context io;
  emulator::Emulator emu(io.get_executor(), emulator::Options{});
  unsigned short port = 0;
  try {
    port = emu.listen("::1", 0);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind ::1: " << e.what();
  }
  std::thread t([&] { io.run(); });
  HttpRequest req = get("http://[::1]:" + std::to_string(port) + "/juhuo/open-api/v1/account/balance");
  req.headers = {{"Authorization", "Bearer sk-test"}};
  auto r = fetch(req);
  asio::post(io, [&] {
    emu.stop();
    io.stop();
  });
  t.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->body.find("\"code\""), std::string::npos) << r->status << " " << r->body;  // a juhuo envelope
}

TEST(NetNames, EveryAddressIsTriedInTurnWithinTheDeadline) {
  Origin origin;  // listens on 127.0.0.1 only: 127.0.0.2 and ::1 refuse
  const auto p = origin.port;
  std::vector<tcp::endpoint> eps{{asio::ip::make_address("127.0.0.2"), p},
                                 {asio::ip::make_address("127.0.0.1"), p}};
  asio::io_context io;
  beast::tcp_stream stream(io);
  auto r = run_until_done(io, net_detail::async_connect_in_turn(
                                  stream, eps, "test", std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->address().to_string(), "127.0.0.1");

  // All refuse: one error naming every address.
  beast::tcp_stream s2(io);
  const auto dead = free_port();
  std::vector<tcp::endpoint> none{{asio::ip::make_address("127.0.0.1"), dead},
                                  {asio::ip::make_address("127.0.0.2"), dead}};
  auto r2 = run_until_done(io, net_detail::async_connect_in_turn(
                                   s2, none, "h", std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, NetErrc::connect);
  EXPECT_NE(r2.error().message.find("127.0.0.1:" + std::to_string(dead)), std::string::npos) << r2.error().message;
  EXPECT_NE(r2.error().message.find("127.0.0.2:" + std::to_string(dead)), std::string::npos) << r2.error().message;
}

TEST(NetNames, LocalhostWithSeveralAddressesFallsBackToTheOneListening) {
  // Meaningful where localhost resolves to ::1 and 127.0.0.1 (most hosts);
  // the origin listens on one of them only.
  asio::io_context io;
  tcp::resolver res(io);
  boost::system::error_code ec;
  auto results = res.resolve("localhost", "80", ec);
  bool v4 = false, v6 = false;
  for (const auto& e : results) (e.endpoint().address().is_v6() ? v6 : v4) = true;
  if (ec || !v4 || !v6) GTEST_SKIP() << "localhost does not resolve to both ::1 and 127.0.0.1 here";
  Origin origin("127.0.0.1");
  auto r = fetch(get("http://localhost:" + std::to_string(origin.port) + "/both"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace reelbatch
