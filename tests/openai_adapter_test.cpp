// Contract tests of the openai adapter's pure functions against the API
// document (api-docs/004_0361e29f745deffc.txt). The JSON samples marked
// "doc" are copied verbatim from it. No sockets, no sleeping.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "providers/openai/openai.hpp"
#include "src/net/http_client.hpp"
#include "tests/support/adapter_test_helpers.hpp"

namespace reelbatch::openai {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using adapter_test::has_error;

const std::string kProfile = "relay";

// ---- the document's own examples ------------------------------------------------------

// doc step 1, Python/TypeScript request body
constexpr const char* kDocSubmitBody = R"json({
"model": "sora-2",
"prompt": "A cinematic shot of a cat walking through a sunlit garden, 4K, smooth motion",
"duration": 5
})json";

// doc step 1 提交响应
constexpr const char* kDocSubmitOk = R"json({
"id": "video-task-abc123",
"task_id": "video-task-abc123",
"object": "video",
"model": "sora-2",
"status": "queued",
"created": 1714000000
})json";

// doc step 2 完成响应
constexpr const char* kDocCompleted = R"json({
"id": "video-task-abc123",
"status": "completed",
"data": [
{ "url": "https://www.yuzhixiaolongxia.com/v1/files/video-abc.mp4", "duration": 5 }
]
})json";

// OpenAI's own video object (GET /v1/videos/{id}), completed: no URL field.
constexpr const char* kOpenAiCompleted = R"json({
"id": "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5",
"object": "video",
"created_at": 1758941485,
"status": "completed",
"completed_at": 1758941600,
"expires_at": 1759027885,
"model": "sora-2",
"progress": 100,
"seconds": "8",
"size": "1280x720",
"error": null
})json";

ProfileConfig profile(std::string base_url = "https://www.yuzhixiaolongxia.com/v1") {
  ProfileConfig p;
  p.name = kProfile;
  p.kind = "openai";
  p.base_url = std::move(base_url);
  p.api_key = "sk-secret-key-0123456789";
  return p;
}

JobSpec spec(std::string model = "sora-2", std::string prompt = "a cat") {
  JobSpec s;
  s.id = "row1";
  s.model = std::move(model);
  s.prompt = std::move(prompt);
  return s;
}

// ---- URLs -----------------------------------------------------------------------------------

TEST(OpenAiUrls, BaseUrlWithOrWithoutV1) {
  EXPECT_EQ(api_url("https://www.yuzhixiaolongxia.com/v1", "/v1/videos"), "https://www.yuzhixiaolongxia.com/v1/videos");
  EXPECT_EQ(api_url("https://www.yuzhixiaolongxia.com/v1/", "/v1/videos"),
            "https://www.yuzhixiaolongxia.com/v1/videos");
  EXPECT_EQ(api_url("https://www.yuzhixiaolongxia.com", "/v1/videos"), "https://www.yuzhixiaolongxia.com/v1/videos");
  EXPECT_EQ(api_url("http://127.0.0.1:8080/openai", "/v1/videos/x/content"),
            "http://127.0.0.1:8080/openai/v1/videos/x/content");
  EXPECT_EQ(api_url("http://127.0.0.1:8080/openai/v1", "/v1/models"), "http://127.0.0.1:8080/openai/v1/models");
}

