// The registry: the one table of provider kinds (DESIGN.md, "Layout":
// "registry (the one table of kinds)"). Nothing else in the code base lists
// the five kind names; config, ingest, make_provider and the emulator's
// default module list all read this table.
//
// Each entry ties together, for one kind: the adapter factory, a pure
// validator (no network object), the emulator module, the path under which
// the emulator serves that API (the document's base path), and what the API
// can do beyond submit and query.
//
// Error contract: lookups return nullptr / empty for unknown kinds; the
// config helpers below throw ConfigError as config/config.hpp documents.
#pragma once

#include "config/config.hpp"
#include "providers/provider.hpp"
#include "scheduler/cost.hpp"
#include "src/core/job_spec.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace reelbatch {

class HttpClient;

namespace emulator {
class Module;
struct Services;
}  // namespace emulator

/// What an API offers beyond upload, submit and query; mirrors the adapter's
/// has_task_list() / has_cancel() / has_balance().
struct ProviderCapabilities {
  bool task_list = false;  ///< a task list, used to reconcile lost submits
  bool cancel = false;     ///< remote tasks can be cancelled
  bool balance = false;    ///< a credit balance endpoint
  /// The provider's document says a failed task is not charged (juhuo doc
  /// 9.1 and seedance2 计费说明: "失败的任务不扣费"): the default of the
  /// profile's `on_remote_failure` is then "resubmit", else "fail" (issue 7,
  /// case 4: turing, vibegen and openai state no refund).
  bool remote_failures_free = false;
};

/// The longest prompt a kind accepts, in Unicode code points, and where the
/// number comes from: the provider document's section, or, where the
/// document names no limit, reelbatch's own ceiling (kPromptCeiling) so that
/// a runaway cell (a 10 MB prompt) is refused before it is paid for.
struct PromptLimit {
  std::size_t max_chars = 0;
  std::string_view source;  ///< e.g. "vibegen doc 8 限制说明: prompt 最大长度 2000 字符"
};

/// reelbatch's ceiling for prompts where the document names none, in code
/// points. Generous for any real prompt, far below what would hurt memory,
/// the database or a request body.
inline constexpr std::size_t kPromptCeiling = 20000;

/// One provider kind.
struct ProviderKind {
  /// Builds the adapter; see make_provider().
  using Factory = std::unique_ptr<Provider> (*)(const ProfileConfig&, HttpClient&, std::shared_ptr<spdlog::logger>);
  /// The adapter's local row check for `profile`, with no network object and
  /// no I/O but what the adapter's validate() does itself (none today).
  /// `spec` must already carry the profile's defaults (apply_defaults).
  using Validator = std::vector<FieldError> (*)(const ProfileConfig& profile, const JobSpec& spec);
  /// Builds the kind's emulator module (served under /<name>).
  using ModuleFactory = std::unique_ptr<emulator::Module> (*)(emulator::Services);

  std::string_view name;          ///< the config's `kind`, e.g. "juhuo"
  Factory factory = nullptr;
  Validator validate = nullptr;
  ModuleFactory make_emulator_module = nullptr;
  /// The emulator's base_url path for this API, the document's base path
  /// under the module's prefix, e.g. "/turing/api/v1": a profile talks to the
  /// emulator with base_url = "http://HOST:PORT" + emulator_base_path.
  std::string_view emulator_base_path;
  ProviderCapabilities capabilities;
  /// The prompt length ingest enforces for rows of this kind.
  PromptLimit prompt_limit;
  // ---- issue 9: prices --------------------------------------------------------
  /// The unit of this kind's credit figures when a profile sets no
  /// `credit_unit`, e.g. "vibegen credits" (each document's 积分 / credits).
  std::string_view credit_unit;
  /// The document's price of one row (spec with the profile's defaults
  /// applied; the function fills the document's own defaults); nullptr when
  /// the document publishes no price table (juhuo 9.2 gives only "official
  /// price × 1.15" with no table; the turing and openai relays none).
  using Pricer = std::optional<DocumentedPrice> (*)(const JobSpec& spec);
  Pricer price = nullptr;
  /// The document's typical generation time of one task, for `plan`'s wall
  /// time when no task was learned yet; 0 when the document names none.
  std::chrono::seconds typical_generation{0};
  std::string_view typical_generation_basis;  ///< e.g. "juhuo doc 7: 通常 1 ~ 5 分钟"

