#include "src/ingest/manifest_csv.hpp"

#include "src/core/text.hpp"
#include "src/ingest/manifest_fields.hpp"
#include "src/ingest/manifest_text.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <set>

namespace reelbatch {
namespace json = boost::json;

namespace {

bool blank(const std::string& cell) { return trim(cell).empty(); }

// One `param.<key>` cell, trimmed and non-empty.
void read_param_cell(const std::string& key, std::string_view cell, RowBuilder& b) {
  if (!valid_utf8(cell)) return b.error("param." + key, "not valid UTF-8 (save the manifest as UTF-8)");
  boost::system::error_code ec;
  json::value v = json::parse(cell, ec);
  if (!ec && (v.is_number() || v.is_bool() || v.is_array() || v.is_object()))
    b.param(key, std::move(v));
  else
    b.param(key, json::string(cell));
}

}  // namespace

std::vector<CsvColumn> read_csv_header(const CsvDocument& doc, const std::string& file,
                                       const ManifestOptions& opts) {
  if (doc.records.empty() && doc.errors.empty())
    throw ManifestError(file + ":1: empty manifest: a header row is required");
  if (!doc.errors.empty() && (doc.records.empty() || doc.errors.front().line < doc.records.front().line)) {
    const CsvError& e = doc.errors.front();
    throw ManifestError(file + ":" + std::to_string(e.line) + ": bad header row: " + csv_error_reason(e));
  }

  const CsvRecord& header = doc.records.front();
  const std::string where = file + ":" + std::to_string(header.line) + ": ";
  std::vector<CsvColumn> columns;
  std::size_t named = header.fields.size();
  while (named > 0 && blank(header.fields[named - 1])) --named;  // trailing commas
  std::set<std::string> seen;
  for (std::size_t i = 0; i < named; ++i) {
    const std::string raw(trim(header.fields[i]));
    if (raw.empty())
      throw ManifestError(where + "column " + std::to_string(i + 1) + " of the header has no name");
    const std::string name = to_lower(raw);
    CsvColumn col;
    if (istarts_with(raw, "param.")) {
      col.param_key = std::string(trim(std::string_view(raw).substr(6)));
      if (col.param_key.empty()) throw ManifestError(where + "column '" + raw + "': empty parameter name after 'param.'");
      if (!seen.insert("param." + col.param_key).second)
        throw ManifestError(where + "duplicate column '" + raw + "'");
    } else if (is_known_field(name)) {
      col.field = name;
      if (!seen.insert(name).second) throw ManifestError(where + "duplicate column '" + raw + "'");
    } else {
      throw ManifestError(where + "unknown column '" + raw + "'" + unknown_field_hint(name) +
                          "; known columns: " + known_field_list(true));
    }
    columns.push_back(std::move(col));
  }
  if (!seen.count("prompt")) throw ManifestError(where + "missing required column 'prompt'");
  if (!seen.count("provider") && opts.default_provider.empty())
    throw ManifestError(where + "missing column 'provider' (required: no default provider is configured)");
  return columns;
}

std::string csv_error_reason(const CsvError& e) {
  std::string r = "CSV syntax error: " + e.reason;
  if (e.error_line != e.line && e.reason.find("line " + std::to_string(e.error_line)) == std::string::npos)
    r += " (line " + std::to_string(e.error_line) + ")";
  return r;
}

bool is_blank_csv_record(const CsvRecord& rec) { return std::all_of(rec.fields.begin(), rec.fields.end(), blank); }

std::optional<std::string> read_csv_record(const CsvRecord& rec, const std::vector<CsvColumn>& columns,
                                           RowBuilder& b) {
  const std::size_t n = rec.fields.size();
  const bool extra_blank =
      n > columns.size() &&
      std::all_of(rec.fields.begin() + static_cast<std::ptrdiff_t>(columns.size()), rec.fields.end(), blank);
  if (n != columns.size() && !extra_blank)
    return "expected " + std::to_string(columns.size()) + " fields (as in the header), got " + std::to_string(n) +
           "; quote fields that contain commas, quotes or line breaks";
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::string_view cell = trim(rec.fields[c]);
    if (cell.empty()) continue;
    if (columns[c].field.empty())
      read_param_cell(columns[c].param_key, cell, b);
    else
      b.field(columns[c].field, json::value(json::string(rec.fields[c])));
  }
  return std::nullopt;
}

}  // namespace reelbatch
