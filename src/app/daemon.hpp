// `reelbatch daemon --config FILE`: the long-running service (DESIGN.md,
// "The engine and the daemon"; issue 12).
//
// Structure, one thread each:
// - the engine thread (the caller's): one Engine for every batch in the
//   database (EngineOptions::batches = nullopt) on its own io_context; it
//   resumes every unfinished row at start and takes new batches as they
//   are ingested;
// - the admin thread: the admin API (src/app/admin_api.hpp) on the unix
//   socket and the optional loopback TCP port, signal handling (SIGTERM /
//   SIGINT: graceful stop; SIGHUP: reload), and the config reloads;
// - parts added through DaemonHooks (the watch-folder service runs its
//   own thread and calls DaemonServices::ingest).
//
// Never exits on a bad manifest, a bad response or a failing profile: those
// are answered, logged and paused by the engine. It exits on SIGTERM/SIGINT
// (0), on a config or listen error at start (2), and when the database fails
// (1; systemd restarts it and recovery resumes every row).
#pragma once

#include "config/config.hpp"
#include "src/ingest/ingest.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {

class Engine;
class EngineObserver;

/// What the daemon offers to the parts wired in through DaemonHooks. Every
/// function is safe from any thread.
struct DaemonServices {
  /// The config in force (replaced on each successful SIGHUP reload).
  std::function<std::shared_ptr<const Config>()> config;
  /// Ingests manifests into the database (rows without a provider take
  /// `default_profile`; "" for none) and hands each batch to the engine.
  /// Serialized with the admin API's ingests. Throws ManifestError /
  /// ConfigError / database exceptions as ingest_manifests does.
  std::function<IngestReport(const std::vector<std::filesystem::path>& manifests, const std::string& default_profile)>
      ingest;
  /// The engine (its thread-safe functions: add_batch, snapshot_async, ...).
  Engine* engine = nullptr;
};

/// The wiring points for the parts written beside the daemon. Every member
/// may be empty.
struct DaemonHooks {
  /// Called on the admin thread once the engine runs and the admin API
  /// listens, before READY=1: start the watch-folder service (src/watch/)
  /// here. An exception stops the daemon (exit 2).
  std::function<void(const DaemonServices&)> on_start;
  /// Called on the admin thread after a SIGHUP reload succeeded, with the
  /// new config (watch folders added or removed).
  std::function<void(const Config&)> on_reload;
  /// Called on the admin thread when the daemon starts stopping (before
  /// the engine stops): stop the watch-folder service here.
  std::function<void()> on_stop;
  /// GET /metrics: the Prometheus text of one scrape (src/metrics/);
  /// called on the admin thread per scrape.
  std::function<std::string()> metrics;
  /// sd_notify(0, state): "READY=1", "STOPPING=1", "RELOADING=1",
  /// "STATUS=...". Called on the admin thread.
  std::function<void(std::string_view state)> notify;
  /// The engine's observer (src/engine/observer.hpp; the metrics
  /// collector); nullptr: none. Must outlive run_daemon().
  EngineObserver* observer = nullptr;
};

struct DaemonOptions {
  std::filesystem::path config;  ///< the TOML config file
  /// -v count (1: debug) or -1 (-q: warnings); [daemon] log_level wins when set.
  int verbosity = 0;
  DaemonHooks hooks;
};

/// Runs the daemon in the foreground until SIGTERM/SIGINT. Returns the exit
/// code: 0 after a stop (graceful within [daemon] stop_grace, else the
/// remaining work is abandoned: leases expire, recovery resumes it), 2 when
/// the config cannot be loaded, the token cannot be read or the admin
/// socket/port cannot be bound (another daemon owns the socket), 1 when the
/// database fails. Errors are logged through spdlog's default logger.
int run_daemon(const DaemonOptions& opts);

}  // namespace reelbatch
