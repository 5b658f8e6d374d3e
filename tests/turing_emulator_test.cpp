// The turing emulator on an ephemeral loopback port, driven over real HTTP:
// the doc's own request examples, auth, every documented limit and error,
// the lifecycle with the authenticated content download (Range), failures,
// persistence; and the turing adapter end to end against it (multipart Veo
// and Seedance with a data URI).
#include "tests/support/emulator_fixture.hpp"
#include "tests/support/turing_doc_samples.hpp"
#include "providers/turing/emulator.hpp"
#include "providers/turing/turing.hpp"

#include <boost/asio/use_future.hpp>

namespace reelbatch::emulator {
namespace {
using turing_doc::kDocSeedance;
using turing_doc::kDocVeoText;

constexpr const char* kKey = "turing-test-key";
constexpr const char* kKey2 = "another-key";

// ---- the document's request bodies: kDocVeoText, kDocSeedance (tests/support/turing_doc_samples.hpp) ----

constexpr const char* kPompidou =
    "Generate a video that from the facade of the picture showing in the file to the real Pompidou Center";

// ---- a tiny synchronous client ----------------------------------------------------------

struct Reply : test_support::HttpReply {
  std::string error_code() const { return std::string(json().at("error").at("code").as_string()); }
  std::string error_message() const { return std::string(json().at("error").at("message").as_string()); }
};

using test_support::HeaderList;

Reply request(unsigned short port, const std::string& method, const std::string& target, const HeaderList& headers,
              const std::string& body = {}) {
  return {test_support::http_request(port, method, target, headers, body, test_support::HostHeader::bare)};
}

// A multipart body written the way curl -F writes one.
struct Form {
  std::string boundary = "------------------------d74496d66958873e";
  std::string body;
  Form& field(const std::string& name, const std::string& value) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    return *this;
  }
  Form& file(const std::string& name, const std::string& filename, const std::string& type, const std::string& data) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename +
            "\"\r\n";
    if (!type.empty()) body += "Content-Type: " + type + "\r\n";
    body += "\r\n" + data + "\r\n";
    return *this;
  }
  std::string finish() const { return body + "--" + boundary + "--\r\n"; }
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};

Form doc_form() {  // doc 图生视频示例 (curl -F ...)
  Form f;
  f.field("prompt", kPompidou)
      .field("model", "turing/veo-3.1-generate")
      .field("size", "1280x720")
      .field("seconds", "6")
      .field("personGeneration", "allow_all");
  return f;
}

// ---- fixture ------------------------------------------------------------------------------

struct Emu : test_support::EmulatorThread {
  explicit Emu(Options opts) : EmulatorThread(std::move(opts), {make_turing_module}) {}

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port) + "/turing/api/v1"; }

  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::string& content_type = "application/json", const std::string& key = kKey,
             HeaderList extra = {}) {
    HeaderList h = std::move(extra);
    if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
    if (!body.empty() && !content_type.empty()) h.emplace_back("Content-Type", content_type);
    return request(port, method, "/turing/api/v1" + path, h, body);
  }
  Reply create(const std::string& body, const std::string& key = kKey) {
    return call("POST", "/videos", body, "application/json", key);
  }
  Reply create(const json::object& body) { return create(json::serialize(body)); }
  Reply create_form(const Form& f) { return call("POST", "/videos", f.finish(), f.content_type()); }
  std::string create_ok(const std::string& body) {
    const Reply r = create(body);
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(r.json().at("id").as_string());
  }
  json::object video(const std::string& id, const std::string& key = kKey) {
    const Reply r = call("GET", "/videos/" + id, {}, "", key);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  std::vector<std::string> wait_terminal(const std::string& id, std::chrono::milliseconds limit = 20s) {
    return test_support::poll_statuses([&] { return std::string(video(id).at("status").as_string()); },
                                  [](const std::string& st) { return st == "completed" || st == "failed"; }, limit, 1ms, "video " + id);
  }
  std::optional<Submission> submission(const std::string& id) const {
    for (auto& s : emu->submissions())
      if (s.task_id == id) return s;
    return std::nullopt;
  }
};

