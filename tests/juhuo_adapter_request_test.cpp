// Contract tests of the juhuo adapter's pure functions against the API
// document (api-docs/000_2fbac5bd8fa1f5a3.txt). The JSON samples marked
// "doc N" are copied verbatim from that section. No sockets, no sleeping.
// Request side (presign, upload, submit bodies, validation); the answers are
// parsed in juhuo_adapter_response_test.cpp.
#include "tests/juhuo_adapter_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace reelbatch::juhuo {
namespace {
using namespace test_juhuo;

// ---- the document's own examples ------------------------------------------------------

// doc 4.1 成功响应
constexpr const char* kDocPresignOk = R"json({
"code": "200",
"message": "Success",
"result": {
"uploadUrl": "https://oss.example.com/api/user123/upload/scene1.png?signature=xxx&expires=yyy",
"ossKey": "api/user123/upload/scene1.png",
"method": "PUT"
}
})json";

// doc 4.1 请求示例 (body)
constexpr const char* kDocPresignRequest = R"json({
"fileName": "scene1.png",
"contentType": "image/png"
})json";

// doc 5 文本生成视频 (body)
constexpr const char* kDocSubmitText = R"json({
"prompt": "一只橘猫在樱花树下奔跑,阳光洒落,画面温暖治愈",
"model": "seedance-2.0",
"duration": 8,
"resolution": 480,
"aspectRatio": "16:9"
})json";

// doc 5 图片参考生成视频 (body)
constexpr const char* kDocSubmitImage = R"json({
"prompt": "<<<Image 1>>> 中的角色缓缓转身,微风吹动发丝",
"inputImages": [
{
"name": "Image 1",
"ossKey": "api/user123/upload/character.png"
}
],
"duration": 10,
"resolution": 720,
"aspectRatio": "9:16"
})json";

// doc 5 成功响应
constexpr const char* kDocSubmitOk = R"json({
"code": "200",
"message": "Success",
"result": {
"taskId": "gen_abc123def456"
}
})json";

// ---- presign / upload (doc 4) -----------------------------------------------------------------

TEST(JuhuoPresign, ParsesDocExample) {
  auto r = parse_presign_response(200, kDocPresignOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->upload_url, "https://oss.example.com/api/user123/upload/scene1.png?signature=xxx&expires=yyy");
  EXPECT_EQ(r->oss_key, "api/user123/upload/scene1.png");
  EXPECT_EQ(r->method, "PUT");
}

TEST(JuhuoPresign, MissingFieldsAreRetryableBadResponse) {
  auto r = parse_presign_response(200, R"({"code":"200","message":"Success","result":{"ossKey":"k"}})", kProfile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::retryable);
  EXPECT_EQ(r.error().code, "bad_response");
  auto n = parse_presign_response(200, R"({"code":"200","message":"Success","result":null})", kProfile);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().cls, ErrorClass::retryable);
}

TEST(JuhuoPresign, MethodDefaultsToPutAndOthersAreRejected) {
  auto r = parse_presign_response(200, R"({"code":"200","result":{"uploadUrl":"https://o/x","ossKey":"k"}})",
                                  kProfile);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "PUT");
  auto p = parse_presign_response(
      200, R"({"code":"200","result":{"uploadUrl":"https://o/x","ossKey":"k","method":"POST"}})", kProfile);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().cls, ErrorClass::permanent);
}

TEST(JuhuoPresign, BodyMatchesDocShape) {
  LocalAsset a;
  a.name = "scene";
  a.path = "/data/scene1.png";
  a.sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const auto body = build_presign_body(a, "image/png");
  const auto doc = json::parse(kDocPresignRequest).as_object();
  EXPECT_EQ(body.size(), doc.size());
  EXPECT_EQ(body.at("contentType"), doc.at("contentType"));
  EXPECT_EQ(body.at("fileName").as_string(), "scene1-0123456789ab.png");
}

