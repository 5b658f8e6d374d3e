// Contract tests of the seedance2 adapter's pure functions against the API
// document (api-docs/003_a3f86ea388979b7c.txt). The JSON samples marked
// "doc <heading>" are copied verbatim from the document. No sockets, no sleeping.
// Request side (presign, upload, submit bodies, validation); the answers are
// parsed in seedance2_adapter_response_test.cpp.
#include "tests/seedance2_adapter_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>

namespace reelbatch::seedance2 {
namespace {
using namespace test_seedance2;

// ---- the document's own examples ---------------------------------------------------------

// doc 文件上传 成功响应
constexpr const char* kDocPresignOk = R"json({
"code": "200",
"message": "Success",
"result": {
"presigned_url": "https://s3.amazonaws.com/bucket/api/uploads/1/uuid_scene.png?X-Amz-...",
"file_path": "api/uploads/1/uuid_scene.png",
"expires_in": 3600
}
})json";

// doc 提交视频生成任务 (curl -d)
constexpr const char* kDocSubmitText = R"json({
"model": "seedance-2.0",
"content": [
{ "type": "text", "text": "A cat running under cherry blossoms, warm sunlight" }
],
"resolution": "720p",
"ratio": "16:9",
"duration": 8,
"generate_audio": false
})json";

// doc 图片生成视频(Python) json=
constexpr const char* kDocSubmitImage = R"json({
"model": "seedance-2.0",
"content": [
{"type": "image_url", "image_url": "api/uploads/1/uuid_character.png"},
{"type": "text", "text": "The character slowly turns around, wind blowing through hair"}
],
"resolution": "720p",
"ratio": "16:9",
"duration": 8
})json";

// doc 文本生成视频(Python) json=
constexpr const char* kDocSubmitSpaceship = R"json({
"model": "seedance-2.0",
"content": [
{"type": "text", "text": "A spaceship gliding past Saturn's rings, epic cinematic shot"}
],
"resolution": "720p",
"ratio": "21:9",
"duration": 10,
"generate_audio": true
})json";

// doc 提交视频生成任务 成功响应
constexpr const char* kDocSubmitOk = R"json({
"code": "200",
"message": "Success",
"result": {
"task_id": "a1b2c3d4e5f6...",
"status": "pending",
"credit_cost": 14.4
}
})json";

// ---- upload (doc 文件上传) ----------------------------------------------------------------

TEST(Seedance2Presign, ParsesDocExample) {
  auto r = parse_presign_response(200, kDocPresignOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->presigned_url, "https://s3.amazonaws.com/bucket/api/uploads/1/uuid_scene.png?X-Amz-...");
  EXPECT_EQ(r->file_path, "api/uploads/1/uuid_scene.png");
  EXPECT_EQ(r->expires_in, 3600);
}

TEST(Seedance2Presign, MissingFieldsAreRetryableBadResponse) {
  for (const char* body : {R"({"code":"200","message":"Success","result":{"file_path":"k"}})",
                           R"({"code":"200","message":"Success","result":{"presigned_url":"https://x/y"}})",
                           R"({"code":"200","message":"Success","result":null})", "not json"}) {
    auto r = parse_presign_response(200, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::retryable) << body;
    EXPECT_EQ(r.error().code, "bad_response") << body;
  }
  auto e = parse_presign_response(500, envelope("FILE_UPLOAD_FAILED", "Failed to generate upload URL"), kProfile);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().cls, ErrorClass::retryable);
  EXPECT_EQ(e.error().code, "FILE_UPLOAD_FAILED");
}

TEST(Seedance2Presign, PathMatchesDocQuery) {
  EXPECT_EQ(presign_path("scene.png", "image/png"),
            "/api/v1/video/upload/presign?filename=scene.png&content_type=image%2Fpng");
  EXPECT_EQ(presign_path("a b&c.png", "image/png"),
            "/api/v1/video/upload/presign?filename=a%20b%26c.png&content_type=image%2Fpng");
}

TEST(Seedance2Upload, ContentTypeTable) {
  EXPECT_EQ(content_type_for("a.png"), "image/png");
  EXPECT_EQ(content_type_for("a.JPG"), "image/jpeg");
  EXPECT_EQ(content_type_for("a.jpeg"), "image/jpeg");
  EXPECT_EQ(content_type_for("a.webp"), "image/webp");
  EXPECT_EQ(content_type_for("a.mp4"), "video/mp4");
  EXPECT_EQ(content_type_for("a.mov"), "video/quicktime");
  EXPECT_EQ(content_type_for("a.webm"), "video/webm");
  EXPECT_EQ(content_type_for("a.gif"), std::nullopt);
  EXPECT_EQ(content_type_for("a.mp3"), std::nullopt);
  EXPECT_TRUE(is_image_content_type("image/png"));
  EXPECT_FALSE(is_image_content_type("video/mp4"));
  EXPECT_TRUE(is_video_content_type("video/webm"));
}

