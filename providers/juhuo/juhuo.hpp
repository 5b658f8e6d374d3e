// The juhuo (剧火 Open API v1) adapter: maps a JobSpec to juhuo's native
// requests and juhuo's responses back to the normalized Provider facts.
// Source of truth: api-docs/000_2fbac5bd8fa1f5a3.txt ("剧火 Open API 文档",
// v1, 2026-04-08); section numbers below refer to it ("doc 4.1").
//
// Error contract (DESIGN.md, STYLE.md): everything here returns
// ProviderResult / FieldError lists for outcomes that depend on input or on
// the provider's answer; nothing throws for a bad response. Only allocation
// failure (std::bad_alloc) escapes.
//
// How juhuo's answers are interpreted (doc 3.3, 10):
//   * Every API answer is the envelope {"code": "<string>", "message": ...,
//     "result": ...}; code "200" means success, any other code is an error.
//   * Business errors may arrive with HTTP 200 *or* with a 4xx/5xx status.
//     So we classify primarily by the envelope code, and by the HTTP status
//     only when the body is not an envelope (a proxy's HTML page, a truncated
//     body, an empty body). HTTP 429 is the one exception: it always means
//     rate_limited (with Retry-After), whatever the body says.
//   * Envelope codes: 4000 参数错误 → permanent; 4003 积分余额不足 →
//     out_of_credit; 4004 资源不存在 → permanent; 4009 资源冲突 → permanent;
//     4403 未授权 → auth; 5000 服务器内部错误, 5003 服务繁忙 → retryable.
//     Undocumented codes: "5xxx" → retryable, "4xxx" → permanent, otherwise
//     the HTTP status decides.
//   * No envelope: 429 → rate_limited; 401/403 → auth (a gateway rejecting
//     the key: pausing the profile beats failing every row); 408 and other
//     5xx → retryable; other 4xx → permanent; 2xx → "bad_response".
//   * "bad_response" (unparseable JSON, a missing or mistyped field, a
//     success without outputUrl) is retryable for uploads and queries. For
//     a submit it is unknown_outcome: an HTTP 2xx (or a 502/504 from a
//     gateway, which may have forwarded the request) means the task may
//     exist, so it must be reconciled through the task list (doc 7), never
//     blindly resubmitted.
//
// Submit outcomes (issue 7: every submit answer of doc 5 / 10 decided; the
// engine's SubmitFailureDecision follows the class). Doc 9.3: excess tasks
// are queued by juhuo ("超出部分自动排队"), so no answer means "queued but
// refused"; doc 9.1: failed tasks are not charged (registry:
// remote_failures_free, so a transient task failure is resubmitted).
//   answer (HTTP / envelope code)                    | outcome         | class
//   -------------------------------------------------|-----------------|----------------
//   2xx, code "200", result.taskId                   | created         | (accepted)
//   2xx, code "200" without a usable taskId; 2xx     | unknown         | unknown_outcome
//     that is no envelope (empty, HTML, truncated)   |                 |  (reconcile, doc 7 list)
//   502 / 504 without an envelope (a gateway)        | unknown         | unknown_outcome
//   transport failure after the request was sent     | unknown         | unknown_outcome
//   429 (any body)                                   | nothing created | rate_limited
//   4003 积分余额不足                                 | nothing created | out_of_credit
//   4403 未授权; 401/403 without an envelope          | nothing created | auth
//   4000 参数错误, 4004, 4009, other 4xxx, other 4xx  | nothing created | permanent
//   5000 服务器内部错误, 5003 服务繁忙 ("请稍后重试"),  | nothing created | retryable
//     other 5xxx, 408 / 500 / 503 without envelope  |                 |
//   transport failure before the request was sent    | nothing created | retryable
//
// Secrets: the API key is only ever put in the Authorization header of
// requests to profile.base_url. It is never sent to the presigned upload URL
// (a different host), never logged, and scrubbed from every error message.
#pragma once

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/util.hpp"
#include "src/core/job_spec.hpp"
#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch::juhuo {

