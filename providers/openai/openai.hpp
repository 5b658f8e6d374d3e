// The openai adapter: the OpenAI-compatible `/v1/videos` API as sold by
// relays (Sora and Veo3 models), and the shape of OpenAI's own `/v1/videos`.
// Source of truth: api-docs/004_0361e29f745deffc.txt ("视频生成", a relay's
// page); sections below are its headings: 接入结论, 第一步:创建任务 ("step 1"),
// 第二步:轮询状态 ("step 2"), 第三步:下载视频 ("step 3"), 常见问题 ("FAQ").
//
// Error contract (DESIGN.md, STYLE.md): everything here returns
// ProviderResult / FieldError lists for outcomes that depend on input or on
// the provider's answer; nothing throws for a bad response. Only allocation
// failure (std::bad_alloc) escapes.
//
// Interpretations of the document (where it is silent or ambiguous):
//   * base_url. The document writes full URLs (https://HOST/v1/videos) and
//     its Python sets API_BASE = "https://HOST/v1"; OpenAI's SDKs also use a
//     base URL ending in /v1. So both spellings are accepted: a base_url that
//     ends in "/v1" gets "/videos" appended, any other base_url gets
//     "/v1/videos" (api_url()). With the emulator: base_url =
//     http://127.0.0.1:PORT/openai (or .../openai/v1, the same endpoints).
//   * Dialect. The relay's documented request is JSON {model, prompt,
//     duration (integer s), size ("1280x720"), seed}. OpenAI's own API takes
//     {model, prompt, seconds ("4"|"8"|"12", a string), size} and rejects
//     unknown parameters, so a profile whose base_url host is api.openai.com
//     uses the OpenAI dialect (seconds instead of duration, no seed, OpenAI's
//     size table); every other host gets the relay dialect.
//   * Reference image. The document has no image input; OpenAI's shape takes
//     one `input_reference` file in a multipart/form-data body. So a row may
//     carry at most one image, a local .jpg/.jpeg/.png/.webp file (no URLs,
//     no videos, no audios). Without an image the body is JSON; with one it
//     is multipart with the same text fields (numbers as decimal text) plus
//     the file part. There is no upload endpoint: async_upload does no I/O
//     and returns "local:sha256:<hex>"; async_submit reads the file named by
//     the row's own `images[0].location` when it builds the multipart body.
//   * Size. JobSpec.resolution may already be "WxH" (passed as size), or a
//     height ("480p", "720", "1080p") combined with aspect_ratio (16:9, 9:16,
//     1:1, 4:3, 3:4; default 16:9) into WxH (size_for()). aspect_ratio alone
//     means 720p. Neither: no size (the provider's default).
//   * audio: the document has no audio switch (Sora and Veo3 decide), so a
//     row that sets audio is rejected rather than silently ignored.
//   * model is required (step 1: 必填) but not checked against a list: the
//     available IDs are the relay's 模型广场 (GET /v1/models); a misspelt ID
//     comes back as an error (FAQ) classified permanent.
//   * duration: the document says integer, default 5, and gives no range, so
//     only duration >= 1 is checked (OpenAI dialect: 4, 8 or 12).
//   * Submit outcomes (issue 7; no task list: "unknown" rows are held for
//     `reelbatch resolve`; the doc states no refund for failed tasks, so
//     on_remote_failure defaults to fail):
//       answer (HTTP / error object)                   | outcome         | class
//       -----------------------------------------------|-----------------|----------------
//       2xx with id or task_id                         | created         | (accepted)
//       2xx without either id, unparseable             | unknown         | unknown_outcome
//       502 / 504 (a gateway may have forwarded it)    | unknown         | unknown_outcome
//       transport failure after the request was sent  | unknown         | unknown_outcome
//       quota error (insufficient_quota, 额度不足)      | nothing created | out_of_credit
//       429                                            | nothing created | rate_limited
//       401 / 403                                      | nothing created | auth
//       model_not_found, moderation, 404, other 4xx,   | nothing created | permanent
//         2xx with an error object (the relay said no) |                 |
//       408, 500, 503, other 5xx                       | nothing created | retryable
//       transport failure before the request was sent | nothing created | retryable
//   * Submit answer: `id`, else `task_id` (step 1: 优先读 id,没有再读
//     task_id), a string or an integer; neither → the body excerpt goes into
//     the error (两者都没有要把响应体记到日志) and the class is unknown_outcome.
//   * States (step 2 table): queued, pending → queued; in_progress,
//     processing → running; completed, succeeded, success → succeeded;
//     failed → failed; cancelled (and "canceled") → cancelled; unknown →
//     succeeded when the answer carries a video URL, else running (有视频地址按
//     完成处理;没有继续轮询). Case-insensitive. An undocumented word is
//     logged and treated as running, like unknown without URL.
//   * Video URL (step 2 优先级): data[0].url, data.result_url, result_url,
//     url, video_url, output_url, download_url; the first non-empty string
//     wins. A completed task with none of them downloads from
//     GET /v1/videos/{id}/content (兜底), which needs the Authorization
//     header (step 3, FAQ 下载链接 403). A URL in a field is fetched WITH the
//     Authorization header only when it has base_url's origin (scheme, host,
//     port: the doc's example URL https://HOST/v1/files/... is on the API
//     host and needs the key); a URL on any other host (an upstream CDN) is
//     fetched without headers, so the key never leaves the API host.
//   * Failure details: `error` as {code, message} (OpenAI) or a string, else
//     fail_reason / failure_reason / message.
//   * created_at_ms: `created_at` or `created` (Unix seconds; a value above
//     10^11 is taken as milliseconds, as some relays send).
//   * Errors: plain JSON, OpenAI style {"error": {message, type, param,
//     code}} (or {"error": "text"}, or {message, code}); the HTTP status and
//     the code decide:
//       - code insufficient_quota / insufficient_user_quota / quota_exceeded,
//         or a message saying 额度不足 / 余额不足 → out_of_credit (any status);
//       - 429 → rate_limited with Retry-After;
//       - 401, 403 → auth (the key is wrong, revoked, or not in the 视频 group:
//         FAQ "令牌不在视频分组"), except a moderation code → permanent;
//       - 408, 5xx → retryable; on submit 502/504 → unknown_outcome (the
//         gateway may have forwarded it). model_not_found → permanent at any
//         status (new-api answers it with 503);
//       - other 4xx → permanent (400 bad parameter, 404 unknown task or
//         model, moderation);
//       - a 2xx carrying only an error object (some relays answer errors
//         with HTTP 200) → permanent on submit (the relay said no), retryable
//         on a query;
//       - a 2xx we cannot use → "bad_response": unknown_outcome on submit,
//         retryable otherwise.
//   * No task list (the document has none): has_task_list() is false, so a
//     lost submit is held for a human (never resubmitted blindly). No balance.
//   * Failed tasks: the document names moderation, token group and model
//     spelling (all permanent) and does not say whether failures are charged,
//     so is_retryable_failure() is always false.
//   * Polling (step 2 轮询建议): first query after 9 s (8~10), then every 8 s,
//     growing to 15 s while nothing changes (8~15).
//   * URL lifetime: not documented; 1 h (OpenAI's download links expire after
//     about an hour), the conservative choice: the content endpoint never
//     expires while the task exists, and a field URL is refreshed by re-query.
//   * No cover / last frame outputs (none documented).
//
// Secrets: the API key is only ever put in the Authorization header of
// requests to base_url's origin; never logged, scrubbed from error messages.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/job_spec.hpp"
#include "providers/kit/errors.hpp"
#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

