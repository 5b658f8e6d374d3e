// The seedance2 (Seedance 2.0 API) adapter: maps a JobSpec to the API's
// native requests and its responses back to the normalized Provider facts.
// Source of truth: api-docs/003_a3f86ea388979b7c.txt ("Seedance 2.0 API",
// base URL https://api.seedance2.movie). The document has no section
// numbers; its headings are quoted below ("doc 文件上传", "doc 错误码").
//
// Error contract (DESIGN.md, STYLE.md): everything here returns
// ProviderResult / FieldError lists for outcomes that depend on input or on
// the provider's answer; nothing throws for a bad response. Only allocation
// failure (std::bad_alloc) escapes.
//
// Interpretations of the document (where it is silent or ambiguous):
//   * Envelope (doc 通用说明): {"code": "<string>", "message", "result"};
//     code "200" is success, any other string is one of the doc 错误码
//     codes. Errors may come with HTTP 200 ("大部分响应使用 HTTP 200") or with
//     the doc's HTTP status, so the envelope code decides; the HTTP status
//     decides only when the body is no envelope or the code is undocumented.
//     HTTP 429 always means rate_limited (with Retry-After when given).
//   * Codes → classes: INVALID_API_KEY → auth; INVALID_PARAMETER,
//     MISSING_PARAMETER, TASK_NOT_FOUND, TASK_CANCEL_NOT_ALLOWED,
//     CONTENT_MODERATION_FAILED, COPYRIGHT_VIOLATION, PRIVACY_VIOLATION →
//     permanent; INSUFFICIENT_CREDIT → out_of_credit; RATE_LIMIT_EXCEEDED,
//     CONCURRENCY_LIMIT_REACHED → rate_limited; CREDIT_DEDUCT_FAILED,
//     TASK_SUBMIT_FAILED, FILE_UPLOAD_FAILED, VIDEO_DOWNLOAD_FAILED,
//     SERVICE_BUSY, INTERNAL_ERROR → retryable ("请重试" / transient).
//     Undocumented codes: the HTTP status decides (401/403 auth, 402
//     out_of_credit, 429 rate_limited, 408/5xx retryable, else permanent).
//   * CONCURRENCY_LIMIT_REACHED's description reads "已达最大并发数,任务已排队"
//     ("... the task has been queued") while the HTTP table sends it as 429.
//     The task WAS queued: with result.task_id the submit counts as accepted
//     (running); without one it is unknown_outcome (issue 7, case 3: it is
//     reconciled through the task list, never submitted blindly again).
//   * Submit outcomes (issue 7: every answer of the document decided), the
//     engine's SubmitFailureDecision follows the class:
//       answer (HTTP / code)                          | outcome          | class
//       ----------------------------------------------|------------------|----------------
//       200, code "200", result.task_id               | created          | (accepted)
//       CONCURRENCY_LIMIT_REACHED + result.task_id    | created (queued) | (accepted)
//       CONCURRENCY_LIMIT_REACHED, no task id         | unknown          | unknown_outcome
//       429 without a documented code                 | unknown (may be the above) | unknown_outcome
//       RATE_LIMIT_EXCEEDED (429)                     | nothing created  | rate_limited
//       INVALID_API_KEY (401)                         | nothing created  | auth
//       INSUFFICIENT_CREDIT (402)                     | nothing created  | out_of_credit
//       INVALID_PARAMETER, MISSING_PARAMETER, CONTENT_MODERATION_FAILED,
//       COPYRIGHT_VIOLATION, PRIVACY_VIOLATION (400) | nothing created  | permanent
//       TASK_SUBMIT_FAILED (500, "任务提交失败,请重试"), CREDIT_DEDUCT_FAILED
//       ("积分扣除失败,请重试"), SERVICE_BUSY (503), FILE_UPLOAD_FAILED,
//       VIDEO_DOWNLOAD_FAILED                         | nothing created  | retryable
//       INTERNAL_ERROR (500: "服务器内部错误或提交失败") | unknown          | unknown_outcome
//       500 / 502 / 504 without an envelope           | unknown          | unknown_outcome
//       503 without an envelope, 408                  | nothing created  | retryable
//       2xx without a usable envelope or task_id      | unknown          | unknown_outcome
//       transport failure after the request was sent | unknown          | unknown_outcome
//       transport failure before it was sent          | nothing created  | retryable
//       other undocumented code or status             | nothing created  | per HTTP status
//   * content array (doc 内容类型): references first, in the row's order
//     (images, then videos, then audios), then one text item with the prompt,
//     as in the doc's image-to-video examples. Items are
//     {"type":"image_url","image_url":"<file_path or URL>"} (the value is the
//     plain string, as in the doc's examples). Audio has no upload content
//     type, so audio references must be http(s) URLs; image and video
//     references may be local files (uploaded) or URLs (passed as given).
//   * Manifest resolution "480"/"720"/"1080" is sent as "480p"/"720p"/"1080p".
//     seed: the doc allows -1 or above. callback_url: ≤ 512 characters and
//     http(s) (checked when given in params). params pass through verbatim
//     and override the typed fields (e.g. params.return_last_frame = true,
//     params.watermark, params.callback_url, params.content).
//   * created_at (ISO 8601) → created_at_ms: "Z" or a ±hh:mm offset is
//     honoured; a time without a zone is read as UTC; fractions are kept.
//   * Task list: the doc does not state the order; the emulator serves newest
//     first. page_size is 1..100 (doc); async_list refuses others locally.
//   * Cancel (doc 取消任务) is not part of the Provider interface yet:
//     Seedance2Provider::async_cancel is a public member.
//   * Output URLs (video_url, last_frame_url) are signed for 7 days (doc
//     查询任务状态) and fetched without headers. The doc does not say that a
//     re-query re-signs them.
//   * Failed tasks are not charged (doc 计费说明: 失败的任务不扣费); a failed task
//     whose error_code names a transient cause (TASK_SUBMIT_FAILED,
//     VIDEO_DOWNLOAD_FAILED, FILE_UPLOAD_FAILED, CREDIT_DEDUCT_FAILED,
//     SERVICE_BUSY, INTERNAL_ERROR) may be submitted again.
//
// Secrets: the API key only ever travels in the X-API-Key header of requests
// to profile.base_url; it is never sent to the presigned upload URL or the
// CDN, never logged, and scrubbed from every error message.
#pragma once

