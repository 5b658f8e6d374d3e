// The seedance2 emulator module on an ephemeral loopback port, driven over
// real HTTP by a tiny synchronous Beast client (the doc's curl/python flow),
// and by the seedance2 adapter itself: auth, every documented error with its
// HTTP status, presigned uploads, the task lifecycle, cancel, limits,
// billing, signed Range-capable downloads, expiry, callbacks and state
// persistence.

#include "tests/seedance2_emulator_fixture.hpp"

#include <gtest/gtest.h>

namespace reelbatch::emulator {
namespace {
using namespace test_seedance2;

// ---- auth, routing, validation -------------------------------------------------------------

TEST(Seedance2Emu, InvalidApiKeyIs401) {
  Emu e(fast());
  for (const std::string& key : {std::string(), std::string("has space"), std::string(300, 'k')}) {
    HeaderList h{{"Content-Type", "application/json"}};
    if (!key.empty()) h.emplace_back("X-API-Key", key);
    const Reply r = request(e.port, "POST", "/seedance2/api/v1/video/task", h, json::serialize(text_task("x")));
    EXPECT_EQ(r.status, 401) << key;
    EXPECT_EQ(r.code(), "INVALID_API_KEY");
    EXPECT_FALSE(r.json().contains("result"));
  }
  // Bearer auth is not this API's.
  const Reply bearer = request(e.port, "GET", "/seedance2/api/v1/video/balance", {{"Authorization", "Bearer k"}});
  EXPECT_EQ(bearer.status, 401);
  EXPECT_EQ(e.emu->rejected_submits(), 3u);
  EXPECT_TRUE(e.emu->submissions().empty());
}

TEST(Seedance2Emu, UnknownPathsAndMethods) {
  Emu e(fast());
  EXPECT_EQ(e.call("GET", "/nothing").status, 404);
  EXPECT_EQ(e.call("GET", "/nothing").code(), "NOT_FOUND");
  EXPECT_EQ(request(e.port, "GET", "/seedance2/other").status, 404);
  EXPECT_EQ(e.call("GET", "/task").status, 405);
  EXPECT_EQ(e.call("POST", "/balance").status, 405);
  EXPECT_EQ(e.call("GET", "/task/abc/cancel").status, 405);
}

TEST(Seedance2Emu, ValidationIs400WithTheField) {
  Emu e(fast());
  struct Case {
    json::object body;
    std::string code, needle;
  };
  const json::array text{json::object{{"type", "text"}, {"text", "x"}}};
  const std::vector<Case> cases = {
      {{{"content", text}, {"duration", 3}}, "INVALID_PARAMETER", "Invalid parameter: duration must be 4-15"},
      {{{"content", text}, {"duration", 16}}, "INVALID_PARAMETER", "duration must be 4-15"},
      {{{"content", text}, {"duration", "8"}}, "INVALID_PARAMETER", "duration"},
      {{{"content", text}, {"duration", 8.5}}, "INVALID_PARAMETER", "duration"},
      {{{"content", text}, {"resolution", "4k"}}, "INVALID_PARAMETER", "resolution"},
      {{{"content", text}, {"resolution", "720"}}, "INVALID_PARAMETER", "resolution"},
      {{{"content", text}, {"ratio", "2:1"}}, "INVALID_PARAMETER", "ratio"},
      {{{"content", text}, {"model", "seedance-3.0"}}, "INVALID_PARAMETER", "model"},
      {{{"content", text}, {"seed", -2}}, "INVALID_PARAMETER", "seed"},
      {{{"content", text}, {"generate_audio", "yes"}}, "INVALID_PARAMETER", "generate_audio"},
      {{{"content", text}, {"watermark", 1}}, "INVALID_PARAMETER", "watermark"},
      {{{"content", text}, {"return_last_frame", "true"}}, "INVALID_PARAMETER", "return_last_frame"},
      {{{"content", text}, {"callback_url", "https://h/" + std::string(503, 'x')}}, "INVALID_PARAMETER",
       "callback_url must be at most 512"},
      {{{"content", text}, {"callback_url", "ftp://h/x"}}, "INVALID_PARAMETER", "callback_url"},
      {{{"duration", 8}}, "MISSING_PARAMETER", "Missing parameter: content"},
      {{{"content", json::array{}}}, "INVALID_PARAMETER", "content"},
      {{{"content", "text"}}, "INVALID_PARAMETER", "content"},
      {{{"content", json::array{json::object{{"text", "x"}}}}}, "MISSING_PARAMETER", "content[0].type"},
      {{{"content", json::array{json::object{{"type", "gif"}}}}}, "INVALID_PARAMETER", "content[0].type"},
      {{{"content", json::array{json::object{{"type", "text"}}}}}, "MISSING_PARAMETER", "content[0].text"},
      {{{"content", json::array{json::object{{"type", "text"}, {"text", " "}}}}}, "INVALID_PARAMETER",
       "content[0].text"},
      {{{"content", json::array{json::object{{"type", "image_url"}, {"image_url", "api/uploads/x/nope.png"}}}}},
       "INVALID_PARAMETER", "content[0].image_url"},
      {{{"content", json::array{json::object{{"type", "audio_url"}, {"audio_url", "api/uploads/x/a.mp3"}}}}},
       "INVALID_PARAMETER", "content[0].audio_url"},
  };
  for (const auto& c : cases) {
    const Reply r = e.submit(c.body);
    EXPECT_EQ(r.status, 400) << json::serialize(c.body);
    EXPECT_EQ(r.code(), c.code) << json::serialize(c.body);
    EXPECT_NE(r.message().find(c.needle), std::string::npos) << r.message() << " lacks " << c.needle;
  }
  const Reply bad_json = e.call("POST", "/task", "{not json");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.code(), "INVALID_PARAMETER");
  EXPECT_EQ(e.emu->rejected_submits(), cases.size() + 1);
  EXPECT_TRUE(e.emu->submissions().empty());
  // The doc's 512: exactly 512 characters is accepted.
  e.submit_ok({{"content", text}, {"callback_url", "https://h/" + std::string(502, 'x')}});
}

// ---- uploads ----------------------------------------------------------------------------------

TEST(Seedance2Emu, PresignValidationAndPut) {
  Options o = fast();
  Emu e(o);
  auto presign = [&](const std::string& q) {
    return request(e.port, "POST", "/seedance2/api/v1/video/upload/presign" + q, {{"X-API-Key", kKey}});
  };
  EXPECT_EQ(presign("?content_type=image/png").code(), "MISSING_PARAMETER");
  EXPECT_EQ(presign("?filename=a.png").code(), "MISSING_PARAMETER");
  EXPECT_EQ(presign("?filename=a.png").status, 400);
  EXPECT_EQ(presign("?filename=a.gif&content_type=image/gif").code(), "INVALID_PARAMETER");
  EXPECT_EQ(presign("?filename=a.png&content_type=image/jpeg").code(), "INVALID_PARAMETER");
  EXPECT_EQ(presign("?filename=a%2Fb.png&content_type=image/png").code(), "INVALID_PARAMETER");
  EXPECT_EQ(presign("?filename=" + std::string(125, 'a') + ".png&content_type=image/png").code(),
            "INVALID_PARAMETER");
  EXPECT_EQ(presign("?filename=" + std::string(124, 'a') + ".png&content_type=image/png").code(), "200");
  EXPECT_EQ(presign("?filename=clip.MOV&content_type=video%2Fquicktime").code(), "200");

  const Reply ok = presign("?filename=scene.png&content_type=image/png");
  ASSERT_EQ(ok.code(), "200");
  const auto res = ok.result();
  EXPECT_EQ(res.at("expires_in").as_int64(), o.upload_url_ttl.count());
  const std::string path(res.at("file_path").as_string());
  EXPECT_TRUE(path.starts_with("api/uploads/" + key_fingerprint(kKey) + "/")) << path;
  EXPECT_TRUE(path.ends_with("_scene.png")) << path;
  const std::string target = target_of(std::string(res.at("presigned_url").as_string()));
  // Wrong Content-Type, tampered signature, no signature: 403; then the right PUT.
  const Reply wrong = request(e.port, "PUT", target, {{"Content-Type", "image/jpeg"}}, "PNG");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_NE(wrong.body.find("SignatureDoesNotMatch"), std::string::npos);
  std::string tampered = target;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(request(e.port, "PUT", tampered, {{"Content-Type", "image/png"}}, "PNG").status, 403);
  EXPECT_EQ(request(e.port, "PUT", target.substr(0, target.find('?')), {{"Content-Type", "image/png"}}, "PNG").status,
            403);
  // Not uploaded yet: a task cannot reference it.
  const json::object ref_task{
      {"content", json::array{json::object{{"type", "image_url"}, {"image_url", path}},
                              json::object{{"type", "text"}, {"text", "The scene comes alive, flowers blooming"}}}},
      {"duration", 8},
      {"ratio", "16:9"}};
  EXPECT_EQ(e.submit(ref_task).code(), "INVALID_PARAMETER");
  const Reply put = request(e.port, "PUT", target, {{"Content-Type", "image/png"}}, "PNG");
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(put.header("etag"), "\"" + sha256_hex("PNG") + "\"");
  e.submit_ok(ref_task);
  // Another key cannot use this file_path; an image is not a video.
  EXPECT_EQ(e.submit(ref_task, kKey2).code(), "INVALID_PARAMETER");
  const json::object as_video{{"content", json::array{json::object{{"type", "video_url"}, {"video_url", path}}}}};
  EXPECT_NE(e.submit(as_video).message().find("is not a video"), std::string::npos);
}

TEST(Seedance2Emu, ExpiredUploadUrlIs403) {
  Options o = fast();
  o.upload_url_ttl = 0s;
  Emu e(o);
  const Reply p = request(e.port, "POST", "/seedance2/api/v1/video/upload/presign?filename=a.png&content_type=image/png",
                          {{"X-API-Key", kKey}});
  ASSERT_EQ(p.code(), "200");
  const Reply put = request(e.port, "PUT", target_of(std::string(p.result().at("presigned_url").as_string())),
                            {{"Content-Type", "image/png"}}, "PNG");
  EXPECT_EQ(put.status, 403);
  EXPECT_NE(put.body.find("expired"), std::string::npos);
}

// ---- documented errors --------------------------------------------------------------------------

TEST(Seedance2Emu, TaskNotFoundIs404) {
  Emu e(fast());
  const Reply r = e.call("GET", "/task/ffffffffffffffffffffffffffffffff");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "TASK_NOT_FOUND");
  const std::string id = e.submit_ok(text_task("mine"));
  EXPECT_EQ(e.call("GET", "/task/" + id, {}, kKey2).code(), "TASK_NOT_FOUND");
  EXPECT_EQ(e.call("POST", "/task/" + id + "/cancel", {}, kKey2).code(), "TASK_NOT_FOUND");
  EXPECT_EQ(e.call("GET", "/tasks", {}, kKey2).result().at("total").as_int64(), 0);
}

