// Durable download of one output file: stream to "<final>.part", resume an
// existing part with an HTTP Range request, validate (src/output/validate.hpp:
// size, content type, container signature), fsync, rename into place and
// fsync the folder. The SHA-256 is computed while streaming. A file under its
// final name is always complete and validated.
#pragma once

#include "src/core/result.hpp"
#include "src/net/http_client.hpp"

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

/// What kind of failure a DownloadError is.
enum class DownloadFault {
  transient,      ///< transport error, timeout, 5xx/429/other status, short body: try again later
  link_rejected,  ///< 401/403/404/410 from the link (url_expired is set): refresh the links
  invalid,        ///< a 2xx body that failed validation (error page, wrong signature); nothing kept
  disk,           ///< the output folder cannot take the file (`sys_errno`: ENOSPC, EDQUOT,
                  ///< EACCES, EROFS, ...); the .part is kept
};

struct DownloadError {
  int http_status = 0;    ///< 0 for transport and disk errors
  bool url_expired = false;  ///< 401/403/404/410 from a signed URL: re-query the task for a fresh one
  std::string message;
  DownloadFault fault = DownloadFault::transient;
  int sys_errno = 0;      ///< for DownloadFault::disk: the errno of the failed call
};

/// Downloads `url` (with `headers`, e.g. Authorization for content
/// endpoints) to `final_path`. `timeout` is the inactivity deadline per
/// chunk. Disk writes are bounded 64 KiB chunks on the caller's executor;
/// hashing an existing part before resuming, fsync and rename run on `pool`.
/// The body is checked with check_download() for expected_media(final_path)
/// before it is renamed into place.
/// Returns the file, or a DownloadError: transient (network, non-2xx status,
/// short body: the .part is kept for a Range resume), link_rejected
/// (401/403/404/410), invalid (the body failed validation: the .part is
/// removed; the message says what came back), disk (the folder cannot be
/// created or written, with errno; the .part is kept). Never throws for any
/// of these; only allocation failures escape. `net`: the profile's proxy
/// and trust settings (issue 11; kit::net_options()).
boost::asio::awaitable<Result<DownloadedFile, DownloadError>> async_download_file(
    HttpClient& http, boost::asio::thread_pool& pool, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::filesystem::path& final_path, std::chrono::milliseconds timeout, NetOptions net);

/// The same with default NetOptions (the environment's proxy, the system
/// trust store). A separate overload, not a default argument: GCC 12
/// destroys a coroutine's defaulted class-type argument twice (the
/// RealDownloader tests aborted with "free(): invalid pointer").
boost::asio::awaitable<Result<DownloadedFile, DownloadError>> async_download_file(
    HttpClient& http, boost::asio::thread_pool& pool, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::filesystem::path& final_path, std::chrono::milliseconds timeout);

/// Writes `content` to `path` atomically (temp file, fsync, rename, fsync dir).
/// Throws std::system_error on failure.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

}  // namespace reelbatch
