// The TCL Turing /videos emulator. See emulator.hpp for the behaviour and
// the interpretations of the API document.
#include "providers/turing/emulator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include "providers/emulator/module_util.hpp"
#include "providers/emulator/task_store.hpp"
#include "providers/juhuo/emulator.hpp"  // juhuo_cover_bytes: the last-frame JPEG
#include "src/core/sha256.hpp"
#include "src/core/text.hpp"

namespace reelbatch::emulator {
namespace json = boost::json;

namespace turing {

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = val(c);
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

}  // namespace turing

namespace {

constexpr std::string_view kName = "turing";
constexpr std::string_view kApi = "/api/v1";
constexpr std::uint64_t kMaxImageBytes = 10ull << 20;  // doc: 10MB

// ---- states --------------------------------------------------------------------

enum class St { queued, in_progress, processing, completed, failed };
constexpr StatusNames<St, 5> kStatus{"turing", {"queued", "in_progress", "processing", "completed", "failed"}};
bool is_active(St s) { return s == St::queued || s == St::in_progress || s == St::processing; }

// ---- document tables ----------------------------------------------------------------

constexpr std::array<std::string_view, 3> kVeoSeconds = {"4", "6", "8"};
constexpr std::array<std::string_view, 2> kVeoSizes = {"1280x720", "720x1280"};
constexpr std::array<std::string_view, 3> kPersonGeneration = {"allow_all", "allow_adult", "dont_allow"};
constexpr std::array<std::string_view, 3> kSeedanceResolutions = {"480p", "720p", "1080p"};
constexpr std::array<std::string_view, 6> kSeedanceRatios = {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"};
constexpr std::array<int, 4> kSeedanceDurations = {4, 5, 6, 8};

struct SizeRow {
  std::string_view resolution, ratio, size;
};
// Doc "Seedance 支持的尺寸" (1080p, accepted from the doc's example, is not in the table).
constexpr std::array<SizeRow, 12> kSeedanceSizes = {{
    {"480p", "16:9", "864x496"},
    {"480p", "4:3", "752x560"},
    {"480p", "1:1", "640x640"},
    {"480p", "3:4", "560x752"},
    {"480p", "9:16", "496x864"},
    {"480p", "21:9", "992x432"},
    {"720p", "16:9", "1280x720"},
    {"720p", "4:3", "1112x834"},
    {"720p", "1:1", "960x960"},
    {"720p", "3:4", "834x1112"},
    {"720p", "9:16", "720x1280"},
    {"720p", "21:9", "1470x630"},
}};

std::string join(const auto& set) {
  std::string out;
  for (const auto& v : set) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

std::string seedance_size(std::string_view resolution, std::string_view ratio) {
  for (const auto& r : kSeedanceSizes)
    if (r.resolution == resolution && r.ratio == ratio) return std::string(r.size);
  if (resolution == "1080p") {  // not in the doc's table: 1080 on the short side
    if (ratio == "16:9") return "1920x1080";
    if (ratio == "9:16") return "1080x1920";
    if (ratio == "1:1") return "1440x1440";
    if (ratio == "4:3") return "1664x1248";
    if (ratio == "3:4") return "1248x1664";
    if (ratio == "21:9") return "2206x946";
  }
  return {};
}

// ---- responses ------------------------------------------------------------------------

Response api_error(int status, std::string_view type, std::string_view code, std::string message,
                   std::string_view param = {}) {
  json::object err{{"message", std::move(message)}, {"type", type}, {"code", code}};
  err["param"] = param.empty() ? json::value(nullptr) : json::value(json::string(param));
  return json_response(status, json::object{{"error", std::move(err)}});
}

Response invalid(std::string_view code, std::string message, std::string_view param = {}) {
  return api_error(400, "invalid_request_error", code, std::move(message), param);
}
Response bad_value(std::string message, std::string_view param) {
  return invalid("invalid_parameter", std::move(message), param);
}
Response not_found(std::string message = "Not found") {
  return api_error(404, "invalid_request_error", "not_found", std::move(message));
}

// ---- model ----------------------------------------------------------------------------

struct Task {
  std::string id;
  std::string account;  // key fingerprint
  std::uint64_t seq = 0;
  std::string family;  // "veo" | "seedance"
  std::string model, prompt;
  std::string seconds;            // "8"
  std::string size;               // "1280x720"
  std::string resolution, ratio;  // Seedance
  bool last_frame = false;
  St status = St::queued;
  std::int64_t created_ms = 0;
  std::int64_t stage_start = 0;
  std::int64_t completed_ms = 0;
  bool will_fail = false;
  std::string error_code, error_msg;
  std::string video_sha256;
  std::uint64_t video_bytes = 0;
};

// The length of the task's current stage (unscaled ms); nullopt once it is finished.
std::optional<std::int64_t> stage_ms(const Task& t) {
  switch (t.status) {
    case St::queued:
      return 5000;
    case St::in_progress:
      return 5000;
    case St::processing:
      return 20000 + 4000 * static_cast<std::int64_t>(std::stoi(t.seconds));
    default:
      return std::nullopt;
  }
}

FieldTable<Task> task_fields() {
  return {"turing",
          {field("id", &Task::id),
           field("account", &Task::account),
           field("seq", &Task::seq),
           field("family", &Task::family),
           field("model", &Task::model),
           field("prompt", &Task::prompt),
           field("seconds", &Task::seconds),
           field("size", &Task::size),
           field("resolution", &Task::resolution),
           field("ratio", &Task::ratio),
           field("lastFrame", &Task::last_frame),
           field("status", &Task::status, kStatus),
           field("createdMs", &Task::created_ms),
           field("stageStart", &Task::stage_start),
           field("completedMs", &Task::completed_ms),
           field("willFail", &Task::will_fail),
           field("errorCode", &Task::error_code),
           field("errorMsg", &Task::error_msg),
           field("videoSha256", &Task::video_sha256),
           field("videoBytes", &Task::video_bytes)}};
}

// ---- the module -------------------------------------------------------------------------

class TuringModule final : public ModuleBase {
 public:
  explicit TuringModule(Services s) : ModuleBase(std::move(s)) {}

  std::string name() const override { return std::string(kName); }

  Response internal_error() override { return api_error(500, "server_error", "internal_error", "internal server error"); }

  bool busy() const override {
    std::lock_guard lk(mu_);
    return tasks_.any_of([](const Task& t) { return is_active(t.status); });
  }

  json::value save() const override {
    std::lock_guard lk(mu_);
    return tasks_.save();
  }

  void load(const json::value& state) override {
    std::lock_guard lk(mu_);
    tasks_.load(state.as_object(), [](const Task& t) {
      if (t.seconds.empty() ||
          !std::all_of(t.seconds.begin(), t.seconds.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw std::runtime_error("turing state: bad seconds for " + t.id);
    });
  }

 private:
  // ---- routing ----

  Response route(const Request& req, std::string_view path) override {
    if (!path.starts_with(kApi)) return not_found();
    const std::string_view p = path.substr(kApi.size());
    if (p == "/videos") return need(req, "POST", true, [&](const std::string& fp) { return create(req, fp); });
    constexpr std::string_view prefix = "/videos/";
    if (!p.starts_with(prefix) || p.size() == prefix.size()) return not_found();
    std::string_view rest = p.substr(prefix.size());
    bool content = false;
    if (rest.ends_with("/content")) {
      content = true;
      rest.remove_suffix(std::string_view("/content").size());
    }
    if (rest.empty() || rest.find('/') != std::string_view::npos) return not_found();
    const std::string id = percent_decode(rest);
    if (content) return need(req, "GET", false, [&](const std::string& fp) { return serve_content(req, fp, id); });
    return need(req, "GET", false, [&](const std::string& fp) { return query(req, fp, id); });
  }

  // Checks the method and the Bearer key, then calls f(fingerprint).
  template <class F>
  Response need(const Request& req, std::string_view method, bool submit, F&& f) {
    if (!method_is(req, method)) {
      if (submit) s_.count_rejected_submit();
      Response r = api_error(405, "invalid_request_error", "method_not_allowed",
                             "Method " + req.method + " not allowed; use " + std::string(method));
      r.set("Allow", method == "GET" ? "GET, HEAD" : std::string(method));
      return r;
    }
    const std::string auth = req.header("Authorization");
    const auto key = bearer_key(auth);
    if (!key) {
      if (submit) s_.count_rejected_submit();
      return api_error(401, "authentication_error", "invalid_api_key",
                       "Missing or invalid API key: send Authorization: Bearer <YOUR_API_KEY>");
    }
    return f(key_fingerprint(*key));
  }

  // ---- create ----

  // A request's fields: JSON values (multipart text fields become strings).
  struct Parsed {
    json::object fields;
    bool multipart = false;
    std::vector<turing::FormPart> files;
  };

  Response create(const Request& req, const std::string& fp) {
    return count_rejected(s_, tasks_, [&] { return create_checked(req, fp); });
  }

  std::optional<Response> parse_request(const Request& req, Parsed& out) {
    const std::string ct = req.header("Content-Type");
    const std::string type = to_lower(std::string_view(ct).substr(0, ct.find(';')));
    if (type.find("application/json") != std::string::npos) {
      boost::system::error_code ec;
      json::value v = json::parse(req.body, ec);
      if (ec || !v.is_object()) return invalid("invalid_json", "The request body is not a valid JSON object");
      out.fields = std::move(v.as_object());
      return std::nullopt;
    }
    if (const auto boundary = turing::form_boundary(ct)) {
      std::string why;
      auto parts = turing::parse_form_data(req.body, *boundary, why);
      if (!parts) return invalid("invalid_multipart", "Malformed multipart/form-data body: " + why);
      out.multipart = true;
      for (auto& part : *parts) {
        if (part.filename) {
          out.files.push_back(std::move(part));
        } else {
          out.fields[part.name] = part.data;
        }
      }
      return std::nullopt;
    }
    return invalid("unsupported_content_type", "Content-Type must be application/json or multipart/form-data (got " +
                                                   (ct.empty() ? std::string("none") : ct) + ")");
  }

  // A required non-blank string field.
  static std::optional<Response> required_string(const json::object& f, std::string_view key, std::string& out) {
    const json::value* v = f.if_contains(key);
    if (!v || v->is_null()) return invalid("missing_parameter", std::string(key) + " is required", key);
    if (!v->is_string()) return bad_value(std::string(key) + " must be a string", key);
    out = std::string(v->get_string());
    if (out.find_first_not_of(" \t\r\n") == std::string::npos)
      return invalid("missing_parameter", std::string(key) + " must not be empty", key);
    return std::nullopt;
  }

  // An optional string field restricted to `allowed`; `def` when absent.
  template <class A>
  static std::optional<Response> enum_string(const json::object& f, std::string_view key, const A& allowed,
                                             std::string_view def, std::string& out, std::string_view hint = {}) {
    const json::value* v = f.if_contains(key);
    if (!v || v->is_null()) {
      out = std::string(def);
      return std::nullopt;
    }
    if (!v->is_string() || !one_of(allowed, v->get_string()))
      return bad_value(std::string(key) + ": " +
                           (hint.empty() ? "must be one of " + join(allowed) : std::string(hint)) + " (got " +
                           json::serialize(*v) + ")",
                       key);
    out = std::string(v->get_string());
    return std::nullopt;
  }

  static std::optional<Response> optional_bool(const json::object& f, std::string_view key, bool def, bool& out) {
    const json::value* v = f.if_contains(key);
    if (!v || v->is_null()) {
      out = def;
      return std::nullopt;
    }
    if (!v->is_bool()) return bad_value(std::string(key) + " must be a boolean", key);
    out = v->get_bool();
    return std::nullopt;
  }

  Response create_checked(const Request& req, const std::string& fp) {
    Parsed in;
    if (auto e = parse_request(req, in)) return *e;
    const json::object& f = in.fields;
    Task t;
    if (auto e = required_string(f, "model", t.model)) return *e;
    const std::string lower = to_lower(t.model);
    t.family = lower.find("seedance") != std::string::npos ? "seedance"
               : lower.find("veo") != std::string::npos    ? "veo"
                                                           : "";
    if (t.family.empty())
      return invalid("unsupported_model", "The model '" + t.model + "' does not exist or is not a video model",
                     "model");
    if (auto e = required_string(f, "prompt", t.prompt)) return *e;

    json::object record;  // the submission record for multipart bodies
    if (t.family == "veo") {
      if (auto e = check_veo(in, t, record)) return *e;
    } else {
      if (auto e = check_seedance(in, t)) return *e;
    }
    return accept(req, fp, std::move(t), in.multipart ? json::serialize(record) : req.body);
  }

  std::optional<Response> check_veo(const Parsed& in, Task& t, json::object& record) {
    const json::object& f = in.fields;
    if (auto e =
            enum_string(f, "seconds", kVeoSeconds, "8", t.seconds, "Veo supports only \"4\", \"6\", \"8\" (string)"))
      return e;
    if (auto e =
            enum_string(f, "size", kVeoSizes, "1280x720", t.size, "Veo supports only \"1280x720\" and \"720x1280\""))
      return e;
    std::string person;
    if (auto e = enum_string(f, "personGeneration", kPersonGeneration, "", person)) return e;
    if (f.contains("input_reference"))
      return bad_value(
          "input_reference must be uploaded as a multipart/form-data file part (filename and MIME type "
          "required)",
          "input_reference");
    for (const auto& kv : f) record[kv.key()] = kv.value();
    const turing::FormPart* image = nullptr;
    for (const auto& part : in.files) {
      if (part.name != "input_reference")
        return bad_value("unexpected file field '" + part.name + "'; the reference image is input_reference",
                         part.name);
      if (image) return bad_value("only one input_reference image is supported", "input_reference");
      image = &part;
    }
    if (image) {
      if (image->filename->empty() || image->content_type.empty())
        return bad_value("input_reference: 文件名与 MIME 类型必填 (a filename and a Content-Type are required)",
                         "input_reference");
      if (!to_lower(image->content_type).starts_with("image/"))
        return invalid("invalid_file_type",
                       "input_reference: 仅支持图片 (images only; got " + image->content_type + ")", "input_reference");
      if (image->data.size() > kMaxImageBytes)
        return invalid("file_too_large",
                       "input_reference: 上传图片文件超过 10MB (the image must be at most 10MB; got " +
                           std::to_string(image->data.size()) + " bytes)",
                       "input_reference");
      record["input_reference"] = json::object{{"filename", *image->filename},
                                               {"content_type", image->content_type},
                                               {"size", image->data.size()},
                                               {"sha256", sha256_hex(image->data)}};
    }
    return std::nullopt;
  }

  std::optional<Response> check_content_url(const json::object& item, std::string_view type, std::size_t i) {
    const std::string param = "content[" + std::to_string(i) + "]." + std::string(type) + ".url";
    const json::value* obj = item.if_contains(type);
    const json::value* url = obj && obj->is_object() ? obj->get_object().if_contains("url") : nullptr;
    if (!url || !url->is_string() || url->get_string().empty()) return bad_value(param + " is required", param);
    const std::string_view u = url->get_string();
    if (to_lower(u.substr(0, 8)) == "https://") return std::nullopt;
    if (type != "image_url") return bad_value(param + " must be an HTTPS URL", param);
    // data:image/<subtype>;base64,<data>
    const auto comma = u.find(',');
    const std::string head = to_lower(u.substr(0, comma == std::string_view::npos ? 0 : comma));
    if (!head.starts_with("data:image/") || !head.ends_with(";base64"))
      return bad_value(param + " must be an HTTPS URL or a base64 data URI (data:image/...;base64,...)", param);
    const auto bytes = turing::base64_decode(u.substr(comma + 1));
    if (!bytes) return bad_value(param + ": the data URI is not valid base64", param);
    if (bytes->size() > kMaxImageBytes)
      return invalid("file_too_large",
                     param + ": 上传图片文件超过 10MB (the image must be at most 10MB; got " +
                         std::to_string(bytes->size()) + " bytes)",
                     param);
    return std::nullopt;
  }

  std::optional<Response> check_seedance(const Parsed& in, Task& t) {
    if (in.multipart)
      return invalid("unsupported_content_type",
                     "Seedance models take their parameters as a JSON body (Content-Type: application/json)");
    const json::object& f = in.fields;
    if (f.contains("personGeneration"))
      return bad_value("personGeneration: 仅 Gemini Veo 模型支持 (Veo models only)", "personGeneration");
    if (const json::value* c = f.if_contains("content"); c && !c->is_null()) {
      if (!c->is_array()) return bad_value("content must be an array", "content");
      const auto& arr = c->get_array();
      for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string param = "content[" + std::to_string(i) + "]";
        if (!arr[i].is_object()) return bad_value(param + " must be an object", param);
        const auto& item = arr[i].get_object();
        const json::value* type = item.if_contains("type");
        const std::string_view ty = type && type->is_string() ? std::string_view(type->get_string()) : "";
        if (ty == "text") {
          const json::value* text = item.if_contains("text");
          if (!text || !text->is_string()) return bad_value(param + ".text must be a string", param + ".text");
        } else if (ty == "image_url" || ty == "video_url" || ty == "audio_url") {
          if (auto e = check_content_url(item, ty, i)) return e;
        } else {
          return bad_value(param + ".type must be text, image_url, video_url or audio_url", param + ".type");
        }
      }
    }
    std::string resolution, ratio;
    if (auto e = enum_string(f, "resolution", kSeedanceResolutions, "", resolution)) return e;
    if (auto e = enum_string(f, "ratio", kSeedanceRatios, "", ratio)) return e;
    if (const json::value* sz = f.if_contains("size"); sz && !sz->is_null()) {
      std::string s = sz->is_string() ? std::string(sz->get_string()) : std::string();
      for (std::size_t p; (p = s.find("×")) != std::string::npos;) s.replace(p, std::string("×").size(), "x");
      const auto row =
          std::find_if(kSeedanceSizes.begin(), kSeedanceSizes.end(), [&](const SizeRow& r) { return r.size == s; });
      if (row == kSeedanceSizes.end())
        return bad_value("size must be one of the Seedance size table's values (e.g. 1280x720)", "size");
      if ((!resolution.empty() && resolution != row->resolution) || (!ratio.empty() && ratio != row->ratio))
        return bad_value("size " + s + " conflicts with resolution/ratio", "size");
      resolution = std::string(row->resolution);
      ratio = std::string(row->ratio);
    }
    t.resolution = resolution.empty() ? "720p" : resolution;
    t.ratio = ratio.empty() ? "16:9" : ratio;
    t.size = seedance_size(t.resolution, t.ratio);
    int duration = 5;
    if (const json::value* d = f.if_contains("duration"); d && !d->is_null()) {
      const bool integral = d->is_int64() || d->is_uint64();
      const std::int64_t v = d->is_int64() ? d->get_int64() : d->is_uint64() ? 0 : -1;
      if (!integral || std::find(kSeedanceDurations.begin(), kSeedanceDurations.end(), v) == kSeedanceDurations.end())
        return bad_value("duration must be one of 4, 5, 6, 8 (integer seconds; got " + json::serialize(*d) + ")",
                         "duration");
      duration = static_cast<int>(v);
    }
    t.seconds = std::to_string(duration);
    if (const json::value* sd = f.if_contains("seed"); sd && !sd->is_null() && !sd->is_int64() && !sd->is_uint64())
      return bad_value("seed must be an integer", "seed");
    bool ignored = false;
    if (auto e = optional_bool(f, "watermark", false, ignored)) return e;
    if (auto e = optional_bool(f, "generate_audio", true, ignored)) return e;
    if (auto e = optional_bool(f, "return_last_frame", false, t.last_frame)) return e;
    return std::nullopt;
  }

  Response accept(const Request& req, const std::string& fp, Task t, std::string recorded_body) {
    const std::int64_t now = s_.now_ms();
    t.id = tasks_.new_id([&] {
      std::string id = "video-" + random_hex(rng_, 12);
      return id + random_hex(rng_, 12);
    });
    t.account = fp;
    t.seq = tasks_.next_seq();
    t.created_ms = now;
    t.stage_start = now;
    t.status = St::queued;
    t.will_fail = draw_failure(s_, t.seq, "turing-", 1).has_value();
    const std::string cover = t.last_frame ? juhuo_cover_bytes(t.id) : std::string();
    Submission sub = make_submission(kName, t.id, fp, std::move(recorded_body), now, turing_video_bytes(t.id, t.prompt),
                                     t.last_frame ? std::optional<std::string_view>(cover) : std::nullopt);
    t.video_sha256 = sub.video_sha256;
    t.video_bytes = sub.video_bytes;
    s_.log->info("turing emulator: video {} created ({}, {} s, {}{})", t.id, t.model, t.seconds, t.size,
                 t.will_fail ? ", will fail" : "");
    const Task& stored = tasks_.insert(std::move(t));
    announce_submission(s_, std::move(sub));
    return json_response(200, video_json(req, stored));
  }

  // ---- query and content ----

  int progress(const Task& t) const {
    switch (t.status) {
      case St::queued:
        return 0;
      case St::in_progress:
        return 5;
      case St::processing: {
        const std::int64_t total = std::max<std::int64_t>(1, scaled_ms(s_, *stage_ms(t)));
        const std::int64_t done = std::clamp<std::int64_t>(s_.now_ms() - t.stage_start, 0, total);
        return static_cast<int>(10 + 89 * done / total);
      }
      default:
        return 100;
    }
  }

  json::object video_json(const Request& req, const Task& t) const {
    json::object o{
        {"id", t.id},
        {"object", "video"},
        {"model", t.model},
        {"status", kStatus(t.status)},
        {"progress", progress(t)},
        {"created_at", t.created_ms / 1000},
        {"completed_at", t.status == St::completed ? json::value(t.completed_ms / 1000) : json::value(nullptr)},
        {"seconds", t.seconds},
        {"size", t.size}};
    if (t.family == "seedance") {
      o["resolution"] = t.resolution;
      o["ratio"] = t.ratio;
      o["duration"] = std::stoi(t.seconds);
    }
    o["error"] = t.status == St::failed ? json::value(json::object{{"code", t.error_code}, {"message", t.error_msg}})
                                        : json::value(nullptr);
    if (t.status == St::completed && t.last_frame)
      o["last_frame_url"] = "http://" + req.authority() + "/" + std::string(kName) + std::string(kApi) + "/videos/" +
                            t.id + "/content?variant=last_frame";
    return o;
  }

  Response query(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return not_found("No video found with id '" + id + "'");
    return json_response(200, video_json(req, *t));
  }

  Response serve_content(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return not_found("No video found with id '" + id + "'");
    if (t->status != St::completed)
      return api_error(
          409, "invalid_request_error", "video_not_ready",
          "Video " + id + " is " + std::string(kStatus(t->status)) + "; content is available once completed");
    const auto variant = req.query_param("variant");
    if (!variant || *variant == "video")
      return serve_bytes(req, turing_video_bytes(t->id, t->prompt), "video/mp4", t->video_sha256);
    if (*variant == "last_frame" && t->last_frame) {
      const std::string jpg = juhuo_cover_bytes(t->id);
      return serve_bytes(req, jpg, "image/jpeg", sha256_hex(jpg));
    }
    return not_found("Video " + id + " has no variant '" + *variant + "'");
  }

  // ---- time ----

  void advance(std::int64_t now) override {
    bool changed = false;
    for (auto& [id, t] : tasks_) {
      if (t.status == St::processing && s_.stuck(kName, t.id)) continue;  // fault never_finish
      changed |= advance_stages(s_, t.stage_start, now, [&t] { return stage_ms(t); }, [&](std::int64_t end) {
        if (t.status == St::processing) {
          if (t.will_fail) {
            t.status = St::failed;
            t.error_code = "generation_failed";
            t.error_msg = "视频生成失败";
            s_.log->info("turing emulator: video {} failed", t.id);
          } else {
            t.status = St::completed;
            t.completed_ms = end;
            s_.log->info("turing emulator: video {} completed", t.id);
          }
        } else {
          t.status = static_cast<St>(static_cast<int>(t.status) + 1);
        }
      });
    }
    if (changed) s_.state_changed();
  }

  TaskStore<Task> tasks_{task_fields()};  // by video id
};

}  // namespace

std::unique_ptr<Module> make_turing_module(Services services) {
  return std::make_unique<TuringModule>(std::move(services));
}

std::string turing_video_bytes(std::string_view video_id, std::string_view prompt) {
  return mp4_with_free_box("reelbatch turing emulator\nid=" + std::string(video_id) + "\nprompt=" + std::string(prompt) +
                           "\n");
}

}  // namespace reelbatch::emulator
