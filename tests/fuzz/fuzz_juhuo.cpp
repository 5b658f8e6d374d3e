// libFuzzer target: juhuo's response parsers (providers/juhuo/juhuo.hpp) on
// arbitrary bodies. Input: [op][status] then the body. op picks presign
// (doc 4.1), upload PUT answer (4.2), submit (5), task (6), list (7),
// balance (8); status is fuzz::http_status(byte). Error envelopes (doc 3.3,
// 10) are reached through every op with a non-2xx status or a non-"200" code.
#include "providers/juhuo/juhuo.hpp"
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
  switch ((op & 0x7f) % 6) {
    case 0: (void)juhuo::parse_presign_response(status, body, profile, retry); break;
    case 1: (void)juhuo::classify_upload_response(status, body, profile, retry); break;
    case 2: (void)juhuo::parse_submit_response(status, body, profile, retry); break;
    case 3: (void)juhuo::parse_task_response(status, body, profile, retry); break;
    case 4: (void)juhuo::parse_task_list_response(status, body, profile, retry); break;
    case 5: (void)juhuo::parse_balance_response(status, body, profile, retry); break;
  }
  return 0;
}
