#include "src/watch/watch_files.hpp"

#include "src/watch/watch_rules.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace reelbatch::watch {
namespace fs = std::filesystem;

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

bool exists_no_follow(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

}  // namespace

std::string result_name(std::string_view name) { return std::string(name) + ".result.json"; }
std::string errors_name(std::string_view name) { return std::string(name) + ".errors.txt"; }

std::error_code rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return last_error();
  // The filesystem has no RENAME_NOREPLACE: link(2) fails atomically on a clash.
  if (::link(from.c_str(), to.c_str()) == 0) {
    if (::unlink(from.c_str()) != 0) return last_error();
    return {};
  }
  if (errno == EEXIST || errno == ENOENT) return last_error();
  if (exists_no_follow(to)) return std::make_error_code(std::errc::file_exists);
  if (::rename(from.c_str(), to.c_str()) != 0) return last_error();
  return {};
}

fs::path move_with_sidecars(const fs::path& from, const fs::path& dir, std::string_view name) {
  fs::create_directories(dir);
  const std::string from_name = from.filename().string();
  const fs::path from_dir = from.parent_path();
  for (int n = 0;; ++n) {
    const std::string target = suffixed_name(name, n);
    const fs::path to = dir / target;
    if (exists_no_follow(dir / result_name(target)) || exists_no_follow(dir / errors_name(target))) continue;
    if (const auto ec = rename_no_replace(from, to)) {
      if (ec == std::errc::file_exists) continue;
      throw fs::filesystem_error("cannot move manifest", from, to, ec);
    }
    for (const auto& side : {result_name(from_name), errors_name(from_name)}) {
      const fs::path src = from_dir / side;
      if (!exists_no_follow(src)) continue;
      std::error_code ec;
      fs::rename(src, dir / (side == result_name(from_name) ? result_name(target) : errors_name(target)), ec);
    }
    return to;
  }
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  const fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fs::filesystem_error("cannot write", tmp, last_error());
  auto fail = [&](const char* what) {
    const auto ec = last_error();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw fs::filesystem_error(what, tmp, ec);
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    const auto ec = last_error();
    ::unlink(tmp.c_str());
    throw fs::filesystem_error("cannot close", tmp, ec);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto ec = last_error();
    ::unlink(tmp.c_str());
    throw fs::filesystem_error("cannot rename", tmp, path, ec);
  }
}

std::vector<fs::path> manifests_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (is_ignored_name(name)) continue;
    std::error_code sec;
    if (e.is_regular_file(sec)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace reelbatch::watch
