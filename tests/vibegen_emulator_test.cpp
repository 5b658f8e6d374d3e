// The vibegen module of the emulator on an ephemeral loopback port, driven
// over real HTTP by a tiny synchronous Beast client: auth, validation, the
// credit table, rate limits, task lifecycle and timeout, the task list,
// callbacks, signed Range-capable downloads and state persistence
// (api-docs/002_df135de1b8378dda.txt).

#include "tests/vibegen_emulator_fixture.hpp"

#include <gtest/gtest.h>

namespace reelbatch::emulator {
namespace {
using namespace test_vibegen;

// ---- routing and auth (doc 6: INVALID_API_KEY 401) -------------------------------------------

TEST(Vibegen, UnknownPathsAndMethods) {
  Emu e(fast());
  const Reply r = e.call("GET", "/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "NOT_FOUND");
  const Reply m = e.call("GET", "/generations");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.code(), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(m.header("allow"), "POST");
  EXPECT_EQ(e.call("DELETE", "/tasks/x").status, 405);
}

TEST(Vibegen, AuthFailuresAre401) {
  Emu e(fast());
  for (const std::string& key : {std::string(), std::string("sk-short"), std::string("pk-video-xxxxxxxxxxxxxxxx"),
                                 std::string("sk-video-xxxx xxxx")}) {
    const Reply r = e.create(doc_body(), key);
    EXPECT_EQ(r.status, 401) << key;
    // doc 1 错误响应 (401), verbatim.
    EXPECT_EQ(r.json(), json::parse(R"({ "error": { "code": "INVALID_API_KEY", "message": "Invalid or missing API key" } })"));
  }
  const Reply basic = request(e.port, "GET", "/vibegen/api/v1/tasks", {{"Authorization", std::string("Basic ") + kKey}});
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(e.call("GET", "/tasks/x", {}, "").status, 401);
  EXPECT_EQ(e.emu->rejected_submits(), 4u);
  EXPECT_TRUE(e.emu->submissions().empty());
}

// ---- create (doc 1; INVALID_PARAMETER 400, INSUFFICIENT_CREDITS 402) ---------------------------

TEST(Vibegen, CreateAnswers201WithTheDocShape) {
  Emu e(fast());
  const Reply r = e.create(doc_body());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("content-type").find("application/json"), 0u);
  const auto o = r.json();
  EXPECT_EQ(o.at("success"), true);
  const auto d = r.data();
  EXPECT_EQ(d.size(), 5u);
  EXPECT_EQ(d.at("status"), "pending");
  EXPECT_EQ(d.at("model"), "seedance 2.0");
  EXPECT_EQ(d.at("task_type"), "text_to_video");
  const std::string id(d.at("id").as_string());
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');  // UUID v4 like the doc's id
  const std::string created(d.at("created_at").as_string());
  EXPECT_EQ(created.size(), 20u);
  EXPECT_EQ(created.back(), 'Z');
  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].provider, "vibegen");
  EXPECT_EQ(subs[0].task_id, id);
  EXPECT_EQ(json::parse(subs[0].body), doc_body());
  EXPECT_EQ(subs[0].api_key_fingerprint, key_fingerprint(kKey));

  // The doc's other two examples, and image_to_video.
  const Reply img = e.create({{"model", "seedance 2.0"},
                              {"prompt", "女孩睁开眼,温柔地看向镜头,头发被风吹动"},
                              {"image_urls", json::array{"https://example.com/girl-with-fox.png"}},
                              {"duration", 5},
                              {"aspect_ratio", "adaptive"},
                              {"generate_audio", true}});
  ASSERT_EQ(img.status, 201) << img.body;
  EXPECT_EQ(img.data().at("task_type"), "image_to_video");
  EXPECT_EQ(e.create({{"model", "seedance 2.0"}, {"prompt", "女孩抱着狐狸,可以听到风声和鸟鸣"}, {"duration", 5},
                      {"aspect_ratio", "16:9"}, {"generate_audio", true}})
                .status,
            201);
  for (const char* ratio : {"16:9", "9:16", "1:1", "21:9", "4:3", "3:4", "9:21", "adaptive", "keep_ratio"})
    EXPECT_EQ(e.create({{"model", "seedance 2.0"}, {"prompt", "x"}, {"aspect_ratio", ratio}, {"duration", 10.0}}).status,
              201)
        << ratio;
}

