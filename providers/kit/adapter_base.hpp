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

/// A Provider holding a copy of its profile, the HTTP client (which must
/// outlive it) and a logger (nullptr at construction = spdlog's default
/// logger), with the shared call shape.
class AdapterBase : public Provider {
 public:
  /// Keeps a copy of `profile`, a reference to `http`, `logger` (nullptr:
  /// spdlog's default logger) and `net_error`, the provider's
  /// from_net_error. Public so that an adapter with no state of its own
  /// inherits it (`using AdapterBase::AdapterBase;`); the class stays
  /// abstract.
  AdapterBase(const ProfileConfig& profile, HttpClient& http, std::shared_ptr<spdlog::logger> logger,
              NetErrorMapper net_error);

  const ProfileConfig& profile() const override { return profile_; }

 protected:
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
    req.net = net_options(profile_);  // the profile's proxy and trust store
    auto r = co_await http_.async_request(std::move(req));
    if (!r) co_return fail(scrub(net_error_(r.error(), profile_.name, op == Op::submit)));
    auto parsed = parse(r->status, r->body, profile_.name, extra..., retry_after_of(*r));
    if (!parsed) co_return fail(scrub(std::move(parsed).error()));
    co_return parsed;
  }

  /// The submit of `job`: call(req, Op::submit, parse), where `parse` yields
  /// the remote id; on success logs "<profile>: job <job id> submitted as
  /// <noun> <remote id>" at debug level. Returns the remote id or the
  /// scrubbed error. The caller keeps `job` alive until the awaitable
  /// completes.
  template <class Parse>
  boost::asio::awaitable<ProviderResult<std::string>> submit(const SubmitRequest& job, HttpRequest req, Parse parse,
                                                             std::string_view noun = "task") {
    auto id = co_await call(std::move(req), Op::submit, parse);
    if (!id) co_return fail(id.error());
    log_submitted(job, noun, *id);
    co_return std::move(id).value();
  }

  /// Logs "<profile>: job <job id> submitted as <noun> <remote_id>" at debug
  /// level (out of line: this header does not pull in spdlog).
  void log_submitted(const SubmitRequest& job, std::string_view noun, const std::string& remote_id) const;

  /// Sends `req` (with the profile's proxy and trust store); the response whatever its status, or the mapped and
  /// scrubbed transport error. For exchanges that are not API calls (an
  /// upload PUT to a presigned URL).
  boost::asio::awaitable<Result<HttpResponse, ProviderError>> exchange(HttpRequest req, Op op);

  /// A local image or video to upload through a presigned URL (juhuo doc
  /// 4.1-4.2, seedance2 文件上传).
  struct UploadFile {
    std::string content_type;  ///< content_type_for(asset.path)
    std::string bytes;         ///< the whole file
  };

  /// `asset`'s content type and bytes (the file is read blocking). Errors,
  /// all local(): an audio asset → "asset '<name>': <audio_refusal>"; an
  /// extension not in content_type_for()'s table, or an image/video type for
  /// an asset of the other kind → "asset '<name>' (<file name>): file type not
  /// in <type_table>"; a file that cannot be read → read_file()'s text.
  Result<UploadFile, ProviderError> read_upload_file(const LocalAsset& asset, std::string_view audio_refusal,
                                                     std::string_view type_table) const;

  /// The deadline of an upload PUT of `size` bytes: profile.request_timeout
  /// plus 1 s per MiB (1 ms per KiB) for the body itself.
  std::chrono::milliseconds upload_timeout(std::size_t size) const;

  /// Sends the PUT `req` to a presigned URL (exchange(req, Op::upload)) and
  /// judges its answer with `classify(status, body, profile.name,
  /// retry_after)` (a provider's classify_upload_response). Returns nullopt
  /// on success, else the transport or classified error, scrubbed.
  template <class Classify>
  boost::asio::awaitable<std::optional<ProviderError>> put_upload(HttpRequest req, Classify classify) {
    auto put = co_await exchange(std::move(req), Op::upload);
    if (!put) co_return std::move(put).error();
    if (auto err = classify(put->status, put->body, profile_.name, retry_after_of(*put)))
      co_return scrub(std::move(*err));
    co_return std::nullopt;
  }

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

/// The names every adapter source file (providers/<kind>/<kind>.cpp) uses
/// unqualified. An adapter brings them in with `using namespace
/// kit::adapter_names;` inside its own namespace; a helper the adapter
/// defines under the same name (turing's excerpt(), vibegen's read_string())
/// hides the one here.
namespace adapter_names {
namespace json = boost::json;
using boost::asio::awaitable;
using std::chrono::milliseconds;
using kit::elide_url_queries;
using kit::excerpt;
using kit::is_2xx;
using kit::is_alnum;
using kit::is_digit;
using kit::make_error;
using kit::one_of;
using kit::percent_encode;
using kit::read_int64;
using kit::read_number;
using kit::read_string;
using kit::retry_after_of;
using kit::trim;
}  // namespace adapter_names

}  // namespace reelbatch::kit
