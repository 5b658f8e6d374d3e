// The OpenAI-compatible /v1/videos emulator. See emulator.hpp for the
// behaviour and the interpretations of the API document.
#include "providers/openai/emulator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

#include "providers/emulator/module_util.hpp"
#include "providers/emulator/task_store.hpp"
#include "src/core/sha256.hpp"
#include "src/core/text.hpp"

namespace reelbatch::emulator {
namespace json = boost::json;

namespace {

constexpr std::string_view kName = "openai";
constexpr std::string_view kPrefix = "/openai";
constexpr std::int64_t kQueuedMs = 3000;
constexpr std::int64_t kRunBaseMs = 20000;
constexpr std::int64_t kRunPerSecondMs = 2000;
constexpr int kDefaultDuration = 5;  // doc step 1: duration 默认 5
constexpr std::string_view kDefaultSize = "1280x720";

// ---- response shapes per model (see emulator.hpp) ------------------------------------

enum class Submit { doc, openai_object, task_id_only };
enum class UrlKind { files, cdn };

struct UrlField {
  std::string_view field;  // "data[0].url", "data.result_url", or a top-level key
  UrlKind kind;
};

struct Shape {
  std::string_view model;
  std::string_view owned_by;
  Submit submit;
  std::array<std::string_view, 3> words;  // queued, running, done
  std::array<UrlField, 2> urls;           // empty field: unused
};

constexpr std::array<Shape, 6> kShapes{{
    {"sora-2",
     "openai",
     Submit::openai_object,
     {"queued", "in_progress", "completed"},
     {{{"", UrlKind::files}, {"", UrlKind::files}}}},
    {"sora-2-pro",
     "openai",
     Submit::doc,
     {"queued", "processing", "success"},
     {{{"video_url", UrlKind::cdn}, {"download_url", UrlKind::files}}}},
    {"veo_3_1-fast",
     "google",
     Submit::doc,
     {"pending", "processing", "succeeded"},
     {{{"data[0].url", UrlKind::files}, {"url", UrlKind::cdn}}}},
    {"veo_3_1-fast-hd",
     "google",
     Submit::doc,
     {"queued", "in_progress", "completed"},
     {{{"data.result_url", UrlKind::cdn}, {"", UrlKind::files}}}},
    {"veo_3_1-fast-fl",
     "google",
     Submit::doc,
     {"pending", "unknown", "unknown"},
     {{{"result_url", UrlKind::cdn}, {"output_url", UrlKind::files}}}},
    {"veo_3_1-fast-fl-hd",
     "google",
     Submit::task_id_only,
     {"queued", "processing", "completed"},
     {{{"url", UrlKind::files}, {"output_url", UrlKind::cdn}}}},
}};

const Shape* shape_of(std::string_view model) {
  for (const auto& s : kShapes)
    if (s.model == model) return &s;
  return nullptr;
}

// The emulator's own states; each model's Shape::words say how they are shown.
enum class St { queued, running, done, failed };
constexpr StatusNames<St, 4> kStatus{"openai", {"queued", "running", "done", "failed"}};

struct FailureKind {
  std::string_view code, message;
};
constexpr std::array<FailureKind, 2> kFailures{{
    {"moderation_blocked", "提示词触发内容审核 (Your request was blocked by our moderation system.)"},
    {"generation_failed", "视频生成失败 (the upstream generation failed)"},
}};

// ---- responses ---------------------------------------------------------------------------

Response api_error(int status, std::string message, std::string_view type, std::string_view code,
                   std::string_view param = {}) {
  json::object e{{"message", std::move(message)},
                 {"type", type},
                 {"param", param.empty() ? json::value(nullptr) : json::value(param)},
                 {"code", code.empty() ? json::value(nullptr) : json::value(code)}};
  return json_response(status, json::object{{"error", std::move(e)}});
}

Response bad_request(std::string message, std::string_view param, std::string_view code = "invalid_value") {
  return api_error(400, std::move(message), "invalid_request_error", code, param);
}

Response not_found(std::string message) {
  return api_error(404, std::move(message), "invalid_request_error", "not_found");
}

// ---- multipart/form-data (RFC 7578) -------------------------------------------------------

struct Part {
  std::string name, filename, content_type, data;
  bool is_file = false;
};

// The value of parameter `key` in a header value like `form-data; name="x"`.
std::optional<std::string> header_param(std::string_view value, std::string_view key) {
  std::size_t pos = 0;
  while (pos < value.size()) {
    auto semi = value.find(';', pos);
    std::string_view item = value.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    pos = semi == std::string_view::npos ? value.size() : semi + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(item.substr(0, eq), key)) continue;
    std::string_view v = item.substr(eq + 1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

std::optional<std::vector<Part>> parse_multipart(std::string_view content_type, std::string_view body) {
  const auto boundary = header_param(content_type, "boundary");
  if (!boundary || boundary->empty()) return std::nullopt;
  const std::string delim = "--" + *boundary;
  std::size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += delim.size();
  std::vector<Part> parts;
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;
    if (body.substr(pos, 2) != "\r\n") return std::nullopt;
    pos += 2;
    const auto header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos) return std::nullopt;
    Part p;
    std::string_view headers = body.substr(pos, header_end - pos);
    while (!headers.empty()) {
      const auto eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (iequals(line.substr(0, colon), "Content-Disposition")) {
        p.name = header_param(v, "name").value_or("");
        if (auto f = header_param(v, "filename")) {
          p.filename = *f;
          p.is_file = true;
        }
      } else if (iequals(line.substr(0, colon), "Content-Type")) {
        p.content_type = std::string(v);
      }
    }
    const std::size_t start = header_end + 4;
    const auto next = body.find("\r\n" + delim, start);
    if (next == std::string_view::npos) return std::nullopt;
    p.data = std::string(body.substr(start, next - start));
    parts.push_back(std::move(p));
    pos = next + 2 + delim.size();
  }
}

// ---- model ---------------------------------------------------------------------------------

struct Task {
  std::string id;
  std::string account;  // key fingerprint
  std::uint64_t seq = 0;
  std::string model, prompt, size;
  int duration = kDefaultDuration;
  bool seconds_given = false;
  std::optional<std::int64_t> seed;
  St status = St::queued;
  std::int64_t created_ms = 0;
  std::int64_t stage_start = 0;
  std::int64_t completed_ms = 0;
  bool will_fail = false;
  std::string fail_code, fail_msg;
  std::string video_sha256;
  std::uint64_t video_bytes = 0;
};

std::int64_t run_ms(const Task& t) {
  return kRunBaseMs + kRunPerSecondMs * static_cast<std::int64_t>(std::min(t.duration, 120));
}

// The length of the task's current stage (unscaled ms); nullopt once it is finished.
std::optional<std::int64_t> stage_ms(const Task& t) {
  if (t.status == St::queued) return kQueuedMs;
  if (t.status == St::running) return run_ms(t);
  return std::nullopt;
}

// The model is checked too: a task of an unknown model cannot be shown.
void check_model(std::string& model, const boost::json::value& v) {
  state_assign(model, v);
  if (!shape_of(model)) throw std::runtime_error("openai state: unknown model " + model);
}

FieldTable<Task> task_fields() {
  return {"openai",
          {field("id", &Task::id),
           field("account", &Task::account),
           field("seq", &Task::seq),
           {"model", [](const Task& t) { return state_value(t.model); },
            [](Task& t, const boost::json::value& v) { check_model(t.model, v); }},
           field("prompt", &Task::prompt),
           field("size", &Task::size),
           field("duration", &Task::duration),
           field("secondsGiven", &Task::seconds_given),
           field("seed", &Task::seed),
           field("status", &Task::status, kStatus),
           field("createdMs", &Task::created_ms),
           field("stageStart", &Task::stage_start),
           field("completedMs", &Task::completed_ms),
           field("willFail", &Task::will_fail),
           field("failCode", &Task::fail_code),
           field("failMsg", &Task::fail_msg),
           field("videoSha256", &Task::video_sha256),
           field("videoBytes", &Task::video_bytes)}};
}

bool is_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_size(std::string_view s) {
  const auto x = s.find('x');
  if (x == std::string_view::npos) return false;
  const auto w = s.substr(0, x), h = s.substr(x + 1);
  return is_digits(w) && is_digits(h) && w.size() <= 5 && h.size() <= 5 && std::stoi(std::string(w)) > 0 &&
         std::stoi(std::string(h)) > 0;
}

std::optional<std::string> image_type(const Part& p) {
  std::string ct = to_lower(p.content_type);
  if (auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
  if (ct == "image/jpeg" || ct == "image/png" || ct == "image/webp") return ct;
  if (!ct.empty() && ct != "application/octet-stream") return std::nullopt;
  const std::string name = to_lower(p.filename);
  auto ends = [&](std::string_view e) { return name.size() >= e.size() && name.ends_with(e); };
  if (ends(".jpg") || ends(".jpeg")) return "image/jpeg";
  if (ends(".png")) return "image/png";
  if (ends(".webp")) return "image/webp";
  return std::nullopt;
}

// ---- the module ---------------------------------------------------------------------------------

class OpenAiModule final : public ModuleBase {
 public:
  explicit OpenAiModule(Services s) : ModuleBase(std::move(s)) {}

  std::string name() const override { return std::string(kName); }

  Response internal_error() override { return api_error(500, "The server had an error while processing your request.", "server_error", ""); }

  bool busy() const override {
    std::lock_guard lk(mu_);
    return tasks_.any_of([](const Task& t) { return t.status == St::queued || t.status == St::running; });
  }

  json::value save() const override {
    std::lock_guard lk(mu_);
    return tasks_.save();
  }

  void load(const json::value& state) override {
    std::lock_guard lk(mu_);
    tasks_.load(state.as_object(), [](const Task&) {});
  }

 private:
  // ---- routing ----

  Response route(const Request& req, std::string_view path) override {
    if (path.starts_with("/cdn/")) return cdn(req, path.substr(5));
    // Method check first (405), then auth (401 for the API, 403 for downloads).
    const bool get = req.method == "GET" || req.method == "HEAD";
    auto wrong_method = [&](std::string_view allowed) {
      Response r = api_error(
          405,
          "Method " + req.method + " not allowed for " + std::string(path) + " (allowed: " + std::string(allowed) + ")",
          "invalid_request_error", "method_not_allowed");
      r.set("Allow", std::string(allowed));
      return r;
    };
    if (path == "/v1/videos") {
      if (req.method != "POST") {
        s_.count_rejected_submit();
        return wrong_method("POST");
      }
      const auto fp = api_key(req);
      if (!fp) {
        s_.count_rejected_submit();
        return unauthorized();
      }
      return count_rejected(s_, tasks_, [&] { return submit(req, *fp); });
    }
    if (path == "/v1/models") {
      if (!get) return wrong_method("GET, HEAD");
      if (!api_key(req)) return unauthorized();
      return models();
    }
    constexpr std::string_view videos = "/v1/videos/";
    if (path.starts_with(videos)) {
      std::string_view rest = path.substr(videos.size());
      bool content = false;
      if (rest.ends_with("/content")) {
        rest.remove_suffix(8);
        content = true;
      }
      if (!rest.empty() && rest.find('/') == std::string_view::npos) {
        if (!get) return wrong_method("GET, HEAD");
        const std::string id = percent_decode(rest);
        const auto fp = api_key(req);
        if (content) return fp ? content_of(req, *fp, id) : forbidden();
        if (!fp) return unauthorized();
        return query(req, *fp, id);
      }
    }
    constexpr std::string_view files = "/v1/files/";
    if (path.starts_with(files) && path.ends_with(".mp4")) {
      if (!get) return wrong_method("GET, HEAD");
      const auto fp = api_key(req);
      if (!fp) return forbidden();
      const std::string id = percent_decode(path.substr(files.size(), path.size() - files.size() - 4));
      const Task* t = tasks_.owned(*fp, id);
      if (!t || t->status != St::done) return not_found("No such file: " + std::string(path));
      return serve_bytes(req, openai_video_bytes(t->id, t->prompt), "video/mp4", t->video_sha256);
    }
    return api_error(404, "Invalid URL (" + req.method + " " + std::string(path) + ")", "invalid_request_error", "");
  }

  // The key's fingerprint for "Authorization: Bearer <non-empty key>".
  static std::optional<std::string> api_key(const Request& req) {
    const std::string auth = req.header("Authorization");
    const auto key = bearer_key(auth);
    if (!key) return std::nullopt;
    return key_fingerprint(*key);
  }

  static Response unauthorized() {
    return api_error(401,
                     "You didn't provide an API key. You need to provide your API key in an Authorization header "
                     "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                     "invalid_request_error", "invalid_api_key");
  }

  static Response forbidden() {
    return api_error(403, "下载链接需要带 Authorization: Bearer <API 令牌> (downloads need the Authorization header)",
                     "invalid_request_error", "forbidden");
  }

  // ---- submit ----

  Response submit(const Request& req, const std::string& fp) {
    const std::string ct = to_lower(req.header("Content-Type"));
    json::object fields;  // the request's fields (JSON values)
    json::object record;  // what the submission record shows
    std::optional<Part> reference;
    bool multipart = false;
    if (ct.starts_with("multipart/form-data")) {
      multipart = true;
      auto parts = parse_multipart(req.header("Content-Type"), req.body);
      if (!parts) return bad_request("Could not parse the multipart/form-data body", "");
      for (auto& p : *parts) {
        if (p.is_file) {
          if (p.name != "input_reference") continue;  // unknown file fields are ignored
          if (reference) return bad_request("input_reference: one file only", "input_reference");
          reference = std::move(p);
          continue;
        }
        fields[p.name] = p.data;
        record[p.name] = p.data;
      }
    } else if (ct.empty() || ct.starts_with("application/json")) {
      boost::system::error_code ec;
      json::value v = json::parse(req.body, ec);
      if (ec || !v.is_object())
        return bad_request("We could not parse the JSON body of your request. (请求体不是合法的 JSON 对象)", "");
      fields = std::move(v.as_object());
    } else {
      return bad_request(
          "Unsupported Content-Type '" + req.header("Content-Type") + "': use application/json or multipart/form-data",
          "");
    }

    Task t;
    // model
    const json::value* model = fields.if_contains("model");
    if (!model || model->is_null() || (model->is_string() && model->get_string().empty()))
      return bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter");
    if (!model->is_string()) return bad_request("Invalid type for 'model': expected a string.", "model");
    t.model = std::string(model->get_string());
    const Shape* shape = shape_of(t.model);
    if (!shape) {
      std::string list;
      for (const auto& s : kShapes) list += (list.empty() ? "" : ", ") + std::string(s.model);
      return bad_request(
          "The model '" + t.model + "' does not exist (模型 ID 拼写错; GET /v1/models lists: " + list + ")", "model",
          "model_not_found");
    }
    // prompt
    const json::value* prompt = fields.if_contains("prompt");
    if (!prompt || prompt->is_null())
      return bad_request("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
    if (!prompt->is_string()) return bad_request("Invalid type for 'prompt': expected a string.", "prompt");
    t.prompt = std::string(prompt->get_string());
    if (t.prompt.find_first_not_of(" \t\r\n") == std::string::npos)
      return bad_request("Invalid 'prompt': empty string.", "prompt", "missing_required_parameter");
    // duration (integer; multipart: decimal text)
    auto integer = [&](const json::value& v) -> std::optional<std::int64_t> {
      if (v.is_int64()) return v.get_int64();
      if (v.is_uint64()) return v.get_uint64() > 1000000 ? 1000000 : static_cast<std::int64_t>(v.get_uint64());
      if (multipart && v.is_string()) {
        const std::string_view s = v.get_string();
        const bool neg = s.starts_with("-");
        if (is_digits(neg ? s.substr(1) : s)) return (neg ? -1 : 1) * std::stoll(std::string(neg ? s.substr(1) : s));
      }
      return std::nullopt;
    };
    if (const json::value* d = fields.if_contains("duration"); d && !d->is_null()) {
      const auto n = integer(*d);
      if (!n) return bad_request("Invalid type for 'duration': expected an integer (seconds).", "duration");
      if (*n < 1) return bad_request("Invalid 'duration': must be at least 1 second.", "duration");
      t.duration = static_cast<int>(*n);
    }
    if (const json::value* sv = fields.if_contains("seconds"); sv && !sv->is_null()) {
      std::string s;
      if (sv->is_string())
        s = std::string(sv->get_string());
      else if (sv->is_int64() || sv->is_uint64())
        s = json::serialize(*sv);
      if (s != "4" && s != "8" && s != "12")
        return bad_request("Invalid value for 'seconds': expected one of '4', '8', '12'.", "seconds");
      t.duration = std::stoi(s);
      t.seconds_given = true;
    }
    // size
    t.size = std::string(kDefaultSize);
    if (const json::value* sz = fields.if_contains("size"); sz && !sz->is_null()) {
      if (!sz->is_string() || !valid_size(sz->get_string()))
        return bad_request("Invalid 'size': expected WIDTHxHEIGHT such as 1280x720.", "size");
      t.size = std::string(sz->get_string());
    }
    // seed
    if (const json::value* sd = fields.if_contains("seed"); sd && !sd->is_null()) {
      const auto n = integer(*sd);
      if (!n) return bad_request("Invalid type for 'seed': expected an integer.", "seed");
      t.seed = *n;
    }
    if (reference) {
      const auto type = image_type(*reference);
      if (!type)
        return bad_request("Invalid input_reference: expected image/jpeg, image/png or image/webp (got '" +
                               reference->content_type + "', file '" + reference->filename + "')",
                           "input_reference");
      if (reference->data.empty()) return bad_request("Invalid input_reference: empty file.", "input_reference");
      record["input_reference"] = json::object{{"filename", reference->filename},
                                               {"content_type", *type},
                                               {"size", reference->data.size()},
                                               {"sha256", sha256_hex(reference->data)}};
    }

    // Accepted.
    const std::int64_t now = s_.now_ms();
    t.seq = tasks_.next_seq();
    const bool openai_object = shape->submit == Submit::openai_object;
    t.id = tasks_.new_id(
        [&] { return (openai_object ? "video_" : "video-task-") + random_hex(rng_, openai_object ? 32 : 12); });
    t.account = fp;
    t.created_ms = now;
    t.stage_start = now;
    if (const auto kind = draw_failure(s_, t.seq, "openai:", kFailures.size())) {
      t.will_fail = true;
      t.fail_code = std::string(kFailures[*kind].code);
      t.fail_msg = std::string(kFailures[*kind].message);
    }
    Submission sub = make_submission(kName, t.id, fp, multipart ? json::serialize(record) : req.body, now,
                                     openai_video_bytes(t.id, t.prompt));
    t.video_sha256 = sub.video_sha256;
    t.video_bytes = sub.video_bytes;

    s_.log->info("openai emulator: task {} submitted (account {}, {}, {} s, {}{})", t.id, fp, t.model, t.duration,
                 t.size, t.will_fail ? ", will fail " + t.fail_code : "");
    const std::string id = t.id;
    const Task& task = tasks_.insert(std::move(t));
    announce_submission(s_, std::move(sub));
    switch (shape->submit) {
      case Submit::openai_object:
        return json_response(200, task_json(req, task));
      case Submit::task_id_only:
        return json_response(200, json::object{{"task_id", id}, {"status", shape->words[0]}});
      case Submit::doc:
        break;
    }
    // Step 1 提交响应, verbatim shape.
    return json_response(200, json::object{{"id", id},
                                           {"task_id", id},
                                           {"object", "video"},
                                           {"model", task.model},
                                           {"status", shape->words[0]},
                                           {"created", task.created_ms / 1000}});
  }

  // ---- queries ----

  std::string files_url(const Request& req, const Task& t) const {
    return "http://" + req.authority() + std::string(kPrefix) + "/v1/files/" + t.id + ".mp4";
  }

  std::string cdn_url(const Request& req, const Task& t) const {
    const std::string path = std::string(kPrefix) + "/cdn/" + t.id + ".mp4";
    const std::int64_t expires = s_.now_s() + kOpenAiCdnUrlTtl.count();
    return signed_url(s_, req.authority(), path, expires);
  }

  int progress(const Task& t) const {
    switch (t.status) {
      case St::queued:
        return 0;
      case St::done:
        return 100;
      case St::failed:
        return 0;
      case St::running:
        break;
    }
    const std::int64_t total = std::max<std::int64_t>(1, s_.scaled(std::chrono::milliseconds(run_ms(t))).count());
    const std::int64_t elapsed = std::max<std::int64_t>(0, s_.now_ms() - t.stage_start);
    return static_cast<int>(std::clamp<std::int64_t>(elapsed * 100 / total, 0, 99));
  }

  json::object task_json(const Request& req, const Task& t) const {
    const Shape& shape = *shape_of(t.model);
    const std::string_view word =
        t.status == St::failed ? std::string_view("failed") : shape.words[static_cast<std::size_t>(t.status)];
    json::value error = nullptr;
    if (t.status == St::failed) error = json::object{{"code", t.fail_code}, {"message", t.fail_msg}};
    if (shape.submit == Submit::openai_object) {
      const bool done = t.status == St::done;
      return json::object{
          {"id", t.id},
          {"object", "video"},
          {"model", t.model},
          {"status", word},
          {"progress", progress(t)},
          {"created_at", t.created_ms / 1000},
          {"completed_at", done ? json::value(t.completed_ms / 1000) : json::value(nullptr)},
          {"expires_at", done ? json::value(t.completed_ms / 1000 + 24 * 3600) : json::value(nullptr)},
          {"size", t.size},
          {"seconds", std::to_string(t.duration)},
          {"quality", "standard"},
          {"remixed_from_video_id", nullptr},
          {"error", error},
      };
    }
    json::object o{{"id", t.id},
                   {"task_id", t.id},
                   {"object", "video"},
                   {"model", t.model},
                   {"status", word},
                   {"progress", progress(t)},
                   {"created", t.created_ms / 1000}};
    if (shape.submit == Submit::task_id_only) o.erase("id");
    if (t.status == St::done) {
      for (const auto& f : shape.urls) {
        if (f.field.empty()) continue;
        const std::string url = f.kind == UrlKind::files ? files_url(req, t) : cdn_url(req, t);
        if (f.field == "data[0].url") {
          o["data"] = json::array{json::object{{"url", url}, {"duration", t.duration}}};
        } else if (f.field == "data.result_url") {
          o["data"] = json::object{{"result_url", url}};
        } else {
          o[f.field] = url;
        }
      }
    }
    if (t.status == St::failed) {
      o["error"] = error;
      o["fail_reason"] = t.fail_msg;
    }
    return o;
  }

  Response query(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return not_found("No video found with id '" + id + "'.");
    return json_response(200, task_json(req, *t));
  }

  Response content_of(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return not_found("No video found with id '" + id + "'.");
    if (const auto variant = req.query_param("variant"); variant && *variant != "video")
      return bad_request("Invalid 'variant': the emulator serves only 'video'.", "variant");
    if (t->status != St::done)
      return api_error(404,
                       "Video '" + id + "' is not ready (status " +
                           std::string(kStatus(t->status)) + ").",
                       "invalid_request_error", "video_not_ready");
    return serve_bytes(req, openai_video_bytes(t->id, t->prompt), "video/mp4", t->video_sha256);
  }

  Response models() const {
    json::array data;
    for (const auto& s : kShapes)
      data.push_back(
          json::object{{"id", s.model}, {"object", "model"}, {"created", 1714000000}, {"owned_by", s.owned_by}});
    return json_response(200, json::object{{"object", "list"}, {"data", std::move(data)}});
  }

  Response cdn(const Request& req, std::string_view file) {
    if (auto refused = check_signed_download(req, s_)) return *refused;
    if (!file.ends_with(".mp4")) return plain_not_found();
    const Task* t = tasks_.find(std::string(file.substr(0, file.size() - 4)));
    if (!t || t->status != St::done) return plain_not_found();
    return serve_bytes(req, openai_video_bytes(t->id, t->prompt), "video/mp4", t->video_sha256);
  }

  // ---- time ----

  void advance(std::int64_t now) override {
    bool changed = false;
    for (auto& [id, t] : tasks_) {
      if (t.status == St::running && s_.stuck(kName, t.id)) continue;  // fault never_finish
      changed |= advance_stages(s_, t.stage_start, now, [&t] { return stage_ms(t); }, [&](std::int64_t end) {
        if (t.status == St::queued) {
          t.status = St::running;
        } else if (t.will_fail) {
          t.status = St::failed;
          s_.log->info("openai emulator: task {} failed: {}", t.id, t.fail_code);
        } else {
          t.status = St::done;
          t.completed_ms = end;
          s_.log->info("openai emulator: task {} completed", t.id);
        }
      });
    }
    if (changed) s_.state_changed();
  }

  TaskStore<Task> tasks_{task_fields()};  // by task id
};

}  // namespace

std::unique_ptr<Module> make_openai_module(Services services) {
  return std::make_unique<OpenAiModule>(std::move(services));
}

std::string openai_video_bytes(std::string_view task_id, std::string_view prompt) {
  return mp4_with_free_box("reelbatch openai emulator\nid=" + std::string(task_id) + "\nprompt=" + std::string(prompt) +
                           "\n");
}

}  // namespace reelbatch::emulator
