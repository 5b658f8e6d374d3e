// `reelbatch plan` (also `run --dry-run` and the admin API's
// `POST /v1/batches?dry_run=1`), issue 9 item 2: what manifests would cost
// and how long they would take, before anything is recorded or paid.
//
// Rows are validated exactly as `run` validates them
// (src/ingest/ingest.hpp check_manifests: same parser, validators, output
// and id checks), nothing is written, and no provider is asked anything but
// its balance where the API has one (async_add_balances).
#pragma once

#include "config/config.hpp"
#include "providers/provider.hpp"
#include "scheduler/cost.hpp"
#include "storage/job_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

class HttpClient;

/// Exit codes of `plan` (and `run --dry-run`).
inline constexpr int kPlanFits = 0;         ///< every row valid, no cap or balance stops it
inline constexpr int kPlanInvalidRows = 1;  ///< some rows are invalid
inline constexpr int kPlanStopped = 3;      ///< a cap or the balance would stop it

/// One profile's part of a plan.
struct PlanProfile {
  std::string profile, kind;
  std::string unit;       ///< the profile's credit unit
  int rows = 0;           ///< valid rows of this profile
  int to_submit = 0;      ///< rows that would be submitted (new, or recorded and still pending)
  int already_done = 0;   ///< rows recorded earlier and past pending (not estimated again)
  CostTotal cost;         ///< estimate over to_submit rows, in `unit`
  /// Expected wall time of the to_submit rows through the profile's lane
  /// (scheduler/cost.hpp estimate_wall_time); nullopt when no generation
  /// time is known (none learned, the document names none).
  std::optional<std::chrono::seconds> wall_time;
  std::string wall_basis;  ///< "learned from N tasks", the document section, or why unknown
  int max_in_flight = 0;
  double submit_per_minute = 0;
  bool balance_api = false;           ///< the provider has a balance API
  std::optional<Balance> balance;     ///< when asked and answered
  std::string balance_error;          ///< the provider's error, when asked and failed
  CreditUses committed;               ///< the profile's ledger today (batch figures: none)
  std::optional<double> credit_cap, daily_credit_cap;
  /// Why it would stop: a cap the estimate passes, a balance below it.
  /// Empty: it fits (or nothing is known that would stop it).
  std::vector<std::string> stops;
  /// What the user should know but does not stop it (rows without a price
  /// under a cap, a range that reaches past a cap).
  std::vector<std::string> notes;
};

/// A whole plan.
struct Plan {
  std::vector<std::string> manifests;
  int valid_rows = 0, invalid_rows = 0;
  std::vector<std::string> errors;  ///< "file:line: field: reason", as `run` prints them
  std::optional<double> max_credits;  ///< the batch cap asked for (`--max-credits`), per unit
  std::vector<PlanProfile> profiles;  ///< profiles with rows, by name

  /// kPlanInvalidRows when a row is invalid, else kPlanStopped when a
  /// profile has stops, else kPlanFits.
  int exit_code() const;
  /// The plan as JSON (the admin API's and `plan --json`'s answer).
  boost::json::object to_json() const;
  /// The plan as text, one block per profile (what `plan` prints).
  std::string to_text() const;
};

/// Builds a plan for `manifests` without writing anything: validates
/// (check_manifests), estimates each row to submit (configured, documented,
/// learned from `store`, unknown), adds up per profile and unit, estimates
/// wall time from the lane and learned (else documented) generation times,
/// and checks the estimate against credit_cap, daily_credit_cap and
/// `max_credits` (per batch, per unit) with what the ledger holds.
/// `default_profile` as ingest_manifests(). Balances are not asked here
/// (async_add_balances). Throws ManifestError for an unreadable manifest,
/// ConfigError for an unknown kind, store exceptions on database failure.
Plan make_plan(const Config& cfg, JobStore& store, const std::vector<std::filesystem::path>& manifests,
               const std::string& default_profile = {}, std::optional<double> max_credits = std::nullopt);

/// Asks the balance of every profile of `plan` whose provider has a balance
/// API (juhuo doc 8, seedance2 余额查询) through `http`, and adds a stop to
/// each whose balance is below its estimate. Provider errors are recorded
/// in balance_error, not thrown.
boost::asio::awaitable<void> async_add_balances(Plan& plan, const Config& cfg, HttpClient& http);

// ---- the command (src/app/cmd_plan.cpp) --------------------------------------------

/// `reelbatch plan MANIFEST... [-c CONFIG] [-p PROFILE] [--max-credits N]
/// [--json] [--no-balance]` and `run --dry-run`.
struct PlanArgs {
  std::vector<std::string> manifests;
  std::string config = "reelbatch.toml";
  std::string out;       ///< output root override (as `run -o`)
  std::string profile;   ///< default profile for rows naming none
  std::optional<double> max_credits;  ///< per-batch cap to check (per unit)
  bool json = false;     ///< print Plan::to_json()
  bool balance = true;   ///< ask balances where the API has one
};

/// Runs the command: loads the config (API keys are needed only for the
/// balance look-ups; a profile whose key is unset is planned without its
/// balance), reads the database when it exists (creates nothing), prints
/// the plan. Returns Plan::exit_code(), or 2 for an unusable config or
/// manifest (the message on stderr).
int cmd_plan(const PlanArgs& args);

}  // namespace reelbatch
