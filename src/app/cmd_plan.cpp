// `reelbatch plan` and `run --dry-run` (plan.hpp): the command around
// make_plan() and async_add_balances().
#include "src/app/plan.hpp"

#include "providers/registry.hpp"
#include "src/ingest/manifest.hpp"
#include "src/net/http_client.hpp"
#include "src/app/store_factory.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>
#include <set>

namespace reelbatch {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr int kPlanUsage = 2;  // as the CLI's kExitUsage

}  // namespace

int cmd_plan(const PlanArgs& args) {
  // Keys are needed only to ask balances: a missing one is noted, not fatal.
  std::set<std::string> missing_keys;
  const EnvLookup real = process_env();
  const EnvLookup env = [&](const std::string& name) -> std::optional<std::string> {
    if (auto v = real(name)) return v;
    if (name == "CREDENTIALS_DIRECTORY") return std::nullopt;
    missing_keys.insert(name);
    return std::string("(not needed to plan)");
  };
  Config cfg;
  try {
    cfg = load_config(args.config, env);
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kPlanUsage;
  }
  if (!args.out.empty()) cfg.output_dir = fs::absolute(args.out).lexically_normal();

  // The database is read when it exists (learned costs, spend so far); a
  // plan creates none: an in-memory SQLite store stands in for a missing file.
  std::unique_ptr<JobStore> store = store_exists(cfg) ? open_job_store(cfg)
                                                      : std::make_unique<SqliteJobStore>(fs::path(":memory:"));
  Plan plan;
  try {
    std::vector<fs::path> paths(args.manifests.begin(), args.manifests.end());
    plan = make_plan(cfg, *store, paths, args.profile, args.max_credits);
  } catch (const ManifestError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kPlanUsage;
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kPlanUsage;
  }

  if (args.balance) {
    // Profiles whose key is unset are not asked.
    std::vector<PlanProfile*> skipped;
    for (auto& pp : plan.profiles) {
      const ProfileConfig* prof = cfg.profile(pp.profile);
      if (pp.balance_api && prof != nullptr && !prof->api_key_env.empty() && missing_keys.count(prof->api_key_env)) {
        pp.balance_error = "not asked: " + prof->api_key_env + " is not set";
        pp.balance_api = false;
        skipped.push_back(&pp);
      }
    }
    asio::io_context io;
    HttpClient http(io.get_executor());
    std::exception_ptr error;
    asio::co_spawn(io, async_add_balances(plan, cfg, http), [&](std::exception_ptr e) { error = e; });
    io.run();
    for (auto* pp : skipped) pp->balance_api = true;
    if (error) std::rethrow_exception(error);
  }

  if (args.json)
    std::cout << boost::json::serialize(plan.to_json()) << "\n";
  else
    std::cout << plan.to_text();
  return plan.exit_code();
}

}  // namespace reelbatch
