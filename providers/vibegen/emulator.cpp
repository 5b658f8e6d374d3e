// The VibeGen AI Video API emulator. See emulator.hpp for the behaviour and
// the interpretations of the API document.
#include "providers/vibegen/emulator.hpp"
#include "providers/emulator/module_util.hpp"
#include "providers/emulator/task_store.hpp"

#include "src/core/sha256.hpp"
#include "src/core/text.hpp"
#include "src/net/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

namespace reelbatch::emulator {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kName = "vibegen";
constexpr std::string_view kPrefix = "/vibegen";
constexpr std::string_view kApi = "/api/v1";
constexpr std::string_view kCdn = "/cdn/videos/";
constexpr std::string_view kModel = "seedance 2.0";  // doc 1, doc 7
constexpr std::size_t kMaxPrompt = 2000;             // doc 8
constexpr std::int64_t kPendingMs = 3000;
constexpr std::int64_t kPolicyFailAfterMs = 12000;   // into processing

constexpr std::array<std::string_view, 9> kRatios = {"16:9", "9:16", "1:1",      "21:9",      "4:3",
                                                     "3:4",  "9:21", "adaptive", "keep_ratio"};
constexpr std::array<std::string_view, 3> kResolutions = {"480p", "720p", "1080p"};

// ---- task states ------------------------------------------------------------

enum class St { pending, processing, completed, failed };
constexpr StatusNames<St, 4> kStatus{"vibegen", {"pending", "processing", "completed", "failed"}};
bool is_active(St s) { return s == St::pending || s == St::processing; }

enum class FailKind { none, policy, provider, hang };
constexpr std::string_view kPolicyMsg = "Content policy violation";
constexpr std::string_view kProviderMsg = "Upstream provider error";
constexpr std::string_view kTimeoutMsg = "Generation timed out after 10 minutes";

// ---- helpers ------------------------------------------------------------------

bool key_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

// "sk-" + at least 8 of [A-Za-z0-9_-], at most 200 characters.
bool valid_api_key(std::string_view k) {
  return k.size() >= 11 && k.size() <= 200 && k.substr(0, 3) == "sk-" && std::all_of(k.begin() + 3, k.end(), key_char);
}

bool starts_with_ci(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}
bool is_https_url(std::string_view s) { return starts_with_ci(s, "https://") && s.size() > 8; }
bool is_http_url(std::string_view s) { return is_https_url(s) || (starts_with_ci(s, "http://") && s.size() > 7); }

// Processing time at time_scale 1.
std::int64_t generation_ms(std::string_view resolution, int duration, bool audio) {
  const std::int64_t per_second = resolution == "1080p" ? 9000 : resolution == "720p" ? 5000 : 3000;
  const std::int64_t ms = 20000 + per_second * duration;
  return audio ? ms * 6 / 5 : ms;
}

// ---- responses ------------------------------------------------------------------

Response answer(int status, const json::value& v) {
  return json_response(status, v, "application/json; charset=utf-8");
}
Response ok(int status, json::value data) {
  return answer(status, json::object{{"success", true}, {"data", std::move(data)}});
}
Response error(int status, std::string_view code, std::string message) {
  return answer(status, json::object{{"error", json::object{{"code", code}, {"message", std::move(message)}}}});
}
Response bad_param(std::string message) { return error(400, "INVALID_PARAMETER", std::move(message)); }
Response unauthorized() { return error(401, "INVALID_API_KEY", "Invalid or missing API key"); }
Response task_not_found() { return error(404, "TASK_NOT_FOUND", "Task not found"); }
Response route_not_found() { return error(404, "NOT_FOUND", "Not found"); }

// ---- model ----------------------------------------------------------------------

struct Account {
  std::int64_t credits = 0;
  std::vector<std::string> tasks;       // ids, oldest first
  std::deque<std::int64_t> creates;     // request times (unix ms) in the rate window
  std::deque<std::int64_t> queries;
};

struct Task {
  std::string id;
  std::string account;  // key fingerprint
  std::uint64_t seq = 0;
  std::string model, prompt, task_type, aspect, resolution, callback_url;
  std::string authority;  // "host:port" the create was sent to: video_url's host in callbacks
  json::array image_urls;
  int duration = 5;
  bool audio = false;
  std::int64_t cost = 0;
  St status = St::pending;
  std::int64_t created_ms = 0;
  std::int64_t processing_ms = 0;  // when pending ends
  std::int64_t end_ms = 0;         // when the task completes or fails
  std::string fail_message;        // empty: it completes
  std::int64_t completed_ms = 0;   // set when terminal
  std::string video_sha256;
  std::uint64_t video_bytes = 0;
};

FieldTable<Task> task_fields() {
  return {"vibegen",
          {field("id", &Task::id),
           field("account", &Task::account),
           field("seq", &Task::seq),
           field("model", &Task::model),
           field("prompt", &Task::prompt),
           field("task_type", &Task::task_type),
           field("aspect_ratio", &Task::aspect),
           field("resolution", &Task::resolution),
           field("callback_url", &Task::callback_url),
           field("authority", &Task::authority),
           field("image_urls", &Task::image_urls),
           field("duration", &Task::duration),
           field("generate_audio", &Task::audio),
           field("cost", &Task::cost),
           field("status", &Task::status, kStatus),
           field("created_ms", &Task::created_ms),
           field("processing_ms", &Task::processing_ms),
           field("end_ms", &Task::end_ms),
           field("fail_message", &Task::fail_message),
           field("completed_ms", &Task::completed_ms),
           field("video_sha256", &Task::video_sha256),
           field("video_bytes", &Task::video_bytes)}};
}

constexpr StateReader kState{"vibegen"};  // account fields

// ---- callback delivery ------------------------------------------------------------

// Posts one doc 4 callback, retrying (see emulator.hpp).
asio::awaitable<void> deliver_callback(HttpClient& http, VibegenLimits limits, const Options* options, std::string url,
                                       std::string body, std::string task_id, std::shared_ptr<spdlog::logger> log) {
  const int attempts = std::max(1, limits.callback_attempts);
  for (int i = 0; i < attempts; ++i) {
    HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.headers = {{"Content-Type", "application/json"}, {"User-Agent", "vibegen-emulator-webhook/1.0"}};
    req.body = body;
    req.timeout = limits.callback_timeout;
    auto r = co_await http.async_request(std::move(req));
    if (r && r->status >= 200 && r->status < 300) {
      log->info("vibegen emulator: callback for task {} delivered (HTTP {})", task_id, r->status);
      co_return;
    }
    log->warn("vibegen emulator: callback for task {} attempt {}/{} failed: {}", task_id, i + 1, attempts,
                 r ? "HTTP " + std::to_string(r->status) : r.error().message);
    if (i + 1 == attempts) break;
    const double scale = options ? std::max(0.0, options->time_scale) : 1.0;
    asio::steady_timer timer(http.get_executor());
    timer.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(1000.0 * (i + 1) * scale)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  log->warn("vibegen emulator: callback for task {} given up", task_id);
}

// ---- the module -------------------------------------------------------------------

class VibegenModule final : public ModuleBase {
 public:
  VibegenModule(Services s, VibegenLimits limits)
      : ModuleBase(std::move(s)), limits_(limits), sender_("vibegen emulator", s_.log) {}

  std::string name() const override { return std::string(kName); }

  Response internal_error() override { return error(500, "INTERNAL_ERROR", "Internal server error"); }

  bool busy() const override {
    std::lock_guard lk(mu_);
    return !active_.empty();
  }

  json::value save() const override {
    std::lock_guard lk(mu_);
    json::object accounts;
    for (const auto& [fp, a] : accounts_) {
      json::array ids;
      for (const auto& id : a.tasks) ids.push_back(json::string(id));
      accounts[fp] = json::object{{"credits", a.credits}, {"tasks", std::move(ids)}};
    }
    return tasks_.save({{"accounts", std::move(accounts)}});
  }

  void load(const json::value& state) override {
    std::lock_guard lk(mu_);
    const json::object& o = state.as_object();
    accounts_.clear();
    active_.clear();
    for (const auto& [fp, v] : kState.at(o, "accounts").as_object()) {
      Account a;
      a.credits = kState.i64(v.as_object(), "credits");
      accounts_.emplace(std::string(fp), std::move(a));
    }
    tasks_.load(o, [&](const Task& t) {
      auto acc = accounts_.find(t.account);
      if (acc == accounts_.end()) throw std::runtime_error("vibegen state: task " + t.id + " of an unknown account");
      acc->second.tasks.push_back(t.id);  // saved in creation (seq) order
      if (is_active(t.status)) active_.push_back(t.id);
    });
  }

 private:
  // ---- routing ----

  enum class Class { create, query };

  Response route(const Request& req, std::string_view path) override {
    if (path.starts_with(kCdn)) return cdn(req, path.substr(kCdn.size()));
    if (!path.starts_with(kApi)) return route_not_found();
    const std::string_view p = path.substr(kApi.size());
    if (p == "/generations")
      return need(req, "POST", Class::create, [&](const std::string& fp) { return create(req, fp); });
    if (p == "/tasks" || p == "/tasks/")
      return need(req, "GET", Class::query, [&](const std::string& fp) { return list(req, fp); });
    if (p.starts_with("/tasks/") && p.find('/', 7) == std::string_view::npos) {
      const std::string id = percent_decode(p.substr(7));
      return need(req, "GET", Class::query, [&](const std::string& fp) { return query(req, fp, id); });
    }
    return route_not_found();
  }

  // Method, then auth, then the rate limit; then `f(fingerprint)`.
  template <class F>
  Response need(const Request& req, std::string_view method, Class cls, F&& f) {
    const bool create = cls == Class::create;
    if (!method_is(req, method)) {
      if (create) s_.count_rejected_submit();
      Response r = error(405, "METHOD_NOT_ALLOWED", "Method " + req.method + " not allowed; use " + std::string(method));
      r.set("Allow", std::string(method));
      return r;
    }
    const std::string auth = req.header("Authorization");
    const std::string_view a(auth);
    if (!starts_with_ci(a, "Bearer ") || !valid_api_key(a.substr(7))) {
      if (create) s_.count_rejected_submit();
      return unauthorized();
    }
    const std::string fp = key_fingerprint(a.substr(7));
    Account& acc = account(fp);
    const std::int64_t now = s_.now_ms();
    auto& window = create ? acc.creates : acc.queries;
    const int cap = std::max(1, create ? limits_.creates_per_minute : limits_.queries_per_minute);
    const std::int64_t span = std::max<std::int64_t>(1, limits_.rate_window.count());
    while (!window.empty() && window.front() <= now - span) window.pop_front();
    if (static_cast<int>(window.size()) >= cap) {
      if (create) s_.count_rejected_submit();
      const std::int64_t wait_ms = window.front() + span - now;
      Response r = error(429, "RATE_LIMIT_EXCEEDED",
                         "Rate limit exceeded: at most " + std::to_string(cap) + (create ? " task creations" : " queries") +
                             " per minute per API key");
      r.set("Retry-After", std::to_string(std::max<std::int64_t>(1, (wait_ms + 999) / 1000)));
      return r;
    }
    window.push_back(now);
    return f(fp);
  }

  Account& account(const std::string& fp) {
    auto it = accounts_.find(fp);
    if (it != accounts_.end()) return it->second;
    Account a;
    a.credits = static_cast<std::int64_t>(std::llround(limits_.initial_credits));
    s_.state_changed();
    return accounts_.emplace(fp, std::move(a)).first->second;
  }

  // ---- create (doc 1) ----

  Response create(const Request& req, const std::string& fp) {
    return count_rejected(s_, tasks_, [&] { return create_checked(req, fp); });
  }

  Response create_checked(const Request& req, const std::string& fp) {
    boost::system::error_code ec;
    json::value parsed = json::parse(req.body, ec);
    if (ec || !parsed.is_object()) return bad_param("Invalid JSON body");
    const json::object& body = parsed.get_object();
    auto field = [&](std::string_view k) -> const json::value* {
      const json::value* v = body.if_contains(k);
      return (v && !v->is_null()) ? v : nullptr;
    };
    auto blank = [](const json::value* v) {
      return !v || (v->is_string() && v->get_string().find_first_not_of(" \t\r\n") == json::string::npos);
    };

    const json::value* model = field("model");
    const json::value* prompt = field("prompt");
    std::string missing;
    if (blank(model)) missing = "model";
    if (blank(prompt)) missing += missing.empty() ? "prompt" : ", prompt";
    if (!missing.empty()) return bad_param("Missing required parameters: " + missing);
    if (!model->is_string()) return bad_param("model must be a string");
    if (!prompt->is_string()) return bad_param("prompt must be a string");
    Task t;
    t.model = std::string(model->get_string());
    t.prompt = std::string(prompt->get_string());
    if (t.model != kModel) return bad_param("Unsupported model: " + t.model + ". Supported models: seedance 2.0");
    if (utf8_length(t.prompt) > kMaxPrompt)
      return bad_param("prompt exceeds the maximum length of 2000 characters (got " +
                       std::to_string(utf8_length(t.prompt)) + ")");

    if (const json::value* v = field("image_urls")) {
      if (!v->is_array()) return bad_param("image_urls must be an array of https URLs");
      for (std::size_t i = 0; i < v->get_array().size(); ++i) {
        const json::value& u = v->get_array()[i];
        if (!u.is_string() || !is_https_url(std::string_view(u.get_string())))
          return bad_param("image_urls[" + std::to_string(i) + "] must be an https URL");
        t.image_urls.push_back(u);
      }
    }
    t.task_type = t.image_urls.empty() ? "text_to_video" : "image_to_video";

    if (const json::value* v = field("duration")) {
      boost::system::error_code nec;
      const double d = v->is_number() ? v->to_number<double>(nec) : 0.0;
      if (!v->is_number() || nec || (d != 5.0 && d != 10.0))
        return bad_param("duration must be 5 or 10");
      t.duration = static_cast<int>(d);
    }
    auto one_of = [&](std::string_view k, const auto& allowed, std::string_view def, std::string& out,
                      std::string_view list) -> std::optional<Response> {
      const json::value* v = field(k);
      if (!v) {
        out = std::string(def);
        return std::nullopt;
      }
      if (!v->is_string() ||
          std::find(allowed.begin(), allowed.end(), std::string_view(v->get_string())) == allowed.end())
        return bad_param(std::string(k) + " must be one of: " + std::string(list));
      out = std::string(v->get_string());
      return std::nullopt;
    };
    if (auto e = one_of("aspect_ratio", kRatios, "16:9", t.aspect,
                        "16:9, 9:16, 1:1, 21:9, 4:3, 3:4, 9:21, adaptive, keep_ratio"))
      return *e;
    if (auto e = one_of("resolution", kResolutions, "480p", t.resolution, "480p, 720p, 1080p")) return *e;
    if (const json::value* v = field("generate_audio")) {
      if (!v->is_bool()) return bad_param("generate_audio must be a boolean");
      t.audio = v->get_bool();
    }
    if (const json::value* v = field("callback_url")) {
      if (!v->is_string() || !is_http_url(std::string_view(v->get_string())))
        return bad_param("callback_url must be an http(s) URL");
      t.callback_url = std::string(v->get_string());
    }

    Account& acc = account(fp);
    t.cost = vibegen_credit_cost(t.resolution, t.duration, t.audio);
    if (acc.credits < t.cost)
      return error(402, "INSUFFICIENT_CREDITS",
                   "Insufficient credits. Required: " + std::to_string(t.cost) +
                       ", Available: " + std::to_string(std::max<std::int64_t>(0, acc.credits)));

    // Accepted.
    const std::int64_t now = s_.now_ms();
    t.id = tasks_.new_id([&] { return uuid_v4(); });
    t.account = fp;
    t.authority = req.authority();
    t.seq = tasks_.next_seq();
    t.created_ms = now;
    t.status = St::pending;
    plan(t);
    Submission sub = make_submission(kName, t.id, fp, req.body, now, vibegen_video_bytes(t.id, t.prompt));
    t.video_sha256 = sub.video_sha256;
    t.video_bytes = sub.video_bytes;
    acc.credits -= t.cost;

    json::object data{{"id", t.id},
                      {"status", "pending"},
                      {"model", t.model},
                      {"task_type", t.task_type},
                      {"created_at", iso8601(t.created_ms)}};
    s_.log->info("vibegen emulator: task {} created (account {}, {} s, {}, audio {}, {} credits{})", t.id, fp,
                 t.duration, t.resolution, t.audio, t.cost,
                 t.fail_message.empty() ? "" : ", will fail: " + t.fail_message);
    acc.tasks.push_back(t.id);
    active_.push_back(t.id);
    tasks_.insert(std::move(t));
    announce_submission(s_, std::move(sub));
    return ok(201, std::move(data));
  }

  // Fixes when a new task leaves pending and when (and how) it ends.
  void plan(Task& t) const {
    const auto scaled = [&](std::int64_t ms) { return s_.scaled(std::chrono::milliseconds(ms)).count(); };
    t.processing_ms = t.created_ms + scaled(kPendingMs);
    const std::int64_t timeout_at =
        t.created_ms + scaled(std::chrono::duration_cast<std::chrono::milliseconds>(limits_.generation_timeout).count());
    const std::int64_t gen = scaled(generation_ms(t.resolution, t.duration, t.audio));
    FailKind kind = FailKind::none;
    if (draw_failure(s_, t.seq, "vibegen:", 1)) {
      const double k = unit_hash(s_.options->seed, t.seq, "vibegen:kind");
      kind = k < 1.0 / 3 ? FailKind::policy : k < 2.0 / 3 ? FailKind::provider : FailKind::hang;
    }
    switch (kind) {
      case FailKind::none:
        t.end_ms = t.processing_ms + gen;
        break;
      case FailKind::policy:
        t.end_ms = t.processing_ms + std::min(gen, scaled(kPolicyFailAfterMs));
        t.fail_message = std::string(kPolicyMsg);
        break;
      case FailKind::provider:
        t.end_ms = t.processing_ms + gen / 2;
        t.fail_message = std::string(kProviderMsg);
        break;
      case FailKind::hang:
        t.end_ms = timeout_at;
        t.fail_message = std::string(kTimeoutMsg);
        break;
    }
    if (t.end_ms >= timeout_at && kind != FailKind::hang) {  // doc 8: fails at the 10-minute mark
      t.end_ms = timeout_at;
      t.fail_message = std::string(kTimeoutMsg);
    }
  }

  // A UUID v4, like the doc's "550e8400-e29b-41d4-a716-446655440000".
  std::string uuid_v4() {
    static const char* hex = "0123456789abcdef";
    std::string id;
    const std::uint64_t a = rng_(), b = rng_();
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
      const std::uint64_t word = i < 16 ? a : b;
      int nibble = static_cast<int>((word >> ((i % 16) * 4)) & 15);
      if (i == 12) nibble = 4;                 // version 4
      if (i == 16) nibble = 8 | (nibble & 3);  // variant 10xx
      id.push_back(hex[nibble]);
    }
    return id;
  }

  // ---- queries (doc 2, 3) ----

  json::object task_json(const Request& req, const Task& t) const {
    json::object o{
        {"id", t.id},
        {"status", kStatus(t.status)},
        {"model", t.model},
        {"task_type", t.task_type},
        {"prompt", t.prompt},
        {"video_url", t.status == St::completed ? json::value(video_url(req.authority(), t)) : json::value(nullptr)},
        {"created_at", iso8601(t.created_ms)},
        {"completed_at", t.status == St::completed ? json::value(iso8601(t.completed_ms)) : json::value(nullptr)},
        {"error", t.status == St::failed ? json::value(t.fail_message) : json::value(nullptr)},
    };
    if (t.status == St::failed) o["error_message"] = t.fail_message;  // what the doc's SDK reads
    return o;
  }

  std::int64_t video_expires_s(const Task& t) const {
    std::chrono::seconds ttl = limits_.video_ttl;
    if (s_.options) ttl = std::min(ttl, s_.options->url_ttl);
    return t.completed_ms / 1000 + ttl.count();
  }

  std::string video_url(const std::string& authority, const Task& t) const {
    const std::string path = std::string(kPrefix) + std::string(kCdn) + t.id + ".mp4";
    const std::int64_t expires = video_expires_s(t);
    return signed_url(s_, authority, path, expires);
  }

  Response query(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return task_not_found();
    return ok(200, task_json(req, *t));
  }

  Response list(const Request& req, const std::string& fp) {
    std::optional<St> filter;
    if (const auto st = req.query_param("status"); st && !st->empty()) {
      if (!kStatus.contains(*st)) return bad_param("status must be one of: pending, processing, completed, failed");
      filter = kStatus.parse(*st);
    }
    const auto limit = decimal_query_param(req, "limit", 20);
    if (!limit || *limit < 1) return bad_param("limit must be a positive integer");
    const auto offset = decimal_query_param(req, "offset", 0);
    if (!offset) return bad_param("offset must be a non-negative integer");
    const Account& acc = accounts_.at(fp);
    std::vector<const Task*> matching;
    for (auto it = acc.tasks.rbegin(); it != acc.tasks.rend(); ++it) {  // newest first
      const Task& t = tasks_.at(*it);
      if (!filter || t.status == *filter) matching.push_back(&t);
    }
    const auto total = static_cast<std::int64_t>(matching.size());
    json::array tasks;
    for (std::int64_t i = *offset; i < total && i < *offset + *limit; ++i)
      tasks.push_back(task_json(req, *matching[static_cast<std::size_t>(i)]));
    json::object pagination{{"page", *offset / *limit + 1},
                            {"pageSize", *limit},
                            {"total", total},
                            {"total_pages", (total + *limit - 1) / *limit}};
    return ok(200, json::object{{"tasks", std::move(tasks)}, {"pagination", std::move(pagination)}});
  }

  // ---- CDN ----

  Response cdn(const Request& req, std::string_view file) {
    if (auto refused = check_signed_download(req, s_, "404 Not Found: the video was deleted 24 h after completion\n"))
      return *refused;
    if (!file.ends_with(".mp4")) return plain_not_found();
    const Task* t = tasks_.find(std::string(file.substr(0, file.size() - 4)));
    if (!t || t->status != St::completed) return plain_not_found();
    return serve_bytes(req, vibegen_video_bytes(t->id, t->prompt), "video/mp4", t->video_sha256);
  }

  // ---- time ----

  void advance(std::int64_t now) override {
    bool changed = false;
    for (auto it = active_.begin(); it != active_.end();) {
      Task& t = tasks_.at(*it);
      if (t.status == St::pending && now >= t.processing_ms) {
        t.status = St::processing;
        changed = true;
      }
      if (now >= t.end_ms && !s_.stuck(kName, t.id)) {  // a stuck task (fault never_finish) stays processing
        finish(t);
        changed = true;
      }
      it = is_active(t.status) ? it + 1 : active_.erase(it);
    }
    if (changed) s_.state_changed();
  }

  void finish(Task& t) {
    t.completed_ms = t.end_ms;
    if (t.fail_message.empty()) {
      t.status = St::completed;
      s_.log->info("vibegen emulator: task {} completed", t.id);
    } else {
      t.status = St::failed;
      accounts_.at(t.account).credits += t.cost;  // refunded
      s_.log->info("vibegen emulator: task {} failed: {}", t.id, t.fail_message);
    }
    if (t.callback_url.empty()) return;
    json::object cb;
    if (t.status == St::completed) {
      cb = json::object{{"event", "task.completed"},
                        {"task_id", t.id},
                        {"status", "completed"},
                        {"video_url", video_url(t.authority, t)},
                        {"created_at", iso8601(t.created_ms)},
                        {"completed_at", iso8601(t.completed_ms)}};
    } else {
      cb = json::object{{"event", "task.failed"},
                        {"task_id", t.id},
                        {"status", "failed"},
                        {"error_message", t.fail_message},
                        {"created_at", iso8601(t.created_ms)},
                        {"failed_at", iso8601(t.completed_ms)}};
    }
    sender_.post([limits = limits_, options = s_.options, url = t.callback_url, body = json::serialize(cb), id = t.id,
                  log = s_.log](HttpClient& http) {
      return deliver_callback(http, limits, options, url, body, id, log);
    });
  }

  VibegenLimits limits_;
  std::map<std::string, Account> accounts_;      // by key fingerprint
  TaskStore<Task> tasks_{task_fields()};         // by task id
  std::vector<std::string> active_;              // pending or processing
  CallbackPoster sender_;                        // last: destroyed (joined) first
};

}  // namespace

std::unique_ptr<Module> make_vibegen_module(Services services) {
  return std::make_unique<VibegenModule>(std::move(services), VibegenLimits{});
}

std::unique_ptr<Module> make_vibegen_module_with(Services services, VibegenLimits limits) {
  return std::make_unique<VibegenModule>(std::move(services), limits);
}

int vibegen_credit_cost(std::string_view resolution, int duration, bool audio) {
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
  for (const auto& r : kTable)
    if (r.res == resolution && r.duration == duration) return audio ? r.with_audio : r.silent;
  return 0;
}

std::string vibegen_video_bytes(std::string_view task_id, std::string_view prompt) {
  return mp4_with_free_box("reelbatch vibegen emulator\ntask_id=" + std::string(task_id) + "\nprompt=" +
                           std::string(prompt) + "\n");
}

}  // namespace reelbatch::emulator