TEST(JuhuoUpload, ContentTypeTable) {
  EXPECT_EQ(content_type_for("a.png"), "image/png");
  EXPECT_EQ(content_type_for("/x/a.jpg"), "image/jpeg");
  EXPECT_EQ(content_type_for("a.JPEG"), "image/jpeg");
  EXPECT_EQ(content_type_for("a.WebP"), "image/webp");
  EXPECT_EQ(content_type_for("a.mp4"), "video/mp4");
  EXPECT_EQ(content_type_for("a.MOV"), "video/quicktime");
  EXPECT_EQ(content_type_for("a.webm"), "video/webm");
  EXPECT_EQ(content_type_for("a.gif"), std::nullopt);
  EXPECT_EQ(content_type_for("a.mp3"), std::nullopt);
  EXPECT_EQ(content_type_for("noext"), std::nullopt);
  EXPECT_TRUE(is_image_content_type("image/webp"));
  EXPECT_FALSE(is_image_content_type("video/mp4"));
  EXPECT_TRUE(is_video_content_type("video/quicktime"));
  EXPECT_FALSE(is_video_content_type("image/png"));
}

TEST(JuhuoUpload, FileNameFollowsDocRule) {
  const std::string sha = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  const std::regex rule("^[A-Za-z0-9_-]+\\.[A-Za-z0-9]+$");  // doc 4.1
  const std::pair<std::string, std::string> cases[] = {
      {"/in/橘猫.webp", "file-a1b2c3d4e5f6.webp"},
      {"/in/old map.png", "old_map-a1b2c3d4e5f6.png"},
      {"/in/a.b.c.PNG", "a_b_c-a1b2c3d4e5f6.png"},
      {"/in/scene1.png", "scene1-a1b2c3d4e5f6.png"},
      {"/in/my-video_01.mp4", "my-video_01-a1b2c3d4e5f6.mp4"},
      {"/in/__ (draft) __.jpeg", "draft-a1b2c3d4e5f6.jpeg"},
      {"/in/猫 cat 猫.jpg", "cat-a1b2c3d4e5f6.jpg"},
      {"/in/...png", "file-a1b2c3d4e5f6.png"},
  };
  for (const auto& [in, want] : cases) {
    const std::string got = upload_file_name(in, sha);
    EXPECT_EQ(got, want) << in;
    EXPECT_TRUE(std::regex_match(got, rule)) << got;
    EXPECT_LE(got.size(), 128u) << got;
  }
  const std::string long_name = "/in/" + std::string(300, 'x') + " " + std::string(50, 'y') + ".webm";
  const std::string got = upload_file_name(long_name, sha);
  EXPECT_TRUE(std::regex_match(got, rule)) << got;
  EXPECT_EQ(got.size(), 128u);
  EXPECT_TRUE(got.ends_with("-a1b2c3d4e5f6.webm"));
  const std::string long_cjk = "/in/" + std::string(100, 'a') + std::string(60, '\xE7') + ".png";
  EXPECT_TRUE(std::regex_match(upload_file_name(long_cjk, sha), rule));
  EXPECT_LE(upload_file_name(long_cjk, sha).size(), 128u);
  // Distinct content gives distinct names; the same content the same name.
  EXPECT_NE(upload_file_name("/a/x.png", sha), upload_file_name("/b/x.png", std::string(64, 'f')));
  EXPECT_EQ(upload_file_name("/a/x.png", sha), upload_file_name("/b/x.png", sha));
}

TEST(JuhuoUpload, PutRequestCarriesNoApiKey) {
  PresignResult p{"https://oss.example.com/u?signature=s", "k", "PUT"};
  auto req = build_upload_request(p, "image/png", "bytes", milliseconds(5000));
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.url, p.upload_url);
  EXPECT_EQ(req.body, "bytes");
  EXPECT_EQ(req.timeout, milliseconds(5000));
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].first, "Content-Type");
  EXPECT_EQ(req.headers[0].second, "image/png");
}

