// The openai adapter: request building, response parsing, error
// classification and validation as pure functions (tested without sockets
// in tests/openai_adapter_test.cpp), and a thin coroutine class that only
// performs the HTTP exchanges. See openai.hpp for the interpretations.
#include "providers/openai/openai.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <random>

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/util.hpp"
#include "src/core/text.hpp"

namespace reelbatch::openai {
using namespace kit::adapter_names;

namespace {

// ---- text helpers ---------------------------------------------------------------------

std::string str_of(const json::string& s) { return std::string(s.data(), s.size()); }

// A string field, or an integer as its decimal text; "" otherwise.
std::string text_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return {};
  if (const auto* s = v->if_string()) return str_of(*s);
  if (v->is_int64() || v->is_uint64()) return json::serialize(*v);
  return {};
}

// ---- error construction ---------------------------------------------------------------

ProviderError bad_response(int http_status, const std::string& what, const std::string& profile, Op op) {
  return kit::bad_response(http_status, what, profile, op == Op::submit,
                               "; the task may exist: check the relay's console before resubmitting (响应无法解析)",
                               "; will retry (响应无法解析)");
}

bool contains_any(std::string_view hay, std::initializer_list<std::string_view> needles) {
  for (auto n : needles)
    if (hay.find(n) != std::string_view::npos) return true;
  return false;
}

bool is_quota_error(const ErrorBody& e) {
  const std::string code = to_lower(e.code), type = to_lower(e.type), msg = to_lower(e.message);
  return code == "insufficient_quota" || code == "insufficient_user_quota" || code == "quota_exceeded" ||
         type == "insufficient_quota" || contains_any(e.message, {"额度不足", "余额不足"}) ||
         contains_any(msg, {"insufficient quota", "quota is not enough", "insufficient balance"});
}

bool is_moderation_error(const ErrorBody& e) {
  const std::string code = to_lower(e.code);
  return contains_any(code, {"moderation", "content_policy", "content_filter", "safety"});
}

// Parsed body of a success answer: a JSON object, or the classified error.
Result<json::object, ProviderError> unwrap(int http_status, std::string_view body, const std::string& profile,
                                           std::optional<milliseconds> retry_after, Op op) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  const bool is_obj = !ec && v.is_object();
  if (is_2xx(http_status)) {
    if (!is_obj)
      return fail(bad_response(
          http_status, body.empty() ? std::string("empty body") : "not a JSON object: " + excerpt(body), profile, op));
    // Some relays answer errors with HTTP 200 and an `error` object.
    const json::value* err = v.as_object().if_contains("error");
    if (err && err->is_object() && !v.as_object().contains("status") && !v.as_object().contains("id") &&
        !v.as_object().contains("task_id"))
      return fail(classify(http_status, parse_error_body(body), excerpt(body), profile, op, retry_after));
    return std::move(v.as_object());
  }
  return fail(
      classify(http_status, is_obj ? parse_error_body(body) : std::nullopt, excerpt(body), profile, op, retry_after));
}

// ---- URLs -------------------------------------------------------------------------------

struct Origin {
  std::string scheme, host, port;
};

