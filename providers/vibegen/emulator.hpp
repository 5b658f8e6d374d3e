// Emulator of the VibeGen AI Video API v1.0 (api-docs/002_df135de1b8378dda.txt),
// served by the emulator framework under /vibegen: a profile's base_url is
// http://HOST:PORT/vibegen/api/v1 (the document's https://vibegen.art/api/v1).
//
// Endpoints (doc 1-3), plus the storage the doc's video_url points at:
//   POST /api/v1/generations         201 {success:true, data:{id, status:"pending", model, task_type, created_at}}
//   GET  /api/v1/tasks/{task_id}     200 {success:true, data:task}; 404 TASK_NOT_FOUND
//   GET  /api/v1/tasks?status=&limit=&offset=
//                                    200 {success:true, data:{tasks (newest first), pagination:{page, pageSize,
//                                    total, total_pages}}}
//   GET|HEAD /cdn/videos/<id>.mp4?expires=&token=
//                                    the video (Range, ETag); 403 bad signature; 404 unknown or deleted
// Errors: {"error": {"code", "message"}} with doc 6's HTTP statuses:
// INVALID_API_KEY 401, INVALID_PARAMETER 400, INSUFFICIENT_CREDITS 402,
// TASK_NOT_FOUND 404, RATE_LIMIT_EXCEEDED 429 (with Retry-After),
// INTERNAL_ERROR 500 (an exception in the module). PROVIDER_ERROR 502 is
// never sent on a request (the emulated upstream only fails tasks).
//
// Interpretations of the document (where it is silent or ambiguous):
// - Auth: "Authorization: Bearer <key>" (scheme case-insensitive, one
//   space) with key = "sk-" + at least 8 of [A-Za-z0-9_-] (the doc's example
//   "sk-video-xxxxxxxxxxxxxxxx" passes), at most 200 characters; anything
//   else is 401 INVALID_API_KEY "Invalid or missing API key". Each key is
//   its own account (credits, tasks), identified by key_fingerprint().
//   Checked after the route and method (unknown path: 404 NOT_FOUND; wrong
//   method: 405 METHOD_NOT_ALLOWED, both undocumented codes in the doc 6
//   envelope), before the rate limit and validation.
// - Rate limits (doc 8): per key, per endpoint class: "create" (POST
//   /generations) and "query" (GET /tasks/{id} and GET /tasks), each
//   VibegenLimits::creates_per_minute / queries_per_minute (1000) requests
//   in a SLIDING window of VibegenLimits::rate_window (60 s, wall clock,
//   not scaled by time_scale). Every authenticated request counts, whether
//   it then succeeds or fails validation; a request answered 429 does not
//   count. 429 carries Retry-After: the whole seconds (≥ 1) until the oldest
//   counted request leaves the window.
// - Create (doc 1): unknown fields are ignored; JSON null means absent.
//   model and prompt are required (blank counts as missing): "Missing
//   required parameters: model, prompt" lists the missing ones. model must
//   be "seedance 2.0" (the only one the doc prices). prompt ≤ 2000 Unicode
//   code points. image_urls: an array of https:// URL strings (not fetched);
//   a non-empty array makes task_type "image_to_video", else
//   "text_to_video". duration: the number 5 or 10 (5.0 accepted, "5" not);
//   aspect_ratio: one of the nine of doc 8; resolution: 480p/720p/1080p;
//   generate_audio: a boolean; callback_url: an http(s) URL string (http
//   allowed so loopback receivers work). Defaults 5 / "16:9" / "480p" /
//   false (doc 1).
// - Credits (doc 7's table, by resolution, duration and generate_audio): an
//   account starts with VibegenLimits::initial_credits (10000). The price is
//   taken when the task is created (the 402 example "Required: 100,
//   Available: 50" is a create-time check) and refunded when the task
//   fails. There is no balance endpoint.
// - Lifecycle (doc 5): pending (3 s) → processing (20 s + duration × 3/5/9 s
//   at 480p/720p/1080p, × 1.2 with audio) → completed, all × time_scale;
//   no concurrency limit (the doc documents none). Generation timeout (doc
//   8): a task not finished VibegenLimits::generation_timeout (600 s,
//   scaled) after creation fails with "Generation timed out after 10
//   minutes" at that instant.
// - Failures (Options::fail_rate): the n-th accepted create fails iff a hash
//   of (seed, n) falls below fail_rate; a second hash picks how:
//   "Content policy violation" 12 s into processing (doc 2's example; 15 s
//   after creation like doc 4's), "Upstream provider error" halfway through
//   processing, or a hang ending in the generation timeout. A failed task
//   has error = error_message = the text (error_message because the doc's
//   SDK reads it), video_url null, completed_at null (as doc 2's example).
// - Times: created_at / completed_at are ISO 8601 UTC with seconds
//   ("2025-03-10T10:00:00Z"), like the doc.
// - video_url (doc 11: deleted after 24 h): an absolute URL built from the
//   request's Host header, signed until completed_at + min(VibegenLimits::
//   video_ttl (24 h), Options::url_ttl), not scaled. It is the same URL on
//   every query (it is not re-signed); after expiry the task still shows it
//   and the download answers 404 (deleted).
// - Output bytes are unique per task: the embedded sample.mp4 followed by a
//   top-level `free` box holding the task id and prompt.
// - Task list: status (one of doc 5's four, else 400), limit (integer ≥ 1,
//   default 20, no maximum: the doc gives none), offset (integer ≥ 0,
//   default 0); newest first; page = offset / limit + 1, pageSize = limit,
//   total = tasks matching the filter, total_pages = ceil(total / limit).
// - Callbacks (doc 4): when a task with callback_url ends, the module POSTs
//   the doc 4 body (task.completed / task.failed) with Content-Type:
//   application/json and no signature (the doc documents none). Delivery
//   runs on the module's own thread and io_context (started at the first
//   callback, stopped and joined by the module's destructor), because a
//   Module has no executor of its own and the framework has no stop hook
//   that could cancel a slow receiver; it never blocks requests or ticks.
//   Up to VibegenLimits::callback_attempts tries, each with
//   callback_timeout, until a 2xx; waits 1 s, 2 s, … × time_scale between
//   tries. Deliveries pending at a restart are not resent.
// - State file: accounts (credits, tasks) and tasks are saved; rate-limit
//   windows are not.
#pragma once

