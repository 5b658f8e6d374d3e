// The emulator's injected faults (providers/emulator/faults.hpp), each driven
// through the real HTTP server on an ephemeral 127.0.0.1 port with a raw
// socket client that sees exactly what went over the wire (resets, short
// bodies, stalls), checking what the client gets and what the emulator
// recorded as created (Emulator::submissions()).
#include "tests/support/emulator_fixture.hpp"
#include "providers/juhuo/emulator.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <cctype>
#include <cstring>
#include <map>
#include <functional>

namespace reelbatch::emulator {
namespace {
using asio::ip::tcp;
using test_support::HeaderList;

constexpr const char* kKey = "sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

// ---- a raw client ----------------------------------------------------------------------

// Everything the server sent on one connection until it closed it.
struct Wire {
  std::string raw;                 // bytes received
  boost::system::error_code end;   // how the connection ended (eof, connection_reset, ...)
  std::chrono::milliseconds elapsed{0};
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                // what came after the header block

  bool reset() const { return end == asio::error::connection_reset; }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::size_t content_length() const {
    auto it = headers.find("content-length");
    return it == headers.end() ? 0 : std::stoull(it->second);
  }
};

// One request with "Connection: close" on a fresh connection; reads until
// the server closes (or 20 s pass: a failure).
Wire raw_request(unsigned short port, const std::string& method, const std::string& target,
                 const HeaderList& headers = {}, const std::string& body = {}) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{20, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  asio::write(s, asio::buffer(req));
  Wire w;
  const auto t0 = std::chrono::steady_clock::now();
  char buf[65536];
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = s.read_some(asio::buffer(buf), ec);
    w.raw.append(buf, n);
    if (ec) {
      w.end = ec;
      break;
    }
  }
  w.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  const auto head_end = w.raw.find("\r\n\r\n");
  if (head_end != std::string::npos) {
    std::string head = w.raw.substr(0, head_end);
    w.body = w.raw.substr(head_end + 4);
    std::size_t pos = head.find("\r\n");
    const std::string status_line = head.substr(0, pos);
    if (status_line.size() >= 12) w.status = std::stoi(status_line.substr(9, 3));
    while (pos != std::string::npos) {
      const std::size_t next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        w.headers[name] = value;
      }
      pos = next;
    }
  }
  return w;
}

HeaderList juhuo_headers() { return {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "application/json"}}; }

const std::string kSubmit = R"({"prompt":"a cat","model":"seedance-2.0","duration":4,"resolution":720})";

// ---- fixture -------------------------------------------------------------------------------

struct Emu : test_support::EmulatorThread {
  explicit Emu(Options opts = test_support::fast()) : EmulatorThread(std::move(opts)) {}

  void faults(const std::string& spec) {
    FaultPlan p;
    parse_fault_spec(spec, p);
    emu->set_faults(p);
  }
  Wire submit() { return raw_request(port, "POST", "/juhuo/open-api/v1/video/submit", juhuo_headers(), kSubmit); }
  Wire balance() { return raw_request(port, "GET", "/juhuo/open-api/v1/account/balance", juhuo_headers()); }
  json::object task(const std::string& id) {
    const Wire w = raw_request(port, "GET", "/juhuo/open-api/v1/video/task/" + id, juhuo_headers());
    EXPECT_EQ(w.status, 200) << w.raw;
    return json::parse(w.body).as_object().at("result").as_object();
  }
  // A task submitted without faults and run to success; returns its id.
  std::string succeeded_task() {
    const Wire w = submit();
    EXPECT_EQ(w.status, 200) << w.raw;
    const std::string id(json::parse(w.body).at("result").at("taskId").as_string());
    test_support::poll_statuses([&] { return std::string(task(id).at("status").as_string()); },
                                [](const std::string& s) { return s == "success" || s == "fail"; }, 20s, 2ms,
                                "task " + id);
    return id;
  }
  std::string video_target(const std::string& id) {
    return test_support::target_of(std::string(task(id).at("outputUrl").as_string()));
  }
  std::size_t created() const { return emu->submissions().size(); }
};

