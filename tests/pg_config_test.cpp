// Unit tests: [storage] url / password_env / password_credential (issue 13),
// which select the PostgreSQL store, and the store factory's choice.
#include "config/config.hpp"
#include "src/app/store_factory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace reelbatch {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kKinds = {"juhuo", "turing", "vibegen", "seedance2", "openai"};
constexpr const char* kDbPassword = "db-pass-0123456789";

const std::string kProfile =
    "[providers.juhuo]\n"
    "kind = \"juhuo\"\n"
    "base_url = \"https://api.juhuo.cn\"\n"
    "api_key_env = \"JUHUO_API_KEY\"\n";

EnvLookup env_with(std::map<std::string, std::string> vars) {
  vars.emplace("JUHUO_API_KEY", "sk-key");
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Config parse(const std::string& storage, const EnvLookup& env = env_with({})) {
  return parse_config_for_kinds("[storage]\n" + storage + kProfile, "/etc/reelbatch/reelbatch.toml", kKinds, env);
}

std::string error_of(const std::string& storage, const EnvLookup& env = env_with({})) {
  try {
    parse(storage, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(StorageConfig, SqliteIsTheDefault) {
  const auto cfg = parse("");
  EXPECT_TRUE(cfg.storage_url.empty());
  EXPECT_TRUE(cfg.storage_password.empty());
  EXPECT_FALSE(uses_postgres(cfg));
  EXPECT_EQ(describe_store(cfg), "/etc/reelbatch/reelbatch.db");
}

TEST(StorageConfig, UrlSelectsPostgres) {
  const auto cfg = parse("url = \"postgresql://reelbatch@db.internal:5432/reelbatch?sslmode=require\"\n");
  EXPECT_EQ(cfg.storage_url, "postgresql://reelbatch@db.internal:5432/reelbatch?sslmode=require");
  EXPECT_TRUE(cfg.storage_password.empty()) << "libpq reads PGPASSWORD or ~/.pgpass itself";
  EXPECT_TRUE(uses_postgres(cfg));
  EXPECT_TRUE(store_exists(cfg));
  EXPECT_EQ(describe_store(cfg), "postgresql://reelbatch@db.internal:5432/reelbatch?sslmode=require");
  EXPECT_TRUE(uses_postgres(parse("url = \"postgres://h/db\"\n")));
  EXPECT_TRUE(uses_postgres(parse("url = \"PostgreSQL://h/db\"\n")));
}

TEST(StorageConfig, PasswordFromAnEnvironmentVariable) {
  const auto cfg = parse("url = \"postgresql://u@h/db\"\npassword_env = \"REELBATCH_DB_PASSWORD\"\n",
                         env_with({{"REELBATCH_DB_PASSWORD", std::string(kDbPassword) + "\n"}}));
  EXPECT_EQ(cfg.storage_password, kDbPassword) << "one final line break is dropped";
  EXPECT_EQ(describe_store(cfg).find(kDbPassword), std::string::npos);
  const auto unset = error_of("url = \"postgresql://u@h/db\"\npassword_env = \"REELBATCH_DB_PASSWORD\"\n");
  EXPECT_NE(unset.find("storage.password_env: environment variable REELBATCH_DB_PASSWORD is not set"),
            std::string::npos)
      << unset;
  EXPECT_NE(error_of("url = \"postgresql://u@h/db\"\npassword_env = \"1BAD\"\n").find("environment variable name"),
            std::string::npos);
  EXPECT_NE(error_of("url = \"postgresql://u@h/db\"\npassword_env = \"P\"\n", env_with({{"P", ""}})).find("is empty"),
            std::string::npos);
}

TEST(StorageConfig, PasswordFromASystemdCredential) {
  const fs::path dir = fs::temp_directory_path() / ("reelbatch-cred-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "db-password") << "  " << kDbPassword << "\n";
  const auto cfg = parse("url = \"postgresql://u@h/db\"\npassword_credential = \"db-password\"\n",
                         env_with({{"CREDENTIALS_DIRECTORY", dir.string()}}));
  EXPECT_EQ(cfg.storage_password, kDbPassword);
  const auto missing = error_of("url = \"postgresql://u@h/db\"\npassword_credential = \"db-password\"\n");
  EXPECT_NE(missing.find("storage.password_credential: CREDENTIALS_DIRECTORY is not set"), std::string::npos)
      << missing;
  const auto both = error_of("url = \"postgresql://u@h/db\"\npassword_env = \"P\"\npassword_credential = \"x\"\n",
                             env_with({{"P", "p"}}));
  EXPECT_NE(both.find("set either password_env or password_credential, not both"), std::string::npos) << both;
  fs::remove_all(dir);
}

TEST(StorageConfig, RefusesBadUrlsWithoutEchoingAPassword) {
  const auto in_userinfo = error_of("url = \"postgresql://u:hunter2@h/db\"\n");
  EXPECT_NE(in_userinfo.find("/etc/reelbatch/reelbatch.toml: storage.url: must not contain a password"),
            std::string::npos)
      << in_userinfo;
  EXPECT_EQ(in_userinfo.find("hunter2"), std::string::npos) << in_userinfo;
  const auto in_query = error_of("url = \"postgresql://u@h/db?sslmode=require&password=hunter2\"\n");
  EXPECT_NE(in_query.find("must not contain a password"), std::string::npos) << in_query;
  EXPECT_EQ(in_query.find("hunter2"), std::string::npos) << in_query;
  EXPECT_NE(error_of("url = \"mysql://u@h/db\"\n").find("storage.url: must start with postgresql:// or postgres://"),
            std::string::npos);
  EXPECT_NE(error_of("url = \"\"\n").find("storage.url: must not be empty"), std::string::npos);
  EXPECT_NE(error_of("url = \"postgresql://u@h/d b\"\n").find("spaces or control characters"), std::string::npos);
  EXPECT_NE(error_of("url = 5\n").find("storage.url: expected a string"), std::string::npos);
  EXPECT_NE(error_of("path = \"x.db\"\nurl = \"postgresql://u@h/db\"\n").find("not both"), std::string::npos);
  EXPECT_NE(error_of("password_env = \"P\"\n", env_with({{"P", "p"}})).find("only applies with storage.url"),
            std::string::npos);
  EXPECT_NE(error_of("passwd_env = \"P\"\n").find("storage.passwd_env: unknown key (did you mean 'password_env'?)"),
            std::string::npos);
}

}  // namespace
}  // namespace reelbatch
