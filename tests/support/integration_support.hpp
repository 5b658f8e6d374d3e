// Shared pieces of the end-to-end tests: a temp folder, the emulator on its
// own thread, manifests and configs written for a run, the real binary as a
// child process, and the check of every output against the emulator's record.
#pragma once

#include "config/config.hpp"
#include "providers/emulator/emulator.hpp"
#include "storage/job_store.hpp"

#include <boost/asio/io_context.hpp>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace reelbatch::it {

/// The juhuo API key the tests' configs read from REELBATCH_IT_KEY.
extern const char* const kKey;

/// A fresh folder under the system temp folder, removed at destruction
/// (kept when REELBATCH_KEEP_TMP is set, for debugging a failure).
struct TempDir {
  std::filesystem::path path;
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// The emulator on its own thread and io_context, like a separate server,
/// listening on an ephemeral 127.0.0.1 port.
struct EmulatorThread {
  boost::asio::io_context io;
  emulator::Emulator emu;
  unsigned short port = 0;
  std::thread thread;

  explicit EmulatorThread(emulator::Options opts);
  ~EmulatorThread();
  /// "http://127.0.0.1:PORT/juhuo".
  std::string base_url() const;
};

/// The whole file as bytes ("" when unreadable).
std::string read_file(const std::filesystem::path& p);
/// Writes `s` to `p`, replacing it.
void write_file(const std::filesystem::path& p, const std::string& s);
/// `s` as one quoted CSV field.
std::string csv_quote(const std::string& s);

/// Writes `dir`/batch.csv with `rows` rows of varied parameters; every 7th
/// row references two local images (copied from examples/images) with
/// <<<name>>>. Returns the manifest's path.
std::filesystem::path write_manifest(const std::filesystem::path& dir, int rows);
/// Writes `dir`/reelbatch.toml: one juhuo profile at `base_url` with
/// `max_in_flight`, fast polling and generous rate budgets, then `extra`.
std::filesystem::path write_config(const std::filesystem::path& dir, const std::string& base_url,
                                   int max_in_flight, const std::string& extra = "");
/// Loads a config written by write_config() with the test key.
Config load_test_config(const std::filesystem::path& path);

/// Every job of the store, in ingest order.
std::vector<JobRecord> all_jobs(const JobStore& store);
/// The prompt a submission carried: `prompt`, else the text item of a
/// `content` array (seedance2's native body).
std::string submitted_prompt(const emulator::Submission& s);
/// Every job succeeded, its files match the emulator's record (SHA-256 and
/// size of video, cover and sidecar), no `.part` is left, and every row was
/// submitted exactly once. Reports through GoogleTest assertions.
void verify_outputs(const JobStore& store, const std::vector<emulator::Submission>& subs, std::size_t rows);

/// Starts `reelbatch -q run MANIFEST --config CONFIG` (stdout to /dev/null)
/// with this process's environment; returns its pid, or -1.
pid_t spawn_run(const std::filesystem::path& manifest, const std::filesystem::path& config);
/// Waits up to `limit` for `pid`: its exit code, -signal when killed, or
/// -1000 when it had to be killed at the limit.
int wait_exit(pid_t pid, std::chrono::seconds limit);

}  // namespace reelbatch::it
