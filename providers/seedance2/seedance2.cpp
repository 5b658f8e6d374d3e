// The seedance2 adapter: request building, response parsing, error
// classification and validation as pure functions (tested without sockets in
// tests/seedance2_adapter_test.cpp), and a thin coroutine class that only
// performs the HTTP exchanges. See seedance2.hpp for the interpretations.
#include "providers/seedance2/seedance2.hpp"

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/errors.hpp"
#include "providers/kit/pages.hpp"
#include "providers/kit/util.hpp"
#include "src/core/text.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <span>

namespace reelbatch::seedance2 {
using namespace kit::adapter_names;

namespace {

// ---- text helpers ---------------------------------------------------------------------

// seedance2's own check (case-sensitive scheme, as the doc writes it).
bool is_http_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

// ---- error construction -----------------------------------------------------------------

// Doc 错误码 (业务错误码), every row: code → class, the doc's description, our explanation.
constexpr std::array<kit::CodeInfo, 17> kCodes{{
    {"INVALID_API_KEY", ErrorClass::auth, "API Key 无效或已禁用", "API key invalid or disabled"},
    {"INVALID_PARAMETER", ErrorClass::permanent, "参数值无效或格式不正确",
     "invalid request parameter; the row is rejected"},
    {"MISSING_PARAMETER", ErrorClass::permanent, "缺少必填参数", "a required parameter is missing; the row is rejected"},
    {"INSUFFICIENT_CREDIT", ErrorClass::out_of_credit, "积分余额不足", "credit balance is insufficient"},
    {"CREDIT_DEDUCT_FAILED", ErrorClass::retryable, "积分扣除失败,请重试", "credit deduction failed; will retry"},
    {"TASK_NOT_FOUND", ErrorClass::permanent, "任务不存在或不属于当前 API Key",
     "task not found or not owned by this API key"},
    {"TASK_SUBMIT_FAILED", ErrorClass::retryable, "任务提交失败,请重试", "task submission failed; will retry"},
    {"TASK_CANCEL_NOT_ALLOWED", ErrorClass::permanent, "当前状态的任务不允许取消",
     "the task is terminal and cannot be cancelled"},
    {"CONCURRENCY_LIMIT_REACHED", ErrorClass::rate_limited, "已达最大并发数",
     "too many tasks in flight for this API key; will retry later"},
    {"FILE_UPLOAD_FAILED", ErrorClass::retryable, "生成上传地址失败", "could not create an upload URL; will retry"},
    {"VIDEO_DOWNLOAD_FAILED", ErrorClass::retryable, "视频处理失败", "video processing failed; will retry"},
    {"CONTENT_MODERATION_FAILED", ErrorClass::permanent, "内容审核未通过",
     "input or output failed content moderation; the row is rejected"},
    {"COPYRIGHT_VIOLATION", ErrorClass::permanent, "内容可能涉及版权限制",
     "content may be under copyright restrictions; the row is rejected"},
    {"PRIVACY_VIOLATION", ErrorClass::permanent, "输入包含真实人物图像,不被允许",
     "input shows a real person; the row is rejected"},
    {"SERVICE_BUSY", ErrorClass::retryable, "服务暂时繁忙,请稍后重试", "service busy; will retry"},
    {"RATE_LIMIT_EXCEEDED", ErrorClass::rate_limited, "请求频率超限,请降低频率", "request rate limit exceeded"},
    {"INTERNAL_ERROR", ErrorClass::retryable, "服务器内部错误", "internal server error; will retry"},
}};

const kit::CodeInfo* find_code(std::string_view code) { return kit::find_code(kCodes, code); }

using kit::compose;

ProviderError bad_response(int http_status, const std::string& what, const std::string& profile, Op op) {
  static constexpr kit::BadResponseText kText{
      "; the task may exist: reconcile with the task list before resubmitting", "; will retry"};
  return kit::bad_response(http_status, what, profile, op, kText);
}

// ---- envelope: kit::parse_code_envelope --------------------------------------------

// The envelope's result on success (null when absent); the error otherwise.
Result<json::value, ProviderError> unwrap(int http_status, std::string_view body, const std::string& profile,
                                          std::optional<milliseconds> retry_after, Op op) {
  auto env = kit::parse_code_envelope(body);
  if (env && env->code == "200" && is_2xx(http_status)) {
    const json::value* r = env->result();
    return r ? json::value(*r) : json::value(nullptr);
  }
  if (env && env->code != "200")
    return fail(classify(http_status, env->code, env->message, profile, retry_after, op));
  if (http_status == 429) return fail(classify(429, "", excerpt(body), profile, retry_after, op));
  if (is_2xx(http_status))
    return fail(bad_response(http_status,
                             body.empty() ? std::string("empty body") : "not a seedance2 envelope: " + excerpt(body),
                             profile, op));
  if (op == Op::submit && (http_status == 500 || http_status == 502 || http_status == 504))
    return fail(make_error(ErrorClass::unknown_outcome, profile, http_status, "http",
                           "a gateway answered HTTP " + std::to_string(http_status) +
                               " to the submit; the API may have received it: reconcile with the task list "
                               "before resubmitting" +
                               (body.empty() ? "" : "; body: " + excerpt(body))));
  // A non-2xx status with a "200" envelope, or no envelope: the status decides.
  return fail(classify(http_status, "", excerpt(body), profile, retry_after, op));
}

// ---- JSON field readers -----------------------------------------------------------------

// seedance2's integers are JSON numbers only (a numeric string is an error).
bool read_int64(const json::object& o, std::string_view key, std::optional<std::int64_t>& out, std::string& why) {
  return kit::read_int64(o, key, out, why, /*allow_numeric_string=*/false);
}

// created_at: ISO 8601 text (doc), or an epoch number (seconds or ms).
bool read_time(const json::object& o, std::string_view key, std::optional<std::int64_t>& out, std::string& why) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (const auto* s = v->if_string()) {
    if (s->empty()) return true;
    out = parse_iso8601_ms(std::string_view(s->data(), s->size()));
    if (!out) why = std::string(key) + " is not an ISO 8601 time: " + excerpt(std::string_view(s->data(), s->size()), 40);
    return out.has_value();
  }
  std::optional<std::int64_t> n;
  if (!read_int64(o, key, n, why)) return false;
  out = *n >= 100'000'000'000 ? *n : *n * 1000;  // before 1973 in ms means seconds
  return true;
}

// One doc 查询任务状态 task object.
Result<TaskStatus, std::string> task_from_json(const json::value& v, bool require_output) {
  const json::object* o = v.if_object();
  if (!o) return fail(std::string("task is not an object"));
  TaskStatus t;
  std::string why;
  if (!read_string(*o, "task_id", true, t.remote_id, why, true) ||
      !read_string(*o, "status", true, t.native_state, why) ||
      !read_string(*o, "video_url", false, t.video_url, why) ||
      !read_string(*o, "last_frame_url", false, t.last_frame_url, why) ||
      !read_string(*o, "error_code", false, t.error_code, why, true) ||
      !read_string(*o, "error_message", false, t.error_message, why) ||
      !read_number(*o, "credit_cost", false, t.cost, why) || !read_time(*o, "created_at", t.created_at_ms, why))
    return fail(std::move(why));
  t.state = map_state(t.native_state);
  if (!is_documented_state(t.native_state))
    spdlog::warn("seedance2: task {} has undocumented status '{}'; treating it as running", t.remote_id,
                 t.native_state);
  if (require_output && t.state == RemoteState::succeeded && t.video_url.empty())
    return fail("task " + t.remote_id + " is completed but has no video_url");
  return t;
}

constexpr std::array<std::string_view, 6> kRatios{"16:9", "9:16", "4:3", "3:4", "1:1", "21:9"};
constexpr std::array<std::string_view, 2> kModels{"seedance-2.0", "seedance-2.0-fast"};
constexpr std::array<std::string_view, 7> kStates{"pending",   "queued",    "processing", "completed",
                                                  "failed",    "cancelled", "expired"};

std::string join(std::span<const std::string_view> items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// The wording of transport failures (kit::from_net_error).
constexpr kit::NetErrorText kNetText = kit::english_net_text(
    "); the task may exist: reconcile with the task list before resubmitting", "request timed out");

}  // namespace

// ---- validation ---------------------------------------------------------------------------

std::optional<std::string> normalize_resolution(std::string_view resolution) {
  const std::string r = to_lower(trim(resolution));
  if (r == "480" || r == "480p") return "480p";
  if (r == "720" || r == "720p") return "720p";
  if (r == "1080" || r == "1080p") return "1080p";
  return std::nullopt;
}

std::optional<double> price_per_second(std::string_view model, std::string_view resolution) {
  struct Row {
    std::string_view model, resolution;
    double price;
  };
  static constexpr std::array<Row, 6> kPrices{{
      {"seedance-2.0", "1080p", 4.5},
      {"seedance-2.0", "720p", 1.8},
      {"seedance-2.0", "480p", 0.9},
      {"seedance-2.0-fast", "1080p", 3.312},
      {"seedance-2.0-fast", "720p", 1.44},
      {"seedance-2.0-fast", "480p", 0.72},
  }};
  for (const auto& r : kPrices)
    if (r.model == model && r.resolution == resolution) return r.price;
  return std::nullopt;
}

std::optional<double> task_price(std::string_view model, std::string_view resolution, int duration_s) {
  const auto p = price_per_second(model, resolution);
  if (!p) return std::nullopt;
  return std::round(*p * duration_s * 100.0) / 100.0;
}

std::vector<FieldError> validate(const JobSpec& spec) {
  std::vector<FieldError> errs;
  const bool has_refs = !spec.images.empty() || !spec.videos.empty() || !spec.audios.empty();
  if (trim(spec.prompt).empty() && !has_refs)
    errs.push_back({"prompt", "seedance2 needs a prompt or a reference (content needs at least 1 item)"});
  if (!spec.model.empty() && !one_of(kModels, spec.model))
    errs.push_back({"model", "seedance2 accepts seedance-2.0 or seedance-2.0-fast (got " + spec.model + ")"});
  if (spec.duration_s && (*spec.duration_s < kMinDuration || *spec.duration_s > kMaxDuration))
    errs.push_back({"duration", "seedance2 accepts 4-15 s (got " + std::to_string(*spec.duration_s) + ")"});
  if (!spec.resolution.empty() && !normalize_resolution(spec.resolution))
    errs.push_back({"resolution", "seedance2 accepts 480p, 720p or 1080p (got " + spec.resolution + ")"});
  if (!spec.aspect_ratio.empty() && !one_of(kRatios, spec.aspect_ratio))
    errs.push_back({"aspect_ratio", "seedance2 accepts " + join(kRatios) + " (got " + spec.aspect_ratio + ")"});
  if (spec.seed && *spec.seed < kMinSeed)
    errs.push_back({"seed", "seedance2 accepts a seed of -1 or above (got " + std::to_string(*spec.seed) + ")"});

  auto check_assets = [&](const std::vector<AssetRef>& assets, const char* field, const char* noun, int kind) {
    for (const auto& a : assets) {
      const std::string label = std::string(noun) + " '" + a.name + "'";
      if (a.location.empty()) {
        errs.push_back({field, label + ": no file or URL given"});
        continue;
      }
      if (a.is_url()) continue;  // passed as given
      if (kind == 2) {
        errs.push_back({field, label + ": seedance2 cannot upload audio (the presign table has no audio type); "
                                       "give an http(s) URL"});
        continue;
      }
      const auto ct = content_type_for(a.location);
      const bool ok = ct && (kind == 0 ? is_image_content_type(*ct) : is_video_content_type(*ct));
      if (!ok) {
        const std::string ext = std::filesystem::path(a.location).extension().string();
        errs.push_back({field, label + ": seedance2 accepts " +
                                   std::string(kind == 0 ? ".png, .jpg, .jpeg or .webp images"
                                                         : ".mp4, .mov or .webm videos") +
                                   " (got " + (ext.empty() ? std::string("no extension") : ext) + ")"});
      }
    }
  };
  check_assets(spec.images, "images", "image", 0);
  check_assets(spec.videos, "videos", "video", 1);
  check_assets(spec.audios, "audios", "audio", 2);

  // The typed keys the doc defines, when given as pass-through params.
  const auto& p = spec.params;
  auto param = [&](std::string_view k) -> const json::value* {
    const json::value* v = p.if_contains(k);
    return (v && !v->is_null()) ? v : nullptr;
  };
  if (const auto* v = param("callback_url")) {
    if (!v->is_string() || !is_http_url(v->get_string()))
      errs.push_back({"params.callback_url", "seedance2 needs an http(s) URL string"});
    else if (v->get_string().size() > kMaxCallbackUrl)
      errs.push_back({"params.callback_url", "seedance2 accepts at most 512 characters (got " +
                                                 std::to_string(v->get_string().size()) + ")"});
  }
  for (const char* k : {"generate_audio", "watermark", "return_last_frame"})
    if (const auto* v = param(k); v && !v->is_bool())
      errs.push_back({std::string("params.") + k, "seedance2 needs true or false"});
  if (const auto* v = param("seed"); v && (!v->is_int64() || v->get_int64() < kMinSeed))
    errs.push_back({"params.seed", "seedance2 accepts an integer seed of -1 or above"});
  if (const auto* v = param("duration");
      v && (!v->is_int64() || v->get_int64() < kMinDuration || v->get_int64() > kMaxDuration))
    errs.push_back({"params.duration", "seedance2 accepts an integer of 4-15 s"});
  if (const auto* v = param("model"); v && (!v->is_string() || !one_of(kModels, v->get_string())))
    errs.push_back({"params.model", "seedance2 accepts seedance-2.0 or seedance-2.0-fast"});
  if (const auto* v = param("resolution");
      v && (!v->is_string() || (v->get_string() != "480p" && v->get_string() != "720p" && v->get_string() != "1080p")))
    errs.push_back({"params.resolution", "seedance2 accepts 480p, 720p or 1080p"});
  if (const auto* v = param("ratio"); v && (!v->is_string() || !one_of(kRatios, v->get_string())))
    errs.push_back({"params.ratio", "seedance2 accepts " + join(kRatios)});
  return errs;
}

// ---- upload -------------------------------------------------------------------------------

// content_type_for, is_image/video_content_type, upload_file_name: kit/util (see
// seedance2.hpp).


std::string presign_path(std::string_view filename, std::string_view content_type) {
  return std::string(kPresignPath) + "?filename=" + percent_encode(filename) +
         "&content_type=" + percent_encode(content_type);
}

ProviderResult<PresignResult> parse_presign_response(int http_status, std::string_view body,
                                                     const std::string& profile,
                                                     std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::upload);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "presign answer without a result object", profile, Op::upload));
  PresignResult p;
  std::optional<std::int64_t> expires;
  std::string why;
  if (!read_string(*o, "presigned_url", true, p.presigned_url, why) ||
      !read_string(*o, "file_path", true, p.file_path, why) || !read_int64(*o, "expires_in", expires, why))
    return fail(bad_response(http_status, "presign: " + why, profile, Op::upload));
  p.expires_in = expires.value_or(0);
  return p;
}

