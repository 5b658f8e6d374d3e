// Contract tests of the turing adapter's pure functions against the API
// document (api-docs/001_bf2549479f4c04d9.txt). The JSON samples marked
// "doc" are copied verbatim from it. No sockets, no sleeping.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "providers/turing/emulator.hpp"  // the emulator's multipart parser, to read built bodies back
#include "providers/turing/turing.hpp"
#include "src/core/sha256.hpp"
#include "tests/support/adapter_test_helpers.hpp"
#include "tests/support/turing_doc_samples.hpp"

namespace reelbatch::turing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using adapter_test::has_error;
using turing_doc::kDocSeedance;
using turing_doc::kDocVeoText;

const std::string kProfile = "turing";

// ---- the document's own examples ------------------------------------------------------

// doc 响应示例(HTTP 200)
constexpr const char* kDocCreateOk = R"json({
  "id": "video-xxx",
  "status": "in_progress",
  "model": "turing/veo-3.1-generate"
})json";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("reelbatch-turing-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
    return path / name;
  }
};

JobSpec veo_spec() {
  JobSpec s;
  s.id = "row-1";
  s.model = "turing/veo-3.1-generate";
  s.prompt = "please generate a video of a cat playing piano";
  s.duration_s = 6;
  s.aspect_ratio = "16:9";
  return s;
}

JobSpec seedance_spec() {
  JobSpec s;
  s.id = "row-2";
  s.model = "doubao-seedance-2-0-260128";
  s.prompt = "一只猫在弹钢琴";
  return s;
}

// ---- model family ---------------------------------------------------------------------

TEST(TuringFamily, ChosenByModelName) {
  EXPECT_EQ(family_of("turing/veo-3.1-generate"), Family::veo);
  EXPECT_EQ(family_of("VEO-3"), Family::veo);
  EXPECT_EQ(family_of("doubao-seedance-2-0-260128"), Family::seedance);
  EXPECT_EQ(family_of("Seedance-2.0-fast"), Family::seedance);
  EXPECT_EQ(family_of("sora-2"), std::nullopt);
  EXPECT_EQ(family_of(""), std::nullopt);
}

// ---- validation ----------------------------------------------------------------------

TEST(TuringValidate, DocExamplesPass) {
  EXPECT_TRUE(validate(veo_spec()).empty());
  JobSpec s = seedance_spec();
  s.resolution = "1080p";  // the doc's example
  s.aspect_ratio = "16:9";
  s.duration_s = 6;
  s.seed = 42;
  s.audio = true;
  s.images = {{"cat", "https://example.com/cat_reference.jpg"}};
  EXPECT_TRUE(validate(s).empty());
}

TEST(TuringValidate, CommonRules) {
  JobSpec s = veo_spec();
  s.prompt = "  ";
  EXPECT_TRUE(has_error(validate(s), "prompt"));
  s = veo_spec();
  s.model = "";
  EXPECT_TRUE(has_error(validate(s), "model", "必填"));
  s.model = "sora-2";
  EXPECT_TRUE(has_error(validate(s), "model", "'veo' or 'seedance'"));
}

TEST(TuringValidate, VeoLimits) {
  for (int d : {4, 6, 8}) {
    JobSpec s = veo_spec();
    s.duration_s = d;
    EXPECT_TRUE(validate(s).empty()) << d;
  }
  JobSpec s = veo_spec();
  s.duration_s = 5;
  EXPECT_TRUE(has_error(validate(s), "duration", "\"4\", \"6\" or \"8\""));
  s = veo_spec();
  s.resolution = "1080p";
  EXPECT_TRUE(has_error(validate(s), "resolution", "1280x720"));
  s = veo_spec();
  s.aspect_ratio = "1:1";
  EXPECT_TRUE(has_error(validate(s), "aspect_ratio", "720x1280"));
  s = veo_spec();
  s.resolution = "720x1280";  // conflicts with 16:9
  EXPECT_FALSE(validate(s).empty());
  s.aspect_ratio = "9:16";
  EXPECT_TRUE(validate(s).empty());
  s = veo_spec();
  s.seed = 1;
  s.audio = true;
  s.videos = {{"v", "https://example.com/v.mp4"}};
  s.audios = {{"a", "https://example.com/a.mp3"}};
  const auto errs = validate(s);
  EXPECT_TRUE(has_error(errs, "seed"));
  EXPECT_TRUE(has_error(errs, "audio"));
  EXPECT_TRUE(has_error(errs, "videos"));
  EXPECT_TRUE(has_error(errs, "audios"));
}

