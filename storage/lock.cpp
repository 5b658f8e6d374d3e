#include "storage/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace reelbatch {

DatabaseLock::DatabaseLock(const std::filesystem::path& database) {
  const std::string path = database.string() + ".lock";
  if (database.has_parent_path()) std::filesystem::create_directories(database.parent_path());
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw LockError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    const auto n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    throw LockError("another reelbatch process (pid " + std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) +
                    ") is using " + database.string() + "; wait for it or stop it first");
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)::pwrite(fd_, pid.data(), pid.size(), 0);
}

DatabaseLock::~DatabaseLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace reelbatch
