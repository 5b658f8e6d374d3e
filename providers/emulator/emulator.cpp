#include "providers/emulator/emulator.hpp"

#include "providers/emulator/module_util.hpp"
#include "providers/registry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

namespace reelbatch::emulator {
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

// ---- core ---------------------------------------------------------------------

struct Emulator::Core : std::enable_shared_from_this<Core> {
  Options opts;
  std::shared_ptr<spdlog::logger> log;  // never null
  asio::any_io_executor strand;
  std::unique_ptr<UrlSigner> signer;
  std::vector<std::unique_ptr<Module>> modules;
  std::unique_ptr<HttpServer> server;
  asio::steady_timer timer;
  std::chrono::milliseconds tick_interval{50};
  bool ticker_started = false;
  bool stopped = false;
  std::atomic<bool> dirty{false};

  mutable std::mutex mu;  // guards subs, rejected
  std::vector<Submission> subs;
  std::size_t rejected = 0;
  std::map<int, std::size_t> status_counts;  // guarded by mu

  // Fault injection (faults.hpp); guarded by mu.
  struct ModuleFaults {
    FaultRules rules;
    std::int64_t installed_ms = 0;
    std::uint64_t requests = 0;      // requests drawn for since installation
    std::uint64_t submit_draws = 0;  // submit_fault() draws
    std::uint64_t submits_recorded = 0;  // accepted submits (never_finish draws)
    std::array<std::size_t, kFaultKinds> injected{};
    std::size_t down_answers = 0;
    std::size_t cdn_answers = 0;
    // [from, until) in unix ms; from == until: none.
    std::int64_t down_from = 0, down_until = 0, cdn_from = 0, cdn_until = 0;
  };
  FaultPlan plan;
  std::map<std::string, ModuleFaults, std::less<>> faults;
  std::set<std::string, std::less<>> stuck;  // "module/task_id" drawn never_finish (persisted)

  Core(asio::any_io_executor ex, Options o)
      : opts(std::move(o)),
        log(opts.logger ? opts.logger : spdlog::default_logger()),
        strand(asio::make_strand(ex)),
        timer(strand) {
    // A tick a quarter of the shortest stage (2 s × scale), within 2..50 ms.
    const auto shortest = static_cast<std::int64_t>(2000.0 * std::max(0.0, opts.time_scale));
    tick_interval = std::chrono::milliseconds(std::clamp<std::int64_t>(shortest / 4, 2, 50));
  }

  Services services() {
    Services s;
    s.options = &opts;
    s.signer = signer.get();
    s.log = log;
    s.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    s.record_submission = [this](Submission sub) {
      std::lock_guard lk(mu);
      draw_never_finish(sub);
      subs.push_back(std::move(sub));
    };
    s.count_rejected_submit = [this] {
      std::lock_guard lk(mu);
      ++rejected;
    };
    s.state_changed = [this] { dirty = true; };
    s.wake = [this] {
      if (ticker_started && !stopped) timer.cancel();
    };
    s.submit_fault = [this](std::string_view module, const std::vector<FaultKind>& kinds) {
      return draw_submit_fault(module, kinds);
    };
    s.never_finishes = [this](std::string_view module, std::string_view id) {
      std::lock_guard lk(mu);
      return stuck.count(std::string(module) + "/" + std::string(id)) != 0;
    };
    s.url_expires = [this](std::string_view path, std::int64_t expires) { return url_expires(path, expires); };
    return s;
  }

  static std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::int64_t scaled_s(std::int64_t s) const {
    return static_cast<std::int64_t>(static_cast<double>(s) * 1000.0 * std::max(0.0, opts.time_scale));
  }

  // Installs `p` for every module (caller holds mu).
  // Throws std::invalid_argument when the plan names a module not served.
  void install_faults(const FaultPlan& p, std::int64_t now) {
    for (const auto& [name, r] : p.modules) {
      if (name == "*") continue;
      if (std::none_of(modules.begin(), modules.end(), [&](const auto& m) { return m->name() == name; }))
        throw std::invalid_argument("fault plan: no emulated provider named '" + name + "'");
    }
    plan = p;
    faults.clear();
    for (const auto& m : modules) {
      ModuleFaults f;
      f.rules = plan.rules_for(m->name());
      f.installed_ms = now;
      if (f.rules.down_s > 0) {
        f.down_from = now + scaled_s(f.rules.down_at_s);
        f.down_until = f.down_from + scaled_s(f.rules.down_s);
      }
      if (f.rules.cdn_outage_s > 0) {
        f.cdn_from = now + scaled_s(f.rules.cdn_outage_at_s);
        f.cdn_until = f.cdn_from + scaled_s(f.rules.cdn_outage_s);
      }
      faults.emplace(m->name(), f);
    }
  }

