// The vibegen (VibeGen AI Video API v1.0) adapter: maps a JobSpec to
// vibegen's native requests and vibegen's responses back to the normalized
// Provider facts. Source of truth: api-docs/002_df135de1b8378dda.txt ("AI
// Video API 文档", v1.0, 2025-03-10); section numbers below refer to it
// ("doc 1" = 创建视频生成任务, "doc 2" = 查询任务状态, "doc 3" = 获取任务列表,
// "doc 4" = 回调通知, "doc 5" = 状态说明, "doc 6" = 错误码, "doc 7" = 费用说明,
// "doc 8" = 限制说明, "doc 10" = 最佳实践, "doc 11" = 常见问题).
//
// Error contract (DESIGN.md, STYLE.md): everything here returns
// ProviderResult / FieldError lists for outcomes that depend on input or on
// the provider's answer; nothing throws for a bad response. Only allocation
// failure (std::bad_alloc) escapes.
//
// Base URL: the doc's base is "https://vibegen.art/api/v1" and its endpoints
// are written "/api/v1/generations" etc.; profile.base_url is the base
// *including* "/api/v1", and the adapter appends "/generations",
// "/tasks/{id}", "/tasks?..." (the emulator: http://HOST:PORT/vibegen/api/v1).
//
// Interpretations of points the document leaves open:
//   * Envelopes: success is {"success": true, "data": {...}} with a 2xx
//     status (doc 1 says 201 for a create, doc 2/3 200; any 2xx is taken);
//     an error is {"error": {"code": "...", "message": "..."}} with the doc 6
//     HTTP status. An error object wins over the status; a body that is
//     neither is judged by the HTTP status alone.
//   * Codes (doc 6): INVALID_API_KEY → auth; INVALID_PARAMETER → permanent;
//     INSUFFICIENT_CREDITS → out_of_credit; TASK_NOT_FOUND → permanent;
//     RATE_LIMIT_EXCEEDED (and any HTTP 429) → rate_limited with
//     Retry-After; PROVIDER_ERROR, INTERNAL_ERROR → retryable. Undocumented
//     codes and bodies without an envelope: 401/403 → auth, 402 →
//     out_of_credit, 408/5xx → retryable, other 4xx → permanent.
//   * Submit outcomes (issue 7; doc 6 error table; the task list (doc 3)
//     reconciles "unknown"; doc 8: "超时后任务状态将变为 failed" with no refund
//     stated, so a failed task is not resubmitted unless the profile says
//     on_remote_failure = "resubmit"):
//       answer (HTTP / error code)                     | outcome         | class
//       -----------------------------------------------|-----------------|----------------
//       201/2xx with data.id                           | created         | (accepted)
//       2xx without a usable data.id                   | unknown         | unknown_outcome
//       HTTP 500 (INTERNAL_ERROR), 502 (PROVIDER_ERROR | unknown         | unknown_outcome
//         "第三方服务错误": the task may be recorded), 504 (decided by the status)
//       transport failure after the request was sent  | unknown         | unknown_outcome
//       429 / RATE_LIMIT_EXCEEDED                      | nothing created | rate_limited
//       401 / 403 (INVALID_API_KEY)                    | nothing created | auth
//       402 / INSUFFICIENT_CREDITS                     | nothing created | out_of_credit
//       400 / 404 / other 4xx (INVALID_PARAMETER ...)  | nothing created | permanent
//       408, 503, other 5xx                            | nothing created | retryable
//       transport failure before the request was sent | nothing created | retryable
//   * A submit answered with HTTP 500, 502 or 504 (INTERNAL_ERROR,
//     PROVIDER_ERROR, a gateway), or an unusable 2xx, is unknown_outcome: the
//     doc does not say the task was not recorded before the failure, and
//     vibegen has a task list (doc 3) to reconcile through, so reconciling is
//     cheap while resubmitting could pay twice. 503 stays retryable (a
//     server that is unavailable did not take the request).
//   * model is required (doc 1 error example "Missing required parameters:
//     model, prompt"); the only documented model is "seedance 2.0", so a row
//     without a model is sent with it and any other model fails locally.
//   * Durations 5 and 10 s; resolutions 480p/720p/1080p ("720", "720P" are
//     normalized to "720p"); the nine aspect ratios of doc 8 (adaptive and
//     keep_ratio included, for text rows too: the doc does not restrict
//     them). prompt ≤ 2000 characters counts Unicode code points of the
//     UTF-8 text. No seed, video or audio references.
//   * image_urls (doc 1) must be https URLs: vibegen has no upload API, so a
//     local image fails validation ("vibegen has no upload API; use an https
//     URL"). The image count is not limited by the doc.
//   * callback_url and any other spec.params key pass through into the body
//     (a params key overrides the typed field). A callback_url must be an
//     http(s) URL string.
//   * Task states (doc 5): pending → queued; processing → running;
//     completed → succeeded; failed → failed; an undocumented word → running.
//   * A failed task carries only a text "error" (doc 2; the doc's SDK reads
//     "error_message", which is read when "error" is absent). vibegen has no
//     task error codes: error_code stays "". is_retryable_failure() is true
//     when the text reports a timeout (doc 8: 10-minute generation timeout)
//     or a provider/internal error, which we treat as transient and refunded
//     (the emulator refunds failed tasks); content-policy and other
//     failures are not retried.
//   * created_at / completed_at are ISO 8601 ("2025-03-10T10:00:00Z");
//     fractional seconds and ±HH:MM offsets are accepted, no zone means UTC.
//     created_at → TaskStatus::created_at_ms.
//   * The doc reports no cost in the task; TaskStatus::cost stays unset.
//     credit_cost() gives the doc 7 table for callers that want an estimate.
//   * video_url lives 24 h (doc 11) and is not re-signed: default_url_ttl()
//     is 24 h, download_target() gives the URL without headers.
//   * Task list (doc 3): async_list(page, page_size) asks limit=page_size,
//     offset=(page-1)*page_size; total = data.pagination.total. The doc does
//     not state the order; we rely on newest first (what the emulator does).
//   * Polling: doc 10 suggests every 5-10 s.
//   * Rate limits (doc 8: 1000 creates and 1000 queries per minute per key)
//     are the profile's submit_per_minute / poll_per_minute to configure.
//
// Secrets: the API key is only ever put in the Authorization header of
// requests to profile.base_url; never logged, scrubbed from every message.
#pragma once