// ---- the plan: text and JSON forms ------------------------------------------------------

TEST(FaultPlan, ParsesTheTextForm) {
  FaultPlan p;
  parse_fault_spec("juhuo:5xx=0.1,429=0.05, reset_after=0.02,retry_after=7", p);
  parse_fault_spec("*:truncate=0.01,down=180,down_mode=drop", p);
  const FaultRules j = p.rules_for("juhuo");
  EXPECT_DOUBLE_EQ(j[FaultKind::http_5xx], 0.1);
  EXPECT_DOUBLE_EQ(j[FaultKind::http_429], 0.05);
  EXPECT_DOUBLE_EQ(j[FaultKind::reset_after], 0.02);
  EXPECT_EQ(j.retry_after_s, 7);
  const FaultRules other = p.rules_for("turing");  // "*"
  EXPECT_DOUBLE_EQ(other[FaultKind::truncate], 0.01);
  EXPECT_EQ(other.down_s, 180);
  EXPECT_TRUE(other.down_drop);
  // A second spec for the same provider changes only the keys it names.
  parse_fault_spec("juhuo:429=0.2", p);
  EXPECT_DOUBLE_EQ(p.rules_for("juhuo")[FaultKind::http_5xx], 0.1);
  EXPECT_DOUBLE_EQ(p.rules_for("juhuo")[FaultKind::http_429], 0.2);
  // JSON round trip.
  const FaultPlan back = fault_plan_from_json(to_json(p));
  EXPECT_EQ(json::serialize(to_json(back)), json::serialize(to_json(p)));
}