TEST(Vibegen, MissingParametersAre400WithTheDocMessage) {
  Emu e(fast());
  const Reply both = e.create({{"duration", 5}});
  EXPECT_EQ(both.status, 400);
  // doc 1 错误响应 (400), verbatim.
  EXPECT_EQ(both.json(),
            json::parse(R"({ "error": { "code": "INVALID_PARAMETER", "message": "Missing required parameters: model, prompt" } })"));
  EXPECT_EQ(e.create({{"prompt", "x"}}).message(), "Missing required parameters: model");
  EXPECT_EQ(e.create({{"model", "seedance 2.0"}, {"prompt", "  "}}).message(), "Missing required parameters: prompt");
  EXPECT_EQ(e.create({{"model", nullptr}, {"prompt", "x"}}).message(), "Missing required parameters: model");
  EXPECT_EQ(e.emu->rejected_submits(), 4u);
}

TEST(Vibegen, ValidationErrorsAre400) {
  Emu e(fast());
  struct Case {
    json::object patch;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{{"duration", 7}}, "duration must be 5 or 10"},
      {{{"duration", "5"}}, "duration must be 5 or 10"},
      {{{"duration", 5.5}}, "duration must be 5 or 10"},
      {{{"aspect_ratio", "2:1"}}, "aspect_ratio must be one of"},
      {{{"resolution", "720"}}, "resolution must be one of: 480p, 720p, 1080p"},
      {{{"resolution", "4k"}}, "resolution"},
      {{{"model", "seedance-2.0"}}, "Unsupported model"},
      {{{"model", 2}}, "model must be a string"},
      {{{"prompt", std::string(2001, 'a')}}, "2000 characters"},
      {{{"image_urls", "https://x/a.png"}}, "image_urls must be an array"},
      {{{"image_urls", json::array{"http://x/a.png"}}}, "image_urls[0] must be an https URL"},
      {{{"image_urls", json::array{"https://x/a.png", 3}}}, "image_urls[1]"},
      {{{"generate_audio", "yes"}}, "generate_audio must be a boolean"},
      {{{"callback_url", "not a url"}}, "callback_url"},
  };
  for (const auto& c : cases) {
    json::object body = doc_body();
    for (const auto& kv : c.patch) body[kv.key()] = kv.value();
    const Reply r = e.create(body);
    EXPECT_EQ(r.status, 400) << json::serialize(body);
    EXPECT_EQ(r.code(), "INVALID_PARAMETER");
    EXPECT_NE(r.message().find(c.needle), std::string::npos) << r.message();
  }
  const Reply bad = e.call("POST", "/generations", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.code(), "INVALID_PARAMETER");
  // 2000 characters of CJK (6000 bytes) are fine: the limit counts characters.
  std::string cjk;
  for (int i = 0; i < 2000; ++i) cjk += "城";
  json::object ok = doc_body();
  ok["prompt"] = cjk;
  EXPECT_EQ(e.create(ok).status, 201);
  EXPECT_EQ(e.emu->submissions().size(), 1u);
  EXPECT_EQ(e.emu->rejected_submits(), cases.size() + 1);
}