#include "scheduler/cost.hpp"
#include <spdlog/logger.h>

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/util.hpp"
#include "src/core/job_spec.hpp"
#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch::seedance2 {

// ---- endpoints --------------------------------------------------------------------------

inline constexpr std::string_view kPresignPath = "/api/v1/video/upload/presign";  ///< POST ?filename&content_type
inline constexpr std::string_view kSubmitPath = "/api/v1/video/task";              ///< POST, doc 提交视频生成任务
inline constexpr std::string_view kTaskPathPrefix = "/api/v1/video/task/";         ///< GET + id; POST + id + /cancel
inline constexpr std::string_view kTaskListPath = "/api/v1/video/tasks";           ///< GET ?page&page_size&status
inline constexpr std::string_view kBalancePath = "/api/v1/video/balance";          ///< GET, doc 余额查询

// ---- documented limits ------------------------------------------------------------------

inline constexpr int kMinDuration = 4;                  ///< doc: duration 4–15 s
inline constexpr int kMaxDuration = 15;
inline constexpr int kDefaultDuration = 5;              ///< doc default
inline constexpr std::size_t kMaxCallbackUrl = 512;     ///< doc: callback_url ≤ 512 characters
inline constexpr std::size_t kMaxFileName = 128;        ///< doc: filename ≤ 128 characters
inline constexpr int kMinPageSize = 1;                  ///< doc: page_size 1–100
inline constexpr int kMaxPageSize = 100;
inline constexpr std::int64_t kMinSeed = -1;            ///< doc: seed -1 or above