namespace reelbatch::openai {

// ---- endpoints (接入结论) ----------------------------------------------------------------

inline constexpr std::string_view kVideosPath = "/v1/videos";  ///< POST create, GET /{id}, GET /{id}/content
inline constexpr std::string_view kModelsPath = "/v1/models";  ///< GET, the model list (模型广场)

/// Builds the adapter for one openai profile. `profile` is copied; `http` must
/// outlive the adapter. The adapter's coroutines take their arguments by
/// reference: co_await them at once. Never throws except std::bad_alloc.
/// `logger`: where the adapter logs; nullptr = spdlog::default_logger().
std::unique_ptr<Provider> make_openai_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger = nullptr);

/// Which request shape a profile speaks (see the header comment).
enum class Dialect {
  relay,   ///< the document: JSON duration (integer), size, seed
  openai,  ///< api.openai.com: seconds ("4" | "8" | "12"), size from OpenAI's table, no seed
};

/// Dialect::openai when the host of `base_url` is api.openai.com
/// (case-insensitive), Dialect::relay otherwise.
Dialect dialect_for(std::string_view base_url);

/// `base_url` (trailing '/' dropped) + `path` (which starts with "/v1/"),
/// without doubling "/v1" when base_url already ends in it:
/// ("https://h/v1", "/v1/videos") → "https://h/v1/videos";
/// ("http://127.0.0.1:8080/openai", "/v1/videos") → "http://127.0.0.1:8080/openai/v1/videos".
std::string api_url(std::string_view base_url, std::string_view path);

