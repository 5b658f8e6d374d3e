// What a batch leaves beside its videos: the per-row JSON sidecar and the
// batch's results.jsonl (README, "Outputs").
#pragma once

#include "src/output/downloader.hpp"
#include "storage/job_store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

/// The outputs of one finished row.
struct RowOutputs {
  DownloadedFile video;
  std::optional<DownloadedFile> cover;
  std::optional<DownloadedFile> last_frame;
  boost::json::object download_errors;  ///< suffix -> message for optional outputs that failed
};

/// The sidecar `<stem>.json` of a row about to succeed: id, batch, manifest
/// file and line, the normalized row, profile and kind, remote task id,
/// submit attempts, cost (credits), each file's name, size (bytes) and
/// SHA-256, and the state history from `events` (state and remote_state
/// events) plus the final transition to succeeded at `now_ms` (Unix ms).
/// Pure; never throws beyond allocation.
boost::json::object make_sidecar(const JobRecord& job, const BatchRecord& batch, const std::string& provider_kind,
                                 int attempts, const RowOutputs& outputs, const std::vector<EventRecord>& events,
                                 std::int64_t now_ms);

/// Rewrites `<batch out_dir>/results.jsonl` from the store: one line per job
/// (paged, in manifest order) with its state, output file, size, SHA-256,
/// cost and error. Written atomically (write_file_atomic). Throws
/// std::system_error when the folder cannot be written, and the store's
/// exceptions when the database fails. Does nothing for an unknown batch.
void write_results_jsonl(const JobStore& store, std::int64_t batch_id);

}  // namespace reelbatch
