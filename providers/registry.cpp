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
       {.task_list = true, .cancel = false, .balance = true, .remote_failures_free = true /* doc 9.1 */}},
      {"turing", &turing::make_turing_provider, &spec_only<&turing::validate>, &emulator::make_turing_module,
       "/turing/api/v1", {.task_list = false, .cancel = false, .balance = false}},
      {"vibegen", &vibegen::make_vibegen_provider, &spec_only<&vibegen::validate>, &emulator::make_vibegen_module,
       "/vibegen/api/v1", {.task_list = true, .cancel = false, .balance = false}},
      {"seedance2", &seedance2::make_seedance2_provider, &spec_only<&seedance2::validate>,
       &emulator::make_seedance2_module, "/seedance2",
       {.task_list = true, .cancel = true, .balance = true, .remote_failures_free = true /* 计费说明 */}},
      {"openai", &openai::make_openai_provider,
       [](const ProfileConfig& profile, const JobSpec& spec) {
         return openai::validate(spec, openai::dialect_for(profile.base_url));
       },
       &emulator::make_openai_module, "/openai", {.task_list = false, .cancel = false, .balance = false}},
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

Config parse_config(std::string_view toml_text, const std::filesystem::path& source, const EnvLookup& env) {
  return parse_config_for_kinds(toml_text, source, provider_kind_names(), env);
}

Config load_config(const std::filesystem::path& file, const EnvLookup& env) {
  return load_config_for_kinds(file, provider_kind_names(), env);
}

}  // namespace reelbatch
