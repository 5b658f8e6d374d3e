// The Seedance 2.0 API emulator. See emulator.hpp for the behaviour and the
// interpretations of the API document.
#include "providers/seedance2/emulator.hpp"
#include "providers/seedance2/emulator_protocol.hpp"
#include "providers/emulator/module_util.hpp"
#include "providers/emulator/task_store.hpp"

#include "src/core/sha256.hpp"
#include "src/core/text.hpp"
#include "src/net/http_client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

namespace reelbatch::emulator {
namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kName = "seedance2";
constexpr std::string_view kPrefix = "/seedance2";
constexpr std::int64_t kRateWindowMs = 60'000;
constexpr std::size_t kMaxFileName = 128;
constexpr std::size_t kMaxCallbackUrl = 512;
constexpr std::int64_t kPendingMs = 2000;
constexpr std::int64_t kQueuedMinMs = 3000;

using namespace seedance2;  // the document's tables, answers and the task records (emulator_protocol.hpp)

constexpr StateReader kState{"seedance2"};  // account fields

// ---- the module -------------------------------------------------------------------

class Seedance2Module final : public ModuleBase {
 public:
  explicit Seedance2Module(Services s) : ModuleBase(std::move(s)) {}

  std::string name() const override { return std::string(kName); }

  Response internal_error() override { return error("INTERNAL_ERROR"); }

  bool busy() const override {
    std::lock_guard lk(mu_);
    for (const auto& [fp, a] : accounts_)
      if (!a.active.empty()) return true;
    return false;
  }

  json::value save() const override {
    std::lock_guard lk(mu_);
    json::object accounts;
    for (const auto& [fp, a] : accounts_)
      accounts[fp] = json::object{
          {"total_credits", a.total}, {"used_credits", a.used}, {"uploads", save_map(a.uploads, kUploadFields)}};
    // Tasks in seq order, so load() rebuilds the per-account lists in order.
    return tasks_.save({{"accounts", std::move(accounts)}, {"presigned", save_map(presigned_, kPresignedFields)}});
  }

  void load(const json::value& state) override {
    std::lock_guard lk(mu_);
    const auto& o = state.as_object();
    accounts_.clear();
    expiries_.clear();
    for (const auto& kv : kState.at(o, "accounts").as_object()) {
      const auto& ao = kv.value().as_object();
      Account a;
      a.total = kState.dbl(ao, "total_credits");
      a.used = kState.dbl(ao, "used_credits");
      load_map(kState.at(ao, "uploads"), a.uploads, kUploadFields);
      accounts_[std::string(kv.key())] = std::move(a);
    }
    load_map(kState.at(o, "presigned"), presigned_, kPresignedFields);
    tasks_.load(o, [&](const Task& t) {
      Account& a = account(t.account);
      a.tasks.push_back(t.id);
      if (!is_terminal(t.status)) a.active.push_back(t.id);
      if (t.status == St::completed) expiries_.emplace(expiry_ms(t), t.id);
    });
  }

 private:
  // ---- routing ----

  Response route(const Request& req, std::string_view path) override {
    if (path.starts_with("/s3/")) return s3_put(req);
    if (path.starts_with("/cdn/")) return cdn(req, path.substr(5));
    constexpr std::string_view api = "/api/v1/video";
    if (!path.starts_with(api)) return not_found();
    const std::string_view p = path.substr(api.size());
    auto bind = [this](auto fn) {
      return [this, fn](const Request& r, const std::string& fp) { return (this->*fn)(r, fp); };
    };
    if (p == "/upload/presign") return need(req, "POST", false, bind(&Seedance2Module::presign));
    if (p == "/task") return need(req, "POST", true, bind(&Seedance2Module::submit));
    if (p == "/tasks") return need(req, "GET", false, bind(&Seedance2Module::list));
    if (p == "/balance") return need(req, "GET", false, bind(&Seedance2Module::balance));
    constexpr std::string_view task_prefix = "/task/";
    if (p.starts_with(task_prefix) && p.size() > task_prefix.size()) {
      std::string_view rest = p.substr(task_prefix.size());
      constexpr std::string_view cancel_suffix = "/cancel";
      const bool is_cancel = rest.ends_with(cancel_suffix) && rest.size() > cancel_suffix.size();
      if (is_cancel) rest.remove_suffix(cancel_suffix.size());
      if (rest.find('/') == std::string_view::npos) {
        const std::string id = percent_decode(rest);
        if (is_cancel)
          return need(req, "POST", false, [&](const Request&, const std::string& fp) { return cancel(fp, id); });
        return need(req, "GET", false, [&](const Request& r, const std::string& fp) { return query(r, fp, id); });
      }
    }
    return not_found();
  }

