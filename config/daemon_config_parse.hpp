// Internal to config/: parses the `[daemon]` table (daemon_config.cpp) for
// config.cpp's loader. Not included outside config/ (it names toml++).
#pragma once

#include "config/config.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <string>

namespace reelbatch {

/// Parses `[daemon]` (`node` may be nullptr: all defaults). `file` names the
/// config in messages; relative paths resolve against `base` (the config's
/// folder); `storage_path` places the default socket; `env` gives
/// RUNTIME_DIRECTORY. Throws ConfigError for an unknown key, a wrong type,
/// a bad duration, an http_listen that is not a loopback HOST:PORT, or an
/// http_listen without token_file / token_credential.
DaemonConfig parse_daemon_table(const toml::node* node, const std::string& file, const std::filesystem::path& base,
                                const std::filesystem::path& storage_path, const EnvLookup& env);

}  // namespace reelbatch