// ---- endpoints (doc appendix A) ------------------------------------------------

inline constexpr std::string_view kPresignPath = "/open-api/v1/upload/presign";  ///< POST, doc 4.1
inline constexpr std::string_view kSubmitPath = "/open-api/v1/video/submit";     ///< POST, doc 5
inline constexpr std::string_view kTaskPathPrefix = "/open-api/v1/video/task/";  ///< GET + taskId, doc 6
inline constexpr std::string_view kTaskListPath = "/open-api/v1/video/tasks";    ///< GET, doc 7
inline constexpr std::string_view kBalancePath = "/open-api/v1/account/balance"; ///< GET, doc 8

/// Builds the adapter for one juhuo profile. `profile` is copied; `http` must
/// outlive the adapter. Requests go to profile.base_url + the doc's path with
/// `Authorization: Bearer <profile.api_key>` and profile.request_timeout.
/// The adapter's coroutines take their arguments by reference: the caller
/// must keep them alive until the awaitable completes (co_await it at once).
/// Never throws except std::bad_alloc.
/// `logger`: where the adapter logs; nullptr = spdlog::default_logger().
std::unique_ptr<Provider> make_juhuo_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger = nullptr);

// ---- validation (doc 4.1, 5) ---------------------------------------------------------

/// Checks a row against juhuo's documented limits (doc 5 parameter table,
/// doc 4.1 contentType table). `spec` must already have the profile's
/// defaults applied. Pure: no file system access (a missing file is reported
/// by the upload). Returns one FieldError per problem, empty when the row is
/// acceptable. Field names are the manifest's: prompt, model, duration,
/// resolution, aspect_ratio, seed, audios, images, videos. Checks:
///   prompt non-blank; model empty or seedance-2.0 / seedance-2.0-fast;
///   duration 4..15 s; resolution 480/480p/720/720p (any case);
///   aspect_ratio one of 9:16 16:9 3:4 4:3 1:1 21:9; no seed (juhuo has no
///   seed parameter); no audios; images/videos: non-empty unique names
///   (shared namespace, no "<<<"/">>>" inside), local files only (juhuo only
///   takes uploaded ossKeys), extension in the image resp. video rows of the
///   doc 4.1 table; every <<<name>>> in the prompt names one of the row's
///   images or videos. `params` are passed through unchecked (documented
///   pass-through: a params key overrides the typed field at submit).
std::vector<FieldError> validate(const JobSpec& spec);

/// Doc 5 resolution: "480", "480p", "720", "720p" (case-insensitive,
/// surrounding blanks ignored) → 480 or 720; anything else → nullopt.
std::optional<int> normalize_resolution(std::string_view resolution);

/// Every `name` written as <<<name>>> in `prompt` (doc 5 "Prompt 引用素材语法"),
/// in order of appearance, duplicates kept. An unterminated "<<<" is ignored.
std::vector<std::string> prompt_references(std::string_view prompt);

// ---- upload (doc 4.1, 4.2) ----------------------------------------------------------

/// The doc 4.1 contentType for a file, by its extension, case-insensitive:
/// .png → image/png, .jpg/.jpeg → image/jpeg, .webp → image/webp,
/// .mp4 → video/mp4, .mov → video/quicktime, .webm → video/webm;
/// nullopt for any other extension or none. (The shared table in
/// kit/util.hpp is exactly doc 4.1's.)
using kit::content_type_for;

/// True for the image rows of the doc 4.1 table ("image/..."), false otherwise.
using kit::is_image_content_type;
/// True for the video rows of the doc 4.1 table ("video/..."), false otherwise.
using kit::is_video_content_type;