  static Response not_found() {
    return answer(404, json::object{{"code", "NOT_FOUND"}, {"message", "Not found"}});
  }

  // Checks the method and the API key, then calls `f(req, fingerprint)`.
  // `submit`: a rejection counts as a rejected submit.
  template <class F>
  Response need(const Request& req, std::string_view method, bool submit, F&& f) {
    if (!method_is(req, method)) {
      if (submit) s_.count_rejected_submit();
      Response r = answer(405, json::object{{"code", "METHOD_NOT_ALLOWED"},
                                            {"message", "Method not allowed: use " + std::string(method)}});
      r.set("Allow", std::string(method));
      return r;
    }
    const std::string key = req.header("X-API-Key");
    if (!valid_api_key(key)) {
      if (submit) s_.count_rejected_submit();
      return error("INVALID_API_KEY", key.empty() ? "Invalid API key: missing X-API-Key header" : "Invalid API key");
    }
    const std::string fp = key_fingerprint(key);
    account(fp);  // an account per key, created on first use
    return f(req, fp);
  }

  Account& account(const std::string& fp) {
    auto it = accounts_.find(fp);
    if (it != accounts_.end()) return it->second;
    Account a;
    a.total = kSeedance2InitialCredits;
    s_.state_changed();
    return accounts_.emplace(fp, std::move(a)).first->second;
  }

  // ---- presign + PUT ----

  Response presign(const Request& req, const std::string& fp) {
    const auto filename = req.query_param("filename");
    if (!filename || filename->empty()) return missing("filename");
    const auto content_type = req.query_param("content_type");
    if (!content_type || content_type->empty()) return missing("content_type");
    if (utf8_length(*filename) > kMaxFileName) return invalid("filename must be at most 128 characters");
    if (std::any_of(filename->begin(), filename->end(),
                    [](char c) { return c == '/' || c == '\\' || (static_cast<unsigned char>(c) < 0x20) || c == 0x7f; }))
      return invalid("filename must not contain '/', '\\' or control characters");
    const ContentType* type = find_content_type(*content_type);
    if (!type)
      return invalid("content_type must be one of image/png, image/jpeg, image/webp, video/mp4, video/quicktime, "
                     "video/webm");
    const auto dot = filename->rfind('.');
    const std::string ext = dot == std::string::npos ? std::string() : to_lower(filename->substr(dot + 1));
    if (ext.empty() || std::find(type->extensions.begin(), type->extensions.end(), ext) == type->extensions.end())
      return invalid("filename extension does not match content_type " + std::string(type->mime) + " (expected ." +
                     std::string(type->extensions[0]) +
                     (type->extensions[1].empty() ? "" : " or ." + std::string(type->extensions[1])) + ")");

    const std::string file_path = "api/uploads/" + fp + "/" + random_hex(rng_, 32) + "_" + *filename;
    const std::string path = std::string(kPrefix) + "/s3/" + encode_path(file_path);
    const std::int64_t ttl = s_.options->upload_url_ttl.count();
    const std::int64_t expires = s_.now_s() + ttl;
    const std::string sig = s_.signer->token(path, expires, "PUT\n" + std::string(type->mime));
    presigned_[path] = Presigned{fp, file_path, std::string(type->mime)};
    s_.state_changed();
    const std::string url = "http://" + req.authority() + path + "?AWSAccessKeyId=seedance2-emulator&Expires=" +
                            std::to_string(expires) + "&Signature=" + sig;
    return ok(json::object{{"presigned_url", url}, {"file_path", file_path}, {"expires_in", ttl}});
  }

