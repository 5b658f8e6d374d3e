// The vibegen adapter: request building, response parsing, error
// classification and validation as pure functions (tested without sockets in
// tests/vibegen_adapter_test.cpp), and a thin coroutine class that only
// performs the HTTP exchanges. See vibegen.hpp for the doc sections and the
// interpretations.
#include "providers/vibegen/vibegen.hpp"

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/errors.hpp"
#include "providers/kit/util.hpp"
#include "src/core/text.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace reelbatch::vibegen {
using namespace kit::adapter_names;

namespace {

// ---- text helpers ---------------------------------------------------------------------

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// "https://" + at least one host character.
bool is_https_url(std::string_view s) { return starts_with_ci(s, "https://") && s.size() > 8; }
bool is_http_url(std::string_view s) {
  return is_https_url(s) || (starts_with_ci(s, "http://") && s.size() > 7);
}

// ---- error construction ---------------------------------------------------------------

using kit::Op;

// Doc 6: code → class and our explanation (the doc has no labels of its own).
constexpr std::array<kit::CodeInfo, 7> kCodes{{
    {"INVALID_API_KEY", ErrorClass::auth, "", "API key invalid or missing"},
    {"INVALID_PARAMETER", ErrorClass::permanent, "", "invalid request parameter; the row is rejected"},
    {"INSUFFICIENT_CREDITS", ErrorClass::out_of_credit, "", "not enough credits on the account"},
    {"TASK_NOT_FOUND", ErrorClass::permanent, "", "task not found or not owned by this API key"},
    {"RATE_LIMIT_EXCEEDED", ErrorClass::rate_limited, "", "rate limited (doc 8: 1000 creates and 1000 queries per minute)"},
    {"PROVIDER_ERROR", ErrorClass::retryable, "", "vibegen's upstream provider failed; will retry"},
    {"INTERNAL_ERROR", ErrorClass::retryable, "", "vibegen internal server error; will retry"},
}};

// "<vibegen's message> (<en>)", or "<en>" when vibegen said nothing.
std::string compose(std::string_view message, std::string_view en) { return kit::compose(message, "", en); }

// A response we cannot use. For a submit the task may exist.
ProviderError bad_response(int http_status, const std::string& what, const std::string& profile, Op op) {
  static constexpr kit::BadResponseText kText{
      "; the task may exist: reconcile with the task list before resubmitting", "; will retry"};
  return kit::bad_response(http_status, what, profile, op, kText);
}

// ---- envelopes (doc 1, 2, 6) -------------------------------------------------------------

// data on success; the classified error otherwise. A null or absent data
// comes back as a null value.
Result<json::value, ProviderError> unwrap(int http_status, std::string_view body, const std::string& profile,
                                          std::optional<milliseconds> retry_after, Op op) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  const json::object* o = (!ec) ? v.if_object() : nullptr;
  const bool submit = op == Op::submit;
  if (o) {
    if (const json::value* err = o->if_contains("error"); err && err->is_object()) {
      const json::object& e = err->get_object();
      std::string code, message;
      if (const json::value* c = e.if_contains("code"); c && c->is_string()) code = std::string(c->get_string());
      if (const json::value* m = e.if_contains("message"); m && m->is_string())
        message = std::string(m->get_string());
      return fail(classify(http_status, code, message, profile, retry_after, submit));
    }
    if (is_2xx(http_status)) {
      const json::value* success = o->if_contains("success");
      if (!success || !success->is_bool() || !success->get_bool())
        return fail(bad_response(http_status, "no \"success\": true in " + excerpt(body), profile, op));
      const json::value* data = o->if_contains("data");
      return data ? json::value(*data) : json::value(nullptr);
    }
  }
  if (is_2xx(http_status)) {
    const std::string what = body.empty() ? std::string("empty body") : "not a vibegen JSON answer: " + excerpt(body);
    return fail(bad_response(http_status, what, profile, op));
  }
  return fail(classify(http_status, "", excerpt(body), profile, retry_after, submit));
}

// ---- JSON field readers (false + `why` on a type error) ----------------------------------

