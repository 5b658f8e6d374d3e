// The seedance2 emulator module over real HTTP: the task lifecycle with billing,
// signed Range-capable downloads and expiry, completion callbacks, and the state
// file across a restart. Fixture: seedance2_emulator_fixture.hpp.

#include "tests/seedance2_emulator_fixture.hpp"

#include <gtest/gtest.h>

namespace reelbatch::emulator {
namespace {
using namespace test_seedance2;

// ---- lifecycle, billing, downloads -------------------------------------------------------------

TEST(Seedance2Emu, DocCurlFlowToCompletionWithDownload) {
  Emu e(fast(0.005));
  const auto before = e.balance();
  EXPECT_DOUBLE_EQ(num(before.at("total_credits")), 10000);
  EXPECT_NE(e.call("GET", "/balance").body.find("\"total_credits\":10000,"), std::string::npos);

  const std::string file_path = e.upload("scene.png", "image/png", "\x89PNG fake");
  // Doc 完整流程 step 3, verbatim but for the file_path.
  const Reply sub = e.call("POST", "/task",
                           R"({
  "content": [
    {"type": "image_url", "image_url": ")" + file_path + R"("},
    {"type": "text", "text": "The scene comes alive, flowers blooming"}
  ],
  "duration": 8,
  "ratio": "16:9"
})");
  ASSERT_EQ(sub.status, 200) << sub.body;
  const auto accepted = sub.result();
  const std::string id(accepted.at("task_id").as_string());
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(accepted.at("status").as_string(), "pending");
  EXPECT_DOUBLE_EQ(num(accepted.at("credit_cost")), 14.4);  // 720p default: 1.8 × 8

  const auto first = e.task(id);
  // Exactly the doc's fields, in the doc's order.
  std::vector<std::string> keys;
  for (const auto& kv : first) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"task_id", "model", "status", "resolution", "ratio", "duration",
                                            "generate_audio", "seed", "video_url", "last_frame_url", "error_code",
                                            "error_message", "credit_cost", "created_at", "updated_at"}));
  EXPECT_TRUE(first.at("video_url").is_null());
  EXPECT_TRUE(first.at("seed").is_null());
  EXPECT_EQ(first.at("model").as_string(), "seedance-2.0");
  EXPECT_EQ(first.at("resolution").as_string(), "720p");
  EXPECT_EQ(first.at("created_at").as_string().size(), 20u);  // 2025-01-15T10:30:00Z

  const auto seen = e.wait_terminal(id);
  const std::vector<std::string> order = {"pending", "queued", "processing", "completed"};
  std::size_t pos = 0;
  for (const auto& s : seen) {
    auto it = std::find(order.begin() + static_cast<std::ptrdiff_t>(pos), order.end(), s);
    ASSERT_NE(it, order.end()) << "status " << s << " out of order";
    pos = static_cast<std::size_t>(it - order.begin());
  }
  EXPECT_EQ(seen.back(), "completed");
  EXPECT_NE(std::find(seen.begin(), seen.end(), "processing"), seen.end());

  const auto t = e.task(id);
  EXPECT_DOUBLE_EQ(num(t.at("credit_cost")), 14.4);
  EXPECT_TRUE(t.at("error_code").is_null());
  EXPECT_TRUE(t.at("last_frame_url").is_null());
  const auto after = e.balance();
  EXPECT_DOUBLE_EQ(num(after.at("used_credits")), 14.4);
  EXPECT_DOUBLE_EQ(num(after.at("remain_credits")), 10000 - 14.4);

  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].provider, "seedance2");
  EXPECT_EQ(subs[0].task_id, id);
  EXPECT_EQ(subs[0].api_key_fingerprint, key_fingerprint(kKey));
  EXPECT_NE(subs[0].body.find(file_path), std::string::npos);
  const std::string url(t.at("video_url").as_string());
  EXPECT_TRUE(target_of(url).starts_with("/seedance2/cdn/" + id + ".mp4?expires=")) << url;
  const Reply video = request(e.port, "GET", target_of(url));
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(video.header("content-type"), "video/mp4");
  EXPECT_EQ(video.body.size(), subs[0].video_bytes);
  EXPECT_EQ(sha256_hex(video.body), subs[0].video_sha256);
  EXPECT_EQ(video.body, seedance2_video_bytes(id, "The scene comes alive, flowers blooming"));
  EXPECT_EQ(video.body.substr(4, 4), "ftyp");
  // Signed for 7 days from completion; a re-query does not extend it.
  const auto exp = std::stoll(url.substr(url.find("expires=") + 8));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(exp - now), 7 * 24 * 3600.0, 5.0);
  EXPECT_EQ(std::string(e.task(id).at("video_url").as_string()), url);
}