TEST(JuhuoUpload, PutStatusClasses) {
  EXPECT_FALSE(classify_upload_response(200, "", kProfile));
  EXPECT_FALSE(classify_upload_response(204, "", kProfile));
  EXPECT_EQ(classify_upload_response(403, "<Error>SignatureDoesNotMatch</Error>", kProfile)->cls,
            ErrorClass::retryable);
  EXPECT_EQ(classify_upload_response(500, "", kProfile)->cls, ErrorClass::retryable);
  EXPECT_EQ(classify_upload_response(408, "", kProfile)->cls, ErrorClass::retryable);
  auto rl = classify_upload_response(429, "", kProfile, milliseconds(3000));
  EXPECT_EQ(rl->cls, ErrorClass::rate_limited);
  EXPECT_EQ(rl->retry_after, milliseconds(3000));
  EXPECT_EQ(classify_upload_response(400, "bad content type", kProfile)->cls, ErrorClass::permanent);
  EXPECT_EQ(classify_upload_response(413, "", kProfile)->cls, ErrorClass::permanent);
}

// ---- submit (doc 5) -------------------------------------------------------------------------------

TEST(JuhuoSubmit, TextToVideoBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec.prompt = "一只橘猫在樱花树下奔跑,阳光洒落,画面温暖治愈";
  req.spec.model = "seedance-2.0";
  req.spec.duration_s = 8;
  req.spec.resolution = "480p";
  req.spec.aspect_ratio = "16:9";
  const auto body = build_submit_body(req);
  const auto doc = json::parse(kDocSubmitText).as_object();
  EXPECT_EQ(body.at("prompt"), doc.at("prompt"));
  EXPECT_EQ(body.at("model"), doc.at("model"));
  EXPECT_EQ(body.at("duration"), doc.at("duration"));
  EXPECT_TRUE(body.at("resolution").is_int64());
  EXPECT_EQ(body.at("resolution"), doc.at("resolution"));
  EXPECT_EQ(body.at("aspectRatio"), doc.at("aspectRatio"));
  EXPECT_EQ(body, doc) << json::serialize(body);
}

TEST(JuhuoSubmit, ImageReferenceBodyMatchesDocExample) {
  SubmitRequest req;
  req.spec.prompt = "<<<Image 1>>> 中的角色缓缓转身,微风吹动发丝";
  req.spec.duration_s = 10;
  req.spec.resolution = "720";
  req.spec.aspect_ratio = "9:16";
  req.spec.images = {{"Image 1", "/in/character.png"}};
  req.images = {{"Image 1", "api/user123/upload/character.png"}};
  const auto body = build_submit_body(req);
  const auto doc = json::parse(kDocSubmitImage).as_object();
  EXPECT_EQ(body.at("prompt"), doc.at("prompt"));
  ASSERT_TRUE(body.at("inputImages").is_array());
  ASSERT_EQ(body.at("inputImages").as_array().size(), 1u);
  EXPECT_EQ(body.at("inputImages").as_array()[0].as_object().at("name"), "Image 1");
  EXPECT_EQ(body.at("inputImages").as_array()[0].as_object().at("ossKey"), "api/user123/upload/character.png");
  EXPECT_EQ(body.at("duration"), doc.at("duration"));
  EXPECT_EQ(body.at("resolution"), doc.at("resolution"));
  EXPECT_EQ(body.at("aspectRatio"), doc.at("aspectRatio"));
  EXPECT_FALSE(body.contains("model"));
  EXPECT_FALSE(body.contains("sound"));
  EXPECT_EQ(body, doc) << json::serialize(body);
}

