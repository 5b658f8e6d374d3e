// The juhuo Open API emulator. See emulator.hpp for the behaviour and the
// interpretations of the API document.
#include "providers/juhuo/emulator.hpp"
#include "providers/emulator/module_util.hpp"
#include "providers/emulator/task_store.hpp"
#include "src/core/text.hpp"

#include "src/core/sha256.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

namespace reelbatch::emulator {
namespace json = boost::json;

namespace {

constexpr std::string_view kName = "juhuo";
constexpr std::string_view kPrefix = "/juhuo";

// ---- task states ------------------------------------------------------------

enum class St { queued, init, uploading, submitted, generating, downloading, success, fail };
constexpr StatusNames<St, 8> kStatus{
    "juhuo", {"queued", "init", "uploading", "submitted", "generating", "downloading", "success", "fail"}};

bool is_running(St s) { return s >= St::init && s <= St::downloading; }

struct FailureKind {
  St stage;
  std::string_view code;
  std::string_view message;
};
// doc 10.3, one per running stage.
constexpr std::array<FailureKind, 5> kFailures = {{
    {St::init, "PAYLOAD_PARSE_ERROR", "任务参数解析失败"},
    {St::uploading, "UPLOAD_FAILED", "素材上传至生成平台失败"},
    {St::submitted, "SUBMIT_FAILED", "提交生成平台失败"},
    {St::generating, "PIPELINE_TIMEOUT", "生成超时"},
    {St::downloading, "TRANSFER_FAILED", "结果文件传输失败"},
}};

// ---- document tables ----------------------------------------------------------

struct ContentType {
  std::string_view mime;
  std::array<std::string_view, 2> extensions;
};
constexpr std::array<ContentType, 6> kContentTypes = {{
    {"image/png", {"png", ""}},
    {"image/jpeg", {"jpg", "jpeg"}},
    {"image/webp", {"webp", ""}},
    {"video/mp4", {"mp4", ""}},
    {"video/quicktime", {"mov", ""}},
    {"video/webm", {"webm", ""}},
}};
constexpr std::array<std::string_view, 2> kModels = {"seedance-2.0", "seedance-2.0-fast"};
constexpr std::array<std::string_view, 6> kRatios = {"9:16", "16:9", "3:4", "4:3", "1:1", "21:9"};

const ContentType* find_content_type(std::string_view mime) {
  for (const auto& c : kContentTypes)
    if (c.mime == mime) return &c;
  return nullptr;
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ^[A-Za-z0-9_-]+\.[A-Za-z0-9]+$ (the doc's '.' read as a literal dot).
bool valid_file_name(std::string_view n) {
  const auto dot = n.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == n.size()) return false;
  const auto base = n.substr(0, dot), ext = n.substr(dot + 1);
  return std::all_of(base.begin(), base.end(), [](char c) { return is_alnum(c) || c == '_' || c == '-'; }) &&
         std::all_of(ext.begin(), ext.end(), is_alnum);
}

// "sk-" + exactly 32 [A-Za-z0-9].
bool valid_api_key(std::string_view k) {
  return k.size() == 35 && k.substr(0, 3) == "sk-" && std::all_of(k.begin() + 3, k.end(), is_alnum);
}

// ---- JSON output ------------------------------------------------------------------

// Credit amounts with two decimals, as the doc writes them: 10000.00, 1.15.
void two_decimals(double d, std::string& out) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", d);
  out += buf;
}

Response answer(int http_status, const json::value& v) {
  return json_response(http_status, v, "application/json;charset=UTF-8", two_decimals);
}

Response ok(json::value result) {
  return answer(200, json::object{{"code", "200"}, {"message", "Success"}, {"result", std::move(result)}});
}

// Business errors travel with HTTP 200; system errors with 500/503.
Response error(std::string_view code, std::string message, int http_status = 0) {
  if (http_status == 0) http_status = code == "5000" ? 500 : code == "5003" ? 503 : 200;
  return answer(http_status, json::object{{"code", code}, {"message", std::move(message)}});
}

Response bad_param(std::string detail) { return error("4000", "参数错误:" + std::move(detail)); }
Response unauthorized() { return error("4403", "未授权"); }
Response not_found() { return error("4004", "资源不存在"); }

Response oss_error(int status, std::string_view code, std::string_view message) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>";
  body += code;
  body += "</Code>\n  <Message>";
  body += message;
  body += "</Message>\n  <HostId>oss.juhuo.emulator</HostId>\n</Error>\n";
  return Response(status, "application/xml", std::move(body));
}

// ---- model ---------------------------------------------------------------------

struct Upload {
  std::string content_type;
  std::uint64_t size = 0;
  std::string sha256;
  std::int64_t uploaded_at_ms = 0;
};

struct Account {
  double total = 0;
  double used = 0;
  std::map<std::string, Upload> uploads;  // by ossKey
  std::vector<std::string> tasks;         // ids, oldest first
  std::vector<std::string> running;       // ids in init..downloading
  std::deque<std::string> queued;         // ids, FIFO