HttpRequest build_upload_request(const PresignResult& presign, std::string_view content_type, std::string bytes,
                                 milliseconds timeout) {
  return kit::presigned_upload_request("PUT", presign.presigned_url, content_type, std::move(bytes), timeout);
}

std::optional<ProviderError> classify_upload_response(int http_status, std::string_view body,
                                                      const std::string& profile,
                                                      std::optional<milliseconds> retry_after) {
  static constexpr kit::UploadText kText{" from the presigned upload URL",
                                         {"", "the signature expired or was rejected; presigning again"},
                                         {"", "rate limited"},
                                         {"", "storage error; will retry"},
                                         {"", "the storage rejected the file"}};
  return kit::classify_upload(http_status, body, profile, retry_after, kText);
}

// ---- submit -------------------------------------------------------------------------------

json::object build_submit_body(const SubmitRequest& req) {
  const JobSpec& s = req.spec;
  json::object body;
  if (!s.model.empty()) body["model"] = s.model;
  json::array content;
  auto refs = [&](const std::vector<ResolvedAsset>& assets, std::string_view type) {
    for (const auto& a : assets)
      content.push_back(json::object{{"type", type}, {type, a.remote_ref}});
  };
  refs(req.images, "image_url");
  refs(req.videos, "video_url");
  refs(req.audios, "audio_url");
  if (!trim(s.prompt).empty()) content.push_back(json::object{{"type", "text"}, {"text", s.prompt}});
  body["content"] = std::move(content);
  if (!s.resolution.empty()) body["resolution"] = normalize_resolution(s.resolution).value_or(s.resolution);
  if (!s.aspect_ratio.empty()) body["ratio"] = s.aspect_ratio;
  if (s.duration_s) body["duration"] = *s.duration_s;
  if (s.audio) body["generate_audio"] = *s.audio;
  if (s.seed) body["seed"] = *s.seed;
  for (const auto& kv : s.params) body[kv.key()] = kv.value();
  return body;
}