TEST(OpenAiUrls, SameOrigin) {
  EXPECT_TRUE(
      same_origin("https://www.yuzhixiaolongxia.com/v1/files/video-abc.mp4", "https://www.yuzhixiaolongxia.com/v1"));
  EXPECT_TRUE(same_origin("https://WWW.yuzhixiaolongxia.com:443/x", "https://www.yuzhixiaolongxia.com"));
  EXPECT_TRUE(same_origin("http://127.0.0.1:9/openai/cdn/a.mp4?x=1", "http://127.0.0.1:9/openai"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:10/x", "http://127.0.0.1:9/openai"));
  EXPECT_FALSE(same_origin("http://www.yuzhixiaolongxia.com/x", "https://www.yuzhixiaolongxia.com/v1"));
  EXPECT_FALSE(same_origin("https://cdn.example.com/v.mp4", "https://www.yuzhixiaolongxia.com/v1"));
  EXPECT_FALSE(same_origin("https://www.yuzhixiaolongxia.com.evil.com/x", "https://www.yuzhixiaolongxia.com/v1"));
  EXPECT_FALSE(same_origin("/relative", "https://www.yuzhixiaolongxia.com/v1"));
}

TEST(OpenAiUrls, DialectByHost) {
  EXPECT_EQ(dialect_for("https://api.openai.com/v1"), Dialect::openai);
  EXPECT_EQ(dialect_for("https://API.OpenAI.com"), Dialect::openai);
  EXPECT_EQ(dialect_for("https://www.yuzhixiaolongxia.com/v1"), Dialect::relay);
  EXPECT_EQ(dialect_for("http://127.0.0.1:8080/openai"), Dialect::relay);
}

TEST(OpenAiUrls, TaskPathsArePercentEncoded) {
  EXPECT_EQ(task_path("video-task-abc123"), "/v1/videos/video-task-abc123");
  EXPECT_EQ(content_path("video-task-abc123"), "/v1/videos/video-task-abc123/content");
  EXPECT_EQ(task_path("a/b c"), "/v1/videos/a%2Fb%20c");
}

// ---- submit -----------------------------------------------------------------------------------

TEST(OpenAiSubmit, DocRequestBodyFieldByField) {
  SubmitRequest req;
  req.spec = spec("sora-2", "A cinematic shot of a cat walking through a sunlit garden, 4K, smooth motion");
  req.spec.duration_s = 5;
  const json::object got = build_submit_body(req, Dialect::relay);
  EXPECT_EQ(json::value(got), json::parse(kDocSubmitBody));
}

TEST(OpenAiSubmit, RelayFieldsSizeSeedAndParams) {
  SubmitRequest req;
  req.spec = spec("veo_3_1-fast");
  req.spec.duration_s = 8;
  req.spec.resolution = "720p";
  req.spec.aspect_ratio = "9:16";
  req.spec.seed = 42;
  req.spec.params = {{"enhance_prompt", true}, {"duration", 6}};
  const json::object got = build_submit_body(req, Dialect::relay);
  EXPECT_EQ(got.at("model"), "veo_3_1-fast");
  EXPECT_EQ(got.at("size"), "720x1280");
  EXPECT_EQ(got.at("seed"), 42);
  EXPECT_EQ(got.at("enhance_prompt"), true);
  EXPECT_EQ(got.at("duration"), 6);  // params override the typed field
  EXPECT_FALSE(got.contains("seconds"));
}

TEST(OpenAiSubmit, OpenAiDialectUsesSecondsAsString) {
  SubmitRequest req;
  req.spec = spec("sora-2-pro");
  req.spec.duration_s = 8;
  req.spec.resolution = "1792x1024";
  req.spec.seed = 1;  // validate() rejects it; the builder leaves it out
  const json::object got = build_submit_body(req, Dialect::openai);
  EXPECT_EQ(got.at("seconds"), "8");
  EXPECT_EQ(got.at("size"), "1792x1024");
  EXPECT_FALSE(got.contains("duration"));
  EXPECT_FALSE(got.contains("seed"));
}

TEST(OpenAiSubmit, JsonPayloadWithoutFile) {
  const json::object fields{{"model", "sora-2"}, {"prompt", "p"}, {"duration", 5}};
  const Body b = build_submit_payload(fields, std::nullopt, "XYZ");
  EXPECT_EQ(b.content_type, "application/json");
  EXPECT_EQ(json::parse(b.bytes), json::value(fields));
}

TEST(OpenAiSubmit, MultipartPayloadWithInputReference) {
  const json::object fields{{"model", "sora-2"}, {"prompt", "猫 \"quoted\""}, {"duration", 5}};
  FilePart f;
  f.filename = "ref \"1\".png";
  f.content_type = "image/png";
  f.bytes = std::string("\x89PNG\r\n\x1a\n\0data", 13);
  const Body b = build_submit_payload(fields, f, "BOUNDARY42");
  EXPECT_EQ(b.content_type, "multipart/form-data; boundary=BOUNDARY42");
  const std::string expected =
      "--BOUNDARY42\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nsora-2\r\n"
      "--BOUNDARY42\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n猫 \"quoted\"\r\n"
      "--BOUNDARY42\r\nContent-Disposition: form-data; name=\"duration\"\r\n\r\n5\r\n"
      "--BOUNDARY42\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"ref _1_.png\"\r\n"
      "Content-Type: image/png\r\n\r\n" +
      f.bytes + "\r\n--BOUNDARY42--\r\n";
  EXPECT_EQ(b.bytes, expected);
  EXPECT_NE(make_boundary(), make_boundary());
  EXPECT_EQ(make_boundary().size(), std::string("----reelbatch").size() + 32);
}

TEST(OpenAiSubmit, ParseDocSubmitAnswer) {
  auto id = parse_submit_response(200, kDocSubmitOk, kProfile);
  ASSERT_TRUE(id) << id.error().describe();
  EXPECT_EQ(*id, "video-task-abc123");
}

TEST(OpenAiSubmit, IdFirstThenTaskId) {
  auto a = parse_submit_response(200, R"({"id":"A","task_id":"B"})", kProfile);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "A");
  auto b = parse_submit_response(200, R"({"task_id":"B","status":"queued"})", kProfile);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "B");
  auto c = parse_submit_response(200, R"({"id":"","task_id":12345})", kProfile);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "12345");
}

