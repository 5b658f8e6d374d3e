#include "src/net/url.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace reelbatch {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// First non-empty of a lowercase and an uppercase variable.
std::string env_pair(const char* lower_name, const char* upper_name) {
  std::string v = env_or_empty(lower_name);
  if (v.empty() && upper_name) v = env_or_empty(upper_name);
  return v;
}

std::optional<boost::asio::ip::address> ip_of(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return a;
}

// True when `ip` lies in the block `net`/`bits` (same family only).
bool in_cidr(const boost::asio::ip::address& ip, const boost::asio::ip::address& net, unsigned bits) {
  if (ip.is_v4() != net.is_v4()) return false;
  std::array<unsigned char, 16> a{}, b{};
  std::size_t len = 0;
  if (ip.is_v4()) {
    const auto x = ip.to_v4().to_bytes(), y = net.to_v4().to_bytes();
    std::copy(x.begin(), x.end(), a.begin());
    std::copy(y.begin(), y.end(), b.begin());
    len = 4;
  } else {
    a = ip.to_v6().to_bytes();
    b = net.to_v6().to_bytes();
    len = 16;
  }
  if (bits > len * 8) return false;
  std::size_t i = 0;
  for (; bits >= 8; bits -= 8, ++i)
    if (a[i] != b[i]) return false;
  if (bits == 0) return true;
  const unsigned mask = (0xffu << (8 - bits)) & 0xffu;
  return (a[i] & mask) == (b[i] & mask);
}

// One NO_PROXY entry (already trimmed, non-empty, lowercase) against a host.
bool entry_matches(std::string_view entry, std::string_view host, std::string_view port) {
  if (entry == "*") return true;
  // A trailing ":port" restricts the entry to that port; an IPv6 literal
  // without brackets has colons of its own, so only "[v6]:port" or a name /
  // IPv4 with exactly one colon carries a port.
  std::string_view name = entry;
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return false;
    name = entry.substr(0, close + 1);
    const auto rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || rest.substr(1) != port) return false;
    }
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    const auto colon = entry.find(':');
    if (entry.substr(colon + 1) != port) return false;
    name = entry.substr(0, colon);
  }
  if (name.empty()) return false;

  const auto host_ip = ip_of(host);
  if (const auto slash = name.find('/'); slash != std::string_view::npos) {
    if (!host_ip) return false;
    const auto net = ip_of(name.substr(0, slash));
    const auto bits = name.substr(slash + 1);
    if (!net || !all_digits(bits) || bits.size() > 3) return false;
    return in_cidr(*host_ip, *net, static_cast<unsigned>(std::stoul(std::string(bits))));
  }
  if (const auto entry_ip = ip_of(name)) return host_ip && *host_ip == *entry_ip;
  if (host_ip) return false;
  if (name.front() == '.') name.remove_prefix(1);
  if (name.empty()) return false;
  if (host == name) return true;
  return host.size() > name.size() && host.substr(host.size() - name.size()) == name &&
         host[host.size() - name.size() - 1] == '.';
}

}  // namespace

std::string redact_url_credentials(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto auth_begin = scheme_end + 3;
  const auto auth_end = std::min(url.find_first_of("/?#", auth_begin), url.size());
  const auto at = url.substr(auth_begin, auth_end - auth_begin).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, auth_begin)) + "***" + std::string(url.substr(auth_begin + at));
}

Result<HttpUrl, std::string> parse_http_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(std::string(why) + ": " + redact_url_credentials(text));
  };
  const auto r = boost::urls::parse_uri(text);  // a fragment is allowed (and never sent)
  if (!r) return bad("not a valid URL (" + r.error().message() + ")");
  const boost::urls::url_view u = *r;
  HttpUrl out;
  const std::string scheme = to_lower(u.scheme());
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    return bad("unsupported URL scheme (only http and https)");
  }
  if (!u.has_authority()) return bad("URL has no host");
  out.host = to_lower(u.host_address());  // no brackets around IPv6 literals
  if (out.host.empty()) return bad("URL has no host");
  // Boost.URL's port_number() is 16 bits wide: check the digits ourselves so
  // that 70000 is refused instead of wrapping.
  if (u.has_port()) {
    const std::string p(u.port());
    if (p.empty()) {
      out.port = out.tls ? "443" : "80";
    } else {
      if (!all_digits(p) || p.size() > 5 || std::stoul(p) == 0 || std::stoul(p) > 65535)
        return bad("URL port must be 1..65535");
      out.port = std::to_string(std::stoul(p));
    }
  } else {
    out.port = out.tls ? "443" : "80";
  }
  const auto hp = u.encoded_host_and_port();
  out.host_header = std::string(hp.data(), hp.size());
  if (!out.host_header.empty() && out.host_header.back() == ':') out.host_header.pop_back();
  const auto tgt = u.encoded_target();
  out.target = std::string(tgt.data(), tgt.size());
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  if (u.has_userinfo()) {
    out.has_credentials = true;
    out.user = u.user();
    out.password = u.password();
  }
  return out;
}

ProxyEnv proxy_env_from_process() {
  ProxyEnv env;
  // httpoxy: under CGI, HTTP_PROXY may come from a request's "Proxy:" header.
  const bool cgi = std::getenv("REQUEST_METHOD") != nullptr;
  env.http_proxy = env_pair("http_proxy", cgi ? nullptr : "HTTP_PROXY");
  env.https_proxy = env_pair("https_proxy", "HTTPS_PROXY");
  env.no_proxy = env_pair("no_proxy", "NO_PROXY");
  return env;
}

bool no_proxy_matches(std::string_view host, std::string_view port, std::string_view no_proxy) {
  const std::string h = to_lower(host);
  std::size_t i = 0;
  while (i < no_proxy.size()) {
    const auto end = std::min(no_proxy.find_first_of(", \t", i), no_proxy.size());
    const std::string entry = to_lower(no_proxy.substr(i, end - i));
    i = end + 1;
    if (!entry.empty() && entry_matches(entry, h, port)) return true;
  }
  return false;
}

std::string select_proxy(const HttpUrl& url, const std::optional<std::string>& configured, const ProxyEnv& env) {
  std::string proxy;
  if (configured)
    proxy = *configured;
  else
    proxy = url.tls ? env.https_proxy : env.http_proxy;
  if (proxy.empty()) return {};
  if (no_proxy_matches(url.host, url.port, env.no_proxy)) return {};
  return proxy;
}

}  // namespace reelbatch
