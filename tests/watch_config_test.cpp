// Unit tests: `[[watch]]` tables of the config file (config/watch_config.cpp).
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::vector<std::string> kKinds = {"juhuo", "turing", "vibegen", "seedance2", "openai"};

EnvLookup env() {
  return [](const std::string&) -> std::optional<std::string> { return std::string("key"); };
}

const std::string kOneProfile =
    "[output]\ndir = \"/srv/out\"\n"
    "[providers.main]\nkind = \"juhuo\"\nbase_url = \"https://api.juhuo.cn\"\napi_key_env = \"K\"\n";
const std::string kTwoProfiles =
    kOneProfile + "[providers.backup]\nkind = \"seedance2\"\nbase_url = \"https://x.example\"\napi_key_env = \"K\"\n";

Config parse(const std::string& text) {
  return parse_config_for_kinds(text, "/etc/reelbatch/reelbatch.toml", kKinds, env());
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(WatchConfig, NoWatchTablesMeansNoFolders) { EXPECT_TRUE(parse(kOneProfile).watches.empty()); }

TEST(WatchConfig, FullTableAndDefaults) {
  const Config cfg = parse(kTwoProfiles + R"(
[[watch]]
path = "inbox"
profile = "backup"
pattern = "*.csv, jobs-*.jsonl"
settle = "1.5s"
recursive = true

[[watch]]
path = "/srv/urgent/"
profile = "main"
)");
  ASSERT_EQ(cfg.watches.size(), 2u);
  const WatchConfig& a = cfg.watches[0];
  EXPECT_EQ(a.path, fs::path("/etc/reelbatch/inbox"));
  EXPECT_EQ(a.profile, "backup");
  EXPECT_EQ(a.pattern, "*.csv,jobs-*.jsonl");
  EXPECT_EQ(a.settle, 1500ms);
  EXPECT_TRUE(a.recursive);
  const WatchConfig& b = cfg.watches[1];
  EXPECT_EQ(b.path, fs::path("/srv/urgent"));
  EXPECT_EQ(b.pattern, "");
  EXPECT_EQ(b.settle, 5s);
  EXPECT_FALSE(b.recursive);
}

// Issue 9: a folder's per-batch credit cap.
TEST(WatchConfig, MaxCredits) {
  const Config c = parse(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nmax_credits = 120.5\n");
  ASSERT_EQ(c.watches.size(), 1u);
  EXPECT_EQ(c.watches[0].max_credits, 120.5);
  EXPECT_FALSE(parse(kOneProfile + "[[watch]]\npath = \"/srv/in\"\n").watches[0].max_credits);
  EXPECT_NE(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nmax_credits = -1\n")
                .find("watch[0].max_credits: must be a number of credits >= 0"),
            std::string::npos);
}

TEST(WatchConfig, ProfileDefaultsToTheOnlyOne) {
  const Config cfg = parse(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nsettle = 2\n");
  ASSERT_EQ(cfg.watches.size(), 1u);
  EXPECT_EQ(cfg.watches[0].profile, "main");
  EXPECT_EQ(cfg.watches[0].settle, 2s);
}

TEST(WatchConfig, Errors) {
  const std::string f = "/etc/reelbatch/reelbatch.toml: ";
  EXPECT_EQ(error_of(kTwoProfiles + "[[watch]]\npath = \"/srv/in\"\n"),
            f + "watch[0].profile: required when several profiles are configured (known: backup, main)");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nprofile = \"nope\"\n"),
            f + "watch[0].profile: no profile named 'nope' (known: main)");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\nprofile = \"main\"\n"), f + "watch[0].path: required (the folder to watch)");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"\"\n"), f + "watch[0].path: must not be empty");
  EXPECT_EQ(error_of(kOneProfile + "[watch]\npath = \"/srv/in\"\n"),
            f + "watch: expected an array of tables: write each folder as a [[watch]] table");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nrecursiv = true\n"),
            f + "watch[0].recursiv: unknown key (did you mean 'recursive'?); known keys: path profile pattern settle "
                "recursive max_credits");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nsettle = \"soon\"\n"),
            f + "watch[0].settle: expected a duration such as 500ms, 5s or 1m, or a number of seconds");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nsettle = 0\n"),
            f + "watch[0].settle: must be greater than 0 and at most 1 day");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nrecursive = \"yes\"\n"),
            f + "watch[0].recursive: expected a boolean (true or false)");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\npattern = \"*.csv,\"\n"),
            f + "watch[0].pattern: has an empty glob (got '*.csv,')");
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\npattern = \"sub/*.csv\"\n"),
            f + "watch[0].pattern: globs match file names and must not contain '/' (got 'sub/*.csv')");
}

TEST(WatchConfig, OverlappingFolders) {
  const std::string f = "/etc/reelbatch/reelbatch.toml: ";
  EXPECT_EQ(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\n[[watch]]\npath = \"/srv/in/\"\n"),
            f + "watch[1].path: '/srv/in' is already watched by watch[0]");
  EXPECT_NE(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in\"\nrecursive = true\n[[watch]]\npath = \"/srv/in/a\"\n")
                .find("watch[1].path: '/srv/in/a' and watch[0] ('/srv/in') are nested"),
            std::string::npos);
  EXPECT_NE(error_of(kOneProfile + "[[watch]]\npath = \"/srv/in/processing\"\n[[watch]]\npath = \"/srv/in\"\n")
                .find("are nested"),
            std::string::npos);
  // A non-recursive folder may hold another watched folder.
  EXPECT_EQ(parse(kOneProfile + "[[watch]]\npath = \"/srv/in\"\n[[watch]]\npath = \"/srv/in/urgent\"\n").watches.size(),
            2u);
  EXPECT_NE(error_of(kOneProfile + "[[watch]]\npath = \"/srv/out\"\n").find("the output folder '/srv/out' is inside"),
            std::string::npos);
  EXPECT_NE(error_of(kOneProfile + "[[watch]]\npath = \"/srv\"\nrecursive = true\n").find("the output folder"),
            std::string::npos);
  EXPECT_EQ(parse(kOneProfile + "[[watch]]\npath = \"/srv\"\n").watches.size(), 1u);
}

TEST(WatchConfig, ExampleFileShowsAValidWatchTable) {
  const fs::path example = fs::path(__FILE__).parent_path().parent_path() / "config" / "reelbatch.example.toml";
  if (!fs::exists(example)) GTEST_SKIP() << example << " not found";
  // As config_test's ExampleFileIsValid: every commented key uncommented.
  std::ifstream in(example);
  std::string text, line;
  const std::regex commented_key(R"(^# (\[|[a-z_]+ = ))");
  while (std::getline(in, line)) text += (std::regex_search(line, commented_key) ? line.substr(2) : line) + "\n";
  const Config cfg = parse_config_for_kinds(text, example, kKinds, env());
  ASSERT_EQ(cfg.watches.size(), 1u);
  EXPECT_EQ(cfg.watches[0].path, fs::absolute(example).lexically_normal().parent_path() / "inbox");
  EXPECT_EQ(cfg.watches[0].profile, "juhuo");
  EXPECT_EQ(cfg.watches[0].settle, 5s);
}

}  // namespace
}  // namespace reelbatch
