#include "src/ingest/manifest.hpp"
#include "src/core/text.hpp"

#include "src/core/sha256.hpp"
#include "src/ingest/csv.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace reelbatch {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string RowError::to_string() const {
  return file + ":" + std::to_string(line) + ": " + field + ": " + reason;
}

namespace {

constexpr std::size_t kMaxIdChars = 128;
constexpr std::size_t kMaxOutputBytes = 200;
constexpr int kMaxDurationS = 86400;

// The fixed fields, in canonical order; CSV columns and JSONL keys.
const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> k = {"id",     "provider", "model",  "prompt", "duration",
                                             "resolution", "aspect_ratio", "audio", "seed", "images",
                                             "videos", "audios",   "priority", "output"};
  return k;
}

bool is_known_field(std::string_view name) {
  const auto& k = known_fields();
  return std::find(k.begin(), k.end(), name) != k.end();
}

// ---------------------------------------------------------------- text utils

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && to_lower(s.substr(0, prefix.size())) == prefix;
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The first control character in `s` other than those in `allowed`, or -1.
int first_control(std::string_view s, std::string_view allowed = {}) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (is_control(u) && allowed.find(c) == std::string_view::npos) return u;
  }
  return -1;
}

std::string control_reason(int c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", c);
  return std::string("contains a control character (") + buf + ")";
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

// "\r\n" and lone "\r" become "\n".
std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

template <class Int>
std::optional<Int> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  Int v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

const char* kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

// " (did you mean 'x'?)" for the closest known field, or "".
std::string suggestion(std::string_view name) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& k : known_fields()) {
    const std::size_t d = edit_distance(name, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (best.empty() && istarts_with(name, "params.")) return " (did you mean 'param." + std::string(name.substr(7)) + "'?)";
  if (name == "params") return " (in CSV, give each parameter its own param.<key> column)";
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

// "id, provider, ..., output, " + the params spelling of the format.
std::string known_list(bool csv) {
  std::string s;
  for (const auto& k : known_fields()) s += k + ", ";
  return s + (csv ? "param.<key>" : "params");
}

// ------------------------------------------------------------- row builder

struct ListKind {
  const char* field;        // "images"
  const char* bare_prefix;  // "Image"
  std::vector<AssetRef> JobSpec::*member;
};

const ListKind kLists[] = {{"images", "Image", &JobSpec::images},
                           {"videos", "Video", &JobSpec::videos},
                           {"audios", "Audio", &JobSpec::audios}};

const ListKind& list_kind(std::string_view field) {
  for (const auto& k : kLists)
    if (field == k.field) return k;
  return kLists[0];
}

// Normalizes one row, field by field, collecting every problem.
class RowBuilder {
 public:
  RowBuilder(const fs::path& base_dir, const ManifestOptions& opts) : base_dir_(base_dir), opts_(opts) {}

  /// A fixed field (known_fields()); a null value or empty string is "unset".
  void field(const std::string& name, const json::value& v) {
    if (v.is_null()) return;
    if (name == "id") {
      // Numeric ids (common in converted spreadsheets) are taken as their digits.
      const json::value as_text = v.is_int64() || v.is_uint64() ? json::value(json::serialize(v)) : v;
      if (auto s = text(name, as_text)) {
        if (utf8_length(*s) > kMaxIdChars)
          error(name, "longer than " + std::to_string(kMaxIdChars) + " characters");
        else if (int c = first_control(*s); c >= 0)
          error(name, control_reason(c));
        else
          explicit_id_ = std::move(*s);
      }
    } else if (name == "provider") {
      if (auto s = plain_text(name, v)) spec_.provider = std::move(*s);
    } else if (name == "model") {
      if (auto s = plain_text(name, v)) spec_.model = std::move(*s);
    } else if (name == "prompt") {
      if (auto s = text(name, v)) {
        std::string p = normalize_newlines(*s);
        if (int c = first_control(p, "\n\t"); c >= 0)
          error(name, control_reason(c));
        else
          spec_.prompt = std::move(p);
      }
    } else if (name == "duration") {
      duration(v);
    } else if (name == "resolution") {
      if (v.is_int64() || v.is_uint64()) {
        spec_.resolution = json::serialize(v);
      } else if (auto s = plain_text(name, v)) {
        spec_.resolution = std::move(*s);
      }
    } else if (name == "aspect_ratio") {
      aspect_ratio(v);
    } else if (name == "audio") {
      audio(v);
    } else if (name == "seed") {
      if (auto n = integer<std::int64_t>(name, v)) spec_.seed = *n;
    } else if (name == "priority") {
      if (auto n = integer<int>(name, v)) spec_.priority = *n;
    } else if (name == "output") {
      output(v);
    } else {
      assets(list_kind(name), v);
    }
  }

  /// One CSV `param.<key>` cell (already trimmed, non-empty).
  void csv_param(const std::string& key, std::string_view cell) {
    const std::string field = "param." + key;
    if (!valid_utf8(cell)) return error(field, "not valid UTF-8 (save the manifest as UTF-8)");
    boost::system::error_code ec;
    json::value v = json::parse(cell, ec);
    if (!ec && (v.is_number() || v.is_bool() || v.is_array() || v.is_object()))
      spec_.params[key] = std::move(v);
    else
      spec_.params[key] = json::string(cell);
  }

  /// The JSONL `params` object.
  void params(const json::value& v) {
    if (v.is_null()) return;
    if (!v.is_object()) return error("params", std::string("expected an object, got ") + kind_name(v));
    spec_.params = v.get_object();
  }

  void error(std::string field, std::string reason) { errors_.emplace_back(std::move(field), std::move(reason)); }

  /// The explicit id, once field("id") accepted it.
  const std::optional<std::string>& explicit_id() const { return explicit_id_; }

  /// Completes the row: provider default, required fields, duplicate asset
  /// names, content hash and id. nullopt when any field was bad.
  std::optional<ManifestRow> finish() {
    if (spec_.provider.empty()) spec_.provider = opts_.default_provider;
    if (spec_.provider.empty()) error("provider", "required (no default provider is configured)");
    if (spec_.prompt.empty() && !has_error("prompt")) error("prompt", "required, must not be empty");
    std::set<std::string> names;
    for (const auto& k : kLists)
      for (const auto& a : spec_.*k.member)
        if (!names.insert(a.name).second) error(k.field, "duplicate asset name '" + a.name + "'");
    if (!errors_.empty()) return std::nullopt;

    ManifestRow row;
    JobSpec anon = spec_;
    anon.id.clear();
    row.content_hash = sha256_hex(json::serialize(to_json(anon)));
    spec_.id = explicit_id_ ? *explicit_id_ : "r" + row.content_hash.substr(0, 20);
    row.spec = std::move(spec_);
    return row;
  }

  const std::vector<std::pair<std::string, std::string>>& errors() const { return errors_; }

 private:
  bool has_error(std::string_view field) const {
    return std::any_of(errors_.begin(), errors_.end(), [&](const auto& e) { return e.first == field; });
  }

  // A trimmed, non-empty string; nullopt (and maybe an error) otherwise.
  std::optional<std::string> text(const std::string& name, const json::value& v) {
    if (!v.is_string()) {
      error(name, std::string("expected a string, got ") + kind_name(v));
      return std::nullopt;
    }
    const std::string_view s = trim(v.get_string());
    if (s.empty()) return std::nullopt;
    if (!valid_utf8(s)) {
      error(name, "not valid UTF-8 (save the manifest as UTF-8)");
      return std::nullopt;
    }
    return std::string(s);
  }

  // text() without control characters.
  std::optional<std::string> plain_text(const std::string& name, const json::value& v) {
    auto s = text(name, v);
    if (s) {
      if (int c = first_control(*s); c >= 0) {
        error(name, control_reason(c));
        return std::nullopt;
      }
    }
    return s;
  }

  template <class Int>
  std::optional<Int> integer(const std::string& name, const json::value& v) {
    const std::string range = "an integer in " + std::to_string(std::numeric_limits<Int>::min()) + ".." +
                              std::to_string(std::numeric_limits<Int>::max());
    std::optional<Int> out;
    if (v.is_int64()) {
      const auto n = v.get_int64();
      if (n >= std::numeric_limits<Int>::min() && n <= std::numeric_limits<Int>::max()) out = static_cast<Int>(n);
    } else if (v.is_uint64()) {
      if (v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
        out = static_cast<Int>(v.get_uint64());
    } else if (v.is_string()) {
      const std::string_view s = trim(v.get_string());
      if (s.empty()) return std::nullopt;
      out = parse_int<Int>(s);
    } else {
      error(name, std::string("expected an integer, got ") + kind_name(v));
      return std::nullopt;
    }
    if (!out) error(name, "must be " + range + " (got " + shown(v) + ")");
    return out;
  }

  static std::string shown(const json::value& v) {
    if (v.is_string()) return "'" + std::string(trim(v.get_string())) + "'";
    return json::serialize(v);
  }

  void duration(const json::value& v) {
    const std::string why = "must be a positive whole number of seconds, e.g. 8 or 8s";
    std::optional<std::int64_t> n;
    if (v.is_int64()) {
      n = v.get_int64();
    } else if (v.is_uint64()) {
      n = kMaxDurationS + 1;
    } else if (v.is_double()) {
      const double d = v.get_double();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e9) n = static_cast<std::int64_t>(d);
      if (!n) return error("duration", why + " (got " + shown(v) + ")");
    } else if (v.is_string()) {
      std::string_view s = trim(v.get_string());
      if (s.empty()) return;
      if (s.back() == 's' || s.back() == 'S') s = trim(s.substr(0, s.size() - 1));
      if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return error("duration", why + " (got " + shown(v) + ")");
      n = parse_int<std::int64_t>(s);
      if (!n) n = kMaxDurationS + 1;
    } else {
      return error("duration", std::string("expected a number of seconds, got ") + kind_name(v));
    }
    if (*n <= 0) return error("duration", why + " (got " + shown(v) + ")");
    if (*n > kMaxDurationS)
      return error("duration", "must be at most " + std::to_string(kMaxDurationS) + " seconds (got " + shown(v) + ")");
    spec_.duration_s = static_cast<int>(*n);
  }

  void aspect_ratio(const json::value& v) {
    auto s = plain_text("aspect_ratio", v);
    if (!s) return;
    const auto colon = s->find(':');
    auto positive = [](std::string_view part) {
      if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
      return std::any_of(part.begin(), part.end(), [](char c) { return c != '0'; });
    };
    if (colon != std::string::npos) {
      if (positive(std::string_view(*s).substr(0, colon)) && positive(std::string_view(*s).substr(colon + 1))) {
        spec_.aspect_ratio = std::move(*s);
        return;
      }
    } else {
      const std::string w = to_lower(*s);
      const bool word = std::all_of(w.begin(), w.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      }) && w.front() >= 'a' && w.front() <= 'z';
      if (word) {
        spec_.aspect_ratio = w;
        return;
      }
    }
    error("aspect_ratio", "expected W:H with positive integers (e.g. 16:9) or a word like adaptive (got '" + *s + "')");
  }

  void audio(const json::value& v) {
    if (v.is_bool()) {
      spec_.audio = v.get_bool();
      return;
    }
    if (v.is_int64() && (v.get_int64() == 0 || v.get_int64() == 1)) {
      spec_.audio = v.get_int64() == 1;
      return;
    }
    if (v.is_string()) {
      const std::string w = to_lower(trim(v.get_string()));
      if (w.empty()) return;
      if (w == "true" || w == "yes" || w == "1" || w == "on") {
        spec_.audio = true;
        return;
      }
      if (w == "false" || w == "no" || w == "0" || w == "off") {
        spec_.audio = false;
        return;
      }
    }
    error("audio", "expected true/false, yes/no, 1/0 or on/off (got " + shown(v) + ")");
  }

  void output(const json::value& v) {
    auto s = text("output", v);
    if (!s) return;
    if (s->find('/') != std::string::npos || s->find('\\') != std::string::npos)
      return error("output", "must be a file name stem, without '/' or '\\' (got '" + *s + "')");
    if (s->find("..") != std::string::npos || *s == ".")
      return error("output", "must not be '.' or contain '..' (got '" + *s + "')");
    if (int c = first_control(*s); c >= 0) return error("output", control_reason(c));
    if (s->size() > kMaxOutputBytes)
      return error("output", "longer than " + std::to_string(kMaxOutputBytes) + " bytes");
    spec_.output = std::move(*s);
  }

  // ---- assets

  void assets(const ListKind& kind, const json::value& v) {
    const std::string field = kind.field;
    std::vector<AssetRef>& out = spec_.*kind.member;
    // (name or empty for "bare", location), in list order.
    std::vector<std::pair<std::string, std::string>> items;
    bool bad = false;
    if (v.is_string()) {
      const std::string_view all = v.get_string();
      if (!valid_utf8(all)) return error(field, "not valid UTF-8 (save the manifest as UTF-8)");
      std::size_t start = 0;
      while (start <= all.size()) {
        std::size_t end = all.find(';', start);
        if (end == std::string_view::npos) end = all.size();
        const std::string_view item = trim(all.substr(start, end - start));
        start = end + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const bool bare = eq == std::string_view::npos || istarts_with(item, "http://") ||
                          istarts_with(item, "https://") ||
                          item.substr(0, eq).find_first_of("/\\") != std::string_view::npos;
        if (bare)
          items.emplace_back(std::string(), std::string(item));
        else {
          const std::string_view name = trim(item.substr(0, eq));
          if (name.empty()) {
            error(field, "item " + std::to_string(items.size() + 1) + " ('" + std::string(item) + "') has an empty name");
            bad = true;
            items.emplace_back(std::string(), std::string());
            continue;
          }
          items.emplace_back(std::string(name), std::string(trim(item.substr(eq + 1))));
        }
      }
    } else if (v.is_array()) {
      for (const auto& e : v.get_array()) {
        const std::string pos = "item " + std::to_string(items.size() + 1);
        if (e.is_string()) {
          items.emplace_back(std::string(), std::string(trim(e.get_string())));
        } else if (e.is_object()) {
          std::string name, loc;
          int locs = 0;
          bool item_bad = false;
          for (const auto& kv : e.get_object()) {
            const std::string key(kv.key());
            if (key != "name" && key != "path" && key != "url") {
              error(field, pos + ": unknown key '" + key + "' (expected name and path or url)");
              item_bad = true;
              continue;
            }
            if (!kv.value().is_string()) {
              error(field, pos + ": '" + key + "' must be a string");
              item_bad = true;
              continue;
            }
            const std::string val(trim(kv.value().get_string()));
            if (key == "name") {
              name = val;
            } else {
              ++locs;
              loc = val;
              if (key == "url" && !istarts_with(val, "http://") && !istarts_with(val, "https://")) {
                error(field, pos + ": url must start with http:// or https:// (got '" + val + "')");
                item_bad = true;
              }
            }
          }
          if (locs != 1 && !item_bad) {
            error(field, pos + ": needs exactly one of 'path' or 'url'");
            item_bad = true;
          }
          if (item_bad) bad = true;
          items.emplace_back(name, item_bad ? std::string() : loc);
        } else {
          error(field, pos + ": expected a string or a {\"name\", \"path\"|\"url\"} object, got " + kind_name(e));
          bad = true;
          items.emplace_back(std::string(), std::string());
        }
      }
    } else if (v.is_object()) {
      for (const auto& kv : v.get_object()) {
        if (!kv.value().is_string()) {
          error(field, "'" + std::string(kv.key()) + "': location must be a string");
          bad = true;
          continue;
        }
        const std::string name(trim(kv.key()));
        if (name.empty()) {
          error(field, "an asset has an empty name");
          bad = true;
          continue;
        }
        items.emplace_back(name, std::string(trim(kv.value().get_string())));
      }
    } else {
      return error(field, std::string("expected a list of assets, got ") + kind_name(v));
    }
    if (bad) return;

    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& [name, loc] = items[i];
      if (name.empty()) name = std::string(kind.bare_prefix) + " " + std::to_string(i + 1);
      if (int c = first_control(name); c >= 0) {
        error(field, "name '" + name + "': " + control_reason(c));
        bad = true;
        continue;
      }
      if (loc.empty()) {
        error(field, "'" + name + "' has an empty location");
        bad = true;
        continue;
      }
      if (auto resolved = resolve_location(field, loc))
        out.push_back(AssetRef{name, std::move(*resolved)});
      else
        bad = true;
    }
    if (bad) out.clear();
  }

  // A URL (scheme lowercased) or an absolute local path to a regular file.
  std::optional<std::string> resolve_location(const std::string& field, const std::string& loc) {
    if (int c = first_control(loc); c >= 0) {
      error(field, "'" + loc + "': " + control_reason(c));
      return std::nullopt;
    }
    for (std::string_view scheme : {"http://", "https://"}) {
      if (istarts_with(loc, scheme)) {
        if (loc.size() == scheme.size()) {
          error(field, "URL has no host: '" + loc + "'");
          return std::nullopt;
        }
        if (loc.find(' ') != std::string::npos) {
          error(field, "URL contains a space (percent-encode it as %20): '" + loc + "'");
          return std::nullopt;
        }
        return std::string(scheme) + loc.substr(scheme.size());
      }
    }
    fs::path p(loc);
    if (p.is_relative()) p = base_dir_ / p;
    std::error_code ec;
    if (p.is_relative()) {
      p = fs::absolute(p, ec);
      if (ec) {
        error(field, "cannot resolve '" + loc + "': " + ec.message());
        return std::nullopt;
      }
    }
    p = p.lexically_normal();
    const auto st = fs::status(p, ec);
    if (!fs::exists(st)) {
      error(field, "file not found: " + p.string());
      return std::nullopt;
    }
    if (!fs::is_regular_file(st)) {
      error(field, "not a regular file: " + p.string());
      return std::nullopt;
    }
    return p.string();
  }

  const fs::path& base_dir_;
  const ManifestOptions& opts_;
  JobSpec spec_;
  std::optional<std::string> explicit_id_;
  std::vector<std::pair<std::string, std::string>> errors_;
};