TEST(JuhuoSubmit, SoundVideosAndParamsPassThrough) {
  SubmitRequest req;
  req.spec.prompt = "<<<clip>>> in slow motion";
  req.spec.model = "seedance-2.0-fast";
  req.spec.audio = false;
  req.spec.resolution = "720P";
  req.spec.videos = {{"clip", "/in/clip.mp4"}};
  req.videos = {{"clip", "api/u/upload/clip-0123.mp4"}};
  req.spec.params = json::object{{"watermark", false}, {"duration", 12}};
  auto body = build_submit_body(req);
  EXPECT_EQ(body.at("sound"), "off");
  EXPECT_EQ(body.at("resolution"), 720);
  EXPECT_EQ(body.at("model"), "seedance-2.0-fast");
  EXPECT_EQ(body.at("inputVideos").as_array()[0].as_object().at("ossKey"), "api/u/upload/clip-0123.mp4");
  EXPECT_FALSE(body.contains("inputImages"));
  EXPECT_EQ(body.at("watermark"), false);  // unknown key passed through
  EXPECT_EQ(body.at("duration"), 12);      // a params key overrides
  req.spec.audio = true;
  EXPECT_EQ(build_submit_body(req).at("sound"), "on");
}

TEST(JuhuoSubmit, ParsesDocExample) {
  auto r = parse_submit_response(200, kDocSubmitOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, "gen_abc123def456");
}

TEST(JuhuoSubmit, UnusableSuccessIsUnknownOutcome) {
  for (const char* body : {"", "not json", "{\"code\":\"200\",\"message\":\"Success\",\"result\":{\"taskI",
                           "{\"code\":\"200\",\"message\":\"Success\"}",
                           "{\"code\":\"200\",\"message\":\"Success\",\"result\":{}}",
                           "{\"code\":\"200\",\"result\":{\"taskId\":\"\"}}", "[]", "<html>ok</html>"}) {
    auto r = parse_submit_response(200, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome) << body;
    EXPECT_EQ(r.error().code, "bad_response") << body;
  }
}

