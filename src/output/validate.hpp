// Checks a downloaded body before it may become an output file (issue 7,
// case 7: a 200 text/html error page must never be saved as a succeeded
// .mp4). Pure functions: no I/O.
//
// A body is accepted only when
//  - its size equals the Content-Length the server announced (when it did);
//  - its Content-Type is not an error-page type: text/* (text/html,
//    text/plain, ...), application/json, application/problem+json,
//    application/xml;
//  - its first bytes carry the signature of a container of the kind asked
//    for: MP4/MOV (`ftyp` at offset 4; QuickTime `moov`/`mdat`/`wide`/`free`
//    atoms also at offset 4), WebM/Matroska (EBML 1A 45 DF A3) for videos;
//    JPEG (FF D8 FF), PNG (89 50 4E 47 0D 0A 1A 0A), WebP ("RIFF" .... "WEBP"),
//    GIF ("GIF87a"/"GIF89a") for images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace reelbatch {

/// What kind of file an output is expected to be.
enum class MediaKind {
  video,  ///< MP4/MOV or WebM/Matroska
  image,  ///< JPEG, PNG, WebP or GIF
  any,    ///< unknown extension: any signature of the two lists above
};

/// The kind expected for an output file, from its final name's extension
/// (case-insensitive): .mp4 .m4v .mov .webm .mkv -> video; .jpg .jpeg .png
/// .webp .gif -> image; anything else -> any. Never throws.
MediaKind expected_media(const std::filesystem::path& final_path);

/// The bytes needed from the start of a body to check its signature.
inline constexpr std::size_t kSignatureBytes = 16;

/// True when `head` (the first bytes of the whole file, at least
/// kSignatureBytes when the file is that long) starts with a signature of
/// `kind` (see the file comment). Never throws.
bool has_media_signature(std::string_view head, MediaKind kind);

/// What came back for one download, as the validator sees it.
struct DownloadFacts {
  int http_status = 0;            ///< 200, or 206 for a resumed Range answer
  std::string content_type;       ///< the Content-Type header, as sent ("" if none)
  std::optional<std::uint64_t> content_length;  ///< the Content-Length header, if sent
  std::uint64_t received = 0;     ///< body bytes received in this response
  std::uint64_t file_size = 0;    ///< bytes of the whole file (a resumed part included)
  std::string head;               ///< the file's first bytes (up to 64)
};

/// Why the download must not be accepted, or nullopt when it is good.
struct DownloadRejection {
  bool truncated = false;  ///< a short body: the part may be resumed with a Range request
  std::string message;     ///< "<reason>; got <describe_response(facts)>"
};

/// Checks `facts` against the rules of the file comment for `kind`. Returns
/// nullopt when the body may be renamed into place. Never throws beyond
/// allocation.
std::optional<DownloadRejection> check_download(const DownloadFacts& facts, MediaKind kind);

/// "HTTP 200, Content-Type text/html, 38 bytes, starts with \"<html>...\"":
/// what came back, for error messages. The first bytes are shown as text
/// when printable (control characters as spaces, at most 48 characters, "..."
/// when cut), else as hex (at most 16 bytes). Never throws beyond allocation.
std::string describe_response(const DownloadFacts& facts);

}  // namespace reelbatch
