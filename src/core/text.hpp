// Small ASCII text helpers shared by the parsers and the HTTP code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace reelbatch {

/// `s` with ASCII letters lowercased; other bytes (UTF-8 included) unchanged.
std::string to_lower(std::string_view s);

/// ASCII case-insensitive equality (HTTP header names, units, extensions).
bool iequals(std::string_view a, std::string_view b);

/// Levenshtein distance in bytes, for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// `unix_ms` (milliseconds since the Unix epoch) as ISO-8601 UTC to the
/// second, e.g. "2027-01-15T08:00:00Z", for messages that name a deadline.
std::string iso_utc(std::int64_t unix_ms);

}  // namespace reelbatch
