// What a batch leaves beside its videos: the per-row JSON sidecar and the
// batch's results files, results.jsonl and results.csv (README, "Outputs";
// issue 9, item 4).
#pragma once

#include "src/output/downloader.hpp"
#include "src/output/probe.hpp"
#include "storage/job_store.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

struct Config;
struct ProfileConfig;

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

/// The unit a profile's credits are counted in: its configured
/// `credit_unit`, else "<kind> credits" (e.g. "juhuo credits"), since each
/// provider bills in its own currency (the provider documents' README,
/// "cost" row). The same answer as providers/registry.hpp credit_unit_of(),
/// whose per-kind defaults are "<kind> credits"; this copy keeps src/output
/// free of the provider layer. Sums are never taken across units. Never
/// throws beyond allocation.
std::string credit_unit(const ProfileConfig& profile);

/// What the results files need beyond the store.
struct ResultsContext {
  std::map<std::string, std::string> kinds;  ///< profile -> provider kind ("juhuo", ...)
  std::map<std::string, std::string> units;  ///< profile -> credit unit (credit_unit())
  /// Run ffprobe (where it is on PATH) on each finished video once, record
  /// duration, size and codecs in its sidecar and flag mismatches.
  bool probe = true;
  std::chrono::milliseconds probe_timeout{10000};  ///< per ffprobe run
  /// ffprobe time one rewrite of one batch may spend; videos past it are
  /// written without probe fields and probed by a later rewrite.
  std::chrono::milliseconds probe_budget{2000};
};

/// The context of every profile of `cfg`.
ResultsContext results_context(const Config& cfg);

/// The columns of results.csv, in order; results.jsonl has the same keys.
const std::vector<std::string>& result_columns();

/// One results record: the facts of a job derived from its record, its
/// events (any order; only its own are used), its submit attempts and the
/// probe of its video, as a JSON object keyed by result_columns():
///   id, batch, source ("file:line"), profile, kind, model, prompt,
///   parameters (the normalized row without id, provider, model and prompt),
///   state, error_code, error_message, remote_task_id,
///   cost (credits, null when unknown), cost_unit, cost_source ("provider"
///   when the provider reported it, else null),
///   ingested_at, submitted_at (the submit intent of the last attempt),
///   generation_started_at (first provider report of a running task; only
///   where the provider says), generation_finished_at (when the provider's
///   success was seen), downloaded_at, url_expires_at: ISO 8601 UTC with ms,
///   or null;
///   generation_s (finished - started, else finished - submitted; seconds),
///   download_slack_s (url_expires_at - downloaded_at; seconds),
///   video, cover, last_frame (absolute paths, null when absent), bytes,
///   sha256, attempts (submit attempts recorded),
///   video_duration_s, video_width, video_height, video_codec, audio_codec
///   (from ffprobe; null when not probed), mismatch (what differs from the
///   row, e.g. "duration 2.0 s, asked 5 s"; null when nothing does or it was
///   not probed).
/// `cover` / `last_frame` are the paths of those outputs (empty: none).
/// Pure; never throws beyond allocation.
boost::json::object make_result_record(const JobRecord& job, const BatchRecord& batch, const ResultsContext& ctx,
                                       const std::vector<EventRecord>& events, int attempts,
                                       const std::string& cover, const std::string& last_frame,
                                       const std::optional<VideoProbe>& probe);

/// The record of a manifest row rejected at ingest: `problems` are its
/// entries (same source and line; at least one), joined as
/// "field: message; field: message" in error_message, error_code
/// "rejected", state "rejected". Pure.
boost::json::object make_rejected_record(const BatchRecord& batch, const std::vector<RejectedRow>& problems,
                                         const ResultsContext& ctx);

/// `v` as one RFC 4180 CSV field: quoted when it holds a comma, quote, CR
/// or LF (quotes doubled); strings as is, null as empty, numbers and bools
/// as JSON text, objects and arrays as their JSON text. Pure.
std::string csv_field(const boost::json::value& v);

/// Sidecars and ffprobe results cached across rewrites of one process, so a
/// finished row's sidecar is read (and its video probed) once. Thread-safe.
class ResultsCache {
 public:
  struct Entry {
    std::string cover, last_frame;     ///< paths from the sidecar ("" = none)
    std::optional<VideoProbe> probe;   ///< from the sidecar, or probed now
  };
  /// The entry of a succeeded job: read from its sidecar `<video stem>.json`
  /// beside `job.output_path`; when `ctx.probe` and the sidecar has no
  /// "probe" and ffprobe is installed, probes the video and rewrites the
  /// sidecar with it (atomically). Never throws: an unreadable sidecar gives
  /// an entry without cover/last frame; a failed probe is logged once
  /// and not tried again by this process (the entry is cached either way).
  /// `allow_probe` false: a video not probed yet is not probed now (the
  /// entry is then not cached, so a later call may probe it).
  Entry get(const JobRecord& job, const ResultsContext& ctx, bool allow_probe = true);

 private:
  std::mutex mu_;
  std::map<std::pair<std::int64_t, std::string>, Entry> entries_;  ///< (job id, output path)
};

/// Rewrites `<batch out_dir>/results.jsonl` and `results.csv` from the
/// store: one record per job (paged, 1000 jobs at a time, in manifest
/// order) and one per rejected manifest row (JobStore::rejected_rows),
/// streamed to `<file>.tmp`, fsynced and renamed into place (each file
/// atomically; the CSV after the JSONL). Writes in one process are
/// serialized. Blocking file-system I/O: never call it on the event loop
/// while jobs run (ResultsWriter runs it on its own thread).
/// `cache` may be null (sidecars read and videos probed afresh).
/// Throws std::system_error when the folder cannot be written, and the
/// store's exceptions when the database fails. Does nothing for an unknown
/// batch.
void write_results_files(const JobStore& store, std::int64_t batch_id, const ResultsContext& ctx,
                         ResultsCache* cache = nullptr);

/// write_results_files() without kinds and units and without ffprobe (for
/// callers without a config). Kept for the engine's end-of-drain write.
void write_results_jsonl(const JobStore& store, std::int64_t batch_id);

}  // namespace reelbatch
