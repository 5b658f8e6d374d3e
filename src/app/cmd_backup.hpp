// `reelbatch backup FILE`: a consistent copy of the job database, taken
// online with SQLite's backup API while a daemon or `run` may be writing to
// it (issue 7, "Shutdown/start": "`reelbatch backup FILE` through SQLite's
// backup API").
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace reelbatch {

/// What backup_database() wrote.
struct BackupReport {
  std::uintmax_t bytes = 0;  ///< size of the finished copy, bytes
  int pages = 0;             ///< database pages copied
  int page_size = 0;         ///< bytes per page
};

/// A backup that cannot be made: the message names the file and the cause.
class BackupError : public std::runtime_error {
 public:
  /// `refused`: nothing was tried (the destination exists without --force,
  /// or is the database itself): a usage error rather than a failure.
  explicit BackupError(const std::string& message, bool refused = false)
      : std::runtime_error(message), refused_(refused) {}
  bool refused() const { return refused_; }

 private:
  bool refused_;
};

/// Copies the SQLite database `db` to `dest`:
///  1. refuses (BackupError) when `dest` exists and `force` is false, or
///     when `dest` is `db` itself;
///  2. opens `db` read-only and copies every page in one step of the backup
///     API (sqlite3_backup_step(-1)): the copy is one read transaction, a
///     consistent snapshot even while another process writes (WAL mode: the
///     writer is not blocked);
///  3. writes to `dest` + ".tmp" (a stale one is replaced), checks the copy
///     with PRAGMA quick_check, fsyncs it, renames it onto `dest` (without
///     --force the rename refuses an existing `dest`, so a file created
///     meanwhile is never replaced) and fsyncs the folder.
/// On any failure the .tmp file is removed and `dest` is left as it was.
/// Throws BackupError (refusals, a failed check, I/O errors with the file
/// named) or SQLite::Exception (the source cannot be read; SQLITE_BUSY when
/// a writer holds an exclusive lock beyond the 5 s busy timeout).
BackupReport backup_database(const std::filesystem::path& db, const std::filesystem::path& dest, bool force);

/// The `backup` subcommand: backs up `cfg.storage_path` to `file` and prints
/// "backed up DB to FILE: N bytes, P pages of S bytes". Returns 0, or 1 with
/// the error on stderr (2 for a refusal to overwrite without --force).
int cmd_backup(const Config& cfg, const std::string& file, bool force);

}  // namespace reelbatch
