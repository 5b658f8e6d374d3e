#include "src/ingest/manifest_text.hpp"

#include "src/core/text.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdio>

namespace reelbatch {
namespace json = boost::json;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && to_lower(s.substr(0, prefix.size())) == prefix;
}

int first_control(std::string_view s, std::string_view allowed) {
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

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

bool has_bom_char(std::string_view s) { return s.find(kBom) != std::string_view::npos; }

std::string without_bom_chars(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(kBom, pos)) != std::string_view::npos; pos = hit + kBom.size())
    out.append(s.substr(pos, hit - pos));
  out.append(s.substr(pos));
  return out;
}

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

std::string shown(const json::value& v) {
  if (v.is_string()) return "'" + std::string(trim(v.get_string())) + "'";
  return json::serialize(v);
}

}  // namespace reelbatch
