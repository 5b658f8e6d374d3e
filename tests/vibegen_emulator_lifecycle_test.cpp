// The vibegen emulator module over real HTTP: the task lifecycle and download
// (doc 2, 5, 11), failures and timeouts, callbacks (doc 4) and the state file
// across a restart. Fixture: vibegen_emulator_fixture.hpp.

#include "tests/vibegen_emulator_fixture.hpp"

#include <gtest/gtest.h>

namespace reelbatch::emulator {
namespace {
using namespace test_vibegen;

// ---- lifecycle, download (doc 2, 5, 11) ---------------------------------------------------------

TEST(Vibegen, LifecycleToCompletedWithDownload) {
  Emu e(fast(0.03));  // pending 90 ms, processing (20 + 5 × 5) s × 0.03 = 1.35 s
  const std::string id = e.create_ok(doc_body());
  const auto first = e.task(id);
  EXPECT_EQ(first.at("status"), "pending");
  EXPECT_TRUE(first.at("video_url").is_null());
  EXPECT_TRUE(first.at("completed_at").is_null());
  EXPECT_TRUE(first.at("error").is_null());
  EXPECT_EQ(first.at("prompt"), doc_body().at("prompt"));
  const auto seen = e.wait_terminal(id);
  EXPECT_EQ(seen, (std::vector<std::string>{"pending", "processing", "completed"}));

  const auto t = e.task(id);
  // doc 2 任务完成: exactly these fields.
  for (const char* k : {"id", "status", "model", "task_type", "prompt", "video_url", "created_at", "completed_at", "error"})
    EXPECT_TRUE(t.contains(k)) << k;
  EXPECT_EQ(t.size(), 9u);
  EXPECT_TRUE(t.at("error").is_null());
  EXPECT_GE(t.at("completed_at").as_string(), t.at("created_at").as_string());
  const std::string url(t.at("video_url").as_string());
  EXPECT_EQ(url, std::string(e.task(id).at("video_url").as_string())) << "the URL is not re-signed";

  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 1u);
  const Reply video = request(e.port, "GET", target_of(url));
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(video.header("content-type"), "video/mp4");
  EXPECT_EQ(video.body.size(), subs[0].video_bytes);
  EXPECT_EQ(sha256_hex(video.body), subs[0].video_sha256);
  EXPECT_EQ(video.body, vibegen_video_bytes(id, std::string(doc_body().at("prompt").as_string())));
  EXPECT_EQ(video.body.substr(4, 4), "ftyp");
  EXPECT_NE(video.body.find(id), std::string::npos);
  const Reply part = request(e.port, "GET", target_of(url), {{"Range", "bytes=0-99"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, video.body.substr(0, 100));
  EXPECT_EQ(request(e.port, "HEAD", target_of(url)).header("content-length"), std::to_string(video.body.size()));
  // Tampered: 403.
  std::string bad = target_of(url);
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_EQ(request(e.port, "GET", bad).status, 403);
}

TEST(Vibegen, DeletedAfterTtlIs404) {
  Options o = fast(0.002);
  o.url_ttl = 0s;  // min(24 h, url_ttl): expired at completion
  Emu e(o);
  const std::string id = e.create_ok(doc_body());
  ASSERT_EQ(e.wait_terminal(id).back(), "completed");
  const std::string url(e.task(id).at("video_url").as_string());
  EXPECT_EQ(request(e.port, "GET", target_of(url)).status, 404);
}

TEST(Vibegen, FailRateFailsTasksLikeTheDoc) {
  VibegenLimits l;
  l.queries_per_minute = 1000000;  // a hang lasts 600 s × 0.002 = 1.2 s of 1 ms polls
  Options o = fast(0.002, l);
  o.fail_rate = 1.0;
  Emu e(o);
  std::set<std::string> messages;
  for (int i = 0; i < 6; ++i) {
    const std::string id = e.create_ok(doc_body());
    ASSERT_EQ(e.wait_terminal(id).back(), "failed");
    const auto t = e.task(id);
    EXPECT_TRUE(t.at("video_url").is_null());
    EXPECT_TRUE(t.at("completed_at").is_null());
    EXPECT_EQ(t.at("error"), t.at("error_message"));
    messages.insert(std::string(t.at("error").as_string()));
  }
  for (const auto& m : messages)
    EXPECT_TRUE(m == "Content policy violation" || m == "Upstream provider error" ||
                m == "Generation timed out after 10 minutes")
        << m;
}

TEST(Vibegen, GenerationTimeoutFailsTheTask) {
  VibegenLimits l;
  l.generation_timeout = 10s;  // × 0.01 = 100 ms; a 720p 5 s task needs (3 + 45) s × 0.01
  Emu e(fast(0.01, l));
  const std::string id = e.create_ok(doc_body());
  EXPECT_EQ(e.wait_terminal(id).back(), "failed");
  EXPECT_EQ(e.task(id).at("error"), "Generation timed out after 10 minutes");
}

TEST(Vibegen, TaskNotFoundIs404) {
  Emu e(fast());
  const Reply r = e.call("GET", "/tasks/550e8400-e29b-41d4-a716-446655440000");
  EXPECT_EQ(r.status, 404);
  // doc 2 任务不存在, verbatim.
  EXPECT_EQ(r.json(), json::parse(R"({ "error": { "code": "TASK_NOT_FOUND", "message": "Task not found" } })"));
  const std::string id = e.create_ok(doc_body());
  EXPECT_EQ(e.call("GET", "/tasks/" + id, {}, kKey2).status, 404);  // another key's task
}

// ---- callbacks (doc 4) ----------------------------------------------------------------------------

TEST(Vibegen, CallbackOnCompletion) {
  Receiver rx;
  Emu e(fast(0.002));
  json::object b = doc_body();
  b["callback_url"] = rx.url();
  const std::string id = e.create_ok(b);
  const auto got = rx.wait(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/webhook");
  EXPECT_EQ(got[0].header("Content-Type"), "application/json");
  const auto cb = json::parse(got[0].body).as_object();
  EXPECT_EQ(cb.at("event"), "task.completed");
  EXPECT_EQ(cb.at("task_id"), json::value(id));
  EXPECT_EQ(cb.at("status"), "completed");
  EXPECT_EQ(cb.size(), 6u);
  const auto t = e.task(id);
  EXPECT_EQ(cb.at("video_url"), t.at("video_url"));
  EXPECT_EQ(cb.at("created_at"), t.at("created_at"));
  EXPECT_EQ(cb.at("completed_at"), t.at("completed_at"));
  const Reply video = request(e.port, "GET", target_of(std::string(cb.at("video_url").as_string())));
  EXPECT_EQ(sha256_hex(video.body), e.emu->submissions().at(0).video_sha256);
}

TEST(Vibegen, CallbackOnFailureIsRetried) {
  Receiver rx;
  rx.fail_first = 1;
  Options o = fast(0.002);
  o.fail_rate = 1.0;
  Emu e(o);
  json::object b = doc_body();
  b["callback_url"] = rx.url();
  const std::string id = e.create_ok(b);
  const auto got = rx.wait(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body);
  const auto cb = json::parse(got[1].body).as_object();
  EXPECT_EQ(cb.at("event"), "task.failed");
  EXPECT_EQ(cb.at("task_id"), json::value(id));
  EXPECT_EQ(cb.at("status"), "failed");
  EXPECT_EQ(cb.at("error_message"), e.task(id).at("error"));
  EXPECT_TRUE(cb.contains("failed_at"));
  EXPECT_TRUE(cb.contains("created_at"));
}

TEST(Vibegen, UnreachableCallbackDoesNotHurt) {
  VibegenLimits l;
  l.callback_timeout = 200ms;
  Emu e(fast(0.002, l));
  json::object b = doc_body();
  b["callback_url"] = "http://127.0.0.1:1/webhook";  // nothing listens
  const std::string id = e.create_ok(b);
  EXPECT_EQ(e.wait_terminal(id).back(), "completed");
  e.shutdown();  // joins the callback thread without waiting for it
}

// ---- persistence ------------------------------------------------------------------------------------

TEST(Vibegen, StateFileSurvivesRestart) {
  TempDir dir;
  VibegenLimits l;
  l.initial_credits = 1000;
  Options o = fast(0.002, l);
  o.state_file = dir.path / "emulator-state.json";
  std::string done_id, running_id;
  Submission done_sub;
  {
    Emu a(o);
    done_id = a.create_ok(doc_body());  // 30 credits
    ASSERT_EQ(a.wait_terminal(done_id).back(), "completed");
    // 1080p 10 s with audio: (3 + 20 + 90) s × 1.2 × 0.002 ≈ 0.26 s; 180 credits.
    running_id = a.create_ok({{"model", "seedance 2.0"}, {"prompt", "across restart"}, {"resolution", "1080p"},
                              {"duration", 10}, {"generate_audio", true}});
    done_sub = a.emu->submissions().at(0);
    a.shutdown();
  }
  const std::string text = test_support::read_text(o.state_file);
  EXPECT_EQ(text.find(kKey), std::string::npos) << "the API key must never be stored";

  Emu b(o);
  ASSERT_EQ(b.emu->submissions().size(), 2u);
  const auto t = b.task(done_id);
  EXPECT_EQ(t.at("status"), "completed");
  const Reply video = b.call("GET", "/tasks/" + done_id);
  const Reply bytes = request(b.port, "GET", target_of(std::string(video.data().at("video_url").as_string())));
  ASSERT_EQ(bytes.status, 200);
  EXPECT_EQ(sha256_hex(bytes.body), done_sub.video_sha256);
  EXPECT_EQ(b.wait_terminal(running_id).back(), "completed");
  EXPECT_EQ(b.call("GET", "/tasks").data().at("pagination").at("total"), 2);
  // 1000 - 30 - 180 = 790 credits left: a 1080p 10 s audio task (180) fits four more times, not five.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(b.create({{"model", "seedance 2.0"}, {"prompt", "p"}, {"resolution", "1080p"}, {"duration", 10},
                        {"generate_audio", true}})
                  .status,
              201);
  EXPECT_EQ(b.create({{"model", "seedance 2.0"}, {"prompt", "p"}, {"resolution", "1080p"}, {"duration", 10},
                      {"generate_audio", true}})
                .message(),
            "Insufficient credits. Required: 180, Available: 70");
}

}  // namespace
}  // namespace reelbatch::emulator
