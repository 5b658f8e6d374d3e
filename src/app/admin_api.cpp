#include "src/app/admin_api.hpp"

#include "src/output/results.hpp"

#include "src/app/service.hpp"
#include "src/core/text.hpp"
#include "src/engine/engine.hpp"
#include "providers/registry.hpp"
#include "src/app/plan.hpp"
#include "src/ingest/ingest.hpp"
#include "src/ingest/manifest.hpp"
#include "storage/job_store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

namespace reelbatch::admin {
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using asio::awaitable;
using net::Request;
using net::Response;

// ---- pure helpers ---------------------------------------------------------------

RouteMatch match_route(std::string_view method, std::string_view path) {
  RouteMatch m;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const bool get = method == "GET" || method == "HEAD";
  const bool post = method == "POST";
  auto fixed = [&](RouteId id, bool is_get) {
    m.allow = is_get ? "GET" : "POST";
    if (is_get ? get : post) {
      m.status = 200;
      m.route = id;
    } else {
      m.status = 405;
    }
    return m;
  };
  if (path == "/healthz") return fixed(RouteId::healthz, true);
  if (path == "/metrics") return fixed(RouteId::metrics, true);
  if (path == "/v1/events") return fixed(RouteId::events, true);
  if (path == "/v1/jobs") return fixed(RouteId::jobs_list, true);
  if (path == "/v1/profiles") return fixed(RouteId::profiles_list, true);
  if (path == "/v1/batches") {
    m.allow = "GET, POST";
    if (get || post) {
      m.status = 200;
      m.route = get ? RouteId::batches_list : RouteId::batches_create;
    } else {
      m.status = 405;
    }
    return m;
  }
  // /v1/<collection>/<arg>[/<action>]
  constexpr std::string_view v1 = "/v1/";
  if (path.substr(0, v1.size()) != v1) return m;
  std::string_view rest = path.substr(v1.size());
  const auto s1 = rest.find('/');
  if (s1 == std::string_view::npos) return m;
  const std::string_view collection = rest.substr(0, s1);
  rest = rest.substr(s1 + 1);
  const auto s2 = rest.find('/');
  const std::string_view arg = rest.substr(0, s2);
  const std::string_view action = s2 == std::string_view::npos ? std::string_view{} : rest.substr(s2 + 1);
  if (arg.empty() || arg.size() > 512 || action.find('/') != std::string_view::npos) return m;
  m.arg = net::percent_decode(arg);
  if (m.arg.empty() || m.arg.find('/') != std::string::npos) {
    m.arg.clear();
    return m;
  }
  struct Entry {
    std::string_view collection, action;
    RouteId id;
    bool is_get;
  };
  static constexpr std::array<Entry, 9> kTable{{
      {"batches", "", RouteId::batch_get, true},
      {"batches", "cancel", RouteId::batch_cancel, false},
      {"batches", "retry", RouteId::batch_retry, false},
      {"jobs", "", RouteId::job_get, true},
      {"jobs", "cancel", RouteId::job_cancel, false},
      {"jobs", "retry", RouteId::job_retry, false},
      {"jobs", "resolve", RouteId::job_resolve, false},
      {"profiles", "pause", RouteId::profile_pause, false},
      {"profiles", "resume", RouteId::profile_resume, false},
  }};
  for (const Entry& e : kTable) {
    if (e.collection != collection || e.action != action) continue;
    return fixed(e.id, e.is_get);
  }
  m.arg.clear();
  return m;
}

bool bearer_token_matches(std::string_view authorization, std::string_view token) {
  if (token.empty()) return false;
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme)) return false;
  std::string_view given = authorization.substr(scheme.size());
  if (given.front() != ' ') return false;
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && (given.back() == ' ' || given.back() == '\t')) given.remove_suffix(1);
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