TEST(Vibegen, InsufficientCreditsIs402AndFailuresAreRefunded) {
  VibegenLimits l;
  l.initial_credits = 100;
  Emu e(fast(0.002, l));
  // 1080p, 10 s, with audio: 180 credits (doc 7).
  const Reply r = e.create({{"model", "seedance 2.0"}, {"prompt", "x"}, {"resolution", "1080p"}, {"duration", 10},
                            {"generate_audio", true}});
  EXPECT_EQ(r.status, 402);
  EXPECT_EQ(r.code(), "INSUFFICIENT_CREDITS");
  EXPECT_EQ(r.message(), "Insufficient credits. Required: 180, Available: 100");
  // 1080p 5 s with audio: 90; leaves 10.
  e.create_ok({{"model", "seedance 2.0"}, {"prompt", "x"}, {"resolution", "1080p"}, {"generate_audio", true}});
  EXPECT_EQ(e.create({{"model", "seedance 2.0"}, {"prompt", "x"}}).message(),
            "Insufficient credits. Required: 15, Available: 10");
  // Another key is another account.
  EXPECT_EQ(e.create({{"model", "seedance 2.0"}, {"prompt", "x"}}, kKey2).status, 201);

  EXPECT_EQ(vibegen_credit_cost("480p", 5, true), 20);
  EXPECT_EQ(vibegen_credit_cost("480p", 5, false), 15);
  EXPECT_EQ(vibegen_credit_cost("720p", 5, true), 43);
  EXPECT_EQ(vibegen_credit_cost("720p", 10, false), 45);
  EXPECT_EQ(vibegen_credit_cost("1080p", 10, false), 100);

  // A failed task gives its credits back.
  VibegenLimits exact;
  exact.initial_credits = 15;
  exact.queries_per_minute = 1000000;  // a hang lasts 1.2 s of polls
  Options o = fast(0.002, exact);
  o.fail_rate = 1.0;
  Emu f(o);
  const std::string id = f.create_ok({{"model", "seedance 2.0"}, {"prompt", "x"}});
  EXPECT_EQ(f.create({{"model", "seedance 2.0"}, {"prompt", "y"}}).status, 402);
  ASSERT_EQ(f.wait_terminal(id).back(), "failed");
  EXPECT_EQ(f.create({{"model", "seedance 2.0"}, {"prompt", "z"}}).status, 201);
}

// ---- rate limits (doc 8; RATE_LIMIT_EXCEEDED 429) --------------------------------------------

TEST(Vibegen, RateLimitsPerKeyAndEndpointClass) {
  VibegenLimits l;
  l.creates_per_minute = 3;
  l.queries_per_minute = 5;
  Emu e(fast(0.002, l));
  std::string id;
  for (int i = 0; i < 3; ++i) id = e.create_ok(doc_body());
  const Reply r = e.create(doc_body());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.code(), "RATE_LIMIT_EXCEEDED");
  const int retry_after = std::stoi(r.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  // Queries are counted apart; a second key has its own windows.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(e.call("GET", i % 2 ? "/tasks" : "/tasks/" + id).status, 200);
  EXPECT_EQ(e.call("GET", "/tasks/" + id).status, 429);
  EXPECT_EQ(e.call("GET", "/tasks").status, 429);
  EXPECT_EQ(e.create(doc_body(), kKey2).status, 201);
  EXPECT_EQ(e.call("GET", "/tasks", {}, kKey2).status, 200);
  // Validation failures count too (the request was served); 429s do not.
  EXPECT_EQ(e.create({}, kKey2).status, 400);
  EXPECT_EQ(e.create({}, kKey2).status, 400);
  EXPECT_EQ(e.create(doc_body(), kKey2).status, 429);
  EXPECT_EQ(e.emu->submissions().size(), 4u);
}

TEST(Vibegen, RateWindowSlides) {
  VibegenLimits l;
  l.creates_per_minute = 2;
  l.rate_window = 300ms;
  Emu e(fast(0.002, l));
  e.create_ok(doc_body());
  e.create_ok(doc_body());
  const Reply r = e.create(doc_body());
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");  // whole seconds, at least 1
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(e.create(doc_body()).status, 201);
}

// ---- task list (doc 3) -------------------------------------------------------------------------