TEST(OpenAiSubmit, NoIdIsUnknownOutcomeWithTheBody) {
  auto r = parse_submit_response(200, R"({"object":"video","status":"queued"})", kProfile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome);
  EXPECT_NE(r.error().message.find("\"status\":\"queued\""), std::string::npos) << r.error().message;
  for (const char* body : {"", "<html>ok</html>", "[1,2]"}) {
    auto e = parse_submit_response(200, body, kProfile);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().cls, ErrorClass::unknown_outcome) << body;
    EXPECT_EQ(e.error().code, "bad_response");
  }
}

// ---- states and URLs ------------------------------------------------------------------------------

TEST(OpenAiQuery, EveryDocumentedState) {
  struct Row {
    const char* word;
    RemoteState without_url, with_url;
  };
  const Row rows[] = {
      {"queued", RemoteState::queued, RemoteState::queued},
      {"pending", RemoteState::queued, RemoteState::queued},
      {"in_progress", RemoteState::running, RemoteState::running},
      {"processing", RemoteState::running, RemoteState::running},
      {"completed", RemoteState::succeeded, RemoteState::succeeded},
      {"succeeded", RemoteState::succeeded, RemoteState::succeeded},
      {"success", RemoteState::succeeded, RemoteState::succeeded},
      {"unknown", RemoteState::running, RemoteState::succeeded},
      {"failed", RemoteState::failed, RemoteState::failed},
      {"cancelled", RemoteState::cancelled, RemoteState::cancelled},
  };
  for (const auto& r : rows) {
    EXPECT_TRUE(is_documented_state(r.word)) << r.word;
    EXPECT_EQ(map_state(r.word, false), r.without_url) << r.word;
    EXPECT_EQ(map_state(r.word, true), r.with_url) << r.word;
  }
  EXPECT_EQ(map_state("COMPLETED", false), RemoteState::succeeded);
  EXPECT_EQ(map_state("canceled", false), RemoteState::cancelled);
  EXPECT_FALSE(is_documented_state("rendering"));
  EXPECT_EQ(map_state("rendering", true), RemoteState::running);
}

