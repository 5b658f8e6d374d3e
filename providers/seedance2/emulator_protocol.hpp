// The parts of the seedance2 emulator (emulator.hpp) that its document
// fixes, shared by the module's files: the task states, the error-code and
// content-type tables, the price table, the answer envelope and error
// answers, callback delivery, and the records the module keeps (tasks,
// uploads, accounts) with the fields they are persisted under.
// Internal to providers/seedance2/: nothing outside the module includes it.
//
// Document: api-docs/003_a3f86ea388979b7c.txt (the Seedance 2.0 API).
#pragma once

#include "providers/emulator/task_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}
namespace reelbatch {
class HttpClient;
}

namespace reelbatch::emulator::seedance2 {

// ---- task states ------------------------------------------------------------

/// Task states, as the doc's 任务状态 words.
enum class St { pending, queued, processing, completed, failed, cancelled, expired };
inline constexpr StatusNames<St, 7> kStatus{
    "seedance2", {"pending", "queued", "processing", "completed", "failed", "cancelled", "expired"}};

/// True for completed, failed, cancelled and expired (no further change but
/// completed -> expired).
inline bool is_terminal(St s) { return s >= St::completed; }

// ---- document tables ----------------------------------------------------------

/// One row of the doc's 错误码 table with its HTTP status (HTTP 状态码映射).
struct CodeSpec {
  std::string_view code;
  int http;
  std::string_view message;
};

/// The row of error code `code` (e.g. "TASK_NOT_FOUND"); nullptr for a code
/// the doc does not list.
const CodeSpec* find_code(std::string_view code);

/// Task failures drawn by Options::fail_rate.
inline constexpr std::array<std::string_view, 4> kFailCodes = {"VIDEO_DOWNLOAD_FAILED", "TASK_SUBMIT_FAILED",
                                                               "SERVICE_BUSY", "CONTENT_MODERATION_FAILED"};

/// An upload MIME type of the doc's 允许的 Content Type list and its file
/// extensions (lower case, without the dot; "" = none).
struct ContentType {
  std::string_view mime;
  std::array<std::string_view, 2> extensions;
};
inline constexpr std::array<ContentType, 6> kContentTypes = {{
    {"image/png", {"png", ""}},
    {"image/jpeg", {"jpg", "jpeg"}},
    {"image/webp", {"webp", ""}},
    {"video/mp4", {"mp4", ""}},
    {"video/quicktime", {"mov", ""}},
    {"video/webm", {"webm", ""}},
}};
inline constexpr std::array<std::string_view, 2> kModels = {"seedance-2.0", "seedance-2.0-fast"};
inline constexpr std::array<std::string_view, 3> kResolutions = {"480p", "720p", "1080p"};
inline constexpr std::array<std::string_view, 6> kRatios = {"16:9", "9:16", "4:3", "3:4", "1:1", "21:9"};
inline constexpr std::array<std::string_view, 5> kContentKinds = {"text", "image_url", "video_url", "audio_url",
                                                                  "sample_id"};

/// Credits per second of video (doc 计费说明, 每秒单价) for `model` at
/// `resolution`; an unknown resolution is priced as 720p.
double per_second(std::string_view model, std::string_view resolution);

/// The kContentTypes row of `mime` (exact, case-sensitive); nullptr when the
/// doc does not allow it.
const ContentType* find_content_type(std::string_view mime);

/// True for an X-API-Key the emulator accepts: 1..256 printable ASCII
/// characters without spaces (the doc gives no format).
bool valid_api_key(std::string_view k);

/// True for "http://" or "https://" followed by at least one character.
bool is_http_url(std::string_view s);

/// `s` percent-encoded for a URL path: unreserved characters and '/' stay,
/// every other byte becomes %XX (upper-case hex).
std::string encode_path(std::string_view s);

// ---- answers (doc 响应格式) ------------------------------------------------------

/// Appends `d` as the doc writes numbers: integral values without a
/// fraction (10000), others in shortest round-trip form (3250.5, 14.4).
void doc_number(double d, std::string& out);

/// A JSON answer with HTTP status `http_status`, Content-Type
/// "application/json; charset=utf-8", doubles written by doc_number().
Response answer(int http_status, const boost::json::value& v);

/// The success envelope {"code":"200","message":"Success","result":result}.
boost::json::object envelope(boost::json::value result);

/// answer(200, envelope(result)).
Response ok(boost::json::value result);

/// The error envelope {"code":code,"message":message} with the code's HTTP
/// status from the doc's mapping (500 for a code it does not list); an empty
/// `message` is the code's standard message.
Response error(std::string_view code, std::string message = {});

/// error("INVALID_PARAMETER", "Invalid parameter: <detail>") (HTTP 400).
Response invalid(const std::string& detail);

/// error("MISSING_PARAMETER", "Missing parameter: <field>") (HTTP 400).
Response missing(const std::string& field);

/// An S3-style XML error of the upload storage the presigned URLs point at
/// (the doc does not describe it): <Error><Code>…</Code><Message>…</Message></Error>.
Response s3_error(int status, std::string_view code, std::string_view message);

// ---- callback delivery ------------------------------------------------------------

/// POSTs `body` (application/json) to the task's callback_url (doc: 任务完成回调
/// URL) with a 10 s deadline per attempt, until a 2xx answer; after a failed
/// attempt waits waits[i] and tries again, giving up after waits.size() + 1
/// attempts. Logs each outcome to `log`; never throws for HTTP failures.
boost::asio::awaitable<void> deliver_callback(HttpClient& client, std::string url, std::string body,
                                              std::vector<std::chrono::milliseconds> waits,
                                              std::shared_ptr<spdlog::logger> log);

// ---- records -----------------------------------------------------------------------

/// A completed PUT to a presigned upload URL.
struct Upload {
  std::string content_type;
  std::uint64_t size = 0;
  std::string sha256;
  std::int64_t uploaded_at_ms = 0;
};

/// An upload URL handed out, kept by its (encoded) path.
struct Presigned {
  std::string account;
  std::string file_path;
  std::string content_type;
};

/// One API key's account.
struct Account {
  double total = 0;
  double used = 0;
  std::map<std::string, Upload> uploads;  // by file_path
  std::vector<std::string> tasks;         // ids, oldest first
  std::vector<std::string> active;        // non-terminal ids, oldest first
  std::deque<std::int64_t> submits;       // submit request times in the rate window (not persisted)