TEST(TuringValidate, VeoImages) {
  TempDir dir;
  const auto small = dir.write("ok.jpg", "jpeg");
  const auto big = dir.write("big.png", std::string(kMaxImageBytes + 1, 'x'));
  const auto text = dir.write("notes.txt", "x");
  JobSpec s = veo_spec();
  s.images = {{"ref", small.string()}};
  EXPECT_TRUE(validate(s).empty());
  s.images = {{"ref", big.string()}};
  EXPECT_TRUE(has_error(validate(s), "images", "10MB"));
  s.images = {{"ref", text.string()}};
  EXPECT_TRUE(has_error(validate(s), "images", "images only"));
  s.images = {{"ref", "https://example.com/a.jpg"}};
  EXPECT_TRUE(has_error(validate(s), "images", "uploaded file"));
  s.images = {{"a", small.string()}, {"b", small.string()}};
  EXPECT_TRUE(has_error(validate(s), "images", "one reference image"));
  s.images.clear();
  s.params["personGeneration"] = 1;
  EXPECT_TRUE(has_error(validate(s), "params"));
}

TEST(TuringValidate, SeedanceLimits) {
  for (int d : {4, 5, 6, 8}) {
    JobSpec s = seedance_spec();
    s.duration_s = d;
    EXPECT_TRUE(validate(s).empty()) << d;
  }
  JobSpec s = seedance_spec();
  s.duration_s = 7;
  EXPECT_TRUE(has_error(validate(s), "duration", "4, 5, 6 or 8"));
  s = seedance_spec();
  for (const char* r : {"480p", "720", "1080P"}) {
    s.resolution = r;
    EXPECT_TRUE(validate(s).empty()) << r;
  }
  s.resolution = "4k";
  EXPECT_TRUE(has_error(validate(s), "resolution", "480p"));
  s = seedance_spec();
  for (const char* r : {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"}) {
    s.aspect_ratio = r;
    EXPECT_TRUE(validate(s).empty()) << r;
  }
  s.aspect_ratio = "2:1";
  EXPECT_TRUE(has_error(validate(s), "aspect_ratio"));
  s = seedance_spec();
  s.params["personGeneration"] = "allow_all";
  EXPECT_TRUE(has_error(validate(s), "params", "仅 Gemini Veo 模型支持"));
}

TEST(TuringValidate, SeedanceReferences) {
  TempDir dir;
  const auto img = dir.write("a.png", "png");
  JobSpec s = seedance_spec();
  s.images = {{"a", img.string()}, {"b", "https://example.com/b.jpg"}};
  s.videos = {{"v", "https://example.com/v.mp4"}};
  s.audios = {{"m", "https://example.com/m.mp3"}};
  EXPECT_TRUE(validate(s).empty());
  s.images = {{"b", "http://example.com/b.jpg"}};
  EXPECT_TRUE(has_error(validate(s), "images", "HTTPS"));
  s.images.clear();
  s.videos = {{"v", "/tmp/clip.mp4"}};
  s.audios = {{"m", "http://example.com/m.mp3"}};
  const auto errs = validate(s);
  EXPECT_TRUE(has_error(errs, "videos", "HTTPS URL"));
  EXPECT_TRUE(has_error(errs, "audios", "HTTPS URL"));
}

// ---- request builders -------------------------------------------------------------------

TEST(TuringBuild, VeoJsonMatchesTheDocExample) {
  SubmitRequest req;
  req.spec = veo_spec();
  const SubmitBody b = build_veo_body(req, nullptr);
  EXPECT_EQ(b.content_type, "application/json");
  EXPECT_EQ(json::parse(b.body), json::parse(kDocVeoText));
  EXPECT_TRUE(json::parse(b.body).at("seconds").is_string());  // doc: seconds (string)
}

TEST(TuringBuild, VeoSizes) {
  EXPECT_EQ(veo_size("", ""), "");
  EXPECT_EQ(veo_size("720p", "16:9"), "1280x720");
  EXPECT_EQ(veo_size("720", "9:16"), "720x1280");
  EXPECT_EQ(veo_size("1280x720", ""), "1280x720");
  EXPECT_EQ(veo_size("", "1:1"), std::nullopt);
  EXPECT_EQ(veo_size("480p", ""), std::nullopt);
  SubmitRequest req;
  req.spec = veo_spec();
  req.spec.aspect_ratio.clear();
  req.spec.duration_s.reset();
  const auto o = json::parse(build_veo_body(req, nullptr).body).as_object();
  EXPECT_FALSE(o.contains("size"));
  EXPECT_FALSE(o.contains("seconds"));
}

// doc 图生视频示例: the curl -F fields, read back with a multipart parser.
TEST(TuringBuild, VeoMultipartMatchesTheDocExample) {
  SubmitRequest req;
  req.spec = veo_spec();
  req.spec.prompt =
      "Generate a video that from the facade of the picture showing in the file to the real Pompidou Center";
  req.spec.params["personGeneration"] = "allow_all";
  req.images = {{"facade", "inline:abc"}};
  std::string bytes = "\xFF\xD8\xFF\xE0 jpeg bytes\r\n--not-the-boundary\r\n";
  bytes += std::string(1000, '\0');
  const InlineFile file{"facade", "video_image.jpg", "image/jpeg", bytes};
  const SubmitBody b = build_veo_body(req, &file);

  const auto boundary = emulator::turing::form_boundary(b.content_type);
  ASSERT_TRUE(boundary) << b.content_type;
  EXPECT_EQ(b.body.find("--" + *boundary + "\r\n"), 0u);
  EXPECT_TRUE(b.body.ends_with("--" + *boundary + "--\r\n"));
  std::string why;
  const auto parts = emulator::turing::parse_form_data(b.body, *boundary, why);
  ASSERT_TRUE(parts) << why;
  ASSERT_EQ(parts->size(), 6u);
  std::map<std::string, std::string> text;
  for (const auto& p : *parts)
    if (!p.filename) text[p.name] = p.data;
  EXPECT_EQ(text, (std::map<std::string, std::string>{{"prompt", req.spec.prompt},
                                                      {"model", "turing/veo-3.1-generate"},
                                                      {"size", "1280x720"},
                                                      {"seconds", "6"},
                                                      {"personGeneration", "allow_all"}}));
  const auto& f = parts->back();
  EXPECT_EQ(f.name, "input_reference");
  EXPECT_EQ(f.filename, "video_image.jpg");
  EXPECT_EQ(f.content_type, "image/jpeg");
  EXPECT_EQ(f.data, bytes);
  EXPECT_EQ(b.fields.at("personGeneration"), "allow_all");
  // Deterministic boundary.
  EXPECT_EQ(build_veo_body(req, &file).body, b.body);
}

TEST(TuringBuild, MultipartBoundaryNeverInContent) {
  // A file containing the first candidate boundary forces another one.
  const std::string seed = "s";
  const InlineFile empty{"n", "f.png", "image/png", ""};
  const auto first = build_multipart({}, "input_reference", &empty, seed);
  const std::string b1 = *emulator::turing::form_boundary(first.content_type);
  const InlineFile tricky{"n", "f.png", "image/png", "xx" + b1 + "yy"};
  const auto second = build_multipart({}, "input_reference", &tricky, seed);
  const std::string b2 = *emulator::turing::form_boundary(second.content_type);
  EXPECT_NE(b1, b2);
  std::string why;
  const auto parts = emulator::turing::parse_form_data(second.body, b2, why);
  ASSERT_TRUE(parts) << why;
  EXPECT_EQ(parts->at(0).data, tricky.bytes);
}

TEST(TuringBuild, SeedanceMatchesTheDocExample) {
  SubmitRequest req;
  req.spec = seedance_spec();
  req.spec.resolution = "1080p";
  req.spec.aspect_ratio = "16:9";
  req.spec.duration_s = 6;
  req.spec.seed = 42;
  req.spec.audio = true;
  req.spec.params["return_last_frame"] = false;
  // The doc's example has its own content text: a params "content" replaces ours.
  req.spec.params["content"] = json::parse(kDocSeedance).at("content");
  req.images = {{"cat", "https://example.com/cat_reference.jpg"}};
  const SubmitBody b = build_seedance_body(req, {"https://example.com/cat_reference.jpg"});
  EXPECT_EQ(b.content_type, "application/json");
  EXPECT_EQ(json::parse(b.body), json::parse(kDocSeedance));
}

TEST(TuringBuild, SeedanceContentArray) {
  SubmitRequest req;
  req.spec = seedance_spec();
  req.spec.resolution = "720";
  req.spec.audio = false;
  req.images = {{"a", "inline:1"}, {"b", "https://example.com/b.jpg"}};
  req.videos = {{"v", "https://example.com/v.mp4"}};
  req.audios = {{"m", "https://example.com/m.mp3"}};
  const std::string uri = data_uri("image/png", "\x89PNG");
  const auto o = json::parse(build_seedance_body(req, {uri, "https://example.com/b.jpg"}).body).as_object();
  EXPECT_EQ(o.at("model"), "doubao-seedance-2-0-260128");
  EXPECT_EQ(o.at("prompt"), "一只猫在弹钢琴");
  EXPECT_EQ(o.at("resolution"), "720p");
  EXPECT_EQ(o.at("generate_audio"), false);
  EXPECT_FALSE(o.contains("ratio"));
  EXPECT_FALSE(o.contains("duration"));
  EXPECT_FALSE(o.contains("seed"));
  EXPECT_EQ(o.at("content"), json::parse(R"([
    {"type":"text","text":"一只猫在弹钢琴"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw=="}},
    {"type":"image_url","image_url":{"url":"https://example.com/b.jpg"}},
    {"type":"video_url","video_url":{"url":"https://example.com/v.mp4"}},
    {"type":"audio_url","audio_url":{"url":"https://example.com/m.mp3"}}])"));
}

TEST(TuringBuild, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(emulator::turing::base64_decode(base64_encode(all)), all);
  EXPECT_EQ(emulator::turing::base64_decode("Zg="), std::nullopt);
  EXPECT_EQ(emulator::turing::base64_decode("Z=g="), std::nullopt);
}

TEST(TuringBuild, ApiRequest) {
  ProfileConfig p;
  p.name = "t";
  p.base_url = "https://live-turing.cn.llm.tcljd.com/api/v1/";
  p.api_key = "secret-key";
  const HttpRequest r = build_api_request(p, "POST", kVideosPath, "{}", "application/json");
  EXPECT_EQ(r.url, "https://live-turing.cn.llm.tcljd.com/api/v1/videos");
  EXPECT_EQ(r.headers.at(0), (std::pair<std::string, std::string>{"Authorization", "Bearer secret-key"}));
  EXPECT_EQ(r.headers.back(), (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  EXPECT_EQ(task_path("video-xxx"), "/videos/video-xxx");
  EXPECT_EQ(content_path("a/b"), "/videos/a%2Fb/content");
}

// ---- responses ----------------------------------------------------------------------------

TEST(TuringParse, CreateDocExample) {
  auto id = parse_submit_response(200, kDocCreateOk, kProfile);
  ASSERT_TRUE(id) << id.error().describe();
  EXPECT_EQ(*id, "video-xxx");
}

TEST(TuringParse, CreateUnusable2xxIsUnknownOutcome) {
  for (const char* body : {"", "<html>", R"({"status":"queued"})", R"({"id":""})", "[1]"}) {
    auto r = parse_submit_response(200, body, kProfile);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome) << body;
  }
  for (int st : {502, 504}) {
    auto r = parse_submit_response(st, "bad gateway", kProfile);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().cls, ErrorClass::unknown_outcome);
  }
  auto r = parse_submit_response(503, "", kProfile);
  EXPECT_EQ(r.error().cls, ErrorClass::retryable);
}

TEST(TuringParse, EveryDocumentedState) {
  const std::pair<const char*, RemoteState> cases[] = {{"queued", RemoteState::queued},
                                                       {"in_progress", RemoteState::running},
                                                       {"processing", RemoteState::running},
                                                       {"completed", RemoteState::succeeded},
                                                       {"failed", RemoteState::failed}};
  for (const auto& [word, state] : cases) {
    EXPECT_EQ(map_state(word), state) << word;
    EXPECT_TRUE(is_documented_state(word)) << word;
    const std::string body = R"({"id":"video-xxx","status":")" + std::string(word) + R"(","model":"m"})";
    auto t = parse_task_response(200, body, kProfile);
    ASSERT_TRUE(t) << word;
    EXPECT_EQ(t->state, state);
    EXPECT_EQ(t->native_state, word);
  }
  EXPECT_EQ(map_state("COMPLETED"), RemoteState::succeeded);
  EXPECT_FALSE(is_documented_state("generating"));
  EXPECT_EQ(map_state("generating"), RemoteState::running);
}

TEST(TuringParse, TaskFields) {
  auto t = parse_task_response(200, kDocCreateOk, kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->remote_id, "video-xxx");
  EXPECT_EQ(t->state, RemoteState::running);
  EXPECT_TRUE(t->video_url.empty());

  t = parse_task_response(200, R"({"id":"v","status":"failed","created_at":1712534400,
      "error":{"code":"generation_failed","message":"视频生成失败"}})",
                          kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, RemoteState::failed);
  EXPECT_EQ(t->error_code, "generation_failed");
  EXPECT_EQ(t->error_message, "视频生成失败");
  EXPECT_EQ(t->created_at_ms, 1712534400000);

  t = parse_task_response(200, R"({"id":"v","status":"failed","error":"boom","created_at":1712534400123})", kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->error_message, "boom");
  EXPECT_EQ(t->created_at_ms, 1712534400123);

  t = parse_task_response(200, R"({"id":"v","status":"completed","last_frame_url":"https://x/y.jpg"})", kProfile);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->last_frame_url, "https://x/y.jpg");

  for (const char* bad : {R"({"status":"queued"})", R"({"id":"v"})", R"({"id":"v","status":3})", "nope"}) {
    auto r = parse_task_response(200, bad, kProfile);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().cls, ErrorClass::retryable) << bad;
    EXPECT_EQ(r.error().code, "bad_response");
  }
}

