// The openai module of the emulator on an ephemeral loopback port, driven
// over real HTTP: by a tiny synchronous Beast client for the documented
// endpoints, errors and response shapes, and by the real adapter
// (providers/openai) for the full lifecycle, multipart reference upload and
// download.
#include "tests/support/emulator_fixture.hpp"
#include "providers/openai/emulator.hpp"
#include "providers/openai/openai.hpp"

namespace reelbatch::emulator {
namespace {

constexpr const char* kKey = "sk-yzx-test-key";
constexpr const char* kKey2 = "another-key";

// ---- a tiny synchronous client ----------------------------------------------------

struct Reply : test_support::HttpReply {
  std::string error_field(std::string_view key) const {
    const json::object o = json();
    const json::value& c = o.at("error").as_object().at(key);
    return c.is_string() ? std::string(c.as_string()) : std::string();
  }
  std::string error_code() const { return error_field("code"); }
  std::string error_param() const { return error_field("param"); }
};

using test_support::HeaderList;
using test_support::target_of;

Reply request(unsigned short port, const std::string& method, const std::string& target, const HeaderList& headers = {},
              const std::string& body = {}) {
  return {test_support::http_request(port, method, target, headers, body, test_support::HostHeader::with_port)};
}

HeaderList auth(const std::string& key = kKey) { return {{"Authorization", "Bearer " + key}}; }

// ---- fixture ------------------------------------------------------------------------

struct Emu : test_support::EmulatorThread {
  explicit Emu(Options opts) : EmulatorThread(std::move(opts), {make_openai_module}) {}

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port) + "/openai"; }

  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::string& key = kKey) {
    return request(port, method, "/openai" + path, test_support::bearer_headers(key, !body.empty()), body);
  }
  Reply submit(const json::object& body, const std::string& key = kKey) {
    return call("POST", "/v1/videos", json::serialize(body), key);
  }
  std::string submit_ok(const json::object& body, const std::string& key = kKey) {
    const Reply r = submit(body, key);
    EXPECT_EQ(r.status, 200) << r.body;
    const auto o = r.json();
    const auto* id = o.if_contains("id");
    return std::string((id ? *id : o.at("task_id")).as_string());
  }
  json::object task(const std::string& id, const std::string& key = kKey) {
    const Reply r = call("GET", "/v1/videos/" + id, {}, key);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  // Polls until the task is terminal by the adapter's reading; returns every
  // distinct status word seen, and the last answer.
  std::vector<std::string> wait_terminal(const std::string& id, json::object& last,
                                         std::chrono::milliseconds limit = 20s) {
    bool done = false;
    return test_support::poll_statuses(
        [&] {
          const Reply r = call("GET", "/v1/videos/" + id);
          last = r.json();
          auto t = openai::parse_task_response(r.status, r.body, "emu", id);
          EXPECT_TRUE(t) << r.body;
          done = t && t->state != RemoteState::queued && t->state != RemoteState::running;
          return std::string(last.at("status").as_string());
        },
        [&](const std::string&) { return done; }, limit, 1ms, "task " + id);
  }
};

using test_support::fast;

struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("reelbatch-openai") {}
};

using test_support::run;  // runs one adapter coroutine to completion on `io`

ProfileConfig profile(const std::string& base) {
  ProfileConfig p;
  p.name = "emu";
  p.kind = "openai";
  p.base_url = base;
  p.api_key = kKey;
  p.request_timeout = std::chrono::milliseconds(5000);
  return p;
}

// ---- auth and errors -----------------------------------------------------------------