/// The adapter for one seedance2 profile. Requests go to profile.base_url +
/// the doc's path with `X-API-Key: <profile.api_key>` and
/// profile.request_timeout. Coroutines take their arguments by reference: the
/// caller keeps them alive until the awaitable completes.
class Seedance2Provider final : public kit::AdapterBase {
 public:
  /// `profile` is copied; `http` must outlive the adapter. Never throws
  /// except std::bad_alloc.
  /// `logger`: nullptr = spdlog::default_logger().
  Seedance2Provider(const ProfileConfig& profile, HttpClient& http, std::shared_ptr<spdlog::logger> logger = nullptr);

  std::vector<FieldError> validate(const JobSpec& spec) const override;
  /// Doc 文件上传: presign, then PUT; returns the file_path.
  boost::asio::awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override;
  /// Doc 提交视频生成任务; returns result.task_id.
  boost::asio::awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override;
  /// Doc 查询任务状态.
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override;
  bool has_task_list() const override { return true; }
  /// Doc 任务列表; page_size must be 1..100.
  boost::asio::awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size) override;
  /// Doc 余额查询.
  boost::asio::awaitable<ProviderResult<Balance>> async_balance() override;
  bool is_retryable_failure(const TaskStatus& s) const override;
  /// Doc 轮询建议: 5–10 s.
  PollPolicy default_poll() const override;
  /// Doc: video_url is signed for 7 days.
  std::chrono::seconds default_url_ttl() const override { return std::chrono::hours(24 * 7); }
  /// video → video_url, last_frame → last_frame_url (signed, no headers);
  /// cover → nullopt (the API has none).
  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override;

  /// Doc 取消任务: POST /api/v1/video/task/{id}/cancel. Returns the task's
  /// new status (remote_id, native_state "cancelled", state cancelled).
  /// TASK_CANCEL_NOT_ALLOWED (a terminal task) and TASK_NOT_FOUND are
  /// permanent errors. Not part of the Provider interface yet.
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_cancel(const std::string& remote_id) override;
  bool has_cancel() const override { return true; }
  bool has_balance() const override { return true; }

  /// One page of tasks filtered by a doc 任务状态 word (empty: all).
  boost::asio::awaitable<ProviderResult<TaskPage>> async_list_status(int page, int page_size,
                                                                     std::string status);

};

/// Builds a Seedance2Provider (see the class). Never throws except std::bad_alloc.
/// `logger`: where the adapter logs; nullptr = spdlog::default_logger().
std::unique_ptr<Provider> make_seedance2_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger = nullptr);

// ---- validation ---------------------------------------------------------------------------

/// Checks a row against the documented limits; `spec` has the profile's
/// defaults applied. Pure (no file system access). One FieldError per
/// problem; empty when acceptable. Checks: a non-blank prompt or at least one
/// reference (doc: content 至少 1 项); model empty or seedance-2.0 /
/// seedance-2.0-fast; duration 4..15; resolution 480/480p/720/720p/1080/1080p;
/// aspect_ratio 16:9 9:16 4:3 3:4 1:1 21:9; seed ≥ -1; images local
/// .png/.jpg/.jpeg/.webp or an http(s) URL; videos local .mp4/.mov/.webm or
/// URL; audios http(s) URLs only; and the typed params the doc defines:
/// callback_url (string, http(s), ≤ 512), generate_audio / watermark /
/// return_last_frame (booleans), seed (integer ≥ -1), duration (integer
/// 4..15), model / resolution / ratio (the doc's options).
std::vector<FieldError> validate(const JobSpec& spec);

/// "480", "480p", "720", "720p", "1080", "1080p" (case-insensitive, blanks
/// ignored) → "480p" / "720p" / "1080p"; otherwise nullopt.
std::optional<std::string> normalize_resolution(std::string_view resolution);

