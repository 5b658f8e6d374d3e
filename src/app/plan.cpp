// A batch's plan: validation without writes, estimates, wall time, caps and
// balance (plan.hpp).
#include "src/app/plan.hpp"

#include "providers/registry.hpp"
#include "src/engine/credits.hpp"
#include "src/ingest/ingest.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <map>

namespace reelbatch {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// The mean learned generation time over every learned group of a profile.
std::optional<std::pair<double, int>> learned_generation(const std::vector<LearnedCost>& learned) {
  double sum = 0;
  int n = 0;
  for (const auto& l : learned) {
    sum += l.mean_generation_s * l.generation_samples;
    n += l.generation_samples;
  }
  if (n == 0) return std::nullopt;
  return std::make_pair(sum / n, n);
}

std::string committed_text(double settled, double reserved, const std::string& unit) {
  return format_credits(settled) + " spent + " + format_credits(reserved) + " reserved " + unit;
}

}  // namespace

Plan make_plan(const Config& cfg, JobStore& store, const std::vector<fs::path>& manifests,
               const std::string& default_profile, std::optional<double> max_credits) {
  Plan plan;
  plan.max_credits = max_credits;
  for (const auto& m : manifests) plan.manifests.push_back(m.string());
  const ManifestCheck check = check_manifests(cfg, store, manifests, default_profile);
  plan.errors = check.report.errors;
  plan.invalid_rows = check.report.rejected;
  plan.valid_rows = static_cast<int>(check.rows.size());

  std::map<std::string, PlanProfile> by_profile;
  std::map<std::string, std::vector<LearnedCost>> learned;
  // Per manifest file and unit: the batch cap (max_credits) is per batch, per unit.
  std::map<std::pair<std::string, std::string>, double> per_batch_unit;
  for (const auto& row : check.rows) {
    const ProfileConfig& prof = *cfg.profile(row.spec.provider);  // check_manifests refused unknown profiles
    PlanProfile& pp = by_profile[prof.name];
    if (pp.profile.empty()) {
      pp.profile = prof.name;
      pp.kind = prof.kind;
      pp.unit = credit_unit_of(prof);
      pp.cost.unit = pp.unit;
      pp.max_in_flight = prof.max_in_flight;
      pp.submit_per_minute = prof.submit_per_minute;
      pp.balance_api = provider_kind_of(prof).capabilities.balance;
      pp.credit_cap = prof.credit_cap;
      pp.daily_credit_cap = prof.daily_credit_cap;
      learned[prof.name] = learned_costs_for(store, prof);
    }
    ++pp.rows;
    if (row.existing_state && *row.existing_state != JobState::pending) {
      ++pp.already_done;
      continue;
    }
    ++pp.to_submit;
    const CostEstimate e = estimate_job_cost(prof, row.spec, learned[prof.name]);
    std::map<std::string, CostTotal> one{{pp.unit, pp.cost}};
    add_estimate(one, e);
    pp.cost = one[pp.unit];
    if (e.credits) per_batch_unit[{row.file, pp.unit}] += *e.credits;
  }

  const std::int64_t day = utc_day_start_ms(now_ms());
  for (auto& [name, pp] : by_profile) {
    const ProfileConfig& prof = *cfg.profile(name);
    const ProviderKind& kind = provider_kind_of(prof);
    // Wall time: learned generation time, else the document's.
    std::optional<double> gen_s;
    if (auto g = learned_generation(learned[name])) {
      gen_s = g->first;
      pp.wall_basis = "generation time learned from " + std::to_string(g->second) + " tasks";
    } else if (kind.typical_generation.count() > 0) {
      gen_s = static_cast<double>(kind.typical_generation.count());
      pp.wall_basis = "generation time from " + std::string(kind.typical_generation_basis);
    } else {
      pp.wall_basis = "no generation time learned yet and the " + prof.kind + " document names none";
    }
    if (gen_s)
      pp.wall_time = estimate_wall_time(pp.to_submit, prof.max_in_flight, prof.submit_per_minute,
                                        std::chrono::seconds(static_cast<std::int64_t>(*gen_s + 0.5)));

    pp.committed = store.credit_uses(name, 0, pp.unit, day);
    const double est = pp.cost.credits;
    if (pp.credit_cap) {
      const double committed = pp.committed.profile_settled + pp.committed.profile_reserved;
      if (committed + est > *pp.credit_cap + kCreditEpsilon)
        pp.stops.push_back(fmt::format("credit_cap {} {}: {} + {} estimated passes it", format_credits(*pp.credit_cap),
                                       pp.unit, committed_text(pp.committed.profile_settled,
                                                               pp.committed.profile_reserved, pp.unit),
                                       format_credits(est)));
      else if (committed + pp.cost.high > *pp.credit_cap + kCreditEpsilon)
        pp.notes.push_back("the upper end of the range (" + format_credits(pp.cost.high) + ") passes credit_cap " +
                           format_credits(*pp.credit_cap));
    }
    if (pp.daily_credit_cap) {
      const double committed = pp.committed.day_settled + pp.committed.day_reserved;
      if (committed + est > *pp.daily_credit_cap + kCreditEpsilon)
        pp.stops.push_back(fmt::format("daily_credit_cap {} {}: {} today + {} estimated passes it",
                                       format_credits(*pp.daily_credit_cap), pp.unit,
                                       committed_text(pp.committed.day_settled, pp.committed.day_reserved, pp.unit),
                                       format_credits(est)));
    }
    if (max_credits) {
      for (const auto& [key, credits] : per_batch_unit)
        if (key.second == pp.unit && credits > *max_credits + kCreditEpsilon)
          pp.stops.push_back(fmt::format("--max-credits {} {}: {} estimated for {} passes it",
                                         format_credits(*max_credits), pp.unit, format_credits(credits), key.first));
    }
    if (pp.cost.unknown_rows > 0 && (pp.credit_cap || pp.daily_credit_cap || max_credits))
      pp.notes.push_back(std::to_string(pp.cost.unknown_rows) +
                         " rows have no known price: caps count them as 0 until their cost is reported "
                         "(set [providers." + name + ".prices])");
    plan.profiles.push_back(std::move(pp));
  }
  return plan;
}

