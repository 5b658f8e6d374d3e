// Durable download of one output file: stream to "<final>.part", resume an
// existing part with an HTTP Range request, fsync, rename into place and
// fsync the folder. The SHA-256 is computed while streaming.
#pragma once

#include "src/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class thread_pool;
}

namespace reelbatch {

class HttpClient;

struct DownloadedFile {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::string sha256;  ///< hex
  bool resumed = false;  ///< a Range request continued an earlier .part
};

struct DownloadError {
  int http_status = 0;    ///< 0 for transport and disk errors
  bool url_expired = false;  ///< 401/403/404/410 from a signed URL: re-query the task for a fresh one
  std::string message;
};

/// Downloads `url` (with `headers`, e.g. Authorization for content
/// endpoints) to `final_path`. `timeout` is the inactivity deadline per
/// chunk. Disk writes are bounded 64 KiB chunks on the caller's executor;
/// hashing an existing part before resuming runs on `pool`.
/// Never throws for network or HTTP failures (DownloadError); throws
/// std::system_error only when the output folder cannot be written.
boost::asio::awaitable<Result<DownloadedFile, DownloadError>> async_download_file(
    HttpClient& http, boost::asio::thread_pool& pool, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::filesystem::path& final_path, std::chrono::milliseconds timeout);

/// Writes `content` to `path` atomically (temp file, fsync, rename, fsync dir).
/// Throws std::system_error on failure.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

}  // namespace reelbatch
