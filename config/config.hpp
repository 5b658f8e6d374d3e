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

/// How requests reach the providers (issue 11): `[network]` globally, and
/// the same keys in a `[providers.<name>]` table for that profile.
struct NetworkConfig {
  /// `proxy`: "http://[user:password@]host:port" (an http:// proxy; https
  /// origins are tunnelled with CONNECT). "" = connect directly, ignoring
  /// HTTPS_PROXY / HTTP_PROXY. Unset = the environment decides. NO_PROXY of
  /// the environment still exempts hosts. Never logged with its password.
  std::optional<std::string> proxy;
  /// `ca_file`: PEM file of CAs trusted for https (e.g. a TLS-inspecting
  /// gateway's), in addition to the system store. Absolute after loading
  /// (relative to the config file's folder); must be a readable file.
  std::filesystem::path ca_file;
  /// `ca_dir`: OpenSSL hashed CA folder (c_rehash / openssl rehash), as
  /// ca_file. Must be a folder.
  std::filesystem::path ca_dir;
  /// `ca_only`: trust only ca_file / ca_dir, not the system store (pin the
  /// gateway's CA). Requires ca_file or ca_dir. Default false.
  bool ca_only = false;
};

/// One configured price (`[providers.<name>.prices]`, issue 9 item 1), for
/// providers whose document publishes none (juhuo's creditCost is known only
/// after success; the turing and openai relays publish no price).
///   [providers.juhuo.prices.per_second]    # credits per second of video
///   "seedance-2.0/480" = 0.115             # "<model>/<resolution>"
///   [providers.openai.prices.per_clip]     # credits per task
///   "sora-2/720p/4" = 10                   # "<model>/<resolution>/<seconds>"
/// A component "*" matches anything. The most specific rule (fewest "*")
/// wins; on a tie, per_clip before per_second, then file order.
struct PriceRule {
  std::string key;         ///< as written, e.g. "seedance-2.0/480", for messages
  std::string model;       ///< exact model name, or "*"
  std::string resolution;  ///< lowercase without a trailing 'p' ("480", "1080"), or "*"
  std::optional<int> duration_s;  ///< per_clip only: seconds; nullopt = "*"
  bool per_second = false;  ///< credits per second of video; false: credits per task
  double credits = 0;       ///< >= 0, in the profile's credit unit
};

/// One provider account (or relay): `[providers.<name>]`.
struct ProfileConfig {
  std::string name;         ///< the table name; what the manifest's `provider` names
  std::string kind;         ///< one of the kinds passed to the parser (providers/registry.hpp)
  std::string base_url;     ///< no trailing slash
  std::string api_key_env;  ///< environment variable holding the key
  std::string api_key;      ///< resolved from api_key_env or api_key_credential; never log it
  /// systemd credential holding the key ($CREDENTIALS_DIRECTORY/<name>,
  /// from LoadCredential=); empty: the key comes from api_key_env. Exactly
  /// one of the two is set.
  std::string api_key_credential;

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
  /// Hard ceiling on submissions per row that created or may have created a
  /// task, for any cause (resubmits, retries, lost answers), 1..20; enforced
  /// by the store (JobStore::begin_submit). Default 3.
  int max_submits_per_row = 3;
  /// What a failed remote task does: "fail" (the row fails), "resubmit"
  /// (submitted again when the adapter calls the failure transient, within
  /// max_attempts and max_submits_per_row), or "" = the provider's default
  /// (registry capability remote_failures_free: resubmit only where the
  /// provider's document says failed tasks are not charged).
  std::string on_remote_failure;
  JobDefaults defaults;
  /// proxy / ca_file / ca_dir / ca_only of this table, each key falling
  /// back to the same key of [network] when absent (issue 11).
  NetworkConfig network;
  // ---- issue 9: prices and caps -------------------------------------------------
  /// The unit of every credit figure of this profile (costs, caps, balance);
  /// figures of different units are never summed. Empty in the file: the
  /// kind's default (registry: ProviderKind::credit_unit, e.g. "juhuo
  /// credits"). Two profiles of one kind share the unit unless set.
  std::string credit_unit;
  /// Credits this profile may commit (spent + reserved) per UTC day; unset:
  /// no daily cap. A submit that would pass it waits (issue 9 item 3).
  std::optional<double> daily_credit_cap;
  /// `[providers.<name>.prices]`: configured prices, over the document's.
  std::vector<PriceRule> prices;
};

/// One watch folder: `[[watch]]` (src/watch/watch_service.hpp).
struct WatchConfig {
  std::filesystem::path path;  ///< the folder; relative to the config file's folder, lexically normal
  /// Profile for rows that name none (ManifestOptions::default_provider);
  /// always the name of a configured profile.
  std::string profile;
  /// Comma-separated globs (fnmatch, case-insensitive) a file name must match
  /// to be taken; empty means "*.csv,*.jsonl,*.ndjson".
  std::string pattern;
  /// How long a file's size and mtime must stay unchanged before a file
  /// written in place is taken, > 0. A file renamed into the folder is taken
  /// at once.
  std::chrono::milliseconds settle{5000};
  bool recursive = false;  ///< also watch subfolders (not processing/, done/, failed/)
  /// Per-batch credit cap of every batch taken from this folder (as `run
  /// --max-credits`), per credit unit; unset: none.
  std::optional<double> max_credits;
};

struct Config {
  std::filesystem::path source;        ///< the file read, for messages
  std::filesystem::path storage_path;  ///< [storage] path; relative to the config file's folder
  /// [storage] url: "postgresql://user@host:port/db" (or "postgres://..."):
  /// the jobs live in that PostgreSQL database (storage/postgres/, several
  /// daemons on one database) instead of the SQLite file at storage_path.
  /// Empty (the default): SQLite. Never holds a password (refused at load).
  std::string storage_url;
  /// The database password for storage_url, from [storage] password_env (an
  /// environment variable's name) or password_credential (a systemd
  /// credential's name); empty when neither is set, and libpq then looks in
  /// PGPASSWORD and ~/.pgpass. Never log it.
  std::string storage_password;
  std::filesystem::path output_dir;    ///< [output] dir; relative to the config file's folder
  int download_concurrency = 4;        ///< [output] download_concurrency, 1..64
  std::map<std::string, ProfileConfig> profiles;  ///< by profile name
  std::vector<WatchConfig> watches;  ///< [[watch]] tables, in file order
  /// [network]: proxy and CA defaults of every profile (issue 11).
  NetworkConfig network;

  /// [ingest] allowed_roots: folders local assets must lie in after every
  /// symlink is resolved (checked at ingest, src/ingest/asset_lists.hpp).
  /// Each entry is absolute and canonical (fs::canonical at load: it must
  /// exist and be a folder). Empty: any path is accepted. The daemon sets it.
  std::vector<std::filesystem::path> allowed_roots;

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

/// A resolution as price rules compare it: blanks dropped, lowercase, one
/// trailing 'p' removed ("720p", "720P", "720" → "720"; "*" stays "*").
/// Never throws except std::bad_alloc.
std::string normalize_price_resolution(std::string_view text);

/// Parses a duration string: one or more <number><unit> groups, units ms, s,
/// m, h, d (e.g. "500ms", "5s", "2m", "1h", "1m30s", "1.5s"); a bare number
/// means seconds. Returns the total rounded to whole milliseconds, or nullopt
/// when the text is malformed. Does not check the sign or range (config keys
/// require > 0).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace reelbatch
