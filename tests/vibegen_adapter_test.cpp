// Contract tests of the vibegen adapter's pure functions against the API
// document (api-docs/002_df135de1b8378dda.txt). The JSON samples marked
// "doc N" are copied verbatim from that section. No sockets, no sleeping.
#include "providers/vibegen/vibegen.hpp"

#include "src/net/http_client.hpp"
#include "tests/support/adapter_test_helpers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>

namespace reelbatch::vibegen {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using adapter_test::has_error;

const std::string kProfile = "vibegen";

// ---- the document's own examples ------------------------------------------------------

// doc 1 文生视频(无声) (body)
constexpr const char* kDocSubmitSilent = R"json({ "model": "seedance 2.0", "prompt": "写实风格,晴朗的蓝天之下,一大片白色的雏菊花田,镜头逐渐拉近", "duration": 5, "aspect_ratio": "16:9", "resolution": "720p" })json";
// doc 1 文生视频(有声) (body)
constexpr const char* kDocSubmitAudio = R"json({ "model": "seedance 2.0", "prompt": "女孩抱着狐狸,可以听到风声和鸟鸣", "duration": 5, "aspect_ratio": "16:9", "generate_audio": true })json";
// doc 1 图生视频 (body)
constexpr const char* kDocSubmitImage = R"json({ "model": "seedance 2.0", "prompt": "女孩睁开眼,温柔地看向镜头,头发被风吹动", "image_urls": ["https://example.com/girl-with-fox.png"], "duration": 5, "aspect_ratio": "adaptive", "generate_audio": true })json";
// doc 1 成功响应 (201 Created)
constexpr const char* kDocCreated = R"json({ "success": true, "data": { "id": "550e8400-e29b-41d4-a716-446655440000", "status": "pending", "model": "seedance 2.0", "task_type": "text_to_video", "created_at": "2025-03-10T10:00:00Z" } })json";
// doc 1 错误响应
constexpr const char* kDocError400 = R"json({ "error": { "code": "INVALID_PARAMETER", "message": "Missing required parameters: model, prompt" } })json";
constexpr const char* kDocError401 = R"json({ "error": { "code": "INVALID_API_KEY", "message": "Invalid or missing API key" } })json";
constexpr const char* kDocError402 = R"json({ "error": { "code": "INSUFFICIENT_CREDITS", "message": "Insufficient credits. Required: 100, Available: 50" } })json";
// doc 2 任务进行中 / 任务完成 / 任务失败 / 任务不存在
constexpr const char* kDocProcessing = R"json({ "success": true, "data": { "id": "550e8400-e29b-41d4-a716-446655440000", "status": "processing", "model": "seedance 2.0", "task_type": "text_to_video", "prompt": "一座未来城市,飞行汽车在日落时分穿梭", "video_url": null, "created_at": "2025-03-10T10:00:00Z", "completed_at": null, "error": null } })json";
constexpr const char* kDocCompleted = R"json({ "success": true, "data": { "id": "550e8400-e29b-41d4-a716-446655440000", "status": "completed", "model": "seedance 2.0", "task_type": "text_to_video", "prompt": "一座未来城市,飞行汽车在日落时分穿梭", "video_url": "https://cdn.example.com/videos/abc123.mp4", "created_at": "2025-03-10T10:00:00Z", "completed_at": "2025-03-10T10:02:30Z", "error": null } })json";
constexpr const char* kDocFailed = R"json({ "success": true, "data": { "id": "550e8400-e29b-41d4-a716-446655440000", "status": "failed", "model": "seedance 2.0", "task_type": "text_to_video", "prompt": "一座未来城市,飞行汽车在日落时分穿梭", "video_url": null, "created_at": "2025-03-10T10:00:00Z", "completed_at": null, "error": "Content policy violation" } })json";
constexpr const char* kDocNotFound = R"json({ "error": { "code": "TASK_NOT_FOUND", "message": "Task not found" } })json";
// doc 3 响应示例
constexpr const char* kDocList = R"json({ "success": true, "data": { "tasks": [ { "id": "550e8400-e29b-41d4-a716-446655440000", "status": "completed", "model": "seedance 2.0", "task_type": "text_to_video", "prompt": "一座未来城市", "video_url": "https://cdn.example.com/videos/abc123.mp4", "created_at": "2025-03-10T10:00:00Z", "completed_at": "2025-03-10T10:02:30Z", "error": null } ], "pagination": { "page": 1, "pageSize": 10, "total": 1, "total_pages": 1 } } })json";
// doc 4 回调
constexpr const char* kDocCallbackDone = R"json({ "event": "task.completed", "task_id": "550e8400-e29b-41d4-a716-446655440000", "status": "completed", "video_url": "https://cdn.example.com/videos/abc123.mp4", "created_at": "2025-03-10T10:00:00Z", "completed_at": "2025-03-10T10:02:30Z" })json";
constexpr const char* kDocCallbackFailed = R"json({ "event": "task.failed", "task_id": "550e8400-e29b-41d4-a716-446655440000", "status": "failed", "error_message": "Content policy violation", "created_at": "2025-03-10T10:00:00Z", "failed_at": "2025-03-10T10:00:15Z" })json";

constexpr const char* kDocId = "550e8400-e29b-41d4-a716-446655440000";

std::int64_t doc_created_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>((sys_days(year{2025} / March / 10) + hours(10)).time_since_epoch()).count();
}

