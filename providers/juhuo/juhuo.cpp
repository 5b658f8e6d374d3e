// The juhuo adapter: request building, response parsing, error
// classification and validation as pure functions (tested without sockets
// in tests/juhuo_adapter_test.cpp), and a thin coroutine class that only
// performs the HTTP exchanges. See juhuo.hpp for the doc sections.
#include "providers/juhuo/juhuo.hpp"

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
#include <set>

namespace reelbatch::juhuo {
using namespace kit::adapter_names;

namespace {


// ---- error construction ---------------------------------------------------------------

using kit::Op;

// Doc 10.1 and 10.2: code → class, the doc 10 label, our explanation.
constexpr std::array<kit::CodeInfo, 7> kCodes{{
    {"4000", ErrorClass::permanent, "参数错误", "invalid request parameter; the row is rejected"},
    {"4003", ErrorClass::out_of_credit, "积分余额不足", "API credit balance is exhausted"},
    {"4004", ErrorClass::permanent, "资源不存在", "task not found or not owned by this API key"},
    {"4009", ErrorClass::permanent, "资源冲突", "conflict: the resource already exists"},
    {"4403", ErrorClass::auth, "未授权", "API key missing, malformed or revoked"},
    {"5000", ErrorClass::retryable, "服务器内部错误", "juhuo internal server error; will retry"},
    {"5003", ErrorClass::retryable, "服务繁忙", "juhuo is busy; will retry"},
}};

// "<juhuo's message> (<zh label>: <en>)", without repeating a label juhuo
// already wrote, or "<zh> (<en>)" when juhuo said nothing.
std::string compose(std::string_view message, std::string_view zh, std::string_view en) {
  return kit::compose(message, zh, en, kit::Bare::label_and_en);
}

// A response we cannot use. For a submit the task may exist.
ProviderError bad_response(int http_status, const std::string& what, const std::string& profile, Op op) {
  static constexpr kit::BadResponseText kText{
      "; the task may exist: reconcile with the task list before resubmitting (响应无法解析)",
      "; will retry (响应无法解析)"};
  return kit::bad_response(http_status, what, profile, op, kText);
}

// ---- envelope (doc 3.3): kit::parse_code_envelope ------------------------------------

// The envelope's result on success; the classified error otherwise. An
// absent or null result comes back as a null value.
Result<json::value, ProviderError> unwrap(int http_status, std::string_view body, const std::string& profile,
                                          std::optional<milliseconds> retry_after, Op op) {
  auto env = kit::parse_code_envelope(body);
  if (http_status == 429)
    return fail(classify(429, env ? std::string_view(env->code) : std::string_view(),
                         env ? env->message : excerpt(body), profile, retry_after));
  if (env) {
    if (env->code == "200") {
      const json::value* r = env->result();
      return r ? json::value(*r) : json::value(nullptr);
    }
    return fail(classify(http_status, env->code, env->message, profile, retry_after));
  }
  // Not an envelope.
  if (is_2xx(http_status)) {
    const std::string what = body.empty() ? std::string("empty body")
                                          : "not a juhuo JSON envelope: " + excerpt(body);
    return fail(bad_response(http_status, what, profile, op));
  }
  if (op == Op::submit && (http_status == 502 || http_status == 504))
    return fail(make_error(ErrorClass::unknown_outcome, profile, http_status, "http",
                           "网关错误 (a gateway answered HTTP " + std::to_string(http_status) +
                               " to the submit; juhuo may have received it: reconcile with the task list "
                               "before resubmitting)" + (body.empty() ? "" : "; body: " + excerpt(body))));
  return fail(classify(http_status, "", excerpt(body), profile, retry_after));
}


// One doc 6 task object.
Result<TaskStatus, std::string> task_from_json(const json::value& v, bool require_output) {
  const json::object* o = v.if_object();
  if (!o) return fail(std::string("task is not an object"));
  TaskStatus t;
  std::string why;
  if (!read_string(*o, "taskId", true, t.remote_id, why, true) ||
      !read_string(*o, "status", true, t.native_state, why) ||
      !read_string(*o, "outputUrl", false, t.video_url, why) || !read_string(*o, "coverUrl", false, t.cover_url, why) ||
      !read_string(*o, "errorCode", false, t.error_code, why, true) ||
      !read_string(*o, "errorMsg", false, t.error_message, why) || !read_number(*o, "creditCost", false, t.cost, why) ||
      !read_int64(*o, "gmtCreate", t.created_at_ms, why))
    return fail(std::move(why));
  t.state = map_state(t.native_state);
  if (!is_documented_state(t.native_state))
    spdlog::warn("juhuo: task {} has undocumented status '{}'; treating it as running", t.remote_id,
                 t.native_state);
  if (require_output && t.state == RemoteState::succeeded && t.video_url.empty())
    return fail("task " + t.remote_id + " is success but has no outputUrl");
  return t;
}

const std::array<std::string_view, 6> kRatios{"9:16", "16:9", "3:4", "4:3", "1:1", "21:9"};
const std::array<std::string_view, 2> kModels{"seedance-2.0", "seedance-2.0-fast"};

constexpr int kMinDuration = 4, kMaxDuration = 15;  // doc 5: duration 4 ~ 15 s

// The wording of transport failures (kit::from_net_error).
constexpr kit::NetErrorText kNetText = kit::chinese_net_text(
    "; juhuo may have created the task: reconcile with the task list before resubmitting)");

}  // namespace

// ---- validation ---------------------------------------------------------------------------

std::optional<int> normalize_resolution(std::string_view resolution) {
  const std::string r = to_lower(trim(resolution));
  if (r == "480" || r == "480p") return 480;
  if (r == "720" || r == "720p") return 720;
  return std::nullopt;
}

std::vector<std::string> prompt_references(std::string_view prompt) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = prompt.find("<<<", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = prompt.find(">>>", open + 3);
    if (close == std::string_view::npos) break;
    out.emplace_back(prompt.substr(open + 3, close - open - 3));
    pos = close + 3;
  }
  return out;
}

