#include "config/watch_config.hpp"

#include "src/core/text.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

namespace reelbatch {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr std::array<std::string_view, 6> kKeys{"path", "profile", "pattern", "settle", "recursive", "max_credits"};
constexpr milliseconds kMaxSettle{24LL * 3600 * 1000};

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

// True when `inner` is `outer` or lies below it (both lexically normal, absolute).
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

class WatchLoader {
 public:
  WatchLoader(const Config& cfg, const fs::path& base) : cfg_(cfg), file_(cfg.source.string()), base_(base) {}

  std::vector<WatchConfig> load(const toml::node* node) {
    std::vector<WatchConfig> out;
    if (!node) return out;
    const toml::array* arr = node->as_array();
    if (!arr || !arr->is_array_of_tables())
      fail("watch", "expected an array of tables: write each folder as a [[watch]] table");
    for (std::size_t i = 0; i < arr->size(); ++i) out.push_back(folder(*arr->get(i)->as_table(), i));
    check_overlaps(out);
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
    throw ConfigError(file_ + ": " + key + ": " + reason);
  }

  WatchConfig folder(const toml::table& t, std::size_t index) {
    const std::string prefix = "watch[" + std::to_string(index) + "]";
    auto key = [&](std::string_view k) { return prefix + "." + std::string(k); };
    for (auto&& [k, v] : t) {
      const std::string_view name = k.str();
      if (std::find(kKeys.begin(), kKeys.end(), name) != kKeys.end()) continue;
      std::string reason = "unknown key";
      for (std::string_view a : kKeys)
        if (edit_distance(to_lower(name), a) < 3) {
          reason += " (did you mean '" + std::string(a) + "'?)";
          break;
        }
      reason += "; known keys:";
      for (std::string_view a : kKeys) reason += " " + std::string(a);
      fail(key(name), reason);
    }

    WatchConfig w;
    const toml::node* path = t.get("path");
    if (!path) fail(key("path"), "required (the folder to watch)");
    const std::string p = text(*path, key("path"));
    if (p.find('\0') != std::string::npos) fail(key("path"), "contains a NUL character");
    w.path = (base_ / fs::path(p)).lexically_normal();
    if (!w.path.has_filename() && w.path != w.path.root_path()) w.path = w.path.parent_path();

    if (const toml::node* n = t.get("profile")) {
      w.profile = text(*n, key("profile"));
      if (!cfg_.profile(w.profile)) fail(key("profile"), "no profile named '" + w.profile + "' (known: " + profiles() + ")");
    } else if (cfg_.profiles.size() == 1) {
      w.profile = cfg_.profiles.begin()->first;
    } else {
      fail(key("profile"), "required when several profiles are configured (known: " + profiles() + ")");
    }

    if (const toml::node* n = t.get("pattern")) {
      if (!n->is_string()) fail(key("pattern"), "expected a string such as \"*.csv\" or \"*.csv,*.jsonl\"");
      const std::string& s = n->as_string()->get();
      std::string canonical;
      std::size_t start = 0;
      for (;;) {
        const std::size_t comma = s.find(',', start);
        const std::string glob = trim(std::string_view(s).substr(start, comma == std::string::npos ? std::string::npos
                                                                                                    : comma - start));
        if (glob.empty()) fail(key("pattern"), "has an empty glob (got '" + s + "')");
        if (glob.find('/') != std::string::npos)
          fail(key("pattern"), "globs match file names and must not contain '/' (got '" + glob + "')");
        canonical += (canonical.empty() ? "" : ",") + glob;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      w.pattern = canonical;
    }

    if (const toml::node* n = t.get("settle")) w.settle = settle(*n, key("settle"));
    if (const toml::node* n = t.get("recursive")) {
      if (!n->is_boolean()) fail(key("recursive"), "expected a boolean (true or false)");
      w.recursive = n->as_boolean()->get();
    }
    if (const toml::node* n = t.get("max_credits")) {
      // issue 9 item 3: the per-batch cap of every batch from this folder.
      const auto v = n->value<double>();
      if (!v || !(*v >= 0)) fail(key("max_credits"), "must be a number of credits >= 0");
      w.max_credits = *v;
    }
    return w;
  }

  std::string text(const toml::node& n, const std::string& key) const {
    if (!n.is_string()) fail(key, "expected a string");
    const std::string& s = n.as_string()->get();
    if (trim(s).empty()) fail(key, "must not be empty");
    return s;
  }

  milliseconds settle(const toml::node& n, const std::string& key) const {
    std::optional<milliseconds> d;
    if (n.is_integer()) {
      d = milliseconds(n.as_integer()->get() * 1000);
    } else if (n.is_floating_point()) {
      const double s = n.as_floating_point()->get();
      if (std::isfinite(s) && std::abs(s) < 1e9) d = milliseconds(std::llround(s * 1000));
    } else if (n.is_string()) {
      d = parse_duration(n.as_string()->get());
    } else {
      fail(key, "expected a duration (a number of seconds, or a string such as \"5s\")");
    }
    if (!d) fail(key, "expected a duration such as 500ms, 5s or 1m, or a number of seconds");
    if (d->count() <= 0 || *d > kMaxSettle) fail(key, "must be greater than 0 and at most 1 day");
    return *d;
  }

  std::string profiles() const {
    std::string s;
    for (const auto& [name, p] : cfg_.profiles) s += (s.empty() ? "" : ", ") + name;
    return s;
  }

  void check_overlaps(const std::vector<WatchConfig>& w) const {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string key = "watch[" + std::to_string(i) + "].path";
      for (std::size_t j = 0; j < i; ++j) {
        if (w[i].path == w[j].path)
          fail(key, "'" + w[i].path.string() + "' is already watched by watch[" + std::to_string(j) + "]");
        const bool i_in_j = is_within(w[i].path, w[j].path), j_in_i = is_within(w[j].path, w[i].path);
        const WatchConfig* outer = i_in_j ? &w[j] : j_in_i ? &w[i] : nullptr;
        const WatchConfig* inner = i_in_j ? &w[i] : &w[j];
        if (!outer) continue;
        const auto below = inner->path.lexically_relative(outer->path).begin()->string();
        if (outer->recursive || below == "processing" || below == "done" || below == "failed")
          fail(key, "'" + w[i].path.string() + "' and watch[" + std::to_string(j) + "] ('" + w[j].path.string() +
                        "') are nested inside a recursive folder or its processing/done/failed folder: "
                        "a file would belong to both");
      }
      if (is_within(cfg_.output_dir, w[i].path) && (w[i].recursive || cfg_.output_dir == w[i].path))
        fail(key, "the output folder '" + cfg_.output_dir.string() +
                      "' is inside this watch folder: its results.jsonl would be taken as a manifest");
    }
  }

  const Config& cfg_;
  std::string file_;
  fs::path base_;
};

}  // namespace

std::vector<WatchConfig> parse_watch_tables(const toml::node* node, const Config& cfg, const fs::path& base) {
  return WatchLoader(cfg, base).load(node);
}

}  // namespace reelbatch
