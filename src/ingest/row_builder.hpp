// Builds one manifest row: feeds each field to its normalizer, collects
// every problem, and completes the row (default provider, required fields,
// unique asset names, content hash and id). Format-neutral: the CSV and
// JSONL readers (manifest_csv, manifest_jsonl) feed it.
#pragma once

#include "src/core/job_spec.hpp"
#include "src/ingest/manifest.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

class RowBuilder {
 public:
  /// `base_dir` resolves relative asset paths; `opts` gives the default
  /// provider. Both must outlive the builder.
  RowBuilder(const std::filesystem::path& base_dir, const ManifestOptions& opts);

  /// One fixed field (`name` is one of known_fields()), normalized by
  /// field_values / asset_lists; null means unset. Problems are recorded,
  /// never thrown.
  void field(const std::string& name, const boost::json::value& v);

  /// Sets one provider parameter (CSV `param.<key>`), replacing any earlier
  /// value for `key`.
  void param(const std::string& key, boost::json::value v);

  /// Sets all provider parameters at once (the JSONL `params` object).
  void set_params(boost::json::object params);

  /// Records a problem with `field` ("(row)" for the row as a whole).
  void error(std::string field, std::string reason);

  /// The explicit id, once field("id") accepted it.
  const std::optional<std::string>& explicit_id() const { return explicit_id_; }

  /// Completes the row: the default provider when none was given; errors for
  /// a missing provider, an empty prompt, and an asset name used twice in
  /// the row (across images, videos and audios); then content_hash and the
  /// id (explicit, else derived_id). Returns nullopt when any problem was
  /// recorded (see errors()). `file` and `line` of the row are left unset.
  /// Call once.
  std::optional<ManifestRow> finish();

  /// Every problem recorded, in the order found.
  const std::vector<FieldError>& errors() const { return errors_; }

 private:
  bool has_error(std::string_view field) const;

  const std::filesystem::path& base_dir_;
  const ManifestOptions& opts_;
  JobSpec spec_;
  std::optional<std::string> explicit_id_;
  std::vector<FieldError> errors_;
};

}  // namespace reelbatch
