#include "src/ingest/field_values.hpp"

#include "src/core/text.hpp"
#include "src/ingest/manifest_text.hpp"
#include "src/ingest/output_paths.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

namespace reelbatch {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxIdChars = 128;
constexpr std::size_t kMaxOutputBytes = 200;
constexpr int kMaxDurationS = 86400;

void add_error(std::vector<FieldError>& errors, std::string field, std::string reason) {
  errors.push_back(FieldError{std::move(field), std::move(reason)});
}

// A JSON integer, or a decimal string, that fits in Int.
template <class Int>
std::optional<Int> read_integer(const std::string& field, const json::value& v, std::vector<FieldError>& errors) {
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
    add_error(errors, field, std::string("expected an integer, got ") + kind_name(v));
    return std::nullopt;
  }
  if (!out) add_error(errors, field, "must be " + range + " (got " + shown(v) + ")");
  return out;
}

// One part of "W:H": digits, not all zeros.
bool positive_digits(std::string_view part) {
  if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  return std::any_of(part.begin(), part.end(), [](char c) { return c != '0'; });
}

}  // namespace

std::optional<std::string> read_text(const std::string& field, const json::value& v,
                                     std::vector<FieldError>& errors) {
  if (!v.is_string()) {
    add_error(errors, field, std::string("expected a string, got ") + kind_name(v));
    return std::nullopt;
  }
  // U+FEFF written as a JSON escape survives the file-level removal
  // (manifest.cpp); it goes here, for the same reason (without_bom_chars).
  std::string unbommed;
  std::string_view s = v.get_string();
  if (has_bom_char(s)) s = unbommed = without_bom_chars(s);
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (!valid_utf8(s)) {
    add_error(errors, field, "not valid UTF-8 (save the manifest as UTF-8)");
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<std::string> read_plain_text(const std::string& field, const json::value& v,
                                           std::vector<FieldError>& errors) {
  auto s = read_text(field, v, errors);
  if (s) {
    if (int c = first_control(*s); c >= 0) {
      add_error(errors, field, control_reason(c));
      return std::nullopt;
    }
  }
  return s;
}

std::optional<std::string> normalize_id(const json::value& v, std::vector<FieldError>& errors) {
  // Numeric ids (common in converted spreadsheets) are taken as their digits.
  const json::value as_text = v.is_int64() || v.is_uint64() ? json::value(json::serialize(v)) : v;
  auto s = read_text("id", as_text, errors);
  if (!s) return std::nullopt;
  if (utf8_length(*s) > kMaxIdChars) {
    add_error(errors, "id", "longer than " + std::to_string(kMaxIdChars) + " characters");
    return std::nullopt;
  }
  if (int c = first_control(*s); c >= 0) {
    add_error(errors, "id", control_reason(c));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> normalize_prompt(const json::value& v, std::vector<FieldError>& errors) {
  auto s = read_text("prompt", v, errors);
  if (!s) return std::nullopt;
  std::string p = normalize_newlines(*s);
  if (int c = first_control(p, "\n\t"); c >= 0) {
    add_error(errors, "prompt", control_reason(c));
    return std::nullopt;
  }
  return p;
}

std::optional<int> normalize_duration(const json::value& v, std::vector<FieldError>& errors) {
  const std::string why = "must be a positive whole number of seconds, e.g. 8 or 8s";
  auto bad = [&](std::string reason) -> std::optional<int> {
    add_error(errors, "duration", std::move(reason));
    return std::nullopt;
  };
  std::optional<std::int64_t> n;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    n = kMaxDurationS + 1;
  } else if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e9) n = static_cast<std::int64_t>(d);
    if (!n) return bad(why + " (got " + shown(v) + ")");
  } else if (v.is_string()) {
    std::string_view s = trim(v.get_string());
    if (s.empty()) return std::nullopt;
    if (s.back() == 's' || s.back() == 'S') s = trim(s.substr(0, s.size() - 1));
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad(why + " (got " + shown(v) + ")");
    n = parse_int<std::int64_t>(s);
    if (!n) n = kMaxDurationS + 1;
  } else {
    return bad(std::string("expected a number of seconds, got ") + kind_name(v));
  }
  if (*n <= 0) return bad(why + " (got " + shown(v) + ")");
  if (*n > kMaxDurationS)
    return bad("must be at most " + std::to_string(kMaxDurationS) + " seconds (got " + shown(v) + ")");
  return static_cast<int>(*n);
}

std::optional<std::string> normalize_resolution(const json::value& v, std::vector<FieldError>& errors) {
  if (v.is_int64() || v.is_uint64()) return json::serialize(v);
  return read_plain_text("resolution", v, errors);
}

std::optional<std::string> normalize_aspect_ratio(const json::value& v, std::vector<FieldError>& errors) {
  auto s = read_plain_text("aspect_ratio", v, errors);
  if (!s) return std::nullopt;
  const auto colon = s->find(':');
  if (colon != std::string::npos) {
    if (positive_digits(std::string_view(*s).substr(0, colon)) &&
        positive_digits(std::string_view(*s).substr(colon + 1)))
      return s;
  } else {
    const std::string w = to_lower(*s);
    const bool word = std::all_of(w.begin(), w.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }) && w.front() >= 'a' && w.front() <= 'z';
    if (word) return w;
  }
  add_error(errors, "aspect_ratio",
            "expected W:H with positive integers (e.g. 16:9) or a word like adaptive (got '" + *s + "')");
  return std::nullopt;
}

std::optional<bool> normalize_audio(const json::value& v, std::vector<FieldError>& errors) {
  if (v.is_bool()) return v.get_bool();
  if (v.is_int64() && (v.get_int64() == 0 || v.get_int64() == 1)) return v.get_int64() == 1;
  if (v.is_string()) {
    const std::string w = to_lower(trim(v.get_string()));
    if (w.empty()) return std::nullopt;
    if (w == "true" || w == "yes" || w == "1" || w == "on") return true;
    if (w == "false" || w == "no" || w == "0" || w == "off") return false;
  }
  add_error(errors, "audio", "expected true/false, yes/no, 1/0 or on/off (got " + shown(v) + ")");
  return std::nullopt;
}

std::optional<std::int64_t> normalize_seed(const json::value& v, std::vector<FieldError>& errors) {
  return read_integer<std::int64_t>("seed", v, errors);
}

std::optional<int> normalize_priority(const json::value& v, std::vector<FieldError>& errors) {
  return read_integer<int>("priority", v, errors);
}

std::optional<std::string> normalize_output(const json::value& v, std::vector<FieldError>& errors) {
  auto s = read_text("output", v, errors);
  if (!s) return std::nullopt;
  std::optional<std::string> why;
  if (s->find('/') != std::string::npos || s->find('\\') != std::string::npos)
    why = "must be a file name stem, without '/' or '\\' (got '" + *s + "')";
  else if (s->find("..") != std::string::npos || *s == ".")
    why = "must not be '.' or contain '..' (got '" + *s + "')";
  else if (int c = first_control(*s); c >= 0)
    why = control_reason(c);
  else if (s->size() > kMaxOutputBytes)
    why = "longer than " + std::to_string(kMaxOutputBytes) + " bytes";
  else if (auto problem = output_stem_problem(*s))
    why = std::move(*problem);
  if (!why) return s;
  add_error(errors, "output", std::move(*why));
  return std::nullopt;
}

}  // namespace reelbatch