TEST(OpenAiQuery, DocCompletedAnswer) {
  auto t = parse_task_response(200, kDocCompleted, kProfile, "video-task-abc123");
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(t->remote_id, "video-task-abc123");
  EXPECT_EQ(t->native_state, "completed");
  EXPECT_EQ(t->state, RemoteState::succeeded);
  EXPECT_EQ(t->video_url, "https://www.yuzhixiaolongxia.com/v1/files/video-abc.mp4");
  EXPECT_TRUE(t->error_code.empty());
  EXPECT_FALSE(t->created_at_ms);
}

TEST(OpenAiQuery, DocSubmitAnswerAsStatus) {
  auto t = parse_task_response(200, kDocSubmitOk, kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, RemoteState::queued);
  EXPECT_EQ(t->created_at_ms, 1714000000000);
}

TEST(OpenAiQuery, OpenAiObjectHasNoUrl) {
  auto t = parse_task_response(200, kOpenAiCompleted, kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, RemoteState::succeeded);
  EXPECT_TRUE(t->video_url.empty());
  EXPECT_EQ(t->created_at_ms, 1758941485000);
  EXPECT_EQ(t->remote_id, "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5");
}

TEST(OpenAiQuery, CreatedInMillisecondsIsKept) {
  auto t = parse_task_response(200, R"({"id":"x","status":"queued","created_at":1764347090922})", kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->created_at_ms, 1764347090922);
}

TEST(OpenAiQuery, VideoUrlPriority) {
  const std::string all =
      R"({"data":[{"url":"A"}],"result_url":"C","url":"D","video_url":"E","output_url":"F","download_url":"G"})";
  EXPECT_EQ(video_url_of(json::parse(all).as_object()), "A");
  EXPECT_EQ(video_url_of(json::parse(R"({"data":{"result_url":"B"},"result_url":"C","url":"D"})").as_object()), "B");
  EXPECT_EQ(video_url_of(json::parse(R"({"result_url":"C","url":"D","video_url":"E"})").as_object()), "C");
  EXPECT_EQ(video_url_of(json::parse(R"({"url":"D","video_url":"E","output_url":"F"})").as_object()), "D");
  EXPECT_EQ(video_url_of(json::parse(R"({"video_url":"E","output_url":"F","download_url":"G"})").as_object()), "E");
  EXPECT_EQ(video_url_of(json::parse(R"({"output_url":"F","download_url":"G"})").as_object()), "F");
  EXPECT_EQ(video_url_of(json::parse(R"({"download_url":"G"})").as_object()), "G");
  // Empty, null, mistyped entries are skipped.
  EXPECT_EQ(
      video_url_of(json::parse(R"({"data":[{"url":""}],"url":null,"video_url":5,"output_url":" F "})").as_object()),
      "F");
  EXPECT_EQ(video_url_of(json::parse(R"({"data":[],"download_url":"G"})").as_object()), "G");
  EXPECT_EQ(video_url_of(json::parse(R"({"data":{"url":"X"}})").as_object()), "");
  EXPECT_EQ(video_url_of(json::parse(R"({"status":"completed"})").as_object()), "");
}

TEST(OpenAiQuery, UnknownWithUrlIsDone) {
  auto done =
      parse_task_response(200, R"({"task_id":"t1","status":"unknown","result_url":"https://cdn/x.mp4"})", kProfile);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->remote_id, "t1");
  EXPECT_EQ(done->state, RemoteState::succeeded);
  auto waiting = parse_task_response(200, R"({"task_id":"t1","status":"unknown"})", kProfile);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->state, RemoteState::running);
}

TEST(OpenAiQuery, FailureDetails) {
  auto a = parse_task_response(
      200, R"({"id":"v","status":"failed","error":{"code":"moderation_blocked","message":"blocked"}})", kProfile);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, RemoteState::failed);
  EXPECT_EQ(a->error_code, "moderation_blocked");
  EXPECT_EQ(a->error_message, "blocked");
  auto b = parse_task_response(200, R"({"id":"v","status":"failed","error":"提示词触发内容审核"})", kProfile);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->error_message, "提示词触发内容审核");
  auto c = parse_task_response(200, R"({"id":"v","status":"cancelled","fail_reason":"user cancelled"})", kProfile);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, RemoteState::cancelled);
  EXPECT_EQ(c->error_message, "user cancelled");
  auto d = parse_task_response(200, R"({"id":"v","status":"in_progress","error":null,"message":"ok"})", kProfile);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->error_message.empty());
}

