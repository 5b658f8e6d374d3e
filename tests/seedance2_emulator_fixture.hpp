// The seedance2 emulator tests' client and fixture (seedance2_emulator_test.cpp, seedance2_emulator_lifecycle_test.cpp).
#pragma once

#include "tests/support/emulator_fixture.hpp"
#include "providers/seedance2/emulator.hpp"
#include "providers/seedance2/seedance2.hpp"


#include <condition_variable>
#include <mutex>

namespace reelbatch::emulator::test_seedance2 {

constexpr const char* kKey = "s2-test-key-0001";
constexpr const char* kKey2 = "s2-test-key-0002";

// ---- a tiny synchronous client ----------------------------------------------------

using Reply = test_support::EnvelopeReply;

using test_support::HeaderList;
using test_support::target_of;

inline Reply request(unsigned short port, const std::string& method, const std::string& target,
              const HeaderList& headers = {}, const std::string& body = {}) {
  return {test_support::http_request(port, method, target, headers, body, test_support::HostHeader::with_port)};
}

// ---- fixture ------------------------------------------------------------------------

struct Emu : test_support::EmulatorThread {
  explicit Emu(Options opts) : EmulatorThread(std::move(opts), {make_seedance2_module}) {}
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port) + "/seedance2"; }

  // As the doc's python HEADERS: X-API-Key and Content-Type on every call.
  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::string& key = kKey) {
    HeaderList h{{"Content-Type", "application/json"}};
    if (!key.empty()) h.emplace_back("X-API-Key", key);
    return request(port, method, "/seedance2/api/v1/video" + path, h, body);
  }
  Reply submit(const json::object& body, const std::string& key = kKey) {
    return call("POST", "/task", json::serialize(body), key);
  }
  std::string submit_ok(const json::object& body, const std::string& key = kKey) {
    const Reply r = submit(body, key);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.code(), "200") << r.body;
    return std::string(r.result().at("task_id").as_string());
  }
  json::object task(const std::string& id, const std::string& key = kKey) {
    const Reply r = call("GET", "/task/" + id, {}, key);
    EXPECT_EQ(r.code(), "200") << r.body;
    return r.result();
  }
  json::object balance(const std::string& key = kKey) { return call("GET", "/balance", {}, key).result(); }

  std::vector<std::string> wait_terminal(const std::string& id, std::chrono::milliseconds limit = 20s) {
    return test_support::poll_statuses([&] { return std::string(task(id).at("status").as_string()); },
                                  [](const std::string& st) { return st == "completed" || st == "failed" || st == "cancelled" || st == "expired"; }, limit, 1ms, "task " + id);
  }

  // Doc 完整流程 steps 1-2: presign (query params as the curl sample writes them) + PUT.
  std::string upload(const std::string& filename, const std::string& content_type, const std::string& bytes) {
    const Reply p = request(port, "POST",
                            "/seedance2/api/v1/video/upload/presign?filename=" + filename +
                                "&content_type=" + content_type,
                            {{"X-API-Key", kKey}});
    EXPECT_EQ(p.code(), "200") << p.body;
    const auto res = p.result();
    const Reply put = request(port, "PUT", target_of(std::string(res.at("presigned_url").as_string())),
                              {{"Content-Type", content_type}}, bytes);
    EXPECT_EQ(put.status, 200) << put.body;
    return std::string(res.at("file_path").as_string());
  }
};

using test_support::fast;

inline json::object text_task(const std::string& text, int duration = 4) {
  return json::object{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}}, {"duration", duration}};
}

inline double num(const json::value& v) { return v.to_number<double>(); }

struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("reelbatch-s2") {}
};

}  // namespace reelbatch::emulator::test_seedance2