TEST(Seedance2Upload, FileNameIsSafeAndAtMost128) {
  const std::string sha = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  EXPECT_EQ(upload_file_name("/in/scene.png", sha), "scene-a1b2c3d4e5f6.png");
  EXPECT_EQ(upload_file_name("/in/橘猫.WEBP", sha), "file-a1b2c3d4e5f6.webp");
  EXPECT_EQ(upload_file_name("/in/old map.png", sha), "old_map-a1b2c3d4e5f6.png");
  const std::string long_name = upload_file_name("/in/" + std::string(300, 'x') + ".webm", sha);
  EXPECT_EQ(long_name.size(), kMaxFileName);
  EXPECT_TRUE(long_name.ends_with("-a1b2c3d4e5f6.webm"));
}

TEST(Seedance2Upload, PutRequestCarriesNoApiKey) {
  PresignResult p{"https://s3.example.com/u?Signature=s", "api/uploads/1/x.png", 3600};
  auto req = build_upload_request(p, "image/png", "bytes", milliseconds(5000));
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.url, p.presigned_url);
  EXPECT_EQ(req.body, "bytes");
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].first, "Content-Type");
  EXPECT_EQ(req.headers[0].second, "image/png");
}

TEST(Seedance2Upload, PutStatusClasses) {
  EXPECT_FALSE(classify_upload_response(200, "", kProfile));
  EXPECT_EQ(classify_upload_response(403, "<Error/>", kProfile)->cls, ErrorClass::retryable);
  EXPECT_EQ(classify_upload_response(503, "", kProfile)->cls, ErrorClass::retryable);
  auto rl = classify_upload_response(429, "", kProfile, milliseconds(3000));
  EXPECT_EQ(rl->cls, ErrorClass::rate_limited);
  EXPECT_EQ(rl->retry_after, milliseconds(3000));
  EXPECT_EQ(classify_upload_response(400, "", kProfile)->cls, ErrorClass::permanent);
}

// ---- submit (doc 提交视频生成任务) ----------------------------------------------------------------

TEST(Seedance2Submit, TextToVideoBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec.prompt = "A cat running under cherry blossoms, warm sunlight";
  req.spec.model = "seedance-2.0";
  req.spec.resolution = "720";
  req.spec.aspect_ratio = "16:9";
  req.spec.duration_s = 8;
  req.spec.audio = false;
  const auto body = build_submit_body(req);
  const auto doc = json::parse(kDocSubmitText).as_object();
  for (const char* k : {"model", "content", "resolution", "ratio", "duration", "generate_audio"})
    EXPECT_EQ(body.at(k), doc.at(k)) << k;
  EXPECT_EQ(body, doc) << json::serialize(body);
}

TEST(Seedance2Submit, ImageToVideoBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec.prompt = "The character slowly turns around, wind blowing through hair";
  req.spec.model = "seedance-2.0";
  req.spec.resolution = "720p";
  req.spec.aspect_ratio = "16:9";
  req.spec.duration_s = 8;
  req.spec.images = {{"character", "/in/character.png"}};
  req.images = {{"character", "api/uploads/1/uuid_character.png"}};
  const auto body = build_submit_body(req);
  const auto doc = json::parse(kDocSubmitImage).as_object();
  const auto& content = body.at("content").as_array();
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0], doc.at("content").as_array()[0]);  // the reference first, as in the doc
  EXPECT_EQ(content[1], doc.at("content").as_array()[1]);
  EXPECT_FALSE(body.contains("generate_audio"));
  EXPECT_EQ(body, doc) << json::serialize(body);
}

