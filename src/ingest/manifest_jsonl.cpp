#include "src/ingest/manifest_jsonl.hpp"

#include "src/ingest/manifest_fields.hpp"
#include "src/ingest/manifest_text.hpp"

#include <boost/json/parse.hpp>

namespace reelbatch {
namespace json = boost::json;

std::optional<std::string> read_jsonl_object(std::string_view line, RowBuilder& b) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return "invalid JSON: " + ec.message();
  if (!v.is_object()) return std::string("expected a JSON object, got ") + kind_name(v);
  for (const auto& kv : v.get_object()) {
    const std::string key(kv.key());
    if (key == "params") {
      const json::value& p = kv.value();
      if (p.is_object())
        b.set_params(p.get_object());
      else if (!p.is_null())
        b.error("params", std::string("expected an object, got ") + kind_name(p));
    } else if (is_known_field(key)) {
      b.field(key, kv.value());
    } else {
      b.error(key, "unknown field" + unknown_field_hint(key) + "; known fields: " + known_field_list(false));
    }
  }
  return std::nullopt;
}

}  // namespace reelbatch
