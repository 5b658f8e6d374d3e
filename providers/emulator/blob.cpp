#include "providers/emulator/blob.hpp"

#include "src/core/sha256.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <stdexcept>

namespace reelbatch::emulator {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  if (!all_digits(s) || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when an If-None-Match list contains `etag` (weak comparison) or "*".
bool etag_listed(std::string_view list, std::string_view etag) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item == "*") return true;
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

}  // namespace

// ---- UrlSigner ------------------------------------------------------------

UrlSigner::UrlSigner(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) throw std::invalid_argument("UrlSigner: empty secret");
}

std::string UrlSigner::random_secret() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) {
    std::random_device rd;
    for (auto& b : buf) b = static_cast<unsigned char>(rd());
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

std::string UrlSigner::token(std::string_view path, std::int64_t expires, std::string_view extra) const {
  std::string data(path);
  data += '\n';
  data += std::to_string(expires);
  data += '\n';
  data += extra;
  return hmac_sha256_hex(secret_, data);
}

UrlSigner::Verdict UrlSigner::verify(std::string_view path, const std::optional<std::string>& expires,
                                     const std::optional<std::string>& token, std::int64_t now_unix_s,
                                     std::string_view extra) const {
  if (!expires || !token) return Verdict::missing;
  const auto exp = to_u64(*expires);
  if (!exp || *exp > static_cast<std::uint64_t>(INT64_MAX)) return Verdict::malformed;
  const std::string expected = this->token(path, static_cast<std::int64_t>(*exp), extra);
  if (token->size() != expected.size() || CRYPTO_memcmp(token->data(), expected.data(), expected.size()) != 0)
    return Verdict::bad_token;
  if (now_unix_s >= static_cast<std::int64_t>(*exp)) return Verdict::expired;
  return Verdict::ok;
}

const char* to_string(UrlSigner::Verdict v) {
  switch (v) {
    case UrlSigner::Verdict::ok: return "ok";
    case UrlSigner::Verdict::missing: return "missing signature";
    case UrlSigner::Verdict::malformed: return "malformed expiry";
    case UrlSigner::Verdict::bad_token: return "signature does not match";
    case UrlSigner::Verdict::expired: return "expired";
  }
  return "?";
}

// ---- Range ----------------------------------------------------------------

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  RangeRequest out;
  header = trim(header);
  if (header.size() < 6 || !iequals(header.substr(0, 6), "bytes=")) return out;
  std::string_view spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return out;  // multiple ranges: whole body
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return out;
  const std::string_view a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
  if (a.empty()) {  // suffix: last n bytes
    const auto n = to_u64(b);
    if (!n) return out;
    if (*n == 0 || size == 0) {
      out.kind = RangeRequest::unsatisfiable;
      return out;
    }
    out.kind = RangeRequest::single;
    out.range = {size - std::min(*n, size), size - 1};
    return out;
  }
  const auto first = to_u64(a);
  if (!first) return out;
  std::uint64_t last = UINT64_MAX;
  if (!b.empty()) {
    const auto l = to_u64(b);
    if (!l || *l < *first) return out;  // invalid syntax: ignored
    last = *l;
  }
  if (*first >= size) {
    out.kind = RangeRequest::unsatisfiable;
    return out;
  }
  out.kind = RangeRequest::single;
  out.range = {*first, std::min(last, size - 1)};
  return out;
}

Response serve_bytes(const Request& req, std::string_view bytes, std::string_view content_type,
                     std::string_view sha256_hex) {
  const std::string etag = "\"" + std::string(sha256_hex) + "\"";
  if (req.method != "GET" && req.method != "HEAD") {
    Response r(405, "text/plain", "method not allowed\n");
    r.set("Allow", "GET, HEAD");
    return r;
  }
  const std::uint64_t size = bytes.size();
  Response r;
  r.set("Accept-Ranges", "bytes");
  r.set("ETag", etag);

  if (req.has_header("If-None-Match") && etag_listed(req.header("If-None-Match"), etag)) {
    r.status = 304;
    return r;
  }
  RangeRequest range;
  if (req.has_header("Range")) {
    const bool if_range_ok = !req.has_header("If-Range") || trim(req.header("If-Range")) == etag;
    if (if_range_ok) range = parse_range(req.header("Range"), size);
  }
  switch (range.kind) {
    case RangeRequest::none:
      r.status = 200;
      r.set("Content-Type", std::string(content_type));
      r.body.assign(bytes);
      return r;
    case RangeRequest::unsatisfiable:
      r.status = 416;
      r.set("Content-Type", "text/plain");
      r.set("Content-Range", "bytes */" + std::to_string(size));
      r.body = "range not satisfiable\n";
      return r;
    case RangeRequest::single:
      r.status = 206;
      r.set("Content-Type", std::string(content_type));
      r.set("Content-Range", "bytes " + std::to_string(range.range.first) + "-" + std::to_string(range.range.last) +
                                 "/" + std::to_string(size));
      r.body.assign(bytes.substr(range.range.first, range.range.last - range.range.first + 1));
      return r;
  }
  return r;
}

}  // namespace reelbatch::emulator
