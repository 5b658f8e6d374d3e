// Fault plans: parsing and printing (see faults.hpp).
#include "providers/emulator/faults.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace reelbatch::emulator {
namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, kFaultKinds> kKeys = {
    "5xx",  "429",     "reset_before", "reset_after",  "malformed_json",     "stall",
    "truncate", "html200", "never_finish", "expire_early", "concurrency_429_id", "concurrency_429_noid",
};

// The kinds drawn together per request class (faults.hpp).
constexpr std::array<FaultKind, 6> kApiKinds = {FaultKind::http_5xx,    FaultKind::http_429,
                                                FaultKind::reset_before, FaultKind::reset_after,
                                                FaultKind::malformed_json, FaultKind::stall};
constexpr std::array<FaultKind, 5> kDownloadKinds = {FaultKind::http_5xx, FaultKind::reset_before,
                                                     FaultKind::stall, FaultKind::truncate, FaultKind::html200};

[[noreturn]] void bad(std::string_view provider, std::string_view what) {
  throw std::invalid_argument("fault rules for " + std::string(provider) + ": " + std::string(what));
}

std::int64_t seconds_value(std::string_view provider, std::string_view key, double v) {
  if (!std::isfinite(v) || v < 0 || v > 1e9)
    bad(provider, std::string(key) + " must be a number of seconds >= 0");
  return static_cast<std::int64_t>(std::llround(v));
}

// Sets one key; `num` is the value as a number, `text` as written (for down_mode).
void set_key(std::string_view provider, FaultRules& r, std::string_view key, std::optional<double> num,
             std::string_view text) {
  if (key == "down_mode") {
    if (text == "503") r.down_drop = false;
    else if (text == "drop") r.down_drop = true;
    else bad(provider, "down_mode must be 503 or drop, not '" + std::string(text) + "'");
    return;
  }
  if (!num) bad(provider, std::string(key) + " needs a number, not '" + std::string(text) + "'");
  if (auto k = fault_kind(key)) {
    if (!std::isfinite(*num) || *num < 0 || *num > 1) bad(provider, std::string(key) + " must be a rate in [0, 1]");
    r[*k] = *num;
    return;
  }
  const std::int64_t s = seconds_value(provider, key, *num);
  if (key == "retry_after") r.retry_after_s = s;
  else if (key == "stall_s") r.stall_s = s;
  else if (key == "early_ttl_s") r.early_ttl_s = s;
  else if (key == "down") r.down_s = s;
  else if (key == "down_at") r.down_at_s = s;
  else if (key == "cdn_outage") r.cdn_outage_s = s;
  else if (key == "cdn_outage_at") r.cdn_outage_at_s = s;
  else bad(provider, "unknown key '" + std::string(key) + "'");
}

void check_sums(std::string_view provider, const FaultRules& r) {
  double api = 0, dl = 0;
  for (auto k : kApiKinds) api += r[k];
  for (auto k : kDownloadKinds) dl += r[k];
  if (api > 1 + 1e-9) bad(provider, "the API fault rates sum above 1");
  if (dl > 1 + 1e-9) bad(provider, "the download fault rates sum above 1");
  if (r[FaultKind::concurrency_429_id] + r[FaultKind::concurrency_429_noid] > 1 + 1e-9)
    bad(provider, "the concurrency_429 rates sum above 1");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view fault_key(FaultKind k) { return kKeys[static_cast<std::size_t>(k)]; }

std::optional<FaultKind> fault_kind(std::string_view key) {
  for (std::size_t i = 0; i < kKeys.size(); ++i)
    if (kKeys[i] == key) return static_cast<FaultKind>(i);
  return std::nullopt;
}

bool FaultRules::empty() const {
  for (double r : rate)
    if (r > 0) return false;
  return down_s == 0 && cdn_outage_s == 0;
}

FaultRules FaultPlan::rules_for(std::string_view name) const {
  if (auto it = modules.find(name); it != modules.end()) return it->second;
  if (auto it = modules.find("*"); it != modules.end()) return it->second;
  return {};
}

bool FaultPlan::empty() const {
  for (const auto& [name, r] : modules)
    if (!r.empty()) return false;
  return true;
}

void parse_fault_spec(std::string_view spec, FaultPlan& plan) {
  const auto colon = spec.find(':');
  if (colon == std::string_view::npos || colon == 0)
    throw std::invalid_argument("fault spec '" + std::string(spec) + "': expected PROVIDER:KEY=VALUE[,KEY=VALUE...]");
  const std::string provider(trim(spec.substr(0, colon)));
  FaultRules r = plan.modules.count(provider) ? plan.modules.at(provider) : FaultRules{};
  std::string_view rest = spec.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) bad(provider, "item '" + std::string(item) + "' is not KEY=VALUE");
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view text = trim(item.substr(eq + 1));
    std::optional<double> num;
    double v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size() && !text.empty()) num = v;
    set_key(provider, r, key, num, text);
  }
  check_sums(provider, r);
  plan.modules[provider] = r;
}

FaultPlan fault_plan_from_json(const json::value& v) {
  if (!v.is_object()) throw std::invalid_argument("fault plan: expected a JSON object of provider -> rules");
  FaultPlan plan;
  for (const auto& kv : v.as_object()) {
    const std::string provider(kv.key());
    if (!kv.value().is_object()) bad(provider, "expected an object of key -> value");
    FaultRules r;
    for (const auto& item : kv.value().as_object()) {
      std::optional<double> num;
      std::string text;
      if (item.value().is_number()) {
        num = item.value().to_number<double>();
        text = json::serialize(item.value());
      } else if (item.value().is_string()) {
        text = std::string(item.value().get_string());
      } else {
        text = json::serialize(item.value());
      }
      set_key(provider, r, item.key(), num, text);
    }
    check_sums(provider, r);
    plan.modules[provider] = r;
  }
  return plan;
}

json::value to_json(const FaultPlan& plan) {
  json::object out;
  const FaultRules def;
  for (const auto& [name, r] : plan.modules) {
    json::object o;
    for (std::size_t i = 0; i < kFaultKinds; ++i)
      if (r.rate[i] > 0) o[kKeys[i]] = r.rate[i];
    if (r.retry_after_s != def.retry_after_s) o["retry_after"] = r.retry_after_s;
    if (r.stall_s != def.stall_s) o["stall_s"] = r.stall_s;
    if (r.early_ttl_s != def.early_ttl_s) o["early_ttl_s"] = r.early_ttl_s;
    if (r.down_s) o["down"] = r.down_s;
    if (r.down_at_s) o["down_at"] = r.down_at_s;
    if (r.down_drop) o["down_mode"] = "drop";
    if (r.cdn_outage_s) o["cdn_outage"] = r.cdn_outage_s;
    if (r.cdn_outage_at_s) o["cdn_outage_at"] = r.cdn_outage_at_s;
    out[name] = std::move(o);
  }
  return out;
}

FaultPlan fault_plan_from_rate(double r) {
  FaultPlan plan;
  if (!(r > 0)) return plan;
  r = std::min(r, 1.0);
  FaultRules rules;
  rules[FaultKind::http_5xx] = r / 2;
  rules[FaultKind::http_429] = r / 4;
  rules[FaultKind::reset_after] = r / 4;
  plan.modules["*"] = rules;
  return plan;
}

}  // namespace reelbatch::emulator
