// The turing adapter: request building, response parsing, error
// classification and validation as pure functions (tested without sockets
// in tests/turing_adapter_test.cpp), and a thin coroutine class that only
// performs the HTTP exchanges. See turing.hpp for the interpretations.
#include "providers/turing/turing.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <set>
#include <system_error>

#include "providers/kit/adapter_base.hpp"
#include "providers/kit/util.hpp"
#include "src/core/sha256.hpp"
#include "src/core/text.hpp"

namespace reelbatch::turing {
using namespace kit::adapter_names;

namespace {

// turing's error messages quote bodies as they are (no URL elision).
std::string excerpt(std::string_view body) { return kit::excerpt(body, 200, /*elide_urls=*/false); }

// A URL for a message: its query (signatures) elided, data URIs shortened.
std::string show_location(std::string_view loc) {
  if (loc.starts_with("data:")) return std::string(loc.substr(0, std::min<std::size_t>(loc.size(), 24))) + "…";
  const auto q = loc.find('?');
  return q == std::string_view::npos ? std::string(loc) : std::string(loc.substr(0, q)) + "?…";
}

bool is_https(std::string_view s) { return to_lower(s.substr(0, 8)) == "https://"; }

// ---- error construction ---------------------------------------------------------------


// An answer we cannot use. For a submit the task may exist.
ProviderError bad_response(int http_status, const std::string& what, const std::string& profile, bool is_submit) {
  return kit::bad_response(http_status, what, profile, is_submit,
                               "; the task may exist, and turing has no task list to check: held for a decision",
                               "; will retry");
}

// The error fields of a non-2xx body, whatever its shape.
struct ErrorInfo {
  std::string code, type, message;
};

ErrorInfo error_info(std::string_view body) {
  ErrorInfo info;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o) {
    info.message = excerpt(body);
    return info;
  }
  auto text = [](const json::value* x) -> std::string {
    if (!x || x->is_null()) return {};
    if (const auto* s = x->if_string()) return std::string(s->data(), s->size());
    if (x->is_number()) return json::serialize(*x);
    return {};
  };
  if (const json::value* err = o->if_contains("error")) {
    if (const json::object* eo = err->if_object()) {
      info.code = text(eo->if_contains("code"));
      info.type = text(eo->if_contains("type"));
      info.message = text(eo->if_contains("message"));
    } else {
      info.message = text(err);
    }
  }
  if (info.message.empty()) info.message = text(o->if_contains("message"));
  if (info.message.empty()) info.message = text(o->if_contains("detail"));
  if (info.code.empty()) info.code = text(o->if_contains("code"));
  if (info.message.empty()) info.message = excerpt(body);
  return info;
}

// The 2xx body as an object, or the classified error.
Result<json::object, ProviderError> unwrap(int http_status, std::string_view body, const std::string& profile,
                                           std::optional<milliseconds> retry_after, bool is_submit) {
  if (!is_2xx(http_status)) {
    const ErrorInfo info = error_info(body);
    return fail(classify(http_status, info.code, info.type, info.message, profile, retry_after, is_submit));
  }
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object())
    return fail(bad_response(http_status,
                             body.empty() ? std::string("empty body") : "not a JSON object: " + excerpt(body), profile,
                             is_submit));
  return std::move(v.as_object());
}


constexpr std::array<std::string_view, 6> kSeedanceRatios{"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"};
constexpr std::array<int, 3> kVeoSeconds{4, 6, 8};
constexpr std::array<int, 4> kSeedanceDurations{4, 5, 6, 8};


// A params value as a multipart text field.
std::string field_text(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(s->data(), s->size());
  return json::serialize(v);
}

}  // namespace

// ---- model family ---------------------------------------------------------------------

std::optional<Family> family_of(std::string_view model) {
  const std::string m = to_lower(model);
  if (m.find("seedance") != std::string::npos) return Family::seedance;
  if (m.find("veo") != std::string::npos) return Family::veo;
  return std::nullopt;
}

// ---- validation ----------------------------------------------------------------------------

std::optional<std::string> image_content_type(const std::filesystem::path& p) {
  if (auto ct = kit::content_type_for(p); ct && kit::is_image_content_type(*ct)) return ct;
  const std::string ext = to_lower(p.extension().string());
  if (ext == ".gif") return "image/gif";
  if (ext == ".bmp") return "image/bmp";
  return std::nullopt;
}

