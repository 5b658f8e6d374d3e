// Small ASCII text helpers shared by the parsers and the HTTP code.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace reelbatch {

/// `s` with ASCII letters lowercased; other bytes (UTF-8 included) unchanged.
std::string to_lower(std::string_view s);

/// ASCII case-insensitive equality (HTTP header names, units, extensions).
bool iequals(std::string_view a, std::string_view b);

/// Levenshtein distance in bytes, for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace reelbatch
