#include "providers/provider.hpp"

#include "providers/registry.hpp"

namespace reelbatch {

const char* to_string(RemoteState s) {
  switch (s) {
    case RemoteState::queued: return "queued";
    case RemoteState::running: return "running";
    case RemoteState::succeeded: return "succeeded";
    case RemoteState::failed: return "failed";
    case RemoteState::cancelled: return "cancelled";
    case RemoteState::expired: return "expired";
  }
  return "unknown";
}

boost::asio::awaitable<ProviderResult<TaskPage>> Provider::async_list(int, int) {
  co_return fail(ProviderError{ErrorClass::permanent, profile().name, 0, "unsupported",
                               profile().kind + " has no task list API", std::nullopt});
}

boost::asio::awaitable<ProviderResult<Balance>> Provider::async_balance() {
  co_return fail(ProviderError{ErrorClass::permanent, profile().name, 0, "unsupported",
                               profile().kind + " has no balance API", std::nullopt});
}

boost::asio::awaitable<ProviderResult<TaskStatus>> Provider::async_cancel(const std::string&) {
  co_return fail(ProviderError{ErrorClass::permanent, profile().name, 0, "unsupported",
                               profile().kind + " has no cancel API", std::nullopt});
}

std::unique_ptr<Provider> make_provider(const ProfileConfig& profile, HttpClient& http,
                                        std::shared_ptr<spdlog::logger> logger) {
  return provider_kind_of(profile).make(profile, http, std::move(logger));
}

PollPolicy effective_poll(const Provider& p) {
  PollPolicy out = p.default_poll();
  const auto& prof = p.profile();
  if (prof.poll_first) out.first_wait = *prof.poll_first;
  if (prof.poll_interval) out.interval = *prof.poll_interval;
  if (prof.poll_max_interval) out.max_interval = *prof.poll_max_interval;
  if (out.max_interval < out.interval) out.max_interval = out.interval;
  return out;
}

JobSpec apply_defaults(JobSpec spec, const JobDefaults& d) {
  if (spec.model.empty()) spec.model = d.model;
  if (!spec.duration_s) spec.duration_s = d.duration_s;
  if (spec.resolution.empty()) spec.resolution = d.resolution;
  if (spec.aspect_ratio.empty()) spec.aspect_ratio = d.aspect_ratio;
  if (!spec.audio) spec.audio = d.audio;
  return spec;
}

}  // namespace reelbatch