std::optional<std::string> veo_size(std::string_view resolution, std::string_view aspect_ratio) {
  const std::string r = to_lower(trim(resolution));
  const std::string a(trim(aspect_ratio));
  std::string from_ratio;
  if (a == "16:9")
    from_ratio = "1280x720";
  else if (a == "9:16")
    from_ratio = "720x1280";
  else if (!a.empty())
    return std::nullopt;
  if (r.empty() || r == "720" || r == "720p") return from_ratio;
  if (r == "1280x720" || r == "720x1280") {
    if (!from_ratio.empty() && from_ratio != r) return std::nullopt;
    return r;
  }
  return std::nullopt;
}

std::optional<std::string> seedance_resolution(std::string_view resolution) {
  const std::string r = to_lower(trim(resolution));
  if (r == "480" || r == "480p") return "480p";
  if (r == "720" || r == "720p") return "720p";
  if (r == "1080" || r == "1080p") return "1080p";
  return std::nullopt;
}

std::vector<FieldError> validate(const JobSpec& spec) {
  std::vector<FieldError> errs;
  if (trim(spec.prompt).empty()) errs.push_back({"prompt", "turing requires a prompt (doc: prompt 必填)"});
  const auto family = family_of(spec.model);
  if (spec.model.empty()) {
    errs.push_back({"model",
                    "turing requires a model (doc: model 必填), e.g. turing/veo-3.1-generate or "
                    "doubao-seedance-2-0-260128"});
    return errs;
  }
  if (!family) {
    errs.push_back({"model",
                    "turing picks the Veo or Seedance parameter set by the model name, which must contain "
                    "'veo' or 'seedance' (got " +
                        spec.model + ")"});
    return errs;
  }

  // A local image: type by extension, size by stat when the file exists.
  auto check_local_image = [&](const AssetRef& a, const std::string& label) {
    if (!image_content_type(a.location)) {
      const std::string ext = std::filesystem::path(a.location).extension().string();
      errs.push_back({"images", label + ": turing accepts images only (.png, .jpg, .jpeg, .webp, .gif, .bmp; got " +
                                    (ext.empty() ? std::string("no extension") : ext) + ")"});
      return;
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(a.location, ec);
    if (!ec && size > kMaxImageBytes)
      errs.push_back({"images", label + ": the reference image must be at most 10MB (doc: 文件大小限制为 10MB; got " +
                                    std::to_string(size) + " bytes)"});
  };

  if (*family == Family::veo) {
    if (spec.duration_s && std::find(kVeoSeconds.begin(), kVeoSeconds.end(), *spec.duration_s) == kVeoSeconds.end())
      errs.push_back({"duration", "turing Veo models accept seconds \"4\", \"6\" or \"8\" (got " +
                                      std::to_string(*spec.duration_s) + ")"});
    if (!veo_size(spec.resolution, spec.aspect_ratio)) {
      if (!veo_size(spec.resolution, ""))
        errs.push_back(
            {"resolution", "turing Veo models accept size \"1280x720\" or \"720x1280\" only, i.e. 720p (got " +
                               spec.resolution + ")"});
      else
        errs.push_back({"aspect_ratio",
                        "turing Veo models accept size \"1280x720\" (16:9) or \"720x1280\" (9:16) only "
                        "(got " +
                            spec.aspect_ratio + (spec.resolution.empty() ? "" : " with resolution " + spec.resolution) +
                            ")"});
    }
    if (spec.seed) errs.push_back({"seed", "turing Veo models have no seed parameter (doc 参数限制说明: Veo 模型)"});
    if (spec.audio)
      errs.push_back({"audio",
                      "turing Veo models have no audio switch in the document (only Seedance has "
                      "generate_audio); leave audio empty"});
    if (!spec.videos.empty()) errs.push_back({"videos", "turing Veo models take no reference videos"});
    if (!spec.audios.empty()) errs.push_back({"audios", "turing Veo models take no reference audios"});
    if (spec.images.size() > 1)
      errs.push_back({"images", "turing Veo models take one reference image (input_reference; got " +
                                    std::to_string(spec.images.size()) + ")"});
    for (const auto& a : spec.images) {
      const std::string label = "image '" + a.name + "'";
      if (a.location.empty()) {
        errs.push_back({"images", label + ": no file given"});
      } else if (a.is_url()) {
        errs.push_back({"images", label +
                                      ": Veo takes the reference image as an uploaded file (input_reference); "
                                      "download it first (got " +
                                      show_location(a.location) + ")"});
      } else {
        check_local_image(a, label);
      }
    }
    if (const auto* pg = spec.params.if_contains("personGeneration"); pg && !pg->is_string())
      errs.push_back({"params", "personGeneration must be a string such as \"allow_all\""});
    return errs;
  }

  // Seedance.
  if (spec.duration_s &&
      std::find(kSeedanceDurations.begin(), kSeedanceDurations.end(), *spec.duration_s) == kSeedanceDurations.end())
    errs.push_back({"duration", "turing Seedance models accept duration 4, 5, 6 or 8 s (got " +
                                    std::to_string(*spec.duration_s) + ")"});
  if (!spec.resolution.empty() && !seedance_resolution(spec.resolution))
    errs.push_back({"resolution",
                    "turing Seedance models accept resolution \"480p\" or \"720p\" (and \"1080p\" as in "
                    "the doc's example; got " +
                        spec.resolution + ")"});
  if (!spec.aspect_ratio.empty() && !one_of(kSeedanceRatios, trim(spec.aspect_ratio)))
    errs.push_back({"aspect_ratio", "turing Seedance models accept ratio 16:9, 9:16, 1:1, 4:3, 3:4 or 21:9 (got " +
                                        spec.aspect_ratio + ")"});
  if (spec.params.contains("personGeneration"))
    errs.push_back(
        {"params", "personGeneration: 仅 Gemini Veo 模型支持 (Veo models only; this row uses " + spec.model + ")"});
  for (const auto& a : spec.images) {
    const std::string label = "image '" + a.name + "'";
    if (a.location.empty()) {
      errs.push_back({"images", label + ": no file given"});
    } else if (a.is_url()) {
      if (!is_https(a.location))
        errs.push_back({"images", label +
                                      ": image_url takes an HTTPS URL or a local file (sent as a base64 data URI); "
                                      "got " +
                                      show_location(a.location)});
    } else {
      check_local_image(a, label);
    }
  }
  auto url_only = [&](const std::vector<AssetRef>& assets, const char* field, const char* noun, const char* item) {
    for (const auto& a : assets) {
      if (!a.is_url() || !is_https(a.location))
        errs.push_back({field, std::string(noun) + " '" + a.name + "': " + item +
                                   " takes HTTPS URLs only (doc: " + item + " (HTTPS URL)); got " +
                                   (a.location.empty() ? std::string("nothing") : show_location(a.location))});
    }
  };
  url_only(spec.videos, "videos", "video", "video_url");
  url_only(spec.audios, "audios", "audio", "audio_url");
  return errs;
}

// ---- submit ------------------------------------------------------------------------------

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string data_uri(std::string_view content_type, std::string_view bytes) {
  return "data:" + std::string(content_type) + ";base64," + base64_encode(bytes);
}

SubmitBody build_multipart(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view file_field,
                           const InlineFile* file, std::string_view seed) {
  auto occurs = [&](const std::string& b) {
    for (const auto& [k, v] : fields)
      if (k.find(b) != std::string::npos || v.find(b) != std::string::npos) return true;
    return file && (file->bytes.find(b) != std::string::npos || file->filename.find(b) != std::string::npos);
  };
  std::string boundary;
  for (int n = 0;; ++n) {
    boundary = "----reelbatch" + sha256_hex(std::string(seed) + ":" + std::to_string(n)).substr(0, 24);
    if (!occurs(boundary)) break;
  }
  // Quoted-string parameter values: '"', CR and LF escaped as browsers do (WHATWG).
  auto quoted = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '"')
        out += "%22";
      else if (c == '\r')
        out += "%0D";
      else if (c == '\n')
        out += "%0A";
      else
        out.push_back(c);
    }
    return out;
  };
  SubmitBody out;
  out.content_type = "multipart/form-data; boundary=" + boundary;
  for (const auto& [k, v] : fields) {
    out.body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quoted(k) + "\"\r\n\r\n" + v + "\r\n";
    out.fields[k] = v;
  }
  if (file) {
    out.body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quoted(file_field) +
                "\"; filename=\"" + quoted(file->filename) + "\"\r\nContent-Type: " + file->content_type + "\r\n\r\n";
    out.body += file->bytes;
    out.body += "\r\n";
  }
  out.body += "--" + boundary + "--\r\n";
  return out;
}

