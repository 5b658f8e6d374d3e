// The command line (CLI11): run, status, resolve, retry, cancel, pause,
// resume, balance, emulator. State changes go through the service layer
// (src/app/service.hpp).
#pragma once

namespace reelbatch {

/// Exit codes of the reelbatch command.
enum ExitCode : int {
  kExitOk = 0,           ///< every row succeeded
  kExitFailed = 1,       ///< some rows failed, were rejected, are held or still waiting
  kExitUsage = 2,        ///< usage, config or manifest file error; nothing was run
  kExitInterrupted = 130 ///< SIGINT/SIGTERM; run the same command again to resume
};

/// Parses argv and runs the chosen subcommand; returns the process exit code.
/// Never throws: errors are printed to stderr.
int run_cli(int argc, char** argv);

}  // namespace reelbatch
