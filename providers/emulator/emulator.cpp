#include "providers/emulator/emulator.hpp"

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
  std::uint64_t request_seq = 0;  // provider API requests seen, for fault injection

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
    return s;
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
    if (state.empty()) return;
    try {
      if (const auto* s = state.if_contains("submissions"))
        for (const auto& v : s->as_array()) subs.push_back(submission_from_json(v));
      if (const auto* r = state.if_contains("rejected_submits")) rejected = r->to_number<std::size_t>();
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
    std::size_t rej = 0;
    {
      std::lock_guard lk(mu);
      for (const auto& s : subs) arr.push_back(to_json(s));
      rej = rejected;
    }
    const json::object state{{"version", 1},
                             {"secret", signer->secret()},
                             {"submissions", std::move(arr)},
                             {"rejected_submits", rej},
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

  // -1: answer normally; 0..3: the injected fault (see Options::fault_rate).
  int pick_fault() {
    if (opts.fault_rate <= 0) return -1;
    std::uint64_t x = opts.seed * 0x9E3779B97F4A7C15ull + (++request_seq) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    if (static_cast<double>(x >> 11) / static_cast<double>(1ull << 53) >= opts.fault_rate) return -1;
    return static_cast<int>((x >> 3) % 4);
  }

  Response handle(const Request& req) {
    const std::string_view path = req.path();
    Response r;
    if (path == "/_emulator/health") {
      r = Response(200, "application/json", "{\"status\":\"ok\"}");
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
        const int fault = pick_fault();
        if (fault == 0) {
          r = Response(500, "text/plain", "injected fault: internal error");
        } else if (fault == 1) {
          r = Response(503, "text/plain", "injected fault: service unavailable");
        } else if (fault == 2) {
          r = Response(429, "text/plain", "injected fault: too many requests");
          r.set("Retry-After", "1");
        } else {
          r = target->handle(req, rest);
          if (fault == 3) r.drop_connection = true;
        }
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

bool Emulator::serves(std::string_view module_name) const {
  for (const auto& m : core_->modules)
    if (m->name() == module_name) return true;
  return false;
}

}  // namespace reelbatch::emulator
