// The parts of the emulator framework that provider modules use: submission
// records, key fingerprints and time scaling (see emulator.hpp).
#include "providers/emulator/emulator.hpp"

#include "src/core/sha256.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace reelbatch::emulator {
namespace json = boost::json;

// ---- records ------------------------------------------------------------------

json::value to_json(const Submission& s) {
  return json::object{
      {"provider", s.provider},
      {"task_id", s.task_id},
      {"api_key_fingerprint", s.api_key_fingerprint},
      {"body", s.body},
      {"received_at_ms", s.received_at_ms},
      {"video_sha256", s.video_sha256},
      {"video_bytes", s.video_bytes},
      {"cover_sha256", s.cover_sha256},
      {"cover_bytes", s.cover_bytes},
  };
}

Submission submission_from_json(const json::value& v) {
  const auto& o = v.as_object();
  Submission s;
  s.provider = std::string(o.at("provider").as_string());
  s.task_id = std::string(o.at("task_id").as_string());
  s.api_key_fingerprint = std::string(o.at("api_key_fingerprint").as_string());
  s.body = std::string(o.at("body").as_string());
  s.received_at_ms = o.at("received_at_ms").to_number<std::int64_t>();
  s.video_sha256 = std::string(o.at("video_sha256").as_string());
  s.video_bytes = o.at("video_bytes").to_number<std::uint64_t>();
  s.cover_sha256 = std::string(o.at("cover_sha256").as_string());
  s.cover_bytes = o.at("cover_bytes").to_number<std::uint64_t>();
  return s;
}

std::string key_fingerprint(std::string_view api_key) { return sha256_hex(api_key).substr(0, 12); }

std::chrono::milliseconds Services::scaled(std::chrono::milliseconds d) const {
  const double scale = options ? std::max(0.0, options->time_scale) : 1.0;
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(d.count()) * scale));
}

}  // namespace reelbatch::emulator
