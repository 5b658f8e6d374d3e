// The normalized job: one manifest row, independent of any provider
// (DESIGN.md, "Manifest rows"). Adapters map it to their native request.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

/// A named reference asset. `location` is an absolute local path (resolved
/// against the manifest's folder at ingest) or an http(s) URL.
struct AssetRef {
  std::string name;
  std::string location;

  /// True when `location` starts with "http://" or "https://".
  bool is_url() const;
  friend bool operator==(const AssetRef&, const AssetRef&) = default;
};

/// One normalized manifest row. Unset optionals mean "provider default".
struct JobSpec {
  std::string id;        ///< idempotency key: the `id` column, else a content hash
  std::string provider;  ///< profile name from the config
  std::string model;
  std::string prompt;
  std::optional<int> duration_s;   ///< seconds
  std::string resolution;          ///< as written: "720", "720p", "1080p", ...
  std::string aspect_ratio;        ///< "16:9", "9:16", ...
  std::optional<bool> audio;       ///< generate sound
  std::optional<std::int64_t> seed;
  std::vector<AssetRef> images;
  std::vector<AssetRef> videos;
  std::vector<AssetRef> audios;
  int priority = 0;                ///< higher runs first
  std::string output;              ///< output file stem; empty: the id
  boost::json::object params;      ///< provider-native extras, passed through
};

/// Field-level problem with a row, e.g. {"duration", "juhuo accepts 4-15 s (got 20)"}.
struct FieldError {
  std::string field;
  std::string reason;
};

/// Canonical JSON of a spec (every field, fixed key order). Used for the
/// sidecar, the database and the content hash.
boost::json::object to_json(const JobSpec& spec);

/// Inverse of to_json. Throws std::invalid_argument on a malformed object
/// (only seen if the database was edited by hand).
JobSpec job_spec_from_json(const boost::json::object& obj);

/// The file name stem for a job's outputs: `output`, else `id`, with path
/// separators and control characters replaced by '_'.
std::string output_stem(const JobSpec& spec);

}  // namespace reelbatch
