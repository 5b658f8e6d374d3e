// Text checks shared by the manifest modules: trimming, control characters,
// UTF-8 validity, line breaks, integers, and how a JSON value is shown in a
// message (DESIGN.md, "Manifest rows": "Every text value must be valid UTF-8").
// Pure functions over bytes; nothing here throws except std::bad_alloc.
#pragma once

#include <boost/json/value.hpp>

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace reelbatch {

/// `s` without leading and trailing ASCII white space (space, \t, \r, \n, \v, \f).
/// Returns a view into `s`.
std::string_view trim(std::string_view s);

/// True when `s` starts with `prefix`, ignoring ASCII case. `prefix` must be
/// lowercase.
bool istarts_with(std::string_view s, std::string_view prefix);

/// The first byte of `s` that is a control character (below 0x20, or 0x7f)
/// and not one of `allowed`, as 0..127; -1 when there is none.
int first_control(std::string_view s, std::string_view allowed = {});

/// The message for a control character `c` (as first_control returns it):
/// "contains a control character (U+001B)".
std::string control_reason(int c);

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates, or
/// code points above U+10FFFF).
bool valid_utf8(std::string_view s);

/// The number of code points in `s`, assumed valid UTF-8 (bytes that are not
/// continuation bytes).
std::size_t utf8_length(std::string_view s);

/// True when `s` holds the UTF-8 byte order mark EF BB BF (U+FEFF) anywhere.
bool has_bom_char(std::string_view s);

/// `s` without any U+FEFF (EF BB BF). A BOM is only meaningful as the very
/// first bytes of a file; anywhere else it is an invisible leftover of
/// joining files that each had one (`cat a.csv b.csv`) or of an editor
/// pasting one in, and kept it would silently make "a" and "\uFEFFa" two
/// different ids, stems or profile names. It carries no text, so it is
/// removed rather than refused: the row means what it visibly says.
std::string without_bom_chars(std::string_view s);

/// `s` with "\r\n" and lone "\r" replaced by "\n".
std::string normalize_newlines(std::string_view s);

/// A whole decimal number `s` (an optional leading '+', then what
/// std::from_chars accepts for Int) that fits in Int; nullopt for an empty,
/// malformed, partly numeric or out-of-range `s`.
template <class Int>
std::optional<Int> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  Int v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

/// The kind of `v` for messages: "null", "a boolean", "a number", "a string",
/// "an array" or "an object".
const char* kind_name(const boost::json::value& v);

/// `v` as quoted in a message: a string trimmed and in single quotes
/// ('8 min'), anything else as serialized JSON (8.5, true).
std::string shown(const boost::json::value& v);

}  // namespace reelbatch