ProviderResult<SubmitAccepted> parse_submit_response(int http_status, std::string_view body,
                                                     const std::string& profile,
                                                     std::optional<milliseconds> retry_after) {
  auto read_accepted = [&](const json::object& o, SubmitAccepted& a, std::string& why) {
    return read_string(o, "task_id", true, a.task_id, why, true) && read_string(o, "status", false, a.status, why) &&
           read_number(o, "credit_cost", false, a.credit_cost, why);
  };
  // CONCURRENCY_LIMIT_REACHED ("任务已排队") carrying a task id: the task exists.
  if (auto env = kit::parse_code_envelope(body); env && env->code == "CONCURRENCY_LIMIT_REACHED") {
    if (const json::value* r = env->result(); r && r->is_object()) {
      SubmitAccepted a;
      std::string why;
      if (read_accepted(r->get_object(), a, why)) {
        spdlog::info("seedance2: {}: concurrency limit reached, but task {} was queued", profile, a.task_id);
        return a;
      }
    }
  }
  auto r = unwrap(http_status, body, profile, retry_after, Op::submit);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "success without a result object", profile, Op::submit));
  SubmitAccepted a;
  std::string why;
  if (!read_accepted(*o, a, why)) return fail(bad_response(http_status, "success but " + why, profile, Op::submit));
  return a;
}

