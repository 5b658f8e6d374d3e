// Unit tests of the daemon's pure pieces: admin API route matching, the
// bearer token check, [daemon] config parsing, REELBATCH_ADDR parsing and the
// progress line. No sockets, no sleeping.
#include "config/config.hpp"
#include "config/daemon_config.hpp"
#include "providers/registry.hpp"
#include "src/app/admin_api.hpp"
#include "src/app/admin_client.hpp"
#include "src/app/progress.hpp"

#include <gtest/gtest.h>

namespace reelbatch {
namespace {
using admin::match_route;
using admin::RouteId;

TEST(AdminRoutes, FixedPathsAndMethods) {
  EXPECT_EQ(match_route("GET", "/healthz").status, 200);
  EXPECT_EQ(match_route("HEAD", "/healthz").route, RouteId::healthz);
  EXPECT_EQ(match_route("GET", "/metrics").route, RouteId::metrics);
  EXPECT_EQ(match_route("GET", "/v1/batches").route, RouteId::batches_list);
  EXPECT_EQ(match_route("POST", "/v1/batches").route, RouteId::batches_create);
  EXPECT_EQ(match_route("POST", "/v1/batches/").route, RouteId::batches_create);
  EXPECT_EQ(match_route("GET", "/v1/jobs").route, RouteId::jobs_list);
  EXPECT_EQ(match_route("GET", "/v1/profiles").route, RouteId::profiles_list);
  EXPECT_EQ(match_route("GET", "/v1/events").route, RouteId::events);

  const auto m = match_route("DELETE", "/v1/batches");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_EQ(match_route("POST", "/healthz").status, 405);
  EXPECT_EQ(match_route("POST", "/healthz").allow, "GET");
  EXPECT_EQ(match_route("GET", "/v2/batches").status, 404);
  EXPECT_EQ(match_route("GET", "/").status, 404);
  EXPECT_EQ(match_route("GET", "").status, 404);
}

TEST(AdminRoutes, ParameterisedPaths) {
  auto m = match_route("GET", "/v1/jobs/row-7");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.route, RouteId::job_get);
  EXPECT_EQ(m.arg, "row-7");
  m = match_route("POST", "/v1/jobs/a%20b/cancel");
  EXPECT_EQ(m.route, RouteId::job_cancel);
  EXPECT_EQ(m.arg, "a b");
  EXPECT_EQ(match_route("POST", "/v1/jobs/12/retry").route, RouteId::job_retry);
  EXPECT_EQ(match_route("POST", "/v1/jobs/12/resolve").route, RouteId::job_resolve);
  EXPECT_EQ(match_route("GET", "/v1/batches/3").route, RouteId::batch_get);
  EXPECT_EQ(match_route("POST", "/v1/batches/3/cancel").route, RouteId::batch_cancel);
  EXPECT_EQ(match_route("POST", "/v1/batches/nightly/retry").arg, "nightly");
  EXPECT_EQ(match_route("POST", "/v1/profiles/juhuo/pause").route, RouteId::profile_pause);
  EXPECT_EQ(match_route("POST", "/v1/profiles/juhuo/resume").route, RouteId::profile_resume);

