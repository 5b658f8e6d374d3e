#include "src/ingest/asset_lists.hpp"

#include "providers/kit/util.hpp"
#include "src/ingest/manifest_text.hpp"

#include <algorithm>

#include <string>
#include <utility>

namespace reelbatch {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// (name, or empty for a bare location; location), in list order.
using Items = std::vector<std::pair<std::string, std::string>>;

// Reads the items of one list and reports their problems. Each reader
// returns false when an item was bad (its errors are in `errors`).
class ItemReader {
 public:
  ItemReader(const std::string& field, std::vector<FieldError>& errors) : field_(field), errors_(errors) {}

  void error(std::string reason) { errors_.push_back(FieldError{field_, std::move(reason)}); }

  // CSV: "name=location;location;...".
  bool from_text(std::string_view all, Items& items) {
    bool ok = true;
    std::size_t start = 0;
    while (start <= all.size()) {
      std::size_t end = all.find(';', start);
      if (end == std::string_view::npos) end = all.size();
      const std::string_view item = trim(all.substr(start, end - start));
      start = end + 1;
      if (item.empty()) continue;
      const auto eq = item.find('=');
      const bool bare = eq == std::string_view::npos || istarts_with(item, "http://") ||
                        istarts_with(item, "https://") ||
                        item.substr(0, eq).find_first_of("/\\") != std::string_view::npos;
      if (bare) {
        items.emplace_back(std::string(), std::string(item));
        continue;
      }
      const std::string_view name = trim(item.substr(0, eq));
      if (name.empty()) {
        error("item " + std::to_string(items.size() + 1) + " ('" + std::string(item) + "') has an empty name");
        ok = false;
        items.emplace_back(std::string(), std::string());
        continue;
      }
      items.emplace_back(std::string(name), std::string(trim(item.substr(eq + 1))));
    }
    return ok;
  }

  // JSONL: [ "location", {"name": ..., "path"|"url": ...}, ... ].
  bool from_array(const json::array& a, Items& items) {
    bool ok = true;
    for (const auto& e : a) {
      const std::string pos = "item " + std::to_string(items.size() + 1);
      if (e.is_string()) {
        items.emplace_back(std::string(), std::string(trim(e.get_string())));
      } else if (e.is_object()) {
        if (!from_item_object(pos, e.get_object(), items)) ok = false;
      } else {
        error(pos + ": expected a string or a {\"name\", \"path\"|\"url\"} object, got " + kind_name(e));
        ok = false;
        items.emplace_back(std::string(), std::string());
      }
    }
    return ok;
  }

  // JSONL: {name: location, ...}.
  bool from_object(const json::object& o, Items& items) {
    bool ok = true;
    for (const auto& kv : o) {
      if (!kv.value().is_string()) {
        error("'" + std::string(kv.key()) + "': location must be a string");
        ok = false;
        continue;
      }
      const std::string name(trim(kv.key()));
      if (name.empty()) {
        error("an asset has an empty name");
        ok = false;
        continue;
      }
      items.emplace_back(name, std::string(trim(kv.value().get_string())));
    }
    return ok;
  }

 private:
  // One {"name", "path"|"url"} item; `pos` is "item N".
  bool from_item_object(const std::string& pos, const json::object& o, Items& items) {
    std::string name, loc;
    int locs = 0;
    bool item_bad = false;
    for (const auto& kv : o) {
      const std::string key(kv.key());
      if (key != "name" && key != "path" && key != "url") {
        error(pos + ": unknown key '" + key + "' (expected name and path or url)");
        item_bad = true;
        continue;
      }
      if (!kv.value().is_string()) {
        error(pos + ": '" + key + "' must be a string");
        item_bad = true;
        continue;
      }
      const std::string val(trim(kv.value().get_string()));
      if (key == "name") {
        name = val;
      } else {
        ++locs;
        loc = val;
        if (key == "url" && !istarts_with(val, "http://") && !istarts_with(val, "https://")) {
          error(pos + ": url must start with http:// or https:// (got '" + val + "')");
          item_bad = true;
        }
      }
    }
    if (locs != 1 && !item_bad) {
      error(pos + ": needs exactly one of 'path' or 'url'");
      item_bad = true;
    }
    items.emplace_back(name, item_bad ? std::string() : loc);
    return !item_bad;
  }

