// The daemon's admin API: HTTP/1.1 + JSON routes over src/net/http_server,
// on a unix socket (trusted by its file mode) and optionally on a loopback
// TCP port (bearer token). Every route and its JSON is listed in README.md,
// "Daemon". Errors are {"error":{"code":"...","message":"..."}} with 400
// (malformed), 401 (no or wrong token), 404 (unknown route, job, batch or
// profile), 405 (wrong method; Allow lists the right ones), 409 (the
// request does not apply: cancelling a finished job), 413 (body too large),
// 503 (the engine does not answer: stopping).
//
// Threading: AdminApi::handle runs on the admin thread (the HttpServer's
// executor), never on the engine's event loop. Reads and manifest ingest go
// through the admin thread's own JobStore connection (its writes and fsyncs
// stay off the engine loop); state changes are Service calls co_spawned on
// the engine's executor with the engine's store, waited for on the admin
// thread with a deadline.
#pragma once

#include "config/config.hpp"
#include "config/daemon_config.hpp"
#include "src/ingest/ingest.hpp"
#include "src/net/http_server.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {

class Engine;
class JobStore;

namespace admin {

/// The routes of the admin API.
enum class RouteId {
  healthz,         ///< GET  /healthz
  metrics,         ///< GET  /metrics
  batches_list,    ///< GET  /v1/batches
  batches_create,  ///< POST /v1/batches
  batch_get,       ///< GET  /v1/batches/{id}
  batch_cancel,    ///< POST /v1/batches/{id}/cancel
  batch_retry,     ///< POST /v1/batches/{id}/retry
  jobs_list,       ///< GET  /v1/jobs
  job_get,         ///< GET  /v1/jobs/{id}
  job_cancel,      ///< POST /v1/jobs/{id}/cancel
  job_retry,       ///< POST /v1/jobs/{id}/retry
  job_resolve,     ///< POST /v1/jobs/{id}/resolve
  profiles_list,   ///< GET  /v1/profiles
  profile_pause,   ///< POST /v1/profiles/{name}/pause
  profile_resume,  ///< POST /v1/profiles/{name}/resume
  events,          ///< GET  /v1/events (server-sent events)
};

/// The outcome of matching a method and path.
struct RouteMatch {
  int status = 404;      ///< 200: matched; 404: no such path; 405: path known, method not
  RouteId route = RouteId::healthz;
  std::string arg;       ///< the {id} / {name} segment, percent-decoded; "" when none
  std::string allow;     ///< for 405: the methods the path takes ("GET", "POST", "GET, POST")
};

/// Matches `method` ("GET", "POST", ...; HEAD counts as GET) and `path`
/// (the request target without its query, not decoded; one trailing '/'
/// is ignored). Pure. An empty or over-long (> 512 bytes) {id}/{name}
/// segment, or one containing '/', does not match (404).
RouteMatch match_route(std::string_view method, std::string_view path);

/// True when `authorization` is exactly "Bearer <token>" (scheme
/// case-insensitive, one or more spaces) and `token` is not empty. The
/// token comparison takes time independent of where the strings differ
/// (length differences included: compares SHA-256 digests with
/// CRYPTO_memcmp).
bool bearer_token_matches(std::string_view authorization, std::string_view token);

/// Reads the bearer token of `[daemon]`: from token_file, else from
/// $CREDENTIALS_DIRECTORY/<token_credential> (systemd LoadCredential=). The
/// first line, surrounding whitespace removed. Returns "" when neither is
/// configured. Throws ConfigError when the file cannot be read, the
/// credentials directory is unset, or the token is shorter than 16 bytes.
std::string read_admin_token(const DaemonConfig& d, const EnvLookup& env);

/// `{"error":{"code":code,"message":message}}` as a JSON response with `status`.
net::Response error_response(int status, std::string_view code, std::string_view message);

/// Body size limits: manifests (POST /v1/batches) and everything else.
inline constexpr std::uint64_t kManifestBodyLimit = 16ull << 20;
inline constexpr std::uint64_t kSmallBodyLimit = 64ull << 10;

/// What the routes work with; the daemon fills it in.
struct AdminDeps {
  /// The current config (replaced on SIGHUP). Called on the admin thread.
  std::function<std::shared_ptr<const Config>()> config;
  /// The admin thread's own store connection (reads, ingest).
  JobStore* store = nullptr;
  /// The engine, its executor and its store (used only on that executor).
  Engine* engine = nullptr;
  boost::asio::any_io_executor engine_executor;
  JobStore* engine_store = nullptr;
  /// Folder where manifests POSTed as a body are written (created on use).
  std::filesystem::path upload_dir;
  /// SQLite database file, for the events tail (GET /v1/events).
  std::filesystem::path database;
  /// GET /metrics: the Prometheus text of one scrape (src/metrics/, wired
  /// by the daemon); empty: the route answers 404.
  std::function<std::string()> metrics;
  /// Ingests manifests (with a default profile, "" for none) into the
  /// database and hands the new batches to the engine; thread-safe (the
  /// daemon's, shared with the watch folders). Throws as ingest_manifests.
  std::function<IngestReport(const std::vector<std::filesystem::path>&, const std::string&)> ingest;
  /// How long a route waits for the engine before answering 503.
  std::chrono::milliseconds engine_timeout{60000};
  /// How often GET /v1/events looks for new events.
  std::chrono::milliseconds events_poll{250};
  /// True once the engine's loop ended: routes stop waiting for it (503).
  std::function<bool()> engine_gone;
  /// True while the daemon stops (healthz says so; new batches get 503).
  std::function<bool()> stopping;
};

class AdminApi {
 public:
  explicit AdminApi(AdminDeps deps);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  /// Answers one request. `token` non-empty: the request must carry it
  /// (the TCP listener); empty: trusted (the unix socket). Never throws:
  /// failures are JSON errors (500 for an unexpected exception, logged).
  net::Response handle(const net::Request& req, const std::string& token);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace admin
}  // namespace reelbatch