TEST(FaultPlan, RefusesBadSpecsNamingTheItem) {
  auto error_of = [](const std::string& spec) {
    FaultPlan p;
    try {
      parse_fault_spec(spec, p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("juhuo").find("PROVIDER:KEY=VALUE"), std::string::npos);
  EXPECT_NE(error_of("juhuo:bogus=1").find("unknown key 'bogus'"), std::string::npos);
  EXPECT_NE(error_of("juhuo:5xx=1.5").find("5xx must be a rate"), std::string::npos);
  EXPECT_NE(error_of("juhuo:5xx=abc").find("needs a number"), std::string::npos);
  EXPECT_NE(error_of("juhuo:down=-3").find("down must be"), std::string::npos);
  EXPECT_NE(error_of("juhuo:down_mode=maybe").find("down_mode"), std::string::npos);
  EXPECT_NE(error_of("juhuo:5xx=0.6,429=0.6").find("sum above 1"), std::string::npos);
  EXPECT_NE(error_of("juhuo:5xx").find("not KEY=VALUE"), std::string::npos);
  EXPECT_THROW(fault_plan_from_json(json::parse(R"({"juhuo": 3})")), std::invalid_argument);
  EXPECT_THROW(fault_plan_from_json(json::parse(R"([1])")), std::invalid_argument);
}

TEST(FaultPlan, FaultRateIsAShorthand) {
  const FaultRules r = fault_plan_from_rate(0.2).rules_for("anything");
  EXPECT_DOUBLE_EQ(r[FaultKind::http_5xx], 0.1);
  EXPECT_DOUBLE_EQ(r[FaultKind::http_429], 0.05);
  EXPECT_DOUBLE_EQ(r[FaultKind::reset_after], 0.05);
  EXPECT_TRUE(fault_plan_from_rate(0).empty());
}

// ---- API faults --------------------------------------------------------------------------

TEST(EmulatorFaults, Http5xxIsNotProcessed) {
  Emu e;
  e.faults("juhuo:5xx=1");
  for (int i = 0; i < 6; ++i) {
    const Wire w = e.submit();
    EXPECT_TRUE(w.status == 500 || w.status == 502 || w.status == 503) << w.raw;
  }
  EXPECT_EQ(e.created(), 0u);
  EXPECT_EQ(e.emu->faults_injected("juhuo", FaultKind::http_5xx), 6u);
}

TEST(EmulatorFaults, Http429CarriesRetryAfterAndIsNotProcessed) {
  Emu e;
  e.faults("juhuo:429=1,retry_after=7");
  const Wire w = e.submit();
  EXPECT_EQ(w.status, 429);
  EXPECT_EQ(w.header("retry-after"), "7");
  EXPECT_EQ(e.created(), 0u);
}

TEST(EmulatorFaults, ResetBeforeProcessingCreatesNothing) {
  Emu e;
  e.faults("juhuo:reset_before=1");
  const Wire w = e.submit();
  EXPECT_TRUE(w.raw.empty());
  EXPECT_TRUE(w.reset()) << w.end.message();
  EXPECT_EQ(e.created(), 0u);
}

// The ambiguous case: the client sees a reset and no answer, the task exists.
TEST(EmulatorFaults, ResetAfterProcessingCreatesTheTask) {
  Emu e;
  e.faults("juhuo:reset_after=1");
  const Wire w = e.submit();
  EXPECT_TRUE(w.raw.empty());
  EXPECT_TRUE(w.reset()) << w.end.message();
  ASSERT_EQ(e.created(), 1u);
  // The task is real: listed and queryable once the faults are gone.
  e.emu->set_faults({});
  const auto t = e.task(e.emu->submissions()[0].task_id);
  EXPECT_FALSE(std::string(t.at("status").as_string()).empty());
}

TEST(EmulatorFaults, MalformedJsonIsProcessedWithABrokenBody) {
  Emu e;
  e.faults("juhuo:malformed_json=1");
  const Wire w = e.submit();
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.body.size(), w.content_length());
  boost::system::error_code ec;
  json::parse(w.body, ec);
  EXPECT_TRUE(ec) << w.body;
  EXPECT_EQ(e.created(), 1u);  // the submit was taken
}

TEST(EmulatorFaults, StalledBodySendsHeadersThenNothing) {
  Emu e;
  e.faults("juhuo:stall=1,stall_s=1");
  const Wire w = e.balance();
  EXPECT_EQ(w.status, 200);
  EXPECT_GT(w.content_length(), 0u);
  EXPECT_TRUE(w.body.empty());
  EXPECT_GE(w.elapsed, 900ms);
}

// ---- download faults ------------------------------------------------------------------------

TEST(EmulatorFaults, TruncatedDownloadSendsLessThanContentLength) {
  Emu e;
  const std::string id = e.succeeded_task();
  const std::string target = e.video_target(id);
  e.faults("juhuo:truncate=1");
  const Wire w = raw_request(e.port, "GET", target);
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.content_length(), e.emu->submissions()[0].video_bytes);
  EXPECT_LT(w.body.size(), w.content_length());
  EXPECT_GT(w.body.size(), 0u);
  // API requests are not affected by a download-only fault.
  EXPECT_EQ(e.balance().status, 200);
}

TEST(EmulatorFaults, HtmlErrorPageWithStatus200OnADownload) {
  Emu e;
  const std::string id = e.succeeded_task();
  e.faults("juhuo:html200=1");
  const Wire w = raw_request(e.port, "GET", e.video_target(id));
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.header("content-type").rfind("text/html", 0), 0u) << w.header("content-type");
  EXPECT_NE(w.body.find("<html>"), std::string::npos);
  EXPECT_EQ(w.body.size(), w.content_length());
}

TEST(EmulatorFaults, UrlsExpireEarlyAndFreshLinksToo) {
  Emu e;
  e.faults("juhuo:expire_early=1,early_ttl_s=0");
  const std::string id = e.succeeded_task();
  const std::string target = e.video_target(id);
  const auto q = target.find("expires=");
  ASSERT_NE(q, std::string::npos);
  const std::int64_t expires = std::stoll(target.substr(q + 8));
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(expires, now_s + 1);  // not the documented 7 days
  EXPECT_EQ(raw_request(e.port, "GET", target).status, 403);
  EXPECT_GE(e.emu->faults_injected("juhuo", FaultKind::expire_early), 1u);
  // Without the fault, a re-query signs a link with the documented lifetime.
  e.emu->set_faults({});
  EXPECT_EQ(raw_request(e.port, "GET", e.video_target(id)).status, 200);
}

