// Contract tests of the seedance2 adapter's pure functions against the API
// document (api-docs/003_a3f86ea388979b7c.txt). The JSON samples marked
// "doc <heading>" are copied verbatim from the document. No sockets, no sleeping.
// Response side (errors, query, list, balance); the requests are built in
// seedance2_adapter_request_test.cpp.
#include "tests/seedance2_adapter_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>

namespace reelbatch::seedance2 {
namespace {
using namespace test_seedance2;

// ---- the document's own examples ---------------------------------------------------------

// doc 查询任务状态 成功响应
constexpr const char* kDocTaskOk = R"json({
"code": "200",
"message": "Success",
"result": {
"task_id": "a1b2c3d4e5f6...",
"model": "seedance-2.0",
"status": "completed",
"resolution": "720p",
"ratio": "16:9",
"duration": 8,
"generate_audio": false,
"seed": null,
"video_url": "https://cdn.example.com/video.mp4?token=...",
"last_frame_url": null,
"error_code": null,
"error_message": null,
"credit_cost": 14.4,
"created_at": "2025-01-15T10:30:00Z",
"updated_at": "2025-01-15T10:33:45Z"
}
})json";

// doc 任务列表 成功响应 (its data item is a placeholder string)
constexpr const char* kDocTaskList = R"json({
"code": "200",
"message": "Success",
"result": {
"data": [
"{ ... task objects ... }"
],
"total": 42,
"page": 1,
"page_size": 10
}
})json";

// doc 取消任务 成功响应
constexpr const char* kDocCancelOk = R"json({
"code": "200",
"message": "Success",
"result": {
"task_id": "a1b2c3d4e5f6...",
"status": "cancelled"
}
})json";

// doc 余额查询 成功响应
constexpr const char* kDocBalance = R"json({
"code": "200",
"message": "Success",
"result": {
"total_credits": 10000,
"used_credits": 3250.5,
"remain_credits": 6749.5
}
})json";

constexpr std::int64_t kDocCreatedMs = 1736937000000;  // 2025-01-15T10:30:00Z

json::object doc_task() { return json::parse(kDocTaskOk).as_object().at("result").as_object(); }

// ---- errors (doc 错误码) --------------------------------------------------------------------

TEST(Seedance2Errors, DocErrorExample) {
  for (int status : {200, 400}) {
    auto e = parse_task_response(status, kDocError, kProfile);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().cls, ErrorClass::permanent);
    EXPECT_EQ(e.error().code, "INVALID_PARAMETER");
    EXPECT_EQ(e.error().http_status, status);
    EXPECT_EQ(e.error().message,
              "Invalid parameter: duration must be 4-15 (参数值无效或格式不正确: invalid request parameter; the row "
              "is rejected)");
  }
}

TEST(Seedance2Errors, EveryDocumentedCodeWithItsHttpStatus) {
  struct Row {
    const char* code;
    int http;  // doc HTTP 状态码映射
    ErrorClass cls;
  };
  const Row table[] = {
      {"INVALID_API_KEY", 401, ErrorClass::auth},
      {"INVALID_PARAMETER", 400, ErrorClass::permanent},
      {"MISSING_PARAMETER", 400, ErrorClass::permanent},
      {"INSUFFICIENT_CREDIT", 402, ErrorClass::out_of_credit},
      {"CREDIT_DEDUCT_FAILED", 500, ErrorClass::retryable},
      {"TASK_NOT_FOUND", 404, ErrorClass::permanent},
      {"TASK_SUBMIT_FAILED", 500, ErrorClass::retryable},
      {"TASK_CANCEL_NOT_ALLOWED", 400, ErrorClass::permanent},
      {"CONCURRENCY_LIMIT_REACHED", 429, ErrorClass::rate_limited},
      {"FILE_UPLOAD_FAILED", 500, ErrorClass::retryable},
      {"VIDEO_DOWNLOAD_FAILED", 500, ErrorClass::retryable},
      {"CONTENT_MODERATION_FAILED", 400, ErrorClass::permanent},
      {"COPYRIGHT_VIOLATION", 400, ErrorClass::permanent},
      {"PRIVACY_VIOLATION", 400, ErrorClass::permanent},
      {"SERVICE_BUSY", 503, ErrorClass::retryable},
      {"RATE_LIMIT_EXCEEDED", 429, ErrorClass::rate_limited},
      {"INTERNAL_ERROR", 500, ErrorClass::retryable},
  };
  for (const auto& row : table) {
    for (int status : {200, row.http}) {  // "大部分响应使用 HTTP 200", or the mapped status
      const auto e = classify(status, row.code, "", kProfile, std::nullopt);
      EXPECT_EQ(e.cls, row.cls) << row.code << " / HTTP " << status;
      EXPECT_EQ(e.code, row.code);
      EXPECT_FALSE(e.message.empty());
      auto q = parse_task_response(status, envelope(row.code, "x"), kProfile);
      ASSERT_FALSE(q);
      EXPECT_EQ(q.error().cls, row.cls) << row.code << " / HTTP " << status;
    }
  }
  EXPECT_EQ(classify(402, "INSUFFICIENT_CREDIT", "", kProfile, std::nullopt).describe(),
            "seedance2: HTTP 402, code INSUFFICIENT_CREDIT: 积分余额不足 (credit balance is insufficient)");
  EXPECT_EQ(classify(503, "SERVICE_BUSY", "busy", kProfile, milliseconds(2000)).retry_after, milliseconds(2000));
  EXPECT_EQ(classify(400, "INVALID_PARAMETER", "x", kProfile, milliseconds(2000)).retry_after, std::nullopt);
  EXPECT_EQ(classify(429, "RATE_LIMIT_EXCEEDED", "x", kProfile, milliseconds(7000)).retry_after, milliseconds(7000));
}