SubmitBody build_veo_body(const SubmitRequest& req, const InlineFile* image) {
  const JobSpec& s = req.spec;
  json::object body;
  body["prompt"] = s.prompt;
  body["model"] = s.model;
  if (auto size = veo_size(s.resolution, s.aspect_ratio); size && !size->empty())
    body["size"] = *size;
  else if (!size && !s.resolution.empty())
    body["size"] = s.resolution;  // validate() catches it first
  if (s.duration_s) body["seconds"] = std::to_string(*s.duration_s);
  for (const auto& kv : s.params) body[kv.key()] = kv.value();
  if (!image) {
    SubmitBody out;
    out.content_type = "application/json";
    out.body = json::serialize(body);
    out.fields = std::move(body);
    return out;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& kv : body) fields.emplace_back(std::string(kv.key()), field_text(kv.value()));
  return build_multipart(fields, "input_reference", image, s.id + "\n" + sha256_hex(image->bytes));
}

SubmitBody build_seedance_body(const SubmitRequest& req, const std::vector<std::string>& image_urls) {
  const JobSpec& s = req.spec;
  json::object body;
  body["model"] = s.model;
  body["prompt"] = s.prompt;
  json::array content;
  content.push_back(json::object{{"type", "text"}, {"text", s.prompt}});
  for (const auto& url : image_urls)
    content.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}});
  for (const auto& v : req.videos)
    content.push_back(json::object{{"type", "video_url"}, {"video_url", json::object{{"url", v.remote_ref}}}});
  for (const auto& a : req.audios)
    content.push_back(json::object{{"type", "audio_url"}, {"audio_url", json::object{{"url", a.remote_ref}}}});
  body["content"] = std::move(content);
  if (!s.resolution.empty()) body["resolution"] = seedance_resolution(s.resolution).value_or(s.resolution);
  if (!s.aspect_ratio.empty()) body["ratio"] = std::string(trim(s.aspect_ratio));
  if (s.duration_s) body["duration"] = *s.duration_s;
  if (s.seed) body["seed"] = *s.seed;
  if (s.audio) body["generate_audio"] = *s.audio;
  for (const auto& kv : s.params) body[kv.key()] = kv.value();
  SubmitBody out;
  out.content_type = "application/json";
  out.body = json::serialize(body);
  out.fields = std::move(body);
  return out;
}

