// The HTTP Retry-After field (RFC 9110, section 10.2.3), as every provider
// adapter reads it on 429 and 503 answers.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace reelbatch {

/// Parses an HTTP Retry-After field value (RFC 9110, section 10.2.3) into a
/// wait from `now`:
/// - delay-seconds, one or more digits ("120"): that many seconds (values
///   beyond about 292 million years saturate);
/// - an HTTP-date (RFC 9110, section 5.6.7): IMF-fixdate
///   ("Sun, 06 Nov 1994 08:49:37 GMT"), and, as recipients must, the obsolete
///   RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more than 50
///   years ahead of `now` means the previous century) and asctime
///   ("Sun Nov  6 08:49:37 1994") forms: the time from `now` until then,
///   rounded up to whole milliseconds, or 0 when that instant has passed.
/// Leading and trailing spaces/tabs are ignored; names are case-sensitive as
/// in the RFC. Returns nullopt for anything else (empty, negative, fractional,
/// trailing junk, an impossible date such as 31 Feb). Never throws.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view header_value,
                                                           std::chrono::system_clock::time_point now);

}  // namespace reelbatch