  double remain() const { return round2(total - used); }
};

struct Task {
  std::string id;
  std::string account;  // key fingerprint
  std::uint64_t seq = 0;
  std::string prompt, model, sound, aspect;
  int duration = 8;
  int resolution = 480;
  json::array input_images, input_videos;
  St status = St::queued;
  std::int64_t gmt_create = 0;
  std::int64_t stage_start = 0;  // unix ms the current state began
  bool will_fail = false;
  St fail_stage = St::generating;
  std::string fail_code, fail_msg;
  std::string error_code, error_msg;
  double credit_cost = 0;
  std::string video_sha256, cover_sha256;
  std::uint64_t video_bytes = 0, cover_bytes = 0;
};

// The length of the task's current stage (unscaled ms); nullopt when it is not running.
std::optional<std::int64_t> stage_ms(const Task& t) {
  switch (t.status) {
    case St::init: return 2000;
    case St::uploading: return 3000;
    case St::submitted: return 3000;
    case St::generating: return 30000 + 4000 * static_cast<std::int64_t>(t.duration);
    case St::downloading: return 4000;
    default: return std::nullopt;
  }
}

// ---- persisted state ----------------------------------------------------------------

const FieldTable<Upload> kUploadFields{"juhuo",
                                       {field("contentType", &Upload::content_type), field("size", &Upload::size),
                                        field("sha256", &Upload::sha256), field("uploadedAt", &Upload::uploaded_at_ms)}};

FieldTable<Task> task_fields() {
  return {"juhuo",
          {field("taskId", &Task::id),
           field("account", &Task::account),
           field("seq", &Task::seq),
           field("prompt", &Task::prompt),
           field("model", &Task::model),
           field("sound", &Task::sound),
           field("aspectRatio", &Task::aspect),
           field("duration", &Task::duration),
           field("resolution", &Task::resolution),
           field("inputImages", &Task::input_images),
           field("inputVideos", &Task::input_videos),
           field("status", &Task::status, kStatus),
           field("gmtCreate", &Task::gmt_create),
           field("stageStart", &Task::stage_start),
           field("willFail", &Task::will_fail),
           field("failStage", &Task::fail_stage, kStatus),
           field("failCode", &Task::fail_code),
           field("failMsg", &Task::fail_msg),
           field("errorCode", &Task::error_code),
           field("errorMsg", &Task::error_msg),
           field("creditCost", &Task::credit_cost),
           field("videoSha256", &Task::video_sha256),
           field("videoBytes", &Task::video_bytes),
           field("coverSha256", &Task::cover_sha256),
           field("coverBytes", &Task::cover_bytes)}};
}

constexpr StateReader kState{"juhuo"};  // account fields

// ---- the module -------------------------------------------------------------------

class JuhuoModule final : public ModuleBase {
 public:
  explicit JuhuoModule(Services s) : ModuleBase(std::move(s)) {}

  std::string name() const override { return std::string(kName); }

  Response internal_error() override { return error("5000", "服务器内部错误"); }

  bool busy() const override {
    std::lock_guard lk(mu_);
    for (const auto& [fp, a] : accounts_)
      if (!a.running.empty() || (!a.queued.empty() && a.remain() > 0)) return true;
    return false;
  }