TEST(Seedance2Emu, LastFrameRangeAndTamperedUrls) {
  Emu e(fast());
  json::object body = text_task("last frame please");
  body["return_last_frame"] = true;
  body["resolution"] = "1080p";
  body["model"] = "seedance-2.0-fast";
  body["seed"] = 42;
  const std::string id = e.submit_ok(body);
  ASSERT_EQ(e.wait_terminal(id).back(), "completed");
  const auto t = e.task(id);
  EXPECT_EQ(t.at("seed").as_int64(), 42);
  EXPECT_DOUBLE_EQ(num(t.at("credit_cost")), 13.25);  // 3.312 × 4 = 13.248
  const auto sub = e.emu->submissions().at(0);
  const Reply frame = request(e.port, "GET", target_of(std::string(t.at("last_frame_url").as_string())));
  ASSERT_EQ(frame.status, 200);
  EXPECT_EQ(frame.header("content-type"), "image/jpeg");
  EXPECT_EQ(sha256_hex(frame.body), sub.cover_sha256);
  EXPECT_EQ(frame.body.size(), sub.cover_bytes);
  EXPECT_EQ(frame.body.substr(0, 2), "\xFF\xD8");

  const std::string target = target_of(std::string(t.at("video_url").as_string()));
  const Reply full = request(e.port, "GET", target);
  const Reply part = request(e.port, "GET", target, {{"Range", "bytes=0-99"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, full.body.substr(0, 100));
  EXPECT_EQ(part.header("content-range"), "bytes 0-99/" + std::to_string(full.body.size()));
  EXPECT_EQ(request(e.port, "HEAD", target).header("content-length"), std::to_string(full.body.size()));
  std::string bad = target;
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_EQ(request(e.port, "GET", bad).status, 403);
  EXPECT_EQ(request(e.port, "GET", "/seedance2/cdn/" + id + ".mp4").status, 403);
}

TEST(Seedance2Emu, CompletedTaskExpiresWithItsUrls) {
  Options o = fast();
  o.url_ttl = 1s;
  Emu e(o);
  const std::string id = e.submit_ok(text_task("short-lived"));
  ASSERT_EQ(e.wait_terminal(id).back(), "completed");
  const std::string url(e.task(id).at("video_url").as_string());
  std::this_thread::sleep_for(1100ms);
  const auto t = e.task(id);
  EXPECT_EQ(t.at("status").as_string(), "expired");
  EXPECT_TRUE(t.at("video_url").is_null());
  EXPECT_DOUBLE_EQ(num(t.at("credit_cost")), 7.2);  // charged: it did complete
  EXPECT_EQ(request(e.port, "GET", target_of(url)).status, 403);
}

TEST(Seedance2Emu, EveryTaskHasUniqueBytes) {
  Emu e(fast());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(e.submit_ok(text_task("same prompt")));
  std::set<std::string> hashes;
  for (const auto& s : e.emu->submissions()) {
    ASSERT_EQ(e.wait_terminal(s.task_id).back(), "completed");
    const Reply v = request(e.port, "GET", target_of(std::string(e.task(s.task_id).at("video_url").as_string())));
    EXPECT_EQ(sha256_hex(v.body), s.video_sha256);
    hashes.insert(s.video_sha256);
  }
  EXPECT_EQ(hashes.size(), 3u);
}

// ---- callbacks ------------------------------------------------------------------------------------

// A loopback HTTP receiver for callback_url, on its own thread.
struct Receiver : test_support::CallbackReceiver {
  Receiver() : CallbackReceiver(Response(200, "text/plain", "ok")) {}
};

TEST(Seedance2Emu, CallbackIsPostedOnCompletionAndRetried) {
  Receiver rx;
  rx.fail_first = 1;
  Emu e(fast());
  json::object body = text_task("call me back");
  body["callback_url"] = rx.url("/hook?job=1");
  const std::string id = e.submit_ok(body);
  ASSERT_EQ(e.wait_terminal(id).back(), "completed");
  const auto got = rx.wait_for(2);
  ASSERT_EQ(got.size(), 2u);  // one 500, then delivered
  const Request& r = got.back();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hook?job=1");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_TRUE(r.header("X-API-Key").empty());
  const auto env = json::parse(r.body).as_object();
  EXPECT_EQ(env.at("code").as_string(), "200");
  const auto& task = env.at("result").as_object();
  EXPECT_EQ(task.at("task_id").as_string(), id);
  EXPECT_EQ(task.at("status").as_string(), "completed");
  const Reply video = request(e.port, "GET", target_of(std::string(task.at("video_url").as_string())));
  EXPECT_EQ(video.status, 200);
  EXPECT_EQ(sha256_hex(video.body), e.emu->submissions().at(0).video_sha256);
}

TEST(Seedance2Emu, CallbackOnCancel) {
  Receiver rx;
  Emu e(fast(0.05));
  json::object body = text_task("cancel and tell me", 15);
  body["callback_url"] = rx.url("/c");
  const std::string id = e.submit_ok(body);
  e.call("POST", "/task/" + id + "/cancel");
  const auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(json::parse(got[0].body).at("result").at("status").as_string(), "cancelled");
}

// ---- persistence -----------------------------------------------------------------------------------

TEST(Seedance2Emu, StateFileSurvivesRestart) {
  TempDir dir;
  Options o = fast();
  o.state_file = dir.path / "state.json";
  std::string done_id, running_id, file_path;
  {
    Emu a(o);
    done_id = a.submit_ok(text_task("before restart"));
    ASSERT_EQ(a.wait_terminal(done_id).back(), "completed");
    file_path = a.upload("ref.png", "image/png", "PNG");
    running_id = a.submit_ok(text_task("across restart", 15));
    a.shutdown();
  }
  const std::string text = test_support::read_text(o.state_file);
  EXPECT_EQ(text.find(kKey), std::string::npos) << "the API key must never be stored";
  Emu b(o);
  EXPECT_EQ(b.task(done_id).at("status").as_string(), "completed");
  EXPECT_DOUBLE_EQ(num(b.balance().at("used_credits")), 7.2);
  ASSERT_EQ(b.wait_terminal(running_id).back(), "completed");
  EXPECT_DOUBLE_EQ(num(b.balance().at("used_credits")), 7.2 + 27);  // 1.8 × 15
  const json::object ref{{"content", json::array{json::object{{"type", "image_url"}, {"image_url", file_path}}}}};
  b.submit_ok(ref);
  const auto subs = b.emu->submissions();
  ASSERT_EQ(subs.size(), 3u);
  const Reply v = request(b.port, "GET", target_of(std::string(b.task(running_id).at("video_url").as_string())));
  EXPECT_EQ(sha256_hex(v.body), subs[1].video_sha256);
}

}  // namespace
}  // namespace reelbatch::emulator