TEST(OpenAiEmulator, MissingOrEmptyKeyIs401) {
  Emu e(fast());
  const std::string body = R"({"model":"sora-2","prompt":"p"})";
  for (const HeaderList& h : {HeaderList{}, HeaderList{{"Authorization", "Bearer "}},
                              HeaderList{{"Authorization", "Basic abc"}}, HeaderList{{"Authorization", "sk-x"}}}) {
    HeaderList hh = h;
    hh.emplace_back("Content-Type", "application/json");
    const Reply r = request(e.port, "POST", "/openai/v1/videos", hh, body);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.error_code(), "invalid_api_key");
    EXPECT_EQ(request(e.port, "GET", "/openai/v1/videos/x", h).status, 401);
    EXPECT_EQ(request(e.port, "GET", "/openai/v1/models", h).status, 401);
  }
  EXPECT_EQ(e.emu->rejected_submits(), 4u);
  EXPECT_TRUE(e.emu->submissions().empty());
}

TEST(OpenAiEmulator, AnyNonEmptyKeyIsAnAccount) {
  Emu e(fast());
  const std::string id = e.submit_ok({{"model", "sora-2"}, {"prompt", "p"}});
  EXPECT_EQ(e.call("GET", "/v1/videos/" + id, {}, kKey2).status, 404);  // another key's task
  EXPECT_EQ(e.call("GET", "/v1/videos/" + id + "/content", {}, kKey2).status, 404);
  EXPECT_EQ(e.emu->submissions().at(0).api_key_fingerprint, key_fingerprint(kKey));
}

TEST(OpenAiEmulator, ValidationErrorsAre400WithTheParam) {
  Emu e(fast());
  struct Case {
    json::object body;
    std::string param, code;
  };
  const std::vector<Case> cases = {
      {{{"prompt", "p"}}, "model", "missing_required_parameter"},
      {{{"model", "sora2"}, {"prompt", "p"}}, "model", "model_not_found"},  // FAQ: 模型 ID 拼写错
      {{{"model", 5}, {"prompt", "p"}}, "model", "invalid_value"},
      {{{"model", "sora-2"}}, "prompt", "missing_required_parameter"},
      {{{"model", "sora-2"}, {"prompt", "  "}}, "prompt", "missing_required_parameter"},
      {{{"model", "sora-2"}, {"prompt", "p"}, {"duration", "5"}}, "duration", "invalid_value"},
      {{{"model", "sora-2"}, {"prompt", "p"}, {"duration", 0}}, "duration", "invalid_value"},
      {{{"model", "sora-2"}, {"prompt", "p"}, {"duration", 5.5}}, "duration", "invalid_value"},
      {{{"model", "sora-2"}, {"prompt", "p"}, {"seconds", "5"}}, "seconds", "invalid_value"},
      {{{"model", "sora-2"}, {"prompt", "p"}, {"size", "big"}}, "size", "invalid_value"},
      {{{"model", "sora-2"}, {"prompt", "p"}, {"seed", "x"}}, "seed", "invalid_value"},
  };
  for (const auto& c : cases) {
    const Reply r = e.submit(c.body);
    EXPECT_EQ(r.status, 400) << json::serialize(c.body);
    EXPECT_EQ(r.error_param(), c.param) << r.body;
    EXPECT_EQ(r.error_code(), c.code) << r.body;
    // The adapter reads each as permanent.
    auto parsed = openai::parse_submit_response(r.status, r.body, "emu");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().cls, ErrorClass::permanent) << r.body;
  }
  const Reply bad_json = e.call("POST", "/v1/videos", "{not json");
  EXPECT_EQ(bad_json.status, 400);
  const Reply bad_type =
      request(e.port, "POST", "/openai/v1/videos",
              {{"Authorization", std::string("Bearer ") + kKey}, {"Content-Type", "text/plain"}}, "x");
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(e.emu->rejected_submits(), cases.size() + 2);
  EXPECT_TRUE(e.emu->submissions().empty());
}

TEST(OpenAiEmulator, UnknownTaskPathAndMethod) {
  Emu e(fast());
  const Reply unknown = e.call("GET", "/v1/videos/video-task-nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.error_code(), "not_found");
  auto parsed = openai::parse_task_response(unknown.status, unknown.body, "emu");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().cls, ErrorClass::permanent);
  EXPECT_EQ(e.call("GET", "/v1/nothing").status, 404);
  const Reply m = e.call("GET", "/v1/videos");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.header("allow"), "POST");
  EXPECT_EQ(e.call("DELETE", "/v1/videos/x").status, 405);
}