// ---- query, list, cancel, balance ------------------------------------------------------------

RemoteState map_state(std::string_view native) {
  const std::string s = to_lower(trim(native));
  if (s == "pending" || s == "queued") return RemoteState::queued;
  if (s == "completed") return RemoteState::succeeded;
  if (s == "failed") return RemoteState::failed;
  if (s == "cancelled") return RemoteState::cancelled;
  if (s == "expired") return RemoteState::expired;
  return RemoteState::running;  // processing, and unknown words
}

bool is_documented_state(std::string_view native) { return one_of(kStates, to_lower(trim(native))); }

bool is_retryable_task_error(std::string_view code) {
  static constexpr std::array<std::string_view, 6> kTransient{"TASK_SUBMIT_FAILED", "VIDEO_DOWNLOAD_FAILED",
                                                              "FILE_UPLOAD_FAILED", "CREDIT_DEDUCT_FAILED",
                                                              "SERVICE_BUSY",       "INTERNAL_ERROR"};
  return one_of(kTransient, code);
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view t) {
  using namespace std::chrono;
  t = trim(t);
  auto num = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > t.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!is_digit(t[i])) return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 19 || !num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' || !num(8, 2, d) ||
      (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !num(11, 2, h) || t[13] != ':' || !num(14, 2, mi) ||
      t[16] != ':' || !num(17, 2, s))
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t frac_ms = 0;
  if (pos < t.size() && (t[pos] == '.' || t[pos] == ',')) {
    ++pos;
    const std::size_t start = pos;
    int scale = 100;
    while (pos < t.size() && is_digit(t[pos])) {
      frac_ms += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < t.size()) {
    if (t[pos] == 'Z' || t[pos] == 'z') {
      ++pos;
    } else if (t[pos] == '+' || t[pos] == '-') {
      const int sign = t[pos] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!num(pos + 1, 2, oh)) return std::nullopt;
      pos += 3;
      if (pos < t.size() && t[pos] == ':') ++pos;
      if (pos < t.size()) {
        if (!num(pos, 2, om)) return std::nullopt;
        pos += 2;
      }
      if (oh > 23 || om > 59) return std::nullopt;
      offset_min = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  if (pos != t.size()) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto tp = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) - minutes(offset_min);
  return duration_cast<milliseconds>(tp.time_since_epoch()).count() + frac_ms;
}