#include "scheduler/cost.hpp"
#include "providers/kit/util.hpp"
#include "src/core/job_spec.hpp"
#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch::vibegen {

// ---- endpoints (relative to profile.base_url, which ends in /api/v1) -------------------

inline constexpr std::string_view kGenerationsPath = "/generations";  ///< POST, doc 1
inline constexpr std::string_view kTasksPath = "/tasks";              ///< GET list, doc 3; + "/{id}", doc 2

/// The only model the document names (doc 1, doc 7).
inline constexpr std::string_view kDefaultModel = "seedance 2.0";
/// doc 8: prompt 最大长度 2000 字符 (Unicode code points).
inline constexpr std::size_t kMaxPromptChars = 2000;

/// Builds the adapter for one vibegen profile. `profile` is copied; `http`
/// must outlive the adapter. Requests go to profile.base_url + the paths
/// above with `Authorization: Bearer <profile.api_key>` and
/// profile.request_timeout. The coroutines take their arguments by
/// reference: co_await them at once. Never throws except std::bad_alloc.
/// `logger`: where the adapter logs; nullptr = spdlog::default_logger().
std::unique_ptr<Provider> make_vibegen_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger = nullptr);

// ---- validation (doc 1, doc 8) -----------------------------------------------------------

/// Checks a row against vibegen's documented limits. `spec` must already have
/// the profile's defaults applied. Pure, no I/O. Field names are the
/// manifest's: prompt, model, duration, resolution, aspect_ratio, seed,
/// images, videos, audios, params. Checks: prompt non-blank and ≤ 2000
/// characters; model empty or "seedance 2.0"; duration 5 or 10; resolution
/// 480p/720p/1080p (normalize_resolution); aspect_ratio one of the nine of
/// doc 8; no seed, videos or audios; every image an https URL (a local file:
/// "vibegen has no upload API; use an https URL"); params.callback_url, when
/// present, an http(s) URL string.
std::vector<FieldError> validate(const JobSpec& spec);

/// "480", "480p", "720", "720P", " 1080p " → "480p"/"720p"/"1080p"; else nullopt.
std::optional<std::string> normalize_resolution(std::string_view resolution);

/// Number of Unicode code points in UTF-8 `text` (continuation bytes are not
/// counted; invalid bytes count as one each).
std::size_t utf8_length(std::string_view text);

/// The doc 7 credit table: credits for one task, or nullopt for a resolution
/// ("480p"/"720p"/"1080p") or duration (5/10) outside it. Image-to-video
/// costs the same as text-to-video; every aspect ratio costs the same.
std::optional<int> credit_cost(std::string_view resolution, int duration_s, bool audio);