// vibegen's variant: an integer is accepted (as its decimal text) exactly
// when the field is required (an id or status written as a number).
bool read_string(const json::object& o, std::string_view key, bool required, std::string& out, std::string& why) {
  return kit::read_string(o, key, required, out, why, /*allow_integer=*/required);
}

bool read_time(const json::object& o, std::string_view key, std::optional<std::int64_t>& out, std::string& why) {
  std::string text;
  if (!read_string(o, key, false, text, why)) return false;
  if (text.empty()) return true;
  out = parse_iso8601_ms(text);
  if (!out) {
    why = std::string(key) + " is not an ISO 8601 time: " + excerpt(text, 40);
    return false;
  }
  return true;
}

// One doc 2 task object (or a doc 3 item).
Result<TaskStatus, std::string> task_from_json(const json::value& v, bool require_output) {
  const json::object* o = v.if_object();
  if (!o) return fail(std::string("task is not an object"));
  TaskStatus t;
  std::string why;
  if (!read_string(*o, "id", true, t.remote_id, why) || !read_string(*o, "status", true, t.native_state, why) ||
      !read_string(*o, "video_url", false, t.video_url, why) || !read_time(*o, "created_at", t.created_at_ms, why))
    return fail(std::move(why));
  // doc 2: "error" is a string or null; the doc's SDK reads "error_message".
  const json::value* err = o->if_contains("error");
  if (err && err->is_object()) {  // tolerate {"code","message"} as in doc 6
    const json::object& e = err->get_object();
    if (!read_string(e, "code", false, t.error_code, why) || !read_string(e, "message", false, t.error_message, why))
      return fail("error." + why);
  } else if (!read_string(*o, "error", false, t.error_message, why)) {
    return fail(std::move(why));
  }
  if (t.error_message.empty() && !read_string(*o, "error_message", false, t.error_message, why))
    return fail(std::move(why));
  t.state = map_state(t.native_state);
  if (!is_documented_state(t.native_state))
    spdlog::warn("vibegen: task {} has undocumented status '{}'; treating it as running", t.remote_id,
                 t.native_state);
  if (require_output && t.state == RemoteState::succeeded && t.video_url.empty())
    return fail("task " + t.remote_id + " is completed but has no video_url");
  return t;
}

constexpr std::array<std::string_view, 9> kRatios{"16:9", "9:16", "1:1",      "21:9",      "4:3",
                                                  "3:4",  "9:21", "adaptive", "keep_ratio"};
constexpr std::array<int, 2> kDurations{5, 10};

// The wording of transport failures (kit::from_net_error).
constexpr kit::NetErrorText kNetText = kit::english_net_text(
    "); vibegen may have created the task: reconcile with the task list before resubmitting");

}  // namespace

// ---- validation ---------------------------------------------------------------------------