std::vector<FieldError> validate(const JobSpec& spec) {
  std::vector<FieldError> errs;
  if (trim(spec.prompt).empty()) errs.push_back({"prompt", "juhuo requires a prompt (doc 5: prompt 必填)"});
  if (!spec.model.empty() && !one_of(kModels, spec.model))
    errs.push_back({"model", "juhuo accepts seedance-2.0 or seedance-2.0-fast (got " + spec.model + ")"});
  if (spec.duration_s && (*spec.duration_s < kMinDuration || *spec.duration_s > kMaxDuration))
    errs.push_back({"duration", "juhuo accepts 4-15 s (got " + std::to_string(*spec.duration_s) + ")"});
  if (!spec.resolution.empty() && !normalize_resolution(spec.resolution))
    errs.push_back({"resolution", "juhuo accepts 480 or 720 (got " + spec.resolution + ")"});
  if (!spec.aspect_ratio.empty() && !one_of(kRatios, spec.aspect_ratio))
    errs.push_back({"aspect_ratio",
                    "juhuo accepts 9:16, 16:9, 3:4, 4:3, 1:1 or 21:9 (got " + spec.aspect_ratio + ")"});
  if (spec.seed) errs.push_back({"seed", "juhuo has no seed parameter"});
  if (!spec.audios.empty())
    errs.push_back({"audios", "juhuo has no audio references (it takes inputImages and inputVideos only)"});

  std::set<std::string> names;
  auto check_assets = [&](const std::vector<AssetRef>& assets, const char* field, const char* noun, bool image) {
    for (const auto& a : assets) {
      const std::string label = std::string(noun) + " '" + a.name + "'";
      if (a.name.empty()) {
        errs.push_back({field, std::string(noun) + " with an empty name (juhuo references assets by name)"});
      } else if (a.name.find("<<<") != std::string::npos || a.name.find(">>>") != std::string::npos) {
        errs.push_back({field, label + ": a name cannot contain <<< or >>>"});
      } else if (!names.insert(a.name).second) {
        errs.push_back({field, label + ": the name is used twice (images and videos share one namespace)"});
      }
      if (a.location.empty()) {
        errs.push_back({field, label + ": no file given"});
        continue;
      }
      if (a.is_url()) {
        errs.push_back({field, label + ": juhuo takes uploaded files only; download it first (got " +
                                   elide_url_queries(a.location) + ")"});
        continue;
      }
      const auto ct = content_type_for(a.location);
      const bool ok = ct && (image ? is_image_content_type(*ct) : is_video_content_type(*ct));
      if (!ok) {
        const std::string ext = std::filesystem::path(a.location).extension().string();
        errs.push_back({field, label + ": juhuo accepts " +
                                   std::string(image ? ".png, .jpg, .jpeg or .webp images"
                                                     : ".mp4, .mov or .webm videos") +
                                   " (got " + (ext.empty() ? std::string("no extension") : ext) + ")"});
      }
    }
  };
  check_assets(spec.images, "images", "image", true);
  check_assets(spec.videos, "videos", "video", false);

  std::set<std::string> reported;
  for (const auto& ref : prompt_references(spec.prompt)) {
    if (ref.empty()) {
      if (reported.insert(ref).second) errs.push_back({"prompt", "empty reference <<<>>> in the prompt"});
      continue;
    }
    if (names.count(ref) || !reported.insert(ref).second) continue;
    errs.push_back({"prompt", "the prompt references <<<" + ref + ">>> but the row has no image or video named '" +
                                  ref + "'"});
  }
  return errs;
}