TEST(OpenAiEmulator, ModelsListTheDocumentsModels) {
  Emu e(fast());
  const Reply r = e.call("GET", "/v1/models");
  ASSERT_EQ(r.status, 200);
  auto models = openai::parse_models_response(r.status, r.body, "emu");
  ASSERT_TRUE(models);
  EXPECT_EQ(*models, (std::vector<std::string>{"sora-2", "sora-2-pro", "veo_3_1-fast", "veo_3_1-fast-hd",
                                               "veo_3_1-fast-fl", "veo_3_1-fast-fl-hd"}));
}

// ---- shapes and lifecycle --------------------------------------------------------------

TEST(OpenAiEmulator, DocSubmitAnswerShape) {
  Emu e(fast());
  // The document's own request (step 1 Python).
  const Reply r = e.submit({{"model", "sora-2-pro"},
                            {"prompt", "A cinematic shot of a cat walking through a sunlit garden, 4K"},
                            {"duration", 5}});
  ASSERT_EQ(r.status, 200);
  const auto o = r.json();
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "task_id", "object", "model", "status", "created"}));
  EXPECT_EQ(o.at("id"), o.at("task_id"));
  EXPECT_EQ(o.at("object"), "video");
  EXPECT_EQ(o.at("status"), "queued");
  // The doc's API_BASE ends in /v1: the same endpoint.
  EXPECT_EQ(openai::api_url(e.base() + "/v1", openai::kVideosPath), e.base() + "/v1/videos");
}

struct ShapeCase {
  std::string model;
  std::vector<std::string> words;  // distinct status words, in order
  std::string url_kind;            // "", "files", "cdn": what the adapter's URL points at
  bool auth_on_url;                // download_target sends the key
};

TEST(OpenAiEmulator, EveryModelsShapeToCompletionAndDownload) {
  Emu e(fast(0.005));  // 15 ms queued, 140 ms running
  const std::vector<ShapeCase> cases = {
      {"sora-2", {"queued", "in_progress", "completed"}, "", true},
      {"sora-2-pro", {"queued", "processing", "success"}, "cdn", true},
      {"veo_3_1-fast", {"pending", "processing", "succeeded"}, "files", true},
      {"veo_3_1-fast-hd", {"queued", "in_progress", "completed"}, "cdn", true},
      {"veo_3_1-fast-fl", {"pending", "unknown"}, "cdn", true},
      {"veo_3_1-fast-fl-hd", {"queued", "processing", "completed"}, "files", true},
  };
  const ProfileConfig prof = profile(e.base());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE(c.model);
    const Reply sub = e.submit({{"model", c.model}, {"prompt", "shape " + c.model}, {"duration", 4}});
    ASSERT_EQ(sub.status, 200) << sub.body;
    auto id = openai::parse_submit_response(sub.status, sub.body, "emu");
    ASSERT_TRUE(id) << sub.body;
    EXPECT_EQ(std::string(sub.json().at("status").as_string()), c.words.front());
    json::object last;
    const auto seen = e.wait_terminal(*id, last);
    // The words seen are the documented sequence in order (a stalled test
    // thread may miss the short queued stage, never the ~140 ms running one).
    std::size_t k = 0;
    for (const auto& w : seen) {
      while (k < c.words.size() && c.words[k] != w) ++k;
      EXPECT_LT(k, c.words.size()) << "unexpected or out-of-order status " << w;
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), c.words.back());
    EXPECT_NE(std::find(seen.begin(), seen.end(), c.words[1]), seen.end()) << c.words[1];
    auto t = openai::parse_task_response(200, json::serialize(last), "emu", *id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->state, RemoteState::succeeded);
    EXPECT_EQ(t->remote_id, *id);
    if (c.url_kind.empty()) {
      EXPECT_TRUE(t->video_url.empty()) << json::serialize(last);
    } else {
      const std::string want = c.url_kind == "files" ? "/openai/v1/files/" : "/openai/cdn/";
      EXPECT_NE(t->video_url.find(want), std::string::npos) << t->video_url;
    }
    const auto target = openai::download_target(prof, *t, OutputKind::video);
    ASSERT_TRUE(target);
    if (c.url_kind.empty()) {
      EXPECT_EQ(target->url, e.base() + "/v1/videos/" + *id + "/content");
    }
    EXPECT_EQ(!target->headers.empty(), c.auth_on_url);  // every emulator URL is on the API's origin
    const Reply video = request(e.port, "GET", target_of(target->url), target->headers);
    ASSERT_EQ(video.status, 200) << video.body;
    EXPECT_EQ(video.header("content-type"), "video/mp4");
    const auto subs = e.emu->submissions();
    ASSERT_EQ(subs.size(), i + 1);
    EXPECT_EQ(subs[i].task_id, *id);
    EXPECT_EQ(sha256_hex(video.body), subs[i].video_sha256);
    EXPECT_EQ(video.body.size(), subs[i].video_bytes);
    EXPECT_EQ(video.body, openai_video_bytes(*id, "shape " + c.model));
  }
}

