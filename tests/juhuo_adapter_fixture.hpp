// The juhuo adapter tests' shared document samples and helpers
// (juhuo_adapter_request_test.cpp, juhuo_adapter_response_test.cpp), against
// the API document (api-docs/000_2fbac5bd8fa1f5a3.txt).
#pragma once

#include "providers/juhuo/juhuo.hpp"
#include "tests/support/adapter_test_helpers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace reelbatch::juhuo::test_juhuo {

using namespace adapter_test;

inline const std::string kProfile = "juhuo";

// doc 6 成功响应
constexpr const char* kDocTaskOk = R"json({
"code": "200",
"message": "Success",
"result": {
"taskId": "gen_abc123def456",
"status": "success",
"outputUrl": "https://cdn.example.com/output/video.mp4?token=xxx",
"coverUrl": "https://cdn.example.com/output/cover.jpg?token=xxx",
"errorCode": "",
"errorMsg": "",
"creditCost": 1.15,
"gmtCreate": 1712534400000
}
})json";

// doc 10.4 错误响应示例
constexpr const char* kDocError4000 = R"json({
"code": "4000",
"message": "duration范围为4-15"
})json";

/// The doc 6 sample's result object.
inline json::object doc_task() { return json::parse(kDocTaskOk).as_object().at("result").as_object(); }

}  // namespace reelbatch::juhuo::test_juhuo