// ---- upload -------------------------------------------------------------------------------

// content_type_for, is_image/video_content_type, upload_file_name: kit/util (doc 4.1's
// table and fileName rule; see juhuo.hpp).


json::object build_presign_body(const LocalAsset& asset, std::string_view content_type) {
  return json::object{{"fileName", upload_file_name(asset.path, asset.sha256)},
                      {"contentType", json::string_view(content_type.data(), content_type.size())}};
}

ProviderResult<PresignResult> parse_presign_response(int http_status, std::string_view body,
                                                     const std::string& profile,
                                                     std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::upload);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "presign answer without a result object", profile, Op::upload));
  PresignResult p;
  std::string why;
  if (!read_string(*o, "uploadUrl", true, p.upload_url, why) || !read_string(*o, "ossKey", true, p.oss_key, why) ||
      !read_string(*o, "method", false, p.method, why))
    return fail(bad_response(http_status, "presign: " + why, profile, Op::upload));
  if (p.method.empty()) p.method = "PUT";
  for (char& c : p.method)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (p.method != "PUT")
    return fail(make_error(ErrorClass::permanent, profile, http_status, "bad_response",
                           "presign asks for upload method " + p.method + "; doc 4.1 documents only PUT"));
  return p;
}

HttpRequest build_upload_request(const PresignResult& presign, std::string_view content_type, std::string bytes,
                                 milliseconds timeout) {
  return kit::presigned_upload_request(presign.method.empty() ? "PUT" : presign.method, presign.upload_url,
                                       content_type, std::move(bytes), timeout);
}

std::optional<ProviderError> classify_upload_response(int http_status, std::string_view body,
                                                      const std::string& profile,
                                                      std::optional<milliseconds> retry_after) {
  static constexpr kit::UploadText kText{
      " from the upload URL",
      {"上传签名过期或无效", "the presigned URL expired or was rejected; presigning again"},
      {"上传请求过于频繁", "rate limited"},
      {"上传失败", "storage error; will retry"},
      {"上传被拒绝", "the storage rejected the file"}};
  return kit::classify_upload(http_status, body, profile, retry_after, kText);
}

// ---- submit -------------------------------------------------------------------------------

json::object build_submit_body(const SubmitRequest& req) {
  const JobSpec& s = req.spec;
  json::object body;
  body["prompt"] = s.prompt;
  if (!s.model.empty()) body["model"] = s.model;
  if (s.audio) body["sound"] = *s.audio ? "on" : "off";
  if (s.duration_s) body["duration"] = *s.duration_s;
  if (!s.resolution.empty()) {
    if (auto r = normalize_resolution(s.resolution)) body["resolution"] = *r;
    else body["resolution"] = s.resolution;
  }
  if (!s.aspect_ratio.empty()) body["aspectRatio"] = s.aspect_ratio;
  auto refs = [](const std::vector<ResolvedAsset>& assets) {
    json::array a;
    for (const auto& x : assets) a.push_back(json::object{{"name", x.name}, {"ossKey", x.remote_ref}});
    return a;
  };
  if (!req.images.empty()) body["inputImages"] = refs(req.images);
  if (!req.videos.empty()) body["inputVideos"] = refs(req.videos);
  for (const auto& kv : s.params) body[kv.key()] = kv.value();
  return body;
}

