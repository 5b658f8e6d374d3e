// Unit tests: TOML config loading and validation, with an injected
// environment.
#include "config/config.hpp"
#include "providers/registry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>

namespace reelbatch {
namespace {

// config holds no list of kinds: the tests pass the one the messages name.
const std::vector<std::string> kKinds = {"juhuo", "turing", "vibegen", "seedance2", "openai"};

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSecret = "sk-test-secret-value-0123456789";

EnvLookup env_with(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

EnvLookup test_env() { return env_with({{"JUHUO_API_KEY", kSecret}, {"OTHER_KEY", "k2"}}); }

const std::string kMinimal =
    "[providers.juhuo]\n"
    "kind = \"juhuo\"\n"
    "base_url = \"https://api.juhuo.cn\"\n"
    "api_key_env = \"JUHUO_API_KEY\"\n";

Config parse(const std::string& text, const fs::path& source = "/etc/reelbatch/reelbatch.toml") {
  return parse_config_for_kinds(text, source, kKinds, test_env());
}

// The ConfigError message for `text`, or "(no error)".
std::string error_of(const std::string& text, const EnvLookup& env = test_env()) {
  try {
    parse_config_for_kinds(text, "/etc/reelbatch/reelbatch.toml", kKinds, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// The message for kMinimal plus `extra` lines in [providers.juhuo].
std::string profile_error(const std::string& extra) { return error_of(kMinimal + extra); }

TEST(Config, FullValidFile) {
  const auto cfg = parse(R"(
[storage]
path = "state/reelbatch.db"

[output]
dir = "/srv/videos"
download_concurrency = 8

[providers.juhuo]
kind = "juhuo"
base_url = "HTTPS://api.juhuo.cn//"
api_key_env = "JUHUO_API_KEY"
max_in_flight = 10
submit_per_minute = 30
poll_per_minute = 120.5
poll_first = "10s"
poll_interval = 5
poll_max_interval = "1m"
request_timeout = "1500ms"
url_ttl = "7d"
max_attempts = 5
credit_cap = 1000

[providers.juhuo.defaults]
model = "seedance-2.0"
duration = 8
resolution = 720
aspect_ratio = "16:9"
audio = true

[providers.juhuo-backup]
kind = "seedance2"
base_url = "http://127.0.0.1:8080/seedance2"
api_key_env = "OTHER_KEY"
)");
  EXPECT_EQ(cfg.source, fs::path("/etc/reelbatch/reelbatch.toml"));
  EXPECT_EQ(cfg.storage_path, fs::path("/etc/reelbatch/state/reelbatch.db"));
  EXPECT_EQ(cfg.output_dir, fs::path("/srv/videos"));
  EXPECT_EQ(cfg.download_concurrency, 8);
  ASSERT_EQ(cfg.profiles.size(), 2u);

  const ProfileConfig* p = cfg.profile("juhuo");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "juhuo");
  EXPECT_EQ(p->kind, "juhuo");
  EXPECT_EQ(p->base_url, "https://api.juhuo.cn");
  EXPECT_EQ(p->api_key_env, "JUHUO_API_KEY");
  EXPECT_EQ(p->api_key, kSecret);
  EXPECT_EQ(p->max_in_flight, 10);
  EXPECT_DOUBLE_EQ(p->submit_per_minute, 30);
  EXPECT_DOUBLE_EQ(p->poll_per_minute, 120.5);
  EXPECT_EQ(p->poll_first, 10s);
  EXPECT_EQ(p->poll_interval, 5s);
  EXPECT_EQ(p->poll_max_interval, 1min);
  EXPECT_EQ(p->request_timeout, 1500ms);
  EXPECT_EQ(p->url_ttl, std::chrono::seconds(7 * 24 * 3600));
  EXPECT_EQ(p->max_attempts, 5);
  EXPECT_EQ(p->credit_cap, 1000.0);
  EXPECT_EQ(p->defaults.model, "seedance-2.0");
  EXPECT_EQ(p->defaults.duration_s, 8);
  EXPECT_EQ(p->defaults.resolution, "720");
  EXPECT_EQ(p->defaults.aspect_ratio, "16:9");
  EXPECT_EQ(p->defaults.audio, true);

  const ProfileConfig* b = cfg.profile("juhuo-backup");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->kind, "seedance2");
  EXPECT_EQ(b->base_url, "http://127.0.0.1:8080/seedance2");
  EXPECT_EQ(b->api_key, "k2");
  EXPECT_EQ(cfg.profile("nope"), nullptr);
}

TEST(Config, DefaultsWhenKeysAreLeftOut) {
  const auto cfg = parse(kMinimal);
  EXPECT_EQ(cfg.storage_path, fs::path("/etc/reelbatch/reelbatch.db"));
  EXPECT_EQ(cfg.output_dir, fs::path("/etc/reelbatch/out"));
  EXPECT_EQ(cfg.download_concurrency, 4);
  const auto& p = cfg.profiles.at("juhuo");
  EXPECT_EQ(p.max_in_flight, 4);
  EXPECT_DOUBLE_EQ(p.submit_per_minute, 60);
  EXPECT_DOUBLE_EQ(p.poll_per_minute, 600);
  EXPECT_FALSE(p.poll_first);
  EXPECT_FALSE(p.poll_interval);
  EXPECT_FALSE(p.poll_max_interval);
  EXPECT_FALSE(p.url_ttl);
  EXPECT_EQ(p.request_timeout, 30s);
  EXPECT_EQ(p.max_attempts, 3);
  EXPECT_FALSE(p.credit_cap);
  EXPECT_TRUE(p.defaults.model.empty());
  EXPECT_FALSE(p.defaults.duration_s);
}

TEST(Config, RelativePathsResolveAgainstTheConfigFolder) {
  const auto cfg = parse("[storage]\npath = \"../db/./r.db\"\n[output]\ndir = \"videos/\"\n" + kMinimal,
                         "/srv/app/conf/reelbatch.toml");
  EXPECT_EQ(cfg.storage_path, fs::path("/srv/app/db/r.db"));
  EXPECT_EQ(cfg.output_dir, fs::path("/srv/app/conf/videos"));
  EXPECT_EQ(parse("[output]\ndir = \"/\"\n" + kMinimal).output_dir, fs::path("/"));
  // A relative config path is taken relative to the working directory.
  const auto rel = parse(kMinimal, "conf/reelbatch.toml");
  EXPECT_EQ(rel.storage_path, (fs::current_path() / "conf" / "reelbatch.db").lexically_normal());
}

TEST(Config, MissingOrEmptyEnvironmentVariable) {
  EXPECT_EQ(error_of(kMinimal, env_with({})),
            "/etc/reelbatch/reelbatch.toml: providers.juhuo.api_key_env: environment variable JUHUO_API_KEY is not set");
  EXPECT_EQ(error_of(kMinimal, env_with({{"JUHUO_API_KEY", " \n"}})),
            "/etc/reelbatch/reelbatch.toml: providers.juhuo.api_key_env: environment variable JUHUO_API_KEY is empty");
  // The key is trimmed (e.g. read from a file with a final newline).
  const auto cfg = parse_config_for_kinds(kMinimal, "c.toml", kKinds, env_with({{"JUHUO_API_KEY", "sk-abc\n"}}));
  EXPECT_EQ(cfg.profiles.at("juhuo").api_key, "sk-abc");
}

TEST(Config, ErrorsNeverContainTheKey) {
  for (const std::string& bad : {std::string("max_in_flight = 0\n"), std::string("bogus = 1\n"),
                                 std::string("poll_interval = \"fast\"\n")}) {
    const std::string msg = profile_error(bad);
    EXPECT_NE(msg, "(no error)");
    EXPECT_EQ(msg.find(kSecret), std::string::npos) << msg;
  }
}

TEST(Config, UnknownKind) {
  EXPECT_EQ(error_of("[providers.x]\nkind = \"veo\"\nbase_url = \"https://a\"\napi_key_env = \"JUHUO_API_KEY\"\n"),
            "/etc/reelbatch/reelbatch.toml: providers.x.kind: unknown provider kind 'veo' (known: juhuo, turing, "
            "vibegen, seedance2, openai)");
  EXPECT_NE(error_of("[providers.x]\nbase_url = \"https://a\"\napi_key_env = \"JUHUO_API_KEY\"\n")
                .find("providers.x.kind: required"),
            std::string::npos);
}

TEST(Config, UnknownKeysAreNamedWithTheirDottedPath) {
  EXPECT_EQ(profile_error("max_inflight = 4\n").rfind(
                "/etc/reelbatch/reelbatch.toml: providers.juhuo.max_inflight: unknown key (did you mean "
                "'max_in_flight'?)",
                0),
            0u)
      << profile_error("max_inflight = 4\n");
  EXPECT_NE(error_of("[storage]\npth = \"x\"\n" + kMinimal).find(": storage.pth: unknown key"), std::string::npos);
  EXPECT_NE(error_of("[outptu]\ndir = \"x\"\n" + kMinimal).find(": outptu: unknown key (did you mean 'output'?)"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[providers.juhuo.defaults]\nmodle = \"m\"\n")
                .find(": providers.juhuo.defaults.modle: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("debug = true\n" + kMinimal).find(": debug: unknown key"), std::string::npos);
}

TEST(Config, BadValuesAndTypes) {
  const std::string f = "/etc/reelbatch/reelbatch.toml: ";
  EXPECT_EQ(profile_error("max_in_flight = 0\n"),
            f + "providers.juhuo.max_in_flight: must be an integer in 1..1000 (got 0)");
  EXPECT_EQ(profile_error("max_in_flight = \"4\"\n"),
            f + "providers.juhuo.max_in_flight: expected an integer, got a string");
  EXPECT_EQ(profile_error("max_in_flight = 4.5\n"),
            f + "providers.juhuo.max_in_flight: expected an integer, got a float");
  EXPECT_NE(profile_error("submit_per_minute = 0\n").find(f + "providers.juhuo.submit_per_minute: must be"),
            std::string::npos);
  EXPECT_NE(profile_error("poll_per_minute = 100001\n").find("providers.juhuo.poll_per_minute: must be"),
            std::string::npos);
  EXPECT_NE(profile_error("submit_per_minute = true\n").find("expected a number, got a boolean"), std::string::npos);
  EXPECT_NE(profile_error("max_attempts = 21\n").find("providers.juhuo.max_attempts: must be an integer in 1..20"),
            std::string::npos);
  EXPECT_NE(profile_error("credit_cap = -1\n").find("providers.juhuo.credit_cap: must be a number >= 0"),
            std::string::npos);
  EXPECT_NE(error_of("[output]\ndownload_concurrency = 65\n" + kMinimal)
                .find(f + "output.download_concurrency: must be an integer in 1..64 (got 65)"),
            std::string::npos);
  EXPECT_NE(error_of("[storage]\npath = 5\n" + kMinimal).find(f + "storage.path: expected a string, got an integer"),
            std::string::npos);
  EXPECT_NE(error_of("storage = 5\n" + kMinimal).find(f + "storage: expected a table"), std::string::npos);
  EXPECT_NE(error_of("[output]\ndir = \"\"\n" + kMinimal).find(f + "output.dir: must not be empty"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[providers.juhuo.defaults]\naudio = \"yes\"\n")
                .find("providers.juhuo.defaults.audio: expected a boolean"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[providers.juhuo.defaults]\nduration = 0\n").find("providers.juhuo.defaults.duration"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[providers.juhuo.defaults]\naspect_ratio = \"16x9\"\n")
                .find("providers.juhuo.defaults.aspect_ratio: expected W:H"),
            std::string::npos);
}

TEST(Config, BaseUrlAndApiKeyEnvChecks) {
  auto with = [](const std::string& url) {
    return error_of("[providers.j]\nkind = \"juhuo\"\nbase_url = \"" + url + "\"\napi_key_env = \"JUHUO_API_KEY\"\n");
  };
  EXPECT_NE(with("api.juhuo.cn").find("providers.j.base_url: must start with http:// or https://"), std::string::npos);
  EXPECT_NE(with("ftp://api.juhuo.cn").find("providers.j.base_url"), std::string::npos);
  EXPECT_NE(with("https://").find("providers.j.base_url: has no host"), std::string::npos);
  EXPECT_NE(with("https://a b").find("providers.j.base_url"), std::string::npos);
  EXPECT_EQ(with("https://relay.test/v1/"), "(no error)");
  EXPECT_NE(error_of("[providers.j]\nkind = \"juhuo\"\napi_key_env = \"JUHUO_API_KEY\"\n")
                .find("providers.j.base_url: required"),
            std::string::npos);
  EXPECT_NE(error_of("[providers.j]\nkind = \"juhuo\"\nbase_url = \"https://a\"\n").find("providers.j.api_key_env: required"),
            std::string::npos);
  EXPECT_NE(error_of("[providers.j]\nkind = \"juhuo\"\nbase_url = \"https://a\"\napi_key_env = \"sk-123\"\n")
                .find("providers.j.api_key_env: must be an environment variable name"),
            std::string::npos);
}

TEST(Config, AtLeastOneProfile) {
  EXPECT_EQ(error_of("[storage]\npath = \"x.db\"\n"),
            "/etc/reelbatch/reelbatch.toml: providers: at least one provider profile ([providers.<name>]) is required");
  EXPECT_NE(error_of("[providers]\n").find(": providers: at least one"), std::string::npos);
  EXPECT_NE(error_of("[providers]\njuhuo = 1\n").find(": providers.juhuo: expected a table, got an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[providers.\"a b\"]\nkind = \"juhuo\"\n").find("providers.a b: profile names may contain only"),
            std::string::npos);
}

TEST(Config, TomlSyntaxErrorNamesFileAndLine) {
  const std::string msg = error_of("[storage]\npath = \"unterminated\n");
  EXPECT_EQ(msg.rfind("/etc/reelbatch/reelbatch.toml:2:", 0), 0u) << msg;
  EXPECT_NE(msg.find("TOML syntax error"), std::string::npos);
}

TEST(Config, DurationKeys) {
  auto interval = [](const std::string& value) {
    return parse(kMinimal + "poll_interval = " + value + "\n").profiles.at("juhuo").poll_interval;
  };
  EXPECT_EQ(interval("\"500ms\""), 500ms);
  EXPECT_EQ(interval("\"5s\""), 5s);
  EXPECT_EQ(interval("\"2m\""), 2min);
  EXPECT_EQ(interval("\"1h\""), 1h);
  EXPECT_EQ(interval("\"1m30s\""), 90s);
  EXPECT_EQ(interval("\"1.5s\""), 1500ms);
  EXPECT_EQ(interval("7"), 7s);
  EXPECT_EQ(interval("0.25"), 250ms);

  const std::string f = "/etc/reelbatch/reelbatch.toml: ";
  EXPECT_EQ(profile_error("poll_interval = \"5 parsecs\"\n"),
            f + "providers.juhuo.poll_interval: expected a duration such as 500ms, 5s, 2m or 1h, or a number of "
                "seconds (got '5 parsecs')");
  EXPECT_EQ(profile_error("poll_first = 0\n"), f + "providers.juhuo.poll_first: must be greater than 0 (got 0)");
  EXPECT_EQ(profile_error("request_timeout = \"0s\"\n"),
            f + "providers.juhuo.request_timeout: must be greater than 0 (got '0s')");
  EXPECT_NE(profile_error("poll_first = -3\n").find("must be greater than 0"), std::string::npos);
  EXPECT_NE(profile_error("poll_first = true\n").find("providers.juhuo.poll_first: expected a duration"),
            std::string::npos);
  EXPECT_EQ(profile_error("poll_interval = \"10s\"\npoll_max_interval = \"5s\"\n"),
            f + "providers.juhuo.poll_max_interval: must be at least poll_interval (10s), got 5s");
  EXPECT_NE(profile_error("url_ttl = \"500ms\"\n").find("providers.juhuo.url_ttl: must be at least 1s"),
            std::string::npos);
}

TEST(Config, ParseDuration) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration(" 3s "), 3s);
  EXPECT_EQ(parse_duration("2M"), 2min);
  EXPECT_EQ(parse_duration("1h 30m"), 90min);
  EXPECT_EQ(parse_duration("1d"), std::chrono::hours(24));
  EXPECT_EQ(parse_duration("12"), 12s);
  EXPECT_EQ(parse_duration("0.5"), 500ms);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("1m 30"));
  EXPECT_FALSE(parse_duration("."));
}

TEST(Config, LoadConfigReadsFileAndReportsUnreadable) {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("reelbatch-config-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(rd()));
  fs::create_directories(dir);
  const fs::path file = dir / "reelbatch.toml";
  std::ofstream(file) << kMinimal;
  const auto cfg = load_config_for_kinds(file, kKinds, test_env());
  EXPECT_EQ(cfg.source, file);
  EXPECT_EQ(cfg.storage_path, dir / "reelbatch.db");
  EXPECT_EQ(cfg.output_dir, dir / "out");
  try {
    load_config_for_kinds(dir / "missing.toml", kKinds, test_env());
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "missing.toml").string() + ": cannot read config", 0), 0u)
        << e.what();
  }
  fs::remove_all(dir);
}

TEST(Config, ExampleFileIsValid) {
#ifdef REELBATCH_SOURCE_DIR
  const fs::path example = fs::path(REELBATCH_SOURCE_DIR) / "config" / "reelbatch.example.toml";
#else
  const fs::path example = fs::path(__FILE__).parent_path().parent_path() / "config" / "reelbatch.example.toml";
#endif
  if (!fs::exists(example)) GTEST_SKIP() << example << " not found";
  const auto cfg = load_config_for_kinds(example, kKinds, test_env());
  const ProfileConfig* p = cfg.profile("juhuo");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->kind, "juhuo");
  EXPECT_EQ(p->base_url, "https://api.juhuo.cn");
  EXPECT_EQ(p->api_key_env, "JUHUO_API_KEY");
  EXPECT_EQ(p->max_in_flight, 4);
  EXPECT_DOUBLE_EQ(p->submit_per_minute, 60);
  EXPECT_DOUBLE_EQ(p->poll_per_minute, 600);