/// Credits per second (doc 计费说明 table) for a model and a normalized
/// resolution; nullopt for a combination outside the table.
std::optional<double> price_per_second(std::string_view model, std::string_view resolution);

/// Price of one task: per-second price × duration, rounded to 2 decimals
/// (the doc's 8 s example: 3.312 × 8 → 26.50). nullopt outside the table.
std::optional<double> task_price(std::string_view model, std::string_view resolution, int duration_s);

// ---- upload (doc 文件上传) ------------------------------------------------------------------

/// The doc's allowed Content Type for a file, by extension (case-insensitive):
/// .png image/png, .jpg/.jpeg image/jpeg, .webp image/webp, .mp4 video/mp4,
/// .mov video/quicktime, .webm video/webm; nullopt otherwise. (The shared
/// table in kit/util.hpp, which is exactly this one; is_image/
/// is_video_content_type tell its image and video rows apart.)
using kit::content_type_for;
using kit::is_image_content_type;
using kit::is_video_content_type;

/// A filename for presign (≤ 128 characters, [A-Za-z0-9_-] stem, one dot):
/// "<stem>-<first 12 hex of sha256>.<ext>", the stem sanitized ('_' for other
/// bytes, runs collapsed, trimmed, "file" when empty) and truncated to fit,
/// the extension lowercased ("bin" when none). The hash keeps distinct files
/// apart and makes the name stable for one content. (kit::upload_file_name
/// with its default limit, kMaxFileName = 128.)
using kit::upload_file_name;

/// "/api/v1/video/upload/presign?filename=<enc>&content_type=<enc>" with both
/// values percent-encoded (RFC 3986 unreserved characters kept).
std::string presign_path(std::string_view filename, std::string_view content_type);

/// Doc presign result.
struct PresignResult {
  std::string presigned_url;  ///< short-lived, carries its own signature
  std::string file_path;      ///< what the content array references
  std::int64_t expires_in = 0;  ///< seconds (0 when absent)
};

/// Parses a presign answer. Errors: classified (see header comment); a
/// missing presigned_url / file_path → retryable "bad_response".
ProviderResult<PresignResult> parse_presign_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// The doc's PUT of `bytes` to presigned_url with `Content-Type:
/// content_type` (must equal the presigned content_type); no X-API-Key.
HttpRequest build_upload_request(const PresignResult& presign, std::string_view content_type,
                                 std::string bytes, std::chrono::milliseconds timeout);

/// Classifies the PUT's answer: nullopt for 2xx; 403 (expired or bad
/// signature: presign again), 408 and 5xx → retryable; 429 → rate_limited;
/// other statuses → permanent. code "upload".
std::optional<ProviderError> classify_upload_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- submit (doc 提交视频生成任务) ------------------------------------------------------------

/// Request body: model (if set); content = one {"type":"image_url",
/// "image_url":ref} per image, {"type":"video_url","video_url":ref} per
/// video, {"type":"audio_url","audio_url":ref} per audio (ref =
/// ResolvedAsset::remote_ref: a file_path or URL), then {"type":"text",
/// "text":prompt} when the prompt is not blank; resolution (normalized; an
/// unnormalizable value as written); ratio; duration; generate_audio (from
/// audio); seed; then every spec.params key copied over (pass-through).
boost::json::object build_submit_body(const SubmitRequest& req);

/// What a submit answer says.
struct SubmitAccepted {
  std::string task_id;
  std::string status;          ///< "pending" in the doc's example
  std::optional<double> credit_cost;  ///< the quoted price
};

/// Parses a submit answer. Errors: classified; a 2xx without a success
/// envelope carrying a non-empty task_id (or a 502/504 without an envelope,
/// or INTERNAL_ERROR) → unknown_outcome. A CONCURRENCY_LIMIT_REACHED answer
/// that carries result.task_id is accepted (see header comment).
ProviderResult<SubmitAccepted> parse_submit_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- query, list, cancel, balance ------------------------------------------------------------