ProviderResult<TaskStatus> parse_task_response(int http_status, std::string_view body, const std::string& profile,
                                               std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::query);
  if (!r) return fail(r.error());
  if (r->is_null()) return fail(bad_response(http_status, "success without a result object", profile, Op::query));
  auto t = task_from_json(*r, true);
  if (!t) return fail(bad_response(http_status, t.error(), profile, Op::query));
  return std::move(t).value();
}

std::string task_path(std::string_view task_id) { return std::string(kTaskPathPrefix) + percent_encode(task_id); }

std::string cancel_path(std::string_view task_id) { return task_path(task_id) + "/cancel"; }

std::string task_list_path(int page, int page_size, std::string_view status) {
  std::string p = std::string(kTaskListPath) + "?page=" + std::to_string(page) + "&page_size=" +
                  std::to_string(page_size);
  if (!status.empty()) p += "&status=" + percent_encode(status);
  return p;
}

ProviderResult<TaskPage> parse_task_list_response(int http_status, std::string_view body,
                                                  const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  return kit::read_result_object<TaskPage>(
      unwrap(http_status, body, profile, retry_after, Op::query), "task list without a result object",
      [&](std::string what) { return bad_response(http_status, what, profile, Op::query); },
      [](const json::object& o) {
        return kit::read_task_page(o, [](const json::value& v) { return task_from_json(v, false); },
                                   /*numeric_string_total=*/false);
      });
}