std::string error_body(const std::string& code, const std::string& message) {
  return json::serialize(json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

ProfileConfig test_profile() {
  return adapter_test::test_profile("vibegen", "http://127.0.0.1:8080/vibegen/api/v1", "sk-video-xxxxxxxxxxxxxxxx");
}

JobSpec good_spec() {
  JobSpec s;
  s.id = "row1";
  s.prompt = "一座未来城市,飞行汽车在日落时分穿梭";
  s.model = "seedance 2.0";
  s.duration_s = 5;
  s.resolution = "720p";
  s.aspect_ratio = "16:9";
  return s;
}

// ---- submit (doc 1) ----------------------------------------------------------------------

TEST(VibegenSubmit, SilentTextBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec = good_spec();
  req.spec.prompt = "写实风格,晴朗的蓝天之下,一大片白色的雏菊花田,镜头逐渐拉近";
  EXPECT_EQ(build_submit_body(req), json::parse(kDocSubmitSilent).as_object());
}

TEST(VibegenSubmit, AudioTextBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec.prompt = "女孩抱着狐狸,可以听到风声和鸟鸣";
  req.spec.duration_s = 5;
  req.spec.aspect_ratio = "16:9";
  req.spec.audio = true;  // no model: the documented one is sent
  EXPECT_EQ(build_submit_body(req), json::parse(kDocSubmitAudio).as_object());
}

TEST(VibegenSubmit, ImageBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec.prompt = "女孩睁开眼,温柔地看向镜头,头发被风吹动";
  req.spec.model = "seedance 2.0";
  req.spec.duration_s = 5;
  req.spec.aspect_ratio = "adaptive";
  req.spec.audio = true;
  req.spec.images = {{"girl", "https://example.com/girl-with-fox.png"}};
  req.images = {{"girl", "https://example.com/girl-with-fox.png"}};
  EXPECT_EQ(build_submit_body(req), json::parse(kDocSubmitImage).as_object());
}

TEST(VibegenSubmit, ResolutionIsNormalizedAndParamsPassThrough) {
  SubmitRequest req;
  req.spec = good_spec();
  req.spec.resolution = "1080";
  req.spec.audio = false;
  req.spec.params["callback_url"] = "https://vibegen.art/webhook";
  req.spec.params["duration"] = 10;  // a params key overrides the typed field
  const auto b = build_submit_body(req);
  EXPECT_EQ(b.at("resolution"), "1080p");
  EXPECT_EQ(b.at("generate_audio"), false);
  EXPECT_EQ(b.at("callback_url"), "https://vibegen.art/webhook");
  EXPECT_EQ(b.at("duration"), 10);
  EXPECT_FALSE(b.contains("image_urls"));
}

TEST(VibegenSubmit, ParsesDocExample) {
  auto r = parse_submit_response(201, kDocCreated, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, kDocId);
  auto r200 = parse_submit_response(200, kDocCreated, kProfile);  // any 2xx
  ASSERT_TRUE(r200);
}

TEST(VibegenSubmit, UnusableSuccessIsUnknownOutcome) {
  for (const char* body : {"", "<html>oops</html>", R"({"success":true})", R"({"success":true,"data":{}})",
                           R"({"success":false,"data":{"id":"x"}})", R"({"data":{"id":"x"}})"}) {
    auto r = parse_submit_response(201, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome) << body;
    EXPECT_EQ(r.error().code, "bad_response");
  }
}

TEST(VibegenSubmit, ServerErrorsAreUnknownOutcomeExcept503) {
  for (int st : {500, 502, 504}) {
    auto r = parse_submit_response(st, "", kProfile);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome) << st;
  }
  auto pe = parse_submit_response(502, error_body("PROVIDER_ERROR", "upstream down"), kProfile);
  EXPECT_EQ(pe.error().cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(pe.error().code, "PROVIDER_ERROR");
  auto ie = parse_submit_response(500, error_body("INTERNAL_ERROR", "boom"), kProfile);
  EXPECT_EQ(ie.error().cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(parse_submit_response(503, "busy", kProfile).error().cls, ErrorClass::retryable);
  // Business rejections stay what they are.
  EXPECT_EQ(parse_submit_response(400, kDocError400, kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_submit_response(402, kDocError402, kProfile).error().cls, ErrorClass::out_of_credit);
}

// ---- errors (doc 6) -------------------------------------------------------------------------

TEST(VibegenErrors, DocErrorExamples) {
  auto e400 = parse_submit_response(400, kDocError400, kProfile).error();
  EXPECT_EQ(e400.cls, ErrorClass::permanent);
  EXPECT_EQ(e400.code, "INVALID_PARAMETER");
  EXPECT_EQ(e400.http_status, 400);
  EXPECT_NE(e400.message.find("Missing required parameters: model, prompt"), std::string::npos);
  auto e401 = parse_submit_response(401, kDocError401, kProfile).error();
  EXPECT_EQ(e401.cls, ErrorClass::auth);
  EXPECT_EQ(e401.code, "INVALID_API_KEY");
  auto e402 = parse_submit_response(402, kDocError402, kProfile).error();
  EXPECT_EQ(e402.cls, ErrorClass::out_of_credit);
  EXPECT_NE(e402.message.find("Required: 100, Available: 50"), std::string::npos);
  auto e404 = parse_task_response(404, kDocNotFound, kProfile).error();
  EXPECT_EQ(e404.cls, ErrorClass::permanent);
  EXPECT_EQ(e404.code, "TASK_NOT_FOUND");
  EXPECT_EQ(e404.provider, "vibegen");
}

TEST(VibegenErrors, EveryDocumentedCodeOnAQuery) {
  const std::tuple<const char*, int, ErrorClass> rows[] = {
      {"INVALID_API_KEY", 401, ErrorClass::auth},
      {"INVALID_PARAMETER", 400, ErrorClass::permanent},
      {"INSUFFICIENT_CREDITS", 402, ErrorClass::out_of_credit},
      {"TASK_NOT_FOUND", 404, ErrorClass::permanent},
      {"RATE_LIMIT_EXCEEDED", 429, ErrorClass::rate_limited},
      {"PROVIDER_ERROR", 502, ErrorClass::retryable},
      {"INTERNAL_ERROR", 500, ErrorClass::retryable},
  };
  for (const auto& [code, status, cls] : rows) {
    auto r = parse_task_response(status, error_body(code, "m"), kProfile, milliseconds(3000));
    ASSERT_FALSE(r) << code;
    EXPECT_EQ(r.error().cls, cls) << code;
    EXPECT_EQ(r.error().code, code);
    EXPECT_EQ(r.error().http_status, status);
    const bool keeps = cls == ErrorClass::rate_limited || cls == ErrorClass::retryable;
    EXPECT_EQ(r.error().retry_after.has_value(), keeps) << code;
  }
}

TEST(VibegenErrors, RateLimitOnSubmitCarriesRetryAfter) {
  auto r = parse_submit_response(429, error_body("RATE_LIMIT_EXCEEDED", "slow down"), kProfile, milliseconds(7000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::rate_limited);
  EXPECT_EQ(r.error().retry_after, milliseconds(7000));
  // 429 without an envelope too.
  EXPECT_EQ(parse_task_response(429, "Too Many Requests", kProfile).error().cls, ErrorClass::rate_limited);
}

TEST(VibegenErrors, UndocumentedCodesAndBareStatuses) {
  EXPECT_EQ(parse_task_response(403, "forbidden", kProfile).error().cls, ErrorClass::auth);
  EXPECT_EQ(parse_task_response(401, "", kProfile).error().cls, ErrorClass::auth);
  EXPECT_EQ(parse_task_response(402, "", kProfile).error().cls, ErrorClass::out_of_credit);
  EXPECT_EQ(parse_task_response(404, "<html/>", kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_task_response(408, "", kProfile).error().cls, ErrorClass::retryable);
  EXPECT_EQ(parse_task_response(503, "", kProfile).error().cls, ErrorClass::retryable);
  EXPECT_EQ(parse_task_response(502, "", kProfile).error().cls, ErrorClass::retryable);  // not a submit
  EXPECT_EQ(parse_task_response(418, error_body("TEAPOT", "x"), kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_task_response(500, error_body("NEW_THING", "x"), kProfile).error().cls, ErrorClass::retryable);
  const auto e = parse_task_response(400, "", kProfile).error();
  EXPECT_EQ(e.code, "http");
  EXPECT_EQ(e.cls, ErrorClass::permanent);
}

TEST(VibegenErrors, MalformedBodiesAreRetryableForQueries) {
  for (const char* body : {"", "not json", "[]", R"({"success":true})", R"({"success":true,"data":{"status":"pending"}})",
                           R"({"success":true,"data":{"id":"x"}})",
                           R"({"success":true,"data":{"id":"x","status":"pending","created_at":"yesterday"}})",
                           R"({"success":true,"data":{"id":"x","status":"pending","video_url":5}})",
                           R"({"success":true,"data":{"id":"x","status":"completed","video_url":null}})"}) {
    auto r = parse_task_response(200, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::retryable) << body;
    EXPECT_EQ(r.error().code, "bad_response") << body;
  }
}

TEST(VibegenErrors, NetworkErrors) {
  const NetError sent{NetErrc::timeout, true, "timed out"};
  const NetError refused{NetErrc::connect, false, "connection refused"};
  EXPECT_EQ(from_net_error(sent, kProfile, true).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(from_net_error(refused, kProfile, true).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(sent, kProfile, false).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(sent, kProfile, false).code, "timeout");
  EXPECT_EQ(from_net_error(refused, kProfile, false).code, "network");
  EXPECT_EQ(from_net_error(NetError{NetErrc::bad_url, false, "bad"}, kProfile, false).cls, ErrorClass::permanent);
  const auto e = from_net_error(NetError{NetErrc::connect, false, "GET https://x/v.mp4?token=SECRET"}, kProfile, false);
  EXPECT_EQ(e.message.find("SECRET"), std::string::npos) << e.message;
}

// ---- query, list (doc 2, 3, 5) ------------------------------------------------------------------

TEST(VibegenQuery, ParsesDocExamples) {
  auto p = parse_task_response(200, kDocProcessing, kProfile);
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->remote_id, kDocId);
  EXPECT_EQ(p->state, RemoteState::running);
  EXPECT_EQ(p->native_state, "processing");
  EXPECT_TRUE(p->video_url.empty());
  EXPECT_EQ(p->created_at_ms, doc_created_ms());
  EXPECT_FALSE(p->cost);

  auto c = parse_task_response(200, kDocCompleted, kProfile);
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->state, RemoteState::succeeded);
  EXPECT_EQ(c->video_url, "https://cdn.example.com/videos/abc123.mp4");
  EXPECT_TRUE(c->cover_url.empty());
  EXPECT_TRUE(c->error_message.empty());

  auto f = parse_task_response(200, kDocFailed, kProfile);
  ASSERT_TRUE(f) << f.error().describe();
  EXPECT_EQ(f->state, RemoteState::failed);
  EXPECT_EQ(f->error_message, "Content policy violation");
  EXPECT_EQ(f->error_code, "");
}

TEST(VibegenQuery, AllFourStates) {
  const std::pair<const char*, RemoteState> states[] = {{"pending", RemoteState::queued},
                                                        {"processing", RemoteState::running},
                                                        {"completed", RemoteState::succeeded},
                                                        {"failed", RemoteState::failed}};
  for (const auto& [word, st] : states) {
    EXPECT_EQ(map_state(word), st) << word;
    EXPECT_TRUE(is_documented_state(word)) << word;
  }
  EXPECT_EQ(map_state("COMPLETED"), RemoteState::succeeded);
  EXPECT_EQ(map_state("warming_up"), RemoteState::running);
  EXPECT_FALSE(is_documented_state("queued"));
}

TEST(VibegenQuery, ErrorMessageFieldAndRetryability) {
  auto r = parse_task_response(
      200, R"({"success":true,"data":{"id":"t","status":"failed","error_message":"Generation timed out after 10 minutes"}})",
      kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->error_message, "Generation timed out after 10 minutes");
  EXPECT_TRUE(is_retryable_task_error(r->error_message));
  EXPECT_TRUE(is_retryable_task_error("Upstream provider error"));
  EXPECT_TRUE(is_retryable_task_error("任务超时"));
  EXPECT_TRUE(is_retryable_task_error("INTERNAL_ERROR"));
  EXPECT_FALSE(is_retryable_task_error("Content policy violation"));
  EXPECT_FALSE(is_retryable_task_error(""));
}

TEST(VibegenQuery, Iso8601) {
  const std::int64_t base = doc_created_ms();
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T10:00:00Z"), base);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T10:02:30Z"), base + 150000);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T10:00:00.250Z"), base + 250);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T10:00:00.123456Z"), base + 123);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T18:00:00+08:00"), base);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T05:30:00-04:30"), base);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10 10:00:00"), base);
  EXPECT_EQ(parse_iso8601_ms("2025-02-30T10:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T10:00:00X"), std::nullopt);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10"), std::nullopt);
  EXPECT_EQ(parse_iso8601_ms("2025-03-10T10:00:00."), std::nullopt);
}

