// libFuzzer target: vibegen's response parsers (providers/vibegen/vibegen.hpp).
// Input: [op][status] then the body. op picks the generation answer (doc
// 创建生成任务), the task answer, the task list, or a callback body (doc 10);
// {error:{code,message}} envelopes are reached through every op.
#include "providers/vibegen/vibegen.hpp"
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
  switch ((op & 0x7f) % 4) {
    case 0: (void)vibegen::parse_submit_response(status, body, profile, retry); break;
    case 1: (void)vibegen::parse_task_response(status, body, profile, retry); break;
    case 2: (void)vibegen::parse_task_list_response(status, body, profile, retry); break;
    case 3: (void)vibegen::parse_callback(body); break;
  }
  return 0;
}
