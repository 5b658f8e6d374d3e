// The turing (TCL Turing /videos) adapter: maps a JobSpec to the native
// `POST /videos` request (JSON, or multipart/form-data with an
// `input_reference` file for Veo) and the answers back to the normalized
// Provider facts. Source of truth: api-docs/001_bf2549479f4c04d9.txt
// ("视频生成 API"); section names below are the doc's headings ("doc 参数限制说明").
//
// Error contract (DESIGN.md, STYLE.md): everything here returns
// ProviderResult / FieldError lists for outcomes that depend on input or on
// the provider's answer; nothing throws for a bad response. Only allocation
// failure (std::bad_alloc) escapes.
//
// Interpretations of the document (where it is silent or ambiguous); the
// emulator (providers/turing/emulator.hpp) behaves the same way:
//   * Model family. The doc has two parameter sets, "Veo 模型" and "Seedance
//     模型", and names one model of each ("turing/veo-3.1-generate",
//     "doubao-seedance-2-0-260128"). The family is chosen by the model name,
//     case-insensitively: a name containing "seedance" is Seedance, else a
//     name containing "veo" is Veo; any other name is rejected by validate()
//     (the adapter would not know which parameter set to send). A model is
//     required (the Seedance table marks `model` 必填; every example sends it).
//   * Veo request: `prompt`, `model`, `size` and `seconds` (a *string*,
//     "4"/"6"/"8"), sent as JSON (doc 纯文本生成示例) when there is no
//     reference image, and as multipart/form-data (doc 图生视频示例) with the
//     file part `input_reference` (filename and Content-Type set, as the doc
//     requires) when there is one. At most one image, a local image file
//     ≤ 10 MB (doc 参数限制说明: input_reference 10MB; "仅支持图片"); an image
//     URL is rejected (the doc documents an uploaded file only). Veo has no
//     seed, audio switch, reference videos or audios in the doc: a row that
//     sets them is rejected rather than silently losing them.
//     size: aspect_ratio 16:9 → "1280x720", 9:16 → "720x1280"; resolution
//     must be empty, "720"/"720p", or one of the two sizes written out
//     ("1280x720"); nothing set → no size (the service default).
//     `personGeneration` (and any other key) comes from spec.params.
//   * Seedance request: the native JSON body of doc "Seedance 参数": `model`,
//     `prompt`, and `content` = [{"type":"text","text":prompt}, then one
//     image_url item per image, video_url per video, audio_url per audio], as
//     the doc's Seedance example carries the prompt both ways ("自动填入
//     content 数组"); `resolution` "480p"/"720p" (the table) or "1080p" (the
//     doc's own example sends it: accepted); `ratio` 16:9 9:16 1:1 4:3 3:4
//     and 21:9 (the size table lists 21:9); `duration` integer 4/5/6/8;
//     `seed`; `generate_audio` from audio. `watermark` and `return_last_frame`
//     only through params. Local images become base64 data URIs
//     ("data:image/png;base64,..."), URL images must be https (doc: "支持
//     HTTPS URL 或 base64 data URI"), videos and audios must be https URLs
//     (doc: "参考视频(HTTPS URL)", "参考音频(HTTPS URL)"); local videos and
//     audios are rejected. The 10 MB image limit (doc 通用限制) also applies
//     to images sent as data URIs.
//   * spec.params keys are copied over the built JSON body (a params key
//     overrides, e.g. "content" replaces the whole array); for multipart they
//     become text fields (strings as-is, other JSON values serialized).
//   * Uploads: the API has no upload endpoint. async_upload() checks the
//     local image (type, ≤ 10 MB) and returns "inline:<sha256>"; the file
//     itself is read at submit time from the row's own path (spec.images),
//     matched by name, so a cached upload reference never points at a stale
//     path.
//   * Errors: plain JSON + HTTP status (README: "plain JSON, HTTP status"); the
//     body shape is undocumented, so {"error": {"message", "type", "code"}}
//     (OpenAI style), {"error": "text"}, {"message": "text"} and non-JSON are
//     all read. 400/404/409/413/415/422 → permanent; 401/403 → auth; 402 →
//     out_of_credit; 429 → rate_limited (Retry-After honoured), except error
//     code/type "insufficient_quota" → out_of_credit; 408 and 5xx →
//     retryable; for a submit a 502/504 or an unusable 2xx → unknown_outcome.
//     Transport failures after a submit was sent → unknown_outcome. There is
//     no task list (has_task_list() is false): the engine holds such rows.
//   * Task object (doc: only `id`, `status`, `model` are shown): the
//     OpenAI-style video object is read: `id`, `status`, `created_at` (Unix
//     seconds; a value > 10^11 is taken as ms), `error` ({code, message} or a
//     string), and an optional `last_frame_url` (a Seedance task submitted
//     with return_last_frame; where the doc puts it is undocumented).
//   * Submit outcomes (issue 7; turing has no task list, so "unknown" rows
//     are held for `reelbatch resolve`, never resubmitted blindly; the doc
//     states no refund for failed tasks: on_remote_failure defaults to fail):
//       answer (HTTP / error code or type)             | outcome         | class
//       -----------------------------------------------|-----------------|----------------
//       2xx with an id                                 | created         | (accepted)
//       2xx without a usable id / unparseable          | unknown         | unknown_outcome
//       502 / 504 (a gateway may have forwarded it)    | unknown         | unknown_outcome
//       transport failure after the request was sent  | unknown         | unknown_outcome
//       402, code/type insufficient_quota              | nothing created | out_of_credit
//       429                                            | nothing created | rate_limited
//       401 / 403                                      | nothing created | auth
//       408, 500, 503, other 5xx                       | nothing created | retryable
//       other 4xx                                      | nothing created | permanent
//       transport failure before the request was sent | nothing created | retryable
//   * States (doc: queued → processing → completed, failed; the submit
//     example answers "in_progress"): queued → queued; in_progress and
//     processing → running; completed → succeeded; failed → failed. Any other
//     word is logged and treated as running.
//   * Download: GET /videos/{id}/content with the Authorization header (doc
//     下载视频内容). A last_frame_url on the API's own origin gets the header
//     too; on another host it is fetched without it. No cover.
//   * URL lifetime: the doc gives none; default_url_ttl() is 24 h
//     (conservative, so downloads are not postponed). Poll: 20 s first wait,
//     20 s interval, 30 s cap (doc 轮询任务状态: "推荐轮询间隔为 20s - 30s").
//   * Failed tasks: the doc says nothing about charging or transient causes,
//     so is_retryable_failure() is false (the row fails with the message).
//
// Secrets: the API key is only ever put in the Authorization header of
// requests to profile.base_url (and download targets on that origin); never
// logged, and scrubbed from every error message.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/util.hpp"
#include "src/core/job_spec.hpp"
#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