  json::value save() const override {
    std::lock_guard lk(mu_);
    json::object accounts;
    for (const auto& [fp, a] : accounts_)
      accounts[fp] = json::object{
          {"totalCredits", a.total}, {"usedCredits", a.used}, {"uploads", save_map(a.uploads, kUploadFields)}};
    return tasks_.save({{"accounts", std::move(accounts)}});
  }

  void load(const json::value& state) override {
    std::lock_guard lk(mu_);
    const auto& o = state.as_object();
    accounts_.clear();
    for (const auto& kv : kState.at(o, "accounts").as_object()) {
      const auto& ao = kv.value().as_object();
      Account a;
      a.total = kState.dbl(ao, "totalCredits");
      a.used = kState.dbl(ao, "usedCredits");
      load_map(kState.at(ao, "uploads"), a.uploads, kUploadFields);
      accounts_[std::string(kv.key())] = std::move(a);
    }
    tasks_.load(o, [&](const Task& t) {
      Account& a = account(t.account);
      a.tasks.push_back(t.id);  // the array is in seq order
      if (is_running(t.status)) a.running.push_back(t.id);
      if (t.status == St::queued) a.queued.push_back(t.id);
    });
  }

 private:
  // ---- routing ----

  Response route(const Request& req, std::string_view path) override {
    if (path.starts_with("/oss/")) return oss(req, path.substr(5));
    if (path.starts_with("/cdn/output/")) return cdn(req, path.substr(12));
    constexpr std::string_view api = "/open-api/v1";
    if (!path.starts_with(api)) return error("4004", "资源不存在", 404);
    const std::string_view p = path.substr(api.size());
    auto bind = [this](auto fn) {
      return [this, fn](const Request& r, const std::string& fp) { return (this->*fn)(r, fp); };
    };
    if (p == "/upload/presign") return need(req, "POST", false, bind(&JuhuoModule::presign));
    if (p == "/video/submit") return need(req, "POST", true, bind(&JuhuoModule::submit));
    if (p == "/video/tasks") return need(req, "GET", false, bind(&JuhuoModule::list));
    if (p == "/account/balance") return need(req, "GET", false, bind(&JuhuoModule::balance));
    if (p.starts_with("/video/task/") && p.size() > 12 && p.find('/', 12) == std::string_view::npos) {
      const std::string id = percent_decode(p.substr(12));
      return need(req, "GET", false, [&](const Request& r, const std::string& fp) { return query(r, fp, id); });
    }
    return error("4004", "资源不存在", 404);
  }

  // Checks the method and the API key, then calls `f(req, fingerprint)`.
  // `submit`: a rejection counts as a rejected submit.
  template <class F>
  Response need(const Request& req, std::string_view method, bool submit, F&& f) {
    if (!method_is(req, method)) {
      if (submit) s_.count_rejected_submit();
      return error("4000", "参数错误:该接口仅支持" + std::string(method) + "请求", 405);
    }
    const std::string auth = req.header("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (!std::string_view(auth).starts_with(bearer) || !valid_api_key(std::string_view(auth).substr(bearer.size()))) {
      if (submit) s_.count_rejected_submit();
      return unauthorized();
    }
    const std::string fp = key_fingerprint(std::string_view(auth).substr(bearer.size()));
    account(fp);  // an account per key, created on first use
    return f(req, fp);
  }

  Account& account(const std::string& fp) {
    auto it = accounts_.find(fp);
    if (it != accounts_.end()) return it->second;
    Account a;
    a.total = round2(s_.options->juhuo_credits);
    s_.state_changed();
    return accounts_.emplace(fp, std::move(a)).first->second;
  }

  // ---- presign + PUT ----

