// Error tables and message composition shared by the adapters; see errors.hpp.
#include "providers/kit/errors.hpp"

#include <array>

namespace reelbatch::kit {

const CodeInfo* find_code(std::span<const CodeInfo> table, std::string_view code) {
  for (const auto& c : table)
    if (c.code == code) return &c;
  return nullptr;
}

std::string compose(std::string_view message, std::string_view zh, std::string_view en, Bare bare) {
  message = trim(message);
  if (message.empty()) {
    if (zh.empty() && bare == Bare::en_when_no_label) return std::string(en);
    return std::string(zh) + " (" + std::string(en) + ")";
  }
  if (zh.empty() || message.find(zh) != std::string_view::npos)
    return std::string(message) + " (" + std::string(en) + ")";
  return std::string(message) + " (" + std::string(zh) + ": " + std::string(en) + ")";
}

std::string with_retry_after(std::string en, std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after) en += "; retry after " + std::to_string(retry_after->count()) + " ms";
  return en;
}

const StatusRule* find_status(std::span<const StatusRule> table, int http_status) {
  for (const auto& r : table)
    if (http_status >= r.first && http_status <= r.last) return &r;
  return nullptr;
}

std::span<const StatusRule> gateway_status_rules() {
  static constexpr std::array<StatusRule, 5> kRules{{
      {401, 401, ErrorClass::auth, ": the API key was rejected"},
      {403, 403, ErrorClass::auth, ": the API key was rejected"},
      {402, 402, ErrorClass::out_of_credit, ": payment required"},
      {408, 408, ErrorClass::retryable, ": server or gateway error; will retry"},
      {500, 599, ErrorClass::retryable, ": server or gateway error; will retry"},
  }};
  return kRules;
}

ProviderError classify_status(std::span<const StatusRule> table, int http_status, std::string code,
                              std::string_view message, std::string_view what, const std::string& profile,
                              std::optional<std::chrono::milliseconds> retry_after) {
  const StatusRule* rule = find_status(table, http_status);
  const ErrorClass cls = rule ? rule->cls : ErrorClass::permanent;
  const std::string_view en = rule ? rule->en : std::string_view(": the request was rejected");
  return make_error(cls, profile, http_status, std::move(code), compose(message, "", std::string(what) + std::string(en)),
                    retry_after);
}

std::optional<ProviderError> classify_upload(int http_status, std::string_view body, const std::string& profile,
                                             std::optional<std::chrono::milliseconds> retry_after,
                                             const UploadText& text) {
  if (is_2xx(http_status)) return std::nullopt;
  const std::string tail = body.empty() ? "" : "; body: " + excerpt(body);
  const std::string status = "HTTP " + std::to_string(http_status) + std::string(text.where);
  auto error = [&](ErrorClass cls, const UploadWords& w) {
    std::string message = status + ": " + std::string(w.en);
    if (!w.zh.empty()) message = std::string(w.zh) + " (" + message + ")";
    return make_error(cls, profile, http_status, "upload", message + tail, retry_after);
  };
  if (http_status == 403) return error(ErrorClass::retryable, text.expired);
  if (http_status == 429) return error(ErrorClass::rate_limited, text.rate_limited);
  if (http_status == 408 || http_status >= 500) return error(ErrorClass::retryable, text.storage_error);
  return error(ErrorClass::permanent, text.rejected);
}

ProviderError bad_response(int http_status, std::string_view what, const std::string& profile, Op op,
                           const BadResponseText& text) {
  return bad_response(http_status, what, profile, op == Op::submit, text.submit_advice, text.retry_advice);
}

}  // namespace reelbatch::kit