/// True when both absolute URLs have the same scheme, host (case-insensitive)
/// and port (default 80/443 when absent). False when either is not http(s).
bool same_origin(std::string_view a, std::string_view b);

// ---- validation (step 1) ----------------------------------------------------------------

/// Checks a row (profile defaults already applied) against the document's
/// request table and the dialect's limits. Pure: no file system access.
/// Returns one FieldError per problem, empty when acceptable. Checks:
///   prompt non-blank; model non-empty; duration >= 1 (OpenAI: 4, 8 or 12);
///   resolution/aspect_ratio convertible by size_for() (OpenAI: the result in
///   OpenAI's size table); seed absent in the OpenAI dialect; audio unset;
///   no videos, no audios; at most one image, a local .jpg/.jpeg/.png/.webp
///   file with a name. `params` pass through unchecked.
std::vector<FieldError> validate(const JobSpec& spec, Dialect dialect);

/// The `size` field for a row: "" when neither resolution nor aspect_ratio
/// is set; resolution as written when it is "WxH" (both positive integers,
/// 'x' or 'X'; normalized to lowercase x); otherwise the height from
/// resolution (480/480p, 720/720p, 1080/1080p; default 720) and the
/// aspect_ratio (16:9 default, 9:16, 1:1, 4:3, 3:4): 16:9 → 1280x720 at 720p,
/// 854x480, 1920x1080; 9:16 → 720x1280, 480x854, 1080x1920; 1:1 → HxH;
/// 4:3 → 960x720, 640x480, 1440x1080; 3:4 the transpose. An error text
/// naming the accepted values otherwise.
Result<std::string, std::string> size_for(const JobSpec& spec);

/// OpenAI's size table: 720x1280, 1280x720, 1024x1792, 1792x1024.
bool is_openai_size(std::string_view size);

/// The multipart Content-Type of a reference image by extension
/// (case-insensitive): .jpg/.jpeg → image/jpeg, .png → image/png,
/// .webp → image/webp; nullopt otherwise.
std::optional<std::string> image_content_type(const std::filesystem::path& p);

// ---- submit (step 1) ---------------------------------------------------------------------

/// The submit fields: model, prompt; relay: duration (integer, if set), size
/// (if any), seed (if set); OpenAI: seconds (decimal string, if set), size
/// (if any); then every spec.params key copied over (a params key overrides).
/// Unconvertible size input is left out (validate() reports it first).
boost::json::object build_submit_body(const SubmitRequest& req, Dialect dialect);

/// One file part of a multipart body.
struct FilePart {
  std::string field = "input_reference";
  std::string filename;      ///< sent as given, '"' and control bytes replaced by '_'
  std::string content_type;  ///< e.g. "image/png"
  std::string bytes;
};

/// A request body and its Content-Type header value.
struct Body {
  std::string content_type;
  std::string bytes;
};

/// The submit body: JSON (`application/json`) without a file; with one,
/// multipart/form-data (RFC 7578) with one text part per field of `fields`
/// in order (strings as is, other JSON values serialized: 5 → "5", true →
/// "true") and then the file part. `boundary` must not occur in any part
/// (the caller picks a random one; make_boundary()).
Body build_submit_payload(const boost::json::object& fields, const std::optional<FilePart>& file,
                          std::string_view boundary);

