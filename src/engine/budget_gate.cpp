// Issue 9 item 3, caps that hold: each submit reserves its estimated cost in
// the store's credit ledger in the same transaction as its intent; a submit
// that would pass the profile's credit_cap or daily_credit_cap, or its
// batch's max_credits, is not made: the row goes back to pending with the
// reason ("waiting for budget: ...") and the profile's lane is held until
// the ledger or the config changes. Arithmetic: scheduler/cost.hpp.
#include "src/engine/credits.hpp"
#include "src/engine/engine_impl.hpp"

#include <algorithm>

namespace reelbatch {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// Learned costs are re-read at most this often per profile (one grouped
// query over the profile's finished jobs).
constexpr milliseconds kLearnedRefresh{60000};
// A profile waiting for budget tries again at least this often (a UTC day
// that ended lifts a daily cap; another process may have settled entries).
constexpr milliseconds kBudgetRecheck{30000};
// The balance is re-read at most this often per profile.
constexpr milliseconds kBalanceRefresh{60000};

}  // namespace

std::optional<std::int64_t> Engine::Impl::record_intent_reserving(ActiveJob& j, Profile& p) {
  if (j.lost) return std::nullopt;
  JobRecord& r = j.rec;
  JobContext ctx;
  ctx.attempts = r.attempts;
  ctx.max_attempts = p.cfg->max_attempts;
  const auto t = next_state(r.state, JobEvent::assets_ready, ctx);
  if (!t) {
    logger().error("job {}: illegal event assets_ready in state {}", r.key, to_string(r.state));
    return std::nullopt;
  }

  // The estimate: configured / documented price, else learned, else unknown (0 reserved).
  if (!p.learned_loaded || clock.now() - p.learned_at >= kLearnedRefresh) {
    p.learned = learned_costs_for(store, *p.cfg);
    p.learned_at = clock.now();
    p.learned_loaded = true;
  }
  const CostEstimate est = estimate_job_cost(*p.cfg, r.spec, p.learned);
  const ProfileConfig& cfg_now = *p.cfg;
  const std::int64_t batch_id = r.batch_id;
  CreditRequest credit;
  credit.amount = est.credits.value_or(0.0);
  credit.unit = est.unit;
  credit.source = est.describe_source();
  credit.day_start_ms = utc_day_start_ms(now_ms());
  credit.refuse = [&cfg_now, batch_id, amount = credit.amount, unit = est.unit](const CreditUses& uses) {
    const auto limits = budget_limits(cfg_now, uses, batch_id);
    const auto v = check_budget(amount, limits, unit);
    return v.fits ? std::string() : v.reason;
  };

  const JobState from = r.state;
  r.state = t->next;
  EventRecord e;
  e.kind = "state";
  e.detail = json::object{{"event", to_string(JobEvent::assets_ready)}, {"estimate_source", credit.source}};
  const auto res = store.begin_submit_reserving(r, from, std::move(e), p.cfg->name, p.cfg->max_submits_per_row, credit);
  if (res.status != SubmitIntent::Status::budget) {
    if (res.status == SubmitIntent::Status::recorded) {
      logger().debug("job {}: {} -> {} (assets_ready, attempt {}, {} {} reserved, {})", r.key, to_string(from),
                     to_string(r.state), res.attempt_id, format_credits(credit.amount), credit.unit, credit.source);
      changed->notify();
      return res.attempt_id;
    }
    // lost or ceiling: nothing was written.
    r.state = from;
    intent_not_recorded(j, p, res);
    return std::nullopt;
  }

  // Over a cap: back to pending, visibly waiting; the lane holds.
  r.state = from;
  if (p.budget_reason != res.budget_reason)
    logger().warn("profile {}: {}; its rows wait in pending until a cap is raised or reservations settle",
                  p.cfg->name, res.budget_reason);
  p.budget_reason = res.budget_reason;
  p.lane.set_paused(true);
  if (transition(j, JobEvent::paused, json::object{{"reason", res.budget_reason}, {"waiting_for", "budget"}})) {
    release_slot(j);
    enqueue(j);
  }
  spawn([](Impl* self, Profile* prof) -> awaitable<void> {
    co_await self->sleep_for(kBudgetRecheck);
    if (!self->stopping) self->budget_changed(*prof);
  }(this, &p), "budget recheck " + p.cfg->name);
  return std::nullopt;
}

awaitable<bool> Engine::Impl::balance_gate(Profile& p, ActiveJob& j) {
  if (!p.provider->has_balance()) co_return true;
  const CostEstimate est = estimate_job_cost(*p.cfg, j.rec.spec, p.learned);
  if (!est.credits || *est.credits <= 0) co_return true;  // nothing known to compare
  const CreditUses uses = store.credit_uses(p.cfg->name, 0, est.unit, 0);
  if (!p.balance_remain || clock.now() - p.balance_at >= kBalanceRefresh) {
    auto b = co_await p.provider->async_balance();
    if (!b) {
      // No answer: the submit decides (the provider refuses what it cannot pay).
      logger().debug("profile {}: balance unavailable: {}", p.cfg->name, b.error().describe());
      co_return true;
    }
    p.balance_remain = b->remain;
    p.balance_at = clock.now();
    p.balance_settled_then = uses.profile_settled;
  }
  // Post-paid providers charge at success: open reservations are not in the
  // balance yet, costs settled since it was read are.
  const double available = *p.balance_remain - (uses.profile_settled - p.balance_settled_then) - uses.profile_reserved;
  if (available + kCreditEpsilon >= *est.credits) co_return true;
  p.balance_remain.reset();  // read it afresh after a resume
  const auto err = our_error(ErrorClass::out_of_credit, p.cfg->name, errc::credit_cap,
                             "balance " + format_credits(available + uses.profile_reserved) + " " + est.unit +
                                 " less " + format_credits(uses.profile_reserved) + " reserved is below the next row's " +
                                 format_credits(*est.credits) + " (" + est.describe_source() + "); top up, then " +
                                 "`reelbatch resume " + p.cfg->name + "`");
  pause(p, err);
  if (transition(j, JobEvent::paused, error_detail(err))) {
    release_slot(j);
    enqueue(j);
  }
  co_return false;
}

void Engine::Impl::budget_changed(Profile& p) {
  if (p.budget_reason.empty()) return;
  p.budget_reason.clear();
  if (p.pause_reason.empty()) p.lane.set_paused(false);
  p.wake->notify();
  changed->notify();
  intake_wake->notify();
}

}  // namespace reelbatch