TEST(OpenAiEmulator, OpenAiObjectFields) {
  Emu e(fast());
  const Reply r = e.call("POST", "/v1/videos", R"({"model":"sora-2","prompt":"p","seconds":"8","size":"720x1280"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto o = r.json();
  EXPECT_FALSE(o.contains("task_id"));
  EXPECT_EQ(o.at("object"), "video");
  EXPECT_EQ(o.at("seconds"), "8");
  EXPECT_EQ(o.at("size"), "720x1280");
  EXPECT_EQ(o.at("progress"), 0);
  EXPECT_TRUE(o.at("error").is_null());
  EXPECT_TRUE(o.at("completed_at").is_null());
  const std::string id(o.at("id").as_string());
  EXPECT_TRUE(id.starts_with("video_"));
  json::object last;
  e.wait_terminal(id, last);
  EXPECT_EQ(last.at("progress"), 100);
  EXPECT_TRUE(last.at("completed_at").is_int64());
  EXPECT_TRUE(last.at("expires_at").is_int64());
}

TEST(OpenAiEmulator, ContentNeedsAuthRangeAndReadiness) {
  Emu e(fast(0.02));  // ~0.7 s to completion
  const std::string id = e.submit_ok({{"model", "sora-2"}, {"prompt", "content"}, {"duration", 5}});
  const Reply early = e.call("GET", "/v1/videos/" + id + "/content");
  EXPECT_EQ(early.status, 404);
  EXPECT_EQ(early.error_code(), "video_not_ready");
  json::object last;
  e.wait_terminal(id, last);
  // FAQ 下载链接 403: without Authorization.
  const Reply anon = request(e.port, "GET", "/openai/v1/videos/" + id + "/content");
  EXPECT_EQ(anon.status, 403);
  const std::string bytes = openai_video_bytes(id, "content");
  HeaderList h = auth();
  h.emplace_back("Range", "bytes=10-19");
  const Reply part = request(e.port, "GET", "/openai/v1/videos/" + id + "/content", h);
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(10, 10));
  EXPECT_EQ(part.header("content-range"), "bytes 10-19/" + std::to_string(bytes.size()));
  const Reply head = request(e.port, "HEAD", "/openai/v1/videos/" + id + "/content", auth());
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(bytes.size()));
  EXPECT_EQ(request(e.port, "GET", "/openai/v1/videos/" + id + "/content?variant=thumbnail", auth()).status, 400);
}