TEST(OpenAiQuery, MissingStatusIsRetryableBadResponse) {
  auto t = parse_task_response(200, R"({"id":"v"})", kProfile);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().cls, ErrorClass::retryable);
  EXPECT_EQ(t.error().code, "bad_response");
}

TEST(OpenAiQuery, UnknownTaskIsPermanent) {
  auto t = parse_task_response(
      404, R"({"error":{"message":"No video found","type":"invalid_request_error","code":"not_found"}})", kProfile);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().cls, ErrorClass::permanent);
  EXPECT_EQ(t.error().code, "not_found");
  EXPECT_EQ(t.error().http_status, 404);
}

TEST(OpenAiQuery, Models) {
  auto m = parse_models_response(200, R"({"object":"list","data":[{"id":"sora-2"},{"id":"veo_3_1-fast"},{"x":1}]})",
                                 kProfile);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (std::vector<std::string>{"sora-2", "veo_3_1-fast"}));
  EXPECT_FALSE(parse_models_response(200, R"({"object":"list"})", kProfile));
}

// ---- download ------------------------------------------------------------------------------------

TEST(OpenAiDownload, FieldUrlOnApiHostCarriesTheKey) {
  const ProfileConfig p = profile();
  TaskStatus s = *parse_task_response(200, kDocCompleted, kProfile);
  auto t = download_target(p, s, OutputKind::video);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->url, "https://www.yuzhixiaolongxia.com/v1/files/video-abc.mp4");
  ASSERT_EQ(t->headers.size(), 1u);
  EXPECT_EQ(t->headers[0].first, "Authorization");
  EXPECT_EQ(t->headers[0].second, "Bearer " + p.api_key);
}

TEST(OpenAiDownload, ForeignUrlGetsNoHeaders) {
  TaskStatus s;
  s.remote_id = "v";
  s.state = RemoteState::succeeded;
  s.video_url = "https://storage.googleapis.com/bucket/v.mp4?X-Goog-Signature=abc";
  auto t = download_target(profile(), s, OutputKind::video);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->url, s.video_url);
  EXPECT_TRUE(t->headers.empty());
}

TEST(OpenAiDownload, NoUrlFallsBackToTheContentEndpoint) {
  TaskStatus s = *parse_task_response(200, kOpenAiCompleted, kProfile);
  for (const std::string base : {"https://api.openai.com/v1", "https://api.openai.com"}) {
    auto t = download_target(profile(base), s, OutputKind::video);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->url, "https://api.openai.com/v1/videos/" + s.remote_id + "/content");
    ASSERT_EQ(t->headers.size(), 1u);
    EXPECT_EQ(t->headers[0].first, "Authorization");
  }
  EXPECT_FALSE(download_target(profile(), s, OutputKind::cover));
  EXPECT_FALSE(download_target(profile(), s, OutputKind::last_frame));
  s.remote_id.clear();
  EXPECT_FALSE(download_target(profile(), s, OutputKind::video));
}

// ---- validation ------------------------------------------------------------------------------------

TEST(OpenAiValidate, DocRowIsAccepted) {
  JobSpec s = spec("sora-2", "A beautiful sunset over the ocean, cinematic, 4K");
  s.duration_s = 5;
  EXPECT_TRUE(validate(s, Dialect::relay).empty());
  s.resolution = "1280x720";
  s.seed = 7;
  s.images = {{"ref", "/tmp/ref.PNG"}};
  EXPECT_TRUE(validate(s, Dialect::relay).empty());
}

TEST(OpenAiValidate, RequiredFields) {
  auto errs = validate(spec("", "  "), Dialect::relay);
  EXPECT_TRUE(has_error(errs, "prompt"));
  EXPECT_TRUE(has_error(errs, "model"));
}