using test_support::fast;

void expect_400(const Reply& r, const std::string& code, const std::string& needle = {}) {
  EXPECT_EQ(r.status, 400) << r.body;
  if (r.status != 400) return;
  EXPECT_EQ(r.error_code(), code) << r.body;
  EXPECT_EQ(r.json().at("error").at("type"), "invalid_request_error");
  if (!needle.empty()) {
    EXPECT_NE(r.error_message().find(needle), std::string::npos) << r.body;
  }
}

json::object doc_json(const char* text) { return json::parse(text).as_object(); }

struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("reelbatch-turing-emu") {}
};

// ---- the document's examples --------------------------------------------------------------

TEST(TuringEmulator, DocTextToVideoJson) {
  Emu e(fast());
  const Reply r = e.create(kDocVeoText);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto o = r.json();
  EXPECT_TRUE(o.at("id").as_string().starts_with("video-"));
  EXPECT_EQ(o.at("status"), "queued");
  EXPECT_EQ(o.at("model"), "turing/veo-3.1-generate");
  EXPECT_EQ(o.at("seconds"), "6");
  EXPECT_EQ(o.at("size"), "1280x720");
  const auto sub = e.submission(std::string(o.at("id").as_string()));
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->provider, "turing");
  EXPECT_EQ(sub->body, kDocVeoText);
  EXPECT_EQ(sub->api_key_fingerprint, key_fingerprint(kKey));
}

TEST(TuringEmulator, DocImageToVideoMultipart) {
  Emu e(fast());
  const std::string jpeg = std::string(asset_cover_jpg());
  Form f = doc_form();
  f.file("input_reference", "pompidou.jpg", "image/jpeg", jpeg);
  const Reply r = e.create_form(f);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id(r.json().at("id").as_string());
  const auto sub = e.submission(id);
  ASSERT_TRUE(sub);
  const auto rec = json::parse(sub->body).as_object();
  EXPECT_EQ(rec.at("prompt"), kPompidou);
  EXPECT_EQ(rec.at("seconds"), "6");
  EXPECT_EQ(rec.at("personGeneration"), "allow_all");
  EXPECT_EQ(rec.at("input_reference").at("filename"), "pompidou.jpg");
  EXPECT_EQ(rec.at("input_reference").at("content_type"), "image/jpeg");
  EXPECT_EQ(rec.at("input_reference").at("sha256").as_string(), sha256_hex(jpeg));
  EXPECT_EQ(rec.at("input_reference").at("size").to_number<std::uint64_t>(), jpeg.size());
}

TEST(TuringEmulator, DocSeedanceJson) {
  Emu e(fast());
  const Reply r = e.create(kDocSeedance);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto o = r.json();
  EXPECT_EQ(o.at("resolution"), "1080p");
  EXPECT_EQ(o.at("ratio"), "16:9");
  EXPECT_EQ(o.at("duration"), 6);
  EXPECT_EQ(o.at("seconds"), "6");
}

// ---- auth and routing --------------------------------------------------------------------

TEST(TuringEmulator, AuthRequiresANonEmptyBearerKey) {
  Emu e(fast());
  Reply r = e.call("POST", "/videos", kDocVeoText, "application/json", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.error_code(), "invalid_api_key");
  r = request(e.port, "POST", "/turing/api/v1/videos",
              {{"Authorization", "Bearer   "}, {"Content-Type", "application/json"}}, kDocVeoText);
  EXPECT_EQ(r.status, 401);
  r = request(e.port, "POST", "/turing/api/v1/videos",
              {{"Authorization", "Basic abc"}, {"Content-Type", "application/json"}}, kDocVeoText);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(e.emu->rejected_submits(), 3u);
  EXPECT_TRUE(e.emu->submissions().empty());
  // A video belongs to the key that created it.
  const std::string id = e.create_ok(kDocVeoText);
  EXPECT_EQ(e.call("GET", "/videos/" + id, {}, "", kKey2).status, 404);
  EXPECT_EQ(e.call("GET", "/videos/" + id, {}, "", "").status, 401);
}

