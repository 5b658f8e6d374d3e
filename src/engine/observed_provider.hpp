// The engine's adapter-call wrapper: a Provider that forwards every call to
// the real adapter and reports each request's outcome to an EngineObserver
// (src/engine/observer.hpp). The engine wraps each profile's adapter in one
// when EngineOptions::observer is set, so the stage files make their calls
// as before and every request is counted in one place. Internal to
// src/engine.
#pragma once

#include "providers/provider.hpp"
#include "src/engine/observer.hpp"
#include "src/output/downloader.hpp"
#include "storage/job_store.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace reelbatch {

class ObservedProvider final : public Provider {
 public:
  /// Wraps `inner` (not null); reports to `observer`, which must outlive
  /// this object.
  ObservedProvider(std::unique_ptr<Provider> inner, EngineObserver& observer);

  /// The next async_query call (only that one) is a URL refresh of a
  /// succeeded task (RequestKind::refresh) rather than a poll. Read when
  /// async_query is called, before its coroutine first suspends, so other
  /// coroutines' queries are not affected.
  void next_query_is_refresh() { next_query_refresh_ = true; }

  const ProfileConfig& profile() const override { return inner_->profile(); }
  std::vector<FieldError> validate(const JobSpec& spec) const override { return inner_->validate(spec); }
  boost::asio::awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override;
  boost::asio::awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override;
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override;
  bool has_task_list() const override { return inner_->has_task_list(); }
  boost::asio::awaitable<ProviderResult<TaskPage>> async_list(int page, int page_size) override;
  boost::asio::awaitable<ProviderResult<Balance>> async_balance() override;
  bool has_balance() const override { return inner_->has_balance(); }
  bool has_cancel() const override { return inner_->has_cancel(); }
  boost::asio::awaitable<ProviderResult<TaskStatus>> async_cancel(const std::string& remote_id) override;
  bool is_retryable_failure(const TaskStatus& s) const override { return inner_->is_retryable_failure(s); }
  PollPolicy default_poll() const override { return inner_->default_poll(); }
  std::chrono::seconds default_url_ttl() const override { return inner_->default_url_ttl(); }
  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override {
    return inner_->download_target(status, kind);
  }

 private:
  template <class T>
  void report(RequestKind kind, const ProviderResult<T>& r) {
    observer_.on_request(inner_->profile().name, kind, r ? RequestOutcome::ok : outcome_of(r.error().cls));
  }
  boost::asio::awaitable<ProviderResult<TaskStatus>> query(std::string remote_id, RequestKind kind);

  std::unique_ptr<Provider> inner_;
  EngineObserver& observer_;
  bool next_query_refresh_ = false;
};

/// Reports one committed transition of `job` (now in its new state, from
/// `from`, caused by the JobEvent named `event` with the event record's
/// `detail`) to `observer`: on_transition always; on_retry when the job goes
/// back to pending to be tried again ("upload_<class>", "submit_<class>",
/// "reconciled_absent", "remote_failed") or re-queries an expired URL
/// ("url_expired"); on_credits when a remote task succeeded with a cost;
/// on_download_bytes when its outputs are on disk. `prev_updated_ms`: the
/// job's updated_at_ms before this write; `now_ms`: Unix ms now. Called by
/// Engine::Impl::transition() only.
void report_transition(EngineObserver& observer, const JobRecord& job, JobState from, std::string_view event,
                       const boost::json::object& detail, std::int64_t prev_updated_ms, std::int64_t now_ms);

/// The outcome of one output fetch attempt: ok when `error` is null,
/// rate_limited for an HTTP 429, else retryable (the engine repeats fetches
/// and refreshes expired links until its download policy gives up).
RequestOutcome download_outcome(const DownloadError* error);

/// Marks `p`'s next async_query as a URL refresh when `p` is an
/// ObservedProvider; does nothing otherwise.
void mark_next_query_refresh(Provider& p);

}  // namespace reelbatch
