// JobSpec <-> canonical JSON, and the output file stem.
//
// The canonical JSON is what the content hash, the database and the sidecar
// are built from, so its shape is fixed: every key always present, in the
// order id, provider, model, prompt, duration, resolution, aspect_ratio,
// audio, seed, images, videos, audios, priority, output, params; unset
// optionals are null; assets are arrays of {"name", "location"}; the keys of
// `params` (and of objects nested in it) are sorted bytewise so that the same
// extras written in a different order give the same JSON.
#include "src/core/job_spec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace reelbatch {
namespace json = boost::json;

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// A copy of `v` whose objects (at every depth) have their keys sorted.
json::value sorted_copy(const json::value& v) {
  if (v.is_object()) {
    const auto& in = v.get_object();
    std::vector<std::pair<std::string_view, const json::value*>> items;
    items.reserve(in.size());
    for (const auto& kv : in) items.emplace_back(kv.key(), &kv.value());
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    json::object out;
    out.reserve(items.size());
    for (const auto& [k, pv] : items) out.emplace(k, sorted_copy(*pv));
    return out;
  }
  if (v.is_array()) {
    json::array out;
    out.reserve(v.get_array().size());
    for (const auto& e : v.get_array()) out.push_back(sorted_copy(e));
    return out;
  }
  return v;
}

json::array assets_to_json(const std::vector<AssetRef>& assets) {
  json::array out;
  out.reserve(assets.size());
  for (const auto& a : assets) out.push_back(json::object{{"name", a.name}, {"location", a.location}});
  return out;
}

[[noreturn]] void malformed(std::string_view key, std::string_view what) {
  throw std::invalid_argument("job spec JSON: " + std::string(key) + ": " + std::string(what));
}

const json::value* find(const json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->value();
}

std::string get_string(const json::object& obj, std::string_view key) {
  const json::value* v = find(obj, key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) malformed(key, "expected a string");
  return std::string(v->get_string());
}

// An integer that fits in [lo, hi]; nullopt when absent or null.
std::optional<std::int64_t> get_int(const json::object& obj, std::string_view key, std::int64_t lo,
                                    std::int64_t hi) {
  const json::value* v = find(obj, key);
  if (!v || v->is_null()) return std::nullopt;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(hi)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    malformed(key, "expected an integer");
  }
  if (n < lo || n > hi) malformed(key, "integer out of range");
  return n;
}

std::vector<AssetRef> get_assets(const json::object& obj, std::string_view key) {
  const json::value* v = find(obj, key);
  std::vector<AssetRef> out;
  if (!v || v->is_null()) return out;
  if (!v->is_array()) malformed(key, "expected an array");
  for (const auto& e : v->get_array()) {
    if (!e.is_object()) malformed(key, "expected an array of {name, location} objects");
    const auto& a = e.get_object();
    const json::value* name = find(a, "name");
    const json::value* loc = find(a, "location");
    if (!name || !name->is_string() || !loc || !loc->is_string())
      malformed(key, "expected an array of {name, location} objects with string values");
    out.push_back(AssetRef{std::string(name->get_string()), std::string(loc->get_string())});
  }
  return out;
}

}  // namespace

bool AssetRef::is_url() const {
  return starts_with(location, "http://") || starts_with(location, "https://");
}

json::object to_json(const JobSpec& spec) {
  json::object o;
  o.reserve(15);
  o.emplace("id", spec.id);
  o.emplace("provider", spec.provider);
  o.emplace("model", spec.model);
  o.emplace("prompt", spec.prompt);
  o.emplace("duration", spec.duration_s ? json::value(*spec.duration_s) : json::value(nullptr));
  o.emplace("resolution", spec.resolution);
  o.emplace("aspect_ratio", spec.aspect_ratio);
  o.emplace("audio", spec.audio ? json::value(*spec.audio) : json::value(nullptr));
  o.emplace("seed", spec.seed ? json::value(*spec.seed) : json::value(nullptr));
  o.emplace("images", assets_to_json(spec.images));
  o.emplace("videos", assets_to_json(spec.videos));
  o.emplace("audios", assets_to_json(spec.audios));
  o.emplace("priority", spec.priority);
  o.emplace("output", spec.output);
  o.emplace("params", sorted_copy(json::value(spec.params)));
  return o;
}

JobSpec job_spec_from_json(const json::object& obj) {
  JobSpec s;
  s.id = get_string(obj, "id");
  s.provider = get_string(obj, "provider");
  s.model = get_string(obj, "model");
  s.prompt = get_string(obj, "prompt");
  if (auto d = get_int(obj, "duration", 1, std::numeric_limits<int>::max())) s.duration_s = static_cast<int>(*d);
  s.resolution = get_string(obj, "resolution");
  s.aspect_ratio = get_string(obj, "aspect_ratio");
  if (const json::value* a = find(obj, "audio"); a && !a->is_null()) {
    if (!a->is_bool()) malformed("audio", "expected a boolean");
    s.audio = a->get_bool();
  }
  s.seed = get_int(obj, "seed", std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
  s.images = get_assets(obj, "images");
  s.videos = get_assets(obj, "videos");
  s.audios = get_assets(obj, "audios");
  if (auto p = get_int(obj, "priority", std::numeric_limits<int>::min(), std::numeric_limits<int>::max()))
    s.priority = static_cast<int>(*p);
  s.output = get_string(obj, "output");
  if (const json::value* p = find(obj, "params"); p && !p->is_null()) {
    if (!p->is_object()) malformed("params", "expected an object");
    s.params = p->get_object();
  }
  return s;
}

std::string output_stem(const JobSpec& spec) {
  std::string stem = spec.output.empty() ? spec.id : spec.output;
  for (char& c : stem) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) c = '_';
  }
  // "." and ".." would name a folder, not a file.
  if (stem.empty() || stem == "." || stem == "..") stem = std::string(stem.size() + 1, '_');
  return stem;
}

}  // namespace reelbatch
