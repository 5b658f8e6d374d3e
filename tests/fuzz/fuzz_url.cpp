// libFuzzer target: URL parsing as the HTTP client does it
// (src/net/url.hpp): parse_http_url, credential redaction, NO_PROXY
// matching and proxy selection. Input: [selector] then text; for NO_PROXY the
// text is "host\nport\nno_proxy". Checks the contracts: a parsed URL has a
// host, a port in 1..65535 and a target starting with '/'; redaction never
// leaves a URL's user or password in the text.
#include "src/net/url.hpp"
#include "tests/fuzz/fuzz_input.hpp"

#include <cstdlib>
#include <string>

using namespace reelbatch;

namespace {

void check_url(std::string_view text) {
  const auto u = parse_http_url(text);
  if (!u) return;
  if (u->host.empty() || u->port.empty() || u->target.empty() || u->target.front() != '/') std::abort();
  const unsigned long port = std::stoul(u->port);
  if (port == 0 || port > 65535) std::abort();
  if (u->has_credentials) {  // the redacted text carries no user or password
    const auto shown = parse_http_url(redact_url_credentials(text));
    if (shown && shown->has_credentials && (shown->user != "***" || !shown->password.empty())) std::abort();
  }
  ProxyEnv env;
  env.http_proxy = "http://proxy:3128";
  env.https_proxy = "http://proxy:3128";
  env.no_proxy = "localhost,.internal,10.0.0.0/8,[::1]:8080";
  (void)select_proxy(*u, std::nullopt, env);
  (void)select_proxy(*u, std::string(text), env);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t op = in.byte();
  const std::string_view text = in.rest();
  if (op % 2 == 0) {
    check_url(text);
  } else {
    const auto nl1 = text.find('\n');
    const auto nl2 = nl1 == std::string_view::npos ? nl1 : text.find('\n', nl1 + 1);
    if (nl2 == std::string_view::npos) return 0;
    (void)no_proxy_matches(text.substr(0, nl1), text.substr(nl1 + 1, nl2 - nl1 - 1), text.substr(nl2 + 1));
  }
  return 0;
}