ProviderResult<TaskStatus> parse_cancel_response(int http_status, std::string_view body, const std::string& profile,
                                                 std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::query);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "cancel answer without a result object", profile, Op::query));
  TaskStatus t;
  std::string why;
  if (!read_string(*o, "task_id", true, t.remote_id, why, true) || !read_string(*o, "status", true, t.native_state, why))
    return fail(bad_response(http_status, "cancel: " + why, profile, Op::query));
  t.state = map_state(t.native_state);
  return t;
}

ProviderResult<Balance> parse_balance_response(int http_status, std::string_view body, const std::string& profile,
                                               std::optional<milliseconds> retry_after) {
  return kit::read_result_object<Balance>(
      unwrap(http_status, body, profile, retry_after, Op::query), "balance without a result object",
      [&](std::string what) { return bad_response(http_status, what, profile, Op::query); },
      [](const json::object& o) { return kit::read_balance(o, "total_credits", "used_credits", "remain_credits"); });
}

// ---- errors ------------------------------------------------------------------------------------

ProviderError classify(int http_status, std::string_view code, std::string message, const std::string& profile,
                       std::optional<milliseconds> retry_after, Op op) {
  const std::string code_s = code.empty() ? std::string("http") : std::string(code);
  if (op == Op::submit && code == "INTERNAL_ERROR")
    return make_error(ErrorClass::unknown_outcome, profile, http_status, code_s,
                      compose(message, "服务器内部错误",
                              "internal error while submitting; the task may exist: reconcile with the task "
                              "list before resubmitting"));
  // Doc 错误码: CONCURRENCY_LIMIT_REACHED "已达最大并发数,任务已排队": the task
  // WAS queued. A submit answer carrying result.task_id is accepted by
  // parse_submit_response(); one without a task id left a task we cannot
  // name: unknown (reconcile through the task list, never a blind resubmit).
  // A 429 without a documented code may be that answer too (doc HTTP 状态码:
  // "429 — 频率限制或并发限制"), so it is unknown on a submit as well.
  if (op == Op::submit && (code == "CONCURRENCY_LIMIT_REACHED" || (http_status == 429 && !find_code(code))))
    return make_error(ErrorClass::unknown_outcome, profile, http_status, code_s,
                      compose(message, "已达最大并发数,任务已排队",
                              "the concurrency limit was reached and the document says the task was queued, "
                              "but the answer names no task: reconcile with the task list before resubmitting"));
  if (http_status == 429) {
    const kit::CodeInfo* info = find_code(code);
    const std::string en = kit::with_retry_after(info && info->cls == ErrorClass::rate_limited
                                                     ? std::string(info->en)
                                                     : std::string("HTTP 429: rate limited"),
                                                 retry_after);
    return make_error(ErrorClass::rate_limited, profile, http_status, code_s,
                      compose(message, info ? info->zh : "请求频率超限", en), retry_after);
  }
  if (const kit::CodeInfo* info = find_code(code))
    return make_error(info->cls, profile, http_status, code_s, compose(message, info->zh, info->en), retry_after);
  const std::string st = "HTTP " + std::to_string(http_status);
  const std::string what = code.empty() ? st + " without a seedance2 envelope" : "undocumented code " + code_s;
  return kit::classify_status(kit::gateway_status_rules(), http_status, code_s, message, what, profile, retry_after);
}