TEST(Vibegen, TaskListFiltersPagesNewestFirst) {
  Emu e(fast(0.01));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    json::object b = doc_body();
    b["prompt"] = "task " + std::to_string(i);
    ids.push_back(e.create_ok(b));
  }
  for (const auto& id : ids) ASSERT_EQ(e.wait_terminal(id).back(), "completed");
  // Unfinished for (3 + (20 + 90) × 1.2) s × 0.01 ≈ 1.35 s.
  const std::string late = e.create_ok({{"model", "seedance 2.0"}, {"prompt", "late"}, {"resolution", "1080p"},
                                        {"duration", 10}, {"generate_audio", true}});

  const auto all = e.call("GET", "/tasks").data();
  const auto& tasks = all.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 6u);
  EXPECT_EQ(tasks[0].at("id"), json::value(late));
  EXPECT_EQ(tasks[5].at("id"), json::value(ids[0]));
  EXPECT_EQ(all.at("pagination"),
            json::parse(R"({"page":1,"pageSize":20,"total":6,"total_pages":1})"));

  // The doc's example query.
  const auto done = e.call("GET", "/tasks?status=completed&limit=10").data();
  EXPECT_EQ(done.at("tasks").as_array().size(), 5u);
  EXPECT_EQ(done.at("pagination"), json::parse(R"({"page":1,"pageSize":10,"total":5,"total_pages":1})"));
  const auto page2 = e.call("GET", "/tasks?status=completed&limit=2&offset=2").data();
  ASSERT_EQ(page2.at("tasks").as_array().size(), 2u);
  EXPECT_EQ(page2.at("tasks").as_array()[0].at("id"), json::value(ids[2]));
  EXPECT_EQ(page2.at("pagination"), json::parse(R"({"page":2,"pageSize":2,"total":5,"total_pages":3})"));
  EXPECT_FALSE(page2.at("tasks").as_array()[0].at("video_url").is_null());
  EXPECT_EQ(e.call("GET", "/tasks?status=failed").data().at("tasks").as_array().size(), 0u);
  EXPECT_EQ(e.call("GET", "/tasks?offset=100").data().at("tasks").as_array().size(), 0u);
  EXPECT_EQ(e.call("GET", "/tasks", {}, kKey2).data().at("pagination").at("total"), 0);

  for (const char* q : {"?status=done", "?limit=0", "?limit=x", "?offset=-1"}) {
    const Reply r = e.call("GET", std::string("/tasks") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(r.code(), "INVALID_PARAMETER") << q;
  }
}

// ---- the adapter against the emulator ------------------------------------------------------

// providers/vibegen/vibegen.cpp's coroutines against this module: submit,
// poll, list (created_at_ms), download.
TEST(Vibegen, AdapterRoundTrip) {
  Emu e(fast(0.002));
  ProfileConfig profile;
  profile.name = "vg";
  profile.kind = "vibegen";
  profile.base_url = "http://127.0.0.1:" + std::to_string(e.port) + "/vibegen/api/v1";
  profile.api_key = kKey;
  profile.request_timeout = 5000ms;
  asio::io_context io;
  HttpClient http(io.get_executor());
  auto provider = vibegen::make_vibegen_provider(profile, http);
  SubmitRequest req;
  req.spec.id = "row-1";
  req.spec.prompt = "一座未来城市,飞行汽车在日落时分穿梭";
  req.spec.duration_s = 5;
  req.spec.resolution = "720";
  req.spec.aspect_ratio = "keep_ratio";
  req.spec.audio = false;
  req.spec.images = {{"ref", "https://example.com/ref.png"}};
  req.images = {{"ref", "https://example.com/ref.png"}};
  ASSERT_TRUE(provider->validate(req.spec).empty());
  const auto before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();

  std::string remote_id, video;
  std::optional<TaskStatus> final_status;
  std::optional<TaskPage> page;
  std::string failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto id = co_await provider->async_submit(req);
        if (!id) {
          failure = id.error().describe();
          co_return;
        }
        remote_id = *id;
        for (int i = 0; i < 2000; ++i) {
          auto st = co_await provider->async_query(remote_id);
          if (!st) {
            failure = st.error().describe();
            co_return;
          }
          if (st->state == RemoteState::succeeded || st->state == RemoteState::failed) {
            final_status = *st;
            break;
          }
          asio::steady_timer t(io, 2ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        auto l = co_await provider->async_list(1, 50);
        if (l) page = *l;
        auto target = provider->download_target(*final_status, OutputKind::video);
        HttpRequest get;
        get.url = target->url;
        get.headers = target->headers;
        auto r = co_await http.async_request(get);
        if (r && r->status == 200) video = r->body;
        auto missing = co_await provider->async_query("no-such-task");
        if (missing || missing.error().cls != ErrorClass::permanent || missing.error().code != "TASK_NOT_FOUND")
          failure = "unknown task not reported as TASK_NOT_FOUND";
      },
      [](std::exception_ptr ex) { EXPECT_FALSE(ex); });
  io.run();
  ASSERT_EQ(failure, "");
  ASSERT_TRUE(final_status);
  EXPECT_EQ(final_status->state, RemoteState::succeeded);
  EXPECT_EQ(final_status->native_state, "completed");
  ASSERT_TRUE(final_status->created_at_ms);
  EXPECT_GE(*final_status->created_at_ms, before_ms - 1000);
  EXPECT_LE(*final_status->created_at_ms, before_ms + 5000);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->tasks.size(), 1u);
  EXPECT_EQ(page->total, 1);
  EXPECT_EQ(page->tasks[0].remote_id, remote_id);
  EXPECT_EQ(page->tasks[0].created_at_ms, final_status->created_at_ms);
  const auto subs = e.emu->submissions();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(sha256_hex(video), subs[0].video_sha256);
  const auto body = json::parse(subs[0].body).as_object();
  EXPECT_EQ(body.at("model"), "seedance 2.0");
  EXPECT_EQ(body.at("resolution"), "720p");
  EXPECT_EQ(body.at("image_urls"), json::array{"https://example.com/ref.png"});
  EXPECT_EQ(e.task(remote_id).at("task_type"), "image_to_video");
}