boost::asio::awaitable<void> async_add_balances(Plan& plan, const Config& cfg, HttpClient& http) {
  for (auto& pp : plan.profiles) {
    if (!pp.balance_api) continue;
    const ProfileConfig* prof = cfg.profile(pp.profile);
    if (prof == nullptr) continue;
    auto provider = make_provider(*prof, http);
    auto b = co_await provider->async_balance();
    if (!b) {
      pp.balance_error = b.error().describe();
      continue;
    }
    pp.balance = *b;
    // Reservations already made are not yet charged by a post-paying provider.
    const double needed = pp.cost.credits + pp.committed.profile_reserved;
    if (needed > b->remain + kCreditEpsilon)
      pp.stops.push_back(fmt::format("balance {} {} left is below the {} estimated{}", format_credits(b->remain),
                                     pp.unit, format_credits(pp.cost.credits),
                                     pp.committed.profile_reserved > 0
                                         ? " + " + format_credits(pp.committed.profile_reserved) + " reserved"
                                         : std::string()));
  }
}

int Plan::exit_code() const {
  if (invalid_rows > 0) return kPlanInvalidRows;
  for (const auto& p : profiles)
    if (!p.stops.empty()) return kPlanStopped;
  return kPlanFits;
}

json::object Plan::to_json() const {
  json::array profs;
  for (const auto& p : profiles) {
    json::object cost{{"unit", p.unit},
                      {"estimate", p.cost.rows > p.cost.unknown_rows ? json::value(p.cost.credits) : json::value(nullptr)},
                      {"low", p.cost.low},
                      {"high", p.cost.high},
                      {"source", p.cost.rows == 0 ? std::string("none") : p.cost.describe_sources()},
                      {"rows_without_price", p.cost.unknown_rows}};
    json::object o{{"profile", p.profile},
                   {"kind", p.kind},
                   {"rows", p.rows},
                   {"to_submit", p.to_submit},
                   {"already_done", p.already_done},
                   {"cost", std::move(cost)},
                   {"wall_time_s", p.wall_time ? json::value(p.wall_time->count()) : json::value(nullptr)},
                   {"wall_time_basis", p.wall_basis},
                   {"max_in_flight", p.max_in_flight},
                   {"submit_per_minute", p.submit_per_minute},
                   {"credit_cap", p.credit_cap ? json::value(*p.credit_cap) : json::value(nullptr)},
                   {"daily_credit_cap", p.daily_credit_cap ? json::value(*p.daily_credit_cap) : json::value(nullptr)},
                   {"spent", p.committed.profile_settled},
                   {"reserved", p.committed.profile_reserved},
                   {"spent_today", p.committed.day_settled + p.committed.day_reserved}};
    if (p.balance) {
      o["balance"] = json::object{{"remain", p.balance->remain}, {"used", p.balance->used}, {"total", p.balance->total}};
    } else {
      o["balance"] = nullptr;
      if (!p.balance_error.empty()) o["balance_error"] = p.balance_error;
    }
    json::array stops, notes;
    for (const auto& s : p.stops) stops.push_back(json::string(s));
    for (const auto& s : p.notes) notes.push_back(json::string(s));
    o["stops"] = std::move(stops);
    o["notes"] = std::move(notes);
    profs.push_back(std::move(o));
  }
  json::array errs, mans;
  for (const auto& e : errors) errs.push_back(json::string(e));
  for (const auto& m : manifests) mans.push_back(json::string(m));
  const int rc = exit_code();
  return json::object{{"manifests", std::move(mans)},
                      {"valid_rows", valid_rows},
                      {"invalid_rows", invalid_rows},
                      {"errors", std::move(errs)},
                      {"max_credits", max_credits ? json::value(*max_credits) : json::value(nullptr)},
                      {"profiles", std::move(profs)},
                      {"fits", rc == kPlanFits},
                      {"exit_code", rc}};
}

