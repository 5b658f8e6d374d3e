// libFuzzer target: config loading (config/config.hpp through the registry's
// parse_config, with every provider kind) and the [daemon] table
// (config/daemon_config.hpp) on arbitrary TOML. ConfigError is the
// documented outcome for bad input; any other exception is a bug. Every
// environment variable reads as a plausible API key except
// CREDENTIALS_DIRECTORY, so credential files are never read.
#include "config/config.hpp"
#include "config/daemon_config.hpp"
#include "providers/registry.hpp"

#include <cstdint>
#include <string_view>

using namespace reelbatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "CREDENTIALS_DIRECTORY" || name == "RUNTIME_DIRECTORY") return std::nullopt;
    return std::string("sk-fuzz-0123456789");
  };
  const std::filesystem::path source = "/nonexistent-reelbatch-fuzz/reelbatch.toml";
  try {
    const Config cfg = parse_config(text, source, env);
    (void)parse_daemon_config(text, source, cfg.storage_path, env);
  } catch (const ConfigError&) {
  }
  (void)parse_duration(text);
  (void)parse_loopback_listen(std::string(text));
  return 0;
}
