// The parts plugged into the daemon through DaemonHooks (src/app/daemon.hpp):
// the Prometheus metrics collector (src/metrics/, also the engine's
// observer), the watch-folder service (src/watch/, its own thread and its
// own database connection), sd_notify (READY/STOPPING/RELOADING/STATUS) and
// the systemd watchdog, which is pinged only while the engine answers.
#pragma once

#include "src/app/daemon.hpp"

#include <memory>

namespace reelbatch {

/// Owns the parts; must outlive run_daemon(). Not copyable.
class DaemonParts {
 public:
  DaemonParts();
  ~DaemonParts();
  DaemonParts(const DaemonParts&) = delete;
  DaemonParts& operator=(const DaemonParts&) = delete;

  /// The hooks that run the parts. Every callback runs on the daemon's admin
  /// thread. on_start throws (the daemon then exits 2) when the watch
  /// service cannot start (no inotify and no eventfd) or its database
  /// connection cannot be opened.
  DaemonHooks hooks();

  struct State;

 private:
  std::unique_ptr<State> s_;
};

}  // namespace reelbatch