ProviderResult<std::string> parse_submit_response(int http_status, std::string_view body, const std::string& profile,
                                                  std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, true);
  if (!r) return fail(r.error());
  std::string id, why;
  if (!read_string(*r, "id", true, id, why, true))
    return fail(bad_response(http_status, "success but " + why, profile, true));
  return id;
}

// ---- query ---------------------------------------------------------------------------------

RemoteState map_state(std::string_view native) {
  const std::string s = to_lower(trim(native));
  if (s == "queued") return RemoteState::queued;
  if (s == "completed") return RemoteState::succeeded;
  if (s == "failed") return RemoteState::failed;
  return RemoteState::running;  // in_progress, processing, and unknown words
}

bool is_documented_state(std::string_view native) {
  static constexpr std::array<std::string_view, 5> kStates{"queued", "in_progress", "processing", "completed",
                                                           "failed"};
  return one_of(kStates, to_lower(trim(native)));
}

ProviderResult<TaskStatus> parse_task_response(int http_status, std::string_view body, const std::string& profile,
                                               std::optional<milliseconds> retry_after) {
  auto r = unwrap(http_status, body, profile, retry_after, false);
  if (!r) return fail(r.error());
  const json::object& o = *r;
  TaskStatus t;
  std::string why;
  if (!read_string(o, "id", true, t.remote_id, why, true) || !read_string(o, "status", true, t.native_state, why) ||
      !read_string(o, "last_frame_url", false, t.last_frame_url, why))
    return fail(bad_response(http_status, why, profile, false));
  t.state = map_state(t.native_state);
  if (!is_documented_state(t.native_state))
    spdlog::warn("turing: video {} has undocumented status '{}'; treating it as running", t.remote_id, t.native_state);
  if (const json::value* c = o.if_contains("created_at"); c && c->is_number()) {
    boost::system::error_code ec;
    const auto v = c->to_number<std::int64_t>(ec);
    if (!ec) t.created_at_ms = v > 100'000'000'000 ? v : v * 1000;
  }
  if (const json::value* e = o.if_contains("error"); e && !e->is_null()) {
    if (const json::object* eo = e->if_object()) {
      if (!read_string(*eo, "code", false, t.error_code, why, true) ||
          !read_string(*eo, "message", false, t.error_message, why))
        return fail(bad_response(http_status, "error." + why, profile, false));
    } else if (const auto* s = e->if_string()) {
      t.error_message.assign(s->data(), s->size());
    }
  }
  if (t.state == RemoteState::failed && t.error_message.empty()) t.error_message = "turing reports the video failed";
  return t;
}

