// The seedance2 adapter tests' shared document samples and helpers
// (seedance2_adapter_request_test.cpp, seedance2_adapter_response_test.cpp), against
// the API document (api-docs/003_a3f86ea388979b7c.txt).
#pragma once

#include "providers/seedance2/seedance2.hpp"
#include "tests/support/adapter_test_helpers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace reelbatch::seedance2::test_seedance2 {

using namespace adapter_test;

inline const std::string kProfile = "seedance2";

// doc 响应格式 (错误响应)
constexpr const char* kDocError = R"json({
"code": "INVALID_PARAMETER",
"message": "Invalid parameter: duration must be 4-15"
})json";

}  // namespace reelbatch::seedance2::test_seedance2