TEST(Seedance2Submit, SpaceshipExampleAndExtras) {
  SubmitRequest req;
  req.spec.prompt = "A spaceship gliding past Saturn's rings, epic cinematic shot";
  req.spec.model = "seedance-2.0";
  req.spec.resolution = "720p";
  req.spec.aspect_ratio = "21:9";
  req.spec.duration_s = 10;
  req.spec.audio = true;
  EXPECT_EQ(build_submit_body(req), json::parse(kDocSubmitSpaceship).as_object());

  // seed, videos, audio URLs, 1080, and params passing through (overriding).
  req.spec.seed = -1;
  req.spec.resolution = "1080";
  req.spec.videos = {{"v", "/in/v.mp4"}};
  req.videos = {{"v", "api/uploads/1/x_v.mp4"}};
  req.audios = {{"a", "https://cdn.example.com/a.mp3"}};
  req.spec.params = json::object{{"return_last_frame", true},
                                 {"watermark", true},
                                 {"callback_url", "https://hooks.example.com/done"},
                                 {"duration", 12}};
  const auto body = build_submit_body(req);
  EXPECT_EQ(body.at("seed"), -1);
  EXPECT_EQ(body.at("resolution"), "1080p");
  EXPECT_EQ(body.at("duration"), 12);
  EXPECT_EQ(body.at("return_last_frame"), true);
  EXPECT_EQ(body.at("watermark"), true);
  EXPECT_EQ(body.at("callback_url"), "https://hooks.example.com/done");
  const auto& c = body.at("content").as_array();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], (json::object{{"type", "video_url"}, {"video_url", "api/uploads/1/x_v.mp4"}}));
  EXPECT_EQ(c[1], (json::object{{"type", "audio_url"}, {"audio_url", "https://cdn.example.com/a.mp3"}}));
  EXPECT_EQ(c[2].at("type"), "text");
  // No prompt: no text item.
  req.spec.prompt = "  ";
  EXPECT_EQ(build_submit_body(req).at("content").as_array().size(), 2u);
}

TEST(Seedance2Submit, ParsesDocExample) {
  auto r = parse_submit_response(200, kDocSubmitOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->task_id, "a1b2c3d4e5f6...");
  EXPECT_EQ(r->status, "pending");
  EXPECT_DOUBLE_EQ(*r->credit_cost, 14.4);
}

TEST(Seedance2Submit, UnusableSuccessIsUnknownOutcome) {
  for (const char* body : {"", "not json", R"({"code":"200","message":"Success"})",
                           R"({"code":"200","message":"Success","result":{}})",
                           R"({"code":"200","result":{"task_id":""}})", "[]"}) {
    auto r = parse_submit_response(200, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome) << body;
  }
  EXPECT_EQ(parse_submit_response(504, "<html>Gateway Timeout</html>", kProfile).error().cls,
            ErrorClass::unknown_outcome);
  EXPECT_EQ(parse_submit_response(502, "", kProfile).error().cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(parse_submit_response(500, envelope("INTERNAL_ERROR", "Internal server error"), kProfile).error().cls,
            ErrorClass::unknown_outcome);
  // Explicit "nothing created" answers are not.
  EXPECT_EQ(parse_submit_response(500, envelope("TASK_SUBMIT_FAILED", "x"), kProfile).error().cls,
            ErrorClass::retryable);
  EXPECT_EQ(parse_submit_response(503, envelope("SERVICE_BUSY", "x"), kProfile).error().cls, ErrorClass::retryable);
  EXPECT_EQ(parse_submit_response(503, "", kProfile).error().cls, ErrorClass::retryable);
  EXPECT_EQ(parse_submit_response(400, kDocError, kProfile).error().cls, ErrorClass::permanent);
}

TEST(Seedance2Submit, Case3_ConcurrencyLimitWithOrWithoutTaskId) {
  // "已达最大并发数,任务已排队": the task WAS queued. Without a task id the
  // outcome is unknown (reconcile through the task list), never "nothing
  // created" (issue 7, case 3: 401 tasks for 10 rows).
  for (int status : {429, 200}) {
    auto unknown = parse_submit_response(status, envelope("CONCURRENCY_LIMIT_REACHED", "Concurrency limit reached"),
                                         kProfile, milliseconds(5000));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().cls, ErrorClass::unknown_outcome) << status;
    EXPECT_EQ(unknown.error().code, "CONCURRENCY_LIMIT_REACHED");
    EXPECT_NE(unknown.error().message.find("reconcile"), std::string::npos) << unknown.error().message;
  }
  const std::string null_result = R"({"code":"CONCURRENCY_LIMIT_REACHED","message":"x","result":null})";
  EXPECT_EQ(parse_submit_response(429, null_result, kProfile).error().cls, ErrorClass::unknown_outcome);
  // A bare 429 on a submit may be the concurrency answer ("429 — 频率限制或并发限制").
  EXPECT_EQ(parse_submit_response(429, "", kProfile).error().cls, ErrorClass::unknown_outcome);
  // The documented rate-limit code created nothing.
  auto limited = parse_submit_response(429, envelope("RATE_LIMIT_EXCEEDED", "slow"), kProfile, milliseconds(5000));
  EXPECT_EQ(limited.error().cls, ErrorClass::rate_limited);
  EXPECT_EQ(limited.error().retry_after, milliseconds(5000));
  // A bare 500 ("服务器内部错误或提交失败") may have created the task.
  EXPECT_EQ(parse_submit_response(500, "", kProfile).error().cls, ErrorClass::unknown_outcome);
  // "任务已排队": a task id in the answer means the task exists.
  const std::string queued = R"({"code":"CONCURRENCY_LIMIT_REACHED","message":"queued",)"
                             R"("result":{"task_id":"t1","status":"queued"}})";
  auto accepted = parse_submit_response(429, queued, kProfile);
  ASSERT_TRUE(accepted) << accepted.error().describe();
  EXPECT_EQ(accepted->task_id, "t1");
}