std::string task_path(std::string_view id) { return std::string(kVideosPath) + "/" + kit::percent_encode(id); }

std::string content_path(std::string_view id) { return task_path(id) + "/content"; }

// ---- errors ----------------------------------------------------------------------------------

ProviderError classify(int http_status, std::string_view code, std::string_view type, std::string message,
                       const std::string& profile, std::optional<milliseconds> retry_after, bool is_submit) {
  const std::string code_s = !code.empty() ? std::string(code) : !type.empty() ? std::string(type) : "http";
  const std::string st = "HTTP " + std::to_string(http_status);
  message = std::string(trim(message));
  auto with = [&](std::string_view en) {
    return message.empty() ? std::string(en) : message + " (" + std::string(en) + ")";
  };
  const bool quota = code == "insufficient_quota" || type == "insufficient_quota";
  if (http_status == 402 || quota)
    return make_error(ErrorClass::out_of_credit, profile, http_status, code_s,
                      with(st + ": the account's quota or balance is exhausted"));
  if (http_status == 429) {
    std::string en = st + ": rate limited by turing";
    if (retry_after) en += "; retry after " + std::to_string(retry_after->count()) + " ms";
    return make_error(ErrorClass::rate_limited, profile, http_status, code_s, with(en), retry_after);
  }
  if (http_status == 401 || http_status == 403)
    return make_error(ErrorClass::auth, profile, http_status, code_s, with(st + ": the API key was rejected"));
  if (is_submit && (http_status == 502 || http_status == 504))
    return make_error(ErrorClass::unknown_outcome, profile, http_status, code_s,
                      with(st + " from a gateway to the submit; turing may have received it, and there is no task "
                                "list to check: held for a decision"));
  if (http_status == 408 || (http_status >= 500 && http_status < 600))
    return make_error(ErrorClass::retryable, profile, http_status, code_s, with(st + ": server error; will retry"),
                      retry_after);
  if (is_2xx(http_status)) return bad_response(http_status, message, profile, is_submit);
  return make_error(ErrorClass::permanent, profile, http_status, code_s, with(st + ": the request was rejected"));
}

ProviderError from_net_error(const NetError& e, const std::string& profile, bool is_submit) {
  static constexpr auto kText =
      kit::english_net_text("); turing may have created the video and has no task list: held for a decision");
  // turing's quirk: everything from the first '?' on is dropped (then elision
  // by the shared helper changes nothing).
  NetError cut = e;
  if (const auto q = cut.message.find('?'); q != std::string::npos) cut.message = cut.message.substr(0, q) + "?…";
  return kit::from_net_error(cut, profile, is_submit, kText);
}

HttpRequest build_api_request(const ProfileConfig& profile, std::string method, std::string_view path, std::string body,
                              std::string content_type) {
  return kit::api_request(profile, std::move(method), kit::join_url(profile.base_url, path),
                          kit::bearer_auth(profile.api_key), std::move(body), std::move(content_type));
}

// ---- the coroutine adapter -------------------------------------------------------------------

namespace {


// "scheme://host[:port]" of a URL ("" when it has none).
std::string origin_of(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const auto end = url.find_first_of("/?#", scheme + 3);
  return to_lower(url.substr(0, end));
}

class TuringProvider final : public kit::AdapterBase {
 public:
  using AdapterBase::AdapterBase;

  std::vector<FieldError> validate(const JobSpec& spec) const override { return turing::validate(spec); }

  // No upload endpoint: check the image; its bytes travel with the submit.
  awaitable<ProviderResult<std::string>> async_upload(const LocalAsset& asset) override {
    if (asset.kind != LocalAsset::Kind::image)
      co_return fail(local("asset '" + asset.name + "': turing takes reference videos and audios as HTTPS URLs only"));
    if (!image_content_type(asset.path))
      co_return fail(local("asset '" + asset.name + "' (" + asset.path.filename().string() +
                           "): turing accepts images only (input_reference: 仅支持图片)"));
    if (asset.size_bytes > kMaxImageBytes)
      co_return fail(local("asset '" + asset.name + "': the reference image must be at most 10MB (got " +
                           std::to_string(asset.size_bytes) + " bytes)"));
    co_return "inline:" + asset.sha256;
  }