// ---- submit (doc 1) -------------------------------------------------------------------------

/// Doc 1 request body: model (spec.model, else "seedance 2.0"), prompt,
/// image_urls (req.images' remote_ref, which for vibegen is the https URL;
/// omitted when empty), duration (if set), aspect_ratio (if set), resolution
/// (if set; normalized, else as written), generate_audio (if set), then
/// every spec.params key copied over (callback_url travels this way).
boost::json::object build_submit_body(const SubmitRequest& req);

/// Parses a doc 1 answer; returns data.id. Errors: classified as in the
/// header comment; a 2xx without a usable data.id → unknown_outcome.
ProviderResult<std::string> parse_submit_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- query, list (doc 2, 3, 5) ----------------------------------------------------------------

/// Doc 5 status → normalized state (case-insensitive): pending → queued,
/// processing → running, completed → succeeded, failed → failed; any other
/// word → running.
RemoteState map_state(std::string_view native);

/// True for the four states of doc 5 (case-insensitive).
bool is_documented_state(std::string_view native);

/// May a task that failed with this error text be submitted again? True for
/// a timeout ("timeout", "timed out", "超时") or a provider/internal error
/// ("provider error", "internal error", "upstream", "PROVIDER_ERROR",
/// "INTERNAL_ERROR"), case-insensitive; false otherwise (content policy,
/// empty, unknown).
bool is_retryable_task_error(std::string_view error_message);

/// Parses ISO 8601 "YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]" (a space instead of
/// 'T' is accepted; no zone means UTC) to Unix ms; nullopt when malformed.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

/// Parses a doc 2 answer: remote_id = id, native_state = status, state =
/// map_state(status), video_url, error_message = error (or error_message),
/// created_at_ms = created_at. Errors: classified (TASK_NOT_FOUND →
/// permanent); a missing id/status, a mistyped field, a malformed
/// created_at, or a completed task without video_url → retryable
/// "bad_response".
ProviderResult<TaskStatus> parse_task_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// Doc 2 path: "/tasks/" + the percent-encoded id.
std::string task_path(std::string_view task_id);

/// Doc 3 path and query: "/tasks?limit=L&offset=O", with "&status=S" first
/// when `status` is non-empty ("/tasks?status=S&limit=L&offset=O").
std::string task_list_path(int limit, int offset, std::string_view status = {});

/// Parses a doc 3 answer: tasks = data.tasks (each as parse_task_response,
/// a completed item without video_url accepted), total =
/// data.pagination.total (the item count when absent). Any malformed item
/// makes the page a retryable "bad_response".
ProviderResult<TaskPage> parse_task_list_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- callbacks (doc 4) -----------------------------------------------------------------------

/// Parses a doc 4 callback body (task.completed / task.failed) into a
/// TaskStatus (remote_id = task_id, native_state = status, video_url,
/// error_message, created_at_ms). Returns a message on a malformed body.
/// Doc 10 advises verifying a callback's signature but documents none:
/// treat a callback only as a hint to query the task.
Result<TaskStatus, std::string> parse_callback(std::string_view body);

// ---- errors (doc 6) ----------------------------------------------------------------------------

/// Classifies one vibegen error (see the header comment). `code`: the
/// envelope's error.code, "" when there was no envelope; `message`:
/// vibegen's message or a body excerpt. `is_submit`: 500/502/504 become
/// unknown_outcome. Returns provider = profile, http_status, code
/// (vibegen's, or "http"), a message with our explanation, retry_after
/// (kept for rate_limited and retryable).
ProviderError classify(int http_status, std::string_view code, std::string message, const std::string& profile,
                       std::optional<std::chrono::milliseconds> retry_after, bool is_submit = false);

/// kit::from_net_error in vibegen's words (kit::english_net_text).
extern const kit::NetErrorMapper from_net_error;

/// kit::json_api_request with `Authorization: Bearer <api_key>` (doc 1).
HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                              std::string body = {});


/// The documented price of one row (issue 9 item 1): credit_cost() of the
/// row's resolution, duration and audio, with the doc 1 defaults for what the
/// row leaves unset (duration 5, resolution "480p", generate_audio false);
/// basis "vibegen doc 7 费用说明". nullopt outside the table (validate()
/// refuses those rows). Unit: vibegen credits (doc 7 积分).
std::optional<DocumentedPrice> documented_price(const JobSpec& spec);

}  // namespace reelbatch::vibegen