TEST(EmulatorFaults, TasksThatNeverFinish) {
  Emu e(test_support::fast(0.002));
  e.faults("juhuo:never_finish=1");
  const Wire w = e.submit();
  ASSERT_EQ(w.status, 200);
  const std::string id(json::parse(w.body).at("result").at("taskId").as_string());
  // The whole lifecycle is well under 1 s at this scale; wait 3x that.
  std::this_thread::sleep_for(1500ms);
  const std::string status(e.task(id).at("status").as_string());
  EXPECT_NE(status, "success");
  EXPECT_NE(status, "fail");
  const auto view = json::parse(raw_request(e.port, "GET", "/_emulator/faults").body).as_object();
  ASSERT_EQ(view.at("stuck_tasks").as_array().size(), 1u);
  EXPECT_EQ(view.at("stuck_tasks").as_array()[0].as_string(), "juhuo/" + id);
}

// ---- outages ---------------------------------------------------------------------------------

TEST(EmulatorFaults, CdnOutageFailsDownloadsOnlyThenEnds) {
  Emu e(test_support::fast(0.002));
  const std::string id = e.succeeded_task();
  const std::string target = e.video_target(id);
  e.faults("juhuo:cdn_outage=500");  // 500 s × 0.002 = 1 s
  EXPECT_EQ(raw_request(e.port, "GET", target).status, 503);
  EXPECT_EQ(e.balance().status, 200);  // the API works
  EXPECT_EQ(e.task(id).at("status").as_string(), "success");
  EXPECT_GE(e.emu->outage_answers("juhuo"), 1u);
  std::this_thread::sleep_for(1100ms);
  const Wire after = raw_request(e.port, "GET", target);
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body.size(), e.emu->submissions()[0].video_bytes);
}

TEST(EmulatorFaults, WholeProviderDownThenBack) {
  Emu e(test_support::fast(0.002));
  e.faults("juhuo:down=500");  // 1 s
  const Wire down = e.submit();
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(e.created(), 0u);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(e.submit().status, 200);
  EXPECT_EQ(e.created(), 1u);

  e.faults("juhuo:down=500,down_mode=drop,down_at=0");
  const Wire dropped = e.balance();
  EXPECT_TRUE(dropped.raw.empty());
  EXPECT_TRUE(dropped.reset());
  EXPECT_EQ(e.submit().raw.size(), 0u);
  EXPECT_EQ(e.created(), 1u);  // nothing processed while down
}