TEST(Seedance2Errors, UndocumentedCodesAndBareStatuses) {
  EXPECT_EQ(classify(200, "SOMETHING_NEW", "?", kProfile, std::nullopt).cls, ErrorClass::permanent);
  EXPECT_EQ(classify(503, "SOMETHING_NEW", "?", kProfile, std::nullopt).cls, ErrorClass::retryable);
  EXPECT_EQ(classify(402, "SOMETHING_NEW", "?", kProfile, std::nullopt).cls, ErrorClass::out_of_credit);
  EXPECT_EQ(classify(429, "SOMETHING_NEW", "?", kProfile, std::nullopt).cls, ErrorClass::rate_limited);
  EXPECT_EQ(parse_task_response(401, "Unauthorized", kProfile).error().cls, ErrorClass::auth);
  EXPECT_EQ(parse_task_response(403, "", kProfile).error().cls, ErrorClass::auth);
  EXPECT_EQ(parse_task_response(404, "<html>", kProfile).error().cls, ErrorClass::permanent);
  EXPECT_EQ(parse_task_response(502, "", kProfile).error().cls, ErrorClass::retryable);
  auto rl = parse_task_response(429, "slow down", kProfile, milliseconds(1500));
  EXPECT_EQ(rl.error().cls, ErrorClass::rate_limited);
  EXPECT_EQ(rl.error().retry_after, milliseconds(1500));
}

TEST(Seedance2Errors, NetworkErrors) {
  const NetError sent{NetErrc::receive, true, "connection reset by http://h/x?sig=secret"};
  EXPECT_EQ(from_net_error(sent, kProfile, true).cls, ErrorClass::unknown_outcome);
  EXPECT_EQ(from_net_error(sent, kProfile, false).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(sent, kProfile, false).message.find("secret"), std::string::npos);
  EXPECT_EQ(from_net_error(NetError{NetErrc::connect, false, "refused"}, kProfile, true).cls, ErrorClass::retryable);
  EXPECT_EQ(from_net_error(NetError{NetErrc::timeout, false, "t"}, kProfile, false).code, "timeout");
  EXPECT_EQ(from_net_error(NetError{NetErrc::bad_url, false, "bad"}, kProfile, false).cls, ErrorClass::permanent);
}

// ---- query, list, cancel, balance -------------------------------------------------------------

TEST(Seedance2Query, ParsesDocExample) {
  auto r = parse_task_response(200, kDocTaskOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->remote_id, "a1b2c3d4e5f6...");
  EXPECT_EQ(r->native_state, "completed");
  EXPECT_EQ(r->state, RemoteState::succeeded);
  EXPECT_EQ(r->video_url, "https://cdn.example.com/video.mp4?token=...");
  EXPECT_EQ(r->last_frame_url, "");
  EXPECT_EQ(r->error_code, "");
  EXPECT_EQ(r->error_message, "");
  EXPECT_DOUBLE_EQ(*r->cost, 14.4);
  EXPECT_EQ(r->created_at_ms, kDocCreatedMs);
}