  // POST /videos; returns the video id.
  awaitable<ProviderResult<std::string>> async_submit(const SubmitRequest& req) override {
    const auto family = family_of(req.spec.model);
    if (!family) co_return fail(local("model '" + req.spec.model + "' is neither a Veo nor a Seedance model"));
    SubmitBody body;
    if (*family == Family::veo) {
      std::optional<InlineFile> image;
      if (!req.images.empty()) {
        auto f = load_image(req, req.images.front());
        if (!f) co_return fail(f.error());
        image = std::move(f).value();
      }
      body = build_veo_body(req, image ? &*image : nullptr);
    } else {
      std::vector<std::string> urls;
      for (const auto& img : req.images) {
        if (!img.remote_ref.starts_with("inline:")) {
          urls.push_back(img.remote_ref);
          continue;
        }
        auto f = load_image(req, img);
        if (!f) co_return fail(f.error());
        urls.push_back(data_uri(f->content_type, f->bytes));
      }
      body = build_seedance_body(req, urls);
    }
    auto post = build_api_request(profile_, "POST", kVideosPath, std::move(body.body), std::move(body.content_type));
    co_return co_await submit(req, std::move(post), &parse_submit_response, "video");
  }

  // GET /videos/{id}.
  awaitable<ProviderResult<TaskStatus>> async_query(const std::string& remote_id) override {
    if (remote_id.empty()) co_return fail(local("query without a video id"));
    co_return co_await call(build_api_request(profile_, "GET", task_path(remote_id)), kit::Op::query, &parse_task_response);
  }

  // Doc 轮询任务状态: "推荐轮询间隔为 20s - 30s".
  PollPolicy default_poll() const override {
    return PollPolicy{milliseconds(20000), milliseconds(20000), milliseconds(30000)};
  }

  // Undocumented; see the header comment.
  std::chrono::seconds default_url_ttl() const override { return std::chrono::hours(24); }

  // Doc 下载视频内容: GET /videos/{id}/content with the Authorization header.
  std::optional<DownloadTarget> download_target(const TaskStatus& status, OutputKind kind) const override {
    if (status.state != RemoteState::succeeded || status.remote_id.empty()) return std::nullopt;
    if (kind == OutputKind::video) {
      HttpRequest r = build_api_request(profile_, "GET", content_path(status.remote_id));
      return DownloadTarget{r.url, {{"Authorization", "Bearer " + profile_.api_key}}};
    }
    if (kind == OutputKind::last_frame && !status.last_frame_url.empty()) {
      DownloadTarget t{status.last_frame_url, {}};
      if (origin_of(status.last_frame_url) == origin_of(profile_.base_url))
        t.headers.emplace_back("Authorization", "Bearer " + profile_.api_key);
      return t;
    }
    return std::nullopt;
  }

 private:
  // The bytes of req's image `img`, from the row's own local path.
  ProviderResult<InlineFile> load_image(const SubmitRequest& req, const ResolvedAsset& img) const {
    const auto it = std::find_if(req.spec.images.begin(), req.spec.images.end(),
                                 [&](const AssetRef& a) { return a.name == img.name; });
    if (it == req.spec.images.end() || it->is_url())
      return fail(local("image '" + img.name + "': no local file in the row to send"));
    InlineFile f;
    f.name = img.name;
    f.filename = std::filesystem::path(it->location).filename().string();
    const auto ct = image_content_type(it->location);
    if (!ct) return fail(local("image '" + img.name + "': turing accepts images only"));
    f.content_type = *ct;
    std::string why;
    if (!kit::read_file(it->location, f.bytes, why)) return fail(local(why));
    if (f.bytes.size() > kMaxImageBytes)
      return fail(local("image '" + img.name + "': the reference image must be at most 10MB (got " +
                        std::to_string(f.bytes.size()) + " bytes)"));
    return f;
  }


};

}  // namespace

std::unique_ptr<Provider> make_turing_provider(const ProfileConfig& profile, HttpClient& http,
                                           std::shared_ptr<spdlog::logger> logger) {
  return std::make_unique<TuringProvider>(profile, http, std::move(logger), &from_net_error);
}

}  // namespace reelbatch::turing
