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
//   GET /_emulator/faults       200 {"seed", "plan": <the fault plan, JSON form>,
//                               "modules": {name: {"requests", "submit_draws",
//                               "injected": {key: count}, "down_answers",
//                               "cdn_outage_answers", "down_from_ms", "down_until_ms",
//                               "cdn_outage_from_ms", "cdn_outage_until_ms"}},
//                               "stuck_tasks": ["module/task_id", ...]}
//   POST /_emulator/faults      body: a fault plan in JSON form (faults.hpp);
//                               replaces the plan, restarts its counters and
//                               outage clocks (now = installation), answers
//                               as GET; 400 {"error"} for an invalid plan
//   /<module>/...               the module, with the prefix stripped; some
//                               answers are injected faults (faults.hpp)
//                               instead, as the plan says
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
#include "providers/emulator/faults.hpp"
#include "src/net/http_server.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
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
  /// Shorthand for a plan "*" with 5xx = r/2 (500/502/503, not processed),
  /// 429 = r/4 (Retry-After: 1, not processed) and reset_after = r/4
  /// (processed, then the connection reset: the client cannot know whether
  /// a submit was taken); see fault_plan_from_rate(). Used only when
  /// `faults` has no "*" entry. Deterministic from `seed`.
  double fault_rate = 0.0;
  /// Per-module faults (faults.hpp), installed at construction: outage
  /// clocks start then. Replaceable at run time (set_faults, POST /_emulator/faults).
  FaultPlan faults;
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
  /// Fault plan hooks (faults.hpp); any may be empty (no faults).
  /// One draw among `kinds` for a submit of `module` (e.g. seedance2's
  /// concurrency_429_id / _noid): the kind that fires, or nullopt.
  std::function<std::optional<FaultKind>(std::string_view module, const std::vector<FaultKind>& kinds)> submit_fault;
  /// True when task `id` of `module` was drawn never_finish at its submit.
  std::function<bool(std::string_view module, std::string_view id)> never_finishes;
  /// The expiry (unix s) to sign into a download URL for `path` (which
  /// starts with "/<module>/") instead of `expires` (expire_early).
  std::function<std::int64_t(std::string_view path, std::int64_t expires)> url_expires;

  /// submit_fault(module, kinds), nullopt when the hook is empty.
  std::optional<FaultKind> draw_submit_fault(std::string_view module, const std::vector<FaultKind>& kinds) const {
    return submit_fault ? submit_fault(module, kinds) : std::nullopt;
  }
  /// never_finishes(module, id), false when the hook is empty: a module
  /// leaves such a task where it is (it keeps its slot, never ends).
  bool stuck(std::string_view module, std::string_view id) const {
    return never_finishes && never_finishes(module, id);
  }

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
  /// state file is not valid JSON or a module rejects its state;
  /// std::invalid_argument when Options::faults names a module not served.
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

  /// Replaces the fault plan (as POST /_emulator/faults): counters restart
  /// and outage clocks start now. Thread-safe. Throws std::invalid_argument
  /// (plan unchanged) when it names a module not served.
  void set_faults(const FaultPlan& plan);
  /// The plan in force. Thread-safe.
  FaultPlan faults() const;
  /// Faults of `kind` injected into `module`'s answers since the plan was
  /// installed (submit and URL kinds: tasks/URLs drawn). Thread-safe.
  std::size_t faults_injected(std::string_view module, FaultKind kind) const;
  /// Requests of `module` answered by an outage (down, cdn_outage) since
  /// the plan was installed. Thread-safe.
  std::size_t outage_answers(std::string_view module) const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace reelbatch::emulator
