// TOML config loading and validation (toml++). Every key is checked for its
// type and range, unknown keys are errors (they are usually typos), and every
// message has the form "<file>: <dotted.key>: <reason>".
#include "config/config.hpp"
#include "config/watch_config.hpp"
#include "src/core/text.hpp"

#include <toml++/toml.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace reelbatch {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr double kMaxDurationMs = 365.0 * 24 * 3600 * 1000;  // one year
constexpr double kMinPerMinute = 1.0 / (24 * 60);              // one request a day

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "a value";
}

std::string fmt_number(double d) {
  std::ostringstream ss;
  ss << d;
  return ss.str();
}

std::string fmt_ms(milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Reads one TOML document into a Config, throwing ConfigError at the first problem.
class Loader {
  NetworkConfig network_;  // [network], the profiles' fallback
  fs::path base_;          // the config file's folder

 public:
  Loader(const fs::path& source, const std::vector<std::string>& kinds, const EnvLookup& env)
      : source_(source), file_(source.string()), kinds_(kinds), env_(env) {}

  Config load(const toml::table& root) {
    Config cfg;
    cfg.source = source_;
    std::error_code ec;
    fs::path base = source_.empty() ? fs::current_path(ec) : fs::absolute(source_, ec).parent_path();
    if (ec) fail("(file)", "cannot resolve the config file's folder: " + ec.message());
    base = base.lexically_normal();

    // [daemon]: config/daemon_config.cpp; [[watch]]: config/watch_config.cpp
    check_keys(root, "", {"storage", "output", "providers", "ingest", "watch", "daemon", "network"});

    std::string storage = "reelbatch.db";
    if (const toml::node* n = root.get("storage")) {
      const toml::table& t = table(*n, "storage");
      check_keys(t, "storage", {"path", "url", "password_env", "password_credential"});
      if (const toml::node* p = t.get("path")) storage = path_string(*p, "storage.path");
      storage_database(t, cfg);
    }
    cfg.storage_path = resolve(base, storage);

    std::string out = "out";
    if (const toml::node* n = root.get("output")) {
      const toml::table& t = table(*n, "output");
      check_keys(t, "output", {"dir", "download_concurrency"});
      if (const toml::node* p = t.get("dir")) out = path_string(*p, "output.dir");
      if (const toml::node* p = t.get("download_concurrency"))
        cfg.download_concurrency = static_cast<int>(integer(*p, "output.download_concurrency", 1, 64));
    }
    cfg.output_dir = resolve(base, out);

    if (const toml::node* n = root.get("ingest")) cfg.allowed_roots = ingest_table(*n, base);

    if (const toml::node* n = root.get("network")) {
      const toml::table& t = table(*n, "network");
      check_keys(t, "network", {"proxy", "ca_file", "ca_dir", "ca_only"});
      cfg.network = network_keys(t, "network", base, NetworkConfig{});
    }
    network_ = cfg.network;
    base_ = base;

    const toml::node* providers = root.get("providers");
    if (!providers) fail("providers", "at least one provider profile ([providers.<name>]) is required");
    const toml::table& pt = table(*providers, "providers");
    if (pt.empty()) fail("providers", "at least one provider profile ([providers.<name>]) is required");
    for (auto&& [key, node] : pt) {
      const std::string name(key.str());
      cfg.profiles.emplace(name, profile(name, node));
    }
    cfg.watches = parse_watch_tables(root.get("watch"), cfg, base);
    return cfg;
  }

 private:
  // `p` against `base`, lexically normal, without a trailing separator.
  static fs::path resolve(const fs::path& base, const std::string& p) {
    fs::path out = (base / fs::path(p)).lexically_normal();
    if (!out.has_filename() && out != out.root_path()) out = out.parent_path();
    return out;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
    throw ConfigError(file_ + ": " + key + ": " + reason);
  }

  [[noreturn]] void wrong_type(const toml::node& n, const std::string& key, const std::string& expected) const {
    fail(key, "expected " + expected + ", got " + type_name(n.type()));
  }

  static std::string join(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  }

  // Every key of `t` must be in `allowed`.
  void check_keys(const toml::table& t, const std::string& prefix, std::initializer_list<std::string_view> allowed) {
    for (auto&& [key, node] : t) {
      const std::string_view k = key.str();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string reason = "unknown key";
      std::string_view best;
      std::size_t best_d = 3;
      for (std::string_view a : allowed) {
        const std::size_t d = edit_distance(to_lower(k), a);
        if (d < best_d) {
          best_d = d;
          best = a;
        }
      }
      if (!best.empty()) reason += " (did you mean '" + std::string(best) + "'?)";
      reason += "; known keys:";
      for (std::string_view a : allowed) reason += " " + std::string(a);
      fail(join(prefix, k), reason);
    }
  }

  const toml::table& table(const toml::node& n, const std::string& key) const {
    if (!n.is_table()) wrong_type(n, key, "a table");
    return *n.as_table();
  }

  std::string string(const toml::node& n, const std::string& key) const {
    if (!n.is_string()) wrong_type(n, key, "a string");
    return n.as_string()->get();
  }

  std::string nonempty_string(const toml::node& n, const std::string& key) const {
    std::string s = string(n, key);
    if (s.find_first_not_of(" \t\r\n") == std::string::npos) fail(key, "must not be empty");
    return s;
  }

  std::string path_string(const toml::node& n, const std::string& key) const {
    std::string s = nonempty_string(n, key);
    if (s.find('\0') != std::string::npos) fail(key, "contains a NUL character");
    return s;
  }

  std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t lo, std::int64_t hi) const {
    if (!n.is_integer()) wrong_type(n, key, "an integer");
    const std::int64_t v = n.as_integer()->get();
    if (v < lo || v > hi)
      fail(key, "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " +
                    std::to_string(v) + ")");
    return v;
  }

  // An integer or a float.
  double number(const toml::node& n, const std::string& key) const {
    if (n.is_integer()) return static_cast<double>(n.as_integer()->get());
    if (n.is_floating_point()) {
      const double d = n.as_floating_point()->get();
      if (!std::isfinite(d)) fail(key, "must be a finite number");
      return d;
    }
    wrong_type(n, key, "a number");
  }

  bool boolean(const toml::node& n, const std::string& key) const {
    if (!n.is_boolean()) wrong_type(n, key, "a boolean (true or false)");
    return n.as_boolean()->get();
  }

  // A number of seconds, or a string like "500ms" / "5s" / "2m" / "1h"; > 0.
  milliseconds duration(const toml::node& n, const std::string& key) const {
    double ms = 0;
    std::string shown;
    if (n.is_integer() || n.is_floating_point()) {
      ms = number(n, key) * 1000.0;
      shown = fmt_number(number(n, key));
    } else if (n.is_string()) {
      shown = "'" + n.as_string()->get() + "'";
      const auto d = parse_duration(n.as_string()->get());
      if (!d) fail(key, "expected a duration such as 500ms, 5s, 2m or 1h, or a number of seconds (got " + shown + ")");
      ms = static_cast<double>(d->count());
    } else {
      wrong_type(n, key, "a duration (a number of seconds, or a string such as \"5s\")");
    }
    if (!(ms > 0)) fail(key, "must be greater than 0 (got " + shown + ")");
    if (ms > kMaxDurationMs) fail(key, "must be at most one year (got " + shown + ")");
    const auto rounded = static_cast<std::int64_t>(std::llround(ms));
    if (rounded < 1) fail(key, "must be at least 1ms (got " + shown + ")");
    return milliseconds(rounded);
  }

  std::string base_url(const toml::node& n, const std::string& key) const {
    std::string s = string(n, key);
    const std::string l = to_lower(s);
    std::size_t scheme = 0;
    if (l.rfind("http://", 0) == 0)
      scheme = 7;
    else if (l.rfind("https://", 0) == 0)
      scheme = 8;
    else
      fail(key, "must start with http:// or https:// (got '" + s + "')");
    for (char c : s)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail(key, "must not contain spaces or control characters");
    if (s.find_first_of("?#") != std::string::npos) fail(key, "must not contain a query or fragment (got '" + s + "')");
    s = l.substr(0, scheme) + s.substr(scheme);
    while (s.size() > scheme && s.back() == '/') s.pop_back();
    if (s.size() == scheme || s[scheme] == '/') fail(key, "has no host (got '" + n.as_string()->get() + "')");
    check_url_syntax(s, key);
    return s;
  }

  // RFC 3986 syntax through Boost.URL: a host, no user info (a password in
  // the URL would be logged; keys belong in api_key_env), and a port, when
  // given, of 1..65535 written in digits. Boost.URL's port_number() is 16 bits
  // wide, so the digits are checked here: 99999 is refused, never wrapped to
  // 34463.
  void check_url_syntax(const std::string& s, const std::string& key) const {
    const auto parsed = boost::urls::parse_absolute_uri(s);
    if (!parsed) fail(key, "is not a valid URL: " + parsed.error().message() + " (got '" + s + "')");
    const boost::urls::url_view u = *parsed;
    if (u.has_userinfo())
      fail(key, "must not contain user info (user:password@); put the API key in the variable api_key_env names");
    if (u.encoded_host().empty()) fail(key, "has no host (got '" + s + "')");
    // The authority's own text decides whether a port was written: Boost.URL
    // accepts "host:8x" without reporting a port.
    const auto enc_auth = u.encoded_authority();
    const std::string_view auth(enc_auth.data(), enc_auth.size());
    const auto raw_port = u.port();
    // Boost.URL reads "host:8x" as authority "host:8" and path "x"; a base
    // URL's path must start with '/' right after the authority.
    const std::size_t after = s.find("://") + 3 + auth.size();
    if (after < s.size() && s[after] != '/')
      fail(key, "port must be a number in 1..65535 or the host must be followed by '/' (got '" + s + "')");
    const std::size_t host_end = auth.rfind(']');
    const std::size_t colon = auth.find(':', host_end == std::string_view::npos ? 0 : host_end);
    if (u.has_port() || colon != std::string_view::npos) {
      const std::string_view port = colon != std::string_view::npos ? auth.substr(colon + 1)
                                                                   : std::string_view(raw_port.data(), raw_port.size());
      const bool digits = !port.empty() && port.size() <= 10 &&
                          std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
      const long long v = digits ? std::stoll(std::string(port)) : -1;
      if (v < 1 || v > 65535)
        fail(key, "port must be a number in 1..65535 (got '" + std::string(port) + "' in '" + s + "')");
    }
  }

  // The value of the API key variable `var`: one final line break (a key
  // read from a file) is dropped; then a key that is empty, has spaces or
  // tabs at either end, or holds any control character is refused, because
  // it is copied verbatim into an HTTP header (a CR or LF there would inject
  // headers). Messages give the variable and the position, never the key.
  std::string api_key_value(std::string v, const std::string& var, const std::string& key) const {
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    if (v.find_first_not_of(" \t\r\n") == std::string::npos) fail(key, "environment variable " + var + " is empty");
    if (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t')
      fail(key, "environment variable " + var + " has spaces or tabs at its start or end; remove them");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto c = static_cast<unsigned char>(v[i]);
      if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%04X", c);
        fail(key, "environment variable " + var + " contains a control character (U+" + buf + ") at byte " +
                      std::to_string(i + 1) + "; the key is sent in an HTTP header and must be one line of text");
      }
    }
    return v;
  }

  // [ingest]: allowed_roots = ["/srv/assets", ...], each resolved against the
  // config file's folder and made canonical (it must exist and be a folder).
  std::vector<fs::path> ingest_table(const toml::node& node, const fs::path& base) {
    const toml::table& t = table(node, "ingest");
    check_keys(t, "ingest", {"allowed_roots"});
    std::vector<fs::path> roots;
    const toml::node* n = t.get("allowed_roots");
    if (!n) return roots;
    if (!n->is_array()) wrong_type(*n, "ingest.allowed_roots", "an array of folder paths");
    std::size_t i = 0;
    for (const toml::node& e : *n->as_array()) {
      const std::string key = "ingest.allowed_roots[" + std::to_string(i++) + "]";
      const fs::path p = resolve(base, path_string(e, key));
      std::error_code ec;
      fs::path canon = fs::canonical(p, ec);
      if (ec) fail(key, "cannot resolve " + p.string() + ": " + ec.message());
      if (!fs::is_directory(canon, ec)) fail(key, p.string() + " is not a folder");
      roots.push_back(std::move(canon));
    }
    return roots;
  }

  // [storage] url, password_env, password_credential (issue 13): a
  // PostgreSQL database instead of the SQLite file. The URL is libpq's URI
  // form; a password in it would be logged, so it is refused and read from
  // the variable or credential instead. Messages never show the URL's text
  // past what the user wrote before a password.
  void storage_database(const toml::table& t, Config& cfg) {
    const toml::node* url = t.get("url");
    const toml::node* env = t.get("password_env");
    const toml::node* cred = t.get("password_credential");
    if (!url) {
      if (env) fail("storage.password_env", "only applies with storage.url (a PostgreSQL database)");
      if (cred) fail("storage.password_credential", "only applies with storage.url (a PostgreSQL database)");
      return;
    }
    if (t.get("path")) fail("storage.url", "set either storage.path (SQLite) or storage.url (PostgreSQL), not both");
    const std::string u = nonempty_string(*url, "storage.url");
    const std::string lower = to_lower(u);
    if (lower.rfind("postgresql://", 0) != 0 && lower.rfind("postgres://", 0) != 0)
      fail("storage.url", "must start with postgresql:// or postgres:// (e.g. \"postgresql://reelbatch@db.internal:5432/"
                          "reelbatch\"); for SQLite set storage.path");
    for (char c : u)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail("storage.url", "must not contain spaces or control characters");
    const std::size_t auth = u.find("://") + 3;
    const std::string authority = u.substr(auth, u.find_first_of("/?#", auth) - auth);
    const std::size_t at = authority.rfind('@');
    if (at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos)
      fail("storage.url", "must not contain a password (user:password@); name the variable holding it in "
                          "storage.password_env (or set PGPASSWORD), or a systemd credential in storage.password_credential");
    if (const std::size_t q = u.find('?'); q != std::string::npos && ("&" + to_lower(u.substr(q + 1))).find("&password=") != std::string::npos)
      fail("storage.url", "must not contain a password (password=...); name the variable holding it in "
                          "storage.password_env (or set PGPASSWORD), or a systemd credential in storage.password_credential");
    cfg.storage_url = u;
    if (env && cred) fail("storage.password_credential", "set either password_env or password_credential, not both");
    if (cred) cfg.storage_password = credential(string(*cred, "storage.password_credential"), "storage.password_credential");
    if (env) {
      const std::string var = string(*env, "storage.password_env");
      const bool valid_name = !var.empty() && !std::isdigit(static_cast<unsigned char>(var[0])) &&
                              std::all_of(var.begin(), var.end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                              });
      if (!valid_name)
        fail("storage.password_env", "must be an environment variable name (letters, digits, '_'), got '" + var + "'");
      const std::optional<std::string> value = env_ ? env_(var) : std::nullopt;
      if (!value) fail("storage.password_env", "environment variable " + var + " is not set");
      std::string v = *value;
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      if (v.empty()) fail("storage.password_env", "environment variable " + var + " is empty");
      cfg.storage_password = v;
    }
  }

  // The text of systemd credential `name` ($CREDENTIALS_DIRECTORY/<name>,
  // set by LoadCredential= / LoadCredentialEncrypted=), surrounding
  // whitespace trimmed. Fails naming `k` when the directory is not set, the
  // name is not a plain file name, or the file is missing, unreadable or
  // blank. The key's text never appears in a message.
  std::string credential(const std::string& name, const std::string& k) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      fail(k, "must be a credential name (a file name, no '/'), got '" + name + "'");
    const std::optional<std::string> dir = env_ ? env_("CREDENTIALS_DIRECTORY") : std::nullopt;
    if (!dir || dir->empty())
      fail(k, "CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=" + name +
                  ":... or LoadCredentialEncrypted=" + name + ")");
    const fs::path file = fs::path(*dir) / name;
    std::ifstream in(file, std::ios::binary);
    std::string text;
    if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) fail(k, "cannot read credential " + file.string() + ": " + std::strerror(errno));
    const auto b = text.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) fail(k, "credential " + file.string() + " is empty");
    return text.substr(b, text.find_last_not_of(" \t\r\n") - b + 1);
  }

  ProfileConfig profile(const std::string& name, const toml::node& node) {
    const std::string prefix = "providers." + name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        }))
      fail(prefix, "profile names may contain only letters, digits, '_' and '-'");
    const toml::table& t = table(node, prefix);
    check_keys(t, prefix,
               {"kind", "base_url", "api_key_env", "max_in_flight", "submit_per_minute", "poll_per_minute",
                "poll_first", "poll_interval", "poll_max_interval", "url_ttl", "request_timeout", "max_attempts",
                "credit_cap", "defaults", "api_key_credential",
                // issue 7 (submit side): submission ceiling and remote-failure policy
                "max_submits_per_row", "on_remote_failure",
                // issue 11: proxy and trust store, over [network]
                "proxy", "ca_file", "ca_dir", "ca_only",
                // issue 9: prices and caps
                "credit_unit", "daily_credit_cap", "prices"});
    ProfileConfig p;
    p.name = name;
    auto key = [&](std::string_view k) { return prefix + "." + std::string(k); };

    // kind
    const toml::node* kind = t.get("kind");
    const auto& kinds = kinds_;
    std::string kind_list;
    for (const auto& k : kinds) kind_list += (kind_list.empty() ? "" : ", ") + k;
    if (!kind) fail(key("kind"), "required (one of " + kind_list + ")");
    p.kind = string(*kind, key("kind"));
    if (std::find(kinds.begin(), kinds.end(), p.kind) == kinds.end())
      fail(key("kind"), "unknown provider kind '" + p.kind + "' (known: " + kind_list + ")");

    // base_url
    const toml::node* url = t.get("base_url");
    if (!url) fail(key("base_url"), "required (e.g. \"https://api.juhuo.cn\")");
    p.base_url = base_url(*url, key("base_url"));

    // api_key_credential (systemd LoadCredential=): the key is read from
    // $CREDENTIALS_DIRECTORY/<name> instead of an environment variable.
    if (const toml::node* cred = t.get("api_key_credential")) {
      if (t.get("api_key_env")) fail(key("api_key_credential"), "set either api_key_env or api_key_credential, not both");
      p.api_key_credential = string(*cred, key("api_key_credential"));
      p.api_key = credential(p.api_key_credential, key("api_key_credential"));
    }
    // api_key_env, resolved now so a missing key stops the run before any work.
    const toml::node* env = t.get("api_key_env");
    if (p.api_key_credential.empty()) {
      if (!env) fail(key("api_key_env"), "required (the name of the environment variable holding the API key), "
                                 "or api_key_credential (a systemd credential's name)");
      p.api_key_env = string(*env, key("api_key_env"));
      const bool valid_name = !p.api_key_env.empty() && !std::isdigit(static_cast<unsigned char>(p.api_key_env[0])) &&
                              std::all_of(p.api_key_env.begin(), p.api_key_env.end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                              });
      if (!valid_name)
        fail(key("api_key_env"), "must be an environment variable name (letters, digits, '_'), got '" +
                                     p.api_key_env + "'");
      const std::optional<std::string> value = env_ ? env_(p.api_key_env) : std::nullopt;
      if (!value) fail(key("api_key_env"), "environment variable " + p.api_key_env + " is not set");
      p.api_key = api_key_value(*value, p.api_key_env, key("api_key_env"));
    }

    if (const toml::node* n = t.get("max_in_flight"))
      p.max_in_flight = static_cast<int>(integer(*n, key("max_in_flight"), 1, 1000));
    auto rate = [&](const char* k, double& out) {
      if (const toml::node* n = t.get(k)) {
        const double v = number(*n, key(k));
        // The floor (one request a day) keeps the scheduler's token bucket,
        // which refuses rates below one per 30 years, from throwing at run time.
        if (!(v >= kMinPerMinute) || v > 100000)
          fail(key(k), "must be a number of requests per minute in [" + fmt_number(kMinPerMinute) +
                           ", 100000] (got " + fmt_number(v) + ")");
        out = v;
      }
    };
    rate("submit_per_minute", p.submit_per_minute);
    rate("poll_per_minute", p.poll_per_minute);
    if (const toml::node* n = t.get("poll_first")) p.poll_first = duration(*n, key("poll_first"));
    if (const toml::node* n = t.get("poll_interval")) p.poll_interval = duration(*n, key("poll_interval"));
    if (const toml::node* n = t.get("poll_max_interval")) p.poll_max_interval = duration(*n, key("poll_max_interval"));
    if (p.poll_interval && p.poll_max_interval && *p.poll_max_interval < *p.poll_interval)
      fail(key("poll_max_interval"), "must be at least poll_interval (" + fmt_ms(*p.poll_interval) + "), got " +
                                         fmt_ms(*p.poll_max_interval));
    if (const toml::node* n = t.get("request_timeout")) p.request_timeout = duration(*n, key("request_timeout"));
    if (const toml::node* n = t.get("url_ttl")) {
      const auto d = duration(*n, key("url_ttl"));
      if (d < std::chrono::seconds(1)) fail(key("url_ttl"), "must be at least 1s (got " + fmt_ms(d) + ")");
      p.url_ttl = std::chrono::duration_cast<std::chrono::seconds>(d);
    }
    if (const toml::node* n = t.get("max_attempts"))
      p.max_attempts = static_cast<int>(integer(*n, key("max_attempts"), 1, 20));
    if (const toml::node* n = t.get("credit_cap")) {
      const double v = number(*n, key("credit_cap"));
      if (v < 0) fail(key("credit_cap"), "must be a number >= 0 (got " + fmt_number(v) + ")");
      p.credit_cap = v;
    }
    if (const toml::node* n = t.get("defaults")) p.defaults = defaults(*n, key("defaults"));
    submit_safety(t, p, key);
    p.network = network_keys(t, prefix, base_, network_);
    prices_and_caps(t, p, key);
    return p;
  }

  // Issue 11: proxy, ca_file, ca_dir, ca_only of table `t` (named `prefix`),
  // each absent key taken from `inherited`. Paths resolve against `base`.
  NetworkConfig network_keys(const toml::table& t, const std::string& prefix, const fs::path& base,
                             NetworkConfig inherited) {
    auto key = [&](std::string_view k) { return join(prefix, k); };
    if (const toml::node* n = t.get("proxy")) inherited.proxy = proxy_url(*n, key("proxy"));
    if (const toml::node* n = t.get("ca_file")) {
      inherited.ca_file = resolve(base, path_string(*n, key("ca_file")));
      std::error_code ec;
      if (!fs::is_regular_file(inherited.ca_file, ec))
        fail(key("ca_file"), "must name a readable PEM file (" + inherited.ca_file.string() + " is not a file)");
    }
    if (const toml::node* n = t.get("ca_dir")) {
      inherited.ca_dir = resolve(base, path_string(*n, key("ca_dir")));
      std::error_code ec;
      if (!fs::is_directory(inherited.ca_dir, ec))
        fail(key("ca_dir"), "must name a folder of hashed CA certificates (" + inherited.ca_dir.string() +
                                " is not a folder)");
    }
    if (const toml::node* n = t.get("ca_only")) inherited.ca_only = boolean(*n, key("ca_only"));
    if (inherited.ca_only && inherited.ca_file.empty() && inherited.ca_dir.empty())
      fail(key("ca_only"), "true needs ca_file or ca_dir (otherwise no server could be trusted)");
    return inherited;
  }

  // A proxy URL: "" (no proxy), or http://[user:password@]host[:port][/].
  // The message never repeats a password.
  std::string proxy_url(const toml::node& n, const std::string& key) const {
    const std::string s = string(n, key);
    if (s.empty()) return s;
    std::string shown = s;
    if (const auto at = s.rfind('@'); at != std::string::npos) {
      const auto scheme = s.find("://");
      shown = (scheme == std::string::npos || scheme > at ? std::string() : s.substr(0, scheme + 3)) + "***" +
              s.substr(at);
    }
    if (to_lower(s).rfind("http://", 0) != 0)
      fail(key, "must be an http:// proxy URL such as \"http://proxy.example:3128\" (got '" + shown + "')");
    const auto parsed = boost::urls::parse_absolute_uri(s);
    if (!parsed || parsed->encoded_host().empty() || !parsed->encoded_query().empty() ||
        !parsed->encoded_fragment().empty() || (parsed->encoded_path() != "" && parsed->encoded_path() != "/"))
      fail(key, "is not a proxy URL of the form http://[user:password@]host:port (got '" + shown + "')");
    if (parsed->has_port()) {
      const std::string port(parsed->port());
      if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
            return c >= '0' && c <= '9';
          }) || std::stoul(port) == 0 || std::stoul(port) > 65535)
        fail(key, "port must be 1..65535 (got '" + shown + "')");
    }
    return s;
  }

  // Issue 9: credit_unit, daily_credit_cap, [prices].
  template <class Key>
  void prices_and_caps(const toml::table& t, ProfileConfig& p, const Key& key) {
    if (const toml::node* n = t.get("credit_unit")) {
      p.credit_unit = nonempty_string(*n, key("credit_unit"));
      if (p.credit_unit.size() > 40) fail(key("credit_unit"), "at most 40 characters");
    }
    if (const toml::node* n = t.get("daily_credit_cap")) {
      const double v = number(*n, key("daily_credit_cap"));
      if (v < 0) fail(key("daily_credit_cap"), "must be a number >= 0 (got " + fmt_number(v) + ")");
      p.daily_credit_cap = v;
    }
    const toml::node* pn = t.get("prices");
    if (!pn) return;
    const std::string prefix = key("prices");
    const toml::table& pt = table(*pn, prefix);
    check_keys(pt, prefix, {"per_second", "per_clip"});
    for (const char* kind : {"per_clip", "per_second"}) {
      const toml::node* kn = pt.get(kind);
      if (!kn) continue;
      const std::string kprefix = prefix + "." + kind;
      const bool per_second = std::string_view(kind) == "per_second";
      for (const auto& [k, v] : table(*kn, kprefix)) {
        const std::string name(k.str());
        const std::string where = kprefix + ".\"" + name + "\"";
        std::vector<std::string> parts;
        for (std::size_t b = 0;;) {
          const auto e = name.find('/', b);
          parts.push_back(name.substr(b, e == std::string::npos ? std::string::npos : e - b));
          if (e == std::string::npos) break;
          b = e + 1;
        }
        const std::size_t want = per_second ? 2 : 3;
        if (parts.size() != want || std::any_of(parts.begin(), parts.end(), [](const auto& s) { return s.empty(); }))
          fail(where, per_second ? "key must be \"<model>/<resolution>\" (\"*\" matches any), e.g. \"seedance-2.0/720p\""
                                 : "key must be \"<model>/<resolution>/<seconds>\" (\"*\" matches any), e.g. "
                                   "\"sora-2/720p/4\"");
        PriceRule r;
        r.key = name;
        r.per_second = per_second;
        r.model = parts[0];
        r.resolution = normalize_price_resolution(parts[1]);
        if (!per_second && parts[2] != "*") {
          std::string d = parts[2];
          if (d.back() == 's') d.pop_back();
          if (d.empty() || d.size() > 5 || !std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
              std::stoi(d) <= 0)
            fail(where, "the duration must be a whole number of seconds > 0 or \"*\" (got '" + parts[2] + "')");
          r.duration_s = std::stoi(d);
        }
        const double c = number(v, where);
        if (!(c >= 0) || c > 1e9) fail(where, "must be a number of credits in [0, 1e9] (got " + fmt_number(c) + ")");
        r.credits = c;
        p.prices.push_back(std::move(r));
      }
    }
  }

  // Issue 7 (submit side): max_submits_per_row, on_remote_failure.
  template <class Key>
  void submit_safety(const toml::table& t, ProfileConfig& p, const Key& key) {
    if (const toml::node* n = t.get("max_submits_per_row"))
      p.max_submits_per_row = static_cast<int>(integer(*n, key("max_submits_per_row"), 1, 20));
    if (const toml::node* n = t.get("on_remote_failure")) {
      const std::string v = string(*n, key("on_remote_failure"));
      if (v != "fail" && v != "resubmit")
        fail(key("on_remote_failure"), "must be \"fail\" or \"resubmit\" (got \"" + v + "\")");
      p.on_remote_failure = v;
    }
  }

  JobDefaults defaults(const toml::node& node, const std::string& prefix) {
    const toml::table& t = table(node, prefix);
    check_keys(t, prefix, {"model", "duration", "resolution", "aspect_ratio", "audio"});
    JobDefaults d;
    auto key = [&](std::string_view k) { return prefix + "." + std::string(k); };
    if (const toml::node* n = t.get("model")) d.model = nonempty_string(*n, key("model"));
    if (const toml::node* n = t.get("duration")) {
      const std::string why = "must be a positive whole number of seconds, e.g. 8 or \"8s\"";
      std::int64_t s = 0;
      if (n->is_integer()) {
        s = n->as_integer()->get();
      } else if (n->is_string()) {
        std::string v = n->as_string()->get();
        if (!v.empty() && (v.back() == 's' || v.back() == 'S')) v.pop_back();
        if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
          fail(key("duration"), why + " (got '" + n->as_string()->get() + "')");
        s = std::stoll(v);
      } else {
        wrong_type(*n, key("duration"), "an integer number of seconds");
      }
      if (s < 1 || s > 86400) fail(key("duration"), why + " (got " + std::to_string(s) + ")");
      d.duration_s = static_cast<int>(s);
    }
    if (const toml::node* n = t.get("resolution")) {
      if (n->is_integer())
        d.resolution = std::to_string(n->as_integer()->get());
      else if (n->is_string())
        d.resolution = nonempty_string(*n, key("resolution"));
      else
        wrong_type(*n, key("resolution"), "a string such as \"720p\"");
    }
    if (const toml::node* n = t.get("aspect_ratio")) {
      const std::string s = nonempty_string(*n, key("aspect_ratio"));
      const auto colon = s.find(':');
      auto positive = [](std::string_view part) {
        return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
               part.find_first_not_of('0') != std::string_view::npos;
      };
      const std::string w = to_lower(s);
      const bool ratio = colon != std::string::npos && positive(std::string_view(s).substr(0, colon)) &&
                         positive(std::string_view(s).substr(colon + 1));
      const bool word = colon == std::string::npos && std::isalpha(static_cast<unsigned char>(w[0])) &&
                        std::all_of(w.begin(), w.end(), [](char c) {
                          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                        });
      if (!ratio && !word)
        fail(key("aspect_ratio"), "expected W:H with positive integers (e.g. \"16:9\") or a word like \"adaptive\" (got '" +
                                      s + "')");
      d.aspect_ratio = ratio ? s : w;
    }
    if (const toml::node* n = t.get("audio")) d.audio = boolean(*n, key("audio"));
    return d;
  }

  fs::path source_;
  std::string file_;
  const std::vector<std::string>& kinds_;
  const EnvLookup& env_;
};

}  // namespace

