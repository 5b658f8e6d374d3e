// Credits as the engine and `plan` see them (issue 9): a row's estimate with
// what the store has learned, and the caps a submit is checked against.
// Pure glue between storage/ (the ledger, learned groups), providers/
// (documented prices) and scheduler/cost.hpp (the arithmetic); no network.
#pragma once

#include "config/config.hpp"
#include "scheduler/cost.hpp"
#include "storage/job_store.hpp"

#include <string>
#include <vector>

namespace reelbatch {

/// The learned cost groups of `profile` (JobStore::learned_costs), merged
/// with the profile's defaults (scheduler/cost.hpp merge_learned).
/// Throws what the store throws.
std::vector<LearnedCost> learned_costs_for(const JobStore& store, const ProfileConfig& profile);

/// The estimate of one row of `profile` as stored or parsed (the profile's
/// defaults are applied here): registry.hpp estimate_row_cost. Throws
/// ConfigError for an unknown kind.
CostEstimate estimate_job_cost(const ProfileConfig& profile, const JobSpec& spec,
                               const std::vector<LearnedCost>& learned);

/// The caps of a submit of `profile`, as BudgetLimits over `uses`:
/// credit_cap against everything the profile committed, daily_credit_cap
/// against what it committed since the UTC day began, the batch's
/// max_credits against the batch's entries in the profile's unit. Caps
/// that are not set are left out.
std::vector<BudgetLimit> budget_limits(const ProfileConfig& profile, const CreditUses& uses,
                                       std::int64_t batch_id);

}  // namespace reelbatch
