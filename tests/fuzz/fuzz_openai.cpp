// libFuzzer target: the OpenAI-compatible adapter's parsers
// (providers/openai/openai.hpp). Input: [op][status] then the body. op picks
// the create answer, the retrieve answer (with and without a requested id),
// the models list, or the error body reader.
#include "providers/openai/openai.hpp"
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
  switch ((op & 0x7f) % 5) {
    case 0: (void)openai::parse_submit_response(status, body, profile, retry); break;
    case 1: (void)openai::parse_task_response(status, body, profile, {}, retry); break;
    case 2: (void)openai::parse_task_response(status, body, profile, "video_123", retry); break;
    case 3: (void)openai::parse_models_response(status, body, profile, retry); break;
    case 4: (void)openai::parse_error_body(body); break;
  }
  return 0;
}