TEST(OpenAiValidate, Duration) {
  JobSpec s = spec();
  s.duration_s = 0;
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "duration"));
  s.duration_s = 30;
  EXPECT_TRUE(validate(s, Dialect::relay).empty());
  EXPECT_TRUE(has_error(validate(s, Dialect::openai), "duration"));
  for (int d : {4, 8, 12}) {
    s.duration_s = d;
    EXPECT_TRUE(validate(s, Dialect::openai).empty()) << d;
  }
}

TEST(OpenAiValidate, SizesAndRatios) {
  auto size = [](std::string res, std::string ar) {
    JobSpec s = spec();
    s.resolution = std::move(res);
    s.aspect_ratio = std::move(ar);
    return size_for(s);
  };
  EXPECT_EQ(*size("", ""), "");
  EXPECT_EQ(*size("720p", "16:9"), "1280x720");
  EXPECT_EQ(*size("720", "9:16"), "720x1280");
  EXPECT_EQ(*size("1080p", ""), "1920x1080");
  EXPECT_EQ(*size("480p", "1:1"), "480x480");
  EXPECT_EQ(*size("", "9:16"), "720x1280");
  EXPECT_EQ(*size("720p", "4:3"), "960x720");
  EXPECT_EQ(*size("1080P", "3:4"), "1080x1440");
  EXPECT_EQ(*size("1792X1024", ""), "1792x1024");
  EXPECT_EQ(*size("1280x720", "16:9"), "1280x720");
  EXPECT_EQ(*size("854x480", "16:9"), "854x480");
  EXPECT_FALSE(size("1280x720", "9:16"));
  EXPECT_FALSE(size("4k", ""));
  EXPECT_FALSE(size("720p", "21:9"));
  EXPECT_FALSE(size("0x720", ""));

  JobSpec s = spec();
  s.resolution = "4k";
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "resolution"));
  s.resolution = "";
  s.aspect_ratio = "21:9";
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "aspect_ratio"));
  s.aspect_ratio = "";
  s.resolution = "1080p";  // 1920x1080: not in OpenAI's table
  EXPECT_TRUE(validate(s, Dialect::relay).empty());
  EXPECT_TRUE(has_error(validate(s, Dialect::openai), "resolution"));
  s.resolution = "720p";
  s.aspect_ratio = "9:16";
  EXPECT_TRUE(validate(s, Dialect::openai).empty());
}

TEST(OpenAiValidate, UnsupportedInputs) {
  JobSpec s = spec();
  s.seed = 3;
  EXPECT_TRUE(validate(s, Dialect::relay).empty());
  EXPECT_TRUE(has_error(validate(s, Dialect::openai), "seed"));
  s = spec();
  s.audio = true;
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "audio"));
  s = spec();
  s.videos = {{"v", "/tmp/v.mp4"}};
  s.audios = {{"a", "/tmp/a.mp3"}};
  auto errs = validate(s, Dialect::relay);
  EXPECT_TRUE(has_error(errs, "videos"));
  EXPECT_TRUE(has_error(errs, "audios"));
  s = spec();
  s.images = {{"a", "/tmp/a.png"}, {"b", "/tmp/b.png"}};
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "images"));
  s.images = {{"a", "https://example.com/a.png"}};
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "images"));
  s.images = {{"a", "/tmp/a.gif"}};
  EXPECT_TRUE(has_error(validate(s, Dialect::relay), "images"));
  s.images = {{"a", "/tmp/a.webp"}};
  EXPECT_TRUE(validate(s, Dialect::relay).empty());
  EXPECT_EQ(image_content_type("/x/a.JPG"), "image/jpeg");
  EXPECT_EQ(image_content_type("/x/a.jpeg"), "image/jpeg");
  EXPECT_EQ(image_content_type("/x/a.png"), "image/png");
  EXPECT_FALSE(image_content_type("/x/a"));
}

// ---- errors ------------------------------------------------------------------------------------------