namespace reelbatch::turing {

// ---- endpoints (doc 鉴权与基础信息) ---------------------------------------------------

inline constexpr std::string_view kVideosPath = "/videos";  ///< POST create; GET /videos/{id}; GET .../content

/// Doc 参数限制说明 / 通用限制: reference image ≤ 10 MB (10 × 2^20 bytes).
inline constexpr std::uint64_t kMaxImageBytes = 10ull << 20;

/// Builds the adapter for one turing profile (base_url = the doc's Base URL,
/// ".../api/v1"). `profile` is copied; `http` must outlive the adapter.
/// Requests carry `Authorization: Bearer <profile.api_key>` and
/// profile.request_timeout. Coroutine arguments are taken by reference: keep
/// them alive until the awaitable completes. Never throws except std::bad_alloc.
/// `logger`: where the adapter logs; nullptr = spdlog::default_logger().
std::unique_ptr<Provider> make_turing_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger = nullptr);

// ---- model family -------------------------------------------------------------------

enum class Family { veo, seedance };

/// The parameter set for `model` (see the header comment): "seedance" in the
/// name (any case) → seedance, else "veo" → veo, else nullopt.
std::optional<Family> family_of(std::string_view model);

// ---- validation (doc 参数限制说明, Seedance 参数, 错误与常见限制) ----------------------------

/// Checks a row (profile defaults applied) against the documented limits.
/// Field names are the manifest's (prompt, model, duration, resolution,
/// aspect_ratio, audio, seed, images, videos, audios, params). Checks: prompt
/// non-blank; model names a family. Veo: duration 4/6/8; resolution/size and
/// aspect_ratio map to 1280x720 or 720x1280; at most one image, a local image
/// file (extension in image_content_type) of ≤ 10 MB when it exists (stat
/// only); no seed, audio, videos or audios. Seedance: duration 4/5/6/8;
/// resolution 480p/720p/1080p ("480" etc. accepted); aspect_ratio 16:9 9:16
/// 1:1 4:3 3:4 21:9; images local (image type, ≤ 10 MB) or https URLs;
/// videos and audios https URLs; no params.personGeneration (Veo only).
/// Returns one FieldError per problem, empty when acceptable.
std::vector<FieldError> validate(const JobSpec& spec);

/// The image MIME type for a file by extension (case-insensitive): .png,
/// .jpg/.jpeg, .webp, .gif, .bmp; nullopt otherwise.
std::optional<std::string> image_content_type(const std::filesystem::path& p);