  Response presign(const Request& req, const std::string& fp) {
    auto body = parse_json_object(req.body);
    if (!body) return bad_param("请求体不是合法的JSON对象");
    const json::value* fn = body->if_contains("fileName");
    if (!fn || fn->is_null() || (fn->is_string() && fn->get_string().empty())) return bad_param("fileName不能为空");
    if (!fn->is_string()) return bad_param("fileName必须为字符串");
    const std::string file_name(fn->get_string());
    if (file_name.size() > 128) return bad_param("fileName长度不能超过128个字符");
    if (!valid_file_name(file_name))
      return bad_param("fileName格式不正确,仅允许英文字母、数字、下划线、短横线和一个点号,如 scene1.png");
    const json::value* ct = body->if_contains("contentType");
    if (!ct || ct->is_null() || (ct->is_string() && ct->get_string().empty())) return bad_param("contentType不能为空");
    const ContentType* type = ct->is_string() ? find_content_type(ct->get_string()) : nullptr;
    if (!type)
      return bad_param(
          "contentType不支持,可选值为image/png、image/jpeg、image/webp、video/mp4、video/quicktime、video/webm");
    const std::string ext = to_lower(file_name.substr(file_name.find('.') + 1));
    if (std::find(type->extensions.begin(), type->extensions.end(), ext) == type->extensions.end() || ext.empty())
      return bad_param("文件扩展名与contentType不匹配:" + std::string(type->mime) + "对应的扩展名为" +
                       std::string(type->extensions[0]) +
                       (type->extensions[1].empty() ? "" : "、" + std::string(type->extensions[1])));

    const std::string oss_key = "api/user" + fp + "/upload/" + file_name;
    const std::string path = std::string(kPrefix) + "/oss/" + oss_key;
    const std::int64_t expires = s_.now_s() + s_.options->upload_url_ttl.count();
    const std::string sig = s_.signer->token(path, expires, "PUT\n" + std::string(type->mime));
    const std::string url = "http://" + req.authority() + path + "?signature=" + sig + "&expires=" + std::to_string(expires);
    return ok(json::object{{"uploadUrl", url}, {"ossKey", oss_key}, {"method", "PUT"}});
  }

  Response oss(const Request& req, std::string_view key) {
    if (req.method != "PUT") {
      Response r = oss_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
      r.set("Allow", "PUT");
      return r;
    }
    const std::string path(req.path());
    const auto expires = req.query_param("expires");
    const auto signature = req.query_param("signature");
    const std::string got_type = req.header("Content-Type");
    const auto verdict = s_.signer->verify(path, expires, signature, s_.now_s(), "PUT\n" + got_type);
    if (verdict != UrlSigner::Verdict::ok) {
      if (verdict == UrlSigner::Verdict::bad_token) {
        // Which type was presigned? Name it, like OSS's StringToSign hint.
        for (const auto& c : kContentTypes) {
          const auto v2 = s_.signer->verify(path, expires, signature, s_.now_s(), "PUT\n" + std::string(c.mime));
          if (v2 == UrlSigner::Verdict::ok || v2 == UrlSigner::Verdict::expired)
            return oss_error(403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature you provided: "
                             "Content-Type '" + got_type + "' differs from the presigned '" + std::string(c.mime) +
                                 "'.");
        }
        return oss_error(403, "SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature you provided.");
      }
      if (verdict == UrlSigner::Verdict::expired) return oss_error(403, "AccessDenied", "Request has expired.");
      return oss_error(403, "AccessDenied", "Invalid or missing signature/expires parameters.");
    }
    // api/user<fp>/upload/<fileName>
    constexpr std::string_view head = "api/user";
    const auto slash = key.find('/', head.size());
    if (!key.starts_with(head) || slash == std::string_view::npos || !key.substr(slash).starts_with("/upload/"))
      return oss_error(400, "InvalidObjectName", "The object name is invalid.");
    const std::string fp(key.substr(head.size(), slash - head.size()));
    Account& a = account(fp);
    a.uploads[std::string(key)] = Upload{got_type, req.body.size(), sha256_hex(req.body), s_.now_ms()};
    s_.state_changed();
    Response r(200, "", "");
    r.set("ETag", "\"" + a.uploads[std::string(key)].sha256 + "\"");
    return r;
  }

  // ---- submit ----

  Response submit(const Request& req, const std::string& fp) {
    return count_rejected(s_, tasks_, [&] { return submit_checked(req, fp); });
  }

