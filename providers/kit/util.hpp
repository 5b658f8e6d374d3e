// Helpers shared by the provider adapters (providers/<kind>/<kind>.cpp):
// ASCII text, message excerpts and secret scrubbing, JSON field readers, the
// {"code","message","result"} envelope, ProviderError construction,
// transport-error mapping, API request building, Retry-After, and the
// image/video content-type table that more than one provider documents.
//
// Only provider-neutral logic lives here. What one provider's API defines
// (its error-code tables, its state words, its envelope interpretation, its
// wording) stays in that provider's folder; where adapters differ in a
// detail, the helper takes it as a parameter.
//
// Error contract (DESIGN.md, STYLE.md): nothing here throws for bad input or
// a bad response; only std::bad_alloc escapes.
#pragma once

#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace reelbatch::kit {

// ---- ASCII text ------------------------------------------------------------------------

/// `c` with an ASCII capital letter lowercased; any other byte unchanged.
char ascii_lower(char c);
/// True for ASCII [0-9A-Za-z]; false for any other byte (UTF-8 included).
bool is_alnum(char c);
/// True for ASCII [0-9].
bool is_digit(char c);

/// `s` without leading and trailing ' ', '\t', '\r', '\n'. Returns a view
/// into `s` (empty when `s` is blank).
std::string_view trim(std::string_view s);