  const std::string& field_;
  std::vector<FieldError>& errors_;
};

const char* file_type_name(fs::file_type t) {
  switch (t) {
    case fs::file_type::directory: return "a folder";
    case fs::file_type::fifo: return "a FIFO (named pipe)";
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    case fs::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

// True when the canonical `p` is `root` or lies below it (both canonical).
bool is_within(const fs::path& p, const fs::path& root) {
  auto pi = p.begin();
  for (auto ri = root.begin(); ri != root.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

std::string hex_head(std::string_view head) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < head.size() && i < 8; ++i) {
    if (i) out += ' ';
    out += digits[static_cast<unsigned char>(head[i]) >> 4];
    out += digits[static_cast<unsigned char>(head[i]) & 15];
  }
  return out.empty() ? "an empty file" : "first bytes " + out;
}

// The canonical path of a local asset after the checks normalize_assets()
// documents; nullopt after reporting the problem. `shown` is the lexically
// normal path as the manifest names it.
std::optional<std::string> check_local_file(ItemReader& r, const AssetListKind& kind, const fs::path& shown,
                                            const std::vector<fs::path>& allowed_roots) {
  std::error_code ec;
  const fs::path canon = fs::canonical(shown, ec);
  if (ec) {
    r.error("cannot resolve " + shown.string() + ": " + ec.message());
    return std::nullopt;
  }
  const std::string via = canon == shown ? shown.string() : shown.string() + " (resolves to " + canon.string() + ")";
  const auto st = fs::status(canon, ec);
  if (ec) {
    r.error("cannot stat " + via + ": " + ec.message());
    return std::nullopt;
  }
  if (st.type() != fs::file_type::regular) {
    r.error("not a regular file: " + via + " is " + file_type_name(st.type()));
    return std::nullopt;
  }
  if (!allowed_roots.empty() &&
      std::none_of(allowed_roots.begin(), allowed_roots.end(), [&](const fs::path& root) { return is_within(canon, root); })) {
    std::string roots;
    for (const auto& root : allowed_roots) roots += (roots.empty() ? "" : ", ") + root.string();
    r.error(via + " is outside the allowed roots (" + roots + "; config [ingest] allowed_roots)");
    return std::nullopt;
  }
  std::string head, why;
  if (!kit::read_file_head(canon, head, why)) {
    r.error(why);
    return std::nullopt;
  }
  const auto sniffed = kit::sniff_content_type(head);
  const std::string want = std::string(kind.field).substr(0, std::string(kind.field).size() - 1);  // "image"
  if (!sniffed) {
    r.error(via + ": content is not a recognised " + want + " file (" + hex_head(head) + ")");
    return std::nullopt;
  }
  const auto claimed = kit::media_type_for_extension(canon);
  if (claimed && !kit::media_types_agree(*claimed, *sniffed)) {
    r.error(via + ": the extension " + canon.extension().string() + " says " + *claimed + " but the content is " +
            *sniffed);
    return std::nullopt;
  }
  const std::string& effective = claimed ? *claimed : *sniffed;
  if (!effective.starts_with(want + "/") && !(claimed && sniffed->starts_with(want + "/"))) {
    r.error(via + ": " + kind.field + " takes " + want + " files, this is " + effective);
    return std::nullopt;
  }
  return canon.string();
}

// A URL (scheme lowercased) or an absolute, canonical local path to a
// checked regular file; nullopt after reporting the problem.
std::optional<std::string> resolve_location(ItemReader& r, const AssetListKind& kind, const std::string& loc,
                                            const fs::path& base_dir, const std::vector<fs::path>& allowed_roots) {
  if (int c = first_control(loc); c >= 0) {
    r.error("'" + loc + "': " + control_reason(c));
    return std::nullopt;
  }
  for (std::string_view scheme : {"http://", "https://"}) {
    if (istarts_with(loc, scheme)) {
      if (loc.size() == scheme.size()) {
        r.error("URL has no host: '" + loc + "'");
        return std::nullopt;
      }
      if (loc.find(' ') != std::string::npos) {
        r.error("URL contains a space (percent-encode it as %20): '" + loc + "'");
        return std::nullopt;
      }
      return std::string(scheme) + loc.substr(scheme.size());
    }
  }
  fs::path p(loc);
  if (p.is_relative()) p = base_dir / p;
  std::error_code ec;
  if (p.is_relative()) {
    p = fs::absolute(p, ec);
    if (ec) {
      r.error("cannot resolve '" + loc + "': " + ec.message());
      return std::nullopt;
    }
  }
  p = p.lexically_normal();
  const auto st = fs::status(p, ec);
  if (!fs::exists(st)) {
    r.error("file not found: " + p.string());
    return std::nullopt;
  }
  return check_local_file(r, kind, p, allowed_roots);
}

}  // namespace

const std::vector<AssetListKind>& asset_list_kinds() {
  static const std::vector<AssetListKind> k = {{"images", "Image", &JobSpec::images},
                                               {"videos", "Video", &JobSpec::videos},
                                               {"audios", "Audio", &JobSpec::audios}};
  return k;
}

const AssetListKind* find_asset_list(std::string_view field) {
  for (const auto& k : asset_list_kinds())
    if (field == k.field) return &k;
  return nullptr;
}

std::optional<std::vector<AssetRef>> normalize_assets(const AssetListKind& kind, const json::value& v,
                                                      const fs::path& base_dir,
                                                      const std::vector<fs::path>& allowed_roots,
                                                      std::vector<FieldError>& errors) {
  const std::string field = kind.field;
  ItemReader r(field, errors);
  Items items;
  bool ok = false;
  if (v.is_string()) {
    if (!valid_utf8(v.get_string())) {
      r.error("not valid UTF-8 (save the manifest as UTF-8)");
      return std::nullopt;
    }
    ok = r.from_text(v.get_string(), items);
  } else if (v.is_array()) {
    ok = r.from_array(v.get_array(), items);
  } else if (v.is_object()) {
    ok = r.from_object(v.get_object(), items);
  } else {
    r.error(std::string("expected a list of assets, got ") + kind_name(v));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;

  std::vector<AssetRef> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& [name, loc] = items[i];
    if (name.empty()) name = std::string(kind.bare_prefix) + " " + std::to_string(i + 1);
    if (int c = first_control(name); c >= 0) {
      r.error("name '" + name + "': " + control_reason(c));
      ok = false;
      continue;
    }
    if (loc.empty()) {
      r.error("'" + name + "' has an empty location");
      ok = false;
      continue;
    }
    if (auto resolved = resolve_location(r, kind, loc, base_dir, allowed_roots))
      out.push_back(AssetRef{name, std::move(*resolved)});
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace reelbatch
