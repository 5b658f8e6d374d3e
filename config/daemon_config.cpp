// The `[daemon]` table: admin socket, optional loopback TCP listener with a
// bearer token, stop grace, log level.
#include "config/daemon_config.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace reelbatch {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& reason) {
  throw ConfigError(file + ": daemon." + key + ": " + reason);
}

std::string str(const toml::node& n, const std::string& file, const std::string& key) {
  if (!n.is_string()) fail(file, key, "expected a string");
  std::string s = n.as_string()->get();
  if (s.empty()) fail(file, key, "must not be empty");
  if (s.find('\0') != std::string::npos) fail(file, key, "contains a NUL character");
  return s;
}

}  // namespace

std::optional<std::pair<std::string, unsigned short>> parse_loopback_listen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size()) return std::nullopt;
  std::string host = s.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets: "[::1]:8787"
  const std::string port_text = s.substr(colon + 1);
  if (!std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      port_text.size() > 5)
    return std::nullopt;
  const int port = std::stoi(port_text);
  if (port > 65535) return std::nullopt;
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) != 127) return std::nullopt;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return std::pair{host, static_cast<unsigned short>(port)};
}

namespace {

DaemonConfig parse_daemon_table(const toml::node* node, const std::string& file, const fs::path& base,
                                const fs::path& storage_path, const EnvLookup& env) {
  DaemonConfig d;
  if (node) {
    const toml::table* t = node->as_table();
    if (!t) throw ConfigError(file + ": daemon: expected a table");
    static constexpr std::array<std::string_view, 6> kKnown = {"admin_socket", "http_listen",     "token_file",
                                                               "token_credential", "stop_grace", "log_level"};
    for (auto&& [key, value] : *t) {
      if (std::find(kKnown.begin(), kKnown.end(), key.str()) != kKnown.end()) continue;
      std::string known;
      for (auto k : kKnown) known += " " + std::string(k);
      fail(file, std::string(key.str()), "unknown key; known keys:" + known);
    }
    if (const toml::node* n = t->get("admin_socket"))
      d.admin_socket = (base / str(*n, file, "admin_socket")).lexically_normal();
    if (const toml::node* n = t->get("http_listen")) {
      d.http_listen = str(*n, file, "http_listen");
      if (!parse_loopback_listen(d.http_listen))
        fail(file, "http_listen",
             "expected a loopback HOST:PORT such as \"127.0.0.1:8787\" (the admin API never listens off-loopback), "
             "got '" + d.http_listen + "'");
    }
    if (const toml::node* n = t->get("token_file")) d.token_file = (base / str(*n, file, "token_file")).lexically_normal();
    if (const toml::node* n = t->get("token_credential")) {
      d.token_credential = str(*n, file, "token_credential");
      if (d.token_credential.find('/') != std::string::npos || d.token_credential == "." || d.token_credential == "..")
        fail(file, "token_credential", "a credential name, not a path");
    }
    if (const toml::node* n = t->get("stop_grace")) {
      const std::string text = str(*n, file, "stop_grace");
      const auto g = parse_duration(text);
      if (!g || g->count() <= 0 || *g > std::chrono::hours(1))
        fail(file, "stop_grace", "expected a duration in (0, 1h] such as \"10s\", got '" + text + "'");
      d.stop_grace = *g;
    }
    if (const toml::node* n = t->get("log_level")) {
      d.log_level = str(*n, file, "log_level");
      static constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};
      if (std::find(kLevels.begin(), kLevels.end(), d.log_level) == kLevels.end())
        fail(file, "log_level", "expected trace, debug, info, warn or error, got '" + d.log_level + "'");
    }
    if (!d.http_listen.empty() && d.token_file.empty() && d.token_credential.empty())
      fail(file, "http_listen", "needs token_file or token_credential (TCP requests must carry a bearer token)");
  }
  if (d.admin_socket.empty()) {
    std::optional<std::string> rt = env ? env("RUNTIME_DIRECTORY") : std::nullopt;
    if (rt && !rt->empty()) {
      // systemd passes several directories separated by ':'; the first is ours.
      d.admin_socket = fs::path(rt->substr(0, rt->find(':'))) / "admin.sock";
    } else {
      d.admin_socket = storage_path.parent_path() / "reelbatch.sock";
    }
  }
  return d;
}

}  // namespace

DaemonConfig parse_daemon_config(std::string_view toml_text, const fs::path& source, const fs::path& storage_path,
                                 const EnvLookup& env) {
  const std::string file = source.string();
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, file);
  } catch (const toml::parse_error& e) {
    throw ConfigError(file + ":" + std::to_string(e.source().begin.line) + ": TOML syntax error: " +
                      std::string(e.description()));
  }
#else
  toml::parse_result result = toml::parse(toml_text, file);
  if (!result)
    throw ConfigError(file + ":" + std::to_string(result.error().source().begin.line) +
                      ": TOML syntax error: " + std::string(result.error().description()));
  root = std::move(result).table();
#endif
  std::error_code ec;
  fs::path base = source.empty() ? fs::current_path(ec) : fs::absolute(source, ec).parent_path();
  return parse_daemon_table(root.get("daemon"), file, base.lexically_normal(), storage_path, env);
}

DaemonConfig load_daemon_config(const Config& cfg, const EnvLookup& env) {
  std::ifstream in(cfg.source, std::ios::binary);
  if (!in) throw ConfigError(cfg.source.string() + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_daemon_config(ss.str(), cfg.source, cfg.storage_path, env);
}

}  // namespace reelbatch
