#include "src/ingest/row_builder.hpp"

#include "src/ingest/asset_lists.hpp"
#include "src/ingest/field_values.hpp"
#include "src/ingest/row_identity.hpp"

#include <algorithm>
#include <set>

namespace reelbatch {
namespace json = boost::json;

namespace {

// Moves a normalized value into place; unset and bad values leave `to` as is.
template <class T, class U>
void set_if(T& to, std::optional<U>&& from) {
  if (from) to = std::move(*from);
}

}  // namespace

RowBuilder::RowBuilder(const std::filesystem::path& base_dir, const ManifestOptions& opts)
    : base_dir_(base_dir), opts_(opts) {}

void RowBuilder::field(const std::string& name, const json::value& v) {
  if (v.is_null()) return;
  if (name == "id")
    set_if(explicit_id_, normalize_id(v, errors_));
  else if (name == "provider")
    set_if(spec_.provider, read_plain_text(name, v, errors_));
  else if (name == "model")
    set_if(spec_.model, read_plain_text(name, v, errors_));
  else if (name == "prompt")
    set_if(spec_.prompt, normalize_prompt(v, errors_));
  else if (name == "duration")
    set_if(spec_.duration_s, normalize_duration(v, errors_));
  else if (name == "resolution")
    set_if(spec_.resolution, normalize_resolution(v, errors_));
  else if (name == "aspect_ratio")
    set_if(spec_.aspect_ratio, normalize_aspect_ratio(v, errors_));
  else if (name == "audio")
    set_if(spec_.audio, normalize_audio(v, errors_));
  else if (name == "seed")
    set_if(spec_.seed, normalize_seed(v, errors_));
  else if (name == "priority")
    set_if(spec_.priority, normalize_priority(v, errors_));
  else if (name == "output")
    set_if(spec_.output, normalize_output(v, errors_));
  else if (const AssetListKind* kind = find_asset_list(name))
    set_if(spec_.*kind->member, normalize_assets(*kind, v, base_dir_, opts_.allowed_roots, errors_));
}

void RowBuilder::param(const std::string& key, json::value v) { spec_.params[key] = std::move(v); }

void RowBuilder::set_params(json::object params) { spec_.params = std::move(params); }

void RowBuilder::error(std::string field, std::string reason) {
  errors_.push_back(FieldError{std::move(field), std::move(reason)});
}

std::optional<ManifestRow> RowBuilder::finish() {
  if (spec_.provider.empty()) spec_.provider = opts_.default_provider;
  if (spec_.provider.empty()) error("provider", "required (no default provider is configured)");
  if (spec_.prompt.empty() && !has_error("prompt")) error("prompt", "required, must not be empty");
  std::set<std::string> names;
  for (const auto& k : asset_list_kinds())
    for (const auto& a : spec_.*k.member)
      if (!names.insert(a.name).second) error(k.field, "duplicate asset name '" + a.name + "'");
  if (!errors_.empty()) return std::nullopt;

  ManifestRow row;
  row.content_hash = content_hash(spec_);
  spec_.id = explicit_id_ ? *explicit_id_ : derived_id(row.content_hash);
  row.spec = std::move(spec_);
  return row;
}

bool RowBuilder::has_error(std::string_view field) const {
  return std::any_of(errors_.begin(), errors_.end(), [&](const FieldError& e) { return e.field == field; });
}

}  // namespace reelbatch