/// Veo `size` for a row: "1280x720" (16:9), "720x1280" (9:16), "" when
/// neither resolution nor aspect ratio says (service default); nullopt when
/// they ask for anything else.
std::optional<std::string> veo_size(std::string_view resolution, std::string_view aspect_ratio);

/// Seedance `resolution`: "480"/"480p"/"720"/"720p"/"1080"/"1080p" (any case)
/// → "480p"/"720p"/"1080p"; anything else → nullopt.
std::optional<std::string> seedance_resolution(std::string_view resolution);

// ---- submit (doc 纯文本生成示例, 图生视频示例, Seedance 请求示例) ------------------------------

/// A local file's bytes for the request (read by the coroutine class).
struct InlineFile {
  std::string name;          ///< the manifest's reference name
  std::string filename;      ///< the local file name (multipart filename)
  std::string content_type;  ///< image_content_type of the file
  std::string bytes;
};

/// A built submit body.
struct SubmitBody {
  std::string content_type;  ///< "application/json" or "multipart/form-data; boundary=..."
  std::string body;
  boost::json::object fields;  ///< the JSON body, or the multipart text fields (for tests and logs)
};

/// Standard base64 (RFC 4648 §4, with padding).
std::string base64_encode(std::string_view bytes);

/// "data:<content_type>;base64,<base64 of bytes>".
std::string data_uri(std::string_view content_type, std::string_view bytes);

/// One multipart/form-data body (RFC 7578): text `fields` in order, then the
/// optional `file` as part `file_field` with filename and Content-Type.
/// The boundary is derived from `seed` (deterministic) and never occurs in
/// the content. Returns content_type "multipart/form-data; boundary=<b>".
SubmitBody build_multipart(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view file_field,
                           const InlineFile* file, std::string_view seed);

/// The Veo body. `image`: the reference image's bytes, when the row has one
/// (then multipart, else JSON). Fields: prompt, model, size (if any), seconds
/// (string, if duration set), then spec.params (strings as-is, others
/// serialized in multipart; copied as JSON values in JSON).
SubmitBody build_veo_body(const SubmitRequest& req, const InlineFile* image);

/// The Seedance JSON body (see the header comment). `images[i]` is the data
/// URI or https URL of req.images[i]; videos and audios are req.videos /
/// req.audios remote_refs (their URLs).
SubmitBody build_seedance_body(const SubmitRequest& req, const std::vector<std::string>& image_urls);

/// Parses the create answer ({"id", "status", "model"}); returns the id.
/// Errors: classified as above; a 2xx without a non-empty string id (or a
/// 502/504) → unknown_outcome.
ProviderResult<std::string> parse_submit_response(int http_status, std::string_view body, const std::string& profile,
                                                  std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- query (doc 轮询任务状态) ------------------------------------------------------------

/// queued → queued; in_progress, processing → running; completed →
/// succeeded; failed → failed (case-insensitive); other words → running.
RemoteState map_state(std::string_view native);

/// True for queued, in_progress, processing, completed, failed.
bool is_documented_state(std::string_view native);

/// Parses a GET /videos/{id} answer (see the header comment). video_url
/// stays empty (the video is fetched from the content endpoint). Errors:
/// classified as above; a missing id/status or mistyped field → retryable
/// "bad_response".
ProviderResult<TaskStatus> parse_task_response(int http_status, std::string_view body, const std::string& profile,
                                               std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// "/videos/" + percent-encoded id.
std::string task_path(std::string_view id);
/// "/videos/" + percent-encoded id + "/content".
std::string content_path(std::string_view id);

// ---- errors -------------------------------------------------------------------------------

/// Classifies one answer that is not success (see the header comment).
/// `code`/`type`: the error object's fields ("" when absent); `message`:
/// the service's message or a body excerpt. Returns code = `code`, else
/// `type`, else "http".
ProviderError classify(int http_status, std::string_view code, std::string_view type, std::string message,
                       const std::string& profile, std::optional<std::chrono::milliseconds> retry_after,
                       bool is_submit = false);

/// kit::from_net_error in turing's words (kit::english_net_text; a lost
/// submit is held for a decision), the message cut at its first '?'.
ProviderError from_net_error(const NetError& e, const std::string& profile, bool is_submit);

/// kit::api_request to join_url(profile.base_url, `path`) with
/// `Authorization: Bearer <api_key>` and `content_type` when non-empty.
HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path,
                              std::string body = {}, std::string content_type = {});

/// `text` with every occurrence of `secret` replaced by "[redacted]".
/// (kit::redact.)
using kit::redact;

}  // namespace reelbatch::turing