/// A fileName that satisfies doc 4.1 (^[A-Za-z0-9_-]+\.[A-Za-z0-9]+$, at
/// most 128 characters): "<stem>-<first 12 hex of sha256>.<ext>". The stem is
/// the local stem with every byte outside [A-Za-z0-9_-] mapped to '_', runs
/// of '_' collapsed, leading/trailing '_' trimmed, "file" when nothing is
/// left, and truncated so the whole name fits in 128. The extension is the
/// local one lowercased (non-alphanumerics dropped; "bin" when none). The
/// hash suffix keeps distinct files with the same stem from overwriting each
/// other under one ossKey; only hex digits of `sha256_hex` are used (the
/// suffix is omitted if it has none). Examples: "橘猫.webp" → "file-<h>.webp",
/// "old map.png" → "old_map-<h>.png", "a.b.c.PNG" → "a_b_c-<h>.png".
/// (kit::upload_file_name with its default limit of 128.)
using kit::upload_file_name;

/// Doc 4.1 presign request body: {"fileName": upload_file_name(asset.path,
/// asset.sha256), "contentType": content_type}. `content_type` should be
/// content_type_for(asset.path) (the doc requires extension and type to match).
boost::json::object build_presign_body(const LocalAsset& asset, std::string_view content_type);

/// Doc 4.1 presign result.
struct PresignResult {
  std::string upload_url;  ///< presigned, short-lived; carries its own signature
  std::string oss_key;     ///< the reference to submit with (long-lived, doc B)
  std::string method;      ///< "PUT" (the only documented method)
};

/// Parses a doc 4.1 presign answer. Errors: envelope/HTTP errors as
/// classified above; a missing uploadUrl/ossKey → retryable "bad_response";
/// a method other than PUT → permanent "bad_response".
ProviderResult<PresignResult> parse_presign_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// The doc 4.2 PUT of `bytes` to the presigned URL with `Content-Type:
/// content_type` (must equal the presigned contentType). Carries no
/// Authorization header: the URL is signed and belongs to another host.
/// `timeout`: the whole exchange.
HttpRequest build_upload_request(const PresignResult& presign, std::string_view content_type,
                                 std::string bytes, std::chrono::milliseconds timeout);

/// Classifies the answer to the doc 4.2 PUT: nullopt for 2xx; otherwise
/// 403 (expired or invalid signature: presign again) → retryable,
/// 429 → rate_limited with retry_after, 408 and 5xx → retryable,
/// other statuses → permanent. code "upload".
std::optional<ProviderError> classify_upload_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- submit (doc 5) -------------------------------------------------------------------

/// Doc 5 request body: prompt; model (if set); sound "on"/"off" (if audio
/// set); duration (if set, seconds); resolution as the int 480/720 (if set;
/// an unnormalizable value is passed as written, so juhuo rejects it with
/// 4000, but validate() catches it first); aspectRatio (if set); inputImages
/// and inputVideos [{name, ossKey}] from req.images / req.videos (each
/// ResolvedAsset's remote_ref is the ossKey; omitted when empty); then every
/// spec.params key copied over (pass-through; a params key overrides).
/// req.audios is ignored (validate() rejects rows with audios).
boost::json::object build_submit_body(const SubmitRequest& req);

/// Parses a doc 5 submit answer; returns result.taskId. Errors: classified
/// as above; an HTTP 2xx whose body is not a success envelope with a
/// non-empty taskId (or a 502/504 without an envelope) → unknown_outcome,
/// since the task may exist.
ProviderResult<std::string> parse_submit_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- query, list, balance (doc 6, 7, 8) -------------------------------------------

/// Doc 6 status → normalized state: queued → queued; init, uploading,
/// submitted, generating, downloading → running; success → succeeded;
/// fail → failed. Case-insensitive. Any other word → running (the caller
/// keeps the native word and logs it).
RemoteState map_state(std::string_view native);

/// True for the eight states of the doc 6 table (case-insensitive).
bool is_documented_state(std::string_view native);

