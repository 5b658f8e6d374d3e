// SHA-256 digests (OpenSSL EVP), as lowercase hex.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace reelbatch {

/// Incremental SHA-256. Not thread-safe; one instance per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  /// Feeds `size` bytes.
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// Finishes and returns the 64-character lowercase hex digest; the object
  /// is reset and can be reused afterwards.
  std::string hex_digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view data);

/// Hex SHA-256 of a file's content, read in 256 KiB chunks. Blocking: call it
/// off the event loop. Throws std::system_error when the file can't be read.
std::string sha256_file_hex(const std::filesystem::path& path);

/// HMAC-SHA256 of `data` under `key`, as lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace reelbatch