TEST(JuhuoSubmit, GatewayTimeoutIsUnknownOutcomeButEnvelopeErrorsAreNot) {
  EXPECT_EQ(parse_submit_response(504, "<html>Gateway Timeout</html>", kProfile).error().cls,
            ErrorClass::unknown_outcome);
  EXPECT_EQ(parse_submit_response(502, "", kProfile).error().cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(parse_submit_response(500, "<html>oops</html>", kProfile).error().cls, ErrorClass::retryable);
  EXPECT_EQ(parse_submit_response(503, "", kProfile).error().cls, ErrorClass::retryable);
  EXPECT_EQ(parse_submit_response(200, kDocError4000, kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_submit_response(200, envelope("4003", "积分余额不足"), kProfile).error().cls,
            ErrorClass::out_of_credit);
  EXPECT_EQ(parse_submit_response(502, envelope("5000", "服务器内部错误"), kProfile).error().cls,
            ErrorClass::retryable);
}

// ---- validation (doc 4.1, 5) ------------------------------------------------------------------

JobSpec good_spec() {
  JobSpec s;
  s.id = "row1";
  s.provider = "juhuo";
  s.prompt = "<<<Image 1>>> 中的角色缓缓转身,微风吹动发丝";
  s.model = "seedance-2.0";
  s.duration_s = 8;
  s.resolution = "720p";
  s.aspect_ratio = "9:16";
  s.audio = true;
  s.images = {{"Image 1", "/in/character.png"}};
  return s;
}

// The single error's field and reason, or {"", ""} when there is not exactly one.
std::pair<std::string, std::string> only_error(const JobSpec& s) {
  const auto errs = validate(s);
  if (errs.size() != 1) {
    std::string all;
    for (const auto& e : errs) all += e.field + ": " + e.reason + "; ";
    ADD_FAILURE() << errs.size() << " errors: " << all;
    return {};
  }
  return {errs[0].field, errs[0].reason};
}

TEST(JuhuoValidate, AcceptsDocRows) {
  EXPECT_TRUE(validate(good_spec()).empty());
  JobSpec text;
  text.prompt = "浩瀚星空下,一艘宇宙飞船缓缓驶过土星光环";
  text.duration_s = 10;
  text.resolution = "720";
  text.aspect_ratio = "21:9";
  EXPECT_TRUE(validate(text).empty());
  JobSpec minimal;
  minimal.prompt = "a cat";
  EXPECT_TRUE(validate(minimal).empty());
  for (const char* res : {"480", "480p", "480P", "720", "720p", "720P"}) {
    minimal.resolution = res;
    EXPECT_TRUE(validate(minimal).empty()) << res;
  }
  for (const char* ratio : {"9:16", "16:9", "3:4", "4:3", "1:1", "21:9"}) {
    minimal.aspect_ratio = ratio;
    EXPECT_TRUE(validate(minimal).empty()) << ratio;
  }
  minimal.duration_s = 4;
  EXPECT_TRUE(validate(minimal).empty());
  minimal.duration_s = 15;
  EXPECT_TRUE(validate(minimal).empty());
  minimal.params = json::object{{"anything", 1}};
  EXPECT_TRUE(validate(minimal).empty());
}

TEST(JuhuoValidate, Duration) {
  auto s = good_spec();
  s.duration_s = 3;
  EXPECT_EQ(only_error(s), std::make_pair(std::string("duration"), std::string("juhuo accepts 4-15 s (got 3)")));
  s.duration_s = 16;
  EXPECT_EQ(only_error(s), std::make_pair(std::string("duration"), std::string("juhuo accepts 4-15 s (got 16)")));
}

TEST(JuhuoValidate, Resolution) {
  auto s = good_spec();
  s.resolution = "1080p";
  EXPECT_EQ(only_error(s),
            std::make_pair(std::string("resolution"), std::string("juhuo accepts 480 or 720 (got 1080p)")));
  EXPECT_EQ(normalize_resolution("480p"), 480);
  EXPECT_EQ(normalize_resolution("720P"), 720);
  EXPECT_EQ(normalize_resolution("1080"), std::nullopt);
}

TEST(JuhuoValidate, AspectRatioModelPromptSeedAudios) {
  auto s = good_spec();
  s.aspect_ratio = "2:1";
  EXPECT_EQ(only_error(s).first, "aspect_ratio");
  EXPECT_NE(only_error(s).second.find("(got 2:1)"), std::string::npos);
  s = good_spec();
  s.model = "seedance-1.0";
  EXPECT_EQ(only_error(s).first, "model");
  s = good_spec();
  s.seed = 42;
  EXPECT_EQ(only_error(s), std::make_pair(std::string("seed"), std::string("juhuo has no seed parameter")));
  s = good_spec();
  s.audios = {{"music", "/in/music.mp3"}};
  EXPECT_EQ(only_error(s).first, "audios");
  JobSpec empty;
  empty.prompt = "  ";
  EXPECT_EQ(only_error(empty).first, "prompt");
}

TEST(JuhuoValidate, Assets) {
  auto s = good_spec();
  s.images = {{"Image 1", "https://example.com/character.png?token=abc"}};
  auto e = only_error(s);
  EXPECT_EQ(e.first, "images");
  EXPECT_NE(e.second.find("juhuo takes uploaded files only; download it first"), std::string::npos);
  EXPECT_EQ(e.second.find("token=abc"), std::string::npos);

  s = good_spec();
  s.images = {{"Image 1", "/in/character.gif"}};
  e = only_error(s);
  EXPECT_EQ(e.first, "images");
  EXPECT_NE(e.second.find(".gif"), std::string::npos);

  s = good_spec();
  s.images = {{"Image 1", "/in/clip.mp4"}};  // a video among the images
  EXPECT_EQ(only_error(s).first, "images");

  s = good_spec();
  s.videos = {{"clip", "/in/clip.MOV"}};
  EXPECT_TRUE(validate(s).empty());
  s.videos = {{"clip", "/in/clip.avi"}};
  EXPECT_EQ(only_error(s).first, "videos");

  s = good_spec();
  s.images.push_back({"", "/in/other.png"});
  EXPECT_EQ(only_error(s).first, "images");

  s = good_spec();
  s.videos = {{"Image 1", "/in/clip.mp4"}};  // same name as the image
  EXPECT_EQ(only_error(s).first, "videos");
}

TEST(JuhuoValidate, PromptReferences) {
  auto s = good_spec();
  s.prompt = "<<<Image 1>>> walks into <<<Image 2>>>";
  auto e = only_error(s);
  EXPECT_EQ(e.first, "prompt");
  EXPECT_NE(e.second.find("<<<Image 2>>>"), std::string::npos);
  s.images.push_back({"Image 2", "/in/room.webp"});
  EXPECT_TRUE(validate(s).empty());
  s.videos = {{"clip", "/in/clip.webm"}};
  s.prompt = "<<<Image 1>>> then <<<clip>>> then <<<Image 1>>>";
  EXPECT_TRUE(validate(s).empty());
  EXPECT_EQ(prompt_references("一只猫从 <<<Image 1>>> 中走出来,走进 <<<Image 2>>> 的场景中"),
            (std::vector<std::string>{"Image 1", "Image 2"}));
  EXPECT_EQ(prompt_references("no refs <<< here"), std::vector<std::string>{});
}

// ---- requests and secrets ------------------------------------------------------------------

ProfileConfig test_profile() {
  return adapter_test::test_profile("juhuo", "http://127.0.0.1:8080/juhuo", "sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6");
}

TEST(JuhuoRequests, ApiRequestShape) {
  const auto p = test_profile();
  auto post = build_api_request(p, "POST", kSubmitPath, "{}");
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "http://127.0.0.1:8080/juhuo/open-api/v1/video/submit");
  EXPECT_EQ(post.timeout, milliseconds(12000));
  EXPECT_EQ(post.body, "{}");
  const auto header = adapter_test::header_of;
  EXPECT_EQ(header(post, "Authorization"), "Bearer sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6");
  EXPECT_EQ(header(post, "Content-Type"), "application/json");
  auto get = build_api_request(p, "GET", task_path("gen_1"));
  EXPECT_EQ(get.url, "http://127.0.0.1:8080/juhuo/open-api/v1/video/task/gen_1");
  EXPECT_EQ(header(get, "Authorization"), "Bearer sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6");
  auto slash = p;
  slash.base_url += "/";
  EXPECT_EQ(build_api_request(slash, "GET", kBalancePath).url,
            "http://127.0.0.1:8080/juhuo/open-api/v1/account/balance");
}

TEST(JuhuoRequests, Redact) {
  EXPECT_EQ(redact("key sk-abc and sk-abc", "sk-abc"), "key [redacted] and [redacted]");
  EXPECT_EQ(redact("nothing", ""), "nothing");
}

TEST(JuhuoProvider, StaticFacts) {
  boost::asio::io_context ioc;
  HttpClient http(ioc.get_executor());
  const auto profile = test_profile();
  auto p = make_juhuo_provider(profile, http);
  EXPECT_EQ(p->profile().name, "juhuo");
  EXPECT_TRUE(p->has_task_list());
  const PollPolicy poll = p->default_poll();
  EXPECT_EQ(poll.first_wait, milliseconds(5000));
  EXPECT_EQ(poll.interval, milliseconds(5000));
  EXPECT_EQ(poll.max_interval, milliseconds(10000));
  EXPECT_EQ(p->default_url_ttl(), std::chrono::hours(24 * 7));
  EXPECT_TRUE(p->validate(good_spec()).empty());

  auto t = parse_task_response(200, kDocTaskOk, "juhuo");
  ASSERT_TRUE(t);
  auto v = p->download_target(*t, OutputKind::video);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->url, "https://cdn.example.com/output/video.mp4?token=xxx");
  EXPECT_TRUE(v->headers.empty());
  auto c = p->download_target(*t, OutputKind::cover);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url, "https://cdn.example.com/output/cover.jpg?token=xxx");
  EXPECT_FALSE(p->download_target(*t, OutputKind::last_frame));
  TaskStatus no_cover = *t;
  no_cover.cover_url.clear();
  EXPECT_FALSE(p->download_target(no_cover, OutputKind::cover));
}

}  // namespace
}  // namespace reelbatch::juhuo
