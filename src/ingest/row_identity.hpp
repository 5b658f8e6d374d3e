// A row's identity: its content hash and the id derived from it when the
// manifest gives none (DESIGN.md, "Manifest rows": identical rows get
// identical ids, so re-ingesting a manifest adds nothing).
#pragma once

#include "src/core/job_spec.hpp"

#include <string>
#include <string_view>

namespace reelbatch {

/// Hex SHA-256 (64 lowercase digits) of the canonical JSON (to_json) of
/// `spec` with its id cleared: every other field counts, so two rows that
/// differ only in id hash the same.
std::string content_hash(const JobSpec& spec);

/// The id of a row without one: "r" + the first 20 hex digits of
/// `content_hash` (as content_hash returns it).
std::string derived_id(std::string_view content_hash);

}  // namespace reelbatch
