// Stage: running task -> poll with the provider's schedule and backoff
// (scheduler/backoff.hpp next_poll_delay; decide_poll_error for failed
// queries) -> downloading, failed, or pending again (a transient remote
// failure the provider did not charge for).
#include "src/engine/engine_impl.hpp"
#include "src/engine/credits.hpp"
#include "src/engine/observed_provider.hpp"

#include "providers/registry.hpp"

namespace reelbatch {
namespace json = boost::json;
using boost::asio::awaitable;

void Engine::Impl::record_success(Profile& p, ActiveJob& j, const TaskStatus& s) {
  JobRecord& r = j.rec;
  r.video_url = s.video_url;
  r.cover_url = s.cover_url;
  r.last_frame_url = s.last_frame_url;
  r.url_expires_at_ms = now_unix_ms() + std::chrono::duration_cast<milliseconds>(
                                            p.cfg->url_ttl.value_or(p.provider->default_url_ttl()))
                                            .count();
  r.cost = s.cost;
  j.cost_source.reset();
  if (!r.cost) fill_unreported_cost(p, j);
  if (r.cost) p.spent += *r.cost;
}

// ---- credits (issue 9) ------------------------------------------------------------

// Where the provider reports no cost on success (vibegen), the row's price
// from the profile's [prices] or the document's table is its cost, so that
// spend is not recorded as nothing. A learned or unknown estimate is not
// written as a cost (the ledger keeps the reservation as the estimate).
void Engine::Impl::fill_unreported_cost(Profile& p, ActiveJob& j) {
  const CostEstimate e = estimate_job_cost(*p.cfg, j.rec.spec, {});
  if (!e.credits || (e.source != CostSource::documented && e.source != CostSource::configured)) return;
  j.rec.cost = *e.credits;
  j.cost_source = e.source;
}

void Engine::Impl::settle_success_credits(ActiveJob& j) {
  if (j.rec.cost)
    store.settle_credits(j.rec.id, j.rec.cost, j.cost_source ? to_string(*j.cost_source) : "reported");
  else
    store.settle_credits(j.rec.id, std::nullopt, "");  // charged, amount not reported: the estimate stands
  budget_changed(profile_of(j.rec));
}

void Engine::Impl::settle_failure_credits(Profile& p, ActiveJob& j, RemoteState state) {
  // Failed (and expired / cancelled) tasks are not charged where the
  // provider's document says so (registry: remote_failures_free); elsewhere
  // the reservation stands as the cost (the documents state no refund).
  const ProviderKind* kind = find_provider_kind(p.cfg->kind);
  const bool uncharged =
      state == RemoteState::cancelled || (kind != nullptr && kind->capabilities.remote_failures_free);
  if (uncharged)
    store.release_credits(j.rec.id);
  else
    store.settle_credits(j.rec.id, std::nullopt, "");
  budget_changed(p);
}

awaitable<void> Engine::Impl::poll_loop(std::int64_t id) {
  ActiveJob& j = *jobs.at(id);
  JobRecord& r = j.rec;
  Profile& p = profile_of(r);
  int polls = 0, since_change = 0, errors = 0;
  while (!stopping && !j.lost) {
    co_await sleep_for(next_poll_delay(p.poll, polls, since_change, random01()));
    if (!co_await circuit_gate(p, &j)) co_return;
    co_await sleep_until(std::max(p.poll_bucket.reserve(clock.now()), p.throttled_until));
    if (stopping || j.lost) co_return;
    auto q = co_await p.provider->async_query(r.remote_id);
    circuit_report(p, q ? nullptr : &q.error());
    ++polls;
    if (!q) {
      const auto& err = q.error();
      ++errors;
      const auto d = decide_poll_error(err.cls, errors, p.poll, err.retry_after, random01(), *policy);
      if (d.action == PollErrorDecision::Action::fail_task) {
        set_error(j, err);
        if (transition(j, *d.event, error_detail(err), false)) finish(j);
        co_return;
      }
      if (d.throttle_for) throttle(p, err, *d.throttle_for);
      logger().warn("job {}: status query failed: {}", r.key, err.describe());
      co_await sleep_for(d.delay);
      continue;
    }
    errors = 0;
    const TaskStatus& s = *q;
    if (s.native_state != r.native_state) {
      r.native_state = s.native_state;
      since_change = 0;
      if (!note(j, "remote_state", json::object{{"state", s.native_state}, {"normalized", to_string(s.state)}})) co_return;
    } else {
      ++since_change;
    }
    switch (s.state) {
      case RemoteState::queued:
      case RemoteState::running:
        continue;
      case RemoteState::succeeded:
        record_success(p, j, s);
        if (!transition(j, JobEvent::remote_succeeded,
                        json::object{{"remote_id", r.remote_id},
                                     {"cost", r.cost ? json::value(*r.cost) : nullptr},
                                     {"cost_source", !r.cost ? "unknown"
                                                     : j.cost_source ? to_string(*j.cost_source) : "reported"}}))
          co_return;
        settle_success_credits(j);
        release_slot(j);
        queue_download(j);
        co_return;
      case RemoteState::failed:
      case RemoteState::expired:
      case RemoteState::cancelled: {
        r.error_code = s.error_code.empty() ? s.native_state : s.error_code;
        r.error_message = p.cfg->name + ": task " + r.remote_id + " " + s.native_state +
                          (s.error_code.empty() ? "" : ", code " + s.error_code) +
                          (s.error_message.empty() ? "" : ": " + s.error_message);
        // Resubmitted only where the profile (or the provider's document:
        // failed tasks not charged) says so, and the adapter calls the
        // failure transient (issue 7, case 4); max_attempts and the store's
        // max_submits_per_row bound it.
        const bool retry = s.state == RemoteState::failed &&
                           resubmit_remote_failure(p.on_remote_failure, p.provider->is_retryable_failure(s));
        json::object d{{"remote_id", r.remote_id}, {"code", s.error_code}, {"message", s.error_message}};
        const bool ok = s.state == RemoteState::cancelled ? transition(j, JobEvent::cancel, std::move(d))
                                                          : transition(j, JobEvent::remote_failed, std::move(d), retry);
        if (!ok) co_return;
        settle_failure_credits(p, j, s.state);
        release_slot(j);
        if (r.state != JobState::pending) {
          finish(j);
          co_return;
        }
        r.remote_id.clear();
        r.native_state.clear();
        if (note(j, "resubmit", json::object{{"after_attempts", r.attempts}})) enqueue(j);
        co_return;
      }
    }
  }
}

awaitable<bool> Engine::Impl::refresh_urls(Profile& p, ActiveJob& j) {
  for (int attempt = 0; !stopping && !j.lost; ++attempt) {
    co_await sleep_until(p.poll_bucket.reserve(clock.now()));
    mark_next_query_refresh(*p.provider);  // counted as a refresh, not a poll
    auto q = co_await p.provider->async_query(j.rec.remote_id);
    if (q && q->state == RemoteState::succeeded) {
      const auto spent_before = p.spent;
      const auto cost_before = j.rec.cost;
      record_success(p, j, *q);
      if (!j.rec.cost) j.rec.cost = cost_before;  // a refreshed answer without the cost keeps the recorded one
      p.spent = spent_before;  // already counted when it succeeded
      co_return note(j, "url_refreshed", json::object{{"expires_at_ms", j.rec.url_expires_at_ms}});
    }
    const auto d = decide_refresh_call(q ? std::nullopt : std::optional<ErrorClass>(q.error().cls), attempt,
                                       random01(), *policy);
    if (d.action == CallDecision::Action::give_up) break;
    co_await sleep_for(d.delay);
  }
  co_return false;
}

}  // namespace reelbatch