// ---- errors --------------------------------------------------------------------------------

TEST(TuringErrors, ByHttpStatus) {
  const std::string body = R"({"error":{"message":"seconds must be one of 4, 6, 8","type":"invalid_request_error",
                               "code":"invalid_parameter"}})";
  auto r = parse_task_response(400, body, kProfile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::permanent);
  EXPECT_EQ(r.error().code, "invalid_parameter");
  EXPECT_NE(r.error().message.find("seconds must be one of 4, 6, 8"), std::string::npos);
  EXPECT_EQ(r.error().http_status, 400);

  const std::pair<int, ErrorClass> cases[] = {
      {400, ErrorClass::permanent}, {401, ErrorClass::auth},      {402, ErrorClass::out_of_credit},
      {403, ErrorClass::auth},      {404, ErrorClass::permanent}, {409, ErrorClass::permanent},
      {413, ErrorClass::permanent}, {408, ErrorClass::retryable}, {429, ErrorClass::rate_limited},
      {500, ErrorClass::retryable}, {502, ErrorClass::retryable}, {503, ErrorClass::retryable},
      {504, ErrorClass::retryable}};
  for (const auto& [st, cls] : cases) {
    auto q = parse_task_response(st, "oops", kProfile);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().cls, cls) << st;
    EXPECT_EQ(q.error().code, "http") << st;
  }
}