std::optional<std::string> normalize_resolution(std::string_view resolution) {
  const std::string r = to_lower(trim(resolution));
  for (std::string_view n : {"480", "720", "1080"})
    if (r == n || r == std::string(n) + "p") return std::string(n) + "p";
  return std::nullopt;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::optional<int> credit_cost(std::string_view resolution, int duration_s, bool audio) {
  struct Row {
    std::string_view res;
    int duration, with_audio, silent;
  };
  // doc 7, verbatim.
  static constexpr std::array<Row, 6> kTable{{{"480p", 5, 20, 15},
                                              {"720p", 5, 43, 30},
                                              {"1080p", 5, 90, 50},
                                              {"480p", 10, 40, 25},
                                              {"720p", 10, 86, 45},
                                              {"1080p", 10, 180, 100}}};
  const auto res = normalize_resolution(resolution);
  if (!res) return std::nullopt;
  for (const auto& r : kTable)
    if (r.res == *res && r.duration == duration_s) return audio ? r.with_audio : r.silent;
  return std::nullopt;
}

std::vector<FieldError> validate(const JobSpec& spec) {
  std::vector<FieldError> errs;
  if (trim(spec.prompt).empty()) errs.push_back({"prompt", "vibegen requires a prompt (doc 1: prompt is required)"});
  const std::size_t chars = utf8_length(spec.prompt);
  if (chars > kMaxPromptChars)
    errs.push_back({"prompt", "vibegen accepts at most 2000 characters (got " + std::to_string(chars) + ")"});
  if (!spec.model.empty() && spec.model != kDefaultModel)
    errs.push_back({"model", "vibegen documents only the model \"seedance 2.0\" (got " + spec.model + ")"});
  if (spec.duration_s && !one_of(kDurations, *spec.duration_s))
    errs.push_back({"duration", "vibegen accepts 5 or 10 s (got " + std::to_string(*spec.duration_s) + ")"});
  if (!spec.resolution.empty() && !normalize_resolution(spec.resolution))
    errs.push_back({"resolution", "vibegen accepts 480p, 720p or 1080p (got " + spec.resolution + ")"});
  if (!spec.aspect_ratio.empty() && !one_of(kRatios, std::string_view(spec.aspect_ratio)))
    errs.push_back({"aspect_ratio",
                    "vibegen accepts 16:9, 9:16, 1:1, 21:9, 4:3, 3:4, 9:21, adaptive or keep_ratio (got " +
                        spec.aspect_ratio + ")"});
  if (spec.seed) errs.push_back({"seed", "vibegen has no seed parameter"});
  if (!spec.videos.empty()) errs.push_back({"videos", "vibegen has no video references (image_urls only)"});
  if (!spec.audios.empty()) errs.push_back({"audios", "vibegen has no audio references (image_urls only)"});
  for (const auto& a : spec.images) {
    const std::string label = "image '" + a.name + "'";
    if (a.location.empty()) {
      errs.push_back({"images", label + ": no URL given"});
    } else if (!a.is_url()) {
      errs.push_back({"images", label + ": vibegen has no upload API; use an https URL (got a local file)"});
    } else if (!is_https_url(a.location)) {
      errs.push_back({"images", label + ": vibegen takes https image URLs only (got " +
                                    elide_url_queries(a.location) + ")"});
    }
  }
  if (const json::value* cb = spec.params.if_contains("callback_url")) {
    if (!cb->is_string() || !is_http_url(std::string_view(cb->get_string())))
      errs.push_back({"params", "callback_url must be an http(s) URL string"});
  }
  return errs;
}

// ---- submit -------------------------------------------------------------------------------

json::object build_submit_body(const SubmitRequest& req) {
  const JobSpec& s = req.spec;
  json::object body;
  body["model"] = s.model.empty() ? std::string(kDefaultModel) : s.model;
  body["prompt"] = s.prompt;
  if (!req.images.empty()) {
    json::array urls;
    for (const auto& a : req.images) urls.push_back(json::string(a.remote_ref));
    body["image_urls"] = std::move(urls);
  }
  if (s.duration_s) body["duration"] = *s.duration_s;
  if (!s.aspect_ratio.empty()) body["aspect_ratio"] = s.aspect_ratio;
  if (!s.resolution.empty()) body["resolution"] = normalize_resolution(s.resolution).value_or(s.resolution);
  if (s.audio) body["generate_audio"] = *s.audio;
  for (const auto& kv : s.params) body[kv.key()] = kv.value();
  return body;
}

ProviderResult<std::string> parse_submit_response(int http_status, std::string_view body, const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::submit);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "success without a data object", profile, Op::submit));
  std::string id, why;
  if (!read_string(*o, "id", true, id, why))
    return fail(bad_response(http_status, "success but " + why, profile, Op::submit));
  return id;
}

// ---- query, list ---------------------------------------------------------------------------

RemoteState map_state(std::string_view native) {
  const std::string s = to_lower(trim(native));
  if (s == "pending") return RemoteState::queued;
  if (s == "completed") return RemoteState::succeeded;
  if (s == "failed") return RemoteState::failed;
  return RemoteState::running;  // processing, and unknown words
}

bool is_documented_state(std::string_view native) {
  static constexpr std::array<std::string_view, 4> kStates{"pending", "processing", "completed", "failed"};
  return one_of(kStates, std::string_view(to_lower(trim(native))));
}

