#include "src/core/error.hpp"

namespace reelbatch {

namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "reelbatch"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::network: return "network error";
      case errc::timeout: return "timed out";
      case errc::bad_url: return "bad URL";
      case errc::bad_response: return "unusable answer";
      case errc::local: return "local error";
      case errc::unsupported: return "not supported by the provider's API";
      case errc::credit_cap: return "credit cap reached";
      case errc::download: return "download failed";
      case errc::disk: return "cannot write output";
      case errc::unknown_outcome: return "submit outcome unknown";
    }
    return "unknown reelbatch error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const Category c;
  return c;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

const char* code_name(errc e) noexcept {
  switch (e) {
    case errc::network: return "network";
    case errc::timeout: return "timeout";
    case errc::bad_url: return "bad_url";
    case errc::bad_response: return "bad_response";
    case errc::local: return "local";
    case errc::unsupported: return "unsupported";
    case errc::credit_cap: return "credit_cap";
    case errc::download: return "download";
    case errc::disk: return "disk";
    case errc::unknown_outcome: return "unknown_outcome";
  }
  return "unknown";
}

const char* to_string(ErrorClass c) {
  switch (c) {
    case ErrorClass::retryable: return "retryable";
    case ErrorClass::rate_limited: return "rate_limited";
    case ErrorClass::out_of_credit: return "out_of_credit";
    case ErrorClass::auth: return "auth";
    case ErrorClass::permanent: return "permanent";
    case ErrorClass::unknown_outcome: return "unknown_outcome";
  }
  return "unknown";
}

std::string ProviderError::describe() const {
  std::string s = provider + ": ";
  if (http_status != 0) s += "HTTP " + std::to_string(http_status) + ", ";
  if (!code.empty()) s += "code " + code + ": ";
  s += message;
  return s;
}

ProviderError our_error(ErrorClass cls, std::string provider, errc e, std::string message) {
  return ProviderError{cls, std::move(provider), 0, code_name(e), std::move(message), std::nullopt};
}

}  // namespace reelbatch