  /// factory(profile, http, logger); nullptr logger = spdlog::default_logger().
  std::unique_ptr<Provider> make(const ProfileConfig& profile, HttpClient& http,
                                 std::shared_ptr<spdlog::logger> logger = nullptr) const;
};

/// Every kind this build knows, in the order of the config's messages
/// ("juhuo, turing, vibegen, seedance2, openai"). Never throws.
const std::vector<ProviderKind>& provider_kinds();

/// The entry named `name` (exact, case-sensitive); nullptr when unknown.
const ProviderKind* find_provider_kind(std::string_view name);

/// The kinds' names, in provider_kinds() order: what config's parser takes.
std::vector<std::string> provider_kind_names();

/// The entry for `profile.kind`. Throws ConfigError "providers.<name>.kind:
/// unknown provider kind '<kind>' (known: juhuo, turing, ...)" when unknown
/// (the config parser rejects those first; this guards hand-built profiles).
const ProviderKind& provider_kind_of(const ProfileConfig& profile);

/// Validates one row for `profile` through the registry: provider_kind_of()
/// then its validator (`spec` with the profile's defaults applied already).
/// Throws ConfigError for an unknown kind; returns one FieldError per
/// problem, empty when the row is acceptable.
std::vector<FieldError> validate_row(const ProfileConfig& profile, const JobSpec& spec);

/// `text` checked against `kind`'s prompt_limit: nullopt when it fits, else
/// the reason shown to the user, e.g. "10485760 characters (10485760 bytes);
/// vibegen accepts at most 2000 (vibegen doc 8 ...)". Counts code points of
/// valid UTF-8 (bytes that are not continuation bytes).
std::optional<std::string> check_prompt_length(const ProviderKind& kind, std::string_view text);

/// The credit unit of `profile`: its `credit_unit`, else its kind's
/// credit_unit. Throws ConfigError for an unknown kind.
std::string credit_unit_of(const ProfileConfig& profile);

/// The cost estimate of one row for `profile` (scheduler/cost.hpp
/// estimate_cost): `spec` must carry the profile's defaults; configured
/// prices first, then the kind's documented price, then `learned` (the
/// profile's JobStore::learned_costs), else unknown; unit credit_unit_of().
/// Throws ConfigError for an unknown kind.
CostEstimate estimate_row_cost(const ProfileConfig& profile, const JobSpec& spec,
                               const std::vector<LearnedCost>& learned);

/// Checks every profile's [providers.<name>.defaults] against its kind's
/// validator, so that a default the provider documents as invalid (juhuo
/// duration = 20, an unknown model) is reported at load naming the key
/// instead of failing every row at ingest. Only fields a default set are
/// reported. Throws ConfigError "<file>: providers.<name>.defaults.<field>:
/// <reason>" for the first problem found.
void check_profile_defaults(const Config& cfg);

/// parse_config_for_kinds(toml_text, source, provider_kind_names(), env):
/// config/config.hpp's parser with this build's kinds, then
/// check_profile_defaults(). Throws ConfigError.
Config parse_config(std::string_view toml_text, const std::filesystem::path& source,
                    const EnvLookup& env = process_env());

/// load_config_for_kinds(file, provider_kind_names(), env), then
/// check_profile_defaults(). Throws ConfigError.
Config load_config(const std::filesystem::path& file, const EnvLookup& env = process_env());

}  // namespace reelbatch
