// The manifest's field names (DESIGN.md, "Manifest rows"; the list in
// manifest.hpp): which CSV columns and JSONL keys exist, and the hints given
// for a name that is not one of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {

/// The fixed fields, in canonical order: id, provider, model, prompt,
/// duration, resolution, aspect_ratio, audio, seed, images, videos, audios,
/// priority, output. (Parameters, `param.<key>` / `params`, are not listed.)
const std::vector<std::string>& known_fields();

/// True when `name` is exactly one of known_fields() (case-sensitive; CSV
/// callers lowercase first).
bool is_known_field(std::string_view name);

/// A hint to append to "unknown column/field 'name'": " (did you mean 'x'?)"
/// for the known field within edit distance 2 (the closest, the first on a
/// tie), a param.<key> hint for "params.<key>", a CSV hint for "params";
/// otherwise "".
std::string unknown_field_hint(std::string_view name);

/// "id, provider, ..., output, " followed by "param.<key>" (`csv`) or
/// "params" (JSONL), for "known columns: ..." messages.
std::string known_field_list(bool csv);

}  // namespace reelbatch
