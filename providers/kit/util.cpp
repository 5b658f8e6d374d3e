// Helpers shared by the provider adapters; see kit/util.hpp.
#include "providers/kit/util.hpp"

#include "src/net/retry_after.hpp"
#include "src/core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <fstream>
#include <iterator>

namespace reelbatch::kit {
namespace json = boost::json;
using std::chrono::milliseconds;

// ---- ASCII text ------------------------------------------------------------------------

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// ---- messages --------------------------------------------------------------------------

std::string elide_url_queries(std::string text) {
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = std::min(text.find("http://", pos), text.find("https://", pos));
    if (start == std::string::npos) break;
    std::size_t end = start;
    while (end < text.size() && text[end] != ' ' && text[end] != '"' && text[end] != '\'' && text[end] != '<' &&
           text[end] != '>' && text[end] != '\n' && text[end] != '\r' && text[end] != '\t')
      ++end;
    const std::size_t q = text.find('?', start);
    if (q != std::string::npos && q < end) {
      text.replace(q, end - q, "?…");
      end = q + std::string_view("?…").size();
    }
    pos = end;
  }
  return text;
}

std::string excerpt(std::string_view body, std::size_t max, bool elide_urls) {
  body = trim(body);
  bool cut = false;
  if (body.size() > max) {
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80) --n;
    body = body.substr(0, n);
    cut = true;
  }
  std::string out;
  out.reserve(body.size() + 3);
  for (char c : body) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (cut) out += "…";
  return elide_urls ? elide_url_queries(std::move(out)) : out;
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  std::size_t pos = 0;
  while ((pos = text.find(secret, pos)) != std::string::npos) {
    text.replace(pos, secret.size(), "[redacted]");
    pos += std::string_view("[redacted]").size();
  }
  return text;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

// ---- errors ----------------------------------------------------------------------------

bool is_2xx(int status) { return status >= 200 && status < 300; }

ProviderError make_error(ErrorClass cls, const std::string& profile, int http_status, std::string code,
                         std::string message, std::optional<milliseconds> retry_after) {
  ProviderError e;
  e.cls = cls;
  e.provider = profile;
  e.http_status = http_status;
  e.code = std::move(code);
  e.message = std::move(message);
  if (cls == ErrorClass::rate_limited || cls == ErrorClass::retryable) e.retry_after = retry_after;
  return e;
}

ProviderError bad_response(int http_status, std::string_view what, const std::string& profile, bool is_submit,
                           std::string_view submit_advice, std::string_view retry_advice) {
  if (is_submit)
    return make_error(ErrorClass::unknown_outcome, profile, http_status, "bad_response",
                      "unusable submit answer (" + std::string(what) + ")" + std::string(submit_advice));
  return make_error(ErrorClass::retryable, profile, http_status, "bad_response",
                    "unusable answer (" + std::string(what) + ")" + std::string(retry_advice));
}

ProviderError from_net_error(const NetError& e, const std::string& profile, bool is_submit,
                             const NetErrorText& text) {
  const std::string code = e.code == NetErrc::timeout ? "timeout" : "network";
  const std::string what = elide_url_queries(e.message);
  if (is_submit && e.request_sent)
    return make_error(ErrorClass::unknown_outcome, profile, 0, code,
                      std::string(text.sent_prefix) + what + std::string(text.sent_suffix));
  if (e.code == NetErrc::bad_url)
    return make_error(ErrorClass::permanent, profile, 0, code,
                      std::string(text.bad_url) + " (" + what + "; check base_url)");
  return make_error(ErrorClass::retryable, profile, 0, code,
                    std::string(e.code == NetErrc::timeout ? text.timeout : text.network) + " (" + what +
                        (e.request_sent ? "" : "; the request was not sent") + "; will retry)");
}

ProviderError local_error(const ProfileConfig& profile, std::string message) {
  return make_error(ErrorClass::permanent, profile.name, 0, "local", redact(std::move(message), profile.api_key));
}

