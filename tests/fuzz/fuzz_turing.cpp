// libFuzzer target: turing's response parsers (providers/turing/turing.hpp).
// Input: [op][status] then the body. op picks the create answer (doc 创建视频)
// or the status answer (doc 轮询任务状态); error bodies are reached with a
// non-2xx status.
#include "providers/turing/turing.hpp"
#include "tests/fuzz/fuzz_input.hpp"

#include <chrono>

using namespace reelbatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t op = in.byte();
  const int status = fuzz::http_status(in.byte());
  const std::optional<std::chrono::milliseconds> retry =
      (op & 0x80) ? std::optional(std::chrono::milliseconds(1500)) : std::nullopt;
  const std::string_view body = in.rest();
  const std::string profile = "fuzz";
  switch ((op & 0x7f) % 2) {
    case 0: (void)turing::parse_submit_response(status, body, profile, retry); break;
    case 1: (void)turing::parse_task_response(status, body, profile, retry); break;
  }
  return 0;
}