const kit::NetErrorMapper from_net_error = &kit::map_net_error<kNetText>;

HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                              std::string body) {
  return kit::json_api_request(profile, std::move(method), path_and_query, std::move(body),
                               {"X-API-Key", profile.api_key});
}

// ---- the coroutine adapter -------------------------------------------------------------------


Seedance2Provider::Seedance2Provider(const ProfileConfig& profile, HttpClient& http, std::shared_ptr<spdlog::logger> logger)
    : AdapterBase(profile, http, std::move(logger), from_net_error) {}

std::vector<FieldError> Seedance2Provider::validate(const JobSpec& spec) const { return seedance2::validate(spec); }

awaitable<ProviderResult<std::string>> Seedance2Provider::async_upload(const LocalAsset& asset) {
  auto f = read_upload_file(asset, "seedance2 cannot upload audio; give an http(s) URL",
                            "seedance2's allowed Content Type table");
  if (!f) co_return fail(f.error());
  auto p = co_await call(
      build_api_request(profile_, "POST", presign_path(upload_file_name(asset.path, asset.sha256), f->content_type)),
      kit::Op::upload, &parse_presign_response);
  if (!p) co_return fail(p.error());
  const std::size_t size = f->bytes.size();
  if (auto err = co_await put_upload(
          build_upload_request(*p, f->content_type, std::move(f->bytes), upload_timeout(size)),
          &classify_upload_response))
    co_return fail(std::move(*err));
  log().debug("{}: uploaded {} ({} bytes) as {}", profile_.name, asset.path.filename().string(), size, p->file_path);
  co_return p->file_path;
}