ProviderError scrub(ProviderError e, std::string_view secret) {
  e.message = redact(std::move(e.message), secret);
  return e;
}

// ---- JSON field readers ------------------------------------------------------------------

bool read_string(const json::object& o, std::string_view key, bool required, std::string& out, std::string& why,
                 bool allow_integer) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (required) why = "missing " + std::string(key);
    return !required;
  }
  if (const auto* s = v->if_string()) {
    out.assign(s->data(), s->size());
    if (required && out.empty()) {
      why = "empty " + std::string(key);
      return false;
    }
    return true;
  }
  if (allow_integer && (v->is_int64() || v->is_uint64())) {
    out = json::serialize(*v);
    return true;
  }
  why = std::string(key) + " is not a string";
  return false;
}

bool read_number(const json::object& o, std::string_view key, bool required, std::optional<double>& out,
                 std::string& why) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (required) why = "missing " + std::string(key);
    return !required;
  }
  if (v->is_number()) {
    boost::system::error_code ec;
    const double d = v->to_number<double>(ec);
    if (!ec) {
      out = d;
      return true;
    }
  } else if (const auto* s = v->if_string()) {
    const std::string_view t = trim(std::string_view(s->data(), s->size()));
    double d = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (!t.empty() && ec == std::errc() && p == t.data() + t.size()) {
      out = d;
      return true;
    }
  }
  why = std::string(key) + " is not a number";
  return false;
}

std::optional<std::int64_t> int64_of(const json::value* v, bool allow_numeric_string) {
  if (!v) return std::nullopt;
  if (v->is_number()) {
    boost::system::error_code ec;
    const auto i = v->to_number<std::int64_t>(ec);  // a double must be integral
    if (!ec) return i;
    return std::nullopt;
  }
  if (const auto* s = v->if_string(); s && allow_numeric_string) {
    std::int64_t i = 0;
    const std::string_view t = trim(std::string_view(s->data(), s->size()));
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
    if (!t.empty() && ec == std::errc() && p == t.data() + t.size()) return i;
  }
  return std::nullopt;
}

bool read_int64(const json::object& o, std::string_view key, std::optional<std::int64_t>& out, std::string& why,
                bool allow_numeric_string) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (auto i = int64_of(v, allow_numeric_string)) {
    out = *i;
    return true;
  }
  why = std::string(key) + " is not an integer";
  return false;
}

// ---- the {"code", "message", "result"} envelope --------------------------------------------

const json::value* CodeEnvelope::result() const {
  const json::value* r = doc.as_object().if_contains("result");
  return (r && !r->is_null()) ? r : nullptr;
}

std::optional<CodeEnvelope> parse_code_envelope(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* code = v.as_object().if_contains("code");
  if (!code) return std::nullopt;
  CodeEnvelope env;
  if (const auto* s = code->if_string())
    env.code = std::string(s->data(), s->size());
  else if (const auto* i = code->if_int64())
    env.code = std::to_string(*i);
  else if (const auto* u = code->if_uint64())
    env.code = std::to_string(*u);
  else
    return std::nullopt;
  if (env.code.empty()) return std::nullopt;
  if (const json::value* m = v.as_object().if_contains("message"))
    if (const auto* s = m->if_string()) env.message = std::string(s->data(), s->size());
  env.doc = std::move(v);
  return env;
}

// ---- HTTP --------------------------------------------------------------------------------

std::string join_url(std::string_view base_url, std::string_view path_and_query) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url) + std::string(path_and_query);
}

std::pair<std::string, std::string> bearer_auth(std::string_view api_key) {
  return {"Authorization", "Bearer " + std::string(api_key)};
}

HttpRequest make_api_request(std::string method, std::string url, std::pair<std::string, std::string> auth,
                             std::string body, std::string content_type, milliseconds timeout) {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.headers = {std::move(auth), {"Accept", "application/json"}};
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", std::move(content_type));
  req.body = std::move(body);
  req.timeout = timeout;
  return req;
}

