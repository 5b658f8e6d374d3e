// The manifest file-level loops: CSV records merged with syntax errors in
// file order, JSONL lines, and reading a manifest file. The per-format
// mapping is in manifest_csv / manifest_jsonl, field rules in field_values /
// asset_lists, row completion in row_builder, unique ids in row_collector.
#include "src/ingest/manifest.hpp"

#include "src/core/text.hpp"
#include "src/ingest/csv.hpp"
#include "src/ingest/manifest_csv.hpp"
#include "src/ingest/manifest_jsonl.hpp"
#include "src/ingest/manifest_text.hpp"
#include "src/ingest/row_builder.hpp"
#include "src/ingest/row_collector.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace reelbatch {
namespace fs = std::filesystem;

std::string RowError::to_string() const {
  return file + ":" + std::to_string(line) + ": " + field + ": " + reason;
}

namespace {

// `shown` names the file in messages.
std::string read_whole_file(const fs::path& path, const std::string& shown) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    throw ManifestError(shown + ": cannot read manifest: " +
                        (ec ? ec.message() : std::string("no such file")));
  if (!fs::is_regular_file(st)) throw ManifestError(shown + ": cannot read manifest: not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ManifestError(shown + ": cannot read manifest: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ManifestError(shown + ": cannot read manifest: read error");
  return std::move(ss).str();
}

}  // namespace

Manifest parse_manifest_csv(std::string_view text, const std::string& file, const fs::path& base_dir,
                            const ManifestOptions& opts) {
  // BOMs past the first bytes are removed (without_bom_chars says why); the
  // one at the very start is the CSV reader's to drop. Line numbers are kept.
  std::string unbommed;
  const std::size_t lead = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  if (has_bom_char(text.substr(lead))) {
    unbommed = std::string(text.substr(0, lead)) + without_bom_chars(text.substr(lead));
    text = unbommed;
  }
  const CsvDocument doc = parse_csv(text);
  const std::vector<CsvColumn> columns = read_csv_header(doc, file, opts);

  // The rows, merged with syntax errors in file order.
  RowCollector out(file);
  std::size_t ei = 0;
  auto flush_errors_before = [&](int line) {
    for (; ei < doc.errors.size() && doc.errors[ei].line < line; ++ei)
      out.row_error(doc.errors[ei].line, "(row)", csv_error_reason(doc.errors[ei]));
  };
  for (std::size_t r = 1; r < doc.records.size(); ++r) {
    const CsvRecord& rec = doc.records[r];
    flush_errors_before(rec.line);
    if (is_blank_csv_record(rec)) continue;
    RowBuilder b(base_dir, opts);
    if (auto why = read_csv_record(rec, columns, b)) {
      out.row_error(rec.line, "(row)", std::move(*why));
      continue;
    }
    out.add(rec.line, b);
  }
  flush_errors_before(std::numeric_limits<int>::max());
  return out.take();
}

Manifest parse_manifest_jsonl(std::string_view text, const std::string& file, const fs::path& base_dir,
                              const ManifestOptions& opts) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::string unbommed;  // and every later BOM (without_bom_chars says why)
  if (has_bom_char(text)) text = unbommed = without_bom_chars(text);
  RowCollector out(file);
  int line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (raw.empty()) continue;
    RowBuilder b(base_dir, opts);
    if (auto why = read_jsonl_object(raw, b)) {
      out.row_error(line, "(row)", std::move(*why));
      continue;
    }
    out.add(line, b);
  }
  return out.take();
}

Manifest load_manifest(const fs::path& path, const ManifestOptions& opts) {
  std::error_code ec;
  fs::path base = fs::absolute(path, ec);
  if (ec) throw ManifestError(path.string() + ": cannot resolve path: " + ec.message());
  return load_manifest(path, path.string(), base.lexically_normal().parent_path(), opts);
}

Manifest load_manifest(const fs::path& path, const std::string& shown, const fs::path& base_dir,
                       const ManifestOptions& opts) {
  const std::string ext = to_lower(path.extension().string());
  if (ext != ".csv" && ext != ".jsonl" && ext != ".ndjson")
    throw ManifestError(shown + ": unsupported manifest type '" + path.extension().string() +
                        "' (expected .csv, .jsonl or .ndjson)");
  const std::string text = read_whole_file(path, shown);
  if (ext == ".csv") return parse_manifest_csv(text, shown, base_dir, opts);
  return parse_manifest_jsonl(text, shown, base_dir, opts);
}

}  // namespace reelbatch