/// True when `value` equals one element of `set` (std::find). Used for the
/// small constexpr tables of accepted words and numbers in validate().
template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}
template <class T, std::size_t N>
bool one_of(const std::array<T, N>& set, const T& value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

// ---- messages --------------------------------------------------------------------------

/// `text` with the query of every http:// or https:// URL replaced by "?…"
/// (a URL ends at a space, tab, CR, LF, quote, apostrophe, '<' or '>').
/// Presigned upload and download URLs carry signatures that do not belong in
/// logs or error messages. Text without URLs is returned unchanged.
std::string elide_url_queries(std::string text);

/// A body excerpt for an error message: `body` trimmed, cut to at most `max`
/// bytes on a UTF-8 character boundary ("…" appended when cut), bytes below
/// 0x20 replaced by ' ', and, when `elide_urls`, URL queries elided as by
/// elide_url_queries(). Never fails.
std::string excerpt(std::string_view body, std::size_t max = 200, bool elide_urls = true);

/// `text` with every occurrence of `secret` replaced by "[redacted]"; `text`
/// unchanged when `secret` is empty.
std::string redact(std::string text, std::string_view secret);

/// RFC 3986 percent-encoding of one path segment or query value: unreserved
/// bytes ([A-Za-z0-9-._~]) kept, every other byte written as %XX (upper-case
/// hex). Never fails.
std::string percent_encode(std::string_view s);

// ---- errors ----------------------------------------------------------------------------

/// True for HTTP statuses 200-299.
bool is_2xx(int status);

/// A ProviderError with the given fields. `retry_after` is kept only for
/// ErrorClass::rate_limited and ErrorClass::retryable (dropped otherwise).
ProviderError make_error(ErrorClass cls, const std::string& profile, int http_status, std::string code,
                         std::string message, std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// An answer the adapter cannot use (unparseable, a missing or mistyped
/// field), code "bad_response". For a submit (`is_submit`) the task may exist:
/// ErrorClass::unknown_outcome with message "unusable submit answer (<what>)"
/// + `submit_advice`; otherwise ErrorClass::retryable with "unusable answer
/// (<what>)" + `retry_advice`. The advice texts are the provider's own
/// (e.g. "; will retry").
ProviderError bad_response(int http_status, std::string_view what, const std::string& profile, bool is_submit,
                           std::string_view submit_advice, std::string_view retry_advice);

/// The provider-specific words of from_net_error().
struct NetErrorText {
  std::string_view sent_prefix;  ///< submit sent, no answer: message = sent_prefix + what + sent_suffix
  std::string_view sent_suffix;
  std::string_view bad_url;  ///< label for NetErrc::bad_url, e.g. "bad URL"
  std::string_view timeout;  ///< label for NetErrc::timeout, e.g. "timeout"
  std::string_view network;  ///< label for any other failure, e.g. "network error"
};

/// The English wording (vibegen doc 7, seedance2, turing): sent_prefix "the
/// submit was sent but no answer arrived (", the provider's `sent_suffix`
/// (which closes the parenthesis and says what to do), bad_url "bad URL",
/// `timeout` (default "timeout"), network "network error".
constexpr NetErrorText english_net_text(std::string_view sent_suffix, std::string_view timeout = "timeout") {
  return {"the submit was sent but no answer arrived (", sent_suffix, "bad URL", timeout, "network error"};
}

/// The Chinese-labelled wording (juhuo doc 10, the openai-compatible relay):
/// sent_prefix "网络错误 (the submit was sent but no answer arrived: ", the
/// provider's `sent_suffix` (which closes the parenthesis), bad_url "地址错误",
/// timeout "请求超时", network "网络错误".
constexpr NetErrorText chinese_net_text(std::string_view sent_suffix) {
  return {"网络错误 (the submit was sent but no answer arrived: ", sent_suffix, "地址错误", "请求超时", "网络错误"};
}

/// Maps a transport failure to a ProviderError with http_status 0 and code
/// "timeout" (NetErrc::timeout) or "network" (anything else). `what` is
/// e.message with URL queries elided. A submit that may have reached the
/// server (`is_submit` and e.request_sent) → unknown_outcome,
/// "<sent_prefix><what><sent_suffix>"; NetErrc::bad_url → permanent,
/// "<bad_url> (<what>; check base_url)"; everything else, timeouts included,
/// → retryable, "<timeout|network> (<what>[; the request was not sent]; will
/// retry)".
ProviderError from_net_error(const NetError& e, const std::string& profile, bool is_submit,
                             const NetErrorText& text);

/// The provider's mapping of a transport failure (its own wording of
/// from_net_error()): `is_submit` when the request was a submit.
using NetErrorMapper = ProviderError (*)(const NetError& e, const std::string& profile, bool is_submit);

/// from_net_error() with the wording `Text` (an object with static storage
/// duration), as a NetErrorMapper: a provider whose only transport-error
/// quirk is its wording defines `const kit::NetErrorMapper from_net_error =
/// &kit::map_net_error<kNetText>;`.
template <const NetErrorText& Text>
ProviderError map_net_error(const NetError& e, const std::string& profile, bool is_submit) {
  return from_net_error(e, profile, is_submit, Text);
}

/// A permanent error for a problem found locally (code "local", http_status
/// 0, provider = profile.name), its message with profile.api_key redacted.
ProviderError local_error(const ProfileConfig& profile, std::string message);

/// `e` with `secret` redacted from its message (see redact()).
ProviderError scrub(ProviderError e, std::string_view secret);

// ---- JSON field readers ------------------------------------------------------------------
//
// Each returns false and sets `why` ("missing <key>", "empty <key>", "<key>
// is not a string/number/an integer") on a problem, true otherwise; `out` is
// only written on success.

/// A string field. Absent or null → true with `out` untouched (false with
/// "missing <key>" when `required`); a required empty string → false ("empty
/// <key>"). With `allow_integer`, an integer is taken as its decimal text
/// (ids, codes written as numbers).
bool read_string(const boost::json::object& o, std::string_view key, bool required, std::string& out,
                 std::string& why, bool allow_integer = false);

/// A JSON number, or a numeric string (trimmed; some Java services serialize
/// BigDecimal so) as a double. Absent or null → true with `out` untouched
/// (false with "missing <key>" when `required`).
bool read_number(const boost::json::object& o, std::string_view key, bool required, std::optional<double>& out,
                 std::string& why);

/// `v` as an int64: an integral JSON number, or, with `allow_numeric_string`,
/// a string holding a decimal integer (surrounding blanks ignored). nullopt
/// for null `v`, any other value, or an out-of-range number.
std::optional<std::int64_t> int64_of(const boost::json::value* v, bool allow_numeric_string = true);

/// An optional integer field (see int64_of()). Absent or null → true with
/// `out` untouched; anything else not an integer → false ("<key> is not an
/// integer").
bool read_int64(const boost::json::object& o, std::string_view key, std::optional<std::int64_t>& out,
                std::string& why, bool allow_numeric_string = true);

// ---- the {"code", "message", "result"} envelope --------------------------------------------

/// A body of the shape {"code": "<string or integer>", "message": "...",
/// "result": ...}, as juhuo and seedance2 answer. What a code means is each
/// provider's business.
struct CodeEnvelope {
  boost::json::value doc;  ///< the whole parsed body (an object)
  std::string code;        ///< non-empty; an integer code as its decimal text
  std::string message;     ///< "" when absent or not a string

  /// "result", or nullptr when absent or null.
  const boost::json::value* result() const;
};

/// `body` as a CodeEnvelope: a JSON object whose "code" is a non-empty string
/// or an integer. nullopt otherwise (not JSON, not an object, no code, code
/// empty or of another type).
std::optional<CodeEnvelope> parse_code_envelope(std::string_view body);

// ---- HTTP --------------------------------------------------------------------------------

/// `base_url` without trailing '/' characters, followed by `path_and_query`.
std::string join_url(std::string_view base_url, std::string_view path_and_query);

/// The header that carries a bearer token: {"Authorization", "Bearer <api_key>"}.
std::pair<std::string, std::string> bearer_auth(std::string_view api_key);

/// An API request: `method`, `url`, headers `auth`, then `Accept:
/// application/json`, then `Content-Type: <content_type>` when non-empty;
/// `body`; `timeout`.
HttpRequest make_api_request(std::string method, std::string url, std::pair<std::string, std::string> auth,
                             std::string body, std::string content_type, std::chrono::milliseconds timeout);

/// The profile's proxy and trust store (ProfileConfig::network, issue 11)
/// as the HTTP client takes them. Never throws except std::bad_alloc.
NetOptions net_options(const ProfileConfig& profile);

/// make_api_request(method, url, auth, body, content_type,
/// profile.request_timeout) with net_options(profile): an API call with the profile's deadline (the
/// whole exchange, milliseconds).
HttpRequest api_request(const ProfileConfig& profile, std::string method, std::string url,
                        std::pair<std::string, std::string> auth, std::string body = {},
                        std::string content_type = {});

/// The PUT of `bytes` to a presigned upload URL: `method` (the presign's, or
/// "PUT"), `url`, the one header `Content-Type: <content_type>` (no
/// authorization: the URL carries its signature and belongs to another
/// host), `timeout` for the whole exchange (milliseconds).
HttpRequest presigned_upload_request(std::string method, std::string url, std::string_view content_type,
                                     std::string bytes, std::chrono::milliseconds timeout);

/// An API call to a JSON API: url = join_url(profile.base_url,
/// `path_and_query`); headers `auth` (e.g. bearer_auth(profile.api_key)),
/// `Accept: application/json`, and `Content-Type: application/json` when
/// `body` is non-empty; timeout = profile.request_timeout. Never fails.
HttpRequest json_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                             std::string body, std::pair<std::string, std::string> auth);
/// json_api_request() with `Authorization: Bearer <profile.api_key>`.
HttpRequest json_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                             std::string body);

