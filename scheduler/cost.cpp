// Estimates, totals and budget checks (cost.hpp).
#include "scheduler/cost.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace reelbatch {

const char* to_string(CostSource s) {
  switch (s) {
    case CostSource::unknown: return "unknown";
    case CostSource::documented: return "documented";
    case CostSource::configured: return "configured";
    case CostSource::learned: return "learned";
    case CostSource::reported: return "reported";
  }
  return "unknown";
}

std::string CostEstimate::describe_source() const {
  if (source == CostSource::learned)
    return "learned from " + std::to_string(samples) + (samples == 1 ? " task" : " tasks");
  return to_string(source);
}

std::optional<std::pair<double, const PriceRule*>> configured_price(const std::vector<PriceRule>& rules,
                                                                    const JobSpec& spec) {
  const std::string res = normalize_price_resolution(spec.resolution);
  const PriceRule* best = nullptr;
  int best_score = -1;
  for (const auto& r : rules) {
    if (r.model != "*" && r.model != spec.model) continue;
    if (r.resolution != "*" && r.resolution != res) continue;
    if (r.per_second && !spec.duration_s) continue;
    if (!r.per_second && r.duration_s && (!spec.duration_s || *r.duration_s != *spec.duration_s)) continue;
    // Specificity: 2 points per exact component, 1 for per_clip (tie-break).
    const int score = 2 * ((r.model != "*") + (r.resolution != "*") + (!r.per_second && r.duration_s.has_value())) +
                      (r.per_second ? 0 : 1);
    if (score > best_score) {
      best = &r;
      best_score = score;
    }
  }
  if (best == nullptr) return std::nullopt;
  const double credits = best->per_second ? best->credits * *spec.duration_s : best->credits;
  return std::make_pair(credits, best);
}

const LearnedCost* find_learned(const std::vector<LearnedCost>& learned, const JobSpec& spec) {
  const std::string res = normalize_price_resolution(spec.resolution);
  const int dur = spec.duration_s.value_or(0);
  for (const auto& l : learned)
    if (l.samples > 0 && l.model == spec.model && l.resolution == res && l.duration_s == dur) return &l;
  return nullptr;
}

std::vector<LearnedCost> merge_learned(const std::vector<LearnedCost>& raw, const JobDefaults& defaults) {
  std::vector<LearnedCost> out;
  for (LearnedCost l : raw) {
    if (l.model.empty()) l.model = defaults.model;
    if (l.resolution.empty()) l.resolution = defaults.resolution;
    l.resolution = normalize_price_resolution(l.resolution);
    if (l.duration_s == 0) l.duration_s = defaults.duration_s.value_or(0);
    auto it = std::find_if(out.begin(), out.end(), [&](const LearnedCost& o) {
      return o.model == l.model && o.resolution == l.resolution && o.duration_s == l.duration_s;
    });
    if (it == out.end()) {
      out.push_back(std::move(l));
      continue;
    }
    LearnedCost& m = *it;
    if (l.samples > 0) {
      m.min = m.samples > 0 ? std::min(m.min, l.min) : l.min;
      m.max = m.samples > 0 ? std::max(m.max, l.max) : l.max;
      m.mean = (m.mean * m.samples + l.mean * l.samples) / (m.samples + l.samples);
      m.samples += l.samples;
    }
    if (l.generation_samples > 0) {
      m.mean_generation_s = (m.mean_generation_s * m.generation_samples + l.mean_generation_s * l.generation_samples) /
                            (m.generation_samples + l.generation_samples);
      m.generation_samples += l.generation_samples;
    }
  }
  return out;
}

CostEstimate estimate_cost(const JobSpec& spec, const std::vector<PriceRule>& configured,
                           const std::optional<DocumentedPrice>& documented, const LearnedCost* learned,
                           const std::string& unit) {
  CostEstimate e;
  e.unit = unit;
  if (auto c = configured_price(configured, spec)) {
    e.credits = e.low = e.high = c->first;
    e.source = CostSource::configured;
    e.basis = std::string("prices.") + (c->second->per_second ? "per_second" : "per_clip") + ".\"" + c->second->key +
              "\"";
  } else if (documented) {
    e.credits = e.low = e.high = documented->credits;
    e.source = CostSource::documented;
    e.basis = std::string(documented->basis);
  } else if (learned != nullptr && learned->samples > 0) {
    e.credits = learned->mean;
    e.low = learned->min;
    e.high = learned->max;
    e.source = CostSource::learned;
    e.samples = learned->samples;
  }
  return e;
}

std::string CostTotal::describe_sources() const {
  std::vector<std::pair<std::string, int>> v(sources.begin(), sources.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [name, n] : v) out += (out.empty() ? "" : " + ") + name;
  return out.empty() ? "unknown" : out;
}

void add_estimate(std::map<std::string, CostTotal>& totals, const CostEstimate& e) {
  CostTotal& t = totals[e.unit];
  t.unit = e.unit;
  ++t.rows;
  if (!e.credits) {
    ++t.unknown_rows;
    ++t.sources["unknown"];
    return;
  }
  t.credits += *e.credits;
  t.low += e.low;
  t.high += e.high;
  ++t.sources[e.describe_source()];
}

BudgetVerdict check_budget(double amount, const std::vector<BudgetLimit>& limits, const std::string& unit) {
  BudgetVerdict v;
  amount = std::max(0.0, amount);
  for (const auto& l : limits) {
    const double committed = l.use.committed();
    const bool passed = committed > l.cap + kCreditEpsilon;
    if (!passed && committed + amount <= l.cap + kCreditEpsilon) continue;
    v.fits = false;
    v.blocking = &l;
    v.reason = "waiting for budget: " + l.name + " " + format_credits(l.cap) + " " + unit + ": " +
               format_credits(l.use.settled) + " spent + " + format_credits(l.use.reserved) + " reserved + " +
               format_credits(amount) + " for this row would pass it";
    return v;
  }
  return v;
}

std::int64_t utc_day_start_ms(std::int64_t unix_ms) {
  constexpr std::int64_t kDay = 86400000;
  std::int64_t d = unix_ms / kDay;
  if (unix_ms % kDay < 0) --d;  // before 1970: floor, not truncation
  return d * kDay;
}

std::chrono::seconds estimate_wall_time(int rows, int max_in_flight, double submit_per_minute,
                                        std::chrono::seconds generation) {
  if (rows <= 0) return std::chrono::seconds(0);
  const double gen = static_cast<double>(generation.count());
  const double spacing = submit_per_minute > 0 ? 60.0 / submit_per_minute : 0.0;
  const double submit_bound = (rows - 1) * spacing + gen;
  const int lanes = std::max(1, max_in_flight);
  const double waves = std::ceil(static_cast<double>(rows) / lanes);
  const double lane_bound = waves * gen;
  return std::chrono::seconds(static_cast<std::int64_t>(std::ceil(std::max(submit_bound, lane_bound))));
}

std::string format_wall_time(std::chrono::seconds s) {
  const std::int64_t t = std::max<std::int64_t>(0, s.count());
  char buf[32];
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(t));
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  else if (t < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(t / 86400),
                  static_cast<long long>(t % 86400 / 3600));
  return buf;
}

std::string format_credits(double credits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::round(credits * 100.0) / 100.0);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

}  // namespace reelbatch