// ---- price (doc 计费说明) ----------------------------------------------------------------------

TEST(Seedance2Price, DocTableAndEightSecondExamples) {
  const std::tuple<const char*, const char*, double, double> table[] = {
      {"seedance-2.0", "1080p", 4.5, 36.0},       {"seedance-2.0", "720p", 1.8, 14.4},
      {"seedance-2.0", "480p", 0.9, 7.2},         {"seedance-2.0-fast", "1080p", 3.312, 26.50},
      {"seedance-2.0-fast", "720p", 1.44, 11.52}, {"seedance-2.0-fast", "480p", 0.72, 5.76},
  };
  for (const auto& [model, res, per_s, eight] : table) {
    EXPECT_DOUBLE_EQ(*price_per_second(model, res), per_s) << model << " " << res;
    EXPECT_DOUBLE_EQ(*task_price(model, res, 8), eight) << model << " " << res;
  }
  EXPECT_EQ(price_per_second("seedance-3.0", "720p"), std::nullopt);
  EXPECT_EQ(task_price("seedance-2.0", "4k", 8), std::nullopt);
}

// ---- validation ----------------------------------------------------------------------------------

JobSpec good_spec() {
  JobSpec s;
  s.id = "row1";
  s.prompt = "A cat running under cherry blossoms, warm sunlight";
  s.model = "seedance-2.0";
  s.duration_s = 8;
  s.resolution = "720p";
  s.aspect_ratio = "16:9";
  return s;
}

TEST(Seedance2Validate, AcceptsDocRows) {
  EXPECT_TRUE(validate(good_spec()).empty());
  JobSpec s = good_spec();
  s.images = {{"character", "/in/character.png"}};
  s.videos = {{"v", "https://cdn.example.com/v.mp4"}};
  s.audios = {{"a", "https://cdn.example.com/a.mp3"}};
  s.seed = -1;
  s.audio = true;
  s.params = json::object{{"return_last_frame", true}, {"watermark", false}, {"callback_url", "https://h/x"}};
  EXPECT_TRUE(validate(s).empty());
  JobSpec refs_only;
  refs_only.images = {{"a", "/in/a.jpg"}};
  EXPECT_TRUE(validate(refs_only).empty());  // content needs only one item
  JobSpec defaults;
  defaults.prompt = "x";
  EXPECT_TRUE(validate(defaults).empty());
}

TEST(Seedance2Validate, DurationResolutionRatioModelSeedPrompt) {
  for (int d : {3, 16, 0}) {
    JobSpec s = good_spec();
    s.duration_s = d;
    EXPECT_TRUE(has_error(validate(s), "duration", "4-15 s")) << d;
  }
  for (int d : {4, 15}) {
    JobSpec s = good_spec();
    s.duration_s = d;
    EXPECT_TRUE(validate(s).empty()) << d;
  }
  for (const char* r : {"480", "480p", "720P", "1080", " 1080p "}) {
    JobSpec s = good_spec();
    s.resolution = r;
    EXPECT_TRUE(validate(s).empty()) << r;
  }
  JobSpec r = good_spec();
  r.resolution = "4k";
  EXPECT_TRUE(has_error(validate(r), "resolution", "480p, 720p or 1080p"));
  for (const char* ratio : {"16:9", "9:16", "4:3", "3:4", "1:1", "21:9"}) {
    JobSpec s = good_spec();
    s.aspect_ratio = ratio;
    EXPECT_TRUE(validate(s).empty()) << ratio;
  }
  JobSpec a = good_spec();
  a.aspect_ratio = "2:1";
  EXPECT_TRUE(has_error(validate(a), "aspect_ratio", "16:9, 9:16, 4:3, 3:4, 1:1 or 21:9"));
  JobSpec m = good_spec();
  m.model = "seedance-3.0";
  EXPECT_TRUE(has_error(validate(m), "model"));
  JobSpec sd = good_spec();
  sd.seed = -2;
  EXPECT_TRUE(has_error(validate(sd), "seed", "-1 or above"));
  JobSpec p = good_spec();
  p.prompt = "   ";
  EXPECT_TRUE(has_error(validate(p), "prompt"));
}