/// Retry-After (RFC 9110 10.2.3) relative to `now`: delay-seconds or an
/// HTTP-date, parsed by reelbatch::parse_retry_after (src/net/retry_after.hpp;
/// see there for the accepted forms). A past date gives 0; a negative,
/// fractional or unparseable value, nullopt. The result is capped at 24 h.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// parse_retry_after() of the response's Retry-After header; nullopt when the
/// header is absent or empty.
std::optional<std::chrono::milliseconds> retry_after_of(const HttpResponse& r);

// ---- files -------------------------------------------------------------------------------

/// Reads the whole file at `path` into `out` (blocking; for small reference
/// files). Returns false with `why` = "cannot open <path>" or "cannot read
/// <path>" on failure.
bool read_file(const std::filesystem::path& path, std::string& out, std::string& why);

/// The image/video content types by extension, case-insensitive, as juhuo
/// (doc 4.1) and seedance2 (文件上传) both document: .png → image/png,
/// .jpg/.jpeg → image/jpeg, .webp → image/webp, .mp4 → video/mp4, .mov →
/// video/quicktime, .webm → video/webm; nullopt for any other extension or
/// none.
std::optional<std::string> content_type_for(const std::filesystem::path& p);
/// True for the image rows of content_type_for()'s table.
bool is_image_content_type(std::string_view content_type);
/// True for the video rows of content_type_for()'s table.
bool is_video_content_type(std::string_view content_type);

