// Stage: taking up jobs that were mid-flight when their last owner stopped
// or died (a restart after kill -9, or another engine's expired lease).
// Running tasks are polled, never submitted again; lost submits are
// reconciled before any new submit of their profile; uploads start over
// (they are free); downloads are queued again.
#include "src/engine/engine_impl.hpp"

namespace reelbatch {
namespace json = boost::json;
using boost::asio::awaitable;

awaitable<void> Engine::Impl::recover(std::vector<JobRecord> claimed) {
  std::map<std::string, std::vector<std::int64_t>> to_reconcile;
  for (auto& rec : claimed) {
    if (jobs.contains(rec.id)) continue;  // already ours
    if (profile_named(rec.spec.provider) == nullptr) {
      store.release_leases(owner, {rec.id});
      continue;
    }
    ActiveJob& j = hold(std::move(rec));
    Profile& p = profile_of(j.rec);
    switch (j.rec.state) {
      case JobState::uploading:  // uploads are free to repeat
        if (transition(j, JobEvent::paused, json::object{{"reason", "recovered after restart"}})) enqueue(j);
        break;
      case JobState::submitting:
        p.lane.occupy();
        j.holds_slot = true;
        to_reconcile[p.cfg->name].push_back(j.rec.id);
        break;
      case JobState::running:
        p.lane.occupy();
        j.holds_slot = true;
        spawn_job(j, poll_loop(j.rec.id));
        break;
      case JobState::downloading:
        queue_download(j);
        break;
      default:  // pending and settled jobs are claimed by intake, not here
        finish(j);
        break;
    }
  }
  // Lost submits hold their profile's submit section until settled, so no
  // new submit of that profile can add another unknown task meanwhile.
  for (auto& [name, ids] : to_reconcile) {
    Profile& p = *profiles.at(name);
    while (p.submit_busy && !stopping) co_await p.submit_free->wait(milliseconds(1000));
    if (stopping) co_return;
    p.submit_busy = true;  // taken now; reconcile_recovered's sections release it
    spawn(reconcile_recovered(p, std::move(ids)), "reconcile " + name);
  }
}

}  // namespace reelbatch
