// `reelbatch backup FILE` (cmd_backup.hpp).
#include "src/app/cmd_backup.hpp"

#include "src/app/cli.hpp"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <iostream>
#include <optional>
#include <system_error>

namespace reelbatch {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

// fsync of a file or folder; throws BackupError naming it.
void fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) throw BackupError("cannot open " + path.string() + " to sync it: " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw BackupError("cannot sync " + path.string() + ": " + errno_text(err));
}

// Removes the temporary copy unless disarmed.
struct TmpGuard {
  fs::path path;
  bool armed = true;
  ~TmpGuard() {
    if (!armed) return;
    std::error_code ec;
    fs::remove(path, ec);
    fs::remove(fs::path(path.string() + "-journal"), ec);
  }
};

}  // namespace

BackupReport backup_database(const fs::path& db, const fs::path& dest, bool force) {
  std::error_code ec;
  if (!fs::exists(db, ec)) throw BackupError("database " + db.string() + " does not exist");
  if (fs::exists(dest, ec)) {
    if (fs::equivalent(db, dest, ec)) throw BackupError(dest.string() + " is the database itself", true);
    if (!force) throw BackupError(dest.string() + " exists; pass --force to replace it", true);
    if (fs::is_directory(dest, ec)) throw BackupError(dest.string() + " is a folder", true);
  }
  const fs::path tmp = dest.string() + ".tmp";
  fs::remove(tmp, ec);  // a stale copy of an earlier, interrupted backup
  if (ec) throw BackupError("cannot remove the stale " + tmp.string() + ": " + ec.message());
  TmpGuard guard{tmp};

  BackupReport report;
  {
    SQLite::Database src(db.string(), SQLite::OPEN_READONLY);
    src.setBusyTimeout(5000);
    std::optional<SQLite::Database> opened;
    try {
      opened.emplace(tmp.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    } catch (const SQLite::Exception& e) {
      throw BackupError("cannot create " + tmp.string() + ": " + e.what());
    }
    SQLite::Database& out = *opened;
    SQLite::Backup backup(out, src);
    // -1: every page in one step, under one read transaction of `src`: a
    // consistent snapshot (stepping in pieces would restart on every write
    // of a live daemon).
    int rc = backup.executeStep(-1);
    for (int waited_ms = 0; (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && waited_ms < 5000; waited_ms += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a CLI command: no event loop to block
      rc = backup.executeStep(-1);
    }
    if (rc != SQLITE_DONE)
      throw BackupError("cannot read " + db.string() + ": the database stayed locked (SQLite result " +
                        std::to_string(rc) + ")");
    report.pages = backup.getTotalPageCount();
    report.page_size = out.execAndGet("PRAGMA page_size").getInt();
    SQLite::Statement check(out, "PRAGMA quick_check(5)");
    std::string problems;
    while (check.executeStep()) {
      const std::string line = check.getColumn(0).getString();
      if (line == "ok") break;
      problems += (problems.empty() ? "" : "; ") + line;
    }
    if (!problems.empty())
      throw BackupError("the copy in " + tmp.string() + " fails PRAGMA quick_check: " + problems +
                        " (is the database " + db.string() + " itself damaged? run `sqlite3 " + db.string() +
                        " 'PRAGMA integrity_check'`)");
  }
  fsync_path(tmp, false);
  report.bytes = fs::file_size(tmp);
  const unsigned flags = force ? 0u : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), flags) != 0) {
    const int err = errno;
    if (err == EEXIST) throw BackupError(dest.string() + " appeared meanwhile; pass --force to replace it", true);
    throw BackupError("cannot rename " + tmp.string() + " to " + dest.string() + ": " + errno_text(err));
  }
  guard.armed = false;
  fsync_path(dest.parent_path().empty() ? fs::path(".") : dest.parent_path(), true);
  return report;
}

int cmd_backup(const Config& cfg, const std::string& file, bool force) {
  try {
    const auto r = backup_database(cfg.storage_path, file, force);
    std::cout << "backed up " << cfg.storage_path.string() << " to " << file << ": " << r.bytes << " bytes, "
              << r.pages << " pages of " << r.page_size << " bytes\n";
    return kExitOk;
  } catch (const BackupError& e) {
    std::cerr << "error: backup: " << e.what() << "\n";
    return e.refused() ? kExitUsage : kExitFailed;
  }
}

}  // namespace reelbatch