awaitable<ProviderResult<std::string>> Seedance2Provider::async_submit(const SubmitRequest& req) {
  const std::string& name = profile_.name;
  auto a = co_await call(build_api_request(profile_, "POST", kSubmitPath, json::serialize(build_submit_body(req))), kit::Op::submit, &parse_submit_response);
  if (!a) co_return fail(a.error());
  log().debug("{}: job {} submitted as task {}", name, req.spec.id, a->task_id);
  co_return std::move(a->task_id);
}

awaitable<ProviderResult<TaskStatus>> Seedance2Provider::async_query(const std::string& remote_id) {
  if (remote_id.empty()) co_return fail(local("query without a task id"));
  co_return co_await call(build_api_request(profile_, "GET", task_path(remote_id)), kit::Op::query, &parse_task_response);
}

awaitable<ProviderResult<TaskPage>> Seedance2Provider::async_list(int page, int page_size) {
  return async_list_status(page, page_size, std::string());
}

awaitable<ProviderResult<TaskPage>> Seedance2Provider::async_list_status(int page, int page_size,
                                                                         std::string status) {
  if (page < 1) co_return fail(local("task list pages count from 1"));
  if (page_size < kMinPageSize || page_size > kMaxPageSize)
    co_return fail(local("seedance2 accepts page_size 1-100 (got " + std::to_string(page_size) + ")"));
  co_return co_await call(build_api_request(profile_, "GET", task_list_path(page, page_size, status)), kit::Op::query, &parse_task_list_response);
}

awaitable<ProviderResult<Balance>> Seedance2Provider::async_balance() {
  co_return co_await call(build_api_request(profile_, "GET", kBalancePath), kit::Op::query, &parse_balance_response);
}

awaitable<ProviderResult<TaskStatus>> Seedance2Provider::async_cancel(const std::string& remote_id) {
  if (remote_id.empty()) co_return fail(local("cancel without a task id"));
  co_return co_await call(build_api_request(profile_, "POST", cancel_path(remote_id)), kit::Op::query, &parse_cancel_response);
}

bool Seedance2Provider::is_retryable_failure(const TaskStatus& s) const {
  return s.state == RemoteState::failed && is_retryable_task_error(s.error_code);
}

PollPolicy Seedance2Provider::default_poll() const {
  return PollPolicy{milliseconds(5000), milliseconds(5000), milliseconds(10000)};
}

std::optional<DownloadTarget> Seedance2Provider::download_target(const TaskStatus& status, OutputKind kind) const {
  const std::string* url = nullptr;
  if (kind == OutputKind::video) url = &status.video_url;
  if (kind == OutputKind::last_frame) url = &status.last_frame_url;
  if (!url || url->empty()) return std::nullopt;
  return DownloadTarget{*url, {}};
}



std::unique_ptr<Provider> make_seedance2_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<Seedance2Provider>(profile, http, std::move(logger));
}


std::optional<DocumentedPrice> documented_price(const JobSpec& spec) {
  const auto res = normalize_resolution(spec.resolution.empty() ? std::string_view("720p")
                                                                : std::string_view(spec.resolution));
  if (!res) return std::nullopt;
  const auto p = task_price(spec.model.empty() ? std::string_view("seedance-2.0") : std::string_view(spec.model), *res,
                            spec.duration_s.value_or(5));
  if (!p) return std::nullopt;
  return DocumentedPrice{*p, "seedance2 doc 计费说明"};
}

}  // namespace reelbatch::seedance2
