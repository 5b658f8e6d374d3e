// Emulator of the TCL Turing /videos API (api-docs/001_bf2549479f4c04d9.txt),
// served by the emulator framework under /turing: the doc's Base URL
// ".../api/v1" becomes base_url = http://HOST:PORT/turing/api/v1.
//
// Endpoints (doc 鉴权与基础信息):
//   POST     /api/v1/videos               JSON, or multipart/form-data (Veo with input_reference)
//   GET      /api/v1/videos/{id}          the video object
//   GET|HEAD /api/v1/videos/{id}/content  video/mp4 bytes (Range, ETag), with the Authorization header
//            /api/v1/videos/{id}/content?variant=last_frame  image/jpeg, for Seedance tasks created with
//                                         return_last_frame=true (the object's last_frame_url points here)
//
// Interpretations of the document (the adapter, providers/turing/turing.hpp,
// reads the API the same way):
// - Auth: "Authorization: Bearer <key>" with any non-empty key (the doc gives
//   no key format); else HTTP 401. Each key is its own account: a video is
//   only visible (query, content) to the key that created it (else 404).
//   Keys are never logged or stored (key_fingerprint only).
// - Errors: plain JSON with the HTTP status, OpenAI style:
//   {"error": {"message", "type", "param", "code"}}. Statuses and codes:
//   400 invalid_request_error with code invalid_json, invalid_multipart,
//   unsupported_content_type, missing_parameter, invalid_parameter,
//   unsupported_model, invalid_file_type,
//   file_too_large (doc 通用限制: an image over 10MB → HTTP 400);
//   401 authentication_error/invalid_api_key; 404 not_found (unknown path or
//   video); 405 method_not_allowed; 409 video_not_ready (content before
//   completion); 500 server_error (an emulator bug).
// - Model family by name: "seedance" (any case) → Seedance parameters,
//   else "veo" → Veo parameters, else 400 unsupported_model.
// - Veo (JSON or multipart): prompt (required, non-blank), seconds a
//   *string* "4"/"6"/"8" (a JSON number is 400; default "8"), size
//   "1280x720"/"720x1280" (default "1280x720"), personGeneration
//   allow_all/allow_adult/dont_allow (Gemini's values; the doc names
//   allow_all). input_reference only as a multipart file part with a
//   filename and an image/* Content-Type (doc: "文件名与 MIME 类型必填",
//   "仅支持图片"), at most one, ≤ 10 MB (10 × 2^20 bytes); input_reference in
//   a JSON body is 400. Unknown fields are ignored; any other file part is 400.
// - Seedance: JSON only (doc: "通过 JSON body 直接传递"; multipart is 400).
//   model and prompt required; content items text{text} / image_url{url:
//   https URL or data:image/*;base64 URI, decoded ≤ 10 MB} / video_url{url:
//   https} / audio_url{url: https}; resolution 480p/720p and 1080p (the
//   doc's own example sends 1080p; default 720p); ratio 16:9 9:16 1:1 4:3
//   3:4 21:9 (the size table lists 21:9; default 16:9); duration JSON integer
//   4/5/6/8 (default 5); seed integer; watermark, generate_audio,
//   return_last_frame booleans. `size` ("size 参数自动映射") may be given as
//   one of the table's pixel sizes ("1280x720" or "1280×720"), which sets
//   resolution and ratio when those are absent (a conflict is 400).
//   personGeneration on a Seedance model is 400 ("仅 Gemini Veo 模型支持").
// - Create answers 200 with the video object (a superset of the doc's
//   {"id","status","model"}): id "video-" + 24 hex, object "video", model,
//   status, progress (0..100), created_at (Unix s), completed_at (Unix s or
//   null), seconds (string), size ("1280x720", Seedance from the size table),
//   error (null or {code, message}), and for Seedance resolution, ratio,
//   duration, plus last_frame_url once completed with return_last_frame.
// - Lifecycle: queued (5 s) → in_progress (5 s) → processing (20 s + 4 s ×
//   seconds) → completed, × time_scale; the doc lists queued → processing →
//   completed and its submit example answers in_progress, so all three words
//   appear. No concurrency limit or credits are documented: none enforced.
// - Failures (Options::fail_rate): the n-th accepted create fails iff a hash
//   of (seed, n) falls below fail_rate; it ends `failed` at the end of
//   processing with error {"code":"generation_failed","message":"视频生成失败"}.
// - Content: available to the owning key for as long as the emulator keeps
//   the task (the doc gives no retention). Bytes are unique per task: the
//   embedded sample.mp4 followed by a `free` box naming the task and prompt;
//   the last frame is cover.jpg with a COM segment naming the task.
// - Submissions are recorded with body = the raw JSON body, or for multipart
//   a JSON object of the text fields plus "input_reference": {filename,
//   content_type, size, sha256} describing the file part. cover_sha256 /
//   cover_bytes describe the last frame when return_last_frame is set.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "providers/emulator/emulator.hpp"
#include "providers/emulator/module_util.hpp"

namespace reelbatch::emulator {

/// The turing module ("/turing").
std::unique_ptr<Module> make_turing_module(Services services);

/// The exact bytes served at /videos/{id}/content.
std::string turing_video_bytes(std::string_view video_id, std::string_view prompt);

namespace turing {

// multipart/form-data parsing lives in the framework (module_util.hpp).
using emulator::FormPart;
using emulator::form_boundary;
using emulator::parse_form_data;

/// Strict standard base64 decoding (padding required, no whitespace);
/// nullopt on any invalid input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace turing
}  // namespace reelbatch::emulator
