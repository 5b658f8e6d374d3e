// CSV manifests: the header row -> columns (fixed fields and `param.<key>`
// columns), and each data record -> the fields of one row (DESIGN.md,
// "Manifest rows"; README.md, "Manifests"). The file-level loop is
// parse_manifest_csv (manifest.hpp).
#pragma once

#include "src/ingest/csv.hpp"
#include "src/ingest/manifest.hpp"
#include "src/ingest/row_builder.hpp"

#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

/// One header column.
struct CsvColumn {
  std::string field;      ///< a known field (lowercased), or "" for a param column
  std::string param_key;  ///< for `param.<key>`: the key, trimmed, case kept
};

/// The columns of the header, doc.records.front(), in order; trailing empty
/// header cells (trailing commas) are dropped. Names are trimmed and
/// case-insensitive ("Param." too). Throws ManifestError
/// ("file:line: ...") for an empty document, a syntax error before or in
/// the header, an unnamed, unknown (with a "did you mean" hint and the known
/// columns) or duplicate column, an empty parameter name, a missing `prompt`
/// column, or a missing `provider` column when opts has no default provider.
std::vector<CsvColumn> read_csv_header(const CsvDocument& doc, const std::string& file,
                                       const ManifestOptions& opts);

/// The RowError reason for a CSV syntax error: "CSV syntax error: <reason>",
/// plus " (line N)" when the problem is on a later line than the record
/// starts on and the reason does not already name it.
std::string csv_error_reason(const CsvError& e);

/// True when every cell of `rec` is blank (an empty line, or only commas):
/// the record is skipped.
bool is_blank_csv_record(const CsvRecord& rec);

/// Feeds the non-blank cells of `rec` to `b`: fixed fields as JSON strings
/// holding the cell as written; `param.<key>` cells (trimmed) as the JSON
/// number, bool, array or object they parse as, else as a string (a cell
/// that is not valid UTF-8 is an error naming "param.<key>"). Returns the
/// "(row)" reason, without feeding anything, when the record has another
/// number of fields than `columns` (extra blank trailing fields are
/// allowed); nullopt otherwise.
std::optional<std::string> read_csv_record(const CsvRecord& rec, const std::vector<CsvColumn>& columns,
                                           RowBuilder& b);

}  // namespace reelbatch
