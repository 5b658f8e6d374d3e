// Contract tests of the juhuo adapter's pure functions against the API
// document (api-docs/000_2fbac5bd8fa1f5a3.txt). The JSON samples marked
// "doc N" are copied verbatim from that section. No sockets, no sleeping.
// Response side (errors, query, list, balance); the requests are built in
// juhuo_adapter_request_test.cpp.
#include "tests/juhuo_adapter_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>

namespace reelbatch::juhuo {
namespace {
using namespace test_juhuo;

// doc 7 成功响应
constexpr const char* kDocTaskList = R"json({
"code": "200",
"message": "Success",
"result": {
"data": [
{
"taskId": "gen_abc123def456",
"status": "success",
"outputUrl": "https://cdn.example.com/output/video.mp4?token=xxx",
"coverUrl": "https://cdn.example.com/output/cover.jpg?token=xxx",
"errorCode": "",
"errorMsg": "",
"creditCost": 1.15,
"gmtCreate": 1712534400000
}
],
"total": 42,
"pageNo": 1,
"pageSize": 10
}
})json";

// doc 8 成功响应
constexpr const char* kDocBalance = R"json({
"code": "200",
"message": "Success",
"result": {
"totalCredits": 10000.00,
"usedCredits": 3250.50,
"remainCredits": 6749.50
}
})json";

// doc 3.3 错误响应
constexpr const char* kDocError33 = R"json({
"code": "4000",
"message": "参数错误:duration范围为4-15"
})json";

constexpr const char* kDocError4403 = R"json({
"code": "4403",
"message": "未授权"
})json";

// ---- errors (doc 3.3, 10) -------------------------------------------------------------------

TEST(JuhuoErrors, DocErrorExamples) {
  for (int status : {200, 400}) {
    auto e = parse_task_response(status, kDocError4000, kProfile);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().cls, ErrorClass::permanent);
    EXPECT_EQ(e.error().code, "4000");
    EXPECT_EQ(e.error().http_status, status);
    EXPECT_EQ(e.error().provider, kProfile);
    EXPECT_NE(e.error().message.find("duration范围为4-15"), std::string::npos);
    EXPECT_NE(e.error().message.find("参数错误"), std::string::npos);
  }
  auto e33 = parse_submit_response(400, kDocError33, kProfile);
  EXPECT_EQ(e33.error().cls, ErrorClass::permanent);
  EXPECT_EQ(e33.error().message, "参数错误:duration范围为4-15 (invalid request parameter; the row is rejected)");

  auto a = parse_balance_response(200, kDocError4403, kProfile);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().cls, ErrorClass::auth);
  EXPECT_EQ(a.error().code, "4403");
  EXPECT_EQ(a.error().describe(), "juhuo: HTTP 200, code 4403: 未授权 (API key missing, malformed or revoked)");
}

TEST(JuhuoErrors, EveryDocumentedCode) {
  const std::pair<const char*, ErrorClass> table[] = {
      {"4000", ErrorClass::permanent}, {"4003", ErrorClass::out_of_credit}, {"4004", ErrorClass::permanent},
      {"4009", ErrorClass::permanent}, {"4403", ErrorClass::auth},          {"5000", ErrorClass::retryable},
      {"5003", ErrorClass::retryable},
  };
  for (const auto& [code, cls] : table) {
    for (int status : {200, 400, 403, 500}) {
      const auto e = classify(status, code, "", kProfile, std::nullopt);
      EXPECT_EQ(e.cls, cls) << code << " / HTTP " << status;
      EXPECT_EQ(e.code, code);
      EXPECT_EQ(e.http_status, status);
      EXPECT_FALSE(e.message.empty());
      auto viaparse = parse_task_response(status, envelope(code, "x"), kProfile);
      ASSERT_FALSE(viaparse);
      EXPECT_EQ(viaparse.error().cls, cls) << code << " / HTTP " << status;
    }
  }
  EXPECT_EQ(classify(200, "4003", "积分余额不足", kProfile, std::nullopt).describe(),
            "juhuo: HTTP 200, code 4003: 积分余额不足 (API credit balance is exhausted)");
  EXPECT_EQ(classify(200, "4004", "", kProfile, std::nullopt).message,
            "资源不存在 (task not found or not owned by this API key)");
  EXPECT_EQ(classify(500, "5003", "busy", kProfile, milliseconds(2000)).retry_after, milliseconds(2000));
  EXPECT_EQ(classify(200, "4000", "x", kProfile, milliseconds(2000)).retry_after, std::nullopt);
}

