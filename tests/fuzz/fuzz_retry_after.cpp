// libFuzzer target: the Retry-After parser (src/net/retry_after.hpp, RFC 9110
// 10.2.3) at a fixed and at a fuzzed "now". A result is never negative.
#include "src/net/retry_after.hpp"
#include "tests/fuzz/fuzz_input.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>

using namespace reelbatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::int64_t now_s = 1767225600;  // 2026-01-01T00:00:00Z
  if (size > 8 && data[0] == 0xff) {  // a fuzzed "now" within ±2^31 s of the epoch
    std::int32_t v = 0;
    std::memcpy(&v, data + 1, sizeof v);
    now_s = v;
    data += 8;
    size -= 8;
  }
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(now_s));
  if (const auto d = parse_retry_after(value, now); d && d->count() < 0) std::abort();
  return 0;
}
