// Config keys of issue 11: [network] and per-profile proxy / ca_file /
// ca_dir / ca_only, and how a profile's keys reach its requests
// (kit::net_options). Pure but for temp files.
#include "config/config.hpp"
#include "providers/kit/util.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace reelbatch {
namespace {
namespace fs = std::filesystem;

const std::vector<std::string> kKinds = {"juhuo", "turing", "vibegen", "seedance2", "openai"};

EnvLookup env() {
  return [](const std::string& n) -> std::optional<std::string> {
    if (n == "K") return std::string("sk-secret-0123456789");
    return std::nullopt;
  };
}

struct Dir {
  fs::path path;
  Dir() {
    std::string t = (fs::temp_directory_path() / "reelbatch-netcfg-XXXXXX").string();
    path = mkdtemp(t.data());
    std::ofstream(path / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
    fs::create_directories(path / "certs");
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  Config parse(const std::string& text) const {
    return parse_config_for_kinds(text, path / "reelbatch.toml", kKinds, env());
  }
};

std::string profile(const std::string& name, const std::string& extra = "") {
  return "[providers." + name + "]\nkind = \"juhuo\"\nbase_url = \"https://api.juhuo.cn\"\napi_key_env = \"K\"\n" +
         extra;
}

TEST(NetConfig, ProfilesInheritNetworkAndOverrideKeyByKey) {
  Dir d;
  const Config cfg = d.parse(
      "[network]\nproxy = \"http://u:p%40ss@proxy.corp:3128\"\nca_file = \"ca.pem\"\n" + profile("a") +
      profile("b", "proxy = \"\"\nca_dir = \"certs\"\nca_only = true\n"));
  EXPECT_EQ(cfg.network.proxy, "http://u:p%40ss@proxy.corp:3128");
  const ProfileConfig& a = cfg.profiles.at("a");
  EXPECT_EQ(a.network.proxy, "http://u:p%40ss@proxy.corp:3128");
  EXPECT_EQ(a.network.ca_file, d.path / "ca.pem");
  EXPECT_FALSE(a.network.ca_only);
  const ProfileConfig& b = cfg.profiles.at("b");
  EXPECT_EQ(b.network.proxy, "");  // set and empty: direct
  EXPECT_EQ(b.network.ca_file, d.path / "ca.pem");
  EXPECT_EQ(b.network.ca_dir, d.path / "certs");
  EXPECT_TRUE(b.network.ca_only);

  const NetOptions o = kit::net_options(b);
  EXPECT_EQ(o.proxy, "");
  EXPECT_EQ(o.ca_dir, (d.path / "certs").string());
  EXPECT_TRUE(o.ca_only);
  EXPECT_EQ(kit::api_request(b, "GET", "https://api.juhuo.cn/x", {"A", "B"}).net.ca_dir, o.ca_dir);
}

TEST(NetConfig, UnsetProxyLeavesItToTheEnvironment) {
  Dir d;
  const Config cfg = d.parse(profile("a"));
  EXPECT_FALSE(cfg.profiles.at("a").network.proxy.has_value());
  EXPECT_FALSE(kit::net_options(cfg.profiles.at("a")).proxy.has_value());
  EXPECT_TRUE(cfg.profiles.at("a").network.ca_file.empty());
}

TEST(NetConfig, BadValuesNameTheKeyAndHideThePassword) {
  Dir d;
  auto error_of = [&](const std::string& text) {
    try {
      d.parse(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error_of(profile("a", "proxy = \"socks5://u:hunter22@p:1080\"\n"));
  EXPECT_NE(e.find("providers.a.proxy: must be an http:// proxy URL"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter22"), std::string::npos) << e;
  e = error_of(profile("a", "proxy = \"http://u:hunter22@p:99999\"\n"));
  EXPECT_NE(e.find("providers.a.proxy: port must be 1..65535"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter22"), std::string::npos) << e;
  e = error_of("[network]\nca_file = \"missing.pem\"\n" + profile("a"));
  EXPECT_NE(e.find("network.ca_file: must name a readable PEM file"), std::string::npos) << e;
  e = error_of(profile("a", "ca_dir = \"ca.pem\"\n"));
  EXPECT_NE(e.find("providers.a.ca_dir: must name a folder"), std::string::npos) << e;
  e = error_of(profile("a", "ca_only = true\n"));
  EXPECT_NE(e.find("providers.a.ca_only: true needs ca_file or ca_dir"), std::string::npos) << e;
  e = error_of("[network]\nproxi = \"http://p:1\"\n" + profile("a"));
  EXPECT_NE(e.find("network.proxi: unknown key"), std::string::npos) << e;
}

}  // namespace
}  // namespace reelbatch