std::string read_admin_token(const DaemonConfig& d, const EnvLookup& env) {
  fs::path file = d.token_file;
  if (file.empty() && !d.token_credential.empty()) {
    const auto dir = env ? env("CREDENTIALS_DIRECTORY") : std::nullopt;
    if (!dir || dir->empty())
      throw ConfigError("daemon.token_credential: $CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=" +
                        d.token_credential + ":...)");
    file = fs::path(*dir) / d.token_credential;
  }
  if (file.empty()) return {};
  std::ifstream in(file, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) throw ConfigError("daemon: cannot read the admin token from " + file.string());
  const auto b = line.find_first_not_of(" \t\r\n");
  const auto e = line.find_last_not_of(" \t\r\n");
  line = b == std::string::npos ? std::string{} : line.substr(b, e - b + 1);
  if (line.size() < 16)
    throw ConfigError("daemon: the admin token in " + file.string() + " is shorter than 16 characters");
  return line;
}

Response error_response(int status, std::string_view code, std::string_view message) {
  json::object err{{"code", code}, {"message", message}};
  Response r(status, "application/json", json::serialize(json::object{{"error", std::move(err)}}) + "\n");
  return r;
}

// ---- JSON of records -------------------------------------------------------------

namespace {

Response json_response(int status, const json::value& v) {
  return Response(status, "application/json", json::serialize(v) + "\n");
}

json::object counts_json(const std::map<JobState, int>& counts, std::int64_t* total = nullptr) {
  json::object o;
  std::int64_t t = 0;
  for (const auto& [s, n] : counts) {
    o[to_string(s)] = n;
    t += n;
  }
  if (total) *total = t;
  return o;
}

json::object batch_json(const BatchRecord& b) {
  return json::object{{"id", b.id},
                      {"name", b.name},
                      {"manifest", b.manifest_path},
                      {"out_dir", b.out_dir},
                      {"created_at_ms", b.created_at_ms}};
}

json::object job_json(const JobRecord& j, bool with_spec) {
  json::object o{{"id", j.id},
                 {"key", j.key},
                 {"batch_id", j.batch_id},
                 {"profile", j.spec.provider},
                 {"state", to_string(j.state)},
                 {"file", j.file},
                 {"line", j.line},
                 {"seq", j.seq},
                 {"attempts", j.attempts},
                 {"remote_id", j.remote_id},
                 {"native_state", j.native_state},
                 {"cost", j.cost ? json::value(*j.cost) : json::value(nullptr)},
                 {"error_code", j.error_code},
                 {"error_message", j.error_message},
                 {"output_path", j.output_path},
                 {"bytes", j.bytes},
                 {"sha256", j.sha256},
                 {"created_at_ms", j.created_at_ms},
                 {"updated_at_ms", j.updated_at_ms}};
  if (with_spec) o["spec"] = to_json(j.spec);
  return o;
}

json::object event_json(const EventRecord& e) {
  return json::object{{"id", e.id},          {"ts_ms", e.ts_ms},
                      {"kind", e.kind},      {"from", to_string(e.from_state)},
                      {"to", to_string(e.to_state)}, {"detail", e.detail}};
}

json::object control_json(const ControlResult& r) {
  return json::object{{"ok", r.ok}, {"state", to_string(r.state)}, {"message", r.message}};
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// A file name from a user-chosen batch name: [A-Za-z0-9._-], no leading dot.
std::string safe_name(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.size() > 100) out.resize(100);
  return out;
}

struct BadRequest : std::runtime_error {
  int status;
  std::string code;
  BadRequest(int s, std::string c, const std::string& m) : std::runtime_error(m), status(s), code(std::move(c)) {}
};

}  // namespace

// ---- the API --------------------------------------------------------------------

struct AdminApi::Impl {
  AdminDeps d;
  std::unique_ptr<SQLite::Database> events_db;  // read-only, for GET /v1/events

  explicit Impl(AdminDeps deps) : d(std::move(deps)) {}

