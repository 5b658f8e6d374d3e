// Emulator of the juhuo (剧火) Open API v1 (api-docs/000_2fbac5bd8fa1f5a3.txt),
// served by the emulator framework under /juhuo: base_url = http://HOST:PORT/juhuo.
//
// Endpoints (doc appendix A), plus the storage the doc's URLs point at:
//   POST /open-api/v1/upload/presign        {fileName, contentType} -> {uploadUrl, ossKey, method:"PUT"}
//   POST /open-api/v1/video/submit          -> {taskId}
//   GET  /open-api/v1/video/task/{taskId}   -> task
//   GET  /open-api/v1/video/tasks?pageNo=&pageSize=  -> {data (newest first), total, pageNo, pageSize}
//   GET  /open-api/v1/account/balance       -> {totalCredits, usedCredits, remainCredits}
//   PUT  /oss/<ossKey>?signature=&expires=  presigned upload (OSS-like XML errors, HTTP 403)
//   GET|HEAD /cdn/output/<taskId>.mp4|.jpg?expires=&token=  signed download (Range, ETag; 403 when
//                                            the token is bad or expired, 404 unknown)
//
// Interpretations of the document (where it is silent or ambiguous):
// - Envelope exactly as doc 3.3. Errors omit `result` (as the doc's error
//   examples do). Business errors 4000/4003/4004/4009/4403 are sent with HTTP
//   200 and the code in the envelope; 5000 with HTTP 500, 5003 with HTTP 503.
//   Unknown paths under /juhuo: HTTP 404 + code "4004"; a known path with the
//   wrong method: HTTP 405 + code "4000". Malformed JSON body: 4000.
//   Messages follow the doc's example, "参数错误:duration范围为4-15".
// - Auth: exactly "Authorization: Bearer sk-" + 32 [A-Za-z0-9] (no extra
//   spaces, per the FAQ), else 4403 未授权. Each key is its own account
//   (balance, uploads, tasks), identified by key_fingerprint(); keys are
//   never logged or stored. An account starts with Options::juhuo_credits.
// - fileName regex ^[a-zA-Z0-9_-]+.[a-zA-Z0-9]+$: the unescaped '.' is read
//   as a literal dot, so a name has exactly one dot; ≤ 128 characters. The
//   extension must match contentType (case-insensitive). ossKey =
//   "api/user<fingerprint>/upload/<fileName>"; presigning the same name again
//   gives the same key, a new PUT replaces the object. The upload URL is
//   absolute, built from the request's Host header, and valid
//   Options::upload_url_ttl. Its signature covers path, expiry and the
//   presigned contentType (like OSS): a PUT with another Content-Type is
//   answered 403 SignatureDoesNotMatch, naming both types.
// - Submit: unknown fields are ignored, JSON null means "absent" (default
//   applies); duration and resolution must be JSON integers (8.0 or "8" are
//   4000). inputImages/inputVideos ossKeys must have been uploaded (PUT
//   completed) by the same account, images as image/*, videos as video/*;
//   input names must be non-empty and unique; every <<<name>>> in the prompt
//   must be declared. Validation happens before the credit check; a submit
//   with remainCredits <= 0 is 4003 积分余额不足.
// - Lifecycle: queued → init (2 s) → uploading (3 s) → submitted (3 s) →
//   generating (30 s + 4 s × duration) → downloading (4 s) → success, all ×
//   time_scale. Per account at most juhuo_concurrency tasks are in
//   init..downloading (doc 9.3: "同时处于生成中的任务"); the rest wait in queued, FIFO.
//   A queued task also waits while remainCredits <= 0 (FAQ: "也可能是积分余额不足导致暂停").
// - Failures (Options::fail_rate): the n-th accepted submit of the emulator
//   fails iff a hash of (seed, n) falls below fail_rate. It ends in `fail` at
//   the end of one stage with the matching doc 10.3 code (init:
//   PAYLOAD_PARSE_ERROR, uploading: UPLOAD_FAILED, submitted: SUBMIT_FAILED,
//   generating: PIPELINE_TIMEOUT, downloading: TRANSFER_FAILED). Failed tasks
//   cost 0 (doc 9.1).
// - Price (the emulator's own; the doc only says official price × 1.15):
//   credits per second 0.10 at 480, 0.20 at 720, × 0.8 for seedance-2.0-fast,
//   × 1.15, rounded to 2 decimals; charged when the task reaches success
//   (creditCost is 0 before). Credit numbers are written with 2 decimals
//   (10000.00), like the doc's examples.
// - outputUrl/coverUrl: "" until success; then absolute URLs built from the
//   request's Host header, signed for Options::url_ttl, re-signed on every
//   query (doc FAQ: re-query to refresh an expired link). errorCode/errorMsg
//   are "" unless failed.
// - Output bytes are unique per task: the embedded sample.mp4 followed by a
//   top-level `free` box holding the task id and prompt (still a valid MP4);
//   the cover is cover.jpg with a COM segment after SOI holding the task id.
// - gmtCreate: Unix ms (a Unix timestamp has no time zone; the doc's "东八区"
//   is ignored). taskId: "gen_" + 12 lowercase hex.
// - pageNo/pageSize: positive integers (defaults 1 and 20), else 4000; the doc
//   gives no maximum pageSize and the emulator enforces none.
#pragma once

#include "providers/emulator/emulator.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace reelbatch::emulator {

/// The juhuo module ("/juhuo").
std::unique_ptr<Module> make_juhuo_module(Services services);

/// creditCost of a successful juhuo task (see the price interpretation above).
double juhuo_credit_cost(std::string_view model, int resolution, int duration);

/// The exact bytes served at a juhuo task's outputUrl / coverUrl.
std::string juhuo_video_bytes(std::string_view task_id, std::string_view prompt);
std::string juhuo_cover_bytes(std::string_view task_id);

}  // namespace reelbatch::emulator
