// What the adapter contract tests share: the {code, message, result} answer
// envelope of the juhuo and seedance2 APIs, a lookup in validate()'s field
// errors, a request header by name and a test profile. No sockets.
// `using namespace adapter_test;` also brings the names json and milliseconds.
#pragma once

#include "config/config.hpp"
#include "src/core/job_spec.hpp"
#include "src/net/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace reelbatch::adapter_test {

namespace json = boost::json;
using std::chrono::milliseconds;

/// {"code": code, "message": message}, serialized (an error answer).
inline std::string envelope(const std::string& code, const std::string& message) {
  return boost::json::serialize(boost::json::object{{"code", code}, {"message", message}});
}

/// {"code": "200", "message": "Success", "result": task}, serialized.
inline std::string task_envelope(boost::json::object task) {
  return boost::json::serialize(
      boost::json::object{{"code", "200"}, {"message", "Success"}, {"result", std::move(task)}});
}

/// Whether `errs` holds an error on `field` whose reason contains `needle`.
inline bool has_error(const std::vector<FieldError>& errs, const std::string& field, const std::string& needle = {}) {
  for (const auto& e : errs)
    if (e.field == field && e.reason.find(needle) != std::string::npos) return true;
  return false;
}

/// The value of header `name` in `r`, or "<absent>".
inline std::string header_of(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

/// A profile named and of kind `kind` with a 12 s request timeout.
inline ProfileConfig test_profile(const std::string& kind, std::string base_url, std::string api_key) {
  ProfileConfig p;
  p.name = kind;
  p.kind = kind;
  p.base_url = std::move(base_url);
  p.api_key = std::move(api_key);
  p.request_timeout = std::chrono::milliseconds(12000);
  return p;
}

}  // namespace reelbatch::adapter_test