  // Validates inputImages / inputVideos; fills `out` and `names`.
  std::optional<Response> check_inputs(const json::object& body, std::string_view field, std::string_view kind,
                                       const Account& acc, json::array& out, std::set<std::string>& names) {
    const json::value* v = body.if_contains(field);
    if (!v || v->is_null()) return std::nullopt;
    const std::string f(field);
    if (!v->is_array()) return bad_param(f + "必须为数组");
    const auto& arr = v->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string at_i = f + "[" + std::to_string(i) + "]";
      if (!arr[i].is_object()) return bad_param(at_i + "必须为对象{name, ossKey}");
      const auto& e = arr[i].get_object();
      const json::value* name = e.if_contains("name");
      if (!name || !name->is_string() || name->get_string().empty()) return bad_param(at_i + ".name不能为空");
      const json::value* key = e.if_contains("ossKey");
      if (!key || !key->is_string() || key->get_string().empty()) return bad_param(at_i + ".ossKey不能为空");
      const std::string n(name->get_string()), k(key->get_string());
      if (!names.insert(n).second) return bad_param("素材名称重复:" + n);
      auto up = acc.uploads.find(k);
      if (up == acc.uploads.end()) return bad_param(at_i + ".ossKey不存在或未上传完成:" + k);
      if (!up->second.content_type.starts_with(std::string(kind) + "/"))
        return bad_param(at_i + ".ossKey不是" + (kind == "image" ? std::string("图片") : std::string("视频")) +
                         "文件(" + up->second.content_type + ")");
      out.push_back(json::object{{"name", n}, {"ossKey", k}});
    }
    return std::nullopt;
  }

  Response submit_checked(const Request& req, const std::string& fp) {
    auto parsed = parse_json_object(req.body);
    if (!parsed) return bad_param("请求体不是合法的JSON对象");
    const json::object& body = *parsed;
    Account& acc = account(fp);
    Task t;

    const json::value* prompt = body.if_contains("prompt");
    if (!prompt || prompt->is_null()) return bad_param("prompt不能为空");
    if (!prompt->is_string()) return bad_param("prompt必须为字符串");
    t.prompt = std::string(prompt->get_string());
    if (t.prompt.find_first_not_of(" \t\r\n") == std::string::npos) return bad_param("prompt不能为空");

    auto opt_string = [&](std::string_view field, std::string_view def, auto&& allowed,
                          std::string_view allowed_text, std::string& out) -> std::optional<Response> {
      const json::value* v = body.if_contains(field);
      if (!v || v->is_null()) {
        out = def;
        return std::nullopt;
      }
      if (!v->is_string() || std::find(allowed.begin(), allowed.end(), std::string_view(v->get_string())) == allowed.end())
        return bad_param(std::string(field) + "可选值为" + std::string(allowed_text));
      out = std::string(v->get_string());
      return std::nullopt;
    };
    if (auto e = opt_string("model", "seedance-2.0", kModels, "seedance-2.0、seedance-2.0-fast", t.model)) return *e;
    constexpr std::array<std::string_view, 2> sounds = {"on", "off"};
    if (auto e = opt_string("sound", "on", sounds, "on、off", t.sound)) return *e;

    auto opt_int = [&](std::string_view field, int def) -> std::optional<std::int64_t> {
      const json::value* v = body.if_contains(field);
      if (!v || v->is_null()) return def;
      if (v->is_int64()) return v->get_int64();
      if (v->is_uint64()) return v->get_uint64() > 1000000 ? 1000000 : static_cast<std::int64_t>(v->get_uint64());
      return std::nullopt;
    };
    {
      const auto d = opt_int("duration", 8);
      if (!d) return bad_param("duration必须为整数,范围为4-15");
      if (*d < 4 || *d > 15) return bad_param("duration范围为4-15");
      t.duration = static_cast<int>(*d);
    }
    {
      const auto r = opt_int("resolution", 480);
      if (!r || (*r != 480 && *r != 720)) return bad_param("resolution可选值为480、720");
      t.resolution = static_cast<int>(*r);
    }
    if (auto e = opt_string("aspectRatio", "9:16", kRatios, "9:16、16:9、3:4、4:3、1:1、21:9", t.aspect)) return *e;

    std::set<std::string> names;
    if (auto e = check_inputs(body, "inputImages", "image", acc, t.input_images, names)) return *e;
    if (auto e = check_inputs(body, "inputVideos", "video", acc, t.input_videos, names)) return *e;
    // Every <<<name>>> must be declared.
    for (std::size_t pos = t.prompt.find("<<<"); pos != std::string::npos; pos = t.prompt.find("<<<", pos)) {
      const auto end = t.prompt.find(">>>", pos + 3);
      if (end == std::string::npos) break;
      const std::string ref = t.prompt.substr(pos + 3, end - pos - 3);
      if (!names.count(ref)) return bad_param("prompt中引用的素材<<<" + ref + ">>>未在inputImages或inputVideos中声明");
      pos = end + 3;
    }

    if (acc.remain() <= 0) return error("4003", "积分余额不足");

    // Accepted.
    const std::int64_t now = s_.now_ms();
    t.id = tasks_.new_id([&] { return "gen_" + random_hex(rng_, 12); });
    t.account = fp;
    t.seq = tasks_.next_seq();
    t.gmt_create = now;
    t.stage_start = now;
    t.status = St::queued;
    if (const auto kind = draw_failure(s_, t.seq, "", kFailures.size())) {
      const auto& k = kFailures[*kind];
      t.will_fail = true;
      t.fail_stage = k.stage;
      t.fail_code = std::string(k.code);
      t.fail_msg = std::string(k.message);
    }
    Submission sub =
        make_submission(kName, t.id, fp, req.body, now, juhuo_video_bytes(t.id, t.prompt), juhuo_cover_bytes(t.id));
    t.video_sha256 = sub.video_sha256;
    t.video_bytes = sub.video_bytes;
    t.cover_sha256 = sub.cover_sha256;
    t.cover_bytes = sub.cover_bytes;

    acc.tasks.push_back(t.id);
    acc.queued.push_back(t.id);
    const std::string id = t.id;
    s_.log->info("juhuo emulator: task {} submitted (account {}, {} s, {}p, {}{})", id, fp, t.duration, t.resolution,
                 t.model, t.will_fail ? ", will fail " + t.fail_code : "");
    tasks_.insert(std::move(t));
    promote(acc, now);
    announce_submission(s_, std::move(sub));
    return ok(json::object{{"taskId", id}});
  }