TEST(JuhuoErrors, UndocumentedCodes) {
  EXPECT_EQ(classify(200, "4999", "?", kProfile, std::nullopt).cls, ErrorClass::permanent);
  EXPECT_EQ(classify(200, "5999", "?", kProfile, std::nullopt).cls, ErrorClass::retryable);
  EXPECT_EQ(classify(200, "E1", "?", kProfile, std::nullopt).cls, ErrorClass::permanent);
  EXPECT_EQ(classify(503, "E1", "?", kProfile, std::nullopt).cls, ErrorClass::retryable);
  // A numeric code is accepted as well as the documented string.
  EXPECT_EQ(parse_task_response(200, R"({"code":4003,"message":"积分余额不足"})", kProfile).error().cls,
            ErrorClass::out_of_credit);
}

TEST(JuhuoErrors, Http429IsRateLimitedWithRetryAfter) {
  for (const std::string& body : {std::string(""), std::string("Too Many Requests"), envelope("5003", "服务繁忙")}) {
    auto e = parse_task_response(429, body, kProfile, milliseconds(7000));
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().cls, ErrorClass::rate_limited) << body;
    EXPECT_EQ(e.error().retry_after, milliseconds(7000));
    EXPECT_EQ(e.error().http_status, 429);
    auto s = parse_submit_response(429, body, kProfile, std::nullopt);
    EXPECT_EQ(s.error().cls, ErrorClass::rate_limited) << body;
    EXPECT_EQ(s.error().retry_after, std::nullopt);
  }
}

