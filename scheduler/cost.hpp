// What a row costs and whether a budget lets it be submitted (issue 9 items
// 1 and 3): pure arithmetic, no I/O, no clock but the times passed in.
//
// Prices come from four places, best first:
//   configured  the profile's [providers.NAME.prices] (config/config.hpp PriceRule)
//   documented  the provider document's table (registry: ProviderKind::price;
//               vibegen doc 7 费用说明, seedance2 doc 计费说明)
//   learned     the mean of the provider-reported costs of finished tasks of
//               the same profile, model, resolution and duration (JobStore::learned_costs)
//   unknown     none of those: no figure, never 0 passed off as a price
// Every figure carries its unit (the profile's credit unit). Figures of
// different units are never added: totals are kept per unit (CostTotals).
//
// Budgets (caps) hold committed credits = settled costs + open reservations;
// a submit reserves its estimate first and waits while the reservation would
// pass any cap (check_budget).
#pragma once

#include "config/config.hpp"
#include "src/core/job_spec.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reelbatch {

/// Where a cost figure comes from.
enum class CostSource {
  unknown,     ///< no price known
  documented,  ///< the provider document's price table
  configured,  ///< the profile's [prices]
  learned,     ///< mean of costs the provider reported for finished tasks like it
  reported,    ///< the provider reported this task's cost (settlements only)
};
/// "unknown", "documented", "configured", "learned", "reported".
const char* to_string(CostSource s);

/// A price from the provider document (the registry's ProviderKind::price).
struct DocumentedPrice {
  double credits = 0;      ///< for one task, in the kind's credit unit
  std::string_view basis;  ///< the document section, e.g. "vibegen doc 7 费用说明"
};

/// Costs the provider reported for finished tasks of one profile with the
/// same model, resolution and duration (JobStore::learned_costs).
struct LearnedCost {
  std::string model;         ///< as the job's spec (defaults applied) says
  std::string resolution;    ///< normalize_price_resolution() form
  int duration_s = 0;        ///< 0: no duration given
  int samples = 0;           ///< tasks averaged
  double mean = 0, min = 0, max = 0;  ///< credits
  /// Mean seconds from submit intent to the provider's success, over the
  /// tasks that have both times; 0 when none.
  double mean_generation_s = 0;
  int generation_samples = 0;
};

/// Learned entries as a store groups them (spec fields as stored, without
/// the profile's defaults), turned into what estimates compare against:
/// empty model / resolution / duration filled from `defaults`, resolution
/// normalized (normalize_price_resolution), entries that then coincide
/// merged (sample-weighted means, overall min and max). Never throws except
/// std::bad_alloc.
std::vector<LearnedCost> merge_learned(const std::vector<LearnedCost>& raw, const JobDefaults& defaults);

/// The estimate of one row, or of a group of rows (CostTotals).
struct CostEstimate {
  std::optional<double> credits;  ///< expected credits; nullopt: unknown
  double low = 0, high = 0;       ///< range (equal for a fixed price); 0 when unknown
  std::string unit;               ///< the profile's credit unit
  CostSource source = CostSource::unknown;
  int samples = 0;                ///< learned: tasks averaged
  std::string basis;              ///< document section, config key, or "" (learned/unknown)

  /// "documented", "configured", "learned from 3 tasks", "unknown".
  std::string describe_source() const;
};

/// The configured price of `spec` (defaults applied) under `rules`: the most
/// specific matching rule (fewest "*"; per_clip before per_second on a tie;
/// then file order). A per_second rule needs a duration. Returns the credits
/// and the rule, or nullopt when none matches.
std::optional<std::pair<double, const PriceRule*>> configured_price(const std::vector<PriceRule>& rules,
                                                                    const JobSpec& spec);

/// Picks the learned entry for `spec` (defaults applied) among `learned`
/// (model, normalized resolution and duration equal); nullptr when none.
const LearnedCost* find_learned(const std::vector<LearnedCost>& learned, const JobSpec& spec);

