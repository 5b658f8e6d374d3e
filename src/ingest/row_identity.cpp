#include "src/ingest/row_identity.hpp"

#include "src/core/sha256.hpp"

#include <boost/json/serialize.hpp>

namespace reelbatch {

std::string content_hash(const JobSpec& spec) {
  JobSpec anon = spec;
  anon.id.clear();
  return sha256_hex(boost::json::serialize(to_json(anon)));
}

std::string derived_id(std::string_view content_hash) { return "r" + std::string(content_hash.substr(0, 20)); }

}  // namespace reelbatch