TEST(Seedance2Emu, CancelAndCancelNotAllowed) {
  Emu e(fast(0.05));
  const std::string id = e.submit_ok(text_task("cancel me", 15));
  const Reply c = e.call("POST", "/task/" + id + "/cancel");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.result().at("task_id").as_string(), id);
  EXPECT_EQ(c.result().at("status").as_string(), "cancelled");
  const auto t = e.task(id);
  EXPECT_EQ(t.at("status").as_string(), "cancelled");
  EXPECT_DOUBLE_EQ(num(t.at("credit_cost")), 0);
  const Reply again = e.call("POST", "/task/" + id + "/cancel");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.code(), "TASK_CANCEL_NOT_ALLOWED");
  EXPECT_DOUBLE_EQ(num(e.balance().at("used_credits")), 0);
}

TEST(Seedance2Emu, ConcurrencyLimitIs429AndProcessingIsCapped) {
  Emu e(fast(0.05));  // processing of a 15 s task: (30 + 150) s × 0.05 = 9 s
  std::vector<std::string> ids;
  for (int i = 0; i < kSeedance2MaxInFlight; ++i) ids.push_back(e.submit_ok(text_task("busy " + std::to_string(i), 15)));
  const Reply over = e.submit(text_task("one too many"));
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(over.code(), "CONCURRENCY_LIMIT_REACHED");
  EXPECT_EQ(e.emu->submissions().size(), static_cast<std::size_t>(kSeedance2MaxInFlight));
  // After pending (0.1 s) and the queue's minimum (0.15 s), five process and fifteen wait.
  std::this_thread::sleep_for(400ms);
  auto count = [&](const char* st) {
    return e.call("GET", std::string("/tasks?page_size=100&status=") + st).result().at("total").as_int64();
  };
  EXPECT_EQ(count("processing"), kSeedance2MaxProcessing);
  EXPECT_EQ(count("queued"), kSeedance2MaxInFlight - kSeedance2MaxProcessing);
  // Cancelling frees an in-flight slot at once.
  e.call("POST", "/task/" + ids.back() + "/cancel");
  e.submit_ok(text_task("fits again"));
}