// Outages are per module: another provider keeps answering.
TEST(EmulatorFaults, FaultsArePerProvider) {
  Emu e;
  e.faults("juhuo:down=100000");
  EXPECT_EQ(e.submit().status, 503);
  const Wire s2 = raw_request(e.port, "GET", "/seedance2/api/v1/video/balance",
                              {{"X-API-Key", "s2-test-key-0001"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(s2.status, 200) << s2.raw;
}

// ---- seedance2: 429 CONCURRENCY_LIMIT_REACHED, task created ----------------------------------

TEST(EmulatorFaults, Seedance2ConcurrencyLimitWithAndWithoutTaskIdCreatesTheTask) {
  Emu e;
  const std::string body = R"({"content":[{"type":"text","text":"a fox"}],"duration":5})";
  const HeaderList h{{"X-API-Key", "s2-test-key-0001"}, {"Content-Type", "application/json"}};

  e.faults("seedance2:concurrency_429_id=1");
  const Wire with = raw_request(e.port, "POST", "/seedance2/api/v1/video/task", h, body);
  EXPECT_EQ(with.status, 429);
  const auto a = json::parse(with.body).as_object();
  EXPECT_EQ(a.at("code").as_string(), "CONCURRENCY_LIMIT_REACHED");
  ASSERT_TRUE(a.at("result").is_object()) << with.body;
  const std::string id(a.at("result").at("task_id").as_string());
  ASSERT_EQ(e.created(), 1u);
  EXPECT_EQ(e.emu->submissions()[0].task_id, id);

  e.faults("seedance2:concurrency_429_noid=1");
  const Wire without = raw_request(e.port, "POST", "/seedance2/api/v1/video/task", h, body);
  EXPECT_EQ(without.status, 429);
  const auto b = json::parse(without.body).as_object();
  EXPECT_EQ(b.at("code").as_string(), "CONCURRENCY_LIMIT_REACHED");
  EXPECT_TRUE(b.at("result").is_null());
  ASSERT_EQ(e.created(), 2u);  // created all the same: only the task list shows it
  EXPECT_EQ(e.emu->faults_injected("seedance2", FaultKind::concurrency_429_noid), 1u);
}

// ---- control endpoint and determinism -----------------------------------------------------------

TEST(EmulatorFaults, ControlEndpointReadsAndReplacesThePlan) {
  Emu e;
  const HeaderList h{{"Content-Type", "application/json"}};
  const Wire set = raw_request(e.port, "POST", "/_emulator/faults", h, R"({"juhuo":{"429":1,"retry_after":3}})");
  ASSERT_EQ(set.status, 200) << set.raw;
  EXPECT_EQ(e.submit().status, 429);
  const auto view = json::parse(raw_request(e.port, "GET", "/_emulator/faults").body).as_object();
  EXPECT_EQ(view.at("plan").at("juhuo").at("429").to_number<double>(), 1.0);
  EXPECT_EQ(view.at("modules").at("juhuo").at("injected").at("429").to_number<int>(), 1);
  EXPECT_EQ(view.at("modules").at("juhuo").at("requests").to_number<int>(), 1);

  EXPECT_EQ(raw_request(e.port, "POST", "/_emulator/faults", h, R"({"juhuo":{"429":2}})").status, 400);
  EXPECT_EQ(raw_request(e.port, "POST", "/_emulator/faults", h, R"({"nope":{"429":1}})").status, 400);
  EXPECT_EQ(raw_request(e.port, "POST", "/_emulator/faults", h, "not json").status, 400);
  EXPECT_EQ(e.submit().status, 429);  // a refused plan leaves the old one

  EXPECT_EQ(raw_request(e.port, "POST", "/_emulator/faults", h, "{}").status, 200);
  EXPECT_EQ(e.submit().status, 200);
}

// Same seed, same requests: the same faults; the rates are what was asked.
TEST(EmulatorFaults, SeededAndDeterministic) {
  auto statuses = [](std::uint64_t seed) {
    Options o = test_support::fast();
    o.seed = seed;
    FaultPlan p;
    parse_fault_spec("juhuo:5xx=0.2,429=0.1", p);
    o.faults = p;
    Emu e(o);
    std::vector<int> out;
    for (int i = 0; i < 300; ++i) out.push_back(e.balance().status);
    return out;
  };
  const auto a = statuses(42), b = statuses(42), c = statuses(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const auto n429 = std::count(a.begin(), a.end(), 429);
  const auto n200 = std::count(a.begin(), a.end(), 200);
  EXPECT_GT(n429, 10);
  EXPECT_LT(n429, 55);
  EXPECT_GT(n200, 165);
  EXPECT_LT(n200, 245);
}

// The old Options::fault_rate still injects faults (as its shorthand plan).
TEST(EmulatorFaults, FaultRateOptionStillWorks) {
  Options o = test_support::fast();
  o.fault_rate = 1.0;
  Emu e(o);
  int faults = 0;
  for (int i = 0; i < 20; ++i) {
    const Wire w = e.balance();
    if (w.status != 200) ++faults;
  }
  EXPECT_EQ(faults, 20);
}

}  // namespace
}  // namespace reelbatch::emulator
