// The shared call shape of the adapters; see adapter_base.hpp.
#include "providers/kit/adapter_base.hpp"

#include <spdlog/spdlog.h>

namespace reelbatch::kit {

AdapterBase::AdapterBase(const ProfileConfig& profile, HttpClient& http, std::shared_ptr<spdlog::logger> logger,
                         NetErrorMapper net_error)
    : profile_(profile),
      http_(http),
      log_(logger ? std::move(logger) : spdlog::default_logger()),
      net_error_(net_error) {}

boost::asio::awaitable<Result<HttpResponse, ProviderError>> AdapterBase::exchange(HttpRequest req, Op op) {
  auto r = co_await http_.async_request(std::move(req));
  if (!r) co_return fail(scrub(net_error_(r.error(), profile_.name, op == Op::submit)));
  co_return std::move(r).value();
}

ProviderError AdapterBase::local(std::string message) const { return local_error(profile_, std::move(message)); }

ProviderError AdapterBase::scrub(ProviderError e) const { return kit::scrub(std::move(e), profile_.api_key); }

}  // namespace reelbatch::kit
