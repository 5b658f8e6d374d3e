// The call shape every adapter shares: the profile, the HTTP client and the
// logger an adapter holds, and the one exchange "request → transport error →
// parse → scrub" that each API call performs. A provider's adapter derives
// from AdapterBase and supplies only its protocol: request builders, parsers
// and its transport-error wording (DESIGN.md, "Provider interface").
//
// Error contract: no member throws except std::bad_alloc; every failure is a
// ProviderError with the profile's API key redacted from its message.
#pragma once

#include "providers/kit/errors.hpp"
#include "providers/kit/util.hpp"
#include "providers/provider.hpp"
#include "src/net/http_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace reelbatch::kit {

/// The provider's mapping of a transport failure (its own wording of
/// kit::from_net_error): `is_submit` when the request was a submit.
using NetErrorMapper = ProviderError (*)(const NetError& e, const std::string& profile, bool is_submit);

/// A Provider holding a copy of its profile, the HTTP client (which must
/// outlive it) and a logger (nullptr at construction = spdlog's default
/// logger), with the shared call shape.
class AdapterBase : public Provider {
 public:
  const ProfileConfig& profile() const override { return profile_; }

 protected:
  AdapterBase(const ProfileConfig& profile, HttpClient& http, std::shared_ptr<spdlog::logger> logger,
              NetErrorMapper net_error);

  /// Sends `req` and parses the answer with `parse(status, body,
  /// profile.name, extra..., retry_after)` (a provider's parse_*_response;
  /// retry_after from the Retry-After header, see kit::retry_after_of). A
  /// transport failure is mapped by the provider's NetErrorMapper (`op ==
  /// Op::submit` → the submit may have been received). Returns the parser's
  /// result, its error scrubbed of the API key. The caller keeps `extra`
  /// alive until the awaitable completes (co_await it at once).
  template <class Parse, class... Extra>
  auto call(HttpRequest req, Op op, Parse parse, const Extra&... extra)
      -> boost::asio::awaitable<std::invoke_result_t<Parse, int, std::string_view, const std::string&,
                                                     const Extra&..., std::optional<std::chrono::milliseconds>>> {
    auto r = co_await http_.async_request(std::move(req));
    if (!r) co_return fail(scrub(net_error_(r.error(), profile_.name, op == Op::submit)));
    auto parsed = parse(r->status, r->body, profile_.name, extra..., retry_after_of(*r));
    if (!parsed) co_return fail(scrub(std::move(parsed).error()));
    co_return parsed;
  }

  /// Sends `req`; the response whatever its status, or the mapped and
  /// scrubbed transport error. For exchanges that are not API calls (an
  /// upload PUT to a presigned URL).
  boost::asio::awaitable<Result<HttpResponse, ProviderError>> exchange(HttpRequest req, Op op);

  /// A permanent error found locally (kit::local_error).
  ProviderError local(std::string message) const;
  /// `e` with the API key redacted (kit::scrub).
  ProviderError scrub(ProviderError e) const;

  /// The adapter's logger; never null.
  spdlog::logger& log() const { return *log_; }

  ProfileConfig profile_;
  HttpClient& http_;

 private:
  std::shared_ptr<spdlog::logger> log_;
  NetErrorMapper net_error_;
};

}  // namespace reelbatch::kit