NetOptions net_options(const ProfileConfig& profile) {
  NetOptions o;
  o.proxy = profile.network.proxy;
  o.ca_file = profile.network.ca_file.string();
  o.ca_dir = profile.network.ca_dir.string();
  o.ca_only = profile.network.ca_only;
  return o;
}

HttpRequest api_request(const ProfileConfig& profile, std::string method, std::string url,
                        std::pair<std::string, std::string> auth, std::string body, std::string content_type) {
  HttpRequest req = make_api_request(std::move(method), std::move(url), std::move(auth), std::move(body),
                                     std::move(content_type), profile.request_timeout);
  req.net = net_options(profile);
  return req;
}

HttpRequest presigned_upload_request(std::string method, std::string url, std::string_view content_type,
                                     std::string bytes, milliseconds timeout) {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.headers = {{"Content-Type", std::string(content_type)}};
  req.body = std::move(bytes);
  req.timeout = timeout;
  return req;
}

HttpRequest json_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                             std::string body, std::pair<std::string, std::string> auth) {
  std::string content_type = body.empty() ? "" : "application/json";
  return api_request(profile, std::move(method), join_url(profile.base_url, path_and_query), std::move(auth),
                     std::move(body), std::move(content_type));
}

HttpRequest json_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                             std::string body) {
  return json_api_request(profile, std::move(method), path_and_query, std::move(body), bearer_auth(profile.api_key));
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  constexpr auto kCap = std::chrono::duration_cast<milliseconds>(std::chrono::hours(24));
  const auto d = reelbatch::parse_retry_after(value, now);
  if (!d) return std::nullopt;
  return std::min(*d, kCap);
}

std::optional<milliseconds> retry_after_of(const HttpResponse& r) {
  const std::string v = r.header("Retry-After");
  if (v.empty()) return std::nullopt;
  return parse_retry_after(v);
}

// ---- files -------------------------------------------------------------------------------

bool read_file(const std::filesystem::path& path, std::string& out, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open " + path.string();
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    why = "cannot read " + path.string();
    return false;
  }
  return true;
}

std::optional<std::string> content_type_for(const std::filesystem::path& p) {
  const std::string ext = to_lower(p.extension().string());
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".webp") return "image/webp";
  if (ext == ".mp4") return "video/mp4";
  if (ext == ".mov") return "video/quicktime";
  if (ext == ".webm") return "video/webm";
  return std::nullopt;
}

bool is_image_content_type(std::string_view ct) {
  return ct == "image/png" || ct == "image/jpeg" || ct == "image/webp";
}

bool is_video_content_type(std::string_view ct) {
  return ct == "video/mp4" || ct == "video/quicktime" || ct == "video/webm";
}

std::optional<std::string> sniff_content_type(std::string_view h) {
  auto at = [&](std::size_t off, std::string_view magic) {
    return h.size() >= off + magic.size() && h.substr(off, magic.size()) == magic;
  };
  if (at(0, "\x89PNG\r\n\x1a\n")) return "image/png";
  if (at(0, "\xFF\xD8\xFF")) return "image/jpeg";
  if (at(0, "GIF87a") || at(0, "GIF89a")) return "image/gif";
  if (at(0, "RIFF") && at(8, "WEBP")) return "image/webp";
  if (at(0, "RIFF") && at(8, "WAVE")) return "audio/wav";
  if (at(4, "ftyp")) {
    if (at(8, "qt  ")) return "video/quicktime";
    if (at(8, "M4A ") || at(8, "M4B ") || at(8, "M4P ")) return "audio/mp4";
    return "video/mp4";
  }
  for (std::string_view box : {"moov", "mdat", "wide", "free", "skip", "pnot"})
    if (at(4, box)) return "video/quicktime";
  if (at(0, "\x1A\x45\xDF\xA3"))
    return h.find("webm") != std::string_view::npos ? "video/webm" : "video/x-matroska";
  if (at(0, "ID3")) return "audio/mpeg";
  if (at(0, "OggS")) return "audio/ogg";
  if (at(0, "fLaC")) return "audio/flac";
  if (h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0xFF) {
    const auto b = static_cast<unsigned char>(h[1]);
    if ((b & 0xF6) == 0xF0) return "audio/aac";    // ADTS: sync, layer 00
    if ((b & 0xE0) == 0xE0 && (b & 0x06) != 0) return "audio/mpeg";  // MPEG audio frame, layer I-III
  }
  return std::nullopt;
}