ProviderResult<std::string> parse_submit_response(int http_status, std::string_view body,
                                                  const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::submit);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "success without a result object", profile, Op::submit));
  std::string id, why;
  if (!read_string(*o, "taskId", true, id, why, true))
    return fail(bad_response(http_status, "success but " + why, profile, Op::submit));
  return id;
}

// ---- query, list, balance ------------------------------------------------------------------

RemoteState map_state(std::string_view native) {
  const std::string s = to_lower(trim(native));
  if (s == "queued") return RemoteState::queued;
  if (s == "success") return RemoteState::succeeded;
  if (s == "fail") return RemoteState::failed;
  return RemoteState::running;  // init, uploading, submitted, generating, downloading, and unknown words
}

bool is_documented_state(std::string_view native) {
  static constexpr std::array<std::string_view, 8> kStates{
      "queued", "init", "uploading", "submitted", "generating", "downloading", "success", "fail"};
  const std::string s = to_lower(trim(native));
  return std::find(kStates.begin(), kStates.end(), s) != kStates.end();
}

bool is_retryable_task_error(std::string_view error_code) {
  return error_code == "UPLOAD_FAILED" || error_code == "SUBMIT_FAILED" || error_code == "PIPELINE_TIMEOUT" ||
         error_code == "TRANSFER_FAILED";
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

std::string task_path(std::string_view task_id) {
  return std::string(kTaskPathPrefix) + kit::percent_encode(task_id);
}

std::string task_list_path(int page_no, int page_size) {
  return std::string(kTaskListPath) + "?pageNo=" + std::to_string(page_no) + "&pageSize=" + std::to_string(page_size);
}

ProviderResult<TaskPage> parse_task_list_response(int http_status, std::string_view body,
                                                  const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  return kit::read_result_object<TaskPage>(
      unwrap(http_status, body, profile, retry_after, Op::query), "task list without a result object",
      [&](std::string what) { return bad_response(http_status, what, profile, Op::query); },
      [](const json::object& o) {
        return kit::read_task_page(o, [](const json::value& v) { return task_from_json(v, false); },
                                   /*numeric_string_total=*/true);
      });
}

ProviderResult<Balance> parse_balance_response(int http_status, std::string_view body, const std::string& profile,
                                               std::optional<milliseconds> retry_after) {
  return kit::read_result_object<Balance>(
      unwrap(http_status, body, profile, retry_after, Op::query), "balance without a result object",
      [&](std::string what) { return bad_response(http_status, what, profile, Op::query); },
      [](const json::object& o) { return kit::read_balance(o, "totalCredits", "usedCredits", "remainCredits"); });
}

// ---- errors ----------------------------------------------------------------------------------

ProviderError classify(int http_status, std::string_view code, std::string message, const std::string& profile,
                       std::optional<milliseconds> retry_after) {
  const std::string code_s = code.empty() ? std::string("http") : std::string(code);
  if (http_status == 429) {
    const std::string en = kit::with_retry_after("HTTP 429: rate limited by juhuo", retry_after);
    return make_error(ErrorClass::rate_limited, profile, http_status, code_s, compose(message, "请求过于频繁", en),
                      retry_after);
  }
  if (const kit::CodeInfo* info = kit::find_code(kCodes, code))
    return make_error(info->cls, profile, http_status, code_s, compose(message, info->zh, info->en), retry_after);
  if (!code.empty()) {
    // An undocumented envelope code: its family decides, then the HTTP status.
    const std::string en = "undocumented juhuo code " + std::string(code);
    if (code.front() == '5')
      return make_error(ErrorClass::retryable, profile, http_status, code_s, compose(message, "", en + "; will retry"),
                        retry_after);
    if (code.front() == '4' || !(http_status >= 500 && http_status < 600))
      return make_error(ErrorClass::permanent, profile, http_status, code_s, compose(message, "", en));
    return make_error(ErrorClass::retryable, profile, http_status, code_s, compose(message, "", en + "; will retry"),
                      retry_after);
  }
  // No envelope: the HTTP status decides. `message` is a body excerpt.
  const std::string st = "HTTP " + std::to_string(http_status);
  const std::string body = message.empty() ? "" : "; body: " + message;
  if (http_status == 401 || http_status == 403)
    return make_error(ErrorClass::auth, profile, http_status, code_s,
                      "未授权 (" + st + " without a juhuo envelope: the API key was rejected)" + body);
  if (http_status == 408 || (http_status >= 500 && http_status < 600))
    return make_error(ErrorClass::retryable, profile, http_status, code_s,
                      "服务端错误 (" + st + " without a juhuo envelope: server or gateway error; will retry)" + body,
                      retry_after);
  if (is_2xx(http_status))
    return make_error(ErrorClass::retryable, profile, http_status, "bad_response",
                      "响应无法解析 (" + st + " without a juhuo envelope; will retry)" + body, retry_after);
  return make_error(ErrorClass::permanent, profile, http_status, code_s,
                    "请求被拒绝 (" + st + " without a juhuo envelope: the request was rejected)" + body);
}

const kit::NetErrorMapper from_net_error = &kit::map_net_error<kNetText>;

HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                              std::string body) {
  return kit::json_api_request(profile, std::move(method), path_and_query, std::move(body));
}

