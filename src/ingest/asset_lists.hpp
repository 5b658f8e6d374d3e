// Normalization of the manifest's asset lists: images, videos, audios
// (DESIGN.md, "Manifest rows"; the accepted forms are listed in
// manifest.hpp).
#pragma once

#include "src/core/job_spec.hpp"

#include <boost/json/value.hpp>

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace reelbatch {

/// One of the three asset list fields.
struct AssetListKind {
  const char* field;        ///< "images"
  const char* bare_prefix;  ///< "Image": a bare location is named "Image N"
  std::vector<AssetRef> JobSpec::*member;
};

/// images, videos, audios, in that order (the order duplicate names are
/// checked in).
const std::vector<AssetListKind>& asset_list_kinds();

/// The kind whose field is `field`; nullptr when `field` is not an asset list.
const AssetListKind* find_asset_list(std::string_view field);

/// Normalizes one asset list. `v` (not null) is a CSV cell as a JSON string
/// ("name=location;location"), or JSONL: an array of bare strings or
/// {"name", "path"|"url"} objects, or an object {name: location}. Bare
/// locations are named "<bare_prefix> N", N the 1-based position. URLs
/// (http:// or https://, any case) keep their text with the scheme
/// lowercased; other locations are local paths, resolved against `base_dir`
/// (made absolute against the working directory if relative), then through
/// every symlink to its canonical path, which is what is returned. Checked on
/// the file system (stat, realpath, and a read of the first 64 bytes): the
/// path must exist and be a regular file (a FIFO, device, socket or folder is
/// refused, naming its type); when `allowed_roots` (absolute, canonical) is
/// not empty it must lie inside one of them ("<path> resolves to
/// /etc/passwd, outside the allowed roots ..."); its bytes must sniff
/// (kit::sniff_content_type) as a media type of the list's kind (images:
/// image/*, videos: video/*, audios: audio/*); and when the extension names a
/// media type (kit::media_type_for_extension) the two must agree
/// (kit::media_types_agree), else the error names both.
///
/// Returns the list (possibly empty), or nullopt when any item was bad, after
/// appending one FieldError per problem, each naming kind.field, to
/// `errors`. Does not check names for uniqueness across lists.
std::optional<std::vector<AssetRef>> normalize_assets(const AssetListKind& kind, const boost::json::value& v,
                                                      const std::filesystem::path& base_dir,
                                                      const std::vector<std::filesystem::path>& allowed_roots,
                                                      std::vector<FieldError>& errors);

}  // namespace reelbatch
