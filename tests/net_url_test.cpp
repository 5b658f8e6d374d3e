// src/net/url.hpp: URL parsing, credential redaction, NO_PROXY matching and
// proxy selection. Pure: no sockets.
#include "src/net/url.hpp"

#include <gtest/gtest.h>

namespace reelbatch {
namespace {

TEST(NetUrl, ParsesHostPortTargetAndCredentials) {
  auto u = parse_http_url("HTTPS://User:p%40ss@API.Example.com:8443/v1/x?a=1#frag");
  ASSERT_TRUE(u) << u.error();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.example.com");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->host_header, "API.Example.com:8443");
  EXPECT_EQ(u->target, "/v1/x?a=1");
  EXPECT_TRUE(u->has_credentials);
  EXPECT_EQ(u->user, "User");
  EXPECT_EQ(u->password, "p@ss");

  auto d = parse_http_url("http://example.com");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, "80");
  EXPECT_EQ(d->target, "/");
  EXPECT_FALSE(d->has_credentials);
}

TEST(NetUrl, Ipv6LiteralsKeepBracketsOnlyInTheHostHeader) {
  auto u = parse_http_url("http://[::1]:9000/juhuo");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_header, "[::1]:9000");
  EXPECT_EQ(u->port, "9000");
}

TEST(NetUrl, RefusesBadPortsSchemesAndHostlessUrls) {
  for (const char* bad : {"http://h:0/", "http://h:65536/", "http://h:99999/", "ftp://h/", "http:///x", "h:80",
                          "mailto:a@b"})
    EXPECT_FALSE(parse_http_url(bad)) << bad;
  auto e = parse_http_url("ftp://user:secret@h/");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().find("secret"), std::string::npos) << e.error();
}

TEST(NetUrl, RedactsCredentials) {
  EXPECT_EQ(redact_url_credentials("http://u:secret@proxy:3128"), "http://***@proxy:3128");
  EXPECT_EQ(redact_url_credentials("http://proxy:3128/a@b"), "http://proxy:3128/a@b");
  EXPECT_EQ(redact_url_credentials("proxy:3128"), "proxy:3128");
  EXPECT_EQ(redact_url_credentials("http://a@b@host/"), "http://***@host/");
}

TEST(NetUrl, NoProxyMatchesNamesSuffixesIpsCidrsAndPorts) {
  EXPECT_TRUE(no_proxy_matches("api.juhuo.cn", "443", "juhuo.cn"));
  EXPECT_TRUE(no_proxy_matches("juhuo.cn", "443", ".juhuo.cn"));
  EXPECT_TRUE(no_proxy_matches("API.JUHUO.CN", "443", " other , JUHUO.cn"));
  EXPECT_FALSE(no_proxy_matches("notjuhuo.cn", "443", "juhuo.cn"));
  EXPECT_TRUE(no_proxy_matches("anything", "1", "*"));
  EXPECT_TRUE(no_proxy_matches("10.1.2.3", "80", "10.0.0.0/8"));
  EXPECT_FALSE(no_proxy_matches("11.1.2.3", "80", "10.0.0.0/8"));
  EXPECT_TRUE(no_proxy_matches("::1", "80", "::1"));
  EXPECT_TRUE(no_proxy_matches("::1", "8080", "[::1]:8080"));
  EXPECT_FALSE(no_proxy_matches("::1", "80", "[::1]:8080"));
  EXPECT_TRUE(no_proxy_matches("fd00::5", "80", "fd00::/8"));
  EXPECT_TRUE(no_proxy_matches("localhost", "3000", "localhost:3000"));
  EXPECT_FALSE(no_proxy_matches("localhost", "3001", "localhost:3000"));
  EXPECT_FALSE(no_proxy_matches("127.0.0.1", "80", "localhost"));
  EXPECT_FALSE(no_proxy_matches("example.com", "80", ""));
  EXPECT_FALSE(no_proxy_matches("example.com", "80", ",,"));
}

TEST(NetUrl, SelectProxyPrefersTheProfileAndHonoursNoProxy) {
  ProxyEnv env{"http://hp:1", "http://sp:2", "internal.example"};
  auto https = *parse_http_url("https://api.example.com/");
  auto http = *parse_http_url("http://api.example.com/");
  auto inside = *parse_http_url("https://a.internal.example/");
  EXPECT_EQ(select_proxy(https, std::nullopt, env), "http://sp:2");
  EXPECT_EQ(select_proxy(http, std::nullopt, env), "http://hp:1");
  EXPECT_EQ(select_proxy(inside, std::nullopt, env), "");
  EXPECT_EQ(select_proxy(https, std::string(""), env), "");  // proxy = "": direct
  EXPECT_EQ(select_proxy(https, std::string("http://mine:3"), env), "http://mine:3");
  EXPECT_EQ(select_proxy(inside, std::string("http://mine:3"), env), "");
  EXPECT_EQ(select_proxy(https, std::nullopt, ProxyEnv{}), "");
}

}  // namespace
}  // namespace reelbatch