std::optional<Origin> origin_of(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Origin o;
  o.scheme = to_lower(url.substr(0, sep));
  if (o.scheme != "http" && o.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(0, close + 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  o.host = to_lower(host);
  o.port = port.empty() ? (o.scheme == "https" ? "443" : "80") : std::string(port);
  return o;
}

// ---- sizes ------------------------------------------------------------------------------

constexpr std::array<std::string_view, 4> kOpenAiSizes{"720x1280", "1280x720", "1024x1792", "1792x1024"};

// "WxH" with positive integers → normalized "wxh"; nullopt otherwise.
std::optional<std::string> parse_wxh(std::string_view s) {
  s = trim(s);
  const auto x = s.find_first_of("xX");
  if (x == std::string_view::npos || x == 0 || x + 1 == s.size()) return std::nullopt;
  const auto w = s.substr(0, x), h = s.substr(x + 1);
  if (!std::all_of(w.begin(), w.end(), is_digit) || !std::all_of(h.begin(), h.end(), is_digit)) return std::nullopt;
  if (w.size() > 5 || h.size() > 5 || std::stoi(std::string(w)) == 0 || std::stoi(std::string(h)) == 0)
    return std::nullopt;
  return std::string(w) + "x" + std::string(h);
}

struct SizeRow {
  std::string_view ratio;
  int height;
  std::string_view size;
};
constexpr std::array<SizeRow, 15> kSizes{{
    {"16:9", 480, "854x480"},
    {"16:9", 720, "1280x720"},
    {"16:9", 1080, "1920x1080"},
    {"9:16", 480, "480x854"},
    {"9:16", 720, "720x1280"},
    {"9:16", 1080, "1080x1920"},
    {"1:1", 480, "480x480"},
    {"1:1", 720, "720x720"},
    {"1:1", 1080, "1080x1080"},
    {"4:3", 480, "640x480"},
    {"4:3", 720, "960x720"},
    {"4:3", 1080, "1440x1080"},
    {"3:4", 480, "480x640"},
    {"3:4", 720, "720x960"},
    {"3:4", 1080, "1080x1440"},
}};

std::optional<int> height_of(std::string_view resolution) {
  const std::string r = to_lower(trim(resolution));
  if (r == "480" || r == "480p") return 480;
  if (r == "720" || r == "720p") return 720;
  if (r == "1080" || r == "1080p") return 1080;
  return std::nullopt;
}

// ---- JSON -> TaskStatus --------------------------------------------------------------------

// An integral number or a numeric string (see kit::int64_of).
std::optional<std::int64_t> int_of(const json::value* v) { return kit::int64_of(v); }

// The wording of transport failures (kit::from_net_error).
constexpr kit::NetErrorText kNetText =
    kit::chinese_net_text("; the relay may have created the task: check before resubmitting)");

}  // namespace

// ---- URLs -------------------------------------------------------------------------------------

Dialect dialect_for(std::string_view base_url) {
  const auto o = origin_of(base_url);
  return (o && o->host == "api.openai.com") ? Dialect::openai : Dialect::relay;
}

std::string api_url(std::string_view base_url, std::string_view path) {
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 && path.starts_with("/v1/"))
    path.remove_prefix(3);
  return base + std::string(path);
}

bool same_origin(std::string_view a, std::string_view b) {
  const auto oa = origin_of(a), ob = origin_of(b);
  return oa && ob && oa->scheme == ob->scheme && oa->host == ob->host && oa->port == ob->port;
}

// ---- validation -------------------------------------------------------------------------------

bool is_openai_size(std::string_view size) {
  return std::find(kOpenAiSizes.begin(), kOpenAiSizes.end(), size) != kOpenAiSizes.end();
}