#include "providers/emulator/emulator.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace reelbatch::emulator {

/// The documented limits the vibegen module enforces. Defaults are the
/// document's; tests lower them.
struct VibegenLimits {
  int creates_per_minute = 1000;                     ///< doc 8, per key; POST /generations
  int queries_per_minute = 1000;                     ///< doc 8, per key; GET /tasks, /tasks/{id}
  std::chrono::milliseconds rate_window{60000};      ///< sliding window; wall clock, NOT scaled
  std::chrono::seconds generation_timeout{600};      ///< doc 8: 10 minutes; × time_scale
  std::chrono::seconds video_ttl{24 * 3600};         ///< doc 11: 24 h; NOT scaled (also capped by Options::url_ttl)
  double initial_credits = 10000;                    ///< per API key (the doc gives no figure)
  int callback_attempts = 3;                         ///< doc 4 callback deliveries per task, ≥ 1
  std::chrono::milliseconds callback_timeout{10000}; ///< per delivery attempt
};

/// The vibegen module ("/vibegen") with the document's limits.
std::unique_ptr<Module> make_vibegen_module(Services services);

/// The vibegen module with other limits (tests). A distinct name, not an
/// overload, so `Options::modules = {make_vibegen_module}` stays unambiguous.
std::unique_ptr<Module> make_vibegen_module_with(Services services, VibegenLimits limits);

/// Doc 7's credit price of one task; 0 for a resolution or duration outside the table.
int vibegen_credit_cost(std::string_view resolution, int duration, bool audio);

/// The exact bytes served at a vibegen task's video_url.
std::string vibegen_video_bytes(std::string_view task_id, std::string_view prompt);

}  // namespace reelbatch::emulator