TEST(TuringEmulator, UnknownPathsAndMethods) {
  Emu e(fast());
  Reply r = e.call("GET", "/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error_code(), "not_found");
  EXPECT_EQ(e.call("GET", "/videos/video-nope").status, 404);
  EXPECT_EQ(e.call("GET", "/videos/video-nope/content").status, 404);
  r = e.call("GET", "/videos");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "POST");
  EXPECT_EQ(e.call("DELETE", "/videos/x").status, 405);
}

// ---- request validation --------------------------------------------------------------------

TEST(TuringEmulator, BodyAndModelErrors) {
  Emu e(fast());
  expect_400(e.create(std::string("{not json")), "invalid_json");
  expect_400(e.call("POST", "/videos", "prompt=x", "application/x-www-form-urlencoded"), "unsupported_content_type");
  expect_400(e.call("POST", "/videos", "--x\r\nbroken", "multipart/form-data; boundary=zzz"), "invalid_multipart");
  auto body = doc_json(kDocVeoText);
  body.erase("model");
  expect_400(e.create(body), "missing_parameter", "model");
  body = doc_json(kDocVeoText);
  body["model"] = "sora-2";
  expect_400(e.create(body), "unsupported_model");
  body = doc_json(kDocVeoText);
  body["prompt"] = " ";
  expect_400(e.create(body), "missing_parameter", "prompt");
  EXPECT_TRUE(e.emu->submissions().empty());
  EXPECT_EQ(e.emu->rejected_submits(), 6u);
}

TEST(TuringEmulator, VeoLimits) {
  Emu e(fast());
  for (const char* s : {"4", "6", "8"}) {
    auto body = doc_json(kDocVeoText);
    body["seconds"] = s;
    EXPECT_EQ(e.create(body).status, 200) << s;
  }
  auto body = doc_json(kDocVeoText);
  body["seconds"] = "5";
  expect_400(e.create(body), "invalid_parameter", "\"4\", \"6\", \"8\"");
  body["seconds"] = 6;  // doc: seconds (string)
  expect_400(e.create(body), "invalid_parameter", "seconds");
  body = doc_json(kDocVeoText);
  body["size"] = "1920x1080";
  expect_400(e.create(body), "invalid_parameter", "\"1280x720\" and \"720x1280\"");
  body["size"] = "720x1280";
  EXPECT_EQ(e.create(body).status, 200);
  body["personGeneration"] = "everyone";
  expect_400(e.create(body), "invalid_parameter", "personGeneration");
  body = doc_json(kDocVeoText);
  body["input_reference"] = "https://example.com/a.jpg";
  expect_400(e.create(body), "invalid_parameter", "multipart");
}

TEST(TuringEmulator, VeoInputReferenceLimits) {
  Emu e(fast());
  {  // doc: 仅支持图片
    Form f = doc_form();
    f.file("input_reference", "clip.mp4", "video/mp4", "mp4");
    expect_400(e.create_form(f), "invalid_file_type", "仅支持图片");
  }
  {  // doc: 文件名与 MIME 类型必填
    Form f = doc_form();
    f.file("input_reference", "pompidou.jpg", "", "jpeg");
    expect_400(e.create_form(f), "invalid_parameter", "MIME");
  }
  {  // doc: 上传图片文件超过 10MB 会返回 HTTP 400
    Form f = doc_form();
    f.file("input_reference", "big.jpg", "image/jpeg", std::string((10u << 20) + 1, 'x'));
    expect_400(e.create_form(f), "file_too_large", "10MB");
  }
  {  // exactly 10 MB is fine
    Form f = doc_form();
    f.file("input_reference", "edge.jpg", "image/jpeg", std::string(10u << 20, 'x'));
    EXPECT_EQ(e.create_form(f).status, 200);
  }
  {
    Form f = doc_form();
    f.file("input_reference", "a.jpg", "image/jpeg", "a").file("input_reference", "b.jpg", "image/jpeg", "b");
    expect_400(e.create_form(f), "invalid_parameter", "only one");
  }
  {
    Form f = doc_form();
    f.file("other", "a.jpg", "image/jpeg", "a");
    expect_400(e.create_form(f), "invalid_parameter", "input_reference");
  }
  {  // Seedance parameters come as JSON only
    Form f;
    f.field("prompt", "x").field("model", "doubao-seedance-2-0-260128");
    expect_400(e.create_form(f), "unsupported_content_type", "JSON");
  }
}