  // What happens to one request of a module instead of (or on top of) its answer.
  struct Injection {
    enum What { none, outage_503, outage_drop, fault } what = none;
    FaultKind kind{};
    int status = 0;  // for http_5xx
  };

  Injection decide(std::string_view module, bool download, std::int64_t now) {
    std::lock_guard lk(mu);
    auto it = faults.find(module);
    if (it == faults.end()) return {};
    ModuleFaults& f = it->second;
    if (now >= f.down_from && now < f.down_until) {
      ++f.down_answers;
      return {f.rules.down_drop ? Injection::outage_drop : Injection::outage_503};
    }
    if (download && now >= f.cdn_from && now < f.cdn_until) {
      ++f.cdn_answers;
      return {Injection::outage_503};
    }
    static constexpr FaultKind api[] = {FaultKind::http_5xx,    FaultKind::http_429,       FaultKind::reset_before,
                                        FaultKind::reset_after, FaultKind::malformed_json, FaultKind::stall};
    static constexpr FaultKind dl[] = {FaultKind::http_5xx, FaultKind::reset_before, FaultKind::stall,
                                       FaultKind::truncate, FaultKind::html200};
    const std::string salt = "fault:" + std::string(module);
    const std::uint64_t n = ++f.requests;
    const double u = unit_hash(opts.seed, n, salt);
    double cum = 0;
    auto pick = [&](const auto& kinds) -> Injection {
      for (FaultKind k : kinds) {
        cum += f.rules[k];
        if (u < cum) {
          ++f.injected[static_cast<std::size_t>(k)];
          Injection in{Injection::fault, k};
          if (k == FaultKind::http_5xx) {
            static constexpr int codes[] = {500, 502, 503};
            in.status = codes[static_cast<int>(unit_hash(opts.seed, n, salt + ":5xx") * 3) % 3];
          }
          return in;
        }
      }
      return {};
    };
    return download ? pick(dl) : pick(api);
  }

  std::optional<FaultKind> draw_submit_fault(std::string_view module, const std::vector<FaultKind>& kinds) {
    std::lock_guard lk(mu);
    auto it = faults.find(module);
    if (it == faults.end()) return std::nullopt;
    ModuleFaults& f = it->second;
    double total = 0;
    for (FaultKind k : kinds) total += f.rules[k];
    if (!(total > 0)) return std::nullopt;
    const double u = unit_hash(opts.seed, ++f.submit_draws, "submit_fault:" + std::string(module));
    double cum = 0;
    for (FaultKind k : kinds) {
      cum += f.rules[k];
      if (u < cum) {
        ++f.injected[static_cast<std::size_t>(k)];
        return k;
      }
    }
    return std::nullopt;
  }

  // A submission was recorded: draw never_finish for its task (caller holds mu).
  void draw_never_finish(const Submission& sub) {
    auto it = faults.find(sub.provider);
    if (it == faults.end() || !(it->second.rules[FaultKind::never_finish] > 0)) return;
    ModuleFaults& f = it->second;
    if (unit_hash(opts.seed, ++f.submits_recorded, "never_finish:" + sub.provider) <
        f.rules[FaultKind::never_finish]) {
      ++f.injected[static_cast<std::size_t>(FaultKind::never_finish)];
      stuck.insert(sub.provider + "/" + sub.task_id);
      dirty = true;
      log->info("emulator: fault: {} task {} will never finish", sub.provider, sub.task_id);
    }
  }

