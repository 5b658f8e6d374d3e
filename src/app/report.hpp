// `reelbatch report` (issue 9, item 5): per profile, model or day, how many
// rows, how many succeeded, what they cost per credit unit, and how long
// generation took and how much time the downloads had left before their
// URLs expired. The aggregation is pure (aggregate_report); the store is
// read page by page (collect_report_rows), read-only, so it works while a
// daemon runs.
#pragma once

#include "src/app/progress.hpp"
#include "src/output/results.hpp"
#include "storage/job_store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

/// What a report groups rows by.
enum class ReportGroupBy {
  profile,  ///< the row's profile (JobSpec::provider)
  model,    ///< the row's model ("(default)" when the row named none)
  day,      ///< the UTC day the row was ingested, "YYYY-MM-DD"
};
/// "profile", "model", "day"; and back (nullopt for other text).
const char* to_string(ReportGroupBy by);
std::optional<ReportGroupBy> report_group_by_from_string(const std::string& s);

/// The facts of one job a report needs.
struct ReportRow {
  std::string profile;
  std::string model;                 ///< empty: the profile's default model
  std::string unit;                  ///< credit unit of the profile (credit_unit())
  std::int64_t ingested_at_ms = 0;   ///< Unix ms
  JobState state = JobState::pending;
  std::optional<double> cost;        ///< credits in `unit`
  std::optional<double> generation_s;      ///< see make_result_record()
  std::optional<double> download_slack_s;  ///< URL expiry minus download time, seconds
};

/// One group of a report.
struct ReportGroup {
  std::string key;      ///< profile, model or day
  int rows = 0;         ///< jobs in the group
  int succeeded = 0;
  int failed = 0;       ///< failed or expired (paid, not downloaded in time)
  int cancelled = 0;
  int unfinished = 0;   ///< not terminal yet (pending, running, held, ...)
  /// succeeded / (succeeded + failed + cancelled); nullopt when none finished.
  std::optional<double> success_rate;
  SpendByUnit spend;    ///< credits per unit, never summed across units
  /// Per unit: the unit's spend divided by the succeeded rows of profiles
  /// billing in that unit (what one finished clip cost, failures' charges
  /// included); a unit without a succeeded row is absent.
  SpendByUnit spend_per_success;
  /// Nearest-rank percentiles (seconds) over the rows that have the figure.
  std::optional<double> generation_p50_s, generation_p95_s;
  std::optional<double> slack_p50_s, slack_p95_s;
};

/// The nearest-rank percentile `p` (0 < p <= 100) of `values` (any order):
/// the smallest value with at least p% of the values at or below it;
/// nullopt when empty. Pure.
std::optional<double> percentile(std::vector<double> values, double p);

/// Groups `rows` by `by`, groups sorted by key, plus a last group "(all)"
/// over every row. Pure.
std::vector<ReportGroup> aggregate_report(const std::vector<ReportRow>& rows, ReportGroupBy by);

/// Which jobs a report covers.
struct ReportFilter {
  std::optional<std::int64_t> since_ms;    ///< ingested at or after (Unix ms)
  std::vector<std::int64_t> batch_ids;     ///< empty: every batch
};

/// The report rows of every job matching `filter`, read a page (1000 jobs)
/// at a time with their events (JobStore::events_of_jobs); figures as in
/// the results files (make_result_record). Units from `ctx`. Throws the
/// store's exceptions.
std::vector<ReportRow> collect_report_rows(const JobStore& store, const ReportFilter& filter,
                                           const ResultsContext& ctx);

/// The report as text: one aligned table with a header. Pure.
std::string format_report_text(const std::vector<ReportGroup>& groups, ReportGroupBy by);
/// As JSON: {"by": ..., "groups": [{key, rows, succeeded, failed, cancelled,
/// unfinished, success_rate, spend: {unit: credits}, spend_per_success,
/// generation_p50_s, generation_p95_s, download_slack_p50_s,
/// download_slack_p95_s}]} (absent figures are null). Pure.
boost::json::object report_json(const std::vector<ReportGroup>& groups, ReportGroupBy by);
/// As CSV (RFC 4180, header row): one row per group and credit unit
/// (columns key, rows, succeeded, failed, cancelled, unfinished,
/// success_rate, unit, spend, spend_per_success, generation_p50_s,
/// generation_p95_s, download_slack_p50_s, download_slack_p95_s); a group
/// without spend has one row with an empty unit. Pure.
std::string format_report_csv(const std::vector<ReportGroup>& groups, ReportGroupBy by);

/// "2026-12-02" (UTC midnight) or "2026-12-02T10:30:00Z" as Unix ms;
/// nullopt for other text. Pure.
std::optional<std::int64_t> parse_report_date(const std::string& s);

/// `reelbatch report` options (src/app/cmd_report.cpp).
struct ReportArgs {
  std::string config = "reelbatch.toml";
  std::string since;   ///< empty: all time
  std::string batch;   ///< batch id or name; empty: every batch
  std::string by = "profile";
  bool json = false, csv = false;
};
/// Runs `reelbatch report`: prints the report of the config's database.
/// Returns the exit code (0; 2 for a bad option or config).
int cmd_report(const ReportArgs& args);

}  // namespace reelbatch