TEST(Seedance2Validate, AssetsAndParams) {
  JobSpec s = good_spec();
  s.images = {{"a", "/in/a.gif"}, {"b", ""}};
  s.videos = {{"v", "/in/v.avi"}};
  s.audios = {{"m", "/in/music.mp3"}};
  const auto errs = validate(s);
  EXPECT_TRUE(has_error(errs, "images", ".gif"));
  EXPECT_TRUE(has_error(errs, "images", "no file"));
  EXPECT_TRUE(has_error(errs, "videos", ".avi"));
  EXPECT_TRUE(has_error(errs, "audios", "URL"));

  JobSpec p = good_spec();
  p.params = json::object{{"callback_url", "https://h/" + std::string(600, 'x')},
                          {"watermark", "yes"},
                          {"return_last_frame", 1},
                          {"seed", -5},
                          {"duration", 20},
                          {"resolution", "720"},
                          {"ratio", "2:1"},
                          {"model", "x"}};
  const auto perrs = validate(p);
  EXPECT_TRUE(has_error(perrs, "params.callback_url", "512"));
  EXPECT_TRUE(has_error(perrs, "params.watermark"));
  EXPECT_TRUE(has_error(perrs, "params.return_last_frame"));
  EXPECT_TRUE(has_error(perrs, "params.seed"));
  EXPECT_TRUE(has_error(perrs, "params.duration"));
  EXPECT_TRUE(has_error(perrs, "params.resolution"));
  EXPECT_TRUE(has_error(perrs, "params.ratio"));
  EXPECT_TRUE(has_error(perrs, "params.model"));
  JobSpec c = good_spec();
  c.params = json::object{{"callback_url", "ftp://h/x"}};
  EXPECT_TRUE(has_error(validate(c), "params.callback_url", "http(s)"));
  c.params = json::object{{"callback_url", "https://h/" + std::string(502, 'x')}};  // exactly 512
  EXPECT_TRUE(validate(c).empty());
}

// ---- requests and the provider's static facts ---------------------------------------------------

TEST(Seedance2Requests, ApiRequestShape) {
  ProfileConfig prof;
  prof.name = "s2";
  prof.base_url = "http://127.0.0.1:8080/seedance2/";
  prof.api_key = "secret-key";
  prof.request_timeout = milliseconds(1234);
  const auto get = build_api_request(prof, "GET", kBalancePath);
  EXPECT_EQ(get.url, "http://127.0.0.1:8080/seedance2/api/v1/video/balance");
  EXPECT_EQ(get.timeout, milliseconds(1234));
  ASSERT_EQ(get.headers.size(), 2u);
  EXPECT_EQ(get.headers[0], (std::pair<std::string, std::string>{"X-API-Key", "secret-key"}));
  EXPECT_EQ(get.headers[1].first, "Accept");
  const auto post = build_api_request(prof, "POST", kSubmitPath, "{}");
  EXPECT_EQ(post.headers.back(), (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  for (const auto& [k, v] : post.headers) EXPECT_NE(k, "Authorization");
}

TEST(Seedance2Provider, StaticFacts) {
  ProfileConfig prof;
  prof.name = "s2";
  prof.kind = "seedance2";
  boost::asio::io_context io;
  HttpClient http(io.get_executor());
  auto p = make_seedance2_provider(prof, http);
  EXPECT_TRUE(p->has_task_list());
  EXPECT_EQ(p->default_url_ttl(), std::chrono::hours(24 * 7));
  EXPECT_EQ(p->default_poll().interval, milliseconds(5000));
  EXPECT_EQ(p->default_poll().max_interval, milliseconds(10000));
  TaskStatus s;
  s.state = RemoteState::succeeded;
  s.video_url = "https://cdn/v.mp4?token=t";
  EXPECT_EQ(p->download_target(s, OutputKind::video)->url, s.video_url);
  EXPECT_TRUE(p->download_target(s, OutputKind::video)->headers.empty());
  EXPECT_FALSE(p->download_target(s, OutputKind::last_frame));
  EXPECT_FALSE(p->download_target(s, OutputKind::cover));
  s.last_frame_url = "https://cdn/l.jpg?token=t";
  EXPECT_EQ(p->download_target(s, OutputKind::last_frame)->url, s.last_frame_url);
  EXPECT_NE(dynamic_cast<Seedance2Provider*>(p.get()), nullptr);  // async_cancel is reachable
}

}  // namespace
}  // namespace reelbatch::seedance2