  // Runs `f` (returning awaitable<T>) on the engine's executor and waits for
  // it on this (admin) thread, at most engine_timeout.
  template <class T, class F>
  T on_engine(F f) {
    auto fut = asio::co_spawn(d.engine_executor, std::move(f), asio::use_future);
    wait_engine(fut);
    return fut.get();
  }

  template <class Future>
  void wait_engine(Future& fut) {
    const auto deadline = std::chrono::steady_clock::now() + d.engine_timeout;
    while (fut.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (std::chrono::steady_clock::now() >= deadline || (d.engine_gone && d.engine_gone()))
        throw BadRequest(503, "unavailable", "the engine did not answer (stopping?)");
    }
  }

  JobRecord find_job(const std::string& arg) {
    auto j = d.store->find_job(arg);
    if (!j) throw BadRequest(404, "not_found", "no job " + arg);
    return *j;
  }

  BatchRecord find_batch(const std::string& arg) {
    if (auto id = parse_int(arg))
      if (auto b = d.store->batch(*id)) return *b;
    for (auto& b : d.store->batches())
      if (b.name == arg) return b;
    throw BadRequest(404, "not_found", "no batch " + arg);
  }

  json::object json_body(const Request& req) {
    if (req.body.empty()) return {};
    json::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) throw BadRequest(400, "bad_json", "the body is not valid JSON: " + ec.message());
    if (!v.is_object()) throw BadRequest(400, "bad_json", "the body must be a JSON object");
    return std::move(v.as_object());
  }

  // ---- batches ----

  // A batch with its counts, how many rows wait (held, or pending on a
  // paused profile), whether nothing more will happen without the user,
  // credits and the failed/held rows.
  json::object batch_detail(const BatchRecord& b, bool problems) {
    JobFilter f;
    f.batch_ids = {b.id};
    const auto counts = d.store->count_by_state(f);
    std::int64_t total = 0;
    json::object o = batch_json(b);
    o["counts"] = counts_json(counts, &total);
    o["total"] = total;
    int waiting = 0, active = 0, failed = 0;
    auto pending_it = counts.find(JobState::pending);
    const int pending = pending_it == counts.end() ? 0 : pending_it->second;
    int pending_paused = 0;
    if (pending > 0) {
      for (const auto& [profile, reason] : d.store->profile_pauses()) {
        JobFilter pf = f;
        pf.profile = profile;
        pf.states = {JobState::pending};
        for (const auto& [s, n] : d.store->count_by_state(pf)) pending_paused += n;
      }
    }
    for (const auto& [s, n] : counts) {
      if (s == JobState::held) waiting += n;
      else if (s == JobState::failed) failed += n;
      else if (!is_terminal(s)) active += n;
    }
    waiting += pending_paused;
    active -= pending_paused;
    o["waiting"] = waiting;
    o["active"] = active;
    o["failed"] = failed;
    o["settled"] = active == 0;
    double credits = 0;
    json::object credits_by_unit;  // never one sum across units (issue 9)
    const auto cfg = d.config ? d.config() : nullptr;
    json::array probs;
    JobQuery q;
    q.filter = f;
    for (;;) {
      const auto page = d.store->jobs(q);
      for (const auto& j : page.jobs) {
        if (j.cost) {
          credits += *j.cost;
          const ProfileConfig* prof = cfg ? cfg->profile(j.spec.provider) : nullptr;
          const std::string unit = prof ? credit_unit(*prof) : std::string("credits");
          auto& v = credits_by_unit[unit];
          v = (v.is_number() ? v.to_number<double>() : 0.0) + *j.cost;
        }
        if (problems && (j.state == JobState::failed || j.state == JobState::held) && probs.size() < 50)
          probs.push_back(job_json(j, false));
      }
      if (!page.next_after_seq) break;
      q.after_seq = *page.next_after_seq;
    }
    o["credits"] = credits;
    o["credits_by_unit"] = std::move(credits_by_unit);
    if (problems) o["problems"] = std::move(probs);
    return o;
  }

  Response batches_list() {
    json::array a;
    for (const auto& b : d.store->batches()) a.push_back(batch_detail(b, false));
    return json_response(200, json::object{{"batches", std::move(a)}});
  }

  Response batches_create(const Request& req) {
    if (d.stopping && d.stopping()) throw BadRequest(503, "unavailable", "the daemon is stopping");
    const auto cfg = d.config();
    fs::path manifest;
    std::string profile = req.query_param("profile").value_or("");
    const auto format = req.query_param("format");
    if (format) {
      // The body is the manifest.
      if (*format != "csv" && *format != "jsonl")
        throw BadRequest(400, "bad_request", "format must be csv or jsonl, got '" + *format + "'");
      if (req.body.empty()) throw BadRequest(400, "bad_request", "empty manifest body");
      std::string name = safe_name(req.query_param("name").value_or(""));
      if (name.empty()) name = "batch-" + std::to_string(now_ms());
      manifest = store_upload(name, *format, req.body);
    } else {
      if (req.body.size() > kSmallBodyLimit)
        throw BadRequest(413, "too_large", "a JSON body is limited to 64 KiB (send a manifest with ?format=)");
      const json::object o = json_body(req);
      const auto* p = o.if_contains("path");
      if (!p || !p->is_string() || p->as_string().empty())
        throw BadRequest(400, "bad_request",
                         "expected {\"path\": \"/absolute/manifest.csv\"}, or a manifest body with ?format=csv|jsonl");
      manifest = std::string(p->as_string());
      if (!manifest.is_absolute()) throw BadRequest(400, "bad_request", "path must be absolute");
      if (const auto* pr = o.if_contains("profile")) {
        if (!pr->is_string()) throw BadRequest(400, "bad_request", "profile must be a string");
        profile = std::string(pr->as_string());
      }
    }
    if (!profile.empty() && !cfg->profile(profile)) throw BadRequest(404, "not_found", "no profile named " + profile);
    // Issue 9: ?max_credits=N caps the batch (per credit unit); ?dry_run=1
    // answers the plan (src/app/plan.hpp) and records nothing.
    std::optional<double> max_credits;
    if (const auto mc = req.query_param("max_credits")) {
      char* end = nullptr;
      const double v = std::strtod(mc->c_str(), &end);
      if (mc->empty() || end != mc->c_str() + mc->size() || !(v >= 0))
        throw BadRequest(400, "bad_request", "max_credits must be a number >= 0, got '" + *mc + "'");
      max_credits = v;
    }
    if (const auto dr = req.query_param("dry_run"); dr && (*dr == "1" || *dr == "true"))
      return batches_plan(*cfg, manifest, profile, max_credits, format.has_value());
    IngestReport report;
    try {
      report = d.ingest({manifest}, profile);
    } catch (const ManifestError& e) {
      throw BadRequest(400, "bad_manifest", e.what());
    } catch (const ConfigError& e) {
      throw BadRequest(400, "bad_config", e.what());
    }
    const std::int64_t id = report.batch_ids.at(0);
    if (max_credits) d.store->set_batch_max_credits(id, max_credits);
    json::array errors;
    for (const auto& e : report.errors) errors.push_back(json::string(e));
    json::object o{{"batch_id", id},
                   {"added", report.added},
                   {"existing", report.existing},
                   {"rejected", report.rejected},
                   {"errors", std::move(errors)}};
    if (auto b = d.store->batch(id)) o["batch"] = batch_json(*b);
    return json_response(201, o);
  }

  // POST /v1/batches?dry_run=1: the plan, as `reelbatch plan --json` prints
  // it (no balance look-ups here: the admin thread makes no provider
  // request). An uploaded body was written by store_upload(); it is removed
  // again when no batch uses it.
  Response batches_plan(const Config& cfg, const fs::path& manifest, const std::string& profile,
                        std::optional<double> max_credits, bool uploaded) {
    struct RemoveUpload {
      const fs::path& p;
      bool on;
      ~RemoveUpload() {
        std::error_code ec;
        if (on) fs::remove(p, ec);
      }
    } remove{manifest, uploaded && !known_manifest(manifest)};
    try {
      const Plan plan = make_plan(cfg, *d.store, {manifest}, profile, max_credits);
      return json_response(200, plan.to_json());
    } catch (const ManifestError& e) {
      throw BadRequest(400, "bad_manifest", e.what());
    } catch (const ConfigError& e) {
      throw BadRequest(400, "bad_config", e.what());
    }
  }

  bool known_manifest(const fs::path& manifest) const {
    const std::string abs = fs::absolute(manifest).lexically_normal().string();
    for (const auto& b : d.store->batches())
      if (b.manifest_path == abs) return true;
    return false;
  }

  // Writes an uploaded manifest under upload_dir as <name>.<ext>; the same
  // name with other content becomes <name>-2, -3, ... (each a new batch).
  fs::path store_upload(const std::string& name, const std::string& ext, const std::string& body) {
    fs::create_directories(d.upload_dir);
    for (int n = 1; n < 10000; ++n) {
      const fs::path p = d.upload_dir / ((n == 1 ? name : name + "-" + std::to_string(n)) + "." + ext);
      std::error_code ec;
      if (fs::exists(p, ec)) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        if (ss.str() == body) return p;  // the same manifest again: the same batch
        continue;
      }
      const fs::path tmp = p.string() + ".part";
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(body.data(), static_cast<std::streamsize>(body.size()));
        out.flush();
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
      }
      fs::rename(tmp, p);
      return p;
    }
    throw BadRequest(409, "conflict", "too many uploads named " + name);
  }

  // Cancel (`req` nullptr) every unfinished job of the batch, or retry the
  // rows its body selects ({"states": [...], "resubmit": bool}, both
  // optional: service.hpp parse_retry_selection).
  Response batch_control(const std::string& arg, bool cancel, const Request* req = nullptr) {
    const BatchRecord b = find_batch(arg);
    RetrySelection sel;
    if (!cancel && req != nullptr) {
      try {
        sel = parse_retry_selection(json_body(*req));
      } catch (const std::invalid_argument& e) {
        throw BadRequest(400, "bad_request", e.what());
      }
    }
    std::vector<std::int64_t> ids;
    if (cancel) {
      JobQuery q;
      q.filter.batch_ids = {b.id};
      for (;;) {
        const auto page = d.store->jobs(q);
        for (const auto& j : page.jobs)
          if (!is_terminal(j.state)) ids.push_back(j.id);
        if (!page.next_after_seq) break;
        q.after_seq = *page.next_after_seq;
      }
    } else {
      ids = jobs_in_states(*d.store, b.id, sel.states);
    }
    Engine* engine = d.engine;
    const bool resubmit = sel.resubmit;
    const auto results = on_engine<std::vector<ControlResult>>(
        [engine, ids, cancel, resubmit]() -> awaitable<std::vector<ControlResult>> {
          // No co_await inside a conditional expression: GCC 12 miscompiles
          // the temporaries of `c ? co_await a : co_await b`.
          if (!cancel) co_return co_await retry_jobs(*engine, ids, resubmit);
          std::vector<ControlResult> out;
          for (auto id : ids) out.push_back(co_await engine->async_cancel(id));
          co_return out;
        });
    json::array a;
    int ok = 0;
    for (const auto& r : results) {
      ok += r.ok ? 1 : 0;
      a.push_back(control_json(r));
    }
    return json_response(200, json::object{{"batch_id", b.id}, {"changed", ok}, {"results", std::move(a)}});
  }

  // ---- jobs ----

  Response jobs_list(const Request& req) {
    JobQuery q;
    if (auto b = req.query_param("batch"); b && !b->empty()) q.filter.batch_ids = {find_batch(*b).id};
    if (auto s = req.query_param("state"); s && !s->empty()) {
      std::string_view rest = *s;
      while (!rest.empty()) {
        const auto c = rest.find(',');
        const auto word = rest.substr(0, c);
        auto st = job_state_from_string(word);
        if (!st) throw BadRequest(400, "bad_request", "unknown state '" + std::string(word) + "'");
        q.filter.states.push_back(*st);
        rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
      }
    }
    if (auto p = req.query_param("profile"); p && !p->empty()) q.filter.profile = *p;
    q.limit = 100;
    if (auto l = req.query_param("limit")) {
      auto v = parse_int(*l);
      if (!v || *v < 1 || *v > 1000) throw BadRequest(400, "bad_request", "limit must be an integer in 1..1000");
      q.limit = static_cast<int>(*v);
    }
    if (auto c = req.query_param("cursor"); c && !c->empty()) {
      auto v = parse_int(*c);
      if (!v) throw BadRequest(400, "bad_request", "cursor must be a next_cursor value from an earlier page");
      q.after_seq = *v;
    }
    const auto page = d.store->jobs(q);
    json::array a;
    for (const auto& j : page.jobs) a.push_back(job_json(j, false));
    return json_response(200, json::object{{"jobs", std::move(a)},
                                           {"next_cursor", page.next_after_seq
                                                               ? json::value(std::to_string(*page.next_after_seq))
                                                               : json::value(nullptr)}});
  }

  Response job_get(const std::string& arg) {
    const JobRecord j = find_job(arg);
    json::array ev;
    for (const auto& e : d.store->events(j.id)) ev.push_back(event_json(e));
    const auto [attempts, accepted] = d.store->attempt_counts(j.id);
    json::object o = job_json(j, true);
    return json_response(200, json::object{{"job", std::move(o)},
                                           {"events", std::move(ev)},
                                           {"submit_attempts", attempts},
                                           {"accepted_attempts", accepted}});
  }

  Response job_control(RouteId route, const std::string& arg, const Request& req) {
    const JobRecord j = find_job(arg);
    bool resubmit = false;
    if (route == RouteId::job_resolve) {
      const json::object o = json_body(req);
      const auto* r = o.if_contains("resubmit");
      if (!r || !r->is_bool())
        throw BadRequest(400, "bad_request",
                         "expected {\"resubmit\": true} (you checked the provider: no task exists) or "
                         "{\"resubmit\": false} (mark it failed)");
      resubmit = r->as_bool();
    } else if (route == RouteId::job_retry) {
      // Optional {"resubmit": true}: submit again a row whose task failed remotely.
      const json::object o = json_body(req);
      if (const auto* r = o.if_contains("resubmit")) {
        if (!r->is_bool()) throw BadRequest(400, "bad_request", "resubmit: expected true or false");
        resubmit = r->as_bool();
      }
    }
    Engine* engine = d.engine;
    const std::int64_t id = j.id;
    const ControlResult r = on_engine<ControlResult>([engine, id, route, resubmit]() -> awaitable<ControlResult> {
      if (route == RouteId::job_cancel) co_return co_await engine->async_cancel(id);
      if (route == RouteId::job_retry) co_return co_await engine->async_retry(id, resubmit);
      co_return co_await engine->async_resolve(id, resubmit);
    });
    if (!r.ok) return error_response(409, "conflict", r.message);
    json::object o = control_json(r);
    o["job_id"] = id;
    return json_response(200, o);
  }

  // ---- profiles ----

  Response profiles_list() {
    const auto cfg = d.config();
    auto fut = d.engine->snapshot_async();
    wait_engine(fut);
    const EngineSnapshot snap = fut.get();
    const auto pauses = d.store->profile_pauses();
    json::array a;
    for (const auto& lane : snap.lanes) {
      const ProfileConfig* pc = cfg->profile(lane.profile);
      JobFilter f;
      f.profile = lane.profile;
      f.states = {JobState::pending};
      int pending = 0;
      for (const auto& [s, n] : d.store->count_by_state(f)) pending += n;
      auto pause = lane.pause_reason;
      if (pause.empty())
        if (auto it = pauses.find(lane.profile); it != pauses.end()) pause = it->second;
      a.push_back(json::object{
          {"name", lane.profile},
          {"kind", pc ? pc->kind : std::string()},
          {"in_config", pc != nullptr},
          {"in_flight", lane.in_flight},
          {"max_in_flight", lane.max_in_flight},
          {"queued", lane.queued},
          {"pending", pending},
          {"paused", !pause.empty()},
          {"pause_reason", pause},
          {"throttled", lane.throttled},
          {"credits_spent", lane.credits_spent},
          {"credit_cap", pc && pc->credit_cap ? json::value(*pc->credit_cap) : json::value(nullptr)},
          // issue 9: credit caps holding its submits ("waiting for budget: ...")
          {"waiting_for_budget", lane.budget_reason},
          {"daily_credit_cap", pc && pc->daily_credit_cap ? json::value(*pc->daily_credit_cap) : json::value(nullptr)},
          {"credit_unit", pc ? credit_unit_of(*pc) : std::string()},
      });
    }
    return json_response(200, json::object{{"profiles", std::move(a)}, {"downloads_queued", snap.downloads_queued}});
  }

  Response profile_control(const std::string& name, bool pause) {
    Engine* engine = d.engine;
    const bool ok = on_engine<bool>([engine, name, pause]() -> awaitable<bool> {
      if (pause) co_return co_await engine->async_pause(name, "paused by the user");
      co_return co_await engine->async_resume(name);
    });
    if (!ok) throw BadRequest(404, "not_found", "no profile named " + name);
    return json_response(200, json::object{{"profile", name}, {"paused", pause}});
  }

  // ---- events (server-sent events) ----

  SQLite::Database& events_database() {
    if (!events_db) {
      events_db = std::make_unique<SQLite::Database>(d.database.string(), SQLite::OPEN_READONLY);
      events_db->setBusyTimeout(5000);
    }
    return *events_db;
  }

  std::int64_t last_event_id() {
    SQLite::Statement st(events_database(), "SELECT COALESCE(MAX(id), 0) FROM events");
    st.executeStep();
    return st.getColumn(0).getInt64();
  }

  // State changes after `after`, oldest first, at most 500, as SSE frames.
  std::string events_after(std::int64_t& after, const std::optional<std::int64_t>& batch) {
    SQLite::Statement st(events_database(),
                         "SELECT e.id, e.ts_ms, e.job_id, e.from_state, e.to_state, j.key, j.batch_id, j.profile "
                         "FROM events e JOIN jobs j ON j.id = e.job_id "
                         "WHERE e.id > ? AND e.from_state <> e.to_state ORDER BY e.id LIMIT 500");
    st.bind(1, after);
    std::string out;
    while (st.executeStep()) {
      after = st.getColumn(0).getInt64();
      const std::int64_t batch_id = st.getColumn(6).getInt64();
      if (batch && *batch != batch_id) continue;
      json::object o{{"id", after},
                     {"ts_ms", st.getColumn(1).getInt64()},
                     {"job_id", st.getColumn(2).getInt64()},
                     {"from", st.getColumn(3).getString()},
                     {"to", st.getColumn(4).getString()},
                     {"job_key", st.getColumn(5).getString()},
                     {"batch_id", batch_id},
                     {"profile", st.getColumn(7).getString()}};
      out += "id: " + std::to_string(after) + "\nevent: state\ndata: " + json::serialize(o) + "\n\n";
    }
    return out;
  }

  Response events(const Request& req) {
    std::optional<std::int64_t> batch;
    if (auto b = req.query_param("batch"); b && !b->empty()) batch = find_batch(*b).id;
    std::int64_t start = 0;
    const std::string last = req.header("Last-Event-ID");
    if (!last.empty()) {
      auto v = parse_int(last);
      if (!v) throw BadRequest(400, "bad_request", "Last-Event-ID must be an event id");
      start = *v;
    } else if (auto s = req.query_param("since")) {
      auto v = parse_int(*s);
      if (!v) throw BadRequest(400, "bad_request", "since must be an event id");
      start = *v;
    } else {
      start = last_event_id();  // only what happens from now on
    }
    Response r(200, "text/event-stream", "");
    r.set("Cache-Control", "no-cache");
    r.stream = [this, start, batch](net::BodyWriter& w) -> awaitable<void> {
      std::int64_t after = start;
      asio::steady_timer timer(co_await asio::this_coro::executor);
      auto idle = std::chrono::steady_clock::now();
      if (!co_await w.write("retry: 2000\n\n")) co_return;
      while (!(d.stopping && d.stopping())) {
        std::string frames;
        try {
          frames = events_after(after, batch);
        } catch (const std::exception& e) {
          spdlog::warn("admin: events tail: {}", e.what());
        }
        const auto now = std::chrono::steady_clock::now();
        if (frames.empty() && now - idle >= std::chrono::seconds(15)) frames = ": keep-alive\n\n";
        if (!frames.empty()) {
          idle = now;
          if (!co_await w.write(std::move(frames))) co_return;
        }
        timer.expires_after(d.events_poll);
        co_await timer.async_wait(asio::use_awaitable);
      }
    };
    return r;
  }

  // ---- dispatch ----

  Response dispatch(const Request& req, const std::string& token) {
    if (!token.empty() && !bearer_token_matches(req.header("Authorization"), token)) {
      Response r = error_response(401, "unauthorized", "missing or wrong bearer token");
      r.set("WWW-Authenticate", "Bearer");
      return r;
    }
    const RouteMatch m = match_route(req.method, req.path());
    if (m.status == 404) return error_response(404, "not_found", "no route " + std::string(req.path()));
    if (m.status == 405) {
      Response r = error_response(405, "method_not_allowed", req.method + " is not allowed here (use " + m.allow + ")");
      r.set("Allow", m.allow);
      return r;
    }
    if (m.route != RouteId::batches_create && req.body.size() > kSmallBodyLimit)
      return error_response(413, "too_large", "request bodies are limited to 64 KiB here");
    switch (m.route) {
      case RouteId::healthz:
        return json_response(200, json::object{{"ok", true}, {"stopping", d.stopping && d.stopping()}});
      case RouteId::metrics: {
        if (!d.metrics) return error_response(404, "not_found", "no metrics collector in this daemon");
        Response r(200, "text/plain; version=0.0.4; charset=utf-8", d.metrics());
        return r;
      }
      case RouteId::batches_list: return batches_list();
      case RouteId::batches_create: return batches_create(req);
      case RouteId::batch_get: return json_response(200, json::object{{"batch", batch_detail(find_batch(m.arg), true)}});
      case RouteId::batch_cancel: return batch_control(m.arg, true);
      case RouteId::batch_retry: return batch_control(m.arg, false, &req);
      case RouteId::jobs_list: return jobs_list(req);
      case RouteId::job_get: return job_get(m.arg);
      case RouteId::job_cancel:
      case RouteId::job_retry:
      case RouteId::job_resolve: return job_control(m.route, m.arg, req);
      case RouteId::profiles_list: return profiles_list();
      case RouteId::profile_pause: return profile_control(m.arg, true);
      case RouteId::profile_resume: return profile_control(m.arg, false);
      case RouteId::events: return events(req);
    }
    return error_response(404, "not_found", "no route");
  }
};

AdminApi::AdminApi(AdminDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}
AdminApi::~AdminApi() = default;

Response AdminApi::handle(const Request& req, const std::string& token) {
  try {
    return impl_->dispatch(req, token);
  } catch (const BadRequest& e) {
    return error_response(e.status, e.code, e.what());
  } catch (const std::exception& e) {
    spdlog::error("admin: {} {} failed: {}", req.method, req.path(), e.what());
    return error_response(500, "internal", e.what());
  }
}

}  // namespace reelbatch::admin
