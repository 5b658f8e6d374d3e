// reelbatch's TOML configuration (toml++): storage, output and one table per
// provider profile. See config/reelbatch.example.toml for every key.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {

/// Raised by load_config / parse_config. what() names the file and the
/// dotted key, e.g. "reelbatch.toml: providers.juhuo.max_in_flight: must be
/// an integer in 1..1000 (got 0)".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Default job parameters of a profile, applied to rows that leave them empty.
struct JobDefaults {
  std::string model;
  std::optional<int> duration_s;
  std::string resolution;
  std::string aspect_ratio;
  std::optional<bool> audio;
};

/// One provider account (or relay): `[providers.<name>]`.
struct ProfileConfig {
  std::string name;         ///< the table name; what the manifest's `provider` names
  std::string kind;         ///< one of the kinds passed to the parser (providers/registry.hpp)
  std::string base_url;     ///< no trailing slash
  std::string api_key_env;  ///< environment variable holding the key
  std::string api_key;      ///< resolved from api_key_env; never log it

  int max_in_flight = 4;              ///< tasks generating at once, 1..1000
  double submit_per_minute = 60;      ///< submit requests per minute, > 0
  double poll_per_minute = 600;       ///< status queries per minute, > 0
  /// Poll schedule; unset means the provider's documented suggestion.
  std::optional<std::chrono::milliseconds> poll_first;         ///< wait before the first poll
  std::optional<std::chrono::milliseconds> poll_interval;      ///< wait between polls
  std::optional<std::chrono::milliseconds> poll_max_interval;  ///< cap for backoff
  /// Lifetime of the provider's signed output URLs; unset: provider default.
  std::optional<std::chrono::seconds> url_ttl;
  std::chrono::milliseconds request_timeout{30000};  ///< per HTTP request
  int max_attempts = 3;  ///< submissions per row while earlier ones are known failed
  std::optional<double> credit_cap;  ///< stop submitting once this many credits are spent
  JobDefaults defaults;
};

struct Config {
  std::filesystem::path source;        ///< the file read, for messages
  std::filesystem::path storage_path;  ///< [storage] path; relative to the config file's folder
  std::filesystem::path output_dir;    ///< [output] dir; relative to the config file's folder
  int download_concurrency = 4;        ///< [output] download_concurrency, 1..64
  std::map<std::string, ProfileConfig> profiles;  ///< by profile name

  /// The profile named `name`, or nullptr.
  const ProfileConfig* profile(const std::string& name) const;
};

/// Looks up an environment variable; returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (std::getenv).
EnvLookup process_env();

/// Parses and validates TOML text. `source` names the file in messages and
/// anchors relative paths; `kinds` are the provider kinds a profile's `kind`
/// may name, in the order the messages list them (config holds no list of
/// its own: callers pass providers/registry.hpp's provider_kind_names(), or
/// call that header's parse_config()). Throws ConfigError on a syntax error,
/// an unknown kind ("providers.x.kind: unknown provider kind 'veo' (known:
/// juhuo, turing, ...)"), a bad value, or an api_key_env variable that is
/// unset or empty.
Config parse_config_for_kinds(std::string_view toml_text, const std::filesystem::path& source,
                              const std::vector<std::string>& kinds, const EnvLookup& env = process_env());

/// Reads `file` and parses it as parse_config_for_kinds() does. Throws
/// ConfigError (also when the file is unreadable or a directory).
Config load_config_for_kinds(const std::filesystem::path& file, const std::vector<std::string>& kinds,
                             const EnvLookup& env = process_env());

/// Parses a duration string: one or more <number><unit> groups, units ms, s,
/// m, h, d (e.g. "500ms", "5s", "2m", "1h", "1m30s", "1.5s"); a bare number
/// means seconds. Returns the total rounded to whole milliseconds, or nullopt
/// when the text is malformed. Does not check the sign or range (config keys
/// require > 0).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace reelbatch
