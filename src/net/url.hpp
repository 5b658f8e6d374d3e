// URLs as the HTTP client and its proxy settings read them: absolute http://
// and https:// URLs (RFC 3986 through Boost.URL), proxy selection from
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY (the curl conventions every Unix tool
// follows), and redaction of URL credentials. Pure functions: no I/O.
#pragma once

#include "src/core/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace reelbatch {

/// An absolute http:// or https:// URL, split for a connection.
struct HttpUrl {
  bool tls = false;         ///< https
  std::string host;         ///< for the resolver and TLS SNI: lowercase, no brackets around an IPv6 literal
  std::string port;         ///< decimal, 1..65535; "80" / "443" when the URL has none
  std::string host_header;  ///< Host header / CONNECT authority: host as written (IPv6 in brackets), ":port" when written
  std::string target;       ///< origin-form: path and query, never empty ("/" for none); no fragment
  std::string user;         ///< userinfo user, percent-decoded; "" when none
  std::string password;     ///< userinfo password, percent-decoded; "" when none
  bool has_credentials = false;  ///< the URL has a userinfo part ("user@" or "user:pass@")
};

/// Parses an absolute URL with scheme http or https (any case), a non-empty
/// host (a name, IPv4, or IPv6 literal in brackets) and an optional port of
/// 1..65535 written in digits. Returns the parts, or an error text that
/// names the problem and quotes the URL with its credentials redacted
/// (redact_url_credentials). Never throws except std::bad_alloc.
Result<HttpUrl, std::string> parse_http_url(std::string_view url);

/// `url` with any userinfo replaced by "***" ("http://***@proxy:3128"), for
/// logs and error messages. Text that is not a URL with an authority is
/// returned with everything between "://" and the last '@' of its authority
/// replaced the same way (so malformed input leaks no password either).
std::string redact_url_credentials(std::string_view url);

/// The proxy environment of the process: the values of HTTP_PROXY,
/// HTTPS_PROXY and NO_PROXY, lowercase names first (http_proxy, https_proxy,
/// no_proxy), as curl reads them. Unset variables are "".
struct ProxyEnv {
  std::string http_proxy;   ///< proxy URL for http:// requests
  std::string https_proxy;  ///< proxy URL for https:// requests
  std::string no_proxy;     ///< comma-separated hosts that bypass the proxy
};

/// Reads ProxyEnv from the process environment (std::getenv). For
/// HTTP_PROXY only the lowercase http_proxy is honoured when the process
/// runs as CGI (REQUEST_METHOD set; "httpoxy", CVE-2016-5385), as curl does.
ProxyEnv proxy_env_from_process();

/// True when `no_proxy` (comma- or space-separated entries, any case)
/// exempts `host` (as in HttpUrl::host) on `port` from the proxy:
///   "*"                          every host;
///   "example.com", ".example.com" the host itself and every subdomain;
///   "10.1.2.3", "::1", "[::1]"   that IP literal;
///   "10.0.0.0/8", "fd00::/8"     every IP literal in that CIDR block;
///   any entry + ":port"          only on that port.
/// Empty entries are ignored. Never throws except std::bad_alloc.
bool no_proxy_matches(std::string_view host, std::string_view port, std::string_view no_proxy);

/// The proxy to use for `url`: `configured` when set (a profile's `proxy`;
/// "" means "connect directly"), else the environment's proxy for the URL's
/// scheme unless `env.no_proxy` exempts its host. Returns "" for a direct
/// connection. `configured` proxies are still subject to env.no_proxy.
std::string select_proxy(const HttpUrl& url, const std::optional<std::string>& configured, const ProxyEnv& env);

}  // namespace reelbatch
