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
  req.net = net_options(profile_);  // uploads and other non-API exchanges too
  auto r = co_await http_.async_request(std::move(req));
  if (!r) co_return fail(scrub(net_error_(r.error(), profile_.name, op == Op::submit)));
  co_return std::move(r).value();
}

Result<AdapterBase::UploadFile, ProviderError> AdapterBase::read_upload_file(const LocalAsset& asset,
                                                                           std::string_view audio_refusal,
                                                                           std::string_view type_table) const {
  if (asset.kind == LocalAsset::Kind::audio)
    return fail(local("asset '" + asset.name + "': " + std::string(audio_refusal)));
  const auto ct = content_type_for(asset.path);
  if (!ct || (asset.kind == LocalAsset::Kind::image && !is_image_content_type(*ct)) ||
      (asset.kind == LocalAsset::Kind::video && !is_video_content_type(*ct)))
    return fail(local("asset '" + asset.name + "' (" + asset.path.filename().string() + "): file type not in " +
                      std::string(type_table)));
  UploadFile f{*ct, {}};
  std::string why;
  if (!read_file(asset.path, f.bytes, why)) return fail(local(why));
  return f;
}

std::chrono::milliseconds AdapterBase::upload_timeout(std::size_t size) const {
  return profile_.request_timeout + std::chrono::milliseconds(static_cast<std::int64_t>(size >> 10));
}

void AdapterBase::log_submitted(const SubmitRequest& job, std::string_view noun, const std::string& remote_id) const {
  log().debug("{}: job {} submitted as {} {}", profile_.name, job.spec.id, noun, remote_id);
}

ProviderError AdapterBase::local(std::string message) const { return local_error(profile_, std::move(message)); }

ProviderError AdapterBase::scrub(ProviderError e) const { return kit::scrub(std::move(e), profile_.api_key); }

}  // namespace reelbatch::kit