TEST(TuringErrors, RateLimitAndQuota) {
  auto r = parse_submit_response(429, R"({"error":{"message":"Too many requests","type":"rate_limit_error"}})",
                                 kProfile, milliseconds(7000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::rate_limited);
  EXPECT_EQ(r.error().retry_after, milliseconds(7000));
  EXPECT_EQ(r.error().code, "rate_limit_error");

  r = parse_submit_response(
      429, R"({"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}})", kProfile);
  EXPECT_EQ(r.error().cls, ErrorClass::out_of_credit);
  r = parse_submit_response(400, R"({"message":"plain message","code":4001})", kProfile);
  EXPECT_EQ(r.error().cls, ErrorClass::permanent);
  EXPECT_EQ(r.error().code, "4001");
  EXPECT_NE(r.error().message.find("plain message"), std::string::npos);
  // A permanent error drops retry_after.
  EXPECT_FALSE(classify(400, "", "", "x", kProfile, milliseconds(5)).retry_after);
}

TEST(TuringErrors, TransportFailures) {
  NetError sent{NetErrc::receive, true, "connection reset"};
  EXPECT_EQ(from_net_error(sent, kProfile, true).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(from_net_error(sent, kProfile, false).cls, ErrorClass::retryable);
  NetError unsent{NetErrc::connect, false, "refused"};
  EXPECT_EQ(from_net_error(unsent, kProfile, true).cls, ErrorClass::retryable);
  NetError timeout{NetErrc::timeout, true, "deadline"};
  EXPECT_EQ(from_net_error(timeout, kProfile, true).code, "timeout");
  EXPECT_EQ(from_net_error(NetError{NetErrc::bad_url, false, "x"}, kProfile, false).cls, ErrorClass::permanent);
}

TEST(TuringErrors, RedactsSecrets) {
  EXPECT_EQ(redact("key sk-1 and sk-1", "sk-1"), "key [redacted] and [redacted]");
  EXPECT_EQ(redact("x", ""), "x");
}

}  // namespace
}  // namespace reelbatch::turing