TEST(OpenAiEmulator, FileUrlsNeedTheKeyAndCdnUrlsTheSignature) {
  Emu e(fast());
  const std::string a = e.submit_ok({{"model", "veo_3_1-fast"}, {"prompt", "files"}});
  const std::string b = e.submit_ok({{"model", "veo_3_1-fast-hd"}, {"prompt", "cdn"}});
  json::object ta, tb;
  e.wait_terminal(a, ta);
  e.wait_terminal(b, tb);
  const std::string file_url(ta.at("data").as_array().at(0).as_object().at("url").as_string());
  EXPECT_EQ(ta.at("data").as_array().at(0).as_object().at("duration"), 5);  // doc default
  EXPECT_EQ(request(e.port, "GET", target_of(file_url)).status, 403);
  EXPECT_EQ(request(e.port, "GET", target_of(file_url), auth(kKey2)).status, 404);
  EXPECT_EQ(request(e.port, "GET", target_of(file_url), auth()).status, 200);
  const std::string cdn_url(tb.at("data").as_object().at("result_url").as_string());
  EXPECT_EQ(request(e.port, "GET", target_of(cdn_url)).status, 200);  // signed: no key needed
  std::string tampered = target_of(cdn_url);
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(request(e.port, "GET", tampered).status, 403);
}

TEST(OpenAiEmulator, FailRateFailsWithModerationOrGenerationError) {
  Options o = fast();
  o.fail_rate = 1.0;
  Emu e(o);
  for (const char* model : {"sora-2", "veo_3_1-fast"}) {
    const std::string id = e.submit_ok({{"model", model}, {"prompt", "fails"}});
    json::object last;
    const auto seen = e.wait_terminal(id, last);
    EXPECT_EQ(seen.back(), "failed");
    auto t = openai::parse_task_response(200, json::serialize(last), "emu", id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->state, RemoteState::failed);
    EXPECT_TRUE(t->error_code == "moderation_blocked" || t->error_code == "generation_failed") << t->error_code;
    EXPECT_FALSE(t->error_message.empty());
    EXPECT_EQ(e.call("GET", "/v1/videos/" + id + "/content").status, 404);
  }
}

// ---- the adapter against the emulator ----------------------------------------------------

TEST(OpenAiEmulator, AdapterLifecycleWithMultipartReference) {
  Emu e(fast());
  TempDir dir;
  const fs::path png = dir.path / "ref image.png";
  const std::string png_bytes = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(3000, '\x42') + "--tail\r\n";
  std::ofstream(png, std::ios::binary) << png_bytes;

  asio::io_context io;
  HttpClient http(io.get_executor());
  for (const std::string& base : {e.base(), e.base() + "/v1"}) {
    SCOPED_TRACE(base);
    auto p = openai::make_openai_provider(profile(base), http);
    SubmitRequest req;
    req.spec.id = "row";
    req.spec.model = "veo_3_1-fast";
    req.spec.prompt = "猫 walks \"home\"";
    req.spec.duration_s = 4;
    req.spec.resolution = "720p";
    req.spec.aspect_ratio = "9:16";
    req.spec.seed = 99;
    req.spec.images = {{"ref", png.string()}};
    req.spec.params = {{"enhance_prompt", true}};
    ASSERT_TRUE(p->validate(req.spec).empty());

    LocalAsset la;
    la.name = "ref";
    la.path = png;
    la.sha256 = sha256_hex(png_bytes);
    la.size_bytes = png_bytes.size();
    auto ref = run(io, p->async_upload(la));
    ASSERT_TRUE(ref);
    req.images = {{"ref", *ref}};

    auto id = run(io, p->async_submit(req));
    ASSERT_TRUE(id) << id.error().describe();
    const Submission sub = e.emu->submissions().back();
    EXPECT_EQ(sub.task_id, *id);
    const auto body = json::parse(sub.body).as_object();
    EXPECT_EQ(body.at("model"), "veo_3_1-fast");
    EXPECT_EQ(body.at("prompt"), "猫 walks \"home\"");
    EXPECT_EQ(body.at("duration"), "4");
    EXPECT_EQ(body.at("size"), "720x1280");
    EXPECT_EQ(body.at("seed"), "99");
    EXPECT_EQ(body.at("enhance_prompt"), "true");
    const auto& ir = body.at("input_reference").as_object();
    EXPECT_EQ(ir.at("filename"), "ref image.png");
    EXPECT_EQ(ir.at("content_type"), "image/png");
    EXPECT_EQ(ir.at("size"), png_bytes.size());
    EXPECT_EQ(ir.at("sha256").as_string(), la.sha256);

    std::optional<TaskStatus> done;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = run(io, p->async_query(*id));
      ASSERT_TRUE(s) << s.error().describe();
      if (s->state == RemoteState::succeeded) {
        done = *s;
        break;
      }
      ASSERT_TRUE(s->state == RemoteState::queued || s->state == RemoteState::running) << s->native_state;
      std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(done);
    const auto target = p->download_target(*done, OutputKind::video);
    ASSERT_TRUE(target);
    HttpRequest get;
    get.url = target->url;
    get.headers = target->headers;
    std::string got;
    auto dl = run(io, http.async_download(get, [&](int, std::string_view chunk) {
      got.append(chunk);
      return true;
    }));
    ASSERT_TRUE(dl) << dl.error().message;
    EXPECT_EQ(dl->status, 200);
    EXPECT_EQ(sha256_hex(got), sub.video_sha256);
  }
}