TEST(VibegenQuery, Paths) {
  EXPECT_EQ(task_path(kDocId), "/tasks/550e8400-e29b-41d4-a716-446655440000");
  EXPECT_EQ(task_path("a/b c"), "/tasks/a%2Fb%20c");
  EXPECT_EQ(task_list_path(10, 0, "completed"), "/tasks?status=completed&limit=10&offset=0");
  EXPECT_EQ(task_list_path(50, 100), "/tasks?limit=50&offset=100");
}

TEST(VibegenList, ParsesDocExample) {
  auto r = parse_task_list_response(200, kDocList, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->tasks.size(), 1u);
  EXPECT_EQ(r->total, 1);
  EXPECT_EQ(r->tasks[0].remote_id, kDocId);
  EXPECT_EQ(r->tasks[0].state, RemoteState::succeeded);
  EXPECT_EQ(r->tasks[0].created_at_ms, doc_created_ms());
}

TEST(VibegenList, EmptyAndMalformedPages) {
  auto empty = parse_task_list_response(200, R"({"success":true,"data":{"tasks":[],"pagination":{"total":0}}})", kProfile);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->tasks.empty());
  auto no_pagination = parse_task_list_response(
      200, R"({"success":true,"data":{"tasks":[{"id":"a","status":"pending"},{"id":"b","status":"completed"}]}})",
      kProfile);
  ASSERT_TRUE(no_pagination) << no_pagination.error().describe();
  EXPECT_EQ(no_pagination->total, 2);  // a completed item without video_url is accepted in a list
  for (const char* body : {R"({"success":true,"data":{"tasks":{}}})", R"({"success":true,"data":{"tasks":[{"id":"a"}]}})",
                           R"({"success":true,"data":{"tasks":[],"pagination":{"total":"many"}}})",
                           R"({"success":true,"data":null})"}) {
    auto r = parse_task_list_response(200, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::retryable) << body;
  }
}

