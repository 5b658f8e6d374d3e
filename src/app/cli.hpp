// The command line (CLI11): run, daemon, submit, status, jobs, resolve,
// retry, cancel, pause, resume, balance, emulator. submit, status, jobs,
// cancel, retry, resolve, pause and resume talk to the daemon's admin API
// when a daemon holds the database (src/app/admin_client.hpp), else act on
// the database directly through the service layer (src/app/service.hpp).
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>

namespace reelbatch {

/// Exit codes of the reelbatch command.
enum ExitCode : int {
  kExitOk = 0,           ///< every row succeeded
  kExitFailed = 1,       ///< some rows failed or were cancelled, or were rejected at ingest
  kExitUsage = 2,        ///< usage, config or manifest file error; nothing was run
  kExitWaiting = 3,      ///< no row failed, but some wait: held, or pending on a paused profile
  kExitBusy = 4,         ///< a daemon (or another writer) holds the database; `run --wait-lock` waits
  kExitInterrupted = 130 ///< SIGINT/SIGTERM; run the same command again to resume
};

/// Parses argv and runs the chosen subcommand; returns the process exit code.
/// Never throws: errors are printed to stderr.
int run_cli(int argc, char** argv);

/// The environment lookup for commands that only read the database
/// (status, jobs, report, backup, ...): the variable's value when set, else
/// the placeholder "(not needed)", so a profile whose API key is not set in
/// this shell still loads. Never throws.
std::optional<std::string> env_not_required(const std::string& name);

/// load_config(path, env), printing a ConfigError (file, key, what is
/// wrong) to stderr. Returns nullopt after printing: the caller exits with
/// kExitUsage.
std::optional<Config> load_config_or_report(const std::string& path, const EnvLookup& env);

}  // namespace reelbatch
