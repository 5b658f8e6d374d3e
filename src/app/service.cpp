#include "src/app/service.hpp"

#include "providers/provider.hpp"
#include "src/output/results.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <stdexcept>

namespace reelbatch {
using boost::asio::awaitable;

namespace {

std::optional<std::int64_t> as_id(const std::string& s) {
  try {
    std::size_t used = 0;
    const auto id = std::stoll(s, &used);
    if (used == s.size()) return id;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Calls `f` for every job matching `q`, page by page.
template <class F>
void for_each_job(const JobStore& store, JobQuery q, F&& f) {
  for (;;) {
    const auto page = store.jobs(q);
    for (const auto& j : page.jobs) f(j);
    if (!page.next_after_seq) return;
    q.after_seq = *page.next_after_seq;
  }
}

// The credit unit of `profile`; "credits" for a profile the config lost.
std::string unit_of(const Config& cfg, const std::string& profile) {
  const ProfileConfig* p = cfg.profile(profile);
  return p ? credit_unit(*p) : std::string("credits");
}

}  // namespace

Service::Service(const Config& cfg, JobStore& store, Engine& engine) : cfg_(cfg), store_(store), engine_(engine) {}

std::vector<BatchStatus> Service::status() const {
  std::vector<BatchStatus> out;
  for (auto& b : store_.batches()) {
    JobFilter f;
    f.batch_ids = {b.id};
    out.push_back(BatchStatus{b, store_.count_by_state(f)});
  }
  return out;
}

std::map<std::string, std::string> Service::pauses() const { return store_.profile_pauses(); }

BatchTotals Service::totals(const std::vector<std::int64_t>& batch_ids, int max_listed) const {
  BatchTotals t;
  JobQuery q;
  q.filter.batch_ids = batch_ids;
  t.counts = store_.count_by_state(q.filter);
  for_each_job(store_, q, [&](const JobRecord& j) {
    if (j.cost) {
      t.credits += *j.cost;
      t.credits_by_unit[unit_of(cfg_, j.spec.provider)] += *j.cost;
    }
    if (j.state != JobState::failed && j.state != JobState::held && j.state != JobState::expired) return;
    ++t.problem_count;
    if (static_cast<int>(t.problems.size()) < max_listed) t.problems.push_back(j);
  });
  return t;
}

SpendByUnit Service::spend(const std::vector<std::int64_t>& batch_ids) const {
  JobFilter f;
  f.batch_ids = batch_ids;
  SpendByUnit out;
  for (const auto& [profile, credits] : store_.cost_by_profile(f)) out[unit_of(cfg_, profile)] += credits;
  return out;
}

std::vector<std::int64_t> Service::resolve_target(const std::string& target) const {
  if (auto j = store_.find_job(target)) return {j->id};
  for (const auto& b : store_.batches()) {
    if (b.name != target && as_id(target) != b.id) continue;
    std::vector<std::int64_t> ids;
    JobQuery q;
    q.filter.batch_ids = {b.id};
    for_each_job(store_, q, [&](const JobRecord& j) { ids.push_back(j.id); });
    return ids;
  }
  return {};
}

awaitable<std::vector<ControlResult>> Service::async_cancel(std::string target) {
  std::vector<ControlResult> out;
  for (auto id : resolve_target(target)) {
    const auto j = store_.job(id);
    if (!j || is_terminal(j->state)) continue;
    out.push_back(co_await engine_.async_cancel(id));
  }
  co_return out;
}

RetrySelection parse_retry_selection(const boost::json::object& body) {
  RetrySelection sel;
  if (const auto* st = body.if_contains("states")) {
    if (!st->is_array() || st->as_array().empty())
      throw std::invalid_argument("states: expected a non-empty list of \"failed\", \"cancelled\", \"expired\"");
    sel.states.clear();
    for (const auto& v : st->as_array()) {
      const auto state = v.is_string() ? job_state_from_string(std::string(v.as_string())) : std::nullopt;
      if (!state || (*state != JobState::failed && *state != JobState::cancelled && *state != JobState::expired))
        throw std::invalid_argument("states: " + boost::json::serialize(v) +
                                    " is not one of \"failed\", \"cancelled\", \"expired\"");
      if (std::find(sel.states.begin(), sel.states.end(), *state) == sel.states.end()) sel.states.push_back(*state);
    }
  }
  if (const auto* r = body.if_contains("resubmit")) {
    if (!r->is_bool()) throw std::invalid_argument("resubmit: expected true or false");
    sel.resubmit = r->as_bool();
  }
  return sel;
}

std::vector<std::int64_t> jobs_in_states(const JobStore& store, std::int64_t batch_id,
                                         const std::vector<JobState>& states) {
  std::vector<std::int64_t> ids;
  JobQuery q;
  q.filter.batch_ids = {batch_id};
  q.filter.states = states;
  for_each_job(store, q, [&](const JobRecord& j) { ids.push_back(j.id); });
  return ids;
}

awaitable<std::vector<ControlResult>> retry_jobs(Engine& engine, std::vector<std::int64_t> ids, bool resubmit) {
  std::vector<ControlResult> out;
  out.reserve(ids.size());
  for (const auto id : ids) out.push_back(co_await engine.async_retry(id, resubmit));
  co_return out;
}

awaitable<ControlResult> Service::async_retry(std::string job, bool resubmit) {
  const auto j = store_.find_job(job);
  if (!j) co_return ControlResult{false, JobState::pending, "no job " + job};
  co_return co_await engine_.async_retry(j->id, resubmit);
}

awaitable<std::optional<std::vector<ControlResult>>> Service::async_retry_batch(std::string batch,
                                                                               RetrySelection sel) {
  for (const auto& b : store_.batches()) {
    if (b.name != batch && as_id(batch) != b.id) continue;
    co_return co_await retry_jobs(engine_, jobs_in_states(store_, b.id, sel.states), sel.resubmit);
  }
  co_return std::nullopt;
}

awaitable<ControlResult> Service::async_resolve(std::string job, bool resubmit) {
  const auto j = store_.find_job(job);
  if (!j) co_return ControlResult{false, JobState::pending, "no job " + job};
  co_return co_await engine_.async_resolve(j->id, resubmit);
}

awaitable<bool> Service::async_pause(std::string profile) {
  co_return co_await engine_.async_pause(std::move(profile), "paused by the user");
}

awaitable<bool> Service::async_resume(std::string profile) {
  co_return co_await engine_.async_resume(std::move(profile));
}

awaitable<std::vector<BalanceLine>> Service::async_balance(HttpClient& http) {
  std::vector<BalanceLine> out;
  for (const auto& [name, prof] : cfg_.profiles) {
    auto provider = make_provider(prof, http);
    BalanceLine line{name, std::nullopt, "", provider->has_balance()};
    if (!line.supported) {
      line.error = prof.kind + " has no balance API";
    } else if (auto b = co_await provider->async_balance()) {
      line.balance = *b;
    } else {
      line.error = b.error().describe();
    }
    out.push_back(std::move(line));
  }
  co_return out;
}

}  // namespace reelbatch