  // Every key shown commented out is valid too.
  std::ifstream in(example);
  std::string text, line;
  const std::regex commented_key(R"(^# (\[|[a-z_]+ = ))");
  while (std::getline(in, line)) text += (std::regex_search(line, commented_key) ? line.substr(2) : line) + "\n";
  const auto all = parse_config_for_kinds(text, example, kKinds, env_with({{"JUHUO_API_KEY", "k1"}, {"SEEDANCE_API_KEY", "k2"}}));
  ASSERT_EQ(all.profiles.size(), 2u);
  const auto& j = all.profiles.at("juhuo");
  EXPECT_TRUE(j.poll_first && j.poll_interval && j.poll_max_interval && j.url_ttl && j.credit_cap);
  EXPECT_TRUE(j.defaults.duration_s && j.defaults.audio && !j.defaults.resolution.empty() &&
              !j.defaults.aspect_ratio.empty());
}

TEST(Config, KnownKinds) {
  // The registry is the one list; config takes it as a parameter.
  EXPECT_EQ(provider_kind_names(), kKinds);
  for (const auto& k : kKinds) EXPECT_NE(find_provider_kind(k), nullptr) << k;
  EXPECT_EQ(find_provider_kind("veo"), nullptr);
}

TEST(Config, KindsAreAParameter) {
  try {
    parse_config_for_kinds(kMinimal, "c.toml", {"veo", "sora"}, test_env());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "c.toml: providers.juhuo.kind: unknown provider kind 'juhuo' (known: veo, sora)");
  }
  // The registry's parse_config passes this build's kinds.
  EXPECT_EQ(parse_config(kMinimal, "c.toml", test_env()).profiles.at("juhuo").kind, "juhuo");
}

}  // namespace
}  // namespace reelbatch