std::optional<std::string> media_type_for_extension(const std::filesystem::path& p) {
  const std::string ext = to_lower(p.extension().string());
  static const std::pair<std::string_view, std::string_view> table[] = {
      {".png", "image/png"},   {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},  {".gif", "image/gif"},
      {".webp", "image/webp"}, {".mp4", "video/mp4"},       {".m4v", "video/mp4"},    {".mov", "video/quicktime"},
      {".webm", "video/webm"}, {".mkv", "video/x-matroska"}, {".mp3", "audio/mpeg"},  {".wav", "audio/wav"},
      {".m4a", "audio/mp4"},   {".aac", "audio/aac"},       {".ogg", "audio/ogg"},    {".oga", "audio/ogg"},
      {".flac", "audio/flac"}};
  for (const auto& [e, t] : table)
    if (ext == e) return std::string(t);
  return std::nullopt;
}

bool media_types_agree(std::string_view claimed, std::string_view sniffed) {
  if (claimed == sniffed) return true;
  auto family = [](std::string_view t) -> int {
    if (t == "video/mp4" || t == "video/quicktime" || t == "audio/mp4") return 1;
    if (t == "video/webm" || t == "video/x-matroska") return 2;
    return 0;
  };
  return family(claimed) != 0 && family(claimed) == family(sniffed);
}

bool read_file_head(const std::filesystem::path& path, std::string& out, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open " + path.string();
    return false;
  }
  out.assign(64, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) {
    why = "cannot read " + path.string();
    return false;
  }
  out.resize(static_cast<std::size_t>(in.gcount()));
  return true;
}

std::string upload_file_name(const std::filesystem::path& local, std::string_view sha256_hex,
                             std::size_t max_length) {
  std::string ext;
  for (char c : local.extension().string())
    if (is_alnum(c)) ext.push_back(ascii_lower(c));
  if (ext.empty()) ext = "bin";
  if (ext.size() > 16) ext.resize(16);

  std::string hash;
  for (char c : sha256_hex) {
    if (hash.size() == 12) break;
    const char l = ascii_lower(c);
    if (is_digit(l) || (l >= 'a' && l <= 'f')) hash.push_back(l);
  }

  std::string stem;
  for (char c : local.stem().string()) {
    const char m = (is_alnum(c) || c == '-' || c == '_') ? c : '_';
    if (m == '_' && !stem.empty() && stem.back() == '_') continue;  // collapse runs
    stem.push_back(m);
  }
  auto trim_underscores = [](std::string& s) {
    while (!s.empty() && s.back() == '_') s.pop_back();
    const auto first = s.find_first_not_of('_');
    s.erase(0, first == std::string::npos ? s.size() : first);
  };
  trim_underscores(stem);
  if (stem.empty()) stem = "file";
  const std::size_t max_stem = max_length - 1 - ext.size() - (hash.empty() ? 0 : hash.size() + 1);
  if (stem.size() > max_stem) {
    stem.resize(max_stem);
    trim_underscores(stem);
    if (stem.empty()) stem = "file";
  }
  return stem + (hash.empty() ? "" : "-" + hash) + "." + ext;
}

}  // namespace reelbatch::kit
