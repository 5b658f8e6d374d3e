#include "src/app/daemon_parts.hpp"

#include "src/app/systemd_notify.hpp"
#include "src/engine/engine.hpp"
#include "src/metrics/metrics.hpp"
#include "src/watch/watch_service.hpp"
#include "src/app/store_factory.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace reelbatch {

struct DaemonParts::State {
  Metrics metrics;
  DaemonServices services;
  std::unique_ptr<JobStore> metrics_store;  // the admin thread's scrapes
  std::unique_ptr<JobStore> watch_store;    // the watch thread's ledger and ingests
  std::unique_ptr<WatchService> watch;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread watchdog;

  WatchIngestFn watch_ingest(const Config& cfg) {
    Engine* engine = services.engine;
    return make_watch_ingest(cfg, *watch_store, [engine](std::int64_t id) { engine->add_batch(id); });
  }

  // Pings the watchdog at half of WatchdogSec while the engine answers a
  // snapshot within that time: a wedged engine lets systemd restart us.
  void watchdog_loop(std::chrono::microseconds every) {
    std::unique_lock lk(mu);
    while (!cv.wait_for(lk, every, [this] { return stopping; })) {
      lk.unlock();
      auto fut = services.engine->snapshot_async();
      if (fut.wait_for(every) == std::future_status::ready) systemd::watchdog();
      else spdlog::warn("daemon: the engine did not answer within {} ms; watchdog not pinged",
                        std::chrono::duration_cast<std::chrono::milliseconds>(every).count());
      lk.lock();
    }
  }

  void stop() {
    {
      std::lock_guard lk(mu);
      stopping = true;
    }
    cv.notify_all();
    if (watchdog.joinable()) watchdog.join();
    if (watch) watch->stop();
  }
};

DaemonParts::DaemonParts() : s_(std::make_unique<State>()) {}
DaemonParts::~DaemonParts() { s_->stop(); }

DaemonHooks DaemonParts::hooks() {
  State* s = s_.get();
  systemd::use_journal_priorities_if_journal(*spdlog::default_logger());
  DaemonHooks h;
  h.observer = &s->metrics;
  h.on_start = [s](const DaemonServices& services) {
    s->services = services;
    const auto cfg = services.config();
    s->metrics_store = open_job_store(*cfg);
    s->watch_store = open_job_store(*cfg);
    s->watch = std::make_unique<WatchService>(*s->watch_store, s->watch_ingest(*cfg), spdlog::default_logger());
    s->watch->configure(cfg->watches);
    s->watch->start();
    if (const auto every = systemd::watchdog_interval())
      s->watchdog = std::thread([s, every = *every] { s->watchdog_loop(every); });
  };
  h.on_reload = [s](const Config& cfg) {
    if (s->watch) s->watch->configure(cfg.watches, s->watch_ingest(cfg));
  };
  h.on_stop = [s] { s->stop(); };
  h.metrics = [s]() -> std::string {
    if (!s->metrics_store || !s->services.engine) return {};
    const auto cfg = s->services.config();
    std::vector<std::string> profiles;
    for (const auto& [name, _] : cfg->profiles) profiles.push_back(name);
    auto fut = s->services.engine->snapshot_async();
    std::optional<EngineSnapshot> snap;
    if (fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready) snap = fut.get();
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return s->metrics.scrape(*s->metrics_store, profiles, snap ? &*snap : nullptr, now_ms);
  };
  h.notify = [](std::string_view state) {
    if (state == "READY=1") systemd::ready();
    else if (state == "STOPPING=1") systemd::stopping();
    else if (state == "RELOADING=1") systemd::reloading();
    else if (state.rfind("STATUS=", 0) == 0) systemd::status(state.substr(7));
  };
  return h;
}

}  // namespace reelbatch
