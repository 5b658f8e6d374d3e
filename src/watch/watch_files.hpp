// File moves and sidecar files of the watch-folder service
// (watch_service.hpp). Blocking file I/O: call only from the service's own
// thread, never from an event loop.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace reelbatch::watch {

/// Sidecar names beside a manifest named `name`: "<name>.result.json" and
/// "<name>.errors.txt".
std::string result_name(std::string_view name);
std::string errors_name(std::string_view name);

/// Renames `from` to `to` only when `to` does not exist, atomically where the
/// filesystem allows it: renameat2(RENAME_NOREPLACE); where that is not
/// supported (NFS, some FUSE), link(2) + unlink(2); where neither is, an
/// existence check then rename(2) (the service is the only writer of its
/// folders). Returns an error code (std::errc::file_exists on a clash)
/// instead of throwing. Both paths must be on one filesystem.
std::error_code rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

/// Moves the manifest `from` into folder `dir` (created if missing) under
/// `name`, or under suffixed_name(name, n) for the smallest n >= 1 when
/// `name` or one of its sidecars is taken there; the sidecars of `from`
/// that exist (result_name/errors_name of from's file name) move along under
/// the new name. Returns the manifest's new path. Throws
/// std::filesystem::filesystem_error when `dir` cannot be created or `from`
/// cannot be moved (gone, permission, another filesystem); a sidecar that
/// cannot be moved is left where it was (the manifest's move is what counts).
std::filesystem::path move_with_sidecars(const std::filesystem::path& from, const std::filesystem::path& dir,
                                         std::string_view name);

/// Writes `content` to `path` through a temporary file in the same folder,
/// fsync(2) and rename(2), so readers see the old or the new content, never
/// a part. Throws std::filesystem::filesystem_error on failure (the
/// temporary is removed).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Regular files directly in `dir` that are manifests the service put
/// there (not dot-files or sidecars), sorted by name; empty when `dir` is
/// missing. Throws std::filesystem::filesystem_error when it can't be listed.
std::vector<std::filesystem::path> manifests_in(const std::filesystem::path& dir);

}  // namespace reelbatch::watch
