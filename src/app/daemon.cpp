#include "src/app/daemon.hpp"

#include "config/daemon_config.hpp"

#include "providers/registry.hpp"
#include "src/app/admin_api.hpp"
#include "src/app/results_hook.hpp"
#include "src/engine/engine.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"
#include "src/app/store_factory.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

namespace reelbatch {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

std::optional<spdlog::level::level_enum> level_named(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return spdlog::level::from_str(s);
}

// The daemon's state shared by its threads.
class Daemon {
 public:
  explicit Daemon(const DaemonOptions& o) : opts_(o) {}

  int run();

 private:
  // ---- config ----
  std::shared_ptr<const Config> config() const {
    std::lock_guard lk(cfg_mu_);
    return cfg_;
  }
  void apply_log_level(const DaemonConfig& d) {
    if (auto l = level_named(d.log_level)) spdlog::set_level(*l);
    else spdlog::set_level(opts_.verbosity > 0 ? spdlog::level::debug
                           : opts_.verbosity < 0 ? spdlog::level::warn : spdlog::level::info);
  }
  void notify(std::string_view state) {
    if (opts_.hooks.notify) opts_.hooks.notify(state);
  }
  std::string status_line();

  // ---- admin thread ----
  void start_admin();
  void on_signal(int sig);
  void reload();
  void begin_stop(const char* why);

  IngestReport ingest(const std::vector<fs::path>& manifests, const std::string& profile);

  const DaemonOptions& opts_;
  mutable std::mutex cfg_mu_;
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<const Config> initial_;  // the engine holds a reference to it
  DaemonConfig daemon_;                    // [daemon]; stop_grace and log_level follow reloads

  asio::io_context engine_io_;
  asio::io_context admin_io_;
  std::unique_ptr<JobStore> engine_store_, admin_store_, ingest_store_;
  std::mutex ingest_mu_;
  std::unique_ptr<HttpClient> http_;
  // Results files, kept current as rows end (declared before the engine:
  // it outlives the engine that reports to it).
  std::unique_ptr<ResultsWriter> results_;
  std::unique_ptr<ResultsObserver> results_observer_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<admin::AdminApi> api_;
  std::unique_ptr<net::HttpServer> unix_server_, tcp_server_;
  std::string token_;
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<asio::steady_timer> grace_timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> engine_done_{false};
};

IngestReport Daemon::ingest(const std::vector<fs::path>& manifests, const std::string& profile) {
  std::lock_guard lk(ingest_mu_);
  const auto cfg = config();
  IngestReport r = ingest_manifests(*cfg, *ingest_store_, manifests, profile);
  for (auto id : r.batch_ids) {
    engine_->add_batch(id);
    results_->mark_dirty(id);  // rejected rows are listed before any row ends
  }
  return r;
}

std::string Daemon::status_line() {
  try {
    JobFilter all;
    const auto counts = admin_store_->count_by_state(all);
    std::string s;
    for (const auto& [state, n] : counts) {
      if (!s.empty()) s += ", ";
      s += fmt::format("{} {}", to_string(state), n);
    }
    return s.empty() ? "no jobs" : s;
  } catch (const std::exception& e) {
    return std::string("database: ") + e.what();
  }
}

void Daemon::begin_stop(const char* why) {
  if (stopping_.exchange(true)) return;
  const auto grace = daemon_.stop_grace;
  spdlog::info("daemon: {}: stopping (grace {} ms)", why, grace.count());
  notify("STOPPING=1");
  if (opts_.hooks.on_stop) {
    try {
      opts_.hooks.on_stop();
    } catch (const std::exception& e) {
      spdlog::error("daemon: stopping a part failed: {}", e.what());
    }
  }
  if (unix_server_) unix_server_->stop();
  if (tcp_server_) tcp_server_->stop();
  engine_->stop();
  grace_timer_ = std::make_unique<asio::steady_timer>(admin_io_, grace);
  grace_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || engine_done_) return;
    spdlog::warn("daemon: the engine did not stop within the grace; exiting (leases expire, the next start "
                 "resumes every row)");
    engine_io_.stop();
  });
}