// Collects rows and errors, and enforces unique ids within the manifest.
class Collector {
 public:
  explicit Collector(const std::string& file) : file_(file) {}

  void row_error(int line, std::string field, std::string reason) {
    out_.errors.push_back(RowError{file_, line, std::move(field), std::move(reason)});
  }

  void add(int line, RowBuilder& b) {
    std::optional<ManifestRow> row = b.finish();
    for (const auto& [field, reason] : b.errors()) row_error(line, field, reason);
    // An explicit id counts as used even when the row is bad, so that the
    // duplicate is reported now rather than after the first row is fixed.
    const std::string id = row ? row->spec.id : b.explicit_id().value_or("");
    if (id.empty()) return;
    const auto [it, fresh] = first_line_.emplace(id, line);
    if (!fresh) {
      std::string reason = "duplicate id, first used on line " + std::to_string(it->second);
      if (row && !b.explicit_id()) reason += " (identical content; give the rows ids to run both)";
      row_error(line, "id", std::move(reason));
      return;
    }
    if (!row) return;
    row->file = file_;
    row->line = line;
    out_.rows.push_back(std::move(*row));
  }

  Manifest take() { return std::move(out_); }

 private:
  const std::string& file_;
  std::unordered_map<std::string, int> first_line_;
  Manifest out_;
};