  Response s3_put(const Request& req) {
    if (req.method != "PUT") {
      Response r = s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
      r.set("Allow", "PUT");
      return r;
    }
    const std::string path(req.path());
    const auto expires = req.query_param("Expires");
    const auto signature = req.query_param("Signature");
    const std::string got_type = req.header("Content-Type");
    const auto verdict = s_.signer->verify(path, expires, signature, s_.now_s(), "PUT\n" + got_type);
    auto it = presigned_.find(path);
    if (verdict != UrlSigner::Verdict::ok || it == presigned_.end()) {
      if (verdict == UrlSigner::Verdict::expired) return s3_error(403, "AccessDenied", "Request has expired");
      if (verdict == UrlSigner::Verdict::bad_token && it != presigned_.end()) {
        const auto v2 = s_.signer->verify(path, expires, signature, s_.now_s(), "PUT\n" + it->second.content_type);
        if (v2 == UrlSigner::Verdict::ok)
          return s3_error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided: "
                          "Content-Type '" + got_type + "' differs from the presigned '" + it->second.content_type +
                              "'");
      }
      if (verdict == UrlSigner::Verdict::bad_token)
        return s3_error(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided");
      return s3_error(403, "AccessDenied", "Query-string authentication requires the Signature and Expires parameters");
    }
    const Presigned& p = it->second;
    Account& a = account(p.account);
    Upload u{p.content_type, req.body.size(), sha256_hex(req.body), s_.now_ms()};
    const std::string etag = "\"" + u.sha256 + "\"";
    a.uploads[p.file_path] = std::move(u);
    s_.state_changed();
    Response r(200, "", "");
    r.set("ETag", etag);
    return r;
  }

  // ---- submit ----

  Response submit(const Request& req, const std::string& fp) {
    return count_rejected(s_, tasks_, [&] { return submit_checked(req, fp); });
  }

  // One content item; appends to `t`. Returns an error response when invalid.
  std::optional<Response> check_item(const json::value& item, std::size_t i, const Account& acc, Task& t) {
    const std::string at_i = "content[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid(at_i + " must be an object");
    const auto& o = item.get_object();
    const json::value* type = o.if_contains("type");
    if (!type || type->is_null()) return missing(at_i + ".type");
    if (!type->is_string() || !one_of(kContentKinds, type->get_string()))
      return invalid(at_i + ".type must be one of text, image_url, video_url, audio_url, sample_id");
    const std::string kind(type->get_string());
    const std::string field = at_i + "." + kind;
    const json::value* v = o.if_contains(kind);
    if (!v || v->is_null()) return missing(field);
    if (kind == "text") {
      if (!v->is_string()) return invalid(field + " must be a string");
      const std::string text(v->get_string());
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) return invalid(field + " must not be empty");
      t.prompt += (t.prompt.empty() ? "" : "\n") + text;
    } else if (kind == "sample_id") {
      if (!((v->is_string() && !v->get_string().empty()) || v->is_int64() || v->is_uint64()))
        return invalid(field + " must be a non-empty string");
    } else {
      const json::value* ref = v;
      if (v->is_object()) ref = v->get_object().if_contains("url");
      if (!ref || !ref->is_string() || ref->get_string().empty())
        return invalid(field + " must be a file_path or an http(s) URL");
      const std::string r(ref->get_string());
      if (!is_http_url(r)) {
        if (kind == "audio_url") return invalid(field + " must be an http(s) URL");
        auto up = acc.uploads.find(r);
        if (up == acc.uploads.end()) return invalid(field + ": file_path not found or upload not completed: " + r);
        const std::string want = kind == "image_url" ? "image/" : "video/";
        if (!up->second.content_type.starts_with(want))
          return invalid(field + ": " + r + " is not " + (kind == "image_url" ? "an image" : "a video") + " (" +
                         up->second.content_type + ")");
      }
    }
    t.content.push_back(item);
    return std::nullopt;
  }