/// The estimate for one row whose spec carries the profile's defaults:
/// configured price (profile.prices) when one matches, else `documented`,
/// else `learned` (range min..max), else unknown. `unit` is copied into it.
/// Never throws except std::bad_alloc.
CostEstimate estimate_cost(const JobSpec& spec, const std::vector<PriceRule>& configured,
                           const std::optional<DocumentedPrice>& documented, const LearnedCost* learned,
                           const std::string& unit);

/// Sums of estimates of one unit. Rows with an unknown cost are counted,
/// not added.
struct CostTotal {
  std::string unit;
  int rows = 0;          ///< rows estimated (known or not)
  int unknown_rows = 0;  ///< rows without a price
  double credits = 0, low = 0, high = 0;  ///< over the rows with a price
  std::map<std::string, int> sources;     ///< describe_source() → rows ("learned" collapsed)
  /// "documented", "configured + learned from 4 tasks", "unknown": the
  /// sources in order of how many rows each priced.
  std::string describe_sources() const;
};

/// Adds `e` to `totals[e.unit]`; never adds across units.
void add_estimate(std::map<std::string, CostTotal>& totals, const CostEstimate& e);

// ---- budgets (issue 9 item 3) --------------------------------------------------------

/// What one cap has committed against it: settled costs plus open
/// reservations, in the cap's unit.
struct BudgetUse {
  double settled = 0;   ///< costs of tasks known charged (reported or estimated)
  double reserved = 0;  ///< estimates of submits whose cost is not known yet
  double committed() const { return settled + reserved; }
};

/// One cap to check: its name for messages ("credit_cap",
/// "daily_credit_cap", "batch 3 max_credits"), its limit, and its use.
struct BudgetLimit {
  std::string name;
  double cap = 0;  ///< credits, >= 0
  BudgetUse use;
};

/// The outcome of check_budget.
struct BudgetVerdict {
  bool fits = true;
  /// When it does not fit: which cap and why, e.g. "waiting for budget:
  /// credit_cap 100 vibegen credits: 85 spent + 8 reserved + 15 for this row
  /// would pass it".
  std::string reason;
  const BudgetLimit* blocking = nullptr;  ///< the first cap passed (points into `limits`)
};

/// Tolerance for comparing credit sums (binary fractions of 0.01 credits).
inline constexpr double kCreditEpsilon = 1e-6;

/// Whether reserving `amount` credits (>= 0; an unknown price reserves 0)
/// keeps every cap in `limits`: committed + amount <= cap (+ kCreditEpsilon)
/// for each. A cap already passed blocks even a 0-credit reservation.
/// `unit` names the credits in the reason. Never throws except bad_alloc.
BudgetVerdict check_budget(double amount, const std::vector<BudgetLimit>& limits, const std::string& unit);

/// Start of the UTC day containing `unix_ms` (Unix ms): what
/// daily_credit_cap counts from.
std::int64_t utc_day_start_ms(std::int64_t unix_ms);

// ---- wall time (issue 9 item 2) -------------------------------------------------------

/// Expected wall time of `rows` tasks through one lane: submits are spaced
/// by submit_per_minute, at most max_in_flight generate at once, each takes
/// `generation` (learned or documented). Returns
/// max((rows - 1) * 60 / submit_per_minute + generation,
///     ceil(rows / max_in_flight) * generation); zero for no rows.
std::chrono::seconds estimate_wall_time(int rows, int max_in_flight, double submit_per_minute,
                                        std::chrono::seconds generation);

/// "45s", "12m05s", "2h05m", "3d04h" (negative as 0s).
std::string format_wall_time(std::chrono::seconds s);

/// Credits as reelbatch prints them: up to 2 decimals, trailing zeros
/// dropped ("528", "0.92", "14.4").
std::string format_credits(double credits);

}  // namespace reelbatch
