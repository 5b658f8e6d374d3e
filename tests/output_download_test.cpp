// The real downloader (src/output/downloader.hpp) against a loopback
// HttpServer on an ephemeral 127.0.0.1 port: issue 7 case 7 (a 200 text/html
// error page is never saved as the .mp4), a body with the wrong signature, a
// rejected link, and a good file renamed into place.
#include "src/core/sha256.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"
#include "src/output/downloader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace reelbatch {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

const std::string kMp4 = "\x00\x00\x00\x18" "ftypmp42\x00\x00\x00\x00"s + std::string(5000, 'v');
const std::string kHtml = "<html><body>error 12345</body></html>\n";  // 38 bytes

class RealDownloader : public ::testing::Test {
 protected:
  RealDownloader() {
    dir = fs::temp_directory_path() / ("reelbatch-dl-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    port = server.listen("127.0.0.1", 0);
  }
  ~RealDownloader() override {
    server.stop();
    pool.join();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  Result<DownloadedFile, DownloadError> get(const std::string& path, const fs::path& to) {
    std::optional<Result<DownloadedFile, DownloadError>> out;
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
    auto task = [&]() -> boost::asio::awaitable<void> {
      out = co_await async_download_file(http, pool, url, {}, to, std::chrono::seconds(10));
    };
    boost::asio::co_spawn(io, task(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!out && std::chrono::steady_clock::now() < end) {
      io.run_for(std::chrono::milliseconds(20));
      io.restart();
    }
    if (!out) throw std::runtime_error("download did not finish");
    return std::move(*out);
  }

  static std::string read(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  boost::asio::io_context io;
  boost::asio::thread_pool pool{1};
  HttpClient http{io.get_executor()};
  net::HttpServer server{io.get_executor(), [](const net::Request& req) {
                           if (req.path() == "/html") return net::Response(200, "text/html", kHtml);
                           if (req.path() == "/json") return net::Response(200, "video/mp4", "{\"error\":\"busy\"}");
                           if (req.path() == "/gone") return net::Response(404, "text/plain", "not found");
                           return net::Response(200, "video/mp4", kMp4);
                         }};
  unsigned short port = 0;
  fs::path dir;
};

TEST_F(RealDownloader, Case7_HtmlErrorPageIsNotSaved) {
  const fs::path to = dir / "r1.mp4";
  auto r = get("/html", to);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fault, DownloadFault::invalid);
  EXPECT_NE(r.error().message.find("HTTP 200, Content-Type text/html, 38 bytes"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(fs::exists(to));
  EXPECT_FALSE(fs::exists(to.string() + ".part"));
}

TEST_F(RealDownloader, Case7_WrongSignatureIsNotSaved) {
  const fs::path to = dir / "r1.mp4";
  auto r = get("/json", to);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fault, DownloadFault::invalid);
  EXPECT_NE(r.error().message.find("no video container signature"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("starts with \"{\"error\":\"busy\"}\""), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(to));
}

TEST_F(RealDownloader, RejectedLinkIsReportedForARefresh) {
  auto r = get("/gone", dir / "r1.mp4");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fault, DownloadFault::link_rejected);
  EXPECT_TRUE(r.error().url_expired);
  EXPECT_EQ(r.error().http_status, 404);
}

TEST_F(RealDownloader, GoodFileIsRenamedIntoPlace) {
  const fs::path to = dir / "sub" / "r1.mp4";
  auto r = get("/good", to);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(read(to), kMp4);
  EXPECT_EQ(r->bytes, kMp4.size());
  EXPECT_EQ(r->sha256, sha256_hex(kMp4));
  EXPECT_FALSE(fs::exists(to.string() + ".part"));
}

TEST_F(RealDownloader, UnusableFolderIsADiskFault) {
  const fs::path blocker = dir / "file";
  std::ofstream(blocker) << "x";
  auto r = get("/good", blocker / "r1.mp4");  // a folder below a regular file
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fault, DownloadFault::disk);
  EXPECT_NE(r.error().sys_errno, 0);
}

}  // namespace
}  // namespace reelbatch
