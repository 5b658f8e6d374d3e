#include "src/engine/observed_provider.hpp"

#include <string>
#include <utility>

namespace reelbatch {
using boost::asio::awaitable;

ObservedProvider::ObservedProvider(std::unique_ptr<Provider> inner, EngineObserver& observer)
    : inner_(std::move(inner)), observer_(observer) {}

awaitable<ProviderResult<std::string>> ObservedProvider::async_upload(const LocalAsset& asset) {
  auto r = co_await inner_->async_upload(asset);
  report(RequestKind::upload, r);
  co_return r;
}

awaitable<ProviderResult<std::string>> ObservedProvider::async_submit(const SubmitRequest& req) {
  auto r = co_await inner_->async_submit(req);
  report(RequestKind::submit, r);
  co_return r;
}

// Not a coroutine: the kind is taken now, when the caller makes the call.
awaitable<ProviderResult<TaskStatus>> ObservedProvider::async_query(const std::string& remote_id) {
  const RequestKind kind = std::exchange(next_query_refresh_, false) ? RequestKind::refresh : RequestKind::poll;
  return query(remote_id, kind);
}

awaitable<ProviderResult<TaskStatus>> ObservedProvider::query(std::string remote_id, RequestKind kind) {
  auto r = co_await inner_->async_query(remote_id);
  report(kind, r);
  co_return r;
}

awaitable<ProviderResult<TaskPage>> ObservedProvider::async_list(int page, int page_size) {
  auto r = co_await inner_->async_list(page, page_size);
  report(RequestKind::list, r);
  co_return r;
}

awaitable<ProviderResult<Balance>> ObservedProvider::async_balance() {
  auto r = co_await inner_->async_balance();
  report(RequestKind::balance, r);
  co_return r;
}

awaitable<ProviderResult<TaskStatus>> ObservedProvider::async_cancel(const std::string& remote_id) {
  auto r = co_await inner_->async_cancel(remote_id);
  report(RequestKind::cancel, r);
  co_return r;
}

void report_transition(EngineObserver& observer, const JobRecord& job, JobState from, std::string_view event,
                       const boost::json::object& detail, std::int64_t prev_updated_ms, std::int64_t now_ms) {
  std::string_view cls;
  if (const auto* c = detail.if_contains("class"); c && c->is_string()) cls = c->get_string();
  const std::string_view profile = job.spec.provider;
  observer.on_transition(StateChange{profile, from, job.state, event, cls, now_ms, prev_updated_ms, job});

  // Retries: the job goes back to pending to be submitted again (the user's
  // own `retry` / `resolve --resubmit` and a pause are not retries).
  if (job.state == JobState::pending && from != JobState::pending) {
    std::string reason;
    if (event == "submit_rejected_retryable" || event == "submit_throttled")
      reason = std::string(from == JobState::uploading ? "upload_" : "submit_") +
               std::string(cls.empty() ? "retryable" : cls);
    else if (event == "reconciled_absent" || event == "remote_failed")
      reason = std::string(event);
    if (!reason.empty()) observer.on_retry(profile, reason);
  }
  if (event == "url_expired") observer.on_retry(profile, "url_expired");
  if (event == "remote_succeeded" && job.cost && *job.cost > 0) observer.on_credits(profile, *job.cost);
  if (event == "download_done") observer.on_download_bytes(profile, job.bytes);
}

RequestOutcome download_outcome(const DownloadError* error) {
  if (error == nullptr) return RequestOutcome::ok;
  return error->http_status == 429 ? RequestOutcome::rate_limited : RequestOutcome::retryable;
}

void mark_next_query_refresh(Provider& p) {
  if (auto* o = dynamic_cast<ObservedProvider*>(&p)) o->next_query_is_refresh();
}

}  // namespace reelbatch
