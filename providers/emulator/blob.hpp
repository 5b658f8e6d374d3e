// Serving bytes the way a CDN or object store does: signed expiring URLs,
// HTTP Range, ETag, HEAD. Also the assets embedded at build time.
#pragma once

#include "src/net/http_server.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reelbatch::emulator {

// The emulator serves through the shared HTTP server (src/net/http_server.hpp).
using net::Handler;
using net::Headers;
using net::HttpServer;
using net::percent_decode;
using net::Request;
using net::Response;
using net::ServerLimits;

/// providers/emulator/assets/sample.mp4 (a 2 s H.264 MP4), embedded at build time.
std::string_view asset_sample_mp4();
/// providers/emulator/assets/cover.jpg, embedded at build time.
std::string_view asset_cover_jpg();

/// Signs and checks expiring URLs with HMAC-SHA256 under a per-emulator secret:
///   token = hex HMAC-SHA256(secret, path "\n" expires "\n" extra)
/// `path` is the URL path as sent (no query), `expires` unix seconds, `extra`
/// whatever else the URL must be bound to (e.g. "PUT\nimage/png" for uploads).
/// A URL is valid while now < expires: a lifetime of 0 s is expired at once.
class UrlSigner {
 public:
  enum class Verdict { ok, missing, malformed, bad_token, expired };

  explicit UrlSigner(std::string secret);
  /// 32 random bytes as hex.
  static std::string random_secret();
  const std::string& secret() const { return secret_; }

  std::string token(std::string_view path, std::int64_t expires, std::string_view extra = {}) const;
  /// Checks `token` (hex) and `expires` (decimal unix seconds) as found in the URL.
  Verdict verify(std::string_view path, const std::optional<std::string>& expires,
                 const std::optional<std::string>& token, std::int64_t now_unix_s,
                 std::string_view extra = {}) const;

 private:
  std::string secret_;
};

const char* to_string(UrlSigner::Verdict v);

/// One byte range [first, last] (inclusive) of a body of `size` bytes.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

/// Outcome of a Range header against a body of a given size.
struct RangeRequest {
  enum Kind { none, single, unsatisfiable } kind = none;
  ByteRange range;
};

/// Parses a Range header (RFC 9110 14.2) for a body of `size` bytes. Supports
/// one range: "bytes=a-b", "bytes=a-", "bytes=-n". Syntactically invalid
/// headers, other units and multiple ranges are answered as `none` (the whole
/// body, as RFC 9110 allows a server to ignore Range).
RangeRequest parse_range(std::string_view header, std::uint64_t size);

/// Answers a GET or HEAD for `bytes` (other methods: 405): Accept-Ranges,
/// ETag "<sha256_hex>" (quoted), If-None-Match (304), If-Range, Range (206 with
/// Content-Range; 416 with "Content-Range: bytes */size" when unsatisfiable).
Response serve_bytes(const Request& req, std::string_view bytes, std::string_view content_type,
                     std::string_view sha256_hex);

}  // namespace reelbatch::emulator
