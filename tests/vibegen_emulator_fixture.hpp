// The vibegen emulator tests' client and fixture (vibegen_emulator_test.cpp, vibegen_emulator_lifecycle_test.cpp).
#pragma once

#include "tests/support/emulator_fixture.hpp"
#include "providers/vibegen/emulator.hpp"
#include "providers/vibegen/vibegen.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <cstdlib>
#include <mutex>

namespace reelbatch::emulator::test_vibegen {

constexpr const char* kKey = "sk-video-xxxxxxxxxxxxxxxx";  // the doc's example key
constexpr const char* kKey2 = "sk-video-yyyyyyyyyyyyyyyy";

// ---- a tiny synchronous client ----------------------------------------------------

struct Reply : test_support::HttpReply {
  json::object data() const { return json().at("data").as_object(); }
  std::string code() const { return std::string(json().at("error").at("code").as_string()); }
  std::string message() const { return std::string(json().at("error").at("message").as_string()); }
};

using test_support::HeaderList;
using test_support::target_of;

inline Reply request(unsigned short port, const std::string& method, const std::string& target, const HeaderList& headers = {},
              const std::string& body = {}) {
  return {test_support::http_request(port, method, target, headers, body, test_support::HostHeader::with_port)};
}

// ---- fixture ------------------------------------------------------------------------

inline Options fast(double scale = 0.002, std::optional<VibegenLimits> limits = std::nullopt) {
  Options o;
  o.time_scale = scale;
  if (limits) {
    o.modules = {[l = *limits](Services s) { return make_vibegen_module_with(std::move(s), l); }};
  } else {
    o.modules = {make_vibegen_module};
  }
  return o;
}

struct Emu : test_support::EmulatorThread {
  explicit Emu(Options opts) : EmulatorThread(std::move(opts)) {}

  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::string& key = kKey) {
    return request(port, method, "/vibegen/api/v1" + path, test_support::bearer_headers(key, !body.empty()), body);
  }
  Reply create(const json::object& body, const std::string& key = kKey) {
    return call("POST", "/generations", json::serialize(body), key);
  }
  std::string create_ok(const json::object& body, const std::string& key = kKey) {
    const Reply r = create(body, key);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(r.data().at("id").as_string());
  }
  json::object task(const std::string& id, const std::string& key = kKey) {
    const Reply r = call("GET", "/tasks/" + id, {}, key);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.data();
  }
  // Polls until the task is terminal; returns every distinct status seen, in order.
  std::vector<std::string> wait_terminal(const std::string& id, std::chrono::milliseconds limit = 20s) {
    return test_support::poll_statuses([&] { return std::string(task(id).at("status").as_string()); },
                                  [](const std::string& st) { return st == "completed" || st == "failed"; }, limit, 3ms, "task " + id);
  }
};

inline json::object doc_body() {  // doc 1 文生视频(无声)
  return {{"model", "seedance 2.0"},
          {"prompt", "写实风格,晴朗的蓝天之下,一大片白色的雏菊花田,镜头逐渐拉近"},
          {"duration", 5},
          {"aspect_ratio", "16:9"},
          {"resolution", "720p"}};
}

struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("reelbatch-vibegen") {}
};

// A loopback HTTP server that records what is POSTed to it (callback receiver).
struct Receiver : test_support::CallbackReceiver {
  Receiver() : CallbackReceiver(Response(200, "application/json", "{}")) {}
  std::string url() const { return CallbackReceiver::url("/webhook"); }
  // Waits until `n` requests arrived; returns them.
  std::vector<Request> wait(std::size_t n, std::chrono::milliseconds limit = 10s) {
    auto got = wait_for(n, limit);
    if (got.size() < n) ADD_FAILURE() << "only " << got.size() << " of " << n << " callbacks arrived";
    return got;
  }
};

}  // namespace reelbatch::emulator::test_vibegen
