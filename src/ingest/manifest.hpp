// Manifest parsing: CSV and JSONL files of job rows -> normalized JobSpecs
// (DESIGN.md, "Manifest rows"; README.md, "Manifests").
//
// Fields (CSV column names are case-insensitive and trimmed; JSONL keys are
// the same names, exactly):
//   id            optional; trimmed, 1..128 characters, no control characters.
//                 When absent or empty: "r" + the first 20 hex digits of the
//                 row's content_hash, so identical rows get identical ids.
//   provider      profile name; ManifestOptions::default_provider when absent/empty.
//   model         string, as written (trimmed).
//   prompt        required, non-empty after trimming; line breaks become "\n".
//   duration      positive whole seconds: 8, "8" or "8s".
//   resolution    string as written ("720p", "480"); a JSONL number 720 -> "720".
//   aspect_ratio  "W:H" with positive integers, kept as written, or a word
//                 ("adaptive", "keep_ratio"), lowercased.
//   audio         true/false, yes/no, 1/0, on/off (any case); JSONL also a bool.
//   seed          64-bit signed integer.
//   images, videos, audios
//                 named references. CSV: "name=location;name=location"; an
//                 item without "name=" (or whose text before '=' contains a
//                 '/' or '\', or that starts with http:// or https://) is a
//                 bare location named "Image N" / "Video N" / "Audio N", N its
//                 1-based position in the list. JSONL: an array of
//                 {"name", "path"} / {"name", "url"} objects or of bare
//                 strings, or an object {name: location}.
//                 A location starting with http:// or https:// (any case; the
//                 scheme is lowercased) is kept as a URL; anything else is a
//                 local path, resolved against the manifest's folder, then
//                 through every symlink (the canonical path is kept), that
//                 must name a regular file (no FIFO, device or folder), lie
//                 inside ManifestOptions::allowed_roots when any are given,
//                 and hold bytes of a known media type of the list's kind
//                 (images: image/*, videos: video/*, audios: audio/*; sniffed
//                 from the first bytes) that agrees with the extension.
//                 Names must be unique within a row across all three lists.
//   priority      integer, default 0; higher runs first.
//   output        output file stem: no '/', '\', "..", or control characters,
//                 at most 200 bytes.
//   params        JSONL: an object, passed through. CSV: one `param.<key>`
//                 column per key; a cell that parses as a JSON number, bool,
//                 array or object becomes that value, anything else a string.
// Empty CSV cells and JSONL nulls mean "unset". Every text value must be
// valid UTF-8. A byte order mark (U+FEFF) anywhere but the file's first
// bytes is removed, from the file and from JSON-escaped strings (see
// manifest_text.hpp, without_bom_chars, for why it is removed, not refused).
#pragma once

#include "src/core/job_spec.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {

/// One good row.
struct ManifestRow {
  JobSpec spec;              ///< normalized; spec.id is always set
  std::string file;          ///< the manifest, as named to the parser
  int line = 0;              ///< 1-based line the row starts on
  std::string content_hash;  ///< hex SHA-256 of the canonical JSON (to_json) of spec with id cleared
};

/// One problem with one row; the row is not returned. A row may produce
/// several RowErrors (one per bad field).
struct RowError {
  std::string file;
  int line = 0;        ///< 1-based; for CSV, the record's first physical line
  std::string field;   ///< field name ("duration", "param.x"), or "(row)" for the row as a whole
  std::string reason;
  /// "file:line: field: reason".
  std::string to_string() const;
};

/// A problem with the manifest file as a whole: unreadable, unsupported
/// extension, missing or bad header, unknown or duplicate column. what()
/// names "file:line: ...".
class ManifestError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

struct ManifestOptions {
  /// Provider (profile name) for rows whose provider column/key is absent or
  /// empty. Empty: every row must name its provider.
  std::string default_provider;
  /// Folders local assets must lie in after every symlink is resolved
  /// (config `[ingest] allowed_roots`, absolute and canonical). Empty: any.
  std::vector<std::filesystem::path> allowed_roots;
};

struct Manifest {
  std::vector<ManifestRow> rows;  ///< good rows, in manifest order
  std::vector<RowError> errors;   ///< bad rows, in manifest order
};

/// Parses CSV manifest text (header row required). `file` names the
/// manifest in rows and messages; relative asset paths resolve against
/// `base_dir` (made absolute against the working directory if relative).
/// Bad rows, including CSV syntax errors and duplicate ids, go to
/// Manifest::errors. Throws ManifestError for an empty file, a header with a
/// syntax error, an unknown, duplicate or unnamed column, or a missing
/// `prompt` column (or missing `provider` column without a default provider).
Manifest parse_manifest_csv(std::string_view text, const std::string& file,
                            const std::filesystem::path& base_dir, const ManifestOptions& opts);

/// Parses JSONL manifest text: one JSON object per line, blank lines
/// skipped, a UTF-8 BOM dropped. A line that is not a JSON object, or has an
/// unknown key, gives a RowError (field "(row)" or the key). Never throws
/// ManifestError.
Manifest parse_manifest_jsonl(std::string_view text, const std::string& file,
                              const std::filesystem::path& base_dir, const ManifestOptions& opts);

/// Reads and parses a manifest file, choosing the format by extension (any
/// case): .csv, or .jsonl/.ndjson. `file` in rows and messages is
/// path.string(); base_dir is the file's folder. Blocking file I/O. Throws
/// ManifestError for an unsupported extension, an unreadable file, or any
/// file-level problem parse_manifest_csv throws for.
Manifest load_manifest(const std::filesystem::path& path, const ManifestOptions& opts);

/// As above, but rows and messages name the file `shown` and relative asset
/// paths resolve against `base_dir` (a watch folder's file, read from
/// processing/ but named and resolved where it was dropped).
Manifest load_manifest(const std::filesystem::path& path, const std::string& shown,
                       const std::filesystem::path& base_dir, const ManifestOptions& opts);

}  // namespace reelbatch
