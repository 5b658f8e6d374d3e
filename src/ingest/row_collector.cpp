#include "src/ingest/row_collector.hpp"

#include <optional>

namespace reelbatch {

RowCollector::RowCollector(const std::string& file) : file_(file) {}

void RowCollector::row_error(int line, std::string field, std::string reason) {
  out_.errors.push_back(RowError{file_, line, std::move(field), std::move(reason)});
}

void RowCollector::add(int line, RowBuilder& b) {
  std::optional<ManifestRow> row = b.finish();
  for (const auto& [field, reason] : b.errors()) row_error(line, field, reason);
  const std::string id = row ? row->spec.id : b.explicit_id().value_or("");
  if (id.empty()) return;
  const auto [it, fresh] = first_line_.emplace(id, line);
  if (!fresh) {
    std::string reason = "duplicate id, first used on line " + std::to_string(it->second);
    if (row && !b.explicit_id()) reason += " (identical content; give the rows ids to run both)";
    row_error(line, "id", std::move(reason));
    return;
  }
  if (!row) return;
  row->file = file_;
  row->line = line;
  out_.rows.push_back(std::move(*row));
}

}  // namespace reelbatch