  // ---- queries ----

  json::object task_json(const Request& req, const Task& t) const {
    std::string output_url, cover_url;
    if (t.status == St::success) {
      output_url = signed_cdn_url(req, t.id + ".mp4");
      cover_url = signed_cdn_url(req, t.id + ".jpg");
    }
    return json::object{
        {"taskId", t.id},
        {"status", kStatus(t.status)},
        {"outputUrl", output_url},
        {"coverUrl", cover_url},
        {"errorCode", t.status == St::fail ? t.error_code : std::string()},
        {"errorMsg", t.status == St::fail ? t.error_msg : std::string()},
        {"creditCost", t.status == St::success ? t.credit_cost : 0.0},
        {"gmtCreate", t.gmt_create},
    };
  }

  std::string signed_cdn_url(const Request& req, const std::string& file) const {
    const std::string path = std::string(kPrefix) + "/cdn/output/" + file;
    const std::int64_t expires = s_.now_s() + s_.options->url_ttl.count();
    return signed_url(s_, req.authority(), path, expires);
  }

  Response query(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return not_found();
    return ok(task_json(req, *t));
  }

  static std::optional<std::int64_t> positive_param(const Request& req, std::string_view name, std::int64_t def) {
    const auto n = decimal_query_param(req, name, def);
    if (!n || *n < 1) return std::nullopt;
    return n;
  }

  Response list(const Request& req, const std::string& fp) {
    const auto page_no = positive_param(req, "pageNo", 1);
    if (!page_no) return bad_param("pageNo必须为正整数");
    const auto page_size = positive_param(req, "pageSize", 20);
    if (!page_size) return bad_param("pageSize必须为正整数");
    const Account& acc = accounts_.at(fp);
    const auto total = static_cast<std::int64_t>(acc.tasks.size());
    json::array data;
    const std::int64_t skip = (*page_no - 1) * *page_size;
    for (std::int64_t i = total - 1 - skip; i >= 0 && static_cast<std::int64_t>(data.size()) < *page_size; --i)
      data.push_back(task_json(req, tasks_.at(acc.tasks[static_cast<std::size_t>(i)])));
    return ok(json::object{{"data", std::move(data)}, {"total", total}, {"pageNo", *page_no}, {"pageSize", *page_size}});
  }