TEST(OpenAiEmulator, AdapterJsonSubmitAndUnknownTask) {
  Emu e(fast());
  asio::io_context io;
  HttpClient http(io.get_executor());
  auto p = openai::make_openai_provider(profile(e.base()), http);
  SubmitRequest req;
  req.spec.model = "sora-2";
  req.spec.prompt = "A beautiful sunset over the ocean, cinematic, 4K";
  req.spec.duration_s = 5;
  auto id = run(io, p->async_submit(req));
  ASSERT_TRUE(id) << id.error().describe();
  EXPECT_EQ(
      json::parse(e.emu->submissions().back().body),
      json::parse(R"({"model":"sora-2","prompt":"A beautiful sunset over the ocean, cinematic, 4K","duration":5})"));
  auto missing = run(io, p->async_query("video_doesnotexist"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().cls, ErrorClass::permanent);
  req.spec.model = "sora2";
  auto typo = run(io, p->async_submit(req));
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().cls, ErrorClass::permanent);
  EXPECT_EQ(typo.error().code, "model_not_found");
  auto bad_key = openai::make_openai_provider(
      [&] {
        auto pr = profile(e.base());
        pr.api_key = "";
        return pr;
      }(),
      http);
  auto denied = run(io, bad_key->async_query(*id));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().cls, ErrorClass::auth);
  auto models = run(io, openai::async_list_models(profile(e.base() + "/v1"), http));
  ASSERT_TRUE(models);
  EXPECT_EQ(models->size(), 6u);
}

TEST(OpenAiEmulator, StateFileSurvivesRestart) {
  TempDir dir;
  Options o = fast();
  o.state_file = dir.path / "state.json";
  std::string done_id, running_id;
  Submission done_sub;
  {
    Emu a(o);
    done_id = a.submit_ok({{"model", "veo_3_1-fast-fl"}, {"prompt", "before restart"}, {"duration", 4}});
    json::object last;
    a.wait_terminal(done_id, last);
    running_id = a.submit_ok({{"model", "sora-2"}, {"prompt", "across restart"}, {"duration", 60}});
    done_sub = a.emu->submissions().at(0);
    a.shutdown();
  }
  const std::string text = test_support::read_text(o.state_file);
  EXPECT_EQ(text.find(kKey), std::string::npos) << "the API key must never be stored";
  Emu b(o);
  ASSERT_EQ(b.emu->submissions().size(), 2u);
  const auto t = b.task(done_id);
  EXPECT_EQ(t.at("status"), "unknown");
  const Reply video = request(b.port, "GET", target_of(std::string(t.at("result_url").as_string())));
  ASSERT_EQ(video.status, 200);
  EXPECT_EQ(sha256_hex(video.body), done_sub.video_sha256);
  json::object last;
  EXPECT_EQ(b.wait_terminal(running_id, last).back(), "completed");
}

}  // namespace
}  // namespace reelbatch::emulator
