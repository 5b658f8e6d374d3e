// Collects a manifest's rows and row errors in file order, and keeps ids
// unique within the manifest (DESIGN.md, "Manifest rows").
#pragma once

#include "src/ingest/manifest.hpp"
#include "src/ingest/row_builder.hpp"

#include <string>
#include <unordered_map>

namespace reelbatch {

class RowCollector {
 public:
  /// `file` names the manifest in rows and errors; it must outlive the
  /// collector.
  explicit RowCollector(const std::string& file);

  /// Records a problem with the row starting on `line` (1-based) without a
  /// builder: a syntax error or a bad field count (field "(row)").
  void row_error(int line, std::string field, std::string reason);

  /// Finishes `b` for the row starting on `line`: its errors become
  /// RowErrors; a good row is kept unless its id was used by an earlier row,
  /// which gives an "id" error "duplicate id, first used on line N" (with a
  /// hint when the id was derived from identical content). An explicit id
  /// counts as used even when its row is bad, so the duplicate is reported at
  /// once rather than after the first row is fixed.
  void add(int line, RowBuilder& b);

  /// The rows and errors so far; call once, at the end.
  Manifest take() { return std::move(out_); }

 private:
  const std::string& file_;
  std::unordered_map<std::string, int> first_line_;
  Manifest out_;
};

}  // namespace reelbatch