  std::int64_t url_expires(std::string_view path, std::int64_t expires) {
    if (path.size() < 2 || path[0] != '/') return expires;
    const auto slash = path.find('/', 1);
    const std::string_view module = path.substr(1, slash == std::string_view::npos ? slash : slash - 1);
    std::lock_guard lk(mu);
    auto it = faults.find(module);
    if (it == faults.end()) return expires;
    ModuleFaults& f = it->second;
    const double rate = f.rules[FaultKind::expire_early];
    if (!(rate > 0)) return expires;
    // Per path, so every fresh link of an affected file expires early too.
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs, unlike std::hash
    for (unsigned char c : path) h = (h ^ c) * 1099511628211ull;
    if (unit_hash(opts.seed, h, "expire_early") >= rate) return expires;
    const std::int64_t early = unix_now_ms() / 1000 + f.rules.early_ttl_s;
    if (early < expires) {
      ++f.injected[static_cast<std::size_t>(FaultKind::expire_early)];
      return early;
    }
    return expires;
  }

  json::object faults_view() const {
    std::lock_guard lk(mu);
    json::object mods;
    for (const auto& [name, f] : faults) {
      json::object inj;
      for (std::size_t i = 0; i < kFaultKinds; ++i)
        if (f.injected[i]) inj[fault_key(static_cast<FaultKind>(i))] = f.injected[i];
      mods[name] = json::object{{"requests", f.requests},
                                {"submit_draws", f.submit_draws},
                                {"injected", std::move(inj)},
                                {"down_answers", f.down_answers},
                                {"cdn_outage_answers", f.cdn_answers},
                                {"down_from_ms", f.down_from},
                                {"down_until_ms", f.down_until},
                                {"cdn_outage_from_ms", f.cdn_from},
                                {"cdn_outage_until_ms", f.cdn_until}};
    }
    json::array st;
    for (const auto& s : stuck) st.emplace_back(s);
    return json::object{{"seed", opts.seed}, {"plan", to_json(plan)}, {"modules", std::move(mods)},
                        {"stuck_tasks", std::move(st)}};
  }