// ---- callbacks (doc 4) ----------------------------------------------------------------------------

TEST(VibegenCallback, ParsesDocExamples) {
  auto done = parse_callback(kDocCallbackDone);
  ASSERT_TRUE(done) << done.error();
  EXPECT_EQ(done->remote_id, kDocId);
  EXPECT_EQ(done->state, RemoteState::succeeded);
  EXPECT_EQ(done->video_url, "https://cdn.example.com/videos/abc123.mp4");
  EXPECT_EQ(done->created_at_ms, doc_created_ms());
  auto failed = parse_callback(kDocCallbackFailed);
  ASSERT_TRUE(failed) << failed.error();
  EXPECT_EQ(failed->state, RemoteState::failed);
  EXPECT_EQ(failed->error_message, "Content policy violation");
  EXPECT_FALSE(parse_callback("nope"));
  EXPECT_FALSE(parse_callback(R"({"event":"task.completed","task_id":"x","status":"completed"})"));
}

// ---- validation (doc 1, 8) ---------------------------------------------------------------------

TEST(VibegenValidate, AcceptsDocRows) {
  EXPECT_TRUE(validate(good_spec()).empty());
  JobSpec img = good_spec();
  img.aspect_ratio = "adaptive";
  img.audio = true;
  img.images = {{"girl", "https://example.com/girl-with-fox.png"}};
  img.params["callback_url"] = "https://vibegen.art/webhook";
  EXPECT_TRUE(validate(img).empty());
  JobSpec bare;
  bare.prompt = "x";  // every optional field left to vibegen's defaults
  EXPECT_TRUE(validate(bare).empty());
  for (const char* r : {"16:9", "9:16", "1:1", "21:9", "4:3", "3:4", "9:21", "adaptive", "keep_ratio"}) {
    JobSpec s = good_spec();
    s.aspect_ratio = r;
    EXPECT_TRUE(validate(s).empty()) << r;
  }
}

