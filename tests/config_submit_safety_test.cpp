// Unit tests of the issue 7 (submit side) profile keys: max_submits_per_row
// and on_remote_failure, parsed and validated with an injected environment.
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace reelbatch {
namespace {

const std::vector<std::string> kKinds = {"juhuo", "turing", "vibegen", "seedance2", "openai"};

const std::string kProfile =
    "[providers.v]\n"
    "kind = \"vibegen\"\n"
    "base_url = \"https://vibegen.art/api/v1\"\n"
    "api_key_env = \"KEY\"\n";

Config parse(const std::string& extra) {
  return parse_config_for_kinds(kProfile + extra, "/etc/reelbatch/reelbatch.toml", kKinds,
                                [](const std::string&) -> std::optional<std::string> { return "k"; });
}

std::string error_of(const std::string& extra) {
  try {
    parse(extra);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigSubmitSafety, Defaults) {
  const auto cfg = parse("");
  const ProfileConfig& p = cfg.profiles.at("v");
  EXPECT_EQ(p.max_submits_per_row, 3);
  EXPECT_EQ(p.on_remote_failure, "");  // the provider's default (registry)
}

TEST(ConfigSubmitSafety, Values) {
  const auto cfg = parse("max_submits_per_row = 1\non_remote_failure = \"resubmit\"\n");
  EXPECT_EQ(cfg.profiles.at("v").max_submits_per_row, 1);
  EXPECT_EQ(cfg.profiles.at("v").on_remote_failure, "resubmit");
  EXPECT_EQ(parse("on_remote_failure = \"fail\"\n").profiles.at("v").on_remote_failure, "fail");
}

TEST(ConfigSubmitSafety, BadValuesNameTheKey) {
  EXPECT_NE(error_of("max_submits_per_row = 0\n").find("providers.v.max_submits_per_row"), std::string::npos);
  EXPECT_NE(error_of("max_submits_per_row = 21\n").find("providers.v.max_submits_per_row"), std::string::npos);
  EXPECT_NE(error_of("max_submits_per_row = \"3\"\n").find("providers.v.max_submits_per_row"), std::string::npos);
  const std::string e = error_of("on_remote_failure = \"retry\"\n");
  EXPECT_NE(e.find("providers.v.on_remote_failure"), std::string::npos) << e;
  EXPECT_NE(e.find("\"fail\" or \"resubmit\""), std::string::npos) << e;
  EXPECT_NE(error_of("on_remote_failure = true\n").find("providers.v.on_remote_failure"), std::string::npos);
}

}  // namespace
}  // namespace reelbatch