TEST(JuhuoErrors, HttpStatusWithoutEnvelope) {
  for (int status : {500, 502, 503, 504}) {
    auto e = parse_task_response(status, "<html><body>Bad Gateway</body></html>", kProfile);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().cls, ErrorClass::retryable) << status;
    EXPECT_EQ(e.error().code, "http");
    EXPECT_NE(e.error().message.find("Bad Gateway"), std::string::npos);
  }
  EXPECT_EQ(parse_task_response(404, "Not Found", kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_task_response(400, "", kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_task_response(401, "", kProfile).error().cls, ErrorClass::auth);
  EXPECT_EQ(parse_task_response(408, "", kProfile).error().cls, ErrorClass::retryable);
}

TEST(JuhuoErrors, MalformedBodiesAreRetryableForQueries) {
  const char* bodies[] = {
      "",
      "{",
      "null",
      "{\"code\":\"200\",\"message\":\"Success\",\"result\":{\"taskId\":\"gen_1\",\"stat",  // truncated
      "{\"code\":\"200\",\"message\":\"Success\"}",
      "{\"code\":\"200\",\"result\":{\"status\":\"queued\"}}",
      "{\"code\":\"200\",\"result\":{\"taskId\":\"gen_1\"}}",
      "{\"code\":\"200\",\"result\":{\"taskId\":\"gen_1\",\"status\":7}}",
      "{\"code\":\"200\",\"result\":{\"taskId\":\"gen_1\",\"status\":\"queued\",\"creditCost\":\"lots\"}}",
      "{\"code\":\"200\",\"result\":{\"taskId\":\"gen_1\",\"status\":\"queued\",\"gmtCreate\":1.5}}",
      "{\"code\":\"200\",\"result\":[1,2]}",
      "{\"message\":\"no code\"}",
  };
  for (const char* b : bodies) {
    auto r = parse_task_response(200, b, kProfile);
    ASSERT_FALSE(r) << b;
    EXPECT_EQ(r.error().cls, ErrorClass::retryable) << b;
    EXPECT_EQ(r.error().code, "bad_response") << b;
    EXPECT_EQ(parse_task_list_response(200, b, kProfile).error().cls, ErrorClass::retryable) << b;
    EXPECT_EQ(parse_balance_response(200, b, kProfile).error().cls, ErrorClass::retryable) << b;
    EXPECT_EQ(parse_presign_response(200, b, kProfile).error().cls, ErrorClass::retryable) << b;
  }
}

TEST(JuhuoErrors, NetworkErrors) {
  const NetError sent_timeout{NetErrc::timeout, true, "timed out"};
  const NetError refused{NetErrc::connect, false, "connection refused"};
  const NetError reset{NetErrc::receive, true, "connection reset by peer"};
  EXPECT_EQ(from_net_error(sent_timeout, kProfile, true).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(from_net_error(reset, kProfile, true).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(from_net_error(refused, kProfile, true).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(sent_timeout, kProfile, false).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(sent_timeout, kProfile, false).code, "timeout");
  EXPECT_EQ(from_net_error(reset, kProfile, false).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(refused, kProfile, false).code, "network");
  EXPECT_EQ(from_net_error(refused, kProfile, false).http_status, 0);
  EXPECT_EQ(from_net_error(NetError{NetErrc::bad_url, false, "bad URL"}, kProfile, false).cls,
            ErrorClass::permanent);
  const auto e = from_net_error(NetError{NetErrc::connect, false, "bad URL: https://oss.x/u?signature=SECRET"},
                                kProfile, false);
  EXPECT_EQ(e.message.find("SECRET"), std::string::npos) << e.message;
}

TEST(JuhuoErrors, RetryAfter) {
  using namespace std::chrono;
  const auto now = sys_days(year{2026} / April / 8) + hours(8);
  EXPECT_EQ(parse_retry_after("5", now), milliseconds(5000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 08 Apr 2026 08:00:30 GMT", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("Wed, 08 Apr 2026 07:00:00 GMT", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("99999999999", now), duration_cast<milliseconds>(hours(24)));
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
}

// ---- query, list, balance (doc 6-8) ------------------------------------------------------------

TEST(JuhuoQuery, ParsesDocExample) {
  auto r = parse_task_response(200, kDocTaskOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->remote_id, "gen_abc123def456");
  EXPECT_EQ(r->state, RemoteState::succeeded);
  EXPECT_EQ(r->native_state, "success");
  EXPECT_EQ(r->video_url, "https://cdn.example.com/output/video.mp4?token=xxx");
  EXPECT_EQ(r->cover_url, "https://cdn.example.com/output/cover.jpg?token=xxx");
  EXPECT_TRUE(r->last_frame_url.empty());
  ASSERT_TRUE(r->cost);
  EXPECT_DOUBLE_EQ(*r->cost, 1.15);
  EXPECT_EQ(r->created_at_ms, 1712534400000);
  EXPECT_EQ(r->error_code, "");
  EXPECT_EQ(r->error_message, "");
}

TEST(JuhuoQuery, AllEightStates) {
  const std::pair<const char*, RemoteState> states[] = {
      {"queued", RemoteState::queued},       {"init", RemoteState::running},
      {"uploading", RemoteState::running},   {"submitted", RemoteState::running},
      {"generating", RemoteState::running},  {"downloading", RemoteState::running},
      {"success", RemoteState::succeeded},   {"fail", RemoteState::failed},
  };
  for (const auto& [native, state] : states) {
    EXPECT_EQ(map_state(native), state) << native;
    EXPECT_TRUE(is_documented_state(native)) << native;
    auto t = doc_task();
    t["status"] = native;
    auto r = parse_task_response(200, task_envelope(t), kProfile);
    ASSERT_TRUE(r) << native;
    EXPECT_EQ(r->state, state) << native;
    EXPECT_EQ(r->native_state, native);
  }
  EXPECT_EQ(map_state("SUCCESS"), RemoteState::succeeded);
  EXPECT_EQ(map_state("paused"), RemoteState::running);
  EXPECT_FALSE(is_documented_state("paused"));
  auto t = doc_task();
  t["status"] = "paused";
  auto r = parse_task_response(200, task_envelope(t), kProfile);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, RemoteState::running);
  EXPECT_EQ(r->native_state, "paused");
}

TEST(JuhuoQuery, RunningTaskWithNullsAndMissingFields) {
  auto r = parse_task_response(
      200,
      R"({"code":"200","message":"Success","result":{"taskId":"gen_1","status":"generating","outputUrl":null,
          "coverUrl":null,"errorCode":null,"errorMsg":null,"creditCost":null}})",
      kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->state, RemoteState::running);
  EXPECT_TRUE(r->video_url.empty());
  EXPECT_FALSE(r->cost);
  EXPECT_FALSE(r->created_at_ms);
  auto s = parse_task_response(
      200, R"({"code":"200","result":{"taskId":"gen_1","status":"queued","creditCost":"0.50","gmtCreate":"17"}})",
      kProfile);
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_DOUBLE_EQ(*s->cost, 0.5);
  EXPECT_EQ(s->created_at_ms, 17);
}

TEST(JuhuoQuery, SuccessWithoutOutputUrlIsBadResponse) {
  auto t = doc_task();
  t.erase("outputUrl");
  auto r = parse_task_response(200, task_envelope(t), kProfile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::retryable);
  EXPECT_EQ(r.error().code, "bad_response");
  t["outputUrl"] = "";
  EXPECT_FALSE(parse_task_response(200, task_envelope(t), kProfile));
}

TEST(JuhuoQuery, FailedTaskAndRetryability) {
  auto t = doc_task();
  t["status"] = "fail";
  t["outputUrl"] = "";
  t["coverUrl"] = "";
  t["errorCode"] = "PIPELINE_TIMEOUT";
  t["errorMsg"] = "生成超时";
  t["creditCost"] = 0;
  auto r = parse_task_response(200, task_envelope(t), kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->state, RemoteState::failed);
  EXPECT_EQ(r->error_code, "PIPELINE_TIMEOUT");
  EXPECT_EQ(r->error_message, "生成超时");
  EXPECT_TRUE(is_retryable_task_error(r->error_code));

  EXPECT_FALSE(is_retryable_task_error("PAYLOAD_PARSE_ERROR"));
  EXPECT_TRUE(is_retryable_task_error("UPLOAD_FAILED"));
  EXPECT_TRUE(is_retryable_task_error("SUBMIT_FAILED"));
  EXPECT_TRUE(is_retryable_task_error("PIPELINE_TIMEOUT"));
  EXPECT_TRUE(is_retryable_task_error("TRANSFER_FAILED"));
  EXPECT_FALSE(is_retryable_task_error(""));
  EXPECT_FALSE(is_retryable_task_error("SOMETHING_NEW"));
}

TEST(JuhuoQuery, TaskNotFound) {
  auto r = parse_task_response(200, envelope("4004", "任务不存在"), kProfile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::permanent);
  EXPECT_EQ(r.error().code, "4004");
}

TEST(JuhuoQuery, Paths) {
  EXPECT_EQ(task_path("gen_abc123def456"), "/open-api/v1/video/task/gen_abc123def456");
  EXPECT_EQ(task_path("a/b c?"), "/open-api/v1/video/task/a%2Fb%20c%3F");
  EXPECT_EQ(task_list_path(1, 10), "/open-api/v1/video/tasks?pageNo=1&pageSize=10");
}

TEST(JuhuoList, ParsesDocExample) {
  auto r = parse_task_list_response(200, kDocTaskList, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->total, 42);
  ASSERT_EQ(r->tasks.size(), 1u);
  EXPECT_EQ(r->tasks[0].remote_id, "gen_abc123def456");
  EXPECT_EQ(r->tasks[0].state, RemoteState::succeeded);
  EXPECT_EQ(r->tasks[0].created_at_ms, 1712534400000);
  EXPECT_DOUBLE_EQ(*r->tasks[0].cost, 1.15);
}

TEST(JuhuoList, EmptyNullAndMalformedPages) {
  auto e = parse_task_list_response(200, R"({"code":"200","result":{"data":[],"total":0}})", kProfile);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->tasks.empty());
  auto n = parse_task_list_response(200, R"({"code":"200","result":{"data":null}})", kProfile);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->total, 0);
  // A success item without outputUrl is fine in a list (reconciliation only).
  auto s = parse_task_list_response(
      200, R"({"code":"200","result":{"data":[{"taskId":"a","status":"success"}],"total":1}})", kProfile);
  ASSERT_TRUE(s);
  // One malformed item spoils the page: it could hide a lost submit.
  auto m = parse_task_list_response(
      200, R"({"code":"200","result":{"data":[{"taskId":"a","status":"queued"},{"status":"queued"}],"total":2}})",
      kProfile);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().cls, ErrorClass::retryable);
  EXPECT_FALSE(parse_task_list_response(200, R"({"code":"200","result":{"total":3}})", kProfile));
}

TEST(JuhuoBalance, ParsesDocExample) {
  auto r = parse_balance_response(200, kDocBalance, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_DOUBLE_EQ(r->total, 10000.0);
  EXPECT_DOUBLE_EQ(r->used, 3250.5);
  EXPECT_DOUBLE_EQ(r->remain, 6749.5);
  auto m = parse_balance_response(200, R"({"code":"200","result":{"totalCredits":1,"usedCredits":0}})", kProfile);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().cls, ErrorClass::retryable);
}

}  // namespace
}  // namespace reelbatch::juhuo
