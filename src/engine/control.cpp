// Control requests while the engine runs (or before it runs, from the CLI):
// cancel, retry, resolve, pause, resume, snapshot. A job the engine holds is
// changed through its in-memory record; any other job is claimed first (so
// an engine elsewhere that holds it is never overwritten), changed by
// compare-and-set, and released.
#include "src/core/text.hpp"
#include "src/engine/engine_impl.hpp"

#include <algorithm>
#include <ctime>

namespace reelbatch {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

ControlResult refused(const JobRecord& r, std::string why) { return ControlResult{false, r.state, std::move(why)}; }

}  // namespace

// Claims a job this engine does not hold, or says why it cannot.
static std::optional<JobRecord> claim_for_control(Engine::Impl& m, std::int64_t id, ControlResult& why) {
  if (auto rec = m.store.claim_job(id, m.owner, m.opts.lease_ttl)) return rec;
  const auto rec = m.store.job(id);
  if (!rec) {
    why = ControlResult{false, JobState::pending, "no job " + std::to_string(id)};
  } else {
    why = refused(*rec, "job " + rec->key + " is being worked on by " + rec->lease_owner +
                            " (its lease ends in " +
                            std::to_string(std::max<std::int64_t>(0, rec->lease_expires_at_ms - m.now_unix_ms()) /
                                           1000) +
                            " s); ask that process, or wait");
  }
  return std::nullopt;
}

// Applies a control event to a job the engine holds for the request.
static ControlResult apply_control(Engine::Impl& m, ActiveJob& j, JobEvent ev, json::object detail,
                                       const std::string& done) {
  const bool ok = m.transition(j, ev, std::move(detail));
  ControlResult res{ok, j.rec.state, ok ? done : "job " + j.rec.key + " changed meanwhile; try again"};
  return res;
}

awaitable<ControlResult> Engine::Impl::cancel_job(std::int64_t id) {
  ActiveJob* active = nullptr;
  if (auto it = jobs.find(id); it != jobs.end()) {
    if (it->second->done || it->second->lost)
      co_return refused(it->second->rec, "job " + it->second->rec.key + " is finishing; try again in a moment");
    active = it->second.get();
  } else {
    ControlResult why;
    auto rec = claim_for_control(*this, id, why);
    if (!rec) co_return why;
    active = &hold(std::move(*rec));
  }
  ActiveJob& j = *active;
  JobRecord& r = j.rec;
  if (is_terminal(r.state)) {
    auto res = refused(r, "job " + r.key + " is already " + to_string(r.state));
    finish(j);
    co_return res;
  }
  if (r.state == JobState::submitting && j.coroutines > 0) {
    co_return refused(r, "job " + r.key + " has a submit in flight; cancel it again in a moment");
  }
  Profile* p = profile_named(r.spec.provider);
  std::string how = "locally";
  if (p != nullptr && !r.remote_id.empty() && (r.state == JobState::running || r.state == JobState::submitting)) {
    if (p->provider->has_cancel()) {
      auto c = co_await p->provider->async_cancel(r.remote_id);
      if (!c) co_return refused(r, r.key + ": remote cancel failed: " + c.error().describe());
      how = "remotely (task " + r.remote_id + ")";
    } else {
      how = "locally; " + p->cfg->kind + " has no cancel API, task " + r.remote_id +
            " may still finish and be billed";
    }
  }
  auto res = apply_control(*this, j, JobEvent::cancel, json::object{{"by", "cancel"}, {"how", how}},
                               r.key + ": cancelled " + how);
  finish(j);
  if (j.coroutines > 0) j.cancel.emit(boost::asio::cancellation_type::terminal);
  co_return res;
}

// Claims a job this engine does not work on for a control request that
// applies only in `allowed` states (`wanted` names them for the message).
// Returns nullptr with `why` set when it cannot.
static ActiveJob* claim_settled(Engine::Impl& m, std::int64_t id, std::initializer_list<JobState> allowed,
                                const char* wanted, ControlResult& why) {
  auto refuse = [&](const JobRecord& r) {
    why = refused(r, "job " + r.key + " is " + to_string(r.state) + ", not " + wanted);
  };
  if (auto it = m.jobs.find(id); it != m.jobs.end()) {  // being worked on, or finishing
    refuse(it->second->rec);
    return nullptr;
  }
  auto rec = claim_for_control(m, id, why);
  if (!rec) return nullptr;
  ActiveJob& j = m.hold(std::move(*rec));
  if (std::find(allowed.begin(), allowed.end(), j.rec.state) != allowed.end()) return &j;
  refuse(j.rec);
  m.finish(j);
  return nullptr;
}