void Daemon::reload() {
  notify("RELOADING=1");
  const auto old = config();
  try {
    Config next = load_config(opts_.config);
    DaemonConfig next_daemon = load_daemon_config(next);
    engine_->reconfigure(next).get();
    if (next_daemon.admin_socket != daemon_.admin_socket || next_daemon.http_listen != daemon_.http_listen ||
        next.storage_path != old->storage_path || next.storage_url != old->storage_url || next.output_dir != old->output_dir)
      spdlog::warn("daemon: reload: [storage], [output] and the admin API addresses change at the next restart");
    daemon_.stop_grace = next_daemon.stop_grace;
    daemon_.log_level = next_daemon.log_level;
    next.storage_path = old->storage_path;
    next.storage_url = old->storage_url;
    next.storage_password = old->storage_password;
    next.output_dir = old->output_dir;
    auto shared = std::make_shared<const Config>(std::move(next));
    {
      std::lock_guard lk(cfg_mu_);
      cfg_ = shared;
    }
    apply_log_level(daemon_);
    spdlog::info("daemon: reloaded {}", opts_.config.string());
    if (opts_.hooks.on_reload) opts_.hooks.on_reload(*shared);
  } catch (const std::exception& e) {
    spdlog::error("daemon: reload failed, keeping the running config: {}", e.what());
  }
  notify("READY=1");
  notify("STATUS=" + status_line());
}

