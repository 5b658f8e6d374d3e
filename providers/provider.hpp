// The provider interface: what the engine knows of a video-generation API.
// Each adapter (providers/<kind>/) maps the normalized JobSpec to its native
// request and its native responses back to these normalized facts
// (DESIGN.md, "Provider interface").
#pragma once

#include "config/config.hpp"
#include "src/core/job_spec.hpp"
#include "src/core/error.hpp"
#include "src/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace reelbatch {

class HttpClient;

/// Normalized remote task state.
enum class RemoteState { queued, running, succeeded, failed, cancelled, expired };
/// The state's name ("queued", ..., "expired"); "unknown" for other values.
const char* to_string(RemoteState s);

/// What a status query tells, normalized.
struct TaskStatus {
  std::string remote_id;
  RemoteState state = RemoteState::queued;
  std::string native_state;    ///< the provider's own word, e.g. "generating"
  std::string video_url;       ///< set when succeeded (may be empty: see download_target)
  std::string cover_url;       ///< optional cover image
  std::string last_frame_url;  ///< optional last frame image
  std::optional<double> cost;  ///< credits charged, when reported
  std::string error_code;      ///< provider's task error code when failed
  std::string error_message;
  std::optional<std::int64_t> created_at_ms;  ///< Unix ms, when reported
};

template <class T>
using ProviderResult = Result<T, ProviderError>;

/// A local file to upload (the engine hashes it off the event loop).
struct LocalAsset {
  std::string name;               ///< the manifest's reference name
  std::filesystem::path path;
  std::string sha256;             ///< hex, of the file's content
  std::uint64_t size_bytes = 0;
  enum class Kind { image, video, audio } kind = Kind::image;
};

/// A reference asset as the provider will see it: its name and either the
/// remote reference an upload returned (ossKey, file_path) or a URL.
struct ResolvedAsset {
  std::string name;
  std::string remote_ref;
};

/// Everything a submit needs: the spec (with profile defaults applied) and
/// its assets, in the spec's order.
struct SubmitRequest {
  JobSpec spec;
  std::vector<ResolvedAsset> images;
  std::vector<ResolvedAsset> videos;
  std::vector<ResolvedAsset> audios;
};

struct TaskPage {
  std::vector<TaskStatus> tasks;  ///< newest first where the API says so
  std::int64_t total = 0;
};

struct Balance {
  double total = 0, used = 0, remain = 0;  ///< credits
};

/// Poll schedule in wall time.
struct PollPolicy {
  std::chrono::milliseconds first_wait{5000};
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds max_interval{10000};
};

enum class OutputKind { video, cover, last_frame };

/// How to fetch one output: the URL and any headers (auth for content endpoints).
struct DownloadTarget {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};

class Provider {
 public:
  virtual ~Provider() = default;

  /// The profile this adapter talks for.
  virtual const ProfileConfig& profile() const = 0;

  /// Local check of a row against the provider's documented limits (duration
  /// set, resolution, ratio, models, prompt references, asset types and
  /// sizes); no I/O but stat(2). Empty when the row is acceptable.
  virtual std::vector<FieldError> validate(const JobSpec& spec) const = 0;

  /// Uploads a local asset; returns the remote reference to submit with.
  virtual boost::asio::awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) = 0;

  /// Submits a generation task; returns the remote task id. A transport
  /// failure after the request was sent is ErrorClass::unknown_outcome.
  virtual boost::asio::awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) = 0;

  /// Queries one task.
  virtual boost::asio::awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) = 0;

  /// True when async_list is supported (used to reconcile lost submits).
  virtual bool has_task_list() const { return false; }

  /// One page of the account's tasks, newest first; `page` counts from 1.
  virtual boost::asio::awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size);

  /// The account's credit balance, where the API has one.
  virtual boost::asio::awaitable<ProviderResult<Balance>> async_balance();

  /// True when async_balance is supported.
  virtual bool has_balance() const { return false; }

  /// True when async_cancel is supported (a remote task can be cancelled).
  virtual bool has_cancel() const { return false; }

  /// Cancels a remote task; returns its status afterwards. Unsupported by
  /// default (ErrorClass::permanent, code "unsupported").
  virtual boost::asio::awaitable<ProviderResult<TaskStatus>> async_cancel(const std::string& remote_id);

  /// True when a failed task may be submitted again: the provider reports a
  /// transient failure and did not charge for it.
  virtual bool is_retryable_failure(const TaskStatus&) const { return false; }

  /// The documented polling suggestion; the profile's poll_* keys override it.
  virtual PollPolicy default_poll() const = 0;

  /// Documented lifetime of signed output URLs.
  virtual std::chrono::seconds default_url_ttl() const = 0;

  /// How to download `kind` of a succeeded task; nullopt when the task has no
  /// such output.
  virtual std::optional<DownloadTarget> download_target(const TaskStatus& status,
                                                        OutputKind kind) const = 0;
};

/// Builds the adapter for `profile.kind` through the registry
/// (providers/registry.hpp), sending requests through `http` (which must
/// outlive it) and logging to `logger` (nullptr = spdlog::default_logger()).
/// Throws ConfigError "providers.<name>.kind: unknown provider kind '<kind>'
/// (known: juhuo, turing, vibegen, seedance2, openai)" for an unknown kind.
std::unique_ptr<Provider> make_provider(const ProfileConfig& profile, HttpClient& http,
                                        std::shared_ptr<spdlog::logger> logger = nullptr);

/// Effective poll schedule: the profile's poll_first / poll_interval /
/// poll_max_interval (ms) over the provider's default_poll(); max_interval is
/// raised to interval when below it. Never throws.
PollPolicy effective_poll(const Provider& p);

}  // namespace reelbatch

namespace reelbatch {

/// Fills the spec's unset fields (model, duration, resolution, aspect
/// ratio, audio) from the profile's [defaults] table; set fields are kept.
/// Returns the completed spec. Never throws except std::bad_alloc.
JobSpec apply_defaults(JobSpec spec, const JobDefaults& defaults);

}  // namespace reelbatch