Result<std::string, std::string> size_for(const JobSpec& spec) {
  if (trim(spec.resolution).empty() && trim(spec.aspect_ratio).empty()) return std::string();
  if (auto wxh = parse_wxh(spec.resolution)) {
    if (!trim(spec.aspect_ratio).empty()) {
      // WxH with a ratio: they must agree.
      const auto x = wxh->find('x');
      const long w = std::stol(wxh->substr(0, x)), h = std::stol(wxh->substr(x + 1));
      const std::string ar(trim(spec.aspect_ratio));
      const auto colon = ar.find(':');
      long rw = 0, rh = 0;
      if (colon != std::string::npos) {
        std::from_chars(ar.data(), ar.data() + colon, rw);
        std::from_chars(ar.data() + colon + 1, ar.data() + ar.size(), rh);
      }
      if (rw <= 0 || rh <= 0) return fail(std::string("aspect_ratio must be W:H such as 16:9 (got " + ar + ")"));
      // Within 1% (854x480 is "16:9").
      const double want = static_cast<double>(rw) / static_cast<double>(rh);
      const double got = static_cast<double>(w) / static_cast<double>(h);
      if (got / want > 1.01 || got / want < 0.99) return fail("size " + *wxh + " does not have the aspect ratio " + ar);
    }
    return *wxh;
  }
  int height = 720;
  if (!trim(spec.resolution).empty()) {
    const auto h = height_of(spec.resolution);
    if (!h) return fail("resolution must be WxH (e.g. 1280x720) or 480p, 720p, 1080p (got " + spec.resolution + ")");
    height = *h;
  }
  const std::string ratio =
      trim(spec.aspect_ratio).empty() ? std::string("16:9") : std::string(trim(spec.aspect_ratio));
  for (const auto& row : kSizes)
    if (row.ratio == ratio && row.height == height) return std::string(row.size);
  return fail("aspect_ratio must be 16:9, 9:16, 1:1, 4:3 or 3:4 (got " + ratio + ")");
}

std::optional<std::string> image_content_type(const std::filesystem::path& p) {
  // Exactly the image rows of the shared table.
  if (auto ct = kit::content_type_for(p); ct && kit::is_image_content_type(*ct)) return ct;
  return std::nullopt;
}

std::vector<FieldError> validate(const JobSpec& spec, Dialect dialect) {
  std::vector<FieldError> errs;
  const bool oa = dialect == Dialect::openai;
  if (trim(spec.prompt).empty()) errs.push_back({"prompt", "openai requires a prompt (step 1: prompt 必填)"});
  if (trim(spec.model).empty())
    errs.push_back({"model", "openai requires a model, e.g. sora-2 or veo_3_1-fast (step 1: model 必填)"});
  if (spec.duration_s) {
    const int d = *spec.duration_s;
    if (oa && d != 4 && d != 8 && d != 12)
      errs.push_back({"duration", "OpenAI's /v1/videos accepts seconds 4, 8 or 12 (got " + std::to_string(d) + ")"});
    else if (d < 1)
      errs.push_back({"duration", "duration is a positive integer of seconds (got " + std::to_string(d) + ")"});
  }
  auto size = size_for(spec);
  if (!size) {
    errs.push_back({trim(spec.resolution).empty() ? "aspect_ratio" : "resolution", size.error()});
  } else if (oa && !size->empty() && !is_openai_size(*size)) {
    errs.push_back({"resolution",
                    "OpenAI's /v1/videos accepts size 720x1280, 1280x720, 1024x1792 or 1792x1024 (got " + *size + ")"});
  }
  if (oa && spec.seed) errs.push_back({"seed", "OpenAI's /v1/videos has no seed parameter"});
  if (spec.audio) errs.push_back({"audio", "openai has no audio switch (the model decides); leave audio empty"});
  if (!spec.videos.empty()) errs.push_back({"videos", "openai takes no reference videos"});
  if (!spec.audios.empty()) errs.push_back({"audios", "openai takes no reference audios"});
  if (spec.images.size() > 1)
    errs.push_back({"images", "openai takes one reference image (input_reference) (got " +
                                  std::to_string(spec.images.size()) + ")"});
  for (const auto& a : spec.images) {
    const std::string label = "image '" + a.name + "'";
    if (a.location.empty()) {
      errs.push_back({"images", label + ": no file given"});
    } else if (a.is_url()) {
      errs.push_back({"images", label + ": openai takes a local file as input_reference; download it first (got " +
                                    elide_url_queries(a.location) + ")"});
    } else if (!image_content_type(a.location)) {
      const std::string ext = std::filesystem::path(a.location).extension().string();
      errs.push_back({"images", label + ": input_reference accepts .jpg, .jpeg, .png or .webp (got " +
                                    (ext.empty() ? std::string("no extension") : ext) + ")"});
    }
  }
  return errs;
}

// ---- submit -------------------------------------------------------------------------------------

