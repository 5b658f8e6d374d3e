// The one table of provider kinds; see registry.hpp.
#include "providers/registry.hpp"

#include "providers/emulator/emulator.hpp"
#include "providers/juhuo/emulator.hpp"
#include "providers/juhuo/juhuo.hpp"
#include "providers/openai/emulator.hpp"
#include "providers/openai/openai.hpp"
#include "providers/seedance2/emulator.hpp"
#include "providers/seedance2/seedance2.hpp"
#include "providers/turing/emulator.hpp"
#include "providers/turing/turing.hpp"
#include "providers/vibegen/emulator.hpp"
#include "providers/vibegen/vibegen.hpp"

#include <iterator>

namespace reelbatch {

namespace {

// Kinds whose validator needs nothing of the profile.
template <std::vector<FieldError> (*Validate)(const JobSpec&)>
std::vector<FieldError> spec_only(const ProfileConfig&, const JobSpec& spec) {
  return Validate(spec);
}

}  // namespace

const std::vector<ProviderKind>& provider_kinds() {
  static const std::vector<ProviderKind> kinds = {
      {"juhuo", &juhuo::make_juhuo_provider, &spec_only<&juhuo::validate>, &emulator::make_juhuo_module,
       "/juhuo",
       {.task_list = true, .cancel = false, .balance = true, .remote_failures_free = true /* doc 9.1 */},
       {kPromptCeiling, "juhuo doc 5 (submit) names no prompt limit: reelbatch's ceiling"},
       "juhuo credits", nullptr, std::chrono::seconds(180), "juhuo doc 6: 生成时间通常在 1 ~ 5 分钟"},
      {"turing", &turing::make_turing_provider, &spec_only<&turing::validate>, &emulator::make_turing_module,
       "/turing/api/v1", {.task_list = false, .cancel = false, .balance = false},
       {kPromptCeiling, "the turing document names no prompt limit: reelbatch's ceiling"},
       "turing credits", nullptr, std::chrono::seconds(0), ""},
      {"vibegen", &vibegen::make_vibegen_provider, &spec_only<&vibegen::validate>, &emulator::make_vibegen_module,
       "/vibegen/api/v1", {.task_list = true, .cancel = false, .balance = false},
       {2000, "vibegen doc 8 限制说明: prompt 最大长度 2000 字符"},
       "vibegen credits", &vibegen::documented_price, std::chrono::seconds(0), ""},
      {"seedance2", &seedance2::make_seedance2_provider, &spec_only<&seedance2::validate>,
       &emulator::make_seedance2_module, "/seedance2",
       {.task_list = true, .cancel = true, .balance = true, .remote_failures_free = true /* 计费说明 */},
       {kPromptCeiling, "the seedance2 document names no prompt limit: reelbatch's ceiling"},
       "seedance2 credits", &seedance2::documented_price, std::chrono::seconds(180),
       "seedance2 doc 查询任务: 生成时间通常在 1–5 分钟"},
      {"openai", &openai::make_openai_provider,
       [](const ProfileConfig& profile, const JobSpec& spec) {
         return openai::validate(spec, openai::dialect_for(profile.base_url));
       },
       &emulator::make_openai_module, "/openai", {.task_list = false, .cancel = false, .balance = false},
       {kPromptCeiling, "the openai document names no prompt limit: reelbatch's ceiling"},
       "openai credits", nullptr, std::chrono::seconds(240), "openai doc 视频生成: 总等待 3~5 分钟"},
  };
  return kinds;
}

const ProviderKind* find_provider_kind(std::string_view name) {
  for (const auto& k : provider_kinds())
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string> provider_kind_names() {
  std::vector<std::string> out;
  for (const auto& k : provider_kinds()) out.emplace_back(k.name);
  return out;
}

std::unique_ptr<Provider> ProviderKind::make(const ProfileConfig& profile, HttpClient& http,
                                             std::shared_ptr<spdlog::logger> logger) const {
  return factory(profile, http, std::move(logger));
}

std::string credit_unit_of(const ProfileConfig& profile) {
  if (!profile.credit_unit.empty()) return profile.credit_unit;
  return std::string(provider_kind_of(profile).credit_unit);
}

CostEstimate estimate_row_cost(const ProfileConfig& profile, const JobSpec& spec,
                               const std::vector<LearnedCost>& learned) {
  const ProviderKind& kind = provider_kind_of(profile);
  std::optional<DocumentedPrice> documented;
  if (kind.price != nullptr) documented = kind.price(spec);
  return estimate_cost(spec, profile.prices, documented, find_learned(learned, spec), credit_unit_of(profile));
}

const ProviderKind& provider_kind_of(const ProfileConfig& profile) {
  if (const ProviderKind* k = find_provider_kind(profile.kind)) return *k;
  std::string known;
  for (const auto& k : provider_kinds()) known += (known.empty() ? "" : ", ") + std::string(k.name);
  throw ConfigError("providers." + profile.name + ".kind: unknown provider kind '" + profile.kind + "' (known: " +
                    known + ")");
}

std::vector<FieldError> validate_row(const ProfileConfig& profile, const JobSpec& spec) {
  return provider_kind_of(profile).validate(profile, spec);
}

std::optional<std::string> check_prompt_length(const ProviderKind& kind, std::string_view text) {
  std::size_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  if (n <= kind.prompt_limit.max_chars) return std::nullopt;
  return std::to_string(n) + " characters (" + std::to_string(text.size()) + " bytes); " + std::string(kind.name) +
         " accepts at most " + std::to_string(kind.prompt_limit.max_chars) + " (" +
         std::string(kind.prompt_limit.source) + ")";
}

void check_profile_defaults(const Config& cfg) {
  for (const auto& [name, prof] : cfg.profiles) {
    const JobDefaults& d = prof.defaults;
    const bool set[] = {!d.model.empty(), d.duration_s.has_value(), !d.resolution.empty(), !d.aspect_ratio.empty(),
                        d.audio.has_value()};
    const char* const fields[] = {"model", "duration", "resolution", "aspect_ratio", "audio"};
    JobSpec probe;
    probe.id = "config-check";
    probe.provider = name;
    probe.prompt = "config check";
    const auto problems = provider_kind_of(prof).validate(prof, apply_defaults(probe, d));
    for (const auto& fe : problems)
      for (std::size_t i = 0; i < std::size(fields); ++i)
        if (set[i] && fe.field == fields[i])
          throw ConfigError(cfg.source.string() + ": providers." + name + ".defaults." + fields[i] + ": " + fe.reason);
  }
}

Config parse_config(std::string_view toml_text, const std::filesystem::path& source, const EnvLookup& env) {
  Config cfg = parse_config_for_kinds(toml_text, source, provider_kind_names(), env);
  check_profile_defaults(cfg);
  return cfg;
}

Config load_config(const std::filesystem::path& file, const EnvLookup& env) {
  Config cfg = load_config_for_kinds(file, provider_kind_names(), env);
  check_profile_defaults(cfg);
  return cfg;
}

}  // namespace reelbatch