TEST(VibegenValidate, DurationResolutionRatioModel) {
  for (int d : {4, 6, 15}) {
    JobSpec s = good_spec();
    s.duration_s = d;
    EXPECT_TRUE(has_error(validate(s), "duration", "5 or 10")) << d;
  }
  for (const char* r : {"480", "480p", "720P", " 1080p "}) {
    JobSpec s = good_spec();
    s.resolution = r;
    EXPECT_TRUE(validate(s).empty()) << r;
  }
  EXPECT_EQ(normalize_resolution("720"), "720p");
  EXPECT_EQ(normalize_resolution("1080P"), "1080p");
  EXPECT_EQ(normalize_resolution("4k"), std::nullopt);
  JobSpec s = good_spec();
  s.resolution = "4k";
  s.aspect_ratio = "2:1";
  s.model = "seedance-2.0";
  s.seed = 7;
  const auto errs = validate(s);
  EXPECT_TRUE(has_error(errs, "resolution", "480p, 720p or 1080p"));
  EXPECT_TRUE(has_error(errs, "aspect_ratio", "keep_ratio"));
  EXPECT_TRUE(has_error(errs, "model", "seedance 2.0"));
  EXPECT_TRUE(has_error(errs, "seed"));
}

TEST(VibegenValidate, PromptLengthCountsCharacters) {
  JobSpec s = good_spec();
  s.prompt.clear();
  for (int i = 0; i < 2000; ++i) s.prompt += "城";  // 2000 characters, 6000 bytes
  EXPECT_TRUE(validate(s).empty());
  s.prompt += "a";
  EXPECT_TRUE(has_error(validate(s), "prompt", "2000 characters (got 2001)"));
  s.prompt = "  ";
  EXPECT_TRUE(has_error(validate(s), "prompt", "requires a prompt"));
  EXPECT_EQ(utf8_length("a城b"), 3u);
}