json::object build_submit_body(const SubmitRequest& req, Dialect dialect) {
  const JobSpec& s = req.spec;
  json::object o;
  o["model"] = s.model;
  o["prompt"] = s.prompt;
  if (dialect == Dialect::openai) {
    if (s.duration_s) o["seconds"] = std::to_string(*s.duration_s);
  } else {
    if (s.duration_s) o["duration"] = *s.duration_s;
  }
  if (auto size = size_for(s); size && !size->empty()) o["size"] = *size;
  if (dialect == Dialect::relay && s.seed) o["seed"] = *s.seed;
  for (const auto& kv : s.params) o[kv.key()] = kv.value();
  return o;
}

Body build_submit_payload(const json::object& fields, const std::optional<FilePart>& file, std::string_view boundary) {
  if (!file) return Body{"application/json", json::serialize(fields)};
  auto quoted = [](std::string_view s) {
    std::string out;
    for (char c : s) out.push_back((c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c);
    return out;
  };
  const std::string b(boundary);
  std::string out;
  for (const auto& kv : fields) {
    out += "--" + b + "\r\n";
    out += "Content-Disposition: form-data; name=\"" + quoted(kv.key()) + "\"\r\n\r\n";
    if (const auto* sv = kv.value().if_string())
      out += str_of(*sv);
    else
      out += json::serialize(kv.value());
    out += "\r\n";
  }
  out += "--" + b + "\r\n";
  out += "Content-Disposition: form-data; name=\"" + quoted(file->field) + "\"; filename=\"" + quoted(file->filename) +
         "\"\r\n";
  out += "Content-Type: " + file->content_type + "\r\n\r\n";
  out += file->bytes;
  out += "\r\n--" + b + "--\r\n";
  return Body{"multipart/form-data; boundary=" + b, std::move(out)};
}

std::string make_boundary() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  std::string out = "----reelbatch";
  for (int i = 0; i < 2; ++i) {
    std::uint64_t r = rng();
    for (int k = 0; k < 16; ++k, r >>= 4) out.push_back(kHex[r & 15]);
  }
  return out;
}

ProviderResult<std::string> parse_submit_response(int http_status, std::string_view body, const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::submit);
  if (!r) return fail(r.error());
  std::string id = text_field(*r, "id");
  if (id.empty()) id = text_field(*r, "task_id");
  if (id.empty()) {
    spdlog::warn("{}: submit answer without id or task_id: {}", profile, excerpt(body, 1000));
    return fail(bad_response(http_status, "no id or task_id in " + excerpt(body), profile, Op::submit));
  }
  return id;
}

// ---- query -------------------------------------------------------------------------------------

namespace {

struct StateWord {
  std::string_view word;
  RemoteState state;
};
constexpr std::array<StateWord, 10> kStates{{
    {"queued", RemoteState::queued},
    {"pending", RemoteState::queued},
    {"in_progress", RemoteState::running},
    {"processing", RemoteState::running},
    {"completed", RemoteState::succeeded},
    {"succeeded", RemoteState::succeeded},
    {"success", RemoteState::succeeded},
    {"unknown", RemoteState::running},  // succeeded with a URL: see map_state
    {"failed", RemoteState::failed},
    {"cancelled", RemoteState::cancelled},
}};

}  // namespace

RemoteState map_state(std::string_view native, bool has_video_url) {
  const std::string w = to_lower(trim(native));
  if (w == "unknown") return has_video_url ? RemoteState::succeeded : RemoteState::running;
  if (w == "canceled") return RemoteState::cancelled;
  for (const auto& s : kStates)
    if (s.word == w) return s.state;
  return RemoteState::running;
}

bool is_documented_state(std::string_view native) {
  const std::string w = to_lower(trim(native));
  return std::any_of(kStates.begin(), kStates.end(), [&](const StateWord& s) { return s.word == w; });
}

