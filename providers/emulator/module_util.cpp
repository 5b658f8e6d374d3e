#include "providers/emulator/module_util.hpp"

#include "src/core/sha256.hpp"
#include "src/core/text.hpp"
#include "src/net/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace reelbatch::emulator {
namespace json = boost::json;
namespace asio = boost::asio;

// ---- the common frame of a module ----------------------------------------------------

ModuleBase::ModuleBase(Services s) : s_(std::move(s)), rng_(std::random_device{}()) {}

Response ModuleBase::handle(const Request& req, std::string_view path) {
  std::lock_guard lk(mu_);
  try {
    advance(s_.now_ms());
    return route(req, path);
  } catch (const std::exception& e) {
    s_.log->error("{} emulator: {} {}: {}", name(), req.method, path, e.what());
    return internal_error();
  }
}

void ModuleBase::tick(std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  advance(now_ms);
}

// ---- deterministic values -----------------------------------------------------

double unit_hash(std::uint64_t seed, std::uint64_t n, std::string_view salt) {
  const std::string h = sha256_hex(std::to_string(seed) + ":" + std::to_string(n) + ":" + std::string(salt));
  const std::uint64_t v = std::stoull(h.substr(0, 13), nullptr, 16);  // 52 bits
  return static_cast<double>(v) / static_cast<double>(1ull << 52);
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

std::int64_t scaled_ms(const Services& s, std::int64_t ms) {
  return s.scaled(std::chrono::milliseconds(ms)).count();
}

std::string random_hex(std::mt19937_64& rng, std::size_t n) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  while (out.size() < n) {
    std::uint64_t r = rng();
    for (int i = 0; i < 16 && out.size() < n; ++i, r >>= 4) out.push_back(hex[r & 15]);
  }
  return out;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::string iso8601(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds(unix_ms)};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(tp - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

// ---- JSON answers ---------------------------------------------------------------

namespace {

void dump(const json::value& v, DoubleFormat format, std::string& out) {
  switch (v.kind()) {
    case json::kind::double_:
      format(v.get_double(), out);
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        dump(e, format, out);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(kv.key());
        out += ':';
        dump(kv.value(), format, out);
      }
      out += '}';
      return;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string serialize_json(const json::value& v, DoubleFormat format) {
  std::string out;
  dump(v, format, out);
  return out;
}

Response json_response(int status, const json::value& v, std::string_view content_type, DoubleFormat format) {
  return Response(status, std::string(content_type), format ? serialize_json(v, format) : json::serialize(v));
}

std::optional<json::object> parse_json_object(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

const json::value& StateReader::at(const json::object& o, std::string_view key) const {
  auto it = o.find(key);
  if (it == o.end()) throw std::runtime_error(std::string(module_) + " state: missing field " + std::string(key));
  return it->value();
}
std::string StateReader::str(const json::object& o, std::string_view key) const {
  return std::string(at(o, key).as_string());
}
std::int64_t StateReader::i64(const json::object& o, std::string_view key) const {
  return at(o, key).to_number<std::int64_t>();
}
std::uint64_t StateReader::u64(const json::object& o, std::string_view key) const {
  return at(o, key).to_number<std::uint64_t>();
}
double StateReader::dbl(const json::object& o, std::string_view key) const { return at(o, key).to_number<double>(); }

// ---- requests ---------------------------------------------------------------------

bool method_is(const Request& req, std::string_view method) {
  return req.method == method || (method == "GET" && req.method == "HEAD");
}

std::optional<std::string_view> bearer_key(std::string_view auth) {
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() <= bearer.size() || !iequals(auth.substr(0, bearer.size()), bearer)) return std::nullopt;
  std::string_view key = auth.substr(bearer.size());
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  if (key.empty()) return std::nullopt;
  return key;
}

std::optional<std::int64_t> decimal_query_param(const Request& req, std::string_view name, std::int64_t def) {
  const auto v = req.query_param(name);
  if (!v || v->empty()) return def;
  if (v->size() > 9 || !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(*v);
}

// ---- signed downloads -----------------------------------------------------------------

std::string signed_url(const UrlSigner& signer, std::string_view authority, const std::string& path,
                       std::int64_t expires) {
  return "http://" + std::string(authority) + path + "?expires=" + std::to_string(expires) +
         "&token=" + signer.token(path, expires);
}

std::string signed_url(const Services& s, std::string_view authority, const std::string& path,
                       std::int64_t expires) {
  if (s.url_expires) expires = s.url_expires(path, expires);
  return signed_url(*s.signer, authority, path, expires);
}

std::optional<Response> check_signed_download(const Request& req, const Services& s, std::string_view expired_text) {
  if (req.method != "GET" && req.method != "HEAD") {
    Response r(405, "text/plain", "method not allowed\n");
    r.set("Allow", "GET, HEAD");
    return r;
  }
  const auto verdict = s.signer->verify(req.path(), req.query_param("expires"), req.query_param("token"), s.now_s());
  if (!expired_text.empty() && verdict == UrlSigner::Verdict::expired)
    return Response(404, "text/plain", std::string(expired_text));
  if (verdict != UrlSigner::Verdict::ok)
    return Response(403, "text/plain", std::string("403 Forbidden: ") + to_string(verdict) + "\n");
  return std::nullopt;
}

Response plain_not_found() { return Response(404, "text/plain", "404 Not Found\n"); }

// ---- unique media bytes -------------------------------------------------------------------

std::string mp4_with_free_box(std::string_view payload) {
  const std::string_view sample = asset_sample_mp4();
  const auto box_size = static_cast<std::uint32_t>(8 + payload.size());
  std::string out;
  out.reserve(sample.size() + box_size);
  out.append(sample);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((box_size >> shift) & 0xff));
  out.append("free");
  out.append(payload);
  return out;
}

std::string jpeg_with_comment(std::string_view comment) {
  const std::string_view jpeg = asset_cover_jpg();
  const auto len = static_cast<std::uint16_t>(comment.size() + 2);
  std::string out;
  out.reserve(jpeg.size() + len + 2);
  out.append(jpeg.substr(0, 2));  // SOI
  out.push_back(static_cast<char>(0xFF));
  out.push_back(static_cast<char>(0xFE));  // COM
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len & 0xff));
  out.append(comment);
  out.append(jpeg.substr(2));
  return out;
}

// ---- multipart/form-data ----------------------------------------------------------------------

std::optional<std::string> form_boundary(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string type = to_lower(content_type.substr(0, semi));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  while (!type.empty() && type.front() == ' ') type.erase(0, 1);
  if (type != "multipart/form-data" || semi == std::string_view::npos) return std::nullopt;
  std::string_view rest = content_type.substr(semi + 1);
  while (!rest.empty()) {
    const auto next = rest.find(';');
    std::string_view param = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos || to_lower(param.substr(0, eq)) != "boundary") continue;
    std::string_view v = param.substr(eq + 1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty() || v.size() > 70) return std::nullopt;  // RFC 2046: 1..70 characters
    return std::string(v);
  }
  return std::nullopt;
}

namespace {

// The value of parameter `key` in a Content-Disposition header ("" key
// lookups are not made). Quoted values may use \" escapes.
std::optional<std::string> disposition_param(std::string_view header, std::string_view key) {
  std::size_t i = header.find(';');
  while (i != std::string_view::npos && i < header.size()) {
    ++i;
    while (i < header.size() && header[i] == ' ') ++i;
    const auto eq = header.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string name = to_lower(header.substr(i, eq - i));
    std::string value;
    std::size_t j = eq + 1;
    if (j < header.size() && header[j] == '"') {
      for (++j; j < header.size() && header[j] != '"'; ++j) {
        if (header[j] == '\\' && j + 1 < header.size()) ++j;
        value.push_back(header[j]);
      }
      ++j;  // closing quote
    } else {
      while (j < header.size() && header[j] != ';') value.push_back(header[j++]);
      while (!value.empty() && value.back() == ' ') value.pop_back();
    }
    if (name == key) return value;
    i = header.find(';', j);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<FormPart>> parse_form_data(std::string_view body, std::string_view boundary,
                                                     std::string& why) {
  const std::string delim = "--" + std::string(boundary);
  std::vector<FormPart> parts;
  // The first delimiter may follow a preamble.
  std::size_t pos = body.find(delim);
  if (pos == std::string_view::npos || (pos != 0 && (pos < 2 || body.substr(pos - 2, 2) != "\r\n"))) {
    why = "no opening boundary";
    return std::nullopt;
  }
  const std::string next_delim = "\r\n" + delim;
  while (true) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") return parts;  // close delimiter
    // Transport padding, then CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") {
      why = "boundary line not followed by CRLF";
      return std::nullopt;
    }
    pos += 2;
    const auto headers_end = body.find("\r\n\r\n", pos);
    const std::size_t data_start = body.substr(pos, 2) == "\r\n" ? pos + 2 : headers_end + 4;
    if (body.substr(pos, 2) != "\r\n" && headers_end == std::string_view::npos) {
      why = "part headers not terminated by a blank line";
      return std::nullopt;
    }
    FormPart part;
    bool has_disposition = false;
    std::string_view headers = body.substr(pos, data_start - 2 - pos);
    while (!headers.empty()) {
      const auto eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string hname = to_lower(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      if (hname == "content-disposition") {
        if (to_lower(value.substr(0, value.find(';'))) != "form-data") continue;
        auto name = disposition_param(value, "name");
        if (!name) continue;
        has_disposition = true;
        part.name = std::move(*name);
        part.filename = disposition_param(value, "filename");
      } else if (hname == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition) {
      why = "a part without Content-Disposition: form-data; name=...";
      return std::nullopt;
    }
    const auto end = body.find(next_delim, data_start);
    if (end == std::string_view::npos) {
      why = "no closing boundary";
      return std::nullopt;
    }
    part.data = std::string(body.substr(data_start, end - data_start));
    parts.push_back(std::move(part));
    pos = end + 2;
  }
}

// ---- callback delivery ------------------------------------------------------------------------

struct CallbackPoster::Impl {
  std::string log_name;
  std::shared_ptr<spdlog::logger> log;
  std::mutex mu;
  std::unique_ptr<HttpClient> client;  // before io: outlives the frames io destroys
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
};

CallbackPoster::CallbackPoster(std::string log_name, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>()) {
  impl_->log_name = std::move(log_name);
  impl_->log = log ? std::move(log) : spdlog::default_logger();
}

CallbackPoster::~CallbackPoster() {
  std::lock_guard lk(impl_->mu);
  if (!impl_->thread.joinable()) return;
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

void CallbackPoster::post(Delivery delivery) {
  std::lock_guard lk(impl_->mu);
  Impl& d = *impl_;
  if (!d.thread.joinable()) {
    d.client = std::make_unique<HttpClient>(d.io.get_executor());
    d.work.emplace(d.io.get_executor());
    d.thread = std::thread([&d] { d.io.run(); });
  }
  asio::co_spawn(d.io, delivery(*d.client), [name = d.log_name, log = d.log](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log->error("{}: callback delivery ended by exception: {}", name, x.what());
    }
  });
}

}  // namespace reelbatch::emulator