  Response balance(const Request&, const std::string& fp) {
    const Account& acc = accounts_.at(fp);
    return ok(json::object{{"totalCredits", acc.total}, {"usedCredits", acc.used}, {"remainCredits", acc.remain()}});
  }

  // ---- CDN ----

  Response cdn(const Request& req, std::string_view file) {
    if (auto refused = check_signed_download(req, s_)) return *refused;
    const bool video = file.ends_with(".mp4");
    if (!video && !file.ends_with(".jpg")) return plain_not_found();
    const std::string id(file.substr(0, file.size() - 4));
    const Task* found = tasks_.find(id);
    if (!found || found->status != St::success) return plain_not_found();
    const Task& t = *found;
    if (video) return serve_bytes(req, juhuo_video_bytes(t.id, t.prompt), "video/mp4", t.video_sha256);
    return serve_bytes(req, juhuo_cover_bytes(t.id), "image/jpeg", t.cover_sha256);
  }

  // ---- time ----

  // Moves every running task through the stages that ended by `now`, then
  // starts queued tasks where the account has free slots.
  void advance(std::int64_t now) override {
    bool changed = false;
    for (auto& [fp, acc] : accounts_) {
      if (acc.running.empty() && acc.queued.empty()) continue;
      for (auto it = acc.running.begin(); it != acc.running.end();) {
        Task& t = tasks_.at(*it);
        changed |= advance_task(acc, t, now);
        it = is_running(t.status) ? it + 1 : acc.running.erase(it);
      }
      changed |= promote(acc, now);
    }
    if (changed) s_.state_changed();
  }

  bool advance_task(Account& acc, Task& t, std::int64_t now) {
    if (s_.stuck(kName, t.id)) return false;  // fault never_finish: stays where it is
    return advance_stages(s_, t.stage_start, now, [&] { return stage_ms(t); }, [&](std::int64_t) {
      if (t.will_fail && t.fail_stage == t.status) {
        t.status = St::fail;
        t.error_code = t.fail_code;
        t.error_msg = t.fail_msg;
        s_.log->info("juhuo emulator: task {} failed: {}", t.id, t.error_code);
        return;
      }
      t.status = static_cast<St>(static_cast<int>(t.status) + 1);
      if (t.status == St::success) {
        t.credit_cost = juhuo_credit_cost(t.model, t.resolution, t.duration);
        acc.used = round2(acc.used + t.credit_cost);
        s_.log->info("juhuo emulator: task {} succeeded, {:.2f} credits", t.id, t.credit_cost);
      }
    });
  }

  bool promote(Account& acc, std::int64_t now) {
    bool changed = false;
    const auto cap = static_cast<std::size_t>(std::max(1, s_.options->juhuo_concurrency));
    while (!acc.queued.empty() && acc.running.size() < cap && acc.remain() > 0) {
      Task& t = tasks_.at(acc.queued.front());
      acc.queued.pop_front();
      t.status = St::init;
      t.stage_start = now;
      acc.running.push_back(t.id);
      changed = true;
    }
    return changed;
  }

  std::map<std::string, Account> accounts_;  // by key fingerprint
  TaskStore<Task> tasks_{task_fields()};    // by task id
};

}  // namespace

std::unique_ptr<Module> make_juhuo_module(Services services) {
  return std::make_unique<JuhuoModule>(std::move(services));
}

double juhuo_credit_cost(std::string_view model, int resolution, int duration) {
  double per_second = resolution >= 720 ? 0.20 : 0.10;
  if (model == "seedance-2.0-fast") per_second *= 0.8;
  return round2(per_second * duration * 1.15);
}

std::string juhuo_video_bytes(std::string_view task_id, std::string_view prompt) {
  return mp4_with_free_box("reelbatch juhuo emulator\ntaskId=" + std::string(task_id) + "\nprompt=" + std::string(prompt) +
                           "\n");
}

std::string juhuo_cover_bytes(std::string_view task_id) {
  return jpeg_with_comment("reelbatch juhuo emulator taskId=" + std::string(task_id));
}

}  // namespace reelbatch::emulator