  Response submit_checked(const Request& req, const std::string& fp) {
    Account& acc = account(fp);
    const std::int64_t now = s_.now_ms();
    // Rate limit (kSubmitsPerMinute submit requests per key per 60 s).
    while (!acc.submits.empty() && acc.submits.front() <= now - kRateWindowMs) acc.submits.pop_front();
    if (acc.submits.size() >= static_cast<std::size_t>(kSeedance2SubmitsPerMinute)) {
      const std::int64_t wait_ms = acc.submits.front() + kRateWindowMs - now;
      Response r = error("RATE_LIMIT_EXCEEDED", "Rate limit exceeded: at most " +
                                                    std::to_string(kSeedance2SubmitsPerMinute) +
                                                    " task submissions per minute per API key");
      r.set("Retry-After", std::to_string(std::max<std::int64_t>(1, (wait_ms + 999) / 1000)));
      return r;
    }
    acc.submits.push_back(now);

    auto parsed = parse_json_object(req.body);
    if (!parsed) return invalid("request body must be a JSON object");
    const json::object& body = *parsed;
    Task t;

    const json::value* content = body.if_contains("content");
    if (!content || content->is_null()) return missing("content");
    if (!content->is_array() || content->get_array().empty())
      return invalid("content must be a non-empty array");
    for (std::size_t i = 0; i < content->get_array().size(); ++i)
      if (auto e = check_item(content->get_array()[i], i, acc, t)) return *e;

    auto field = [&](std::string_view k) -> const json::value* {
      const json::value* v = body.if_contains(k);
      return (v && !v->is_null()) ? v : nullptr;
    };
    auto choice = [&](std::string_view k, std::string_view def, auto&& allowed, std::string_view text,
                      std::string& out) -> std::optional<Response> {
      out = def;
      const json::value* v = field(k);
      if (!v) return std::nullopt;
      if (!v->is_string() || !one_of(allowed, v->get_string()))
        return invalid(std::string(k) + " must be " + std::string(text));
      out = std::string(v->get_string());
      return std::nullopt;
    };
    if (auto e = choice("model", "seedance-2.0", kModels, "seedance-2.0 or seedance-2.0-fast", t.model)) return *e;
    if (auto e = choice("resolution", "720p", kResolutions, "480p, 720p or 1080p", t.resolution)) return *e;
    if (auto e = choice("ratio", "16:9", kRatios, "one of 16:9, 9:16, 4:3, 3:4, 1:1, 21:9", t.ratio)) return *e;
    if (const json::value* v = field("duration")) {
      if (!v->is_int64() && !v->is_uint64()) return invalid("duration must be an integer 4-15");
      if (v->is_uint64() || v->get_int64() < 4 || v->get_int64() > 15) return invalid("duration must be 4-15");
      t.duration = static_cast<int>(v->get_int64());
    }
    for (auto [k, out] : {std::pair<std::string_view, bool*>{"generate_audio", &t.generate_audio},
                          {"watermark", &t.watermark},
                          {"return_last_frame", &t.return_last_frame}}) {
      if (const json::value* v = field(k)) {
        if (!v->is_bool()) return invalid(std::string(k) + " must be a boolean");
        *out = v->get_bool();
      }
    }
    if (const json::value* v = field("seed")) {
      if (!v->is_int64() && !v->is_uint64()) return invalid("seed must be an integer of -1 or above");
      if (v->is_int64() && v->get_int64() < -1) return invalid("seed must be an integer of -1 or above");
      t.seed = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    }
    if (const json::value* v = field("callback_url")) {
      if (!v->is_string() || !is_http_url(v->get_string())) return invalid("callback_url must be an http(s) URL");
      if (utf8_length(v->get_string()) > kMaxCallbackUrl) return invalid("callback_url must be at most 512 characters");
      t.callback_url = std::string(v->get_string());
    }

    // Emulator test hooks in the prompt.
    auto hook = [&](std::string_view tag) -> std::optional<std::string> {
      const auto pos = t.prompt.find(tag);
      if (pos == std::string::npos) return std::nullopt;
      const auto end = t.prompt.find("]]", pos);
      if (end == std::string::npos) return std::nullopt;
      return t.prompt.substr(pos + tag.size(), end - pos - tag.size());
    };
    if (auto code = hook("[[emulate:"); code && find_code(*code)) return error(*code);
    if (auto code = hook("[[fail:"); code && find_code(*code)) {
      t.will_fail = true;
      t.fail_code = *code;
      t.fail_msg = std::string(find_code(*code)->message);
    }

    t.price = round2(per_second(t.model, t.resolution) * t.duration);
    double reserved = 0;
    for (const auto& id : acc.active) reserved += tasks_.at(id).price;
    const double available = round2(acc.remain() - reserved);
    if (t.price > available + 1e-9) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "Insufficient credit: the task costs %.2f credits, %.2f available", t.price,
                    std::max(0.0, available));
      return error("INSUFFICIENT_CREDIT", buf);
    }
    if (acc.active.size() >= static_cast<std::size_t>(kSeedance2MaxInFlight))
      return error("CONCURRENCY_LIMIT_REACHED", "Concurrency limit reached: " +
                                                    std::to_string(kSeedance2MaxInFlight) +
                                                    " unfinished tasks for this API key; retry when one finishes");

    // Accepted.
    t.id = tasks_.new_id([&] { return random_hex(rng_, 32); });
    t.account = fp;
    t.authority = req.authority();
    t.seq = tasks_.next_seq();
    t.created_ms = t.updated_ms = t.stage_start = now;
    t.status = St::pending;
    if (const auto k = t.will_fail ? std::nullopt : draw_failure(s_, t.seq, "", kFailCodes.size())) {
      t.will_fail = true;
      t.fail_code = std::string(kFailCodes[*k]);
      t.fail_msg = std::string(find_code(kFailCodes[*k])->message);
    }
    const std::string frame = t.return_last_frame ? seedance2_last_frame_bytes(t.id) : std::string();
    Submission sub = make_submission(kName, t.id, fp, req.body, now, seedance2_video_bytes(t.id, t.prompt),
                                     t.return_last_frame ? std::optional<std::string_view>(frame) : std::nullopt);
    t.video_sha256 = sub.video_sha256;
    t.video_bytes = sub.video_bytes;
    t.frame_sha256 = sub.cover_sha256;
    t.frame_bytes = sub.cover_bytes;

    acc.tasks.push_back(t.id);
    acc.active.push_back(t.id);
    const std::string id = t.id;
    const double price = t.price;
    s_.log->info("seedance2 emulator: task {} submitted (account {}, {} s, {}, {}{})", id, fp, t.duration,
                 t.resolution, t.model, t.will_fail ? ", will fail " + t.fail_code : "");
    tasks_.insert(std::move(t));
    announce_submission(s_, std::move(sub));
    // Faults concurrency_429_id / _noid: the task is created and queued (document:
    // CONCURRENCY_LIMIT_REACHED "已达最大并发数,任务已排队"), yet the answer is the
    // 429 error, with the task id in `result` or with "result": null.
    if (auto f = s_.draw_submit_fault(kName, {FaultKind::concurrency_429_id, FaultKind::concurrency_429_noid})) {
      s_.log->info("seedance2 emulator: fault: task {} answered 429 CONCURRENCY_LIMIT_REACHED {}", id,
                   *f == FaultKind::concurrency_429_id ? "with its task id" : "without a task id");
      json::object body{{"code", "CONCURRENCY_LIMIT_REACHED"},
                        {"message", std::string(find_code("CONCURRENCY_LIMIT_REACHED")->message)}};
      if (*f == FaultKind::concurrency_429_id)
        body["result"] = json::object{{"task_id", id}, {"status", "pending"}, {"credit_cost", price}};
      else
        body["result"] = nullptr;
      return answer(429, body);
    }
    return ok(json::object{{"task_id", id}, {"status", "pending"}, {"credit_cost", price}});
  }

  // ---- queries ----

  std::int64_t expiry_ms(const Task& t) const { return t.completed_ms + s_.options->url_ttl.count() * 1000; }

  std::string signed_cdn_url(const std::string& authority, const Task& t, const std::string& file) const {
    const std::string path = std::string(kPrefix) + "/cdn/" + file;
    const std::int64_t expires = expiry_ms(t) / 1000;
    return signed_url(s_, authority, path, expires);
  }

  json::object task_json(const Task& t, const std::string& authority) const {
    json::value video = nullptr, frame = nullptr, code = nullptr, message = nullptr;
    if (t.status == St::completed) {
      video = signed_cdn_url(authority, t, t.id + ".mp4");
      if (t.return_last_frame) frame = signed_cdn_url(authority, t, t.id + "-last.jpg");
    }
    if (t.status == St::failed) {
      code = t.error_code;
      message = t.error_msg;
    }
    if (t.status == St::cancelled) message = "Task was cancelled";
    if (t.status == St::expired) message = "Task outputs expired: they are kept for 7 days after completion";
    const bool charged_or_quoted = t.status != St::failed && t.status != St::cancelled;
    return json::object{
        {"task_id", t.id},
        {"model", t.model},
        {"status", kStatus(t.status)},
        {"resolution", t.resolution},
        {"ratio", t.ratio},
        {"duration", t.duration},
        {"generate_audio", t.generate_audio},
        {"seed", t.seed ? json::value(*t.seed) : json::value(nullptr)},
        {"video_url", std::move(video)},
        {"last_frame_url", std::move(frame)},
        {"error_code", std::move(code)},
        {"error_message", std::move(message)},
        {"credit_cost", charged_or_quoted ? t.price : 0.0},
        {"created_at", iso8601(t.created_ms)},
        {"updated_at", iso8601(t.updated_ms)},
    };
  }

  Response query(const Request& req, const std::string& fp, const std::string& id) {
    const Task* t = tasks_.owned(fp, id);
    if (!t) return error("TASK_NOT_FOUND", "Task not found: " + id);
    return ok(task_json(*t, req.authority()));
  }

  Response cancel(const std::string& fp, const std::string& id) {
    Task* t = tasks_.owned(fp, id);
    if (!t) return error("TASK_NOT_FOUND", "Task not found: " + id);
    if (is_terminal(t->status))
      return error("TASK_CANCEL_NOT_ALLOWED",
                   "Task in status " + std::string(kStatus(t->status)) + " cannot be cancelled");
    const std::int64_t now = s_.now_ms();
    t->status = St::cancelled;
    t->updated_ms = t->stage_start = now;
    Account& acc = accounts_.at(fp);
    std::erase(acc.active, id);
    s_.log->info("seedance2 emulator: task {} cancelled", id);
    notify(*t);
    s_.state_changed();
    s_.wake();
    return ok(json::object{{"task_id", id}, {"status", "cancelled"}});
  }

  Response list(const Request& req, const std::string& fp) {
    const auto page = decimal_query_param(req, "page", 1);
    if (!page || *page < 1) return invalid("page must be a positive integer");
    const auto page_size = decimal_query_param(req, "page_size", 20);
    if (!page_size || *page_size < 1 || *page_size > 100) return invalid("page_size must be 1-100");
    const auto status = req.query_param("status");
    if (status && !status->empty() && !kStatus.contains(*status))
      return invalid("status must be one of pending, queued, processing, completed, failed, cancelled, expired");
    const Account& acc = accounts_.at(fp);
    std::vector<const Task*> matching;  // newest first
    for (auto it = acc.tasks.rbegin(); it != acc.tasks.rend(); ++it) {
      const Task& t = tasks_.at(*it);
      if (!status || status->empty() || kStatus(t.status) == *status) matching.push_back(&t);
    }
    json::array data;
    const auto skip = static_cast<std::size_t>((*page - 1) * *page_size);
    for (std::size_t i = skip; i < matching.size() && data.size() < static_cast<std::size_t>(*page_size); ++i)
      data.push_back(task_json(*matching[i], req.authority()));
    return ok(json::object{{"data", std::move(data)},
                           {"total", static_cast<std::int64_t>(matching.size())},
                           {"page", *page},
                           {"page_size", *page_size}});
  }

  Response balance(const Request&, const std::string& fp) {
    const Account& acc = accounts_.at(fp);
    return ok(json::object{{"total_credits", acc.total}, {"used_credits", acc.used}, {"remain_credits", acc.remain()}});
  }

  // ---- CDN ----

  Response cdn(const Request& req, std::string_view file) {
    if (auto refused = check_signed_download(req, s_)) return *refused;
    const bool video = file.ends_with(".mp4");
    const bool frame = file.ends_with("-last.jpg");
    if (!video && !frame) return plain_not_found();
    const std::string id(file.substr(0, file.size() - (video ? 4 : 9)));
    const Task* found = tasks_.find(id);
    if (!found || found->status != St::completed || (frame && !found->return_last_frame)) return plain_not_found();
    const Task& t = *found;
    if (video) return serve_bytes(req, seedance2_video_bytes(t.id, t.prompt), "video/mp4", t.video_sha256);
    return serve_bytes(req, seedance2_last_frame_bytes(t.id), "image/jpeg", t.frame_sha256);
  }

  // ---- time ----

  void advance(std::int64_t now) override {
    bool changed = false;
    for (auto& [fp, acc] : accounts_) {
      if (acc.active.empty()) continue;
      for (int round = 0; round < 8; ++round) {
        if (!step(acc, now)) break;
        changed = true;
      }
    }
    // Completed tasks whose URLs died.
    while (!expiries_.empty() && expiries_.begin()->first <= now) {
      Task* t = tasks_.find(expiries_.begin()->second);
      if (t && t->status == St::completed) {
        t->status = St::expired;
        t->updated_ms = expiries_.begin()->first;
        changed = true;
      }
      expiries_.erase(expiries_.begin());
    }
    if (changed) s_.state_changed();
  }

  // One pass over an account's unfinished tasks; true when something moved.
  bool step(Account& acc, std::int64_t now) {
    bool changed = false;
    std::int64_t freed_at = 0;  // when the last slot freed in this pass
    for (const auto& id : acc.active) {
      Task& t = tasks_.at(id);
      if (t.status == St::pending) {
        const std::int64_t end = t.stage_start + scaled_ms(s_, kPendingMs);
        if (now >= end) {
          t.status = St::queued;
          t.stage_start = t.updated_ms = end;
          changed = true;
        }
      }
      if (t.status == St::processing) {
        const std::int64_t end = t.stage_start + scaled_ms(s_, processing_ms(t));
        if (now >= end && !s_.stuck(kName, t.id)) {  // a stuck task (fault never_finish) keeps processing
          finish(t, end);
          freed_at = std::max(freed_at, end);
          changed = true;
        }
      }
    }
    std::erase_if(acc.active, [&](const std::string& id) { return is_terminal(tasks_.at(id).status); });
    auto processing = std::count_if(acc.active.begin(), acc.active.end(),
                                    [&](const std::string& id) { return tasks_.at(id).status == St::processing; });
    for (const auto& id : acc.active) {
      if (processing >= kSeedance2MaxProcessing) break;
      Task& t = tasks_.at(id);
      if (t.status != St::queued) continue;
      const std::int64_t ready = t.stage_start + scaled_ms(s_, kQueuedMinMs);
      if (now < ready) continue;
      t.status = St::processing;
      t.stage_start = t.updated_ms = std::max(ready, freed_at);
      ++processing;
      changed = true;
    }
    return changed;
  }

  void finish(Task& t, std::int64_t end) {
    t.updated_ms = t.stage_start = end;
    if (t.will_fail) {
      t.status = St::failed;
      t.error_code = t.fail_code;
      t.error_msg = t.fail_msg;
      s_.log->info("seedance2 emulator: task {} failed: {}", t.id, t.error_code);
    } else {
      t.status = St::completed;
      t.completed_ms = end;
      Account& acc = accounts_.at(t.account);
      acc.used = round2(acc.used + t.price);
      expiries_.emplace(expiry_ms(t), t.id);
      s_.log->info("seedance2 emulator: task {} completed, {} credits", t.id, t.price);
    }
    notify(t);
  }

  // Queues the completion callback of a terminal task, if it asked for one.
  void notify(const Task& t) {
    if (t.callback_url.empty()) return;
    std::vector<milliseconds> waits;
    for (int i = 1; i < kSeedance2CallbackAttempts; ++i)
      waits.push_back(s_.scaled(milliseconds(i == 1 ? 1000 : 4000)));
    callbacks_.post([url = t.callback_url, body = serialize_json(envelope(task_json(t, t.authority)), doc_number),
                     waits = std::move(waits), log = s_.log](HttpClient& client) {
      return deliver_callback(client, url, body, waits, log);
    });
  }

  std::map<std::string, Account> accounts_;          // by key fingerprint
  TaskStore<Task> tasks_{task_fields()};             // by task id
  std::map<std::string, Presigned> presigned_;      // by upload URL path
  std::multimap<std::int64_t, std::string> expiries_;  // completed tasks by URL expiry (unix ms)
  CallbackPoster callbacks_{"seedance2 emulator", s_.log};  // started on the first callback; last: joined first
};

}  // namespace

std::unique_ptr<Module> make_seedance2_module(Services services) {
  return std::make_unique<Seedance2Module>(std::move(services));
}

std::string seedance2_video_bytes(std::string_view task_id, std::string_view prompt) {
  return mp4_with_free_box("reelbatch seedance2 emulator\ntask_id=" + std::string(task_id) + "\nprompt=" +
                           std::string(prompt) + "\n");
}

std::string seedance2_last_frame_bytes(std::string_view task_id) {
  return jpeg_with_comment("reelbatch seedance2 emulator last frame task_id=" + std::string(task_id));
}

}  // namespace reelbatch::emulator
