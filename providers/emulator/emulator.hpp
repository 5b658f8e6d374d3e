// The built-in emulator of the provider APIs (`reelbatch emulator`, tests,
// demo). One HTTP server serves every provider API as a Module under its own
// path prefix: by default one module per kind of the registry
// (providers/registry.hpp), built by the kind's module factory
// (providers/<kind>/emulator.cpp): /juhuo, /turing, /vibegen, /seedance2,
// /openai. Options::modules replaces that list (tests serve one module).
//
// Framework routes:
//   GET /_emulator/health       200 {"status":"ok"}
//   GET /_emulator/submissions  JSON array of Submission records (field names as below)
//   /<module>/...               the module, with the prefix stripped; with
//                               Options::fault_rate, some answers are injected
//                               faults (500, 503, 429 + Retry-After, dropped
//                               connection) instead
//
// Time: every emulated duration is multiplied by Options::time_scale; URL
// lifetimes are not. The clock is the system clock (unix ms), so a state file
// reloaded after a restart continues where it stopped. Persistence: with
// Options::state_file, the signing secret, the submissions and every
// module's save() are written (temp + rename) before the answer that changed
// them leaves, and loaded at start.
//
// Logging: Options::logger (nullptr = spdlog's default logger), handed to the
// modules as Services::log.
//
// Threading: all network work and module calls run on a strand of the
// executor given at construction. listen() and stop() must be called on that
// executor's thread (or while nothing runs it); submissions() and
// rejected_submits() may be called from any thread. Destroy the Emulator only
// after stop() or once its io_context no longer runs.
#pragma once

#include "providers/emulator/blob.hpp"
#include "src/net/http_server.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace reelbatch::emulator {

class Module;
struct Services;
/// Builds one provider module (e.g. make_juhuo_module).
using ModuleFactory = std::function<std::unique_ptr<Module>(Services)>;

struct Options {
  double time_scale = 1.0;        // multiplies every emulated duration (0.05 = 20x faster)
  double fail_rate = 0.0;         // fraction of tasks ending in `fail` (deterministic per task from seed)
  std::uint64_t seed = 1;
  int juhuo_concurrency = 4;      // account concurrency cap (doc 9.3: 4..50); excess tasks wait in `queued`
  double juhuo_credits = 10000;   // initial totalCredits per API key
  std::chrono::seconds url_ttl{7 * 24 * 3600};     // outputUrl/coverUrl signature lifetime (doc: 7 days); NOT scaled
  std::chrono::seconds upload_url_ttl{900};        // presigned upload URL lifetime
  /// Fraction of provider API requests answered with an injected fault
  /// instead of normally: HTTP 500, HTTP 503, HTTP 429 with Retry-After: 1
  /// (none of them processed), or processed and then the connection dropped
  /// without an answer (the client cannot know whether a submit was taken).
  /// Chosen deterministically from `seed` and the request's sequence number.
  double fault_rate = 0.0;
  /// The provider modules to serve; empty: every built-in provider.
  std::vector<ModuleFactory> modules;
  /// Where the emulator and its modules log; nullptr = spdlog::default_logger().
  std::shared_ptr<spdlog::logger> logger;
  std::filesystem::path state_file;                // if set: tasks/uploads/balances persisted here (JSON, temp+rename
                                                   // after each submit/upload/state change) and loaded at start
};

struct Submission {               // one accepted submit, as recorded
  std::string provider;           // "juhuo"
  std::string task_id;
  std::string api_key_fingerprint;// first 12 hex of sha256(key); never the key
  std::string body;               // the raw JSON request body received
  std::int64_t received_at_ms = 0;
  std::string video_sha256; std::uint64_t video_bytes = 0;   // the exact bytes served at outputUrl
  std::string cover_sha256; std::uint64_t cover_bytes = 0;
};

/// The record as a JSON object (keys as the member names).
boost::json::value to_json(const Submission& s);
/// The inverse of to_json(); throws std::exception on a malformed record.
Submission submission_from_json(const boost::json::value& v);

/// First 12 hex characters of sha256(key): how an API key appears in records.
std::string key_fingerprint(std::string_view api_key);

// ---- framework for provider modules ---------------------------------------

/// What the framework offers a module. All callbacks run on the emulator's strand.
struct Services {
  const Options* options = nullptr;
  const UrlSigner* signer = nullptr;          ///< the per-emulator secret (persisted with the state)
  std::shared_ptr<spdlog::logger> log;        ///< Options::logger, or spdlog's default logger; never null
  std::function<std::int64_t()> now_ms;       ///< unix ms
  std::function<void(Submission)> record_submission;
  std::function<void()> count_rejected_submit;
  std::function<void()> state_changed;        ///< persist (done before the current response is sent)
  std::function<void()> wake;                 ///< a task became active: tick again soon

  std::chrono::milliseconds scaled(std::chrono::milliseconds d) const;  ///< d × time_scale (≥ 0)
  std::int64_t now_s() const { return now_ms() / 1000; }
};

/// One emulated provider API.
class Module {
 public:
  virtual ~Module() = default;
  /// Path prefix without slashes ("juhuo" serves /juhuo/...).
  virtual std::string name() const = 0;
  /// `path` is the request path with "/<name>" removed ("/open-api/v1/...").
  virtual Response handle(const Request& req, std::string_view path) = 0;
  /// Advances emulated time to `now_ms` (called by the framework's ticker).
  virtual void tick(std::int64_t now_ms) = 0;
  /// True while some task still has to move: the ticker keeps running.
  virtual bool busy() const = 0;
  virtual boost::json::value save() const = 0;
  /// Restores save()'s output; throws std::exception on a malformed state.
  virtual void load(const boost::json::value& state) = 0;
};

class Emulator {
 public:
  /// Builds the modules (Options::modules, or the registry's) and loads
  /// Options::state_file when it exists. Throws std::runtime_error when the
  /// state file is not valid JSON or a module rejects its state.
  Emulator(boost::asio::any_io_executor ex, Options opts);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  /// Binds host:port (port 0 = ephemeral) and starts serving and ticking;
  /// returns the bound port. Throws std::system_error if it cannot bind,
  /// std::logic_error after stop().
  unsigned short listen(const std::string& host, unsigned short port);
  /// Stops accepting, closes sessions and writes the state file. Idempotent.
  void stop();
  /// Every accepted submit so far, in order. Thread-safe.
  std::vector<Submission> submissions() const;
  /// Submits answered with an error code. Thread-safe.
  std::size_t rejected_submits() const;
  /// True when a module named `module_name` ("juhuo") is registered.
  bool serves(std::string_view module_name) const;
  /// Provider API answers sent with this HTTP status so far. Thread-safe.
  std::size_t responses_with_status(int status) const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace reelbatch::emulator