TEST(Seedance2Emu, RateLimitIs429WithRetryAfter) {
  Emu e(fast());
  for (int i = 0; i < kSeedance2SubmitsPerMinute; ++i) {
    const Reply r = e.call("POST", "/task", "{}");  // cheap: rejected, but counted
    ASSERT_EQ(r.code(), "MISSING_PARAMETER");
  }
  const Reply r = e.submit(text_task("too fast"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.code(), "RATE_LIMIT_EXCEEDED");
  const int retry = std::stoi(r.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  EXPECT_EQ(e.submit(text_task("other key"), kKey2).code(), "200");  // per key
}

TEST(Seedance2Emu, InsufficientCreditIs402) {
  TempDir dir;
  Options o = fast(0.05);
  o.state_file = dir.path / "state.json";
  {
    // An account with 20 credits.
    const json::object state{
        {"version", 1},
        {"submissions", json::array{}},
        {"rejected_submits", 0},
        {"modules",
         json::object{{"seedance2",
                       json::object{{"seq", 0},
                                    {"accounts", json::object{{key_fingerprint(kKey),
                                                               json::object{{"total_credits", 20},
                                                                            {"used_credits", 0},
                                                                            {"uploads", json::object{}}}}}},
                                    {"presigned", json::object{}},
                                    {"tasks", json::array{}}}}}}};
    std::ofstream(o.state_file) << json::serialize(state);
  }
  Emu e(o);
  e.submit_ok(text_task("fits", 8));  // 720p default: 1.8 × 8 = 14.4, reserved until it ends
  const Reply r = e.submit(text_task("does not fit: 14.4 + 14.4 > 20", 8));
  EXPECT_EQ(r.status, 402);
  EXPECT_EQ(r.code(), "INSUFFICIENT_CREDIT");
  EXPECT_NE(r.message().find("5.60 available"), std::string::npos) << r.message();
  json::object small = text_task("fits in the rest", 4);
  small["resolution"] = "480p";  // 3.6
  e.submit_ok(small);
}

TEST(Seedance2Emu, EveryDocumentedCodeWithItsHttpStatus) {
  Emu e(fast());
  const std::pair<const char*, int> table[] = {
      {"INVALID_API_KEY", 401},      {"INVALID_PARAMETER", 400},        {"MISSING_PARAMETER", 400},
      {"INSUFFICIENT_CREDIT", 402},  {"CREDIT_DEDUCT_FAILED", 500},     {"TASK_NOT_FOUND", 404},
      {"TASK_SUBMIT_FAILED", 500},   {"TASK_CANCEL_NOT_ALLOWED", 400},  {"CONCURRENCY_LIMIT_REACHED", 429},
      {"FILE_UPLOAD_FAILED", 500},   {"VIDEO_DOWNLOAD_FAILED", 500},    {"CONTENT_MODERATION_FAILED", 400},
      {"COPYRIGHT_VIOLATION", 400},  {"PRIVACY_VIOLATION", 400},        {"SERVICE_BUSY", 503},
      {"RATE_LIMIT_EXCEEDED", 429},  {"INTERNAL_ERROR", 500},
  };
  for (const auto& [code, status] : table) {
    const Reply r = e.submit(text_task(std::string("hook [[emulate:") + code + "]]"));
    EXPECT_EQ(r.status, status) << code;
    EXPECT_EQ(r.code(), code);
    EXPECT_FALSE(r.message().empty());
  }
  EXPECT_TRUE(e.emu->submissions().empty());
}

TEST(Seedance2Emu, FailedTasksAreNotCharged) {
  Options o = fast();
  o.fail_rate = 1.0;
  Emu e(o);
  const std::string a = e.submit_ok(text_task("fails by rate"));
  const std::string b = e.submit_ok(text_task("fails by hook [[fail:PRIVACY_VIOLATION]]"));
  ASSERT_EQ(e.wait_terminal(a).back(), "failed");
  ASSERT_EQ(e.wait_terminal(b).back(), "failed");
  const auto ta = e.task(a);
  const std::set<std::string> codes{"VIDEO_DOWNLOAD_FAILED", "TASK_SUBMIT_FAILED", "SERVICE_BUSY",
                                    "CONTENT_MODERATION_FAILED"};
  EXPECT_TRUE(codes.count(std::string(ta.at("error_code").as_string()))) << ta.at("error_code");
  EXPECT_FALSE(ta.at("error_message").as_string().empty());
  EXPECT_TRUE(ta.at("video_url").is_null());
  EXPECT_DOUBLE_EQ(num(ta.at("credit_cost")), 0);
  EXPECT_EQ(e.task(b).at("error_code").as_string(), "PRIVACY_VIOLATION");
  EXPECT_DOUBLE_EQ(num(e.balance().at("used_credits")), 0);
}

// ---- list -----------------------------------------------------------------------------------------

TEST(Seedance2Emu, TaskListPagesNewestFirstWithFilter) {
  Emu e(fast(0.05));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(e.submit_ok(text_task("p" + std::to_string(i), 15)));
  e.call("POST", "/task/" + ids[1] + "/cancel");
  auto page = [&](const std::string& q) { return e.call("GET", "/tasks" + q).result(); };
  const auto p1 = page("?page=1&page_size=2");
  EXPECT_EQ(p1.at("total").as_int64(), 5);
  EXPECT_EQ(p1.at("page").as_int64(), 1);
  EXPECT_EQ(p1.at("page_size").as_int64(), 2);
  ASSERT_EQ(p1.at("data").as_array().size(), 2u);
  EXPECT_EQ(p1.at("data").as_array()[0].at("task_id").as_string(), ids[4]);
  EXPECT_EQ(p1.at("data").as_array()[1].at("task_id").as_string(), ids[3]);
  const auto p3 = page("?page=3&page_size=2");
  ASSERT_EQ(p3.at("data").as_array().size(), 1u);
  EXPECT_EQ(p3.at("data").as_array()[0].at("task_id").as_string(), ids[0]);
  const auto def = page("");
  EXPECT_EQ(def.at("page_size").as_int64(), 20);
  EXPECT_EQ(def.at("data").as_array().size(), 5u);
  const auto cancelled = page("?status=cancelled");
  EXPECT_EQ(cancelled.at("total").as_int64(), 1);
  EXPECT_EQ(cancelled.at("data").as_array()[0].at("task_id").as_string(), ids[1]);
  EXPECT_EQ(page("?page_size=100").at("page_size").as_int64(), 100);
  for (const char* q : {"?page_size=0", "?page_size=101", "?page=0", "?page=x", "?status=done"}) {
    const Reply r = e.call("GET", std::string("/tasks") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(r.code(), "INVALID_PARAMETER") << q;
  }
}

// ---- the adapter against the emulator --------------------------------------------------------------

using test_support::run;  // runs one adapter coroutine to completion on `io`

TEST(Seedance2Emu, AdapterDrivesTheEmulator) {
  Emu e(fast());
  TempDir dir;
  const fs::path png = dir.path / "hero shot.png";
  std::ofstream(png, std::ios::binary) << "\x89PNG adapter";
  ProfileConfig prof;
  prof.name = "s2";
  prof.kind = "seedance2";
  prof.base_url = e.base();
  prof.api_key = kKey;
  asio::io_context io;
  HttpClient http(io.get_executor());
  seedance2::Seedance2Provider p(prof, http);

  LocalAsset asset;
  asset.name = "hero";
  asset.path = png;
  asset.sha256 = sha256_hex("\x89PNG adapter");
  asset.kind = LocalAsset::Kind::image;
  auto ref = run(io, p.async_upload(asset));
  ASSERT_TRUE(ref) << ref.error().describe();
  EXPECT_TRUE(ref->ends_with("_hero_shot-" + asset.sha256.substr(0, 12) + ".png")) << *ref;

  SubmitRequest req;
  req.spec.id = "row-1";
  req.spec.prompt = "The hero turns around";
  req.spec.duration_s = 4;
  req.spec.resolution = "480";
  req.spec.aspect_ratio = "9:16";
  req.spec.images = {{"hero", png.string()}};
  req.spec.params = json::object{{"return_last_frame", true}};
  req.images = {{"hero", *ref}};
  ASSERT_TRUE(p.validate(req.spec).empty());
  auto id = run(io, p.async_submit(req));
  ASSERT_TRUE(id) << id.error().describe();

  TaskStatus st;
  for (int i = 0; i < 20000; ++i) {
    auto q = run(io, p.async_query(*id));
    ASSERT_TRUE(q) << q.error().describe();
    st = *q;
    if (st.state != RemoteState::queued && st.state != RemoteState::running) break;
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(st.state, RemoteState::succeeded) << st.native_state;
  EXPECT_DOUBLE_EQ(*st.cost, 3.6);  // 0.9 × 4
  ASSERT_TRUE(st.created_at_ms);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(*st.created_at_ms), static_cast<double>(now_ms), 60000.0);
  auto video = p.download_target(st, OutputKind::video);
  auto frame = p.download_target(st, OutputKind::last_frame);
  ASSERT_TRUE(video && frame);
  EXPECT_TRUE(video->headers.empty());
  auto got = run(io, http.async_request(HttpRequest{"GET", video->url, {}, {}, 5000ms}));
  ASSERT_TRUE(got);
  EXPECT_EQ(sha256_hex(got->body), e.emu->submissions().at(0).video_sha256);
  auto got_frame = run(io, http.async_request(HttpRequest{"GET", frame->url, {}, {}, 5000ms}));
  ASSERT_TRUE(got_frame);
  EXPECT_EQ(sha256_hex(got_frame->body), e.emu->submissions().at(0).cover_sha256);

  auto page = run(io, p.async_list(1, 50));
  ASSERT_TRUE(page) << page.error().describe();
  ASSERT_EQ(page->tasks.size(), 1u);
  EXPECT_EQ(page->tasks[0].remote_id, *id);
  EXPECT_EQ(page->tasks[0].created_at_ms, st.created_at_ms);
  EXPECT_FALSE(run(io, p.async_list(1, 101)));  // doc: 1-100

  auto bal = run(io, p.async_balance());
  ASSERT_TRUE(bal);
  EXPECT_DOUBLE_EQ(bal->used, 3.6);

  auto not_allowed = run(io, p.async_cancel(*id));
  ASSERT_FALSE(not_allowed);
  EXPECT_EQ(not_allowed.error().code, "TASK_CANCEL_NOT_ALLOWED");
  EXPECT_EQ(not_allowed.error().cls, ErrorClass::permanent);
  auto id2 = run(io, p.async_submit(req));
  ASSERT_TRUE(id2);
  auto cancelled = run(io, p.async_cancel(*id2));
  ASSERT_TRUE(cancelled) << cancelled.error().describe();
  EXPECT_EQ(cancelled->state, RemoteState::cancelled);

  // A bad key: auth, with the key nowhere in the message.
  ProfileConfig bad = prof;
  bad.api_key = "bad key with spaces";
  seedance2::Seedance2Provider pb(bad, http);
  auto denied = run(io, pb.async_balance());
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().cls, ErrorClass::auth);
  EXPECT_EQ(denied.error().describe().find("bad key"), std::string::npos);
}

}  // namespace
}  // namespace reelbatch::emulator