awaitable<ControlResult> Engine::Impl::retry_job(std::int64_t id, bool resubmit) {
  ControlResult why;
  ActiveJob* claimed = claim_settled(*this, id, {JobState::failed, JobState::cancelled, JobState::expired},
                                     "failed, expired or cancelled", why);
  if (claimed == nullptr) co_return why;
  ActiveJob& j = *claimed;
  JobRecord& r = j.rec;
  auto refuse = [&](std::string message) {
    auto res = refused(r, std::move(message));
    finish(j);
    return res;
  };
  // A task that succeeded remotely is paid: fetch it again, never resubmit.
  // An expired job's task succeeded by definition.
  const bool paid = !r.remote_id.empty() && (!r.video_url.empty() || r.state == JobState::expired);
  if (paid && resubmit)
    co_return refuse("job " + r.key + ": task " + r.remote_id +
                     " succeeded and was paid; it is never submitted again (`retry` without --resubmit downloads "
                     "it again)");
  if (!paid && r.state == JobState::cancelled && !r.remote_id.empty()) {
    // Cancelled while its task ran: where the API has no cancel, that task
    // may still finish and be billed, so a new submit could pay twice.
    co_return refuse("job " + r.key + " was cancelled while task " + r.remote_id +
                     " ran; it may still finish and be billed, so it is not submitted again");
  }
  // A task was created (and failed, or its fate is unknown to the row): a new
  // submit may be charged again, so only on the user's word (issue 7:
  // "resubmits only when told").
  const bool created = !r.remote_id.empty() || store.attempt_counts(r.id).second > 0;
  if (!paid && created && !resubmit)
    co_return refuse("job " + r.key + ": its task " + (r.remote_id.empty() ? std::string("") : r.remote_id + " ") +
                     "failed remotely" + (r.error_code.empty() ? std::string() : " (" + r.error_code + ")") +
                     " and a new submit may be charged again; pass --resubmit to submit it again");
  std::string done = r.key + ": queued again";
  if (paid) {
    done = r.key + ": downloading task " + r.remote_id + " again (fresh links are asked for first)";
    if (r.url_expires_at_ms > 0 && r.url_expires_at_ms <= now_unix_ms())
      done += "; its URL is already dead (deadline " + iso_utc(r.url_expires_at_ms) +
              " passed): unless the provider re-signs its links, it ends expired again";
  } else if (created) {
    done = r.key + ": submitted again (--resubmit); the failed task " + r.remote_id + " is kept in its history";
  }
  if (!paid) {
    r.attempts = 0;
    r.remote_id.clear();
    r.native_state.clear();
  }
  r.error_code.clear();
  r.error_message.clear();
  auto res = apply_control(*this, j, paid ? JobEvent::retry_download : JobEvent::retry,
                           json::object{{"by", "retry"}, {"resubmit", resubmit}}, done);
  if (res.ok && r.state == JobState::downloading) {
    j.refresh_links = true;  // the old links may be dead: ask the provider for fresh ones first
    queue_download(j);
    co_return res;
  }
  finish(j);
  intake_wake->notify();
  co_return res;
}

awaitable<ControlResult> Engine::Impl::resolve_job(std::int64_t id, bool resubmit) {
  ControlResult why;
  ActiveJob* claimed = claim_settled(*this, id, {JobState::held}, "held", why);
  if (claimed == nullptr) co_return why;
  ActiveJob& j = *claimed;
  JobRecord& r = j.rec;
  if (resubmit) {
    r.error_code.clear();
    r.error_message.clear();
  }
  auto res = apply_control(*this, j, resubmit ? JobEvent::release_held_resubmit : JobEvent::release_held_fail,
                               json::object{{"by", "resolve"}}, "job " + r.key + " is now ");
  if (res.ok) res.message += to_string(r.state);
  finish(j);
  intake_wake->notify();
  co_return res;
}

bool Engine::Impl::pause_profile(const std::string& name, const std::string& reason) {
  Profile* p = profile_named(name);
  if (p == nullptr) return false;
  p->pause_reason = reason.empty() ? "paused by the user" : reason;
  p->lane.set_paused(true);
  store.set_profile_pause(name, p->pause_reason);
  logger().warn("profile {} paused: {}", name, p->pause_reason);
  changed->notify();
  return true;
}

bool Engine::Impl::resume_profile(const std::string& name) {
  Profile* p = profile_named(name);
  if (p == nullptr) return false;
  p->pause_reason.clear();
  p->lane.set_paused(false);
  store.set_profile_pause(name, "");
  logger().info("profile {} resumed", name);
  p->wake->notify();
  intake_wake->notify();
  changed->notify();
  return true;
}

EngineSnapshot Engine::Impl::snapshot() const {
  EngineSnapshot s;
  for (const auto& [_, j] : jobs)
    if (!j->done) ++s.active[j->rec.state];
  for (const auto& [name, p] : profiles) {
    s.lanes.push_back(LaneSnapshot{name, p->lane.in_flight(), p->lane.max_in_flight(), p->lane.pending(),
                                   p->pause_reason, p->throttled_until > clock.now(), p->spent,
                                   to_string(p->circuit.state(clock.now())), p->budget_reason});
  }
  s.downloads_queued = downloads.size();
  s.stopping = stopping;
  return s;
}

}  // namespace reelbatch
