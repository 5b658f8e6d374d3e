#include "src/output/downloader.hpp"

#include "src/core/sha256.hpp"
#include "src/net/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace reelbatch {
namespace asio = boost::asio;

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void fsync_dir(const std::filesystem::path& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  if (d.get() >= 0) ::fsync(d.get());
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Hashes an existing .part file; runs on the thread pool.
asio::awaitable<std::pair<Sha256, bool>> hash_part(std::filesystem::path path) {
  Sha256 h;
  std::ifstream in(path, std::ios::binary);
  if (!in) co_return std::pair{std::move(h), false};
  std::string buf(256 * 1024, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  co_return std::pair{std::move(h), !in.bad()};
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  const auto tmp = path.string() + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw_errno("cannot create " + tmp);
    if (!write_all(fd.get(), content) || ::fsync(fd.get()) != 0) throw_errno("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("cannot rename " + tmp);
  fsync_dir(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

asio::awaitable<Result<DownloadedFile, DownloadError>> async_download_file(
    HttpClient& http, asio::thread_pool& pool, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::filesystem::path& final_path,
    std::chrono::milliseconds timeout) {
  std::filesystem::create_directories(final_path.parent_path());
  const std::filesystem::path part = final_path.string() + ".part";

  std::error_code ec;
  std::uint64_t have = std::filesystem::exists(part, ec) ? std::filesystem::file_size(part, ec) : 0;
  if (ec) have = 0;

  Sha256 hash;
  if (have > 0) {
    auto [h, ok] = co_await asio::co_spawn(pool, hash_part(part), asio::use_awaitable);
    if (ok) hash = std::move(h); else have = 0;
  }

  HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.headers = headers;
  req.timeout = timeout;
  if (have > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(have) + "-");

  // The part file is opened on the first chunk, once the status says whether
  // the server honoured the Range (206: append) or sent everything (200).
  std::unique_ptr<Fd> out;
  std::uint64_t written = 0;
  bool resumed = false;
  std::string disk_error;
  BodySink sink = [&](int status, std::string_view chunk) {
    if (!out) {
      resumed = have > 0 && status == 206;
      if (!resumed && have > 0) hash = Sha256();  // full body: start over
      const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resumed ? O_APPEND : O_TRUNC);
      out = std::make_unique<Fd>(::open(part.c_str(), flags, 0644));
      if (out->get() < 0) {
        disk_error = "cannot open " + part.string() + ": " + std::strerror(errno);
        return false;
      }
    }
    if (!write_all(out->get(), chunk)) {
      disk_error = "cannot write " + part.string() + ": " + std::strerror(errno);
      return false;
    }
    hash.update(chunk);
    written += chunk.size();
    return true;
  };

  auto r = co_await http.async_download(req, sink);
  if (!disk_error.empty()) throw std::system_error(EIO, std::generic_category(), disk_error);
  if (!r) co_return fail(DownloadError{0, false, r.error().message});
  const int status = r->status;
  if (status == 416 && have > 0) {
    // The part is already complete (or longer than the file): start over.
    std::filesystem::remove(part, ec);
    co_return fail(DownloadError{status, false, "range not satisfiable; restarting the download"});
  }
  if (status < 200 || status >= 300) {
    const bool expired = status == 401 || status == 403 || status == 404 || status == 410;
    std::string body = r->body.substr(0, 300);
    co_return fail(DownloadError{status, expired, "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body)});
  }
  if (!out) {  // empty body
    out = std::make_unique<Fd>(::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out->get() < 0) throw_errno("cannot create " + part.string());
  }
  const std::string length = r->header("Content-Length");
  if (!length.empty() && std::to_string(written) != length)
    co_return fail(DownloadError{status, false, "truncated body: got " + std::to_string(written) +
                                                 " of " + length + " bytes"});
  if (::fsync(out->get()) != 0) throw_errno("cannot fsync " + part.string());
  out.reset();
  if (::rename(part.c_str(), final_path.c_str()) != 0) throw_errno("cannot rename " + part.string());
  fsync_dir(final_path.parent_path());

  DownloadedFile f;
  f.path = final_path;
  f.bytes = (resumed ? have : 0) + written;
  f.sha256 = hash.hex_digest();
  f.resumed = resumed;
  co_return f;
}

}  // namespace reelbatch
