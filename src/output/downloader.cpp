#include "src/output/downloader.hpp"

#include "src/core/sha256.hpp"
#include "src/net/http_client.hpp"
#include "src/output/validate.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
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

namespace {

DownloadError disk_fault(int err, const std::string& what) {
  DownloadError e;
  e.fault = DownloadFault::disk;
  e.sys_errno = err;
  e.message = what + ": " + std::strerror(err);
  return e;
}

// The first bytes of an existing file (for the signature of a resumed part).
std::string read_head(const std::filesystem::path& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string buf(n, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(n));
  buf.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return buf;
}

// fsync the part, rename it into place, fsync the folder; returns 0 or the
// errno of the step that failed. Runs on the thread pool.
asio::awaitable<std::pair<int, std::string>> commit_part(int fd, std::filesystem::path part,
                                                         std::filesystem::path final_path) {
  if (::fsync(fd) != 0) co_return std::pair{errno, "cannot fsync " + part.string()};
  if (::rename(part.c_str(), final_path.c_str()) != 0) co_return std::pair{errno, "cannot rename " + part.string()};
  fsync_dir(final_path.parent_path());
  co_return std::pair{0, std::string()};
}

}  // namespace

asio::awaitable<Result<DownloadedFile, DownloadError>> async_download_file(
    HttpClient& http, asio::thread_pool& pool, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::filesystem::path& final_path,
    std::chrono::milliseconds timeout, NetOptions net) {
  std::error_code ec;
  std::filesystem::create_directories(final_path.parent_path(), ec);
  if (ec) co_return fail(disk_fault(ec.value(), "cannot create " + final_path.parent_path().string()));
  const std::filesystem::path part = final_path.string() + ".part";
  const MediaKind kind = expected_media(final_path);

  std::uint64_t have = std::filesystem::exists(part, ec) ? std::filesystem::file_size(part, ec) : 0;
  if (ec) have = 0;

  Sha256 hash;
  std::string head;
  if (have > 0) {
    auto [h, ok] = co_await asio::co_spawn(pool, hash_part(part), asio::use_awaitable);
    if (ok) {
      hash = std::move(h);
      head = read_head(part, 64);
    } else {
      have = 0;
    }
  }

  HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.headers = headers;
  req.timeout = timeout;
  req.net = std::move(net);
  if (have > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(have) + "-");

  // The part file is opened on the first chunk, once the status says whether
  // the server honoured the Range (206: append) or sent everything (200).
  std::unique_ptr<Fd> out;
  std::uint64_t written = 0;
  bool resumed = false;
  std::optional<DownloadError> disk_error;
  BodySink sink = [&](int status, std::string_view chunk) {
    if (!out) {
      resumed = have > 0 && status == 206;
      if (!resumed && have > 0) {  // full body: start over
        hash = Sha256();
        head.clear();
      }
      const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resumed ? O_APPEND : O_TRUNC);
      out = std::make_unique<Fd>(::open(part.c_str(), flags, 0644));
      if (out->get() < 0) {
        disk_error = disk_fault(errno, "cannot open " + part.string());
        return false;
      }
    }
    if (!write_all(out->get(), chunk)) {
      disk_error = disk_fault(errno, "cannot write " + part.string());
      return false;
    }
    if (head.size() < 64) head.append(chunk.substr(0, 64 - head.size()));
    hash.update(chunk);
    written += chunk.size();
    return true;
  };

  auto r = co_await http.async_download(req, sink);
  if (disk_error) co_return fail(std::move(*disk_error));
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
    DownloadError e{status, expired, "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body)};
    if (expired) e.fault = DownloadFault::link_rejected;
    co_return fail(std::move(e));
  }
  if (!out) {  // empty body
    out = std::make_unique<Fd>(::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out->get() < 0) co_return fail(disk_fault(errno, "cannot create " + part.string()));
  }

  DownloadFacts facts;
  facts.http_status = status;
  facts.content_type = r->header("Content-Type");
  const std::string length = r->header("Content-Length");
  if (!length.empty()) {
    try {
      facts.content_length = std::stoull(length);
    } catch (const std::exception&) {
    }
  }
  facts.received = written;
  facts.file_size = (resumed ? have : 0) + written;
  facts.head = head;
  if (auto bad = check_download(facts, kind)) {
    out.reset();
    // A short body is resumed with a Range request next time; anything else
    // (an error page, a wrong file) is thrown away.
    if (!bad->truncated) std::filesystem::remove(part, ec);
    DownloadError e{status, false, bad->message};
    if (!bad->truncated) e.fault = DownloadFault::invalid;
    co_return fail(std::move(e));
  }
  const auto [err, what] =
      co_await asio::co_spawn(pool, commit_part(out->get(), part, final_path), asio::use_awaitable);
  out.reset();
  if (err != 0) co_return fail(disk_fault(err, what));

  DownloadedFile f;
  f.path = final_path;
  f.bytes = facts.file_size;
  f.sha256 = hash.hex_digest();
  f.resumed = resumed;
  co_return f;
}

// Not a coroutine: the NetOptions temporary is moved into the coroutine's
// frame as an ordinary argument (see the header about GCC 12).
asio::awaitable<Result<DownloadedFile, DownloadError>> async_download_file(
    HttpClient& http, asio::thread_pool& pool, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::filesystem::path& final_path,
    std::chrono::milliseconds timeout) {
  return async_download_file(http, pool, url, headers, final_path, timeout, NetOptions{});
}

}  // namespace reelbatch
