// libFuzzer target: the admin API's request parsing without sockets
// (src/app/admin_api.hpp: match_route, bearer_token_matches;
// src/net/http_server.hpp: Request's path, query and query_param).
// Input: [selector] then "METHOD TARGET\nAuthorization value".
#include "src/app/admin_api.hpp"
#include "src/net/http_server.hpp"
#include "tests/fuzz/fuzz_input.hpp"

#include <cstdlib>
#include <string>

using namespace reelbatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  (void)in.byte();  // reserved: keeps the corpus format of the other targets
  const std::string_view text = in.rest();
  const auto line_end = std::min(text.find('\n'), text.size());
  const std::string_view line = text.substr(0, line_end);
  const std::string_view auth = line_end < text.size() ? text.substr(line_end + 1) : std::string_view{};
  const auto sp = line.find(' ');
  net::Request req;
  req.method = std::string(line.substr(0, std::min(sp, line.size())));
  req.target = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
  req.headers.emplace_back("Authorization", std::string(auth));
  const admin::RouteMatch m = admin::match_route(req.method, req.path());
  if (m.status != 200 && m.status != 404 && m.status != 405) std::abort();
  if (m.status == 405 && m.allow.empty()) std::abort();
  for (const char* name : {"state", "batch", "limit", "after", "page", "offset", "profile"})
    (void)req.query_param(name);
  (void)req.query();
  (void)admin::bearer_token_matches(req.header("Authorization"), "0123456789abcdef-fuzz-token");
  return 0;
}