TEST(TuringEmulator, SeedanceLimits) {
  Emu e(fast());
  auto with = [](const char* key, json::value v) {
    auto b = doc_json(kDocSeedance);
    b[key] = std::move(v);
    return b;
  };
  for (int d : {4, 5, 6, 8}) EXPECT_EQ(e.create(with("duration", d)).status, 200) << d;
  expect_400(e.create(with("duration", 7)), "invalid_parameter", "4, 5, 6, 8");
  expect_400(e.create(with("duration", "6")), "invalid_parameter", "duration");
  for (const char* r : {"480p", "720p"}) EXPECT_EQ(e.create(with("resolution", r)).status, 200) << r;
  expect_400(e.create(with("resolution", "2k")), "invalid_parameter", "resolution");
  for (const char* r : {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"})
    EXPECT_EQ(e.create(with("ratio", r)).status, 200) << r;
  expect_400(e.create(with("ratio", "2:1")), "invalid_parameter", "ratio");
  expect_400(e.create(with("seed", "42")), "invalid_parameter", "seed");
  expect_400(e.create(with("watermark", "yes")), "invalid_parameter", "watermark");
  expect_400(e.create(with("generate_audio", 1)), "invalid_parameter", "generate_audio");
  expect_400(e.create(with("personGeneration", "allow_all")), "invalid_parameter", "仅 Gemini Veo 模型支持");
  auto b = doc_json(kDocSeedance);
  b.erase("prompt");
  expect_400(e.create(b), "missing_parameter", "prompt");
}

TEST(TuringEmulator, SeedanceContentItems) {
  Emu e(fast());
  auto with_item = [](json::value item) {
    auto b = doc_json(kDocSeedance);
    b["content"].as_array().push_back(std::move(item));
    return b;
  };
  auto item = [](const char* type, std::string url) {
    return json::object{{"type", type}, {type, json::object{{"url", std::move(url)}}}};
  };
  EXPECT_EQ(e.create(with_item(item("video_url", "https://example.com/v.mp4"))).status, 200);
  EXPECT_EQ(e.create(with_item(item("audio_url", "https://example.com/a.mp3"))).status, 200);
  EXPECT_EQ(e.create(with_item(item("image_url", "data:image/png;base64,iVBORw=="))).status, 200);
  expect_400(e.create(with_item(item("video_url", "http://example.com/v.mp4"))), "invalid_parameter", "HTTPS");
  expect_400(e.create(with_item(item("audio_url", "data:audio/mp3;base64,AAAA"))), "invalid_parameter", "HTTPS");
  expect_400(e.create(with_item(item("image_url", "data:image/png;base64,@@@"))), "invalid_parameter", "base64");
  expect_400(e.create(with_item(item("image_url", "ftp://x/y.png"))), "invalid_parameter", "data URI");
  expect_400(e.create(with_item(json::object{{"type", "file"}})), "invalid_parameter", "type");
  expect_400(e.create(with_item(json::object{{"type", "text"}})), "invalid_parameter", "text");
  // 10 MB applies to data URIs too.
  const std::string big((10u << 20) + 3, 'x');
  expect_400(e.create(with_item(item("image_url", ::reelbatch::turing::data_uri("image/png", big)))), "file_too_large",
             "10MB");
}

TEST(TuringEmulator, SeedanceSizeIsMappedFromTheTable) {
  Emu e(fast());
  auto b = doc_json(kDocSeedance);
  b.erase("resolution");
  b.erase("ratio");
  b["size"] = "834×1112";
  Reply r = e.create(b);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("resolution"), "720p");
  EXPECT_EQ(r.json().at("ratio"), "3:4");
  EXPECT_EQ(r.json().at("size"), "834x1112");
  b["size"] = "1000x1000";
  expect_400(e.create(b), "invalid_parameter", "size");
  b["size"] = "864x496";
  b["ratio"] = "9:16";
  expect_400(e.create(b), "invalid_parameter", "conflicts");
}

// ---- lifecycle and content -------------------------------------------------------------

TEST(TuringEmulator, LifecycleAndAuthenticatedRangeDownload) {
  Emu e(fast(0.004));
  const std::string id = e.create_ok(kDocVeoText);
  Reply early = e.call("GET", "/videos/" + id + "/content");
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(early.error_code(), "video_not_ready");
  const auto seen = e.wait_terminal(id);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), "completed");
  // Every intermediate word is documented, in order.
  const std::vector<std::string> order = {"queued", "in_progress", "processing", "completed"};
  std::size_t k = 0;
  for (const auto& s : seen) {
    while (k < order.size() && order[k] != s) ++k;
    ASSERT_LT(k, order.size()) << s;
  }
  const auto v = e.video(id);
  EXPECT_EQ(v.at("progress"), 100);
  EXPECT_TRUE(v.at("completed_at").is_int64());
  EXPECT_TRUE(v.at("error").is_null());

  const auto sub = e.submission(id);
  ASSERT_TRUE(sub);
  const Reply full = e.call("GET", "/videos/" + id + "/content");
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.header("content-type"), "video/mp4");
  EXPECT_EQ(sha256_hex(full.body), sub->video_sha256);
  EXPECT_EQ(full.body.size(), sub->video_bytes);
  EXPECT_EQ(full.body, turing_video_bytes(id, "please generate a video of a cat playing piano"));
  const Reply part = e.call("GET", "/videos/" + id + "/content", {}, "", kKey, {{"Range", "bytes=10-19"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, full.body.substr(10, 10));
  const Reply head = e.call("HEAD", "/videos/" + id + "/content");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(full.body.size()));
  EXPECT_EQ(e.call("GET", "/videos/" + id + "/content", {}, "", "").status, 401);
  EXPECT_EQ(e.call("GET", "/videos/" + id + "/content", {}, "", kKey2).status, 404);
  EXPECT_EQ(e.call("GET", "/videos/" + id + "/content?variant=last_frame").status, 404);
}

