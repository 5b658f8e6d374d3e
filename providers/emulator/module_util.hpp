// Helpers shared by the provider modules (providers/<name>/emulator.cpp):
// JSON answers, persisted-state field access, auth and method checks, signed
// download URLs, deterministic hashing, ids, the unique per-task media bytes,
// multipart/form-data parsing and callback delivery. What is particular to
// one provider API (its error shapes, key formats, status words) stays in
// its module.
#pragma once

#include "providers/emulator/emulator.hpp"
#include "src/net/http_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {
class HttpClient;
}

namespace reelbatch::emulator {

// ---- the common frame of a module ----------------------------------------------------

/// A Module whose calls all run under one mutex. handle() first advances
/// emulated time to now, then routes; an exception is logged ("<name>
/// emulator: METHOD path: what") and answered with internal_error().
class ModuleBase : public Module {
 public:
  Response handle(const Request& req, std::string_view path) final;
  void tick(std::int64_t now_ms) final;

 protected:
  explicit ModuleBase(Services s);

  /// Moves every task to where it is at `now` (called under mu_).
  virtual void advance(std::int64_t now) = 0;
  /// Answers a request to the module (called under mu_, after advance).
  virtual Response route(const Request& req, std::string_view path) = 0;
  /// The provider's answer to an unexpected exception.
  virtual Response internal_error() = 0;

  Services s_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;  ///< seeded from std::random_device
};

// ---- deterministic values -----------------------------------------------------

/// Uniform in [0, 1) from sha256("<seed>:<n>:<salt>") (52 bits).
double unit_hash(std::uint64_t seed, std::uint64_t n, std::string_view salt);

/// Rounds to two decimals (credit amounts).
double round2(double v);

/// `ms` × time_scale, in ms.
std::int64_t scaled_ms(const Services& s, std::int64_t ms);

/// `n` lower-case hex digits, 16 per draw of `rng` (low nibble first).
std::string random_hex(std::mt19937_64& rng, std::size_t n);

/// Number of UTF-8 code points (bytes that are not continuation bytes).
std::size_t utf8_length(std::string_view s);

/// "YYYY-MM-DDTHH:MM:SSZ" (UTC) of a unix ms time.
std::string iso8601(std::int64_t unix_ms);

/// The tasks of a map (id -> task with a `seq`) in submission order.
template <class Map>
std::vector<const typename Map::mapped_type*> in_seq_order(const Map& tasks) {
  std::vector<const typename Map::mapped_type*> out;
  out.reserve(tasks.size());
  for (const auto& kv : tasks) out.push_back(&kv.second);
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->seq < b->seq; });
  return out;
}

template <class Set>
bool one_of(const Set& set, std::string_view v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

// ---- JSON answers ---------------------------------------------------------------

/// Appends a number the way a provider's document writes doubles.
using DoubleFormat = void (*)(double, std::string&);

/// Like json::serialize, but every double written by `format`.
std::string serialize_json(const boost::json::value& v, DoubleFormat format);

/// A JSON answer: json::serialize(v), or serialize_json(v, format) when a format is given.
Response json_response(int status, const boost::json::value& v, std::string_view content_type = "application/json",
                       DoubleFormat format = nullptr);

/// The body parsed as a JSON object; nullopt when it is not one.
std::optional<boost::json::object> parse_json_object(std::string_view body);

/// Fields of a module's persisted state; a missing one throws
/// std::runtime_error("<module> state: missing field <key>").
class StateReader {
 public:
  explicit constexpr StateReader(std::string_view module) : module_(module) {}
  const boost::json::value& at(const boost::json::object& o, std::string_view key) const;
  std::string str(const boost::json::object& o, std::string_view key) const;
  std::int64_t i64(const boost::json::object& o, std::string_view key) const;
  std::uint64_t u64(const boost::json::object& o, std::string_view key) const;
  double dbl(const boost::json::object& o, std::string_view key) const;

 private:
  std::string_view module_;
};

// ---- requests ---------------------------------------------------------------------

/// True when `req` uses `method` (HEAD counts as GET).
bool method_is(const Request& req, std::string_view method);

/// The key of "Authorization: Bearer <key>" ("Bearer" in any case, the key
/// trimmed of spaces); nullopt when absent or empty.
std::optional<std::string_view> bearer_key(std::string_view authorization);

/// A query parameter of at most 9 decimal digits; `def` when absent or empty,
/// nullopt when it is anything else.
std::optional<std::int64_t> decimal_query_param(const Request& req, std::string_view name, std::int64_t def);

// ---- signed downloads -----------------------------------------------------------------

/// "http://<authority><path>?expires=<expires>&token=<token>".
std::string signed_url(const UrlSigner& signer, std::string_view authority, const std::string& path,
                       std::int64_t expires);

/// signed_url() with the expiry the fault plan gives (Services::url_expires,
/// expire_early in faults.hpp): `expires` unless the URL was drawn to expire
/// early. What every module uses for its download URLs.
std::string signed_url(const Services& s, std::string_view authority, const std::string& path,
                       std::int64_t expires);

/// The checks in front of a signed download (a GET/HEAD of a URL made by
/// signed_url): 405 for other methods, 403 for a bad signature; when
/// `expired_text` is given, an expired URL is a 404 with that text. nullopt:
/// go ahead.
std::optional<Response> check_signed_download(const Request& req, const Services& s,
                                              std::string_view expired_text = {});

/// 404 text/plain "404 Not Found".
Response plain_not_found();

// ---- unique media bytes -------------------------------------------------------------------

/// The embedded sample.mp4 followed by a `free` box holding `payload`.
std::string mp4_with_free_box(std::string_view payload);

/// The embedded cover.jpg with a COM segment holding `comment` after SOI.
std::string jpeg_with_comment(std::string_view comment);

// ---- multipart/form-data (RFC 7578) ----------------------------------------------------------

/// One part of a multipart/form-data body.
struct FormPart {
  std::string name;
  std::optional<std::string> filename;  ///< set for file parts
  std::string content_type;             ///< the part's Content-Type, "" when absent
  std::string data;
};

/// The boundary parameter of a "multipart/form-data; boundary=..." header
/// value (quoted or not); nullopt when the type is not multipart/form-data or
/// has no boundary.
std::optional<std::string> form_boundary(std::string_view content_type);

/// Parses a multipart/form-data body. Returns the parts in order, or nullopt
/// (with `why` set) when the body is malformed: no opening delimiter, a part
/// without a Content-Disposition form-data name, headers without the blank
/// line, or no closing delimiter.
std::optional<std::vector<FormPart>> parse_form_data(std::string_view body, std::string_view boundary,
                                                     std::string& why);

// ---- callback delivery ------------------------------------------------------------------------

/// Runs callback deliveries (coroutines given an HttpClient) on a private
/// io_context and thread, started on the first post(), so a module needs
/// nothing from the framework's executor. post() is thread-safe. The
/// destructor stops the thread and drops unfinished deliveries.
class CallbackPoster {
 public:
  using Delivery = std::function<boost::asio::awaitable<void>(HttpClient&)>;

  /// `log_name` prefixes the log line of a delivery ended by an exception
  /// ("vibegen emulator"), written to `log` (nullptr = spdlog's default logger).
  explicit CallbackPoster(std::string log_name, std::shared_ptr<spdlog::logger> log = nullptr);
  ~CallbackPoster();
  CallbackPoster(const CallbackPoster&) = delete;
  CallbackPoster& operator=(const CallbackPoster&) = delete;

  void post(Delivery delivery);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelbatch::emulator
