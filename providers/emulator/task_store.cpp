#include "providers/emulator/task_store.hpp"

#include "src/core/sha256.hpp"

#include <boost/json.hpp>

namespace reelbatch::emulator {
namespace json = boost::json;

// ---- field tables -----------------------------------------------------------------

json::value state_value(const std::string& v) { return json::value(v); }
json::value state_value(int v) { return json::value(static_cast<std::int64_t>(v)); }
json::value state_value(std::int64_t v) { return json::value(v); }
json::value state_value(std::uint64_t v) { return json::value(v); }
json::value state_value(bool v) { return json::value(v); }
json::value state_value(double v) { return json::value(v); }
json::value state_value(const json::array& v) { return json::value(v); }
json::value state_value(const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }

void state_assign(std::string& out, const json::value& v) { out = std::string(v.as_string()); }
void state_assign(int& out, const json::value& v) { out = static_cast<int>(v.to_number<std::int64_t>()); }
void state_assign(std::int64_t& out, const json::value& v) { out = v.to_number<std::int64_t>(); }
void state_assign(std::uint64_t& out, const json::value& v) { out = v.to_number<std::uint64_t>(); }
void state_assign(bool& out, const json::value& v) { out = v.as_bool(); }
void state_assign(double& out, const json::value& v) { out = v.to_number<double>(); }
void state_assign(json::array& out, const json::value& v) { out = v.as_array(); }
void state_assign(std::optional<std::int64_t>& out, const json::value& v) {
  if (v.is_null())
    out.reset();
  else
    out = v.to_number<std::int64_t>();
}

// ---- accepting a submit ----------------------------------------------------------------

Submission make_submission(std::string_view provider, std::string task_id, std::string api_key_fingerprint,
                           std::string body, std::int64_t received_at_ms, std::string_view video,
                           std::optional<std::string_view> cover) {
  Submission sub;
  sub.provider = std::string(provider);
  sub.task_id = std::move(task_id);
  sub.api_key_fingerprint = std::move(api_key_fingerprint);
  sub.body = std::move(body);
  sub.received_at_ms = received_at_ms;
  sub.video_sha256 = sha256_hex(video);
  sub.video_bytes = video.size();
  if (cover) {
    sub.cover_sha256 = sha256_hex(*cover);
    sub.cover_bytes = cover->size();
  }
  return sub;
}

void announce_submission(const Services& s, Submission sub) {
  s.record_submission(std::move(sub));
  s.state_changed();
  s.wake();
}

std::optional<std::size_t> draw_failure(const Services& s, std::uint64_t seq, std::string_view salt,
                                        std::size_t kinds) {
  const double rate = s.options ? s.options->fail_rate : 0.0;
  const std::uint64_t seed = s.options ? s.options->seed : 1;
  if (!(rate > 0) || unit_hash(seed, seq, std::string(salt) + "fail") >= rate) return std::nullopt;
  if (kinds <= 1) return 0;
  return static_cast<std::size_t>(unit_hash(seed, seq, std::string(salt) + "kind") * kinds) % kinds;
}

}  // namespace reelbatch::emulator