TEST(TuringEmulator, SeedanceLastFrame) {
  Emu e(fast());
  auto b = doc_json(kDocSeedance);
  b["return_last_frame"] = true;
  b["duration"] = 4;
  const std::string id = e.create_ok(json::serialize(b));
  EXPECT_EQ(e.wait_terminal(id).back(), "completed");
  const auto v = e.video(id);
  const std::string url(v.at("last_frame_url").as_string());
  const std::string target = url.substr(url.find("/turing/"));
  const Reply jpg = request(e.port, "GET", target, {{"Authorization", std::string("Bearer ") + kKey}});
  ASSERT_EQ(jpg.status, 200);
  EXPECT_EQ(jpg.header("content-type"), "image/jpeg");
  EXPECT_EQ(sha256_hex(jpg.body), e.submission(id)->cover_sha256);
}

TEST(TuringEmulator, FailRateFailsTasks) {
  Options o = fast();
  o.fail_rate = 1.0;
  Emu e(std::move(o));
  const std::string id = e.create_ok(kDocVeoText);
  EXPECT_EQ(e.wait_terminal(id).back(), "failed");
  const auto v = e.video(id);
  EXPECT_EQ(v.at("error").at("code"), "generation_failed");
  EXPECT_EQ(e.call("GET", "/videos/" + id + "/content").status, 409);
}

