#include "src/app/progress.hpp"

#include <fmt/format.h>

#include <cmath>
#include <initializer_list>

namespace reelbatch {

namespace {

std::string clock_text(std::int64_t s) {
  if (s < 0) s = 0;
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string short_unit(const std::string& unit) {
  constexpr std::string_view kSuffix = " credits";
  if (unit.size() > kSuffix.size() && unit.ends_with(kSuffix))
    return unit.substr(0, unit.size() - kSuffix.size()) + " cr";
  return unit;
}

}  // namespace

std::string format_progress(const ProgressSample& s) {
  const std::int64_t finished = s.succeeded + s.failed;
  const int pct = s.total > 0 ? static_cast<int>(finished * 100 / s.total) : 100;
  std::string line = fmt::format("[{}] {}/{} {}%", clock_text(s.elapsed_s), finished, s.total, pct);
  const std::string rest = fmt::format(" ok {} fail {} wait {}", s.succeeded, s.failed, s.waiting);
  const std::int64_t progressed = finished - s.done_at_start;
  std::string rate_eta;
  if (progressed > 0 && s.elapsed_s > 0) {
    const double per_min = static_cast<double>(progressed) * 60.0 / static_cast<double>(s.elapsed_s);
    const std::int64_t left = s.total - finished - s.waiting;
    const auto eta = left > 0 ? static_cast<std::int64_t>(static_cast<double>(left) * 60.0 / per_min) : 0;
    rate_eta = fmt::format(" {:.1f}/min ETA {}", per_min, clock_text(eta));
  } else {
    rate_eta = " ETA -";
  }
  std::string credits;
  for (const auto& [unit, amount] : s.credits) credits += fmt::format(" {:.2f} {}", amount, short_unit(unit));
  constexpr std::size_t kMax = 79;
  for (const std::string* part : std::initializer_list<const std::string*>{&rest, &rate_eta, &credits})
    if (line.size() + part->size() <= kMax) line += *part;
  if (line.size() > kMax) line.resize(kMax);
  return line;
}

std::string format_spend(const SpendByUnit& spend) {
  std::string out;
  for (const auto& [unit, amount] : spend) out += fmt::format("{}{:.2f} {}", out.empty() ? "" : ", ", amount, unit);
  return out.empty() ? "none" : out;
}

SpendByUnit spend_difference(const SpendByUnit& now, const SpendByUnit& before) {
  SpendByUnit out;
  for (const auto& [unit, amount] : now) {
    auto it = before.find(unit);
    const double d = amount - (it == before.end() ? 0.0 : it->second);
    if (std::fabs(d) > 1e-9) out[unit] = d;
  }
  for (const auto& [unit, amount] : before)
    if (!now.count(unit) && std::fabs(amount) > 1e-9) out[unit] = -amount;
  return out;
}

}  // namespace reelbatch
