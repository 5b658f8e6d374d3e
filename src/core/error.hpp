// The error vocabulary every layer shares (DESIGN.md, "Invariants" 6;
// STYLE.md: infrastructure failure throws, expected outcomes are values).
//
// - `errc` + error_category(): reelbatch's own error codes, as
//   boost::system::error_code, for failures that are ours rather than a
//   provider's (a local file, a transport failure, a cap).
// - ErrorClass: what a provider error means for the row and the profile.
// - ProviderError: one failed answer (or transport failure), naming the
//   profile, the HTTP status, the provider's code and message.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace reelbatch {

/// reelbatch's own error codes. Their names (code_name()) are what the store,
/// sidecars and results files carry in `error_code` when the error is ours.
enum class errc {
  network = 1,      ///< connection refused, reset, TLS or DNS failure
  timeout,          ///< a deadline passed (connect, write, read)
  bad_url,          ///< a URL that cannot be requested (check base_url)
  bad_response,     ///< an answer the adapter cannot use
  local,            ///< a local file cannot be read, or a row fails local checks
  unsupported,      ///< the provider's API has no such operation
  credit_cap,       ///< the profile's credit_cap is reached
  download,         ///< an output could not be downloaded
  disk,             ///< an output could not be written (disk full, permissions)
  unknown_outcome,  ///< a submit may or may not have created a task
};

/// The category of errc ("reelbatch"); message() gives a short English text.
const boost::system::error_category& error_category() noexcept;

/// errc as an error_code of error_category().
boost::system::error_code make_error_code(errc e) noexcept;

/// The stable name of `e` ("network", "timeout", ...), equal to the
/// enumerator's name. Never null.
const char* code_name(errc e) noexcept;

/// How the engine reacts to a failed request (README, "Error classes").
enum class ErrorClass {
  retryable,       ///< try again after backoff (5xx, network before send)
  rate_limited,    ///< try again after retry_after (or backoff)
  out_of_credit,   ///< pause the profile; rows wait
  auth,            ///< pause the profile; the key is wrong or revoked
  permanent,       ///< the row fails with this error
  unknown_outcome  ///< a submit may or may not have been accepted: reconcile
};

/// The class's name ("retryable", ...). Never null.
const char* to_string(ErrorClass c);

/// A provider's answer that is not success, or a transport failure talking to it.
struct ProviderError {
  ErrorClass cls = ErrorClass::permanent;
  std::string provider;  ///< profile name
  int http_status = 0;   ///< 0 when no response was received
  std::string code;      ///< provider's code ("4000"), or ours (code_name(errc))
  std::string message;   ///< provider's message, or ours
  std::optional<std::chrono::milliseconds> retry_after;  ///< server's wait, when it sent one

  /// "juhuo: HTTP 200, code 4000: 参数错误:duration范围为4-15".
  std::string describe() const;
};

/// A ProviderError of our own: `code` = code_name(e), no HTTP status.
ProviderError our_error(ErrorClass cls, std::string provider, errc e, std::string message);

}  // namespace reelbatch

namespace boost::system {
template <>
struct is_error_code_enum<reelbatch::errc> : std::true_type {};
}  // namespace boost::system