const ProfileConfig* Config::profile(const std::string& name) const {
  auto it = profiles.find(name);
  return it == profiles.end() ? nullptr : &it->second;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::string normalize_price_resolution(std::string_view text) {
  std::string r;
  for (char c : text)
    if (c != ' ' && c != '\t') r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r.size() > 1 && r.back() == 'p') r.pop_back();
  return r;
}

std::optional<milliseconds> parse_duration(std::string_view text) {
  auto is_ws = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && is_ws(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ws(text.back())) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    // <digits>[.<digits>]
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    }
    const std::string num(text.substr(start, i - start));
    if (num.empty() || num == "." || num.size() > 30) return std::nullopt;
    const double value = std::strtod(num.c_str(), nullptr);
    while (i < text.size() && is_ws(text[i])) ++i;
    std::size_t u = i;
    while (u < text.size() && std::isalpha(static_cast<unsigned char>(text[u]))) ++u;
    const std::string unit = to_lower(text.substr(i, u - i));
    i = u;
    double scale = 0;
    if (unit.empty()) {
      // A bare number means seconds, and only on its own.
      if (any || i != text.size()) return std::nullopt;
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else {
      return std::nullopt;
    }
    total_ms += value * scale;
    any = true;
    while (i < text.size() && is_ws(text[i])) ++i;
  }
  if (!std::isfinite(total_ms) || total_ms > 9.0e15) return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
}

Config parse_config_for_kinds(std::string_view toml_text, const fs::path& source,
                              const std::vector<std::string>& kinds, const EnvLookup& env) {
  const std::string file = source.string();
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(toml_text, file);
  } catch (const toml::parse_error& e) {
    throw ConfigError(file + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": TOML syntax error: " + std::string(e.description()));
  }
#else
  toml::parse_result result = toml::parse(toml_text, file);
  if (!result) {
    const auto& e = result.error();
    throw ConfigError(file + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": TOML syntax error: " + std::string(e.description()));
  }
  toml::table root = std::move(result).table();
#endif
  return Loader(source, kinds, env).load(root);
}

Config load_config_for_kinds(const fs::path& file, const std::vector<std::string>& kinds, const EnvLookup& env) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw ConfigError(file.string() + ": cannot read config: is a directory");
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw ConfigError(file.string() + ": cannot read config: " +
                      (errno ? std::strerror(errno) : "cannot open file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string() + ": cannot read config: read error");
  return parse_config_for_kinds(ss.str(), file, kinds, env);
}

}  // namespace reelbatch
