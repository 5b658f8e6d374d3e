// Estimates with learned costs, and a submit's caps (credits.hpp).
#include "src/engine/credits.hpp"

#include "providers/provider.hpp"
#include "providers/registry.hpp"

namespace reelbatch {

std::vector<LearnedCost> learned_costs_for(const JobStore& store, const ProfileConfig& profile) {
  std::vector<LearnedCost> raw;
  for (const auto& g : store.learned_costs(profile.name)) {
    LearnedCost l;
    l.model = g.model;
    l.resolution = g.resolution;
    l.duration_s = g.duration_s.value_or(0);
    l.samples = g.samples;
    l.mean = g.mean;
    l.min = g.min;
    l.max = g.max;
    l.generation_samples = g.generation_samples;
    l.mean_generation_s = g.mean_generation_ms / 1000.0;
    raw.push_back(std::move(l));
  }
  return merge_learned(raw, profile.defaults);
}

CostEstimate estimate_job_cost(const ProfileConfig& profile, const JobSpec& spec,
                               const std::vector<LearnedCost>& learned) {
  return estimate_row_cost(profile, apply_defaults(spec, profile.defaults), learned);
}

std::vector<BudgetLimit> budget_limits(const ProfileConfig& profile, const CreditUses& uses,
                                       std::int64_t batch_id) {
  std::vector<BudgetLimit> out;
  if (profile.credit_cap)
    out.push_back({"credit_cap of profile " + profile.name, *profile.credit_cap,
                   BudgetUse{uses.profile_settled, uses.profile_reserved}});
  if (profile.daily_credit_cap)
    out.push_back({"daily_credit_cap of profile " + profile.name + " (UTC day)", *profile.daily_credit_cap,
                   BudgetUse{uses.day_settled, uses.day_reserved}});
  if (uses.batch_max_credits)
    out.push_back({"max_credits of batch " + std::to_string(batch_id), *uses.batch_max_credits,
                   BudgetUse{uses.batch_settled, uses.batch_reserved}});
  return out;
}

}  // namespace reelbatch