bool is_retryable_task_error(std::string_view error_message) {
  const std::string m = to_lower(error_message);
  for (std::string_view needle :
       {"timeout", "timed out", "超时", "provider error", "provider_error", "internal error", "internal_error",
        "upstream"})
    if (m.find(needle) != std::string::npos) return true;
  return false;
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) {
  using namespace std::chrono;
  text = trim(text);
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 19) return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (!is_digit(text[i])) return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't' &&
      text[10] != ' ') || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
  std::int64_t ms = duration_cast<milliseconds>((sys_days(ymd) + hours(*h) + minutes(*mi) + seconds(*s))
                                                    .time_since_epoch())
                        .count();
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0, frac = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (digits < 3) frac = frac * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) frac *= 10;
    ms += frac;
  }
  if (pos == text.size()) return ms;  // no zone: UTC
  if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) return ms;
  if ((text[pos] == '+' || text[pos] == '-') && text.size() == pos + 6 && text[pos + 3] == ':') {
    const auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    const std::int64_t off = (static_cast<std::int64_t>(*oh) * 60 + *om) * 60000;
    return text[pos] == '+' ? ms - off : ms + off;
  }
  return std::nullopt;
}

ProviderResult<TaskStatus> parse_task_response(int http_status, std::string_view body, const std::string& profile,
                                               std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::query);
  if (!r) return fail(r.error());
  if (r->is_null()) return fail(bad_response(http_status, "success without a data object", profile, Op::query));
  auto t = task_from_json(*r, true);
  if (!t) return fail(bad_response(http_status, t.error(), profile, Op::query));
  return std::move(t).value();
}

std::string task_path(std::string_view task_id) {
  return std::string(kTasksPath) + "/" + kit::percent_encode(task_id);
}

std::string task_list_path(int limit, int offset, std::string_view status) {
  std::string out(kTasksPath);
  out += '?';
  if (!status.empty()) {
    out += "status=";
    for (char c : status)
      if (is_alnum(c) || c == '_') out.push_back(c);  // the doc's four words need no escaping
    out += '&';
  }
  out += "limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset);
  return out;
}

ProviderResult<TaskPage> parse_task_list_response(int http_status, std::string_view body, const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, Op::query);
  if (!r) return fail(r.error());
  const json::object* o = r->if_object();
  if (!o) return fail(bad_response(http_status, "task list without a data object", profile, Op::query));
  TaskPage page;
  if (const json::value* tasks = o->if_contains("tasks"); tasks && !tasks->is_null()) {
    const json::array* arr = tasks->if_array();
    if (!arr) return fail(bad_response(http_status, "data.tasks is not an array", profile, Op::query));
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto t = task_from_json((*arr)[i], false);
      if (!t)
        return fail(
            bad_response(http_status, "task list item " + std::to_string(i) + ": " + t.error(), profile, Op::query));
      page.tasks.push_back(std::move(t).value());
    }
  }
  page.total = static_cast<std::int64_t>(page.tasks.size());
  if (const json::value* p = o->if_contains("pagination"); p && p->is_object()) {
    if (const json::value* total = p->get_object().if_contains("total"); total && !total->is_null()) {
      boost::system::error_code ec;
      const auto n = total->is_number() ? total->to_number<std::int64_t>(ec) : std::int64_t{0};
      if (!total->is_number() || ec)
        return fail(bad_response(http_status, "pagination.total is not an integer", profile, Op::query));
      page.total = n;
    }
  }
  return page;
}

// ---- callbacks -------------------------------------------------------------------------------

Result<TaskStatus, std::string> parse_callback(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return fail(std::string("callback body is not a JSON object"));
  const json::object& o = v.get_object();
  TaskStatus t;
  std::string why, event;
  if (!read_string(o, "task_id", true, t.remote_id, why) || !read_string(o, "status", true, t.native_state, why) ||
      !read_string(o, "event", false, event, why) || !read_string(o, "video_url", false, t.video_url, why) ||
      !read_string(o, "error_message", false, t.error_message, why) ||
      !read_time(o, "created_at", t.created_at_ms, why))
    return fail("callback: " + why);
  t.state = map_state(t.native_state);
  if (t.state == RemoteState::succeeded && t.video_url.empty())
    return fail("callback: task " + t.remote_id + " completed without video_url");
  return t;
}

// ---- errors ----------------------------------------------------------------------------------

