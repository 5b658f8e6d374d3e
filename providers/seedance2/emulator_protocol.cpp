// The seedance2 emulator's document tables, answers, callback delivery and
// persisted records. See emulator_protocol.hpp.
#include "providers/seedance2/emulator_protocol.hpp"

#include "src/core/text.hpp"
#include "src/net/http_client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace reelbatch::emulator::seedance2 {
namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kMaxKeyLength = 256;

// Doc 错误码 and HTTP 状态码映射.
constexpr std::array<CodeSpec, 17> kCodes = {{
    {"INVALID_API_KEY", 401, "Invalid API key"},
    {"INVALID_PARAMETER", 400, "Invalid parameter"},
    {"MISSING_PARAMETER", 400, "Missing parameter"},
    {"INSUFFICIENT_CREDIT", 402, "Insufficient credit"},
    {"CREDIT_DEDUCT_FAILED", 500, "Credit deduction failed, please retry"},
    {"TASK_NOT_FOUND", 404, "Task not found"},
    {"TASK_SUBMIT_FAILED", 500, "Task submission failed, please retry"},
    {"TASK_CANCEL_NOT_ALLOWED", 400, "Task cannot be cancelled in its current status"},
    {"CONCURRENCY_LIMIT_REACHED", 429, "Concurrency limit reached"},
    {"FILE_UPLOAD_FAILED", 500, "Failed to generate upload URL"},
    {"VIDEO_DOWNLOAD_FAILED", 500, "Video processing failed"},
    {"CONTENT_MODERATION_FAILED", 400, "Content moderation failed: the input or output contains sensitive content"},
    {"COPYRIGHT_VIOLATION", 400, "Content may be subject to copyright restrictions"},
    {"PRIVACY_VIOLATION", 400, "Input contains images of real people, which is not allowed"},
    {"SERVICE_BUSY", 503, "Service is busy, please try again later"},
    {"RATE_LIMIT_EXCEEDED", 429, "Rate limit exceeded, please slow down"},
    {"INTERNAL_ERROR", 500, "Internal server error"},
}};

}  // namespace

const CodeSpec* find_code(std::string_view code) {
  for (const auto& c : kCodes)
    if (c.code == code) return &c;
  return nullptr;
}

// Doc 计费说明: credits per second.
double per_second(std::string_view model, std::string_view resolution) {
  const bool fast = model == "seedance-2.0-fast";
  if (resolution == "1080p") return fast ? 3.312 : 4.5;
  if (resolution == "480p") return fast ? 0.72 : 0.9;
  return fast ? 1.44 : 1.8;
}

const ContentType* find_content_type(std::string_view mime) {
  for (const auto& c : kContentTypes)
    if (c.mime == mime) return &c;
  return nullptr;
}

bool valid_api_key(std::string_view k) {
  return !k.empty() && k.size() <= kMaxKeyLength &&
         std::all_of(k.begin(), k.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool is_http_url(std::string_view s) {
  return (s.starts_with("http://") && s.size() > 7) || (s.starts_with("https://") && s.size() > 8);
}

std::string encode_path(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

// ---- JSON output ------------------------------------------------------------------

// Doubles as the doc writes them: 10000, 3250.5, 14.4.
void doc_number(double d, std::string& out) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    out += std::to_string(static_cast<std::int64_t>(d));
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, r.ptr);
  }
}

Response answer(int http_status, const json::value& v) {
  return json_response(http_status, v, "application/json; charset=utf-8", doc_number);
}

json::object envelope(json::value result) {
  return json::object{{"code", "200"}, {"message", "Success"}, {"result", std::move(result)}};
}

Response ok(json::value result) { return answer(200, envelope(std::move(result))); }

// A documented error with its documented HTTP status.
Response error(std::string_view code, std::string message) {
  const CodeSpec* spec = find_code(code);
  const int status = spec ? spec->http : 500;
  if (message.empty() && spec) message = std::string(spec->message);
  return answer(status, json::object{{"code", code}, {"message", std::move(message)}});
}