TEST(Seedance2Query, AllSevenStates) {
  const std::pair<const char*, RemoteState> table[] = {
      {"pending", RemoteState::queued},      {"queued", RemoteState::queued},
      {"processing", RemoteState::running},  {"completed", RemoteState::succeeded},
      {"failed", RemoteState::failed},       {"cancelled", RemoteState::cancelled},
      {"expired", RemoteState::expired},
  };
  for (const auto& [word, state] : table) {
    EXPECT_EQ(map_state(word), state) << word;
    EXPECT_TRUE(is_documented_state(word)) << word;
    auto t = doc_task();
    t["status"] = word;
    if (state != RemoteState::succeeded) t["video_url"] = nullptr;
    auto r = parse_task_response(200, task_envelope(t), kProfile);
    ASSERT_TRUE(r) << word << ": " << r.error().describe();
    EXPECT_EQ(r->state, state);
  }
  EXPECT_EQ(map_state("COMPLETED"), RemoteState::succeeded);
  EXPECT_EQ(map_state("rendering"), RemoteState::running);
  EXPECT_FALSE(is_documented_state("rendering"));
}

TEST(Seedance2Query, CompletedWithoutVideoUrlIsBadResponse) {
  auto t = doc_task();
  t["video_url"] = nullptr;
  auto r = parse_task_response(200, task_envelope(t), kProfile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::retryable);
  EXPECT_EQ(r.error().code, "bad_response");
}

TEST(Seedance2Query, LastFrameFailureAndMalformedFields) {
  auto t = doc_task();
  t["last_frame_url"] = "https://cdn.example.com/last.jpg?token=...";
  auto lf = parse_task_response(200, task_envelope(t), kProfile);
  ASSERT_TRUE(lf);
  EXPECT_EQ(lf->last_frame_url, "https://cdn.example.com/last.jpg?token=...");

  auto f = doc_task();
  f["status"] = "failed";
  f["video_url"] = nullptr;
  f["error_code"] = "CONTENT_MODERATION_FAILED";
  f["error_message"] = "Content moderation failed";
  auto fr = parse_task_response(200, task_envelope(f), kProfile);
  ASSERT_TRUE(fr);
  EXPECT_EQ(fr->state, RemoteState::failed);
  EXPECT_EQ(fr->error_code, "CONTENT_MODERATION_FAILED");
  EXPECT_EQ(fr->error_message, "Content moderation failed");

  for (const char* bad : {"created_at", "credit_cost", "status", "task_id"}) {
    auto m = doc_task();
    m[bad] = json::array{};
    EXPECT_FALSE(parse_task_response(200, task_envelope(m), kProfile)) << bad;
  }
  auto no_time = doc_task();
  no_time["created_at"] = "yesterday";
  EXPECT_EQ(parse_task_response(200, task_envelope(no_time), kProfile).error().code, "bad_response");
}

TEST(Seedance2Query, RetryableFailures) {
  ProfileConfig prof;
  prof.name = kProfile;
  boost::asio::io_context io;
  HttpClient http(io.get_executor());
  Seedance2Provider p(prof, http);
  TaskStatus s;
  s.state = RemoteState::failed;
  for (const char* code : {"TASK_SUBMIT_FAILED", "VIDEO_DOWNLOAD_FAILED", "FILE_UPLOAD_FAILED",
                           "CREDIT_DEDUCT_FAILED", "SERVICE_BUSY", "INTERNAL_ERROR"}) {
    s.error_code = code;
    EXPECT_TRUE(p.is_retryable_failure(s)) << code;
  }
  for (const char* code : {"CONTENT_MODERATION_FAILED", "COPYRIGHT_VIOLATION", "PRIVACY_VIOLATION", "", "X"}) {
    s.error_code = code;
    EXPECT_FALSE(p.is_retryable_failure(s)) << code;
  }
  s.error_code = "SERVICE_BUSY";
  s.state = RemoteState::cancelled;
  EXPECT_FALSE(p.is_retryable_failure(s));
}

TEST(Seedance2Query, Iso8601) {
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T10:30:00Z"), kDocCreatedMs);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T10:33:45Z"), kDocCreatedMs + 225000);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T10:30:00.250Z"), kDocCreatedMs + 250);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T18:30:00+08:00"), kDocCreatedMs);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T05:30:00-0500"), kDocCreatedMs);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15 10:30:00"), kDocCreatedMs);
  EXPECT_EQ(parse_iso8601_ms("2025-02-30T10:30:00Z"), std::nullopt);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T10:30Z"), std::nullopt);
  EXPECT_EQ(parse_iso8601_ms("2025-01-15T10:30:00Zjunk"), std::nullopt);
  EXPECT_EQ(parse_iso8601_ms(""), std::nullopt);
}