TEST(TuringEmulator, StateSurvivesARestart) {
  TempDir dir;
  Options o = fast(1.0);  // nothing completes during the test
  o.state_file = dir.path / "state.json";
  std::string id;
  {
    Emu e(o);
    id = e.create_ok(kDocSeedance);
  }
  Emu e2(o);
  const auto v = e2.video(id);
  EXPECT_EQ(v.at("model"), "doubao-seedance-2-0-260128");
  EXPECT_EQ(v.at("resolution"), "1080p");
  EXPECT_EQ(e2.call("GET", "/videos/" + id, {}, "", kKey2).status, 404);
}

// ---- the adapter end to end ---------------------------------------------------------------

// Runs `fn` (a coroutine factory) to completion on a fresh io_context.
template <class F>
auto run(F&& fn) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  auto fut = asio::co_spawn(io, fn(http), asio::use_future);
  io.run();
  return fut.get();
}

struct Outcome {
  std::string id;
  TaskStatus status;
  std::string video, last_frame;
  std::string error;
};

asio::awaitable<std::string> fetch(HttpClient& http, const DownloadTarget& t) {
  HttpRequest req;
  req.url = t.url;
  req.headers = t.headers;
  auto r = co_await http.async_request(req);
  if (!r || r->status != 200) co_return std::string("fetch failed");
  co_return r->body;
}

asio::awaitable<Outcome> lifecycle(HttpClient& http, const ProfileConfig& profile, const SubmitRequest& req) {
  Outcome out;
  auto p = ::reelbatch::turing::make_turing_provider(profile, http);
  if (auto errs = p->validate(req.spec); !errs.empty()) {
    out.error = "validate: " + errs.front().reason;
    co_return out;
  }
  SubmitRequest resolved = req;
  resolved.images.clear();
  for (const auto& a : req.spec.images) {
    if (a.is_url()) {
      resolved.images.push_back(ResolvedAsset{a.name, a.location});
      continue;
    }
    LocalAsset la{a.name, a.location, sha256_file_hex(a.location), fs::file_size(a.location), LocalAsset::Kind::image};
    auto ref = co_await p->async_upload(la);
    if (!ref) {
      out.error = ref.error().describe();
      co_return out;
    }
    resolved.images.push_back(ResolvedAsset{a.name, ref.value()});
  }
  auto id = co_await p->async_submit(resolved);
  if (!id) {
    out.error = id.error().describe();
    co_return out;
  }
  out.id = *id;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < 20000; ++i) {
    auto s = co_await p->async_query(out.id);
    if (!s) {
      out.error = s.error().describe();
      co_return out;
    }
    out.status = *s;
    if (s->state == RemoteState::succeeded || s->state == RemoteState::failed) break;
    timer.expires_after(1ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (out.status.state != RemoteState::succeeded) co_return out;
  if (auto t = p->download_target(out.status, OutputKind::video)) out.video = co_await fetch(http, *t);
  if (auto t = p->download_target(out.status, OutputKind::last_frame)) out.last_frame = co_await fetch(http, *t);
  co_return out;
}

ProfileConfig profile_for(const Emu& e) {
  ProfileConfig p;
  p.name = "turing-test";
  p.kind = "turing";
  p.base_url = e.base();
  p.api_key = kKey;
  p.request_timeout = 10s;
  return p;
}

TEST(TuringEndToEnd, VeoWithALocalImageGoesMultipart) {
  Emu e(fast());
  TempDir dir;
  const fs::path img = dir.path / "facade.jpg";
  std::ofstream(img, std::ios::binary) << asset_cover_jpg();
  SubmitRequest req;
  req.spec.id = "row-veo";
  req.spec.model = "turing/veo-3.1-generate";
  req.spec.prompt = kPompidou;
  req.spec.duration_s = 4;
  req.spec.aspect_ratio = "9:16";
  req.spec.images = {{"facade", img.string()}};
  req.spec.params["personGeneration"] = "allow_all";
  const ProfileConfig profile = profile_for(e);
  const Outcome out = run([&](HttpClient& http) { return lifecycle(http, profile, req); });
  ASSERT_TRUE(out.error.empty()) << out.error;
  EXPECT_EQ(out.status.state, RemoteState::succeeded);
  const auto sub = e.submission(out.id);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sha256_hex(out.video), sub->video_sha256);
  EXPECT_TRUE(out.last_frame.empty());
  const auto rec = json::parse(sub->body).as_object();
  EXPECT_EQ(rec.at("size"), "720x1280");
  EXPECT_EQ(rec.at("seconds"), "4");
  EXPECT_EQ(rec.at("personGeneration"), "allow_all");
  EXPECT_EQ(rec.at("input_reference").at("filename"), "facade.jpg");
  EXPECT_EQ(rec.at("input_reference").at("sha256").as_string(), sha256_hex(asset_cover_jpg()));
}