std::string Plan::to_text() const {
  std::string out;
  for (const auto& e : errors) out += "invalid: " + e + "\n";
  out += fmt::format("{} valid rows, {} invalid\n", valid_rows, invalid_rows);
  for (const auto& p : profiles) {
    out += fmt::format("\nprofile {} ({}): {} rows", p.profile, p.kind, p.rows);
    if (p.already_done > 0) out += fmt::format(" ({} already past submit, not counted)", p.already_done);
    out += "\n";
    if (p.to_submit == 0) {
      out += "  nothing to submit\n";
    } else if (p.cost.unknown_rows == p.cost.rows) {
      out += fmt::format("  cost:      unknown ({} rows without a price; set [providers.{}.prices])\n", p.cost.rows,
                         p.profile);
    } else {
      const bool ranged = p.cost.high - p.cost.low > kCreditEpsilon;
      out += fmt::format("  cost:      {} {}{} ({}){}\n", format_credits(p.cost.credits), p.unit,
                         ranged ? " (range " + format_credits(p.cost.low) + ".." + format_credits(p.cost.high) + ")"
                                : std::string(),
                         p.cost.describe_sources(),
                         p.cost.unknown_rows > 0 ? fmt::format(", + {} rows without a price", p.cost.unknown_rows)
                                                 : std::string());
    }
    if (p.to_submit > 0)
      out += fmt::format("  wall time: {} ({} at once, {} submits/min; {})\n",
                         p.wall_time ? "about " + format_wall_time(*p.wall_time) : std::string("unknown"),
                         p.max_in_flight, format_credits(p.submit_per_minute), p.wall_basis);
    out += fmt::format("  spent:     {} {} ({} reserved)\n", format_credits(p.committed.profile_settled), p.unit,
                       format_credits(p.committed.profile_reserved));
    if (p.credit_cap || p.daily_credit_cap)
      out += fmt::format("  caps:      {}{}\n", p.credit_cap ? "credit_cap " + format_credits(*p.credit_cap) : "",
                         p.daily_credit_cap ? std::string(p.credit_cap ? ", " : "") + "daily_credit_cap " +
                                                  format_credits(*p.daily_credit_cap)
                                            : std::string());
    if (p.balance)
      out += fmt::format("  balance:   {} {} left\n", format_credits(p.balance->remain), p.unit);
    else if (!p.balance_error.empty())
      out += "  balance:   unavailable: " + p.balance_error + "\n";
    else if (!p.balance_api)
      out += "  balance:   the " + p.kind + " API has none\n";
    for (const auto& n : p.notes) out += "  note:      " + n + "\n";
    for (const auto& s : p.stops) out += "  STOPS:     " + s + "\n";
  }
  const int rc = exit_code();
  out += rc == kPlanFits ? "\nfits: every row is valid and no cap or balance stops it\n"
         : rc == kPlanInvalidRows ? "\ninvalid rows: fix them (run would skip them)\n"
                                  : "\nwould stop: a cap or the balance is below the estimate\n";
  return out;
}

}  // namespace reelbatch
