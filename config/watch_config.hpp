// `[[watch]]` tables of the config file (internal to config/: config.cpp
// calls parse_watch_tables(); WatchConfig is declared in config.hpp).
#pragma once

#include "config/config.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <vector>

namespace reelbatch {

/// Reads the `watch` key of the config root: absent gives no folders,
/// otherwise it must be an array of tables (`[[watch]]`), each with
///   path       required; relative to `base` (the config file's folder)
///   profile    default profile for rows naming none; must be a key of
///              cfg.profiles; optional only when exactly one profile exists
///   pattern    optional comma-separated globs (no '/'), e.g. "*.csv"
///   settle     optional duration > 0 and <= 1 day (a number of seconds or
///              "500ms", "5s", ...); default 5s
///   recursive  optional boolean, default false
///   max_credits optional number >= 0: the credit cap of each batch taken
///              from the folder, per credit unit (as `run --max-credits`)
/// `cfg` must already hold the profiles and output_dir. Throws ConfigError
/// "<file>: watch[N].<key>: <reason>" for an unknown key, a wrong type or
/// value, two folders that are the same or nested, or an output folder
/// inside a watch folder (its results.jsonl would be taken as a manifest).
std::vector<WatchConfig> parse_watch_tables(const toml::node* node, const Config& cfg,
                                            const std::filesystem::path& base);

}  // namespace reelbatch
