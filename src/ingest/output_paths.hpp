// Where a batch's files go, and that no two rows share one (issue 7, case 5;
// README, "Outputs"). A row writes <batch out_dir>/<stem>.mp4, .cover.jpg,
// .last_frame.jpg and .json, with stem = output_stem(spec) (the `output`
// column, else the id); the batch writes <out_dir>/results.jsonl. So:
//   - every batch gets a folder of its own under the output root: the
//     manifest's stem, then "<stem>-2", "<stem>-3", ... when a batch of
//     another manifest holds that folder (compared ignoring ASCII case, for
//     case-insensitive file systems); a manifest ingested before keeps the
//     folder recorded in its batch;
//   - within a folder, every stem belongs to one row, compared ignoring
//     ASCII case; the rows already in the database for that folder count;
//   - a stem never leaves the folder: no '/', '\', "..", control characters
//     (normalize_output), no reserved device name, no leading '.', no
//     trailing '.' or space.
#pragma once

#include "config/config.hpp"
#include "storage/job_store.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace reelbatch {

/// Why `stem` cannot name output files, or nullopt when it can. Refused:
/// empty; a name starting with '.' (hidden, and "." / ".." name folders);
/// ending with '.' or ' ' (Windows and SMB shares drop them, so "a." and "a"
/// would be one file); a DOS device name (CON, PRN, AUX, NUL, COM0-9,
/// LPT0-9, any case, alone or before a '.': "con.x"), which on Windows and
/// SMB shares names a device instead of a file. Separators and control
/// characters are normalize_output's (and output_stem's) to refuse.
std::optional<std::string> output_stem_problem(std::string_view stem);

/// The output stems of one batch folder, ignoring ASCII case, and who holds
/// each. Built once per manifest from the store (one query) and the
/// manifest's rows: memory is one small entry per row.
class OutputClaims {
 public:
  /// Who holds a stem.
  struct Holder {
    std::string key;   ///< the job's id (JobSpec::id)
    std::string file;  ///< manifest file
    int line = 0;      ///< 1-based manifest line
  };

  /// Records the rows already in the database for this folder
  /// (JobStore::output_claims). Rows in the database never conflict with
  /// each other here: they were checked when they came in.
  void add_existing(const std::vector<OutputClaim>& claims);

  /// Claims `stem` for the row `key` at `file`:`line`. Returns nullopt when
  /// the stem is free, or held by the same key (the same row ingested
  /// again); otherwise the reason naming the holder, e.g. "output 'fox'
  /// (fox.mp4) is already the output of row 'r1' at m.csv:3; give each row
  /// its own output". A refused claim leaves the holder in place.
  std::optional<std::string> claim(const std::string& stem, const std::string& key, const std::string& file,
                                   int line);

 private:
  std::unordered_map<std::string, Holder> by_stem_;  // key: stem with ASCII letters lowercased
};

/// The output folder for a batch of the manifest at `manifest_abs` (absolute,
/// lexically normal): the folder of the batch already recorded for that
/// manifest, else `<output_root>/<name>` with name = the manifest's file
/// stem (control characters replaced by '_'), then "<name>-2", "<name>-3",
/// ... until no batch in `batches` uses the folder (ASCII case ignored).
/// Returns {name, folder}. Pure: reads nothing but its arguments.
std::pair<std::string, std::filesystem::path> choose_batch_folder(const std::vector<BatchRecord>& batches,
                                                                  const std::filesystem::path& manifest_abs,
                                                                  const std::filesystem::path& output_root);

/// Makes sure `dir` exists (creating it and its parents) and that a file can
/// be created, written and removed in it, by doing so with a uniquely named
/// probe file. Returns nullopt when it can, else the reason ("cannot create
/// /x/out: Permission denied", "/x/out is not a folder", "cannot write in
/// /x/out: No space left on device"). Blocking file-system I/O: call at
/// ingest, before any submit, never on the event loop.
std::optional<std::string> check_writable_folder(const std::filesystem::path& dir);

}  // namespace reelbatch