ProviderError err(int status, const std::string& body, Op op = Op::query,
                  std::optional<milliseconds> retry_after = std::nullopt) {
  return classify(status, parse_error_body(body), body, kProfile, op, retry_after);
}

std::string oa_error(const std::string& code, const std::string& type = "invalid_request_error",
                     const std::string& message = "m") {
  return R"({"error":{"message":")" + message + R"(","type":")" + type + R"(","param":null,"code":")" + code + R"("}})";
}

TEST(OpenAiErrors, ErrorBodyShapes) {
  auto a = parse_error_body(oa_error("invalid_api_key", "invalid_request_error", "bad key"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, "invalid_api_key");
  EXPECT_EQ(a->type, "invalid_request_error");
  EXPECT_EQ(a->message, "bad key");
  auto b = parse_error_body(R"({"error":"该令牌无权访问模型","code":401})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->message, "该令牌无权访问模型");
  EXPECT_EQ(b->code, "401");
  auto c = parse_error_body(R"({"code":"rate_limit","message":"slow down"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, "rate_limit");
  EXPECT_FALSE(parse_error_body("<html>502</html>"));
  EXPECT_FALSE(parse_error_body(R"({"id":"x"})"));
}

TEST(OpenAiErrors, Classes) {
  EXPECT_EQ(err(401, oa_error("invalid_api_key")).cls, ErrorClass::auth);
  EXPECT_EQ(err(403, oa_error("forbidden")).cls, ErrorClass::auth);  // FAQ: token not in the 视频 group
  EXPECT_EQ(err(403, "").cls, ErrorClass::auth);
  EXPECT_EQ(err(403, oa_error("insufficient_user_quota", "new_api_error", "用户额度不足")).cls,
            ErrorClass::out_of_credit);
  EXPECT_EQ(err(429, oa_error("insufficient_quota", "insufficient_quota")).cls, ErrorClass::out_of_credit);
  EXPECT_EQ(err(400, R"({"error":{"message":"预扣费额度失败, 用户剩余额度不足"}})").cls, ErrorClass::out_of_credit);
  EXPECT_EQ(err(400, oa_error("invalid_value")).cls, ErrorClass::permanent);
  EXPECT_EQ(err(400, oa_error("model_not_found")).cls, ErrorClass::permanent);
  EXPECT_EQ(err(503, oa_error("model_not_found", "new_api_error")).cls, ErrorClass::permanent);
  EXPECT_EQ(err(400, oa_error("moderation_blocked")).cls, ErrorClass::permanent);
  EXPECT_EQ(err(403, oa_error("content_policy_violation")).cls, ErrorClass::permanent);
  EXPECT_EQ(err(404, oa_error("not_found")).cls, ErrorClass::permanent);
  EXPECT_EQ(err(422, "").cls, ErrorClass::permanent);
  EXPECT_EQ(err(408, "").cls, ErrorClass::retryable);
  EXPECT_EQ(err(500, oa_error("server_error", "server_error")).cls, ErrorClass::retryable);
  EXPECT_EQ(err(503, "<html>busy</html>").cls, ErrorClass::retryable);
  EXPECT_EQ(err(502, "", Op::query).cls, ErrorClass::retryable);
  EXPECT_EQ(err(502, "", Op::submit).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(err(504, "<html>gateway timeout</html>", Op::submit).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(err(500, "", Op::submit).cls, ErrorClass::retryable);
}

TEST(OpenAiErrors, RateLimitedKeepsRetryAfter) {
  const auto e = err(429, oa_error("rate_limit_exceeded", "requests"), Op::submit, milliseconds(7000));
  EXPECT_EQ(e.cls, ErrorClass::rate_limited);
  EXPECT_EQ(e.retry_after, milliseconds(7000));
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.provider, kProfile);
  // Not kept where waiting does not help.
  EXPECT_FALSE(err(400, oa_error("invalid_value"), Op::query, milliseconds(7000)).retry_after);
}

TEST(OpenAiErrors, Http200WithErrorObject) {
  const std::string body = oa_error("upstream_error", "new_api_error", "当前分组上游负载已饱和");
  auto s = parse_submit_response(200, body, kProfile);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().cls, ErrorClass::permanent);
  EXPECT_NE(s.error().message.find("当前分组上游负载已饱和"), std::string::npos);
  auto q = parse_task_response(200, body, kProfile);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().cls, ErrorClass::retryable);
}

TEST(OpenAiErrors, SubmitErrorsThroughTheParser) {
  auto a = parse_submit_response(401, oa_error("invalid_api_key"), kProfile);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().cls, ErrorClass::auth);
  auto b = parse_submit_response(502, "<html>Bad Gateway</html>", kProfile);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().cls, ErrorClass::unknown_outcome);
  EXPECT_NE(b.error().message.find("Bad Gateway"), std::string::npos);
  auto c = parse_submit_response(
      400, oa_error("model_not_found", "invalid_request_error", "The model 'sora2' does not exist"), kProfile);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().cls, ErrorClass::permanent);
  EXPECT_NE(c.error().message.find("sora2"), std::string::npos);
}

