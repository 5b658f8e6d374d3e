// Emulator of the Seedance 2.0 API (api-docs/003_a3f86ea388979b7c.txt),
// served by the emulator framework under /seedance2:
// base_url = http://HOST:PORT/seedance2 (the doc's https://api.seedance2.movie).
//
// Endpoints (the doc's), plus the storage its URLs point at:
//   POST /api/v1/video/upload/presign?filename=&content_type=  -> {presigned_url, file_path, expires_in}
//   POST /api/v1/video/task                -> {task_id, status:"pending", credit_cost}
//   GET  /api/v1/video/task/{task_id}      -> task
//   POST /api/v1/video/task/{task_id}/cancel -> {task_id, status:"cancelled"}
//   GET  /api/v1/video/tasks?page=&page_size=&status=  -> {data (newest first), total, page, page_size}
//   GET  /api/v1/video/balance             -> {total_credits, used_credits, remain_credits}
//   PUT  /s3/<file_path>?AWSAccessKeyId=&Expires=&Signature=   presigned upload (S3-like XML errors, 403)
//   GET|HEAD /cdn/<task_id>.mp4 | /cdn/<task_id>-last.jpg ?expires=&token=   signed download (Range,
//                                           ETag; 403 when the token is bad or expired, 404 unknown)
//
// Interpretations of the document (where it is silent or ambiguous):
// - Envelope as the doc: success {"code":"200","message":"Success","result":…};
//   errors {"code":"<CODE>","message":"…"} without `result` (as the doc's error
//   example), English messages in the doc's style ("Invalid parameter:
//   duration must be 4-15"), sent with the doc's HTTP status: INVALID_API_KEY
//   401; INVALID_PARAMETER, MISSING_PARAMETER, TASK_CANCEL_NOT_ALLOWED,
//   CONTENT_MODERATION_FAILED, COPYRIGHT_VIOLATION, PRIVACY_VIOLATION 400;
//   INSUFFICIENT_CREDIT 402; TASK_NOT_FOUND 404; RATE_LIMIT_EXCEEDED,
//   CONCURRENCY_LIMIT_REACHED 429; INTERNAL_ERROR, TASK_SUBMIT_FAILED,
//   CREDIT_DEDUCT_FAILED, FILE_UPLOAD_FAILED, VIDEO_DOWNLOAD_FAILED 500;
//   SERVICE_BUSY 503. Unknown paths: 404 code NOT_FOUND; a known path with
//   the wrong method: 405 code METHOD_NOT_ALLOWED (both undocumented).
// - Auth: `X-API-Key: <key>`; the doc only says "由管理员提供的字符串", so any
//   non-empty key of ≤ 256 printable ASCII characters without spaces is
//   valid; otherwise 401 INVALID_API_KEY. Each key is its own account
//   (credits, uploads, tasks), known by key_fingerprint(); keys are never
//   logged or stored. An account starts with kInitialCredits (the doc's
//   example total_credits, 10000).
// - Presign: filename 1..128 characters (UTF-8 code points), no '/', '\' or
//   control characters; content_type one of the six allowed types, and the
//   filename's extension must match it (the doc's table pairs them). file_path =
//   "api/uploads/<fingerprint>/<32 hex>_<filename>" (doc example
//   "api/uploads/1/uuid_scene.png"); expires_in = Options::upload_url_ttl.
//   The URL's signature covers its path, expiry and the presigned
//   content_type: a PUT with another Content-Type is 403 SignatureDoesNotMatch.
// - Submit: JSON body (the Content-Type header is not checked); null means
//   absent; unknown fields ignored. content: a non-empty array of objects
//   with a `type` of text / image_url / video_url / audio_url / sample_id and
//   a field of the same name: text a non-empty string; image_url / video_url
//   a file_path uploaded (PUT completed) by the same key with an image/*
//   resp. video/* type, or an http(s) URL (also accepted as {"url": …});
//   audio_url an http(s) URL (no audio upload type exists); sample_id a
//   non-empty string or integer. duration a JSON integer 4..15 (default 5),
//   resolution 480p/720p/1080p (720p), ratio 16:9 9:16 4:3 3:4 1:1 21:9
//   (16:9), model seedance-2.0 / seedance-2.0-fast, seed an integer ≥ -1,
//   generate_audio / watermark / return_last_frame booleans, callback_url an
//   http(s) string ≤ 512 characters. Missing content → MISSING_PARAMETER,
//   any other bad value → INVALID_PARAMETER naming the field.
// - Limits (the doc gives none as numbers; constants below): per key at most
//   kMaxInFlight non-terminal tasks, the next submit is 429
//   CONCURRENCY_LIMIT_REACHED and creates nothing (but see the faults
//   concurrency_429_id / concurrency_429_noid, providers/emulator/faults.hpp:
//   the task IS created and queued, as the document's "已达最大并发数,任务已
//   排队" says, and the 429 carries result.task_id or "result": null); at most kMaxProcessing
//   tasks `processing` at once, the rest wait in `queued` (FIFO); at most
//   kSubmitsPerMinute submit requests per key in any 60 s (real time), the
//   next is 429 RATE_LIMIT_EXCEEDED with Retry-After.
// - Credits (doc 计费说明): price = per-second price × duration, 2 decimals;
//   quoted as credit_cost at submit, charged when the task completes
//   (post-paid). A submit whose price exceeds remain_credits minus the
//   quotes of the key's unfinished tasks is 402 INSUFFICIENT_CREDIT. Failed
//   and cancelled tasks cost 0 (their credit_cost reads 0).
// - Lifecycle (× time_scale): pending (2 s) → queued (≥ 3 s, and until a
//   processing slot is free) → processing (30 s + 10 s × duration; × 0.6 for
//   seedance-2.0-fast) → completed | failed. Cancel: any non-terminal task
//   becomes `cancelled` at once (the doc's "尝试向供应商发起取消" succeeds).
//   A completed task becomes `expired` when its URLs die (Options::url_ttl
//   after completion, 7 days by default, not scaled): video_url and
//   last_frame_url read null from then on.
// - Output URLs: video_url (and last_frame_url when return_last_frame) are
//   absolute (the request's Host), signed once at completion with a FIXED
//   expiry (completion + url_ttl); a re-query does not extend it. Both are
//   null until completed. seed echoes the request (null when not given).
//   created_at / updated_at are ISO 8601 UTC with second precision.
// - Failures: Options::fail_rate fails the n-th accepted submit iff a hash of
//   (seed, n) is below it, at the end of processing, with one of
//   VIDEO_DOWNLOAD_FAILED, TASK_SUBMIT_FAILED, SERVICE_BUSY,
//   CONTENT_MODERATION_FAILED. Test hooks in a text item (emulator only):
//   "[[emulate:CODE]]" answers the submit with that documented CODE and its
//   HTTP status (nothing created); "[[fail:CODE]]" accepts the task and
//   fails it at the end of processing with error_code CODE.
// - Callbacks (doc: callback_url "任务完成回调"): when a task with a
//   callback_url becomes completed, failed or cancelled, the module POSTs
//   the query answer ({"code":"200","message":"Success","result":task}) to
//   it, Content-Type application/json, up to kCallbackAttempts times
//   (waiting 1 s, 4 s × time_scale between), on its own delivery thread and
//   io_context (no framework change). URLs in it use the submit's Host.
//   Deliveries in progress are not persisted.
// - Output bytes are unique per task: the embedded sample.mp4 followed by a
//   `free` box naming the task and prompt; the last frame is cover.jpg with
//   a COM segment naming the task. Submission::cover_* records the last frame
//   (empty when not requested). task_id: 32 lowercase hex.
#pragma once

#include "providers/emulator/emulator.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace reelbatch::emulator {

/// Per-key limits and defaults of the seedance2 emulator (see above).
inline constexpr int kSeedance2MaxInFlight = 20;
inline constexpr int kSeedance2MaxProcessing = 5;
inline constexpr int kSeedance2SubmitsPerMinute = 120;
inline constexpr double kSeedance2InitialCredits = 10000;
inline constexpr int kSeedance2CallbackAttempts = 3;

/// The seedance2 module ("/seedance2").
std::unique_ptr<Module> make_seedance2_module(Services services);

/// The exact bytes served at a seedance2 task's video_url / last_frame_url.
std::string seedance2_video_bytes(std::string_view task_id, std::string_view prompt);
std::string seedance2_last_frame_bytes(std::string_view task_id);

}  // namespace reelbatch::emulator