  double remain() const { return round2(total - used); }
};

/// One accepted task.
struct Task {
  std::string id;
  std::string account;    // key fingerprint
  std::string authority;  // Host of the submit, for callback URLs
  std::uint64_t seq = 0;
  std::string model, resolution, ratio, prompt, callback_url;
  int duration = 5;
  bool generate_audio = false, watermark = false, return_last_frame = false;
  std::optional<std::int64_t> seed;
  boost::json::array content;
  St status = St::pending;
  std::int64_t created_ms = 0, updated_ms = 0, stage_start = 0, completed_ms = 0;
  bool will_fail = false;
  std::string fail_code, fail_msg;
  std::string error_code, error_msg;
  double price = 0;
  std::string video_sha256, frame_sha256;
  std::uint64_t video_bytes = 0, frame_bytes = 0;
};

/// How long the task stays in `processing` at time_scale 1, in ms:
/// 30 s + 10 s per second of video, × 0.6 for seedance-2.0-fast.
std::int64_t processing_ms(const Task& t);

/// The persisted fields of uploads, presigned URLs and tasks (state file keys
/// in snake_case, as the doc writes its fields).
extern const FieldTable<Upload> kUploadFields;
extern const FieldTable<Presigned> kPresignedFields;
FieldTable<Task> task_fields();

}  // namespace reelbatch::emulator::seedance2
