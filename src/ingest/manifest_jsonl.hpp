// JSONL manifests: one line's JSON object -> the fields of one row
// (DESIGN.md, "Manifest rows"; README.md, "Manifests"). The file-level loop
// is parse_manifest_jsonl (manifest.hpp).
#pragma once

#include "src/ingest/row_builder.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace reelbatch {

/// Parses one non-blank, trimmed JSONL line and feeds its keys to `b`:
/// `params` (an object, else an error naming "params"), the known fields
/// (exact names), and an error naming any other key ("unknown field", with
/// a "did you mean" hint and the known fields). Returns the "(row)" reason
/// when the line is not a JSON object ("invalid JSON: ...", "expected a JSON
/// object, got an array"), with nothing fed; nullopt otherwise.
std::optional<std::string> read_jsonl_object(std::string_view line, RowBuilder& b);

}  // namespace reelbatch