std::string video_url_of(const json::object& task) {
  auto str_in = [](const json::object& o, std::string_view key) -> std::string {
    const json::value* v = o.if_contains(key);
    if (!v) return {};
    if (const auto* s = v->if_string()) return std::string(trim(std::string_view(s->data(), s->size())));
    return {};
  };
  if (const json::value* data = task.if_contains("data")) {
    if (const auto* arr = data->if_array(); arr && !arr->empty()) {
      if (const auto* first = (*arr)[0].if_object()) {
        if (auto u = str_in(*first, "url"); !u.empty()) return u;
      }
    }
    if (const auto* obj = data->if_object()) {
      if (auto u = str_in(*obj, "result_url"); !u.empty()) return u;
    }
  }
  for (std::string_view key : {"result_url", "url", "video_url", "output_url", "download_url"})
    if (auto u = str_in(task, key); !u.empty()) return u;
  return {};
}

std::string task_path(std::string_view task_id) {
  return std::string(kVideosPath) + "/" + kit::percent_encode(task_id);
}

std::string content_path(std::string_view task_id) { return task_path(task_id) + "/content"; }

ProviderResult<TaskStatus> parse_task_response(int http_status, std::string_view body, const std::string& profile,
                                               std::string_view requested_id, std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::query);
  if (!r) return fail(r.error());
  const json::object& o = *r;
  TaskStatus t;
  t.remote_id = text_field(o, "id");
  if (t.remote_id.empty()) t.remote_id = text_field(o, "task_id");
  if (t.remote_id.empty()) t.remote_id = std::string(requested_id);
  const json::value* st = o.if_contains("status");
  if (!st || !st->is_string() || st->get_string().empty())
    return fail(bad_response(http_status, "no status in " + excerpt(body), profile, Op::query));
  t.native_state = str_of(st->get_string());
  t.video_url = video_url_of(o);
  t.state = map_state(t.native_state, !t.video_url.empty());
  if (!is_documented_state(t.native_state))
    spdlog::warn("{}: task {} has undocumented status '{}'; treating it as running", profile, t.remote_id,
                 t.native_state);
  if (t.state == RemoteState::failed || t.state == RemoteState::cancelled) {
    if (const json::value* e = o.if_contains("error")) {
      if (const auto* eo = e->if_object()) {
        t.error_code = text_field(*eo, "code");
        t.error_message = text_field(*eo, "message");
      } else if (const auto* es = e->if_string()) {
        t.error_message = str_of(*es);
      }
    }
    for (std::string_view key : {"fail_reason", "failure_reason", "message"})
      if (t.error_message.empty()) t.error_message = text_field(o, key);
    if (t.error_code.empty()) t.error_code = text_field(o, "error_code");
  }
  for (std::string_view key : {"created_at", "created"}) {
    if (auto v = int_of(o.if_contains(key))) {
      t.created_at_ms = *v > 100000000000LL ? *v : *v * 1000;
      break;
    }
  }
  return t;
}

ProviderResult<std::vector<std::string>> parse_models_response(int http_status, std::string_view body,
                                                               const std::string& profile,
                                                               std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::query);
  if (!r) return fail(r.error());
  const json::value* data = r->if_contains("data");
  if (!data || !data->is_array())
    return fail(bad_response(http_status, "model list without a data array", profile, Op::query));
  std::vector<std::string> out;
  for (const auto& m : data->get_array()) {
    if (const auto* mo = m.if_object()) {
      if (auto id = text_field(*mo, "id"); !id.empty()) out.push_back(std::move(id));
    }
  }
  return out;
}

// ---- download -----------------------------------------------------------------------------------