TEST(OpenAiErrors, NetErrors) {
  NetError sent{NetErrc::receive, true, "connection reset by http://h/v1/videos?sig=SECRET"};
  EXPECT_EQ(from_net_error(sent, kProfile, true).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(from_net_error(sent, kProfile, false).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(sent, kProfile, false).message.find("SECRET"), std::string::npos);
  NetError not_sent{NetErrc::connect, false, "refused"};
  EXPECT_EQ(from_net_error(not_sent, kProfile, true).cls, ErrorClass::retryable);
  NetError timeout{NetErrc::timeout, true, "deadline"};
  EXPECT_EQ(from_net_error(timeout, kProfile, true).code, "timeout");
  NetError bad{NetErrc::bad_url, false, "bad url"};
  EXPECT_EQ(from_net_error(bad, kProfile, false).cls, ErrorClass::permanent);
}

// ---- the provider object -------------------------------------------------------------------------------

TEST(OpenAiProvider, DocumentedPolicies) {
  boost::asio::io_context io;
  HttpClient http(io.get_executor());
  auto p = make_openai_provider(profile(), http);
  EXPECT_FALSE(p->has_task_list());
  const PollPolicy poll = p->default_poll();
  EXPECT_GE(poll.first_wait, milliseconds(8000));
  EXPECT_LE(poll.first_wait, milliseconds(10000));
  EXPECT_EQ(poll.interval, milliseconds(8000));
  EXPECT_EQ(poll.max_interval, milliseconds(15000));
  EXPECT_EQ(p->default_url_ttl(), std::chrono::hours(1));
  TaskStatus failed;
  failed.state = RemoteState::failed;
  failed.error_code = "generation_failed";
  EXPECT_FALSE(p->is_retryable_failure(failed));
  JobSpec s = spec();
  s.duration_s = 5;
  EXPECT_TRUE(p->validate(s).empty());
  auto oa = make_openai_provider(profile("https://api.openai.com/v1"), http);
  EXPECT_TRUE(has_error(oa->validate(s), "duration"));  // OpenAI: 4, 8 or 12
}

TEST(OpenAiProvider, RequestCarriesTheKeyOnlyInTheHeader) {
  const ProfileConfig p = profile("http://127.0.0.1:1/openai/");
  const HttpRequest r = build_api_request(p, "POST", kVideosPath, "{}", "application/json");
  EXPECT_EQ(r.url, "http://127.0.0.1:1/openai/v1/videos");
  EXPECT_EQ(r.method, "POST");
  bool auth = false, ct = false;
  for (const auto& [k, v] : r.headers) {
    if (k == "Authorization") auth = v == "Bearer " + p.api_key;
    if (k == "Content-Type") ct = v == "application/json";
  }
  EXPECT_TRUE(auth);
  EXPECT_TRUE(ct);
  EXPECT_EQ(r.url.find(p.api_key), std::string::npos);
}

}  // namespace
}  // namespace reelbatch::openai
