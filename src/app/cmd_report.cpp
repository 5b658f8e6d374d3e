// `reelbatch report`: reads the config's database (read-only queries; works
// while a daemon runs) and prints the aggregation of src/app/report.hpp.
#include "src/app/cli.hpp"
#include "src/app/report.hpp"

#include "providers/registry.hpp"
#include "src/app/store_factory.hpp"

#include <boost/json/serialize.hpp>

#include <iostream>

namespace reelbatch {

int cmd_report(const ReportArgs& args) {
  const auto by = report_group_by_from_string(args.by);
  if (!by) {
    std::cerr << "error: --by: expected profile, model or day, got '" << args.by << "'\n";
    return kExitUsage;
  }
  if (args.json && args.csv) {
    std::cerr << "error: --json and --csv exclude each other\n";
    return kExitUsage;
  }
  ReportFilter filter;
  if (!args.since.empty()) {
    filter.since_ms = parse_report_date(args.since);
    if (!filter.since_ms) {
      std::cerr << "error: --since: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), got '" << args.since << "'\n";
      return kExitUsage;
    }
  }
  // API keys are not needed to read the database.
  const std::optional<Config> loaded = load_config_or_report(args.config, env_not_required);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  if (!store_exists(cfg)) {
    std::cerr << "error: no database yet at " << describe_store(cfg) << "\n";
    return kExitUsage;
  }
  const std::unique_ptr<JobStore> opened = open_job_store(cfg);
  JobStore& store = *opened;
  if (!args.batch.empty()) {
    for (const auto& b : store.batches())
      if (b.name == args.batch || std::to_string(b.id) == args.batch) filter.batch_ids.push_back(b.id);
    if (filter.batch_ids.empty()) {
      std::cerr << "error: --batch: no batch named " << args.batch << " in " << describe_store(cfg) << "\n";
      return kExitUsage;
    }
  }
  const auto groups = aggregate_report(collect_report_rows(store, filter, results_context(cfg)), *by);
  if (args.json) std::cout << boost::json::serialize(report_json(groups, *by)) << "\n";
  else if (args.csv) std::cout << format_report_csv(groups, *by);
  else std::cout << format_report_text(groups, *by);
  return kExitOk;
}

}  // namespace reelbatch