/// The media type a file's first bytes announce (magic numbers): image/png
/// (89 50 4E 47 0D 0A 1A 0A), image/jpeg (FF D8 FF), image/gif ("GIF87a",
/// "GIF89a"), image/webp ("RIFF" .... "WEBP"), audio/wav ("RIFF" ....
/// "WAVE"), ISO base media files by the box at offset 4 ("ftyp" with major
/// brand "qt  " → video/quicktime, "M4A "/"M4B "/"M4P " → audio/mp4, any
/// other brand → video/mp4; a leading "moov"/"mdat"/"wide"/"free"/"skip"/
/// "pnot" box, as old QuickTime files start, → video/quicktime), EBML
/// (1A 45 DF A3) → video/webm when the header names the "webm" doc type
/// within the given bytes, else video/x-matroska; audio/mpeg ("ID3", or an
/// MPEG audio frame sync FF E0-mask with layer bits not 00), audio/aac (ADTS:
/// FF F0/F1/F8/F9), audio/ogg ("OggS"), audio/flac ("fLaC"). `head` should
/// hold the file's first 64 bytes (fewer for a shorter file). nullopt when
/// none matches. Pure; never throws but std::bad_alloc.
std::optional<std::string> sniff_content_type(std::string_view head);

/// The media type an extension claims, case-insensitive; a wider table than
/// content_type_for() (which lists what the upload APIs accept): .png, .jpg,
/// .jpeg, .gif, .webp, .mp4, .m4v, .mov, .webm, .mkv, .mp3, .wav, .m4a, .aac,
/// .ogg, .oga, .flac. nullopt for any other extension or none.
std::optional<std::string> media_type_for_extension(const std::filesystem::path& p);

/// True when a file claimed as `claimed` (media_type_for_extension) whose
/// bytes sniff as `sniffed` holds what its name says: equal types, or two
/// members of one container family (ISO base media: video/mp4,
/// video/quicktime, audio/mp4; Matroska: video/webm, video/x-matroska),
/// since one container is routinely saved under the other's extension.
bool media_types_agree(std::string_view claimed, std::string_view sniffed);

/// The first up to 64 bytes of the file at `path` (blocking), for
/// sniff_content_type(). Returns false with `why` = "cannot open <path>" or
/// "cannot read <path>" on failure.
bool read_file_head(const std::filesystem::path& path, std::string& out, std::string& why);

/// A storage-safe file name of at most `max_length` bytes (≥ 32):
/// "<stem>-<first 12 hex of sha256>.<ext>". The stem is the local stem with
/// every byte outside [A-Za-z0-9_-] mapped to '_', runs of '_' collapsed,
/// leading/trailing '_' trimmed, "file" when nothing is left, and truncated so
/// the whole name fits. The extension is the local one lowercased with
/// non-alphanumerics dropped, at most 16 bytes ("bin" when none). Only hex
/// digits of `sha256_hex` are used (the "-<hash>" part is omitted if it has
/// none). Examples: "橘猫.webp" → "file-<h>.webp", "old map.png" →
/// "old_map-<h>.png", "a.b.c.PNG" → "a_b_c-<h>.png".
std::string upload_file_name(const std::filesystem::path& local, std::string_view sha256_hex,
                             std::size_t max_length = 128);

}  // namespace reelbatch::kit