Response invalid(const std::string& detail) { return error("INVALID_PARAMETER", "Invalid parameter: " + detail); }
Response missing(const std::string& field) { return error("MISSING_PARAMETER", "Missing parameter: " + field); }

Response s3_error(int status, std::string_view code, std::string_view message) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
  body += code;
  body += "</Code><Message>";
  body += message;
  body += "</Message></Error>\n";
  return Response(status, "application/xml", std::move(body));
}

// ---- callback delivery ------------------------------------------------------------

// POSTs one callback body, retrying after each of `waits`.
asio::awaitable<void> deliver_callback(HttpClient& client, std::string url, std::string body,
                                       std::vector<milliseconds> waits, std::shared_ptr<spdlog::logger> log) {
  for (std::size_t attempt = 0;; ++attempt) {
    HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body;
    req.timeout = milliseconds(10000);
    auto r = co_await client.async_request(std::move(req));
    if (r && r->status >= 200 && r->status < 300) {
      log->debug("seedance2 emulator: callback delivered (attempt {})", attempt + 1);
      co_return;
    }
    const std::string why = r ? "HTTP " + std::to_string(r->status) : r.error().message;
    if (attempt >= waits.size()) {
      log->warn("seedance2 emulator: callback gave up after {} attempts: {}", attempt + 1, why);
      co_return;
    }
    log->info("seedance2 emulator: callback attempt {} failed ({}); retrying", attempt + 1, why);
    asio::steady_timer timer(client.get_executor(), waits[attempt]);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

std::int64_t processing_ms(const Task& t) {
  const std::int64_t base = 30000 + 10000 * static_cast<std::int64_t>(t.duration);
  return t.model == "seedance-2.0-fast" ? base * 6 / 10 : base;
}

// ---- persisted state ----------------------------------------------------------------

extern const FieldTable<Upload> kUploadFields;
const FieldTable<Upload> kUploadFields{"seedance2",
                                       {field("content_type", &Upload::content_type), field("size", &Upload::size),
                                        field("sha256", &Upload::sha256), field("uploaded_at", &Upload::uploaded_at_ms)}};

extern const FieldTable<Presigned> kPresignedFields;
const FieldTable<Presigned> kPresignedFields{"seedance2",
                                             {field("account", &Presigned::account),
                                              field("file_path", &Presigned::file_path),
                                              field("content_type", &Presigned::content_type)}};

FieldTable<Task> task_fields() {
  return {"seedance2",
          {field("task_id", &Task::id),
           field("account", &Task::account),
           field("authority", &Task::authority),
           field("seq", &Task::seq),
           field("model", &Task::model),
           field("resolution", &Task::resolution),
           field("ratio", &Task::ratio),
           field("prompt", &Task::prompt),
           field("callback_url", &Task::callback_url),
           field("duration", &Task::duration),
           field("generate_audio", &Task::generate_audio),
           field("watermark", &Task::watermark),
           field("return_last_frame", &Task::return_last_frame),
           field("seed", &Task::seed),
           field("content", &Task::content),
           field("status", &Task::status, kStatus),
           field("created_ms", &Task::created_ms),
           field("updated_ms", &Task::updated_ms),
           field("stage_start", &Task::stage_start),
           field("completed_ms", &Task::completed_ms),
           field("will_fail", &Task::will_fail),
           field("fail_code", &Task::fail_code),
           field("fail_msg", &Task::fail_msg),
           field("error_code", &Task::error_code),
           field("error_msg", &Task::error_msg),
           field("price", &Task::price),
           field("video_sha256", &Task::video_sha256),
           field("video_bytes", &Task::video_bytes),
           field("frame_sha256", &Task::frame_sha256),
           field("frame_bytes", &Task::frame_bytes)}};
}

}  // namespace reelbatch::emulator::seedance2