struct Column {
  std::string field;      // a known field, or "" for a param column
  std::string param_key;  // for param.<key>
};

std::string csv_error_reason(const CsvError& e) {
  std::string r = "CSV syntax error: " + e.reason;
  if (e.error_line != e.line && e.reason.find("line " + std::to_string(e.error_line)) == std::string::npos)
    r += " (line " + std::to_string(e.error_line) + ")";
  return r;
}

std::string read_whole_file(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    throw ManifestError(path.string() + ": cannot read manifest: " +
                        (ec ? ec.message() : std::string("no such file")));
  if (!fs::is_regular_file(st)) throw ManifestError(path.string() + ": cannot read manifest: not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ManifestError(path.string() + ": cannot read manifest: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ManifestError(path.string() + ": cannot read manifest: read error");
  return std::move(ss).str();
}

}  // namespace

Manifest parse_manifest_csv(std::string_view text, const std::string& file, const fs::path& base_dir,
                            const ManifestOptions& opts) {
  CsvDocument doc = parse_csv(text);
  if (doc.records.empty() && doc.errors.empty())
    throw ManifestError(file + ":1: empty manifest: a header row is required");
  if (!doc.errors.empty() && (doc.records.empty() || doc.errors.front().line < doc.records.front().line)) {
    const CsvError& e = doc.errors.front();
    throw ManifestError(file + ":" + std::to_string(e.line) + ": bad header row: " + csv_error_reason(e));
  }

  // The header.
  const CsvRecord& header = doc.records.front();
  const std::string where = file + ":" + std::to_string(header.line) + ": ";
  std::vector<Column> columns;
  std::size_t named = header.fields.size();
  while (named > 0 && trim(header.fields[named - 1]).empty()) --named;  // trailing commas
  std::set<std::string> seen;
  for (std::size_t i = 0; i < named; ++i) {
    const std::string raw(trim(header.fields[i]));
    if (raw.empty())
      throw ManifestError(where + "column " + std::to_string(i + 1) + " of the header has no name");
    const std::string name = to_lower(raw);
    Column col;
    if (istarts_with(raw, "param.")) {
      col.param_key = std::string(trim(std::string_view(raw).substr(6)));
      if (col.param_key.empty()) throw ManifestError(where + "column '" + raw + "': empty parameter name after 'param.'");
      if (!seen.insert("param." + col.param_key).second)
        throw ManifestError(where + "duplicate column '" + raw + "'");
    } else if (is_known_field(name)) {
      col.field = name;
      if (!seen.insert(name).second) throw ManifestError(where + "duplicate column '" + raw + "'");
    } else {
      throw ManifestError(where + "unknown column '" + raw + "'" + suggestion(name) + "; known columns: " + known_list(true));
    }
    columns.push_back(std::move(col));
  }
  if (!seen.count("prompt")) throw ManifestError(where + "missing required column 'prompt'");
  if (!seen.count("provider") && opts.default_provider.empty())
    throw ManifestError(where + "missing column 'provider' (required: no default provider is configured)");

  // The rows, merged with syntax errors in file order.
  Collector out(file);
  std::size_t ei = 0;
  auto flush_errors_before = [&](int line) {
    for (; ei < doc.errors.size() && doc.errors[ei].line < line; ++ei)
      out.row_error(doc.errors[ei].line, "(row)", csv_error_reason(doc.errors[ei]));
  };
  for (std::size_t r = 1; r < doc.records.size(); ++r) {
    const CsvRecord& rec = doc.records[r];
    flush_errors_before(rec.line);
    if (std::all_of(rec.fields.begin(), rec.fields.end(), [](const std::string& f) { return trim(f).empty(); }))
      continue;  // a blank line, or only commas
    const std::size_t n = rec.fields.size();
    const bool extra_blank =
        n > columns.size() &&
        std::all_of(rec.fields.begin() + static_cast<std::ptrdiff_t>(columns.size()), rec.fields.end(),
                    [](const std::string& f) { return trim(f).empty(); });
    if (n != columns.size() && !extra_blank) {
      out.row_error(rec.line, "(row)",
                    "expected " + std::to_string(columns.size()) + " fields (as in the header), got " +
                        std::to_string(n) + "; quote fields that contain commas, quotes or line breaks");
      continue;
    }
    RowBuilder b(base_dir, opts);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::string_view cell = trim(rec.fields[c]);
      if (cell.empty()) continue;
      if (columns[c].field.empty())
        b.csv_param(columns[c].param_key, cell);
      else
        b.field(columns[c].field, json::value(json::string(rec.fields[c])));
    }
    out.add(rec.line, b);
  }
  flush_errors_before(std::numeric_limits<int>::max());
  return out.take();
}