  EXPECT_EQ(match_route("GET", "/v1/jobs/12/cancel").status, 405);
  EXPECT_EQ(match_route("POST", "/v1/jobs/12").status, 405);
  EXPECT_EQ(match_route("GET", "/v1/profiles/juhuo").status, 404);
  EXPECT_EQ(match_route("POST", "/v1/jobs/12/explode").status, 404);
  EXPECT_EQ(match_route("POST", "/v1/jobs/12/cancel/now").status, 404);
  EXPECT_EQ(match_route("POST", "/v1/jobs//cancel").status, 404);
  EXPECT_EQ(match_route("GET", "/v1/jobs/a%2Fb").status, 404);  // an encoded '/' is not an id
  EXPECT_EQ(match_route("GET", "/v1/widgets/1").status, 404);
  EXPECT_EQ(match_route("GET", "/v1/jobs/" + std::string(600, 'x')).status, 404);
}

TEST(AdminToken, BearerCheck) {
  const std::string token = "0123456789abcdef-secret";
  EXPECT_TRUE(admin::bearer_token_matches("Bearer " + token, token));
  EXPECT_TRUE(admin::bearer_token_matches("bearer   " + token + " ", token));
  EXPECT_FALSE(admin::bearer_token_matches("Bearer " + token + "x", token));
  EXPECT_FALSE(admin::bearer_token_matches("Bearer " + token.substr(1), token));
  EXPECT_FALSE(admin::bearer_token_matches("Basic " + token, token));
  EXPECT_FALSE(admin::bearer_token_matches("Bearer" + token, token));
  EXPECT_FALSE(admin::bearer_token_matches("", token));
  EXPECT_FALSE(admin::bearer_token_matches("Bearer ", ""));
  EXPECT_FALSE(admin::bearer_token_matches("Bearer x", ""));  // no token configured: nothing matches
}

TEST(AdminErrors, JsonShape) {
  const auto r = admin::error_response(404, "not_found", "no job \"x\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no job \\\"x\\\"\"}}\n");
}

struct Parsed {
  DaemonConfig daemon;
};

// A whole config with `daemon_table`: the main parser accepts the table,
// parse_daemon_config reads it.
Parsed parse(const std::string& daemon_table, const EnvLookup& env = [](const std::string&) -> std::optional<std::string> {
  return std::nullopt;
}) {
  const std::string toml = "[storage]\npath = \"state/db.sqlite\"\n" + daemon_table +
                           "\n[providers.j]\nkind = \"juhuo\"\nbase_url = \"http://127.0.0.1:1\"\n"
                           "api_key_env = \"K\"\n";
  const Config cfg = parse_config(toml, "/etc/rb/reelbatch.toml", [&](const std::string& n) -> std::optional<std::string> {
    if (n == "K") return std::string("sk-x");
    return env(n);
  });
  return Parsed{parse_daemon_config(toml, cfg.source, cfg.storage_path, env)};
}

TEST(DaemonConfig, DefaultsAndValues) {
  auto cfg = parse("");
  EXPECT_EQ(cfg.daemon.admin_socket, "/etc/rb/state/reelbatch.sock");
  EXPECT_EQ(cfg.daemon.stop_grace, std::chrono::seconds(10));
  EXPECT_TRUE(cfg.daemon.http_listen.empty());

  cfg = parse("", [](const std::string& n) -> std::optional<std::string> {
    if (n == "RUNTIME_DIRECTORY") return std::string("/run/reelbatch:/run/other");
    return std::nullopt;
  });
  EXPECT_EQ(cfg.daemon.admin_socket, "/run/reelbatch/admin.sock");

  cfg = parse("[daemon]\nadmin_socket = \"run/a.sock\"\nhttp_listen = \"127.0.0.1:8787\"\n"
              "token_file = \"token\"\nstop_grace = \"2s\"\nlog_level = \"debug\"\n");
  EXPECT_EQ(cfg.daemon.admin_socket, "/etc/rb/run/a.sock");
  EXPECT_EQ(cfg.daemon.http_listen, "127.0.0.1:8787");
  EXPECT_EQ(cfg.daemon.token_file, "/etc/rb/token");
  EXPECT_EQ(cfg.daemon.stop_grace, std::chrono::seconds(2));
  EXPECT_EQ(cfg.daemon.log_level, "debug");
}

TEST(DaemonConfig, Refusals) {
  EXPECT_THROW(parse("[daemon]\nhttp_listen = \"0.0.0.0:8787\"\ntoken_file = \"t\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\nhttp_listen = \"192.168.1.2:8787\"\ntoken_file = \"t\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\nhttp_listen = \"localhost:8787\"\ntoken_file = \"t\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\nhttp_listen = \"127.0.0.1:8787\"\n"), ConfigError);  // no token
  EXPECT_THROW(parse("[daemon]\nstop_grace = \"soon\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\nstop_grace = \"0s\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\nlog_level = \"loud\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\nadmin_sock = \"x\"\n"), ConfigError);
  EXPECT_THROW(parse("[daemon]\ntoken_credential = \"../x\"\n"), ConfigError);
  EXPECT_NO_THROW(parse("[daemon]\nhttp_listen = \"[::1]:0\"\ntoken_credential = \"admin-token\"\n"));
}

TEST(DaemonConfig, LoopbackListen) {
  EXPECT_TRUE(parse_loopback_listen("127.0.0.1:8787"));
  EXPECT_TRUE(parse_loopback_listen("127.1.2.3:0"));
  EXPECT_TRUE(parse_loopback_listen("[::1]:80"));
  EXPECT_FALSE(parse_loopback_listen("::1:80"));
  EXPECT_FALSE(parse_loopback_listen("127.0.0.1"));
  EXPECT_FALSE(parse_loopback_listen("127.0.0.1:"));
  EXPECT_FALSE(parse_loopback_listen("127.0.0.1:70000"));
  EXPECT_FALSE(parse_loopback_listen("127.0.0.1:-1"));
  EXPECT_FALSE(parse_loopback_listen("10.0.0.1:80"));
  EXPECT_FALSE(parse_loopback_listen("[::]:80"));
}

TEST(AdminClient, AddressFromEnvironment) {
  auto a = parse_admin_address("/run/reelbatch/admin.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unix_path, "/run/reelbatch/admin.sock");
  a = parse_admin_address("unix:/tmp/x.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unix_path, "/tmp/x.sock");
  a = parse_admin_address("http://127.0.0.1:8787/");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8787);
  EXPECT_EQ(a->describe(), "http://127.0.0.1:8787");
  EXPECT_FALSE(parse_admin_address("http://example.com:80"));
  EXPECT_FALSE(parse_admin_address("http://127.0.0.1:0"));
  EXPECT_FALSE(parse_admin_address("https://127.0.0.1:8787"));
  EXPECT_FALSE(parse_admin_address(""));

  const EnvLookup env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "REELBATCH_ADDR") return std::string("http://127.0.0.1:9999");
    if (n == "REELBATCH_TOKEN") return std::string("tok");
    return std::nullopt;
  };
  const auto found = find_daemon(nullptr, env);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->port, 9999);
  EXPECT_EQ(found->token, "tok");
  EXPECT_THROW(find_daemon(nullptr, [](const std::string& n) -> std::optional<std::string> {
                 if (n == "REELBATCH_ADDR") return std::string("ftp://x");
                 return std::nullopt;
               }),
               ConfigError);
}