// ---- the coroutine adapter -------------------------------------------------------------------

namespace {

class JuhuoProvider final : public kit::AdapterBase {
 public:
  using AdapterBase::AdapterBase;

  std::vector<FieldError> validate(const JobSpec& spec) const override { return juhuo::validate(spec); }

  // Doc 4.1 presign, then doc 4.2 PUT; returns the ossKey.
  awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override {
    auto f = read_upload_file(asset, "juhuo has no audio references", "juhuo's contentType table (doc 4.1)");
    if (!f) co_return fail(f.error());
    auto p = co_await call(build_api_request(profile_, "POST", kPresignPath,
                                             json::serialize(build_presign_body(asset, f->content_type))),
                           kit::Op::upload, &parse_presign_response);
    if (!p) co_return fail(p.error());
    const std::size_t size = f->bytes.size();
    if (auto err = co_await put_upload(
            build_upload_request(*p, f->content_type, std::move(f->bytes), upload_timeout(size)),
            &classify_upload_response))
      co_return fail(std::move(*err));
    log().debug("{}: uploaded {} ({} bytes) as {}", profile_.name, asset.path.filename().string(), size, p->oss_key);
    co_return p->oss_key;
  }

  // Doc 5; returns the taskId.
  awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override {
    auto post = build_api_request(profile_, "POST", kSubmitPath, json::serialize(build_submit_body(req)));
    co_return co_await submit(req, std::move(post), &parse_submit_response);
  }

  // Doc 6.
  awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override {
    if (remote_id.empty()) co_return fail(local("query without a task id"));
    co_return co_await call(build_api_request(profile_, "GET", task_path(remote_id)), kit::Op::query, &parse_task_response);
  }

  bool has_task_list() const override { return true; }

  // Doc 7.
  awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size) override {
    if (page < 1 || page_size < 1) co_return fail(local("task list page and page size count from 1"));
    co_return co_await call(build_api_request(profile_, "GET", task_list_path(page, page_size)), kit::Op::query, &parse_task_list_response);
  }

  // Doc 8.
  bool has_balance() const override { return true; }

  awaitable<ProviderResult<Balance>> async_balance() override {
    co_return co_await call(build_api_request(profile_, "GET", kBalancePath), kit::Op::query, &parse_balance_response);
  }

  // Doc 6 轮询建议: every 5 ~ 10 s.
  // Doc 9.1: failed tasks are not charged; doc 10.3's transient codes may be retried.
  bool is_retryable_failure(const TaskStatus& s) const override {
    return s.state == RemoteState::failed && is_retryable_task_error(s.error_code);
  }

  PollPolicy default_poll() const override {
    return PollPolicy{milliseconds(5000), milliseconds(5000), milliseconds(10000)};
  }

  // Doc 6 / B: outputUrl and coverUrl are signed for 7 days.
  std::chrono::seconds default_url_ttl() const override { return std::chrono::hours(24 * 7); }

  // Signed URLs: no headers (and never the API key: the CDN is another host).
  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override {
    const std::string* url = nullptr;
    if (kind == OutputKind::video) url = &status.video_url;
    if (kind == OutputKind::cover) url = &status.cover_url;
    if (!url || url->empty()) return std::nullopt;
    return DownloadTarget{*url, {}};
  }

};

}  // namespace

std::unique_ptr<Provider> make_juhuo_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<JuhuoProvider>(profile, http, std::move(logger), from_net_error);
}

}  // namespace reelbatch::juhuo