/// "----reelbatch" + 32 hex digits of randomness.
std::string make_boundary();

/// Parses a step 1 answer; returns `id`, else `task_id` (strings, or integers
/// as decimal text). Errors classified (see the header comment); a 2xx
/// without either id (or a 502/504) → unknown_outcome with a body excerpt.
ProviderResult<std::string> parse_submit_response(int http_status, std::string_view body, const std::string& profile,
                                                  std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- query (step 2) ---------------------------------------------------------------------

/// Step 2 status → normalized state (table in the header comment).
/// `has_video_url` decides `unknown`.
RemoteState map_state(std::string_view native, bool has_video_url);

/// True for the documented words: queued pending in_progress processing
/// completed succeeded success unknown failed cancelled (case-insensitive).
bool is_documented_state(std::string_view native);

/// The video URL of a task object by the step 2 priority: data[0].url,
/// data.result_url, result_url, url, video_url, output_url, download_url.
/// The first non-empty string wins; "" when none.
std::string video_url_of(const boost::json::object& task);

/// Parses a step 2 answer: remote_id = id (else task_id, else `requested_id`),
/// native_state = status, state = map_state(), video_url = video_url_of(),
/// error_code / error_message from error{code,message} / error (string) /
/// fail_reason / failure_reason / message (failed and cancelled only),
/// created_at_ms from created_at / created. Errors: classified; 404 →
/// permanent (unknown task); a 2xx without a status → retryable bad_response.
ProviderResult<TaskStatus> parse_task_response(int http_status, std::string_view body, const std::string& profile,
                                               std::string_view requested_id = {},
                                               std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// Step 2 path: "/v1/videos/" + the percent-encoded id.
std::string task_path(std::string_view task_id);
/// Step 3 path: task_path(id) + "/content".
std::string content_path(std::string_view task_id);

/// Parses GET /v1/models ({"data": [{"id": ...}, ...]}): the model IDs in order.
ProviderResult<std::vector<std::string>> parse_models_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- download (step 3) -------------------------------------------------------------------

/// How to fetch a succeeded task's video: its URL field (with
/// `Authorization: Bearer <key>` only when same_origin(url, base_url)), else
/// api_url(base_url, content_path(remote_id)) with the Authorization header.
/// nullopt for covers and last frames (none documented), or when there is
/// neither a URL nor a remote id.
std::optional<DownloadTarget> download_target(const ProfileConfig& profile, const TaskStatus& status, OutputKind kind);

// ---- errors -------------------------------------------------------------------------------

/// What an error body says: {"error": {"message","type","code"}},
/// {"error": "text"}, or {"message","code"} at the top level.
struct ErrorBody {
  std::string code;  ///< string code, or integer code as text
  std::string type;
  std::string message;
};

/// The error fields of `body`, or nullopt when it is not a JSON object with
/// one of the shapes above.
std::optional<ErrorBody> parse_error_body(std::string_view body);

/// Which request an answer belongs to (kit::Op: upload, submit, query).
using Op = kit::Op;

/// Classifies one error answer (table in the header comment). `err`: the
/// parsed error body, or nullopt when the body was not JSON (its excerpt is
/// then in `fallback_message`). Returns provider = profile, http_status,
/// code = the provider's code (else "http"), message = the provider's message
/// plus our explanation, retry_after kept for rate_limited and retryable.
ProviderError classify(int http_status, const std::optional<ErrorBody>& err, std::string fallback_message,
                       const std::string& profile, Op op, std::optional<std::chrono::milliseconds> retry_after);

/// kit::from_net_error in the relay's words (kit::chinese_net_text).
extern const kit::NetErrorMapper from_net_error;

/// kit::api_request to api_url(base_url, path_and_query) with
/// `Authorization: Bearer <api_key>` and `content_type` when non-empty.
HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                              std::string body = {}, std::string content_type = {});

/// GET /v1/models through `http` (not part of the Provider interface: a
/// setup check, 调用前建议跑一次). The key is scrubbed from errors.
boost::asio::awaitable<ProviderResult<std::vector<std::string>>> async_list_models(const ProfileConfig& profile,
                                                                                   HttpClient& http);

}  // namespace reelbatch::openai