Manifest parse_manifest_jsonl(std::string_view text, const std::string& file, const fs::path& base_dir,
                              const ManifestOptions& opts) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Collector out(file);
  int line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (raw.empty()) continue;

    boost::system::error_code ec;
    json::value v = json::parse(raw, ec);
    if (ec) {
      out.row_error(line, "(row)", "invalid JSON: " + ec.message());
      continue;
    }
    if (!v.is_object()) {
      out.row_error(line, "(row)", std::string("expected a JSON object, got ") + kind_name(v));
      continue;
    }
    RowBuilder b(base_dir, opts);
    for (const auto& kv : v.get_object()) {
      const std::string key(kv.key());
      if (key == "params")
        b.params(kv.value());
      else if (is_known_field(key))
        b.field(key, kv.value());
      else
        b.error(key, "unknown field" + suggestion(key) + "; known fields: " + known_list(false));
    }
    out.add(line, b);
  }
  return out.take();
}

Manifest load_manifest(const fs::path& path, const ManifestOptions& opts) {
  const std::string ext = to_lower(path.extension().string());
  const std::string file = path.string();
  if (ext != ".csv" && ext != ".jsonl" && ext != ".ndjson")
    throw ManifestError(file + ": unsupported manifest type '" + path.extension().string() +
                        "' (expected .csv, .jsonl or .ndjson)");
  const std::string text = read_whole_file(path);
  std::error_code ec;
  fs::path base = fs::absolute(path, ec);
  if (ec) throw ManifestError(file + ": cannot resolve path: " + ec.message());
  base = base.lexically_normal().parent_path();
  if (ext == ".csv") return parse_manifest_csv(text, file, base, opts);
  return parse_manifest_jsonl(text, file, base, opts);
}

}  // namespace reelbatch