std::optional<DownloadTarget> download_target(const ProfileConfig& profile, const TaskStatus& status, OutputKind kind) {
  if (kind != OutputKind::video) return std::nullopt;
  const std::pair<std::string, std::string> auth{"Authorization", "Bearer " + profile.api_key};
  if (!status.video_url.empty()) {
    DownloadTarget t{status.video_url, {}};
    if (same_origin(status.video_url, profile.base_url)) t.headers.push_back(auth);
    return t;
  }
  if (status.remote_id.empty()) return std::nullopt;
  return DownloadTarget{api_url(profile.base_url, content_path(status.remote_id)), {auth}};
}

// ---- errors -------------------------------------------------------------------------------------

std::optional<ErrorBody> parse_error_body(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  ErrorBody e;
  if (const json::value* err = o.if_contains("error")) {
    if (const auto* eo = err->if_object()) {
      e.code = text_field(*eo, "code");
      e.type = text_field(*eo, "type");
      e.message = text_field(*eo, "message");
      return e;
    }
    if (const auto* es = err->if_string()) {
      e.message = str_of(*es);
      e.code = text_field(o, "code");
      return e;
    }
  }
  if (o.contains("message") || o.contains("code")) {
    e.code = text_field(o, "code");
    e.message = text_field(o, "message");
    return e;
  }
  return std::nullopt;
}

ProviderError classify(int http_status, const std::optional<ErrorBody>& err, std::string fallback_message,
                       const std::string& profile, Op op, std::optional<milliseconds> retry_after) {
  const std::string code = (err && !err->code.empty()) ? err->code : std::string("http");
  std::string said = err ? std::string(trim(err->message)) : std::string();
  if (said.empty() && err && !err->type.empty()) said = err->type;
  const std::string body = said.empty() ? (fallback_message.empty() ? "" : "body: " + fallback_message) : said;
  auto compose = [&](std::string_view en) {
    return body.empty() ? std::string(en) : body + " (" + std::string(en) + ")";
  };
  const std::string st = "HTTP " + std::to_string(http_status);

  if (err && is_quota_error(*err))
    return make_error(ErrorClass::out_of_credit, profile, http_status, code,
                      compose("额度不足: the account's quota is exhausted"));
  if (err && to_lower(err->code) == "model_not_found")
    return make_error(ErrorClass::permanent, profile, http_status, code,
                      compose("模型不存在: unknown model ID; check GET /v1/models"));
  if (http_status == 429) {
    std::string en = "请求过于频繁: rate limited";
    if (retry_after) en += "; retry after " + std::to_string(retry_after->count()) + " ms";
    return make_error(ErrorClass::rate_limited, profile, http_status, code, compose(en), retry_after);
  }
  if (err && is_moderation_error(*err))
    return make_error(ErrorClass::permanent, profile, http_status, code,
                      compose("内容审核: the prompt or image was rejected by moderation; rewrite it"));
  if (http_status == 401 || http_status == 403)
    return make_error(ErrorClass::auth, profile, http_status, code,
                      compose(st + ": the API key was rejected, or it is not in the 视频 token group"));
  if (op == Op::submit && (http_status == 502 || http_status == 504))
    return make_error(ErrorClass::unknown_outcome, profile, http_status, code,
                      compose("网关错误: a gateway answered " + st +
                              " to the submit; the task may exist: check before resubmitting"));
  if (http_status == 408 || (http_status >= 500 && http_status < 600))
    return make_error(ErrorClass::retryable, profile, http_status, code,
                      compose(st + ": server or gateway error; will retry"), retry_after);
  if (is_2xx(http_status)) {
    // An explicit error object: the relay said no (submit: no task was
    // created); a query may succeed next time.
    if (op == Op::submit)
      return make_error(ErrorClass::permanent, profile, http_status, code,
                        compose(st + " with an error object: the submit was rejected"));
    return make_error(ErrorClass::retryable, profile, http_status, code,
                      compose(st + " with an error object; will retry"), retry_after);
  }
  if (http_status == 404)
    return make_error(ErrorClass::permanent, profile, http_status, code,
                      compose(st + ": not found (unknown task or path)"));
  return make_error(ErrorClass::permanent, profile, http_status, code, compose(st + ": the request was rejected"));
}

