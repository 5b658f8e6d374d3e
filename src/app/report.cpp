#include "src/app/report.hpp"

#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

namespace reelbatch {
namespace json = boost::json;

const char* to_string(ReportGroupBy by) {
  switch (by) {
    case ReportGroupBy::profile: return "profile";
    case ReportGroupBy::model: return "model";
    case ReportGroupBy::day: return "day";
  }
  return "profile";
}

std::optional<ReportGroupBy> report_group_by_from_string(const std::string& s) {
  if (s == "profile") return ReportGroupBy::profile;
  if (s == "model") return ReportGroupBy::model;
  if (s == "day") return ReportGroupBy::day;
  return std::nullopt;
}

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto i = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[i];
}

namespace {

std::string utc_day(std::int64_t unix_ms) {
  const std::time_t s = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string group_key(const ReportRow& r, ReportGroupBy by) {
  switch (by) {
    case ReportGroupBy::profile: return r.profile;
    case ReportGroupBy::model: return r.model.empty() ? "(default)" : r.model;
    case ReportGroupBy::day: return utc_day(r.ingested_at_ms);
  }
  return r.profile;
}

struct Acc {
  ReportGroup g;
  std::vector<double> gen, slack;
  std::map<std::string, int> succeeded_by_unit;  // a unit's spend is per clip of that unit
  void add(const ReportRow& r) {
    ++g.rows;
    switch (r.state) {
      case JobState::succeeded:
        ++g.succeeded;
        ++succeeded_by_unit[r.unit];
        break;
      case JobState::failed:
      case JobState::expired: ++g.failed; break;
      case JobState::cancelled: ++g.cancelled; break;
      default: ++g.unfinished; break;
    }
    if (r.cost) g.spend[r.unit] += *r.cost;
    if (r.generation_s) gen.push_back(*r.generation_s);
    if (r.download_slack_s) slack.push_back(*r.download_slack_s);
  }
  ReportGroup done() {
    const int finished = g.succeeded + g.failed + g.cancelled;
    if (finished > 0) g.success_rate = static_cast<double>(g.succeeded) / finished;
    for (const auto& [unit, credits] : g.spend)
      if (auto it = succeeded_by_unit.find(unit); it != succeeded_by_unit.end() && it->second > 0)
        g.spend_per_success[unit] = credits / it->second;
    g.generation_p50_s = percentile(gen, 50);
    g.generation_p95_s = percentile(gen, 95);
    g.slack_p50_s = percentile(slack, 50);
    g.slack_p95_s = percentile(slack, 95);
    return g;
  }
};

std::optional<double> number(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

// "45.2 s", "12.5 min", "6.9 h", "6.9 d"; "-" when absent.
std::string human(const std::optional<double>& s) {
  if (!s) return "-";
  const double a = std::fabs(*s);
  if (a < 120) return fmt::format("{:.1f} s", *s);
  if (a < 7200) return fmt::format("{:.1f} min", *s / 60);
  if (a < 172800) return fmt::format("{:.1f} h", *s / 3600);
  return fmt::format("{:.1f} d", *s / 86400);
}

json::value opt(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object spend_json(const SpendByUnit& s) {
  json::object o;
  for (const auto& [unit, credits] : s) o[unit] = credits;
  return o;
}

}  // namespace

std::vector<ReportGroup> aggregate_report(const std::vector<ReportRow>& rows, ReportGroupBy by) {
  std::map<std::string, Acc> groups;
  Acc all;
  all.g.key = "(all)";
  for (const auto& r : rows) {
    const auto key = group_key(r, by);
    auto& acc = groups[key];
    acc.g.key = key;
    acc.add(r);
    all.add(r);
  }
  std::vector<ReportGroup> out;
  for (auto& [key, acc] : groups) out.push_back(acc.done());
  out.push_back(all.done());
  return out;
}

std::vector<ReportRow> collect_report_rows(const JobStore& store, const ReportFilter& filter,
                                           const ResultsContext& ctx) {
  std::vector<ReportRow> rows;
  std::map<std::int64_t, BatchRecord> batches;
  for (auto& b : store.batches()) batches.emplace(b.id, std::move(b));
  JobQuery q;
  q.filter.batch_ids = filter.batch_ids;
  for (;;) {
    const auto page = store.jobs(q);
    std::vector<std::int64_t> ids;
    for (const auto& j : page.jobs)
      if (!filter.since_ms || j.created_at_ms >= *filter.since_ms) ids.push_back(j.id);
    const auto events = store.events_of_jobs(ids);
    for (const auto& j : page.jobs) {
      if (filter.since_ms && j.created_at_ms < *filter.since_ms) continue;
      auto first = std::lower_bound(events.begin(), events.end(), j.id,
                                    [](const EventRecord& e, std::int64_t id) { return e.job_id < id; });
      auto last = std::upper_bound(first, events.end(), j.id,
                                   [](std::int64_t id, const EventRecord& e) { return id < e.job_id; });
      const auto b = batches.find(j.batch_id);
      const BatchRecord batch = b == batches.end() ? BatchRecord{} : b->second;
      const auto rec = make_result_record(j, batch, ctx, std::vector<EventRecord>(first, last), 0, "", "",
                                          std::nullopt);
      ReportRow r;
      r.profile = j.spec.provider;
      r.model = j.spec.model;
      auto unit = ctx.units.find(j.spec.provider);
      r.unit = unit == ctx.units.end() ? "credits" : unit->second;
      r.ingested_at_ms = j.created_at_ms;
      r.state = j.state;
      r.cost = j.cost;
      r.generation_s = number(rec, "generation_s");
      r.download_slack_s = number(rec, "download_slack_s");
      rows.push_back(std::move(r));
    }
    if (!page.next_after_seq) break;
    q.after_seq = *page.next_after_seq;
  }
  return rows;
}

std::string format_report_text(const std::vector<ReportGroup>& groups, ReportGroupBy by) {
  std::vector<std::vector<std::string>> table;
  table.push_back({to_string(by), "rows", "ok", "failed", "cancelled", "open", "success", "spend",
                   "per clip", "gen p50", "gen p95", "slack p50", "slack p95"});
  for (const auto& g : groups) {
    table.push_back({g.key, std::to_string(g.rows), std::to_string(g.succeeded), std::to_string(g.failed),
                     std::to_string(g.cancelled), std::to_string(g.unfinished),
                     g.success_rate ? fmt::format("{:.1f}%", *g.success_rate * 100) : "-", format_spend(g.spend),
                     g.spend_per_success.empty() ? "-" : format_spend(g.spend_per_success), human(g.generation_p50_s),
                     human(g.generation_p95_s), human(g.slack_p50_s), human(g.slack_p95_s)});
  }
  std::vector<std::size_t> width(table.front().size(), 0);
  for (const auto& row : table)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : table) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      // Text columns left-aligned, figures right-aligned.
      const bool left = i == 0 || i == 7 || i == 8;
      const std::string pad(width[i] - row[i].size(), ' ');
      line += (i ? "  " : "") + (left ? row[i] + pad : pad + row[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

json::object report_json(const std::vector<ReportGroup>& groups, ReportGroupBy by) {
  json::array a;
  for (const auto& g : groups) {
    a.push_back(json::object{{"key", g.key},
                             {"rows", g.rows},
                             {"succeeded", g.succeeded},
                             {"failed", g.failed},
                             {"cancelled", g.cancelled},
                             {"unfinished", g.unfinished},
                             {"success_rate", opt(g.success_rate)},
                             {"spend", spend_json(g.spend)},
                             {"spend_per_success", spend_json(g.spend_per_success)},
                             {"generation_p50_s", opt(g.generation_p50_s)},
                             {"generation_p95_s", opt(g.generation_p95_s)},
                             {"download_slack_p50_s", opt(g.slack_p50_s)},
                             {"download_slack_p95_s", opt(g.slack_p95_s)}});
  }
  return json::object{{"by", to_string(by)}, {"groups", std::move(a)}};
}

std::string format_report_csv(const std::vector<ReportGroup>& groups, ReportGroupBy by) {
  std::string out = fmt::format(
      "{},rows,succeeded,failed,cancelled,unfinished,success_rate,unit,spend,spend_per_success,"
      "generation_p50_s,generation_p95_s,download_slack_p50_s,download_slack_p95_s\r\n",
      to_string(by));
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); };
  for (const auto& g : groups) {
    std::vector<std::string> units;
    for (const auto& [unit, credits] : g.spend) units.push_back(unit);
    if (units.empty()) units.push_back("");
    for (const auto& unit : units) {
      std::optional<double> spend, per;
      if (auto it = g.spend.find(unit); it != g.spend.end()) spend = it->second;
      if (auto it = g.spend_per_success.find(unit); it != g.spend_per_success.end()) per = it->second;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n", csv_field(json::value(g.key)), g.rows,
                         g.succeeded, g.failed, g.cancelled, g.unfinished, num(g.success_rate),
                         csv_field(json::value(unit)), num(spend), num(per), num(g.generation_p50_s),
                         num(g.generation_p95_s), num(g.slack_p50_s), num(g.slack_p95_s));
    }
  }
  return out;
}

std::optional<std::int64_t> parse_report_date(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  char tail = 0;
  if (s.size() == 10) {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3) return std::nullopt;
  } else if (s.size() == 20 && s.back() == 'Z') {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &y, &mo, &d, &h, &mi, &se, &tail) != 6)
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const std::time_t t = ::timegm(&tm);
  if (tm.tm_mday != d) return std::nullopt;  // 2026-02-31 rolled over
  return static_cast<std::int64_t>(t) * 1000;
}

}  // namespace reelbatch
