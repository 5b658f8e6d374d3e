#include "src/ingest/manifest_fields.hpp"

#include "src/core/text.hpp"
#include "src/ingest/manifest_text.hpp"

#include <algorithm>

namespace reelbatch {

const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> k = {"id",     "provider", "model",  "prompt", "duration",
                                             "resolution", "aspect_ratio", "audio", "seed", "images",
                                             "videos", "audios",   "priority", "output"};
  return k;
}

bool is_known_field(std::string_view name) {
  const auto& k = known_fields();
  return std::find(k.begin(), k.end(), name) != k.end();
}

std::string unknown_field_hint(std::string_view name) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& k : known_fields()) {
    const std::size_t d = edit_distance(name, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (best.empty() && istarts_with(name, "params.")) return " (did you mean 'param." + std::string(name.substr(7)) + "'?)";
  if (name == "params") return " (in CSV, give each parameter its own param.<key> column)";
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

std::string known_field_list(bool csv) {
  std::string s;
  for (const auto& k : known_fields()) s += k + ", ";
  return s + (csv ? "param.<key>" : "params");
}

}  // namespace reelbatch