TEST(VibegenValidate, ImagesMustBeHttpsUrls) {
  JobSpec s = good_spec();
  s.images = {{"local", "/data/cat.png"}};
  EXPECT_TRUE(has_error(validate(s), "images", "vibegen has no upload API; use an https URL"));
  s.images = {{"plain", "http://example.com/cat.png?sig=SECRET"}};
  const auto errs = validate(s);
  EXPECT_TRUE(has_error(errs, "images", "https"));
  for (const auto& e : errs) EXPECT_EQ(e.reason.find("SECRET"), std::string::npos);
  s.images = {};
  s.videos = {{"v", "https://x/v.mp4"}};
  s.audios = {{"a", "https://x/a.mp3"}};
  EXPECT_TRUE(has_error(validate(s), "videos"));
  EXPECT_TRUE(has_error(validate(s), "audios"));
}

TEST(VibegenValidate, CallbackUrlParam) {
  JobSpec s = good_spec();
  s.params["callback_url"] = 5;
  EXPECT_TRUE(has_error(validate(s), "params", "callback_url"));
  s.params["callback_url"] = "ftp://x";
  EXPECT_TRUE(has_error(validate(s), "params", "callback_url"));
  s.params["callback_url"] = "http://127.0.0.1:9/hook";
  EXPECT_TRUE(validate(s).empty());
}

