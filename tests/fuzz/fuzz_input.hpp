// Helpers shared by the libFuzzer targets (tests/fuzz/): a reader that takes
// selector bytes off the front of the input and leaves the rest as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace reelbatch::fuzz {

/// Consumes an input front to back. Reading past the end yields 0 / "".
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  /// The next byte, or 0 when none is left.
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  /// Everything not consumed yet.
  std::string_view rest() const {
    return {reinterpret_cast<const char*>(data_) + pos_, size_ - pos_};
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

/// HTTP statuses a provider answer is parsed with; the selector byte picks
/// one (statuses past the table are 100 + byte, so odd ones get tried too).
inline int http_status(std::uint8_t b) {
  constexpr int kTable[] = {200, 201, 202, 204, 206, 301, 400, 401, 402, 403, 404, 408, 409,
                            410, 413, 415, 422, 429, 500, 502, 503, 504, 520, 524};
  constexpr std::size_t n = sizeof(kTable) / sizeof(kTable[0]);
  return b < n ? kTable[b] : 100 + b;
}

}  // namespace reelbatch::fuzz