void Daemon::on_signal(int sig) {
  if (sig == SIGHUP) {
    if (!stopping_) reload();
  } else if (stopping_) {
    spdlog::warn("daemon: second signal: exiting now");
    engine_io_.stop();
  } else {
    begin_stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
  signals_->async_wait([this](const boost::system::error_code& ec, int s) {
    if (!ec) on_signal(s);
  });
}

void Daemon::start_admin() {
  const auto cfg = config();
  admin::AdminDeps deps;
  deps.config = [this] { return config(); };
  deps.store = admin_store_.get();
  deps.engine = engine_.get();
  deps.engine_executor = engine_io_.get_executor();
  deps.engine_store = engine_store_.get();
  deps.upload_dir = cfg->storage_path.parent_path() / "uploads";
  deps.database = cfg->storage_path;
  deps.metrics = opts_.hooks.metrics;
  deps.ingest = [this](const std::vector<fs::path>& m, const std::string& p) { return ingest(m, p); };
  deps.stopping = [this] { return stopping_.load(); };
  deps.engine_gone = [this] { return engine_done_.load(); };
  api_ = std::make_unique<admin::AdminApi>(std::move(deps));

  net::ServerLimits limits;
  limits.body_limit = admin::kManifestBodyLimit;
  limits.read_timeout = std::chrono::seconds(60);
  unix_server_ = std::make_unique<net::HttpServer>(
      admin_io_.get_executor(), [this](const net::Request& r) { return api_->handle(r, std::string()); }, limits);
  const fs::path sock = daemon_.admin_socket;
  fs::create_directories(sock.parent_path());
  unix_server_->listen_unix(sock.string(), 0660);
  spdlog::info("daemon: admin API on unix:{}", sock.string());
  if (!daemon_.http_listen.empty()) {
    const auto hp = parse_loopback_listen(daemon_.http_listen);
    if (!hp) throw ConfigError("daemon.http_listen: not a loopback HOST:PORT");
    if (token_.empty()) throw ConfigError("daemon.http_listen: no token (token_file or token_credential)");
    tcp_server_ = std::make_unique<net::HttpServer>(
        admin_io_.get_executor(), [this](const net::Request& r) { return api_->handle(r, token_); }, limits);
    const auto port = tcp_server_->listen(hp->first, hp->second);
    const std::string host = hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
    spdlog::info("daemon: admin API on http://{}:{} (bearer token)", host, port);
    // Tests and scripts read the bound port (http_listen may say port 0).
    std::printf("admin API listening on http://%s:%u\n", host.c_str(), port);
    std::fflush(stdout);
  }
}

int Daemon::run() {
  try {
    cfg_ = std::make_shared<const Config>(load_config(opts_.config));
    initial_ = cfg_;
    daemon_ = load_daemon_config(*cfg_);
    apply_log_level(daemon_);
    token_ = admin::read_admin_token(daemon_, process_env());
  } catch (const ConfigError& e) {
    spdlog::error("daemon: {}", e.what());
    return 2;
  }
  const Config& cfg = *initial_;

  try {
    engine_store_ = open_job_store(cfg);
    admin_store_ = open_job_store(cfg);
    ingest_store_ = open_job_store(cfg);
  } catch (const std::exception& e) {
    spdlog::error("daemon: cannot open the database {}: {}", describe_store(cfg), e.what());
    return 2;
  }
  http_ = std::make_unique<HttpClient>(engine_io_.get_executor());
  EngineOptions eopts;
  eopts.batches = std::nullopt;  // every batch in the database, and every new one
  results_ = std::make_unique<ResultsWriter>(
      [cfg] { return open_job_store(cfg); }, results_context(cfg));
  results_observer_ = std::make_unique<ResultsObserver>(*results_, opts_.hooks.observer);
  eopts.observer = results_observer_.get();
  try {
    engine_ = std::make_unique<Engine>(cfg, *engine_store_, *http_, eopts);
  } catch (const std::exception& e) {
    spdlog::error("daemon: {}", e.what());
    return 2;
  }

  try {
    start_admin();
  } catch (const std::exception& e) {
    spdlog::error("daemon: cannot start the admin API: {}", e.what());
    return 2;
  }

  // The engine: recovery first (inside async_run), then the loops.
  std::exception_ptr engine_error;
  asio::co_spawn(engine_io_, engine_->async_run(), [&](std::exception_ptr e) {
    engine_error = e;
    engine_done_ = true;
    asio::post(admin_io_, [this] {
      if (grace_timer_) grace_timer_->cancel();
    });
  });

  signals_ = std::make_unique<asio::signal_set>(admin_io_, SIGINT, SIGTERM, SIGHUP);
  signals_->async_wait([this](const boost::system::error_code& ec, int s) {
    if (!ec) on_signal(s);
  });
  int start_rc = 0;
  asio::post(admin_io_, [this, &start_rc] {
    if (opts_.hooks.on_start) {
      DaemonServices services;
      services.config = [this] { return config(); };
      services.ingest = [this](const std::vector<fs::path>& m, const std::string& p) { return ingest(m, p); };
      services.engine = engine_.get();
      try {
        opts_.hooks.on_start(services);
      } catch (const std::exception& e) {
        spdlog::error("daemon: starting a part failed: {}", e.what());
        start_rc = 2;
        begin_stop("start failed");
        return;
      }
    }
    spdlog::info("daemon: running (config {}, database {})", opts_.config.string(),
                 describe_store(*config()));
    notify("READY=1");
    notify("STATUS=" + status_line());
  });
  auto admin_guard = asio::make_work_guard(admin_io_);
  std::thread admin_thread([this] {
    for (;;) {
      try {
        admin_io_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("daemon: admin thread: {}", e.what());
      }
    }
  });

  engine_io_.run();  // until async_run returns (after stop) or the grace runs out

  // Stop the admin side: signals, servers, timers; then join it.
  asio::post(admin_io_, [this] {
    stopping_ = true;
    try {
      signals_->cancel();
    } catch (const std::exception&) {
    }
    if (unix_server_) unix_server_->stop();
    if (tcp_server_) tcp_server_->stop();
    if (grace_timer_) grace_timer_->cancel();
  });
  admin_guard.reset();
  admin_thread.join();
  api_.reset();
  if (!engine_done_) {
    // The grace ran out (or a second signal came) with engine coroutines
    // still pending on engine_io_: destroying them would run their frames'
    // destructors against a half-stopped engine. Every state change is
    // already committed; leases expire and the next start resumes the rows.
    spdlog::info("daemon: stopped (forced)");
    spdlog::shutdown();
    std::_Exit(start_rc != 0 ? start_rc : 0);
  }

  if (engine_error) {
    try {
      std::rethrow_exception(engine_error);
    } catch (const std::exception& e) {
      spdlog::error("daemon: the engine stopped: {}", e.what());
      return 1;
    }
  }
  if (start_rc != 0) return start_rc;
  spdlog::info("daemon: stopped");
  return 0;
}

}  // namespace

int run_daemon(const DaemonOptions& opts) {
  Daemon d(opts);
  return d.run();
}

}  // namespace reelbatch