TEST(TuringEndToEnd, SeedanceWithADataUriAndLastFrame) {
  Emu e(fast());
  TempDir dir;
  const fs::path img = dir.path / "cat.jpg";
  std::ofstream(img, std::ios::binary) << asset_cover_jpg();
  SubmitRequest req;
  req.spec.id = "row-seedance";
  req.spec.model = "doubao-seedance-2-0-260128";
  req.spec.prompt = "一只猫在弹钢琴";
  req.spec.duration_s = 5;
  req.spec.resolution = "480";
  req.spec.aspect_ratio = "1:1";
  req.spec.seed = 7;
  req.spec.audio = false;
  req.spec.images = {{"cat", img.string()}, {"ref", "https://example.com/cat_reference.jpg"}};
  req.spec.params["return_last_frame"] = true;
  const ProfileConfig profile = profile_for(e);
  const Outcome out = run([&](HttpClient& http) { return lifecycle(http, profile, req); });
  ASSERT_TRUE(out.error.empty()) << out.error;
  const auto sub = e.submission(out.id);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sha256_hex(out.video), sub->video_sha256);
  EXPECT_EQ(sha256_hex(out.last_frame), sub->cover_sha256);
  const auto body = json::parse(sub->body).as_object();
  EXPECT_EQ(body.at("resolution"), "480p");
  EXPECT_EQ(body.at("ratio"), "1:1");
  EXPECT_EQ(body.at("duration"), 5);
  EXPECT_EQ(body.at("seed"), 7);
  EXPECT_EQ(body.at("generate_audio"), false);
  const auto& content = body.at("content").as_array();
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[1].at("image_url").at("url").as_string(),
            ::reelbatch::turing::data_uri("image/jpeg", asset_cover_jpg()));
  EXPECT_EQ(content[2].at("image_url").at("url"), "https://example.com/cat_reference.jpg");
}

TEST(TuringEndToEnd, RejectionsAreClassified) {
  Emu e(fast());
  ProfileConfig profile = profile_for(e);
  SubmitRequest req;
  req.spec.model = "turing/veo-3.1-generate";
  req.spec.prompt = "x";
  req.spec.params["seconds"] = "5";  // a params override validate() does not check
  Outcome out = run([&](HttpClient& http) { return lifecycle(http, profile, req); });
  EXPECT_NE(out.error.find("HTTP 400, code invalid_parameter"), std::string::npos) << out.error;
  profile.api_key = " ";
  req.spec.params = {};
  out = run([&](HttpClient& http) -> asio::awaitable<Outcome> {
    auto p = ::reelbatch::turing::make_turing_provider(profile, http);
    auto id = co_await p->async_submit(req);
    Outcome o;
    if (!id) o.error = to_string(id.error().cls);
    co_return o;
  });
  EXPECT_EQ(out.error, "auth");
}

}  // namespace
}  // namespace reelbatch::emulator
