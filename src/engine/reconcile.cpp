// Stage: a submit whose response was lost. The provider's task list is read
// page by page (decide_list_call for retries) and fed to the sans-io
// ReconcileSearch (scheduler/reconcile.hpp), which says whether the lost
// submit created a task (poll it), created nothing (submit again), or cannot
// be settled (hold the row for `reelbatch resolve`). DESIGN.md, "Invariants" 2.
#include "src/engine/engine_impl.hpp"

#include <unordered_set>

namespace reelbatch {
namespace json = boost::json;
using boost::asio::awaitable;

// Runs with the profile's submit section held (the caller's), so no other
// submit of the profile can add an unknown task meanwhile.
awaitable<bool> Engine::Impl::reconcile(Profile& p, ActiveJob& j, SubmitSection& section) {
  JobRecord& r = j.rec;
  auto held = [&](const std::string& why) {
    r.error_code = code_name(errc::unknown_outcome);
    r.error_message = why + "; run `reelbatch resolve " + r.key + " --resubmit` or `--fail` once checked";
    if (!transition(j, JobEvent::reconcile_inconclusive, json::object{{"reason", why}})) return;
    logger().error("job {}: held: {}", r.key, why);
    finish(j);
  };
  // `settle_attempt`: the lost attempt's outcome is now known (accepted,
  // with the task found in the list), so it is no longer counted as unknown
  // at the submit ceiling.
  auto found = [&](const std::string& remote_id, const char* from, bool settle_attempt) -> bool {
    r.remote_id = remote_id;
    const auto last = settle_attempt ? store.last_attempt_id(r.id) : std::nullopt;
    const AttemptUpdate accepted{last.value_or(0), AttemptOutcome::accepted, remote_id, ""};
    return transition(j, JobEvent::reconciled_found, json::object{{"remote_id", remote_id}, {"from", from}}, false,
                      last ? &accepted : nullptr);
  };

  if (auto accepted = store.accepted_remote_id(r.id)) {  // written by an older build, or by hand
    section.release();
    co_return found(*accepted, "attempts", false);
  }
  if (!p.provider->has_task_list()) {
    held(p.cfg->kind + " has no task list to check whether the lost submit created a task");
    co_return false;
  }
  const auto known_list = store.remote_ids(p.cfg->name);
  ReconcileSearch search(std::unordered_set<std::string>(known_list.begin(), known_list.end()), r.intent_at_ms,
                         *policy);
  while (search.next() == ReconcileSearch::Next::fetch_next_page) {
    ProviderResult<TaskPage> page = fail(ProviderError{});
    bool logged_wait = false;
    for (int attempt = 0; !stopping; ++attempt) {
      if (!co_await circuit_gate(p, &j)) co_return false;
      co_await sleep_until(p.poll_bucket.reserve(clock.now()));
      page = co_await p.provider->async_list(search.page(), search.page_size());
      circuit_report(p, page ? nullptr : &page.error());
      if (page) break;
      const ErrorClass cls = page.error().cls;
      auto d = decide_list_call(cls, attempt, page.error().retry_after, random01(), *policy);
      if (d.action == CallDecision::Action::give_up) {
        // Issue 7: a transient fault never settles a row. A list that stays
        // unreachable (an outage) keeps the row waiting in submitting, read
        // again every list_cap behind the profile's circuit; only a
        // permanent answer (auth, a refused request) holds it.
        const bool transient = cls == ErrorClass::retryable || cls == ErrorClass::rate_limited ||
                               cls == ErrorClass::unknown_outcome;
        if (!transient) break;
        if (!logged_wait) {
          logged_wait = true;
          logger().warn("job {}: the task list stays unreachable ({}); waiting to settle the lost submit",
                        r.key, page.error().describe());
        }
        d.delay = std::max(d.delay, policy->list_cap);
      }
      co_await sleep_for(d.delay);
    }
    if (stopping || j.lost) co_return false;
    if (!page) {
      held("cannot read the task list: " + page.error().describe());
      co_return false;
    }
    std::vector<ListedTask> tasks;
    tasks.reserve(page->tasks.size());
    for (const auto& t : page->tasks) tasks.push_back(ListedTask{t.remote_id, t.created_at_ms});
    search.on_page(tasks);
  }
  switch (search.next()) {
    case ReconcileSearch::Next::absent:
      if (!note(j, "reconciled", json::object{{"found", false}})) co_return false;
      logger().info("job {}: the lost submit created no task; submitting again", r.key);
      {
        // The lost attempt created nothing: it no longer counts toward
        // max_submits_per_row (JobStore::begin_submit), in the same
        // transaction as the move back to pending.
        const auto last = store.last_attempt_id(r.id);
        const AttemptUpdate absent{last.value_or(0), AttemptOutcome::absent, "",
                                   "the task list shows no task created by this submit"};
        if (!transition(j, JobEvent::reconciled_absent, {}, false, last ? &absent : nullptr)) co_return false;
      }
      section.release();
      release_slot(j);
      enqueue(j);
      co_return false;
    case ReconcileSearch::Next::ambiguous:
      held(search.describe());
      co_return false;
    case ReconcileSearch::Next::found:
      logger().info("job {}: the lost submit created task {}; polling it", r.key, search.found_id());
      section.release();
      co_return found(search.found_id(), "task list", true);
    case ReconcileSearch::Next::fetch_next_page:
      break;
  }
  co_return false;
}

awaitable<void> Engine::Impl::reconcile_recovered(Profile& p, std::vector<std::int64_t> ids) {
  for (auto id : ids) {
    auto it = jobs.find(id);
    if (it == jobs.end() || stopping) continue;
    ActiveJob& j = *it->second;
    logger().warn("job {}: a submit was in flight when its last owner stopped; reconciling", j.rec.key);
    p.submit_busy = true;
    SubmitSection section{*this, p};
    if (co_await reconcile(p, j, section)) spawn_job(j, poll_loop(id));
  }
}

}  // namespace reelbatch
