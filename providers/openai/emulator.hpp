// Emulator of the OpenAI-compatible /v1/videos API (api-docs/004_0361e29f745deffc.txt,
// a relay selling Sora and Veo3; plus the shape of OpenAI's own /v1/videos),
// served by the emulator framework under /openai: base_url =
// http://HOST:PORT/openai (or .../openai/v1: the document's API_BASE style).
//
// Endpoints (接入结论), plus the storage the answers' URLs point at:
//   POST /v1/videos                     JSON {model, prompt, duration, size, seed, ...} or
//                                       multipart/form-data (same fields as text, `seconds`,
//                                       file part `input_reference`) -> task (200)
//   GET  /v1/videos/{id}                -> task
//   GET|HEAD /v1/videos/{id}/content    the video bytes (Range, ETag); needs Authorization
//   GET  /v1/models                     {"object":"list","data":[{"id",...}]}
//   GET|HEAD /v1/files/{id}.mp4         the doc's data[0].url form; needs Authorization
//   GET|HEAD /cdn/{id}.mp4?expires=&token=  a signed "upstream CDN" URL, no Authorization
//
// Interpretations of the document (where it is silent or ambiguous):
// - Auth: any non-empty `Authorization: Bearer <key>`; each key is its own
//   account (tasks are visible to their key only; another key's task is
//   404). The API answers 401 without it; the content and file downloads
//   answer 403 (FAQ: 下载链接 403, 链接必须带 Authorization). No credits (the
//   document prices nothing) and no rate or concurrency limit (none documented).
// - Errors are OpenAI style: {"error": {"message", "type", "param", "code"}}:
//   400 invalid_request_error for a bad body/field (code missing_required_parameter
//   or invalid_value, param = the field), 400 code model_not_found for a model
//   outside the document's model table (FAQ: 模型 ID 拼写错), 401
//   invalid_api_key, 403 on downloads without the key, 404 not_found for an
//   unknown task / path, 404 video_not_ready for content of an unfinished task,
//   405 for a known path with the wrong method.
// - Submit: model and prompt required (non-blank); duration a JSON integer
//   >= 1 (multipart: decimal text), default 5; `seconds` (OpenAI's field, a
//   string or integer) must be 4, 8 or 12 and overrides duration; size "WxH"
//   (positive integers), default 1280x720; seed an integer; unknown fields
//   are accepted and ignored (a relay passes them on). input_reference (a
//   multipart file part only) must be image/jpeg, image/png or image/webp
//   (by its Content-Type, else by its filename extension). The recorded
//   submission body is the raw JSON, or for multipart a JSON object of the
//   text fields plus "input_reference": {filename, content_type, size, sha256}.
// - Response shape per model (the document says the video URL "may appear in
//   several fields"; the emulator picks the shape from the model, so each
//   documented shape is served by one model):
//     model               submit answer        status words (queued, running, done)
//     sora-2              OpenAI video object  queued, in_progress, completed
//     sora-2-pro          doc (id + task_id)   queued, processing, success
//     veo_3_1-fast        doc (id + task_id)   pending, processing, succeeded
//     veo_3_1-fast-hd     doc (id + task_id)   queued, in_progress, completed
//     veo_3_1-fast-fl     doc (id + task_id)   pending, unknown, unknown
//     veo_3_1-fast-fl-hd  task_id only         queued, processing, completed
//   URL fields when done ("files": /v1/files/{id}.mp4 with Authorization;
//   "cdn": a signed /cdn/ URL):
//     sora-2              none: download from /v1/videos/{id}/content
//     sora-2-pro          video_url (cdn), download_url (files)
//     veo_3_1-fast        data[0].url (files, with "duration"), url (cdn)
//     veo_3_1-fast-hd     data.result_url (cdn)
//     veo_3_1-fast-fl     result_url (cdn), output_url (files)
//     veo_3_1-fast-fl-hd  url (files), output_url (cdn)
//   Where two fields are present the higher-priority one (step 2's list) is
//   first in the table; both URLs serve the same bytes. The OpenAI object has
//   progress, created_at, completed_at, expires_at, size, seconds (string),
//   error; the relay shapes have created (Unix s), progress and the URL fields.
// - Lifecycle: queued 3 s → running 20 s + 2 s × duration → done, × time_scale.
// - Failures (Options::fail_rate): the n-th accepted submit fails iff a hash
//   of (seed, n) falls below fail_rate; it ends `failed` at the end of the
//   running stage with error {code, message} (relay shapes also fail_reason):
//   moderation_blocked (提示词触发内容审核) or generation_failed, chosen by hash.
// - Signed CDN URLs live kOpenAiCdnUrlTtl (1 h, not scaled), re-signed on every query.
// - Output bytes are unique per task: sample.mp4 plus a trailing `free` box
//   naming the task id and prompt (openai_video_bytes()).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "providers/emulator/emulator.hpp"

namespace reelbatch::emulator {

/// Lifetime of the signed /cdn/ URLs in task answers (the document gives none).
inline constexpr std::chrono::seconds kOpenAiCdnUrlTtl{3600};

/// The openai module ("/openai").
std::unique_ptr<Module> make_openai_module(Services services);

/// The exact bytes served for an openai task's video.
std::string openai_video_bytes(std::string_view task_id, std::string_view prompt);

}  // namespace reelbatch::emulator