// ---- the document's own client code ------------------------------------------------------------

// The doc 9 Python SDK example, unchanged but for BASE_URL and the key, when
// python3 with requests is available and REELBATCH_VIBEGEN_SDK_TEST is set
// (it sleeps 5 s between polls, as written).
TEST(Vibegen, DocPythonSdkRunsUnchanged) {
  if (!std::getenv("REELBATCH_VIBEGEN_SDK_TEST")) GTEST_SKIP() << "set REELBATCH_VIBEGEN_SDK_TEST=1 to run";
  Emu e(fast(0.01));
  TempDir dir;
  const std::string script = R"py(import requests
import time
API_KEY = 'sk-video-xxxxxxxxxxxxxxxx'
BASE_URL = 'http://127.0.0.1:PORT/vibegen/api/v1'
def create_video_task():
    """创建视频生成任务"""
    response = requests.post(
        f'{BASE_URL}/generations',
        headers={
            'Authorization': f'Bearer {API_KEY}',
            'Content-Type': 'application/json'
        },
        json={
            'model': 'seedance 2.0',
            'prompt': '一座未来城市,飞行汽车在日落时分穿梭',
            'duration': 5,
            'aspect_ratio': '16:9',
            'resolution': '720p'
        }
    )
    response.raise_for_status()
    data = response.json()
    return data['data']['id']
def get_task_status(task_id):
    """查询任务状态"""
    response = requests.get(
        f'{BASE_URL}/tasks/{task_id}',
        headers={'Authorization': f'Bearer {API_KEY}'}
    )
    response.raise_for_status()
    data = response.json()
    return data['data']
def wait_for_completion(task_id):
    """轮询等待任务完成"""
    while True:
        task = get_task_status(task_id)
        if task['status'] == 'completed':
            print(f"视频生成完成: {task['video_url']}")
            return task
        elif task['status'] == 'failed':
            raise Exception(f"视频生成失败: {task.get('error_message')}")
        print('任务进行中...')
        time.sleep(5)
if __name__ == '__main__':
    try:
        task_id = create_video_task()
        print(f'任务已创建: {task_id}')
        result = wait_for_completion(task_id)
        print(f'最终结果: {result}')
    except Exception as e:
        print(f'错误: {e}')
)py";
  std::string s = script;
  s.replace(s.find("PORT"), 4, std::to_string(e.port));
  const fs::path py = dir.path / "sdk.py", out = dir.path / "out.txt";
  std::ofstream(py) << s;
  ASSERT_EQ(std::system(("python3 " + py.string() + " > " + out.string() + " 2>&1").c_str()), 0);
  const std::string text = test_support::read_text(out);
  EXPECT_NE(text.find("视频生成完成: http://127.0.0.1:"), std::string::npos) << text;
  EXPECT_EQ(text.find("错误"), std::string::npos) << text;
}

}  // namespace
}  // namespace reelbatch::emulator