  void init() {
    json::object state;
    if (!opts.state_file.empty() && fs::exists(opts.state_file)) {
      std::ifstream in(opts.state_file, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      boost::system::error_code ec;
      json::value v = json::parse(ss.str(), ec);
      if (ec || !v.is_object())
        throw std::runtime_error("emulator state file " + opts.state_file.string() + " is not valid JSON");
      state = std::move(v.as_object());
    }
    const json::value* secret = state.if_contains("secret");
    signer = std::make_unique<UrlSigner>(secret && secret->is_string() ? std::string(secret->get_string())
                                                                        : UrlSigner::random_secret());
    if (opts.modules.empty()) {
      for (const ProviderKind& kind : provider_kinds()) modules.push_back(kind.make_emulator_module(services()));
    } else {
      for (const auto& factory : opts.modules) modules.push_back(factory(services()));
    }
    {
      FaultPlan p = opts.faults;
      if (opts.fault_rate > 0 && !p.modules.count("*")) p.modules["*"] = fault_plan_from_rate(opts.fault_rate).modules["*"];
      std::lock_guard lk(mu);
      install_faults(p, unix_now_ms());
    }
    if (state.empty()) return;
    try {
      if (const auto* s = state.if_contains("submissions"))
        for (const auto& v : s->as_array()) subs.push_back(submission_from_json(v));
      if (const auto* r = state.if_contains("rejected_submits")) rejected = r->to_number<std::size_t>();
      if (const auto* st = state.if_contains("stuck_tasks"))
        for (const auto& v : st->as_array()) stuck.insert(std::string(v.as_string()));
      if (const auto* m = state.if_contains("modules")) {
        for (auto& mod : modules)
          if (const auto* ms = m->as_object().if_contains(mod->name())) mod->load(*ms);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("emulator state file " + opts.state_file.string() + ": " + e.what());
    }
    log->info("emulator: loaded state from {} ({} submissions)", opts.state_file.string(), subs.size());
  }

  // Writes the state file (temp + rename). Called on the strand.
  void save() {
    if (opts.state_file.empty()) return;
    dirty = false;
    json::object mods;
    for (const auto& m : modules) mods[m->name()] = m->save();
    json::array arr;
    json::array st;
    std::size_t rej = 0;
    {
      std::lock_guard lk(mu);
      for (const auto& s : subs) arr.push_back(to_json(s));
      for (const auto& s : stuck) st.emplace_back(s);
      rej = rejected;
    }
    const json::object state{{"version", 1},
                             {"secret", signer->secret()},
                             {"submissions", std::move(arr)},
                             {"rejected_submits", rej},
                             {"stuck_tasks", std::move(st)},
                             {"modules", std::move(mods)}};
    const fs::path tmp = opts.state_file.string() + ".tmp";
    try {
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << json::serialize(state);
        out.flush();
        if (!out) throw std::runtime_error("write failed");
      }
      fs::rename(tmp, opts.state_file);
    } catch (const std::exception& e) {
      log->error("emulator: cannot write state file {}: {}", opts.state_file.string(), e.what());
      dirty = true;
    }
  }

  void flush_if_dirty() {
    if (dirty) save();
  }

  bool target_was_module(std::string_view path) const { return path.rfind("/_emulator/", 0) != 0; }

  // The module's answer to `req`, or the injected fault instead (faults.hpp).
  Response answer_with_faults(Module& target, const Request& req, std::string_view rest, const Injection& in) {
    switch (in.what) {
      case Injection::none:
        return target.handle(req, rest);
      case Injection::outage_503: {
        Response r(503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>\n");
        return r;
      }
      case Injection::outage_drop: {
        Response r;
        r.drop_connection = r.reset_connection = true;
        return r;
      }
      case Injection::fault:
        break;
    }
    switch (in.kind) {
      case FaultKind::http_5xx:
        return Response(in.status, "text/plain", "injected fault: HTTP " + std::to_string(in.status) + "\n");
      case FaultKind::http_429: {
        std::int64_t ra = 1;
        {
          std::lock_guard lk(mu);
          if (auto it = faults.find(target.name()); it != faults.end()) ra = it->second.rules.retry_after_s;
        }
        Response r(429, "text/plain", "injected fault: too many requests\n");
        r.set("Retry-After", std::to_string(ra));
        return r;
      }
      case FaultKind::reset_before: {
        Response r;
        r.drop_connection = r.reset_connection = true;
        return r;
      }
      case FaultKind::html200:
        return Response(200, "text/html; charset=utf-8",
                        "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>502 Bad Gateway</h1>"
                        "<p>The origin did not answer.</p></body></html>\n");
      default:
        break;
    }
    Response r = target.handle(req, rest);  // processed
    switch (in.kind) {
      case FaultKind::reset_after:
        r.drop_connection = r.reset_connection = true;
        break;
      case FaultKind::malformed_json:
        r.body = r.body.empty() ? std::string("{") : r.body.substr(0, std::max<std::size_t>(1, r.body.size() / 2));
        break;
      case FaultKind::stall: {
        std::lock_guard lk(mu);
        std::int64_t st = 30;
        if (auto it = faults.find(target.name()); it != faults.end()) st = it->second.rules.stall_s;
        r.stall_body = std::chrono::seconds(std::max<std::int64_t>(st, 1));
        break;
      }
      case FaultKind::truncate:
        if (r.body.size() >= 2) r.truncate_body_at = r.body.size() / 2;
        break;
      default:
        break;
    }
    return r;
  }

  Response handle(const Request& req) {
    const std::string_view path = req.path();
    Response r;
    if (path == "/_emulator/health") {
      r = Response(200, "application/json", "{\"status\":\"ok\"}");
    } else if (path == "/_emulator/faults") {
      if (req.method == "POST") {
        boost::system::error_code ec;
        json::value v = json::parse(req.body, ec);
        try {
          if (ec) throw std::invalid_argument("fault plan: not JSON: " + ec.message());
          FaultPlan p = fault_plan_from_json(v);
          {
            std::lock_guard lk(mu);
            install_faults(p, unix_now_ms());
          }
          log->info("emulator: fault plan replaced: {}", json::serialize(to_json(p)));
          r = Response(200, "application/json", json::serialize(faults_view()));
        } catch (const std::exception& e) {
          r = Response(400, "application/json", json::serialize(json::object{{"error", e.what()}}));
        }
      } else if (req.method == "GET" || req.method == "HEAD") {
        r = Response(200, "application/json", json::serialize(faults_view()));
      } else {
        r = Response(405, "application/json", "{\"error\":\"GET or POST\"}");
        r.set("Allow", "GET, POST");
      }
    } else if (path == "/_emulator/submissions") {
      json::array arr;
      {
        std::lock_guard lk(mu);
        for (const auto& s : subs) arr.push_back(to_json(s));
      }
      r = Response(200, "application/json", json::serialize(arr));
    } else {
      Module* target = nullptr;
      std::string_view rest;
      if (path.size() > 1 && path[0] == '/') {
        const auto slash = path.find('/', 1);
        const std::string_view name = path.substr(1, slash == std::string_view::npos ? slash : slash - 1);
        for (auto& m : modules) {
          if (m->name() == name) {
            target = m.get();
            rest = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
          }
        }
      }
      if (target == nullptr) {
        r = Response(404, "application/json", "{\"error\":\"no emulated API at this path\"}");
      } else {
        const bool download = (req.method == "GET" || req.method == "HEAD") &&
                              (req.query_param("token").has_value() || rest.ends_with("/content"));
        r = answer_with_faults(*target, req, rest, decide(target->name(), download, unix_now_ms()));
      }
    }
    if (target_was_module(path)) {
      std::lock_guard lk(mu);
      ++status_counts[r.status];
    }
    flush_if_dirty();  // before the response leaves: a submit is on disk when its taskId is
    return r;
  }

  static asio::awaitable<void> ticker(std::shared_ptr<Core> self) {
    while (!self->stopped) {
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      bool busy = false;
      for (auto& m : self->modules) {
        try {
          m->tick(now);
          busy = busy || m->busy();
        } catch (const std::exception& e) {  // keep ticking the others; requests still advance lazily
          self->log->error("emulator: {} tick failed: {}", m->name(), e.what());
        }
      }
      self->flush_if_dirty();
      if (busy)
        self->timer.expires_after(self->tick_interval);
      else
        self->timer.expires_after(std::chrono::hours(1));
      co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    if (server) server->stop();
    timer.cancel();
    save();
  }
};

// ---- Emulator -------------------------------------------------------------------

Emulator::Emulator(asio::any_io_executor ex, Options opts) : core_(std::make_shared<Core>(std::move(ex), std::move(opts))) {
  core_->init();
  std::weak_ptr<Core> weak = core_;
  core_->server = std::make_unique<HttpServer>(core_->strand, [weak](const Request& req) {
    auto core = weak.lock();
    if (!core) return Response(503, "text/plain", "emulator stopped\n");
    return core->handle(req);
  });
}

Emulator::~Emulator() {
  stop();
  core_->server.reset();  // its handler is never called again
}

unsigned short Emulator::listen(const std::string& host, unsigned short port) {
  if (core_->stopped) throw std::logic_error("Emulator::listen after stop()");
  const unsigned short bound = core_->server->listen(host, port);
  if (!core_->ticker_started) {
    core_->ticker_started = true;
    asio::co_spawn(core_->strand, Core::ticker(core_), [log = core_->log](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        log->error("emulator: ticker ended by exception: {}", x.what());
      }
    });
  }
  core_->log->info("emulator: listening on {}:{}", host, bound);
  return bound;
}

void Emulator::stop() { core_->stop(); }

std::vector<Submission> Emulator::submissions() const {
  std::lock_guard lk(core_->mu);
  return core_->subs;
}

std::size_t Emulator::rejected_submits() const {
  std::lock_guard lk(core_->mu);
  return core_->rejected;
}

std::size_t Emulator::responses_with_status(int status) const {
  std::lock_guard lk(core_->mu);
  auto it = core_->status_counts.find(status);
  return it == core_->status_counts.end() ? 0 : it->second;
}

void Emulator::set_faults(const FaultPlan& plan) {
  std::lock_guard lk(core_->mu);
  core_->install_faults(plan, Core::unix_now_ms());
}

FaultPlan Emulator::faults() const {
  std::lock_guard lk(core_->mu);
  return core_->plan;
}

std::size_t Emulator::faults_injected(std::string_view module, FaultKind kind) const {
  std::lock_guard lk(core_->mu);
  auto it = core_->faults.find(module);
  return it == core_->faults.end() ? 0 : it->second.injected[static_cast<std::size_t>(kind)];
}

std::size_t Emulator::outage_answers(std::string_view module) const {
  std::lock_guard lk(core_->mu);
  auto it = core_->faults.find(module);
  return it == core_->faults.end() ? 0 : it->second.down_answers + it->second.cdn_answers;
}

bool Emulator::serves(std::string_view module_name) const {
  for (const auto& m : core_->modules)
    if (m->name() == module_name) return true;
  return false;
}

}  // namespace reelbatch::emulator