const kit::NetErrorMapper from_net_error = &kit::map_net_error<kNetText>;

HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                              std::string body, std::string content_type) {
  return kit::api_request(profile, std::move(method), api_url(profile.base_url, path_and_query),
                          kit::bearer_auth(profile.api_key), std::move(body), std::move(content_type));
}

// ---- the coroutine adapter ------------------------------------------------------------------------

namespace {


ProviderError scrubbed(ProviderError e, std::string_view key) { return kit::scrub(std::move(e), key); }

class OpenAiProvider final : public kit::AdapterBase {
 public:
  OpenAiProvider(const ProfileConfig& profile, HttpClient& http, std::shared_ptr<spdlog::logger> logger)
    : AdapterBase(profile, http, std::move(logger), from_net_error), dialect_(dialect_for(profile.base_url)) {}

  std::vector<FieldError> validate(const JobSpec& spec) const override { return openai::validate(spec, dialect_); }

  // No upload endpoint: the file travels in the submit's multipart body.
  awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override {
    if (asset.kind != LocalAsset::Kind::image)
      co_return fail(local("asset '" + asset.name + "': openai takes one reference image only"));
    if (!image_content_type(asset.path))
      co_return fail(local("asset '" + asset.name + "' (" + asset.path.filename().string() +
                           "): input_reference accepts .jpg, .jpeg, .png or .webp"));
    co_return "local:sha256:" + asset.sha256;
  }

  // Step 1; returns id (else task_id).
  awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override {
    const json::object fields = build_submit_body(req, dialect_);
    std::optional<FilePart> file;
    if (!req.spec.images.empty()) {
      const AssetRef& img = req.spec.images.front();
      if (img.is_url()) co_return fail(local("image '" + img.name + "': input_reference must be a local file"));
      const auto ct = image_content_type(img.location);
      if (!ct) co_return fail(local("image '" + img.name + "': input_reference accepts .jpg, .jpeg, .png or .webp"));
      FilePart part;
      part.filename = std::filesystem::path(img.location).filename().string();
      part.content_type = *ct;
      std::string why;
      if (!kit::read_file(img.location, part.bytes, why)) co_return fail(local(why));
      file = std::move(part);
    }
    Body body = build_submit_payload(fields, file, make_boundary());
    auto post = build_api_request(profile_, "POST", kVideosPath, std::move(body.bytes), std::move(body.content_type));
    co_return co_await submit(req, std::move(post), &parse_submit_response);
  }

  // Step 2.
  awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override {
    if (remote_id.empty()) co_return fail(local("query without a task id"));
    co_return co_await call(build_api_request(profile_, "GET", task_path(remote_id)), kit::Op::query, &parse_task_response, remote_id);
  }

  // Step 2 轮询建议: first after 8~10 s, then every 8~15 s.
  PollPolicy default_poll() const override {
    return PollPolicy{milliseconds(9000), milliseconds(8000), milliseconds(15000)};
  }

  std::chrono::seconds default_url_ttl() const override { return std::chrono::hours(1); }

  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override {
    return openai::download_target(profile_, status, kind);
  }

 private:
  Dialect dialect_;
};

}  // namespace

std::unique_ptr<Provider> make_openai_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<OpenAiProvider>(profile, http, std::move(logger));
}

awaitable<ProviderResult<std::vector<std::string>>> async_list_models(const ProfileConfig& profile, HttpClient& http) {
  auto r = co_await http.async_request(build_api_request(profile, "GET", kModelsPath));
  if (!r) co_return fail(scrubbed(from_net_error(r.error(), profile.name, false), profile.api_key));
  auto m = parse_models_response(r->status, r->body, profile.name, retry_after_of(*r));
  if (!m) co_return fail(scrubbed(m.error(), profile.api_key));
  co_return std::move(m).value();
}

}  // namespace reelbatch::openai