TEST(Progress, FieldsAndWidth) {
  ProgressSample s;
  s.elapsed_s = 125;
  s.total = 40;
  s.succeeded = 10;
  s.failed = 2;
  s.waiting = 3;
  s.done_at_start = 2;
  s.credits = {{"juhuo credits", 12.5}};
  const std::string line = format_progress(s);
  EXPECT_EQ(line, "[2:05] 12/40 30% ok 10 fail 2 wait 3 4.8/min ETA 5:12 12.50 juhuo cr");
  s.done_at_start = 12;
  EXPECT_EQ(format_progress(s), "[2:05] 12/40 30% ok 10 fail 2 wait 3 ETA - 12.50 juhuo cr");
  // Units are listed apart, never summed.
  s.credits["seedance2 credits"] = 3;
  EXPECT_EQ(format_progress(s), "[2:05] 12/40 30% ok 10 fail 2 wait 3 ETA - 12.50 juhuo cr 3.00 seedance2 cr");

  // Huge numbers: still within 79 columns, most important fields first.
  s.elapsed_s = 987654;
  s.total = 999999999;
  s.succeeded = 123456789;
  s.failed = 98765432;
  s.waiting = 5555555;
  s.done_at_start = 0;
  s.credits = {{"juhuo credits", 123456789.25}};
  const std::string big = format_progress(s);
  EXPECT_LE(big.size(), 79u);
  EXPECT_EQ(big.rfind("[274:20:54] 222222221/999999999 22%", 0), 0u) << big;

  ProgressSample empty;
  EXPECT_EQ(format_progress(empty), "[0:00] 0/0 100% ok 0 fail 0 wait 0 ETA -");

  EXPECT_EQ(format_spend({}), "none");
  EXPECT_EQ(format_spend({{"seedance2 credits", 3}, {"juhuo credits", 12.5}}),
            "12.50 juhuo credits, 3.00 seedance2 credits");
  EXPECT_EQ(spend_difference({{"juhuo credits", 20}, {"vibegen credits", 5}}, {{"juhuo credits", 12.5}}),
            (SpendByUnit{{"juhuo credits", 7.5}, {"vibegen credits", 5}}));
}

}  // namespace
}  // namespace reelbatch