/// Doc 10.3: may a task that ended in `fail` with this errorCode be submitted
/// again? Failed tasks are not charged (doc 9.1). UPLOAD_FAILED,
/// SUBMIT_FAILED, PIPELINE_TIMEOUT, TRANSFER_FAILED → true (transient,
/// platform-side); PAYLOAD_PARSE_ERROR → false (the same payload would fail
/// again); an empty or undocumented code → false (conservative: the row
/// fails with juhuo's code and message for a human to look at).
bool is_retryable_task_error(std::string_view error_code);

/// Parses a doc 6 query answer into a TaskStatus: remote_id = taskId,
/// native_state = status, state = map_state(status), video_url = outputUrl,
/// cover_url = coverUrl, cost = creditCost (credits; number or numeric
/// string; null → unset), error_code/error_message = errorCode/errorMsg,
/// created_at_ms = gmtCreate (Unix epoch ms: the doc's "东八区" does not
/// change an epoch timestamp, which is zone-free). Errors: classified as
/// above (4004 → permanent: unknown task); a missing taskId/status, a
/// mistyped field, or a success without outputUrl → retryable "bad_response".
/// An undocumented status is logged (warn) and returned as running.
ProviderResult<TaskStatus> parse_task_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// Doc 7 request path and query: "/open-api/v1/video/tasks?pageNo=N&pageSize=M".
std::string task_list_path(int page_no, int page_size);

/// Doc 6 request path: "/open-api/v1/video/task/" + the percent-encoded id.
std::string task_path(std::string_view task_id);

/// Parses a doc 7 list answer: tasks = result.data (each parsed as in
/// parse_task_response, in the API's order; the doc does not state the
/// order), total = result.total (the item count when absent). A success
/// item without outputUrl is accepted here (the list only serves
/// reconciliation; the task is queried before downloading). Errors: as
/// parse_task_response; any malformed item makes the whole page a retryable
/// "bad_response" (a skipped item could hide a lost submit).
ProviderResult<TaskPage> parse_task_list_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

/// Parses a doc 8 balance answer (credits): total = totalCredits, used =
/// usedCredits, remain = remainCredits (numbers or numeric strings). Errors:
/// as above; a missing field → retryable "bad_response".
ProviderResult<Balance> parse_balance_response(
    int http_status, std::string_view body, const std::string& profile,
    std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// ---- errors (doc 3.3, 10) ------------------------------------------------------------

/// Classifies one juhuo error (see the header comment for the table).
/// `code`: the envelope code, "" when the body was not an envelope.
/// `message`: juhuo's message (or a body excerpt); the returned message is
/// it plus our explanation in Chinese and English, e.g. for code 4003,
/// "积分余额不足 (API credit balance is exhausted)"; for code 4000 with
/// message "duration范围为4-15", "duration范围为4-15 (参数错误: invalid request
/// parameter; the row is rejected)". Returns provider = profile,
/// http_status, code = juhuo's code ("http" when there was none), and
/// retry_after (kept for rate_limited and retryable only).
ProviderError classify(int http_status, std::string_view code, std::string message,
                       const std::string& profile,
                       std::optional<std::chrono::milliseconds> retry_after);

/// kit::from_net_error (classes, codes, elided URL queries) in juhuo's
/// words: kit::chinese_net_text, a lost submit → reconcile with the task list.
extern const kit::NetErrorMapper from_net_error;

/// Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP-date relative to
/// `now`. A past date gives 0; a negative or unparseable value, nullopt.
/// Capped at 24 h. (kit::parse_retry_after, shared by every adapter; it
/// delegates to the scheduler's RFC parser.)
using kit::parse_retry_after;

/// kit::json_api_request with `Authorization: Bearer <api_key>` (doc 2, 3.2).
HttpRequest build_api_request(const ProfileConfig& profile, std::string method,
                              std::string_view path_and_query, std::string body = {});

/// `text` with every occurrence of `secret` replaced by "[redacted]" (no-op
/// for an empty secret). (kit::redact.)
using kit::redact;

}  // namespace reelbatch::juhuo
