// Pure decisions of the watch-folder service (watch_service.hpp): which
// names are taken, when a file written in place has settled, and which
// filesystems cannot be watched with inotify. No I/O except
// is_network_filesystem(); the settle tracker takes the time as an argument
// so tests drive it with a mock clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelbatch::watch {

using SteadyTime = std::chrono::steady_clock::time_point;

/// The globs used when a folder's pattern is empty.
inline constexpr std::string_view kDefaultPattern = "*.csv,*.jsonl,*.ndjson";

/// The folders the service keeps inside every watched folder: never taken,
/// never descended into.
inline constexpr std::string_view kProcessingDir = "processing";
inline constexpr std::string_view kDoneDir = "done";
inline constexpr std::string_view kFailedDir = "failed";

/// True for names the service never takes whatever the pattern: dot-files
/// (editors' and rsync's temporaries), `*.tmp`, `*.part`, `*.partial` (any
/// case), and the sidecars it writes itself (`*.result.json`,
/// `*.errors.txt`).
bool is_ignored_name(std::string_view name);

/// True for processing, done and failed: the service's own subfolders.
bool is_service_dir(std::string_view name);

/// True when `name` matches one of the comma-separated globs of `pattern`
/// (fnmatch(3), case-insensitive; spaces around commas are ignored), or of
/// kDefaultPattern when `pattern` is empty. `name` is a file name, not a
/// path.
bool matches_pattern(std::string_view name, std::string_view pattern);

/// True when a file named `name` should be considered at all: not ignored
/// and matching `pattern`.
bool is_candidate_name(std::string_view name, std::string_view pattern);

/// True for the statfs(2) f_type of a network or userspace filesystem, on
/// which inotify sees only this host's own writes: NFS, SMB, CIFS, SMB2,
/// FUSE (sshfs, rclone, ...), 9P, Ceph, AFS, Coda, OCFS2, GFS2, Lustre, GPFS.
bool is_network_fs_magic(std::int64_t f_type);

/// statfs(2) of `folder` through is_network_fs_magic(); nullopt when statfs
/// fails (the folder is missing or unreadable).
std::optional<bool> is_network_filesystem(const std::filesystem::path& folder);

/// What identifies a version of a file while it is being written.
struct FileSignature {
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;  ///< st_mtim in ns since the epoch
  friend bool operator==(const FileSignature&, const FileSignature&) = default;
};

/// Decides when files written in place have settled: a file is ready once
/// its size and mtime were observed unchanged over at least `settle`.
/// Every observation of a changed signature restarts the wait. Files renamed
/// into the folder do not go through the tracker (they are complete).
class SettleTracker {
 public:
  explicit SettleTracker(std::chrono::milliseconds settle) : settle_(settle) {}

  /// Records that `file` has signature `sig` at `now`. Returns true when the
  /// file is ready: the same signature was first seen at least `settle`
  /// before `now`. A ready file stays tracked until forget().
  bool observe(const std::filesystem::path& file, const FileSignature& sig, SteadyTime now);

  /// Stops tracking `file` (taken, deleted, or no longer a candidate).
  void forget(const std::filesystem::path& file);
  /// Stops tracking every file under `folder`.
  void forget_under(const std::filesystem::path& folder);

  /// Tracked files whose settle time has passed at `now` (to be stat()ed
  /// again and observed), in path order.
  std::vector<std::filesystem::path> due(SteadyTime now) const;

  /// The earliest time a tracked file's settle time passes; nullopt when
  /// nothing is tracked.
  std::optional<SteadyTime> next_due() const;

  bool tracking(const std::filesystem::path& file) const { return files_.count(file) != 0; }
  std::size_t size() const { return files_.size(); }

 private:
  struct Seen {
    FileSignature sig;
    SteadyTime since;  ///< when `sig` was first seen
  };
  std::chrono::milliseconds settle_;
  std::map<std::filesystem::path, Seen> files_;
};

/// `name` with a numeric suffix before its extensions, for the `n`th clash
/// (n >= 1): "nightly.csv" -> "nightly-1.csv"; a dot-less name gets "-1" at
/// the end. n == 0 returns `name` unchanged.
std::string suffixed_name(std::string_view name, int n);

}  // namespace reelbatch::watch