TEST(VibegenCredits, DocTable) {
  EXPECT_EQ(credit_cost("480p", 5, true), 20);
  EXPECT_EQ(credit_cost("480p", 5, false), 15);
  EXPECT_EQ(credit_cost("720p", 5, true), 43);
  EXPECT_EQ(credit_cost("720p", 5, false), 30);
  EXPECT_EQ(credit_cost("1080p", 5, true), 90);
  EXPECT_EQ(credit_cost("1080p", 5, false), 50);
  EXPECT_EQ(credit_cost("480", 10, true), 40);
  EXPECT_EQ(credit_cost("480p", 10, false), 25);
  EXPECT_EQ(credit_cost("720p", 10, true), 86);
  EXPECT_EQ(credit_cost("720p", 10, false), 45);
  EXPECT_EQ(credit_cost("1080p", 10, true), 180);
  EXPECT_EQ(credit_cost("1080p", 10, false), 100);
  EXPECT_EQ(credit_cost("1080p", 7, false), std::nullopt);
  EXPECT_EQ(credit_cost("4k", 5, false), std::nullopt);
}

// ---- requests and the provider object ---------------------------------------------------------------

TEST(VibegenRequests, ApiRequestShape) {
  const auto p = test_profile();
  auto post = build_api_request(p, "POST", kGenerationsPath, "{}");
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "http://127.0.0.1:8080/vibegen/api/v1/generations");
  EXPECT_EQ(post.timeout, milliseconds(12000));
  const auto header = adapter_test::header_of;
  EXPECT_EQ(header(post, "Authorization"), "Bearer sk-video-xxxxxxxxxxxxxxxx");
  EXPECT_EQ(header(post, "Content-Type"), "application/json");
  auto get = build_api_request(p, "GET", task_path("t1"));
  EXPECT_EQ(get.url, "http://127.0.0.1:8080/vibegen/api/v1/tasks/t1");
  EXPECT_EQ(header(get, "Content-Type"), "<absent>");
  auto slash = p;
  slash.base_url += "/";
  EXPECT_EQ(build_api_request(slash, "GET", task_list_path(20, 0)).url,
            "http://127.0.0.1:8080/vibegen/api/v1/tasks?limit=20&offset=0");
}

TEST(VibegenProvider, StaticFacts) {
  boost::asio::io_context ioc;
  HttpClient http(ioc.get_executor());
  auto p = make_vibegen_provider(test_profile(), http);
  EXPECT_EQ(p->profile().name, "vibegen");
  EXPECT_TRUE(p->has_task_list());
  const PollPolicy poll = p->default_poll();
  EXPECT_EQ(poll.first_wait, milliseconds(5000));
  EXPECT_EQ(poll.interval, milliseconds(5000));
  EXPECT_EQ(poll.max_interval, milliseconds(10000));
  EXPECT_EQ(p->default_url_ttl(), std::chrono::hours(24));
  EXPECT_TRUE(p->validate(good_spec()).empty());

  auto t = parse_task_response(200, kDocCompleted, kProfile);
  ASSERT_TRUE(t);
  auto v = p->download_target(*t, OutputKind::video);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->url, "https://cdn.example.com/videos/abc123.mp4");
  EXPECT_TRUE(v->headers.empty());
  EXPECT_FALSE(p->download_target(*t, OutputKind::cover));
  EXPECT_FALSE(p->download_target(*t, OutputKind::last_frame));

  TaskStatus failed;
  failed.state = RemoteState::failed;
  failed.error_message = "Generation timed out after 10 minutes";
  EXPECT_TRUE(p->is_retryable_failure(failed));
  failed.error_message = "Content policy violation";
  EXPECT_FALSE(p->is_retryable_failure(failed));
}

TEST(VibegenProvider, UploadIsALocalErrorWithoutRequests) {
  boost::asio::io_context ioc;
  HttpClient http(ioc.get_executor());
  auto p = make_vibegen_provider(test_profile(), http);
  LocalAsset a;
  a.name = "cat";
  a.path = "/tmp/cat.png";
  std::optional<ProviderResult<std::string>> got;
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { got.emplace(co_await p->async_upload(a)); },
      [](std::exception_ptr e) { EXPECT_FALSE(e); });
  ioc.run();
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().cls, ErrorClass::permanent);
  EXPECT_EQ(got->error().code, "local");
  EXPECT_NE(got->error().message.find("vibegen has no upload API; use an https URL"), std::string::npos);
}

}  // namespace
}  // namespace reelbatch::vibegen