ProviderError classify(int http_status, std::string_view code, std::string message, const std::string& profile,
                       std::optional<milliseconds> retry_after, bool is_submit) {
  const std::string code_s = code.empty() ? std::string("http") : std::string(code);
  const std::string st = "HTTP " + std::to_string(http_status);
  if (http_status == 429 || code == "RATE_LIMIT_EXCEEDED") {
    const std::string en = kit::with_retry_after(
        "rate limited by vibegen (doc 8: 1000 creates and 1000 queries per minute per key)", retry_after);
    return make_error(ErrorClass::rate_limited, profile, http_status, code_s, compose(message, en), retry_after);
  }
  if (is_submit && (http_status == 500 || http_status == 502 || http_status == 504))
    return make_error(ErrorClass::unknown_outcome, profile, http_status, code_s,
                      compose(message, st + " to the submit: vibegen may have recorded the task; reconcile with "
                                            "the task list before resubmitting"));
  if (const kit::CodeInfo* info = kit::find_code(kCodes, code))
    return make_error(info->cls, profile, http_status, code_s, compose(message, info->en), retry_after);
  const std::string what = code.empty() ? st + " without a vibegen error envelope"
                                        : "undocumented vibegen code " + std::string(code) + ", " + st;
  return kit::classify_status(kit::gateway_status_rules(), http_status, code_s, message, what, profile, retry_after);
}

const kit::NetErrorMapper from_net_error = &kit::map_net_error<kNetText>;

HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path_and_query,
                              std::string body) {
  return kit::json_api_request(profile, std::move(method), path_and_query, std::move(body));
}

// ---- the coroutine adapter -------------------------------------------------------------------

namespace {

class VibegenProvider final : public kit::AdapterBase {
 public:
  using AdapterBase::AdapterBase;

  std::vector<FieldError> validate(const JobSpec& spec) const override { return vibegen::validate(spec); }

  // No upload API (doc 1: image_urls are URLs); validate() stops such rows first.
  awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override {
    co_return fail(local("asset '" + asset.name + "': vibegen has no upload API; use an https URL"));
  }

  // Doc 1; returns data.id.
  awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override {
    auto post = build_api_request(profile_, "POST", kGenerationsPath, json::serialize(build_submit_body(req)));
    co_return co_await submit(req, std::move(post), &parse_submit_response);
  }

  // Doc 2.
  awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override {
    if (remote_id.empty()) co_return fail(local("query without a task id"));
    co_return co_await call(build_api_request(profile_, "GET", task_path(remote_id)), kit::Op::query, &parse_task_response);
  }

  bool has_task_list() const override { return true; }

  // Doc 3: page → offset.
  awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size) override {
    if (page < 1 || page_size < 1) co_return fail(local("task list page and page size count from 1"));
    const int offset = (page - 1) * page_size;
    co_return co_await call(build_api_request(profile_, "GET", task_list_path(page_size, offset)), kit::Op::query, &parse_task_list_response);
  }

  bool is_retryable_failure(const TaskStatus& s) const override {
    return s.state == RemoteState::failed && is_retryable_task_error(s.error_message);
  }

  // Doc 10: poll every 5-10 s.
  PollPolicy default_poll() const override {
    return PollPolicy{milliseconds(5000), milliseconds(5000), milliseconds(10000)};
  }

  // Doc 11: the video and its URL are deleted after 24 h.
  std::chrono::seconds default_url_ttl() const override { return std::chrono::hours(24); }

  // A plain URL: no headers (and never the API key).
  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override {
    if (kind != OutputKind::video || status.video_url.empty()) return std::nullopt;
    return DownloadTarget{status.video_url, {}};
  }

};

}  // namespace

std::unique_ptr<Provider> make_vibegen_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<VibegenProvider>(profile, http, std::move(logger), from_net_error);
}


std::optional<DocumentedPrice> documented_price(const JobSpec& spec) {
  const auto c = credit_cost(spec.resolution.empty() ? std::string_view("480p") : std::string_view(spec.resolution),
                             spec.duration_s.value_or(5), spec.audio.value_or(false));
  if (!c) return std::nullopt;
  return DocumentedPrice{static_cast<double>(*c), "vibegen doc 7 费用说明"};
}

}  // namespace reelbatch::vibegen