/// Doc 任务状态 → normalized: pending, queued → queued; processing → running;
/// completed → succeeded; failed → failed; cancelled → cancelled; expired →
/// expired. Case-insensitive. Any other word → running (logged by the caller).
RemoteState map_state(std::string_view native);

/// True for the seven words of the doc 任务状态 table (case-insensitive).
bool is_documented_state(std::string_view native);

/// May a task that ended `failed` with this error_code be submitted again?
/// See the header comment; empty or other codes → false.
bool is_retryable_task_error(std::string_view error_code);

/// ISO 8601 date-time ("2025-01-15T10:30:00Z", fractions, ±hh:mm / ±hhmm
/// offsets, ' ' for 'T', no zone = UTC) → Unix ms; nullopt when malformed.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

/// Parses a doc 查询任务状态 answer: remote_id = task_id, native_state =
/// status, state = map_state, video_url, last_frame_url, error_code,
/// error_message (null → ""), cost = credit_cost, created_at_ms =
/// created_at. Errors: classified (TASK_NOT_FOUND → permanent); a missing
/// task_id/status, a mistyped field, an unparseable created_at or a
/// completed task without video_url → retryable "bad_response".
ProviderResult<TaskStatus> parse_task_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// "/api/v1/video/task/" + the percent-encoded id.
std::string task_path(std::string_view task_id);
/// task_path(id) + "/cancel".
std::string cancel_path(std::string_view task_id);
/// "/api/v1/video/tasks?page=N&page_size=M" (+ "&status=S" when not empty).
std::string task_list_path(int page, int page_size, std::string_view status = {});

/// Parses a doc 任务列表 answer: tasks = result.data (each as in
/// parse_task_response, in the API's order; completed items without
/// video_url are accepted), total = result.total (item count when absent).
/// Any malformed item (the doc's placeholder string included) makes the page
/// a retryable "bad_response": a skipped item could hide a lost submit.
ProviderResult<TaskPage> parse_task_list_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// Parses a doc 取消任务 answer → TaskStatus{remote_id = task_id,
/// native_state = status, state}. Errors: classified; missing fields →
/// retryable "bad_response".
ProviderResult<TaskStatus> parse_cancel_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// Parses a doc 余额查询 answer: total_credits, used_credits, remain_credits
/// (numbers or numeric strings). A missing field → retryable "bad_response".
ProviderResult<Balance> parse_balance_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- errors ------------------------------------------------------------------------------------

/// Which request an answer belongs to (a submit's failures may be ambiguous).
using Op = kit::Op;  ///< kit::Op: upload, submit, query

/// Classifies one error (table in the header comment). `code`: the envelope
/// code, "" when the body was no envelope; `message`: the API's message or a
/// body excerpt. The returned message is it plus the doc's description and
/// our explanation, e.g. "Invalid parameter: duration must be 4-15 (参数值无效
/// 或格式不正确: invalid request parameter; the row is rejected)". Returns
/// code = the API's code ("http" when none); retry_after kept for
/// rate_limited and retryable only.
ProviderError classify(int http_status, std::string_view code, std::string message,
                       const std::string& profile,
                       std::optional<std::chrono::milliseconds> retry_after, Op op = Op::query);

/// kit::from_net_error in seedance2's words (kit::english_net_text, timeout
/// "request timed out").
extern const kit::NetErrorMapper from_net_error;

/// kit::json_api_request with `X-API-Key: <api_key>`.
HttpRequest build_api_request(const ProfileConfig& profile, std::string method,
                              std::string_view path_and_query, std::string body = {});


/// The documented price of one row (issue 9 item 1): task_price() of the
/// row's model, resolution and duration, with the doc's defaults for what
/// the row leaves unset (model "seedance-2.0", resolution "720p", duration
/// 5); basis "seedance2 doc 计费说明". nullopt outside the table. Unit:
/// seedance2 credits (积分).
std::optional<DocumentedPrice> documented_price(const JobSpec& spec);

}  // namespace reelbatch::seedance2
