// libFuzzer target: seedance2's response parsers
// (providers/seedance2/seedance2.hpp). Input: [op][status] then the body. op
// picks presign, upload PUT answer, submit, task, task list, cancel,
// balance, or the ISO 8601 timestamp reader; {code,message,result}
// envelopes with string error codes are reached through every op.
#include "providers/seedance2/seedance2.hpp"
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
  switch ((op & 0x7f) % 8) {
    case 0: (void)seedance2::parse_presign_response(status, body, profile, retry); break;
    case 1: (void)seedance2::classify_upload_response(status, body, profile, retry); break;
    case 2: (void)seedance2::parse_submit_response(status, body, profile, retry); break;
    case 3: (void)seedance2::parse_task_response(status, body, profile, retry); break;
    case 4: (void)seedance2::parse_task_list_response(status, body, profile, retry); break;
    case 5: (void)seedance2::parse_cancel_response(status, body, profile, retry); break;
    case 6: (void)seedance2::parse_balance_response(status, body, profile, retry); break;
    case 7: (void)seedance2::parse_iso8601_ms(body); break;
  }
  return 0;
}