TEST(Seedance2Query, Paths) {
  EXPECT_EQ(task_path("a1b2c3"), "/api/v1/video/task/a1b2c3");
  EXPECT_EQ(task_path("a/b c"), "/api/v1/video/task/a%2Fb%20c");
  EXPECT_EQ(cancel_path("a1b2c3"), "/api/v1/video/task/a1b2c3/cancel");
  EXPECT_EQ(task_list_path(1, 10), "/api/v1/video/tasks?page=1&page_size=10");
  EXPECT_EQ(task_list_path(2, 100, "completed"), "/api/v1/video/tasks?page=2&page_size=100&status=completed");
}

TEST(Seedance2List, DocPlaceholderIsMalformedButRealItemsParse) {
  auto placeholder = parse_task_list_response(200, kDocTaskList, kProfile);
  ASSERT_FALSE(placeholder);
  EXPECT_EQ(placeholder.error().cls, ErrorClass::retryable);
  EXPECT_EQ(placeholder.error().code, "bad_response");

  auto list = json::parse(kDocTaskList).as_object();
  auto pending = doc_task();
  pending["status"] = "pending";
  pending["video_url"] = nullptr;
  pending["created_at"] = "2025-01-15T10:31:00Z";
  auto completed_no_url = doc_task();
  completed_no_url["video_url"] = nullptr;  // accepted in a list
  list["result"].as_object()["data"] = json::array{pending, doc_task(), completed_no_url};
  auto r = parse_task_list_response(200, json::serialize(list), kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->total, 42);
  ASSERT_EQ(r->tasks.size(), 3u);
  EXPECT_EQ(r->tasks[0].state, RemoteState::queued);
  EXPECT_EQ(r->tasks[0].created_at_ms, kDocCreatedMs + 60000);
  EXPECT_EQ(r->tasks[1].created_at_ms, kDocCreatedMs);

  auto empty = parse_task_list_response(200, R"({"code":"200","message":"Success","result":{"data":[]}})", kProfile);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->total, 0);
  EXPECT_FALSE(parse_task_list_response(200, R"({"code":"200","result":{"total":1}})", kProfile));
  EXPECT_FALSE(parse_task_list_response(200, R"({"code":"200","result":{"data":{}}})", kProfile));
}

TEST(Seedance2Cancel, ParsesDocExampleAndNotAllowed) {
  auto r = parse_cancel_response(200, kDocCancelOk, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->remote_id, "a1b2c3d4e5f6...");
  EXPECT_EQ(r->native_state, "cancelled");
  EXPECT_EQ(r->state, RemoteState::cancelled);
  auto na = parse_cancel_response(
      400, envelope("TASK_CANCEL_NOT_ALLOWED", "Task in status completed cannot be cancelled"), kProfile);
  ASSERT_FALSE(na);
  EXPECT_EQ(na.error().cls, ErrorClass::permanent);
  EXPECT_EQ(na.error().code, "TASK_CANCEL_NOT_ALLOWED");
  EXPECT_EQ(parse_cancel_response(404, envelope("TASK_NOT_FOUND", "x"), kProfile).error().cls,
            ErrorClass::permanent);
  EXPECT_EQ(parse_cancel_response(200, R"({"code":"200","result":{"task_id":"x"}})", kProfile).error().code,
            "bad_response");
}

TEST(Seedance2Balance, ParsesDocExample) {
  auto r = parse_balance_response(200, kDocBalance, kProfile);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_DOUBLE_EQ(r->total, 10000);
  EXPECT_DOUBLE_EQ(r->used, 3250.5);
  EXPECT_DOUBLE_EQ(r->remain, 6749.5);
  auto s = parse_balance_response(
      200, R"({"code":"200","result":{"total_credits":"100","used_credits":"1.5","remain_credits":"98.5"}})", kProfile);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->remain, 98.5);
  EXPECT_EQ(parse_balance_response(200, R"({"code":"200","result":{"total_credits":1}})", kProfile).error().code,
            "bad_response");
  EXPECT_EQ(parse_balance_response(401, envelope("INVALID_API_KEY", "Invalid API key"), kProfile).error().cls,
            ErrorClass::auth);
}

}  // namespace
}  // namespace reelbatch::seedance2
