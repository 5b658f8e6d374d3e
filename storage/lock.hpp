// An exclusive lease on a database for one process: `run`, `resolve` and
// `cancel` take it, so two processes never drive the same jobs (which could
// submit a row twice). flock(2) on "<database>.lock"; the kernel releases it
// when the process dies, kill -9 included.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace reelbatch {

class LockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DatabaseLock {
 public:
  /// Takes the lease for `database` without waiting. Throws LockError naming
  /// the holder's pid when another process has it, or when the lock file
  /// cannot be created.
  explicit DatabaseLock(const std::filesystem::path& database);
  ~DatabaseLock();
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace reelbatch
