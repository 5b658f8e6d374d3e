#include "src/output/validate.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace reelbatch {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool at(std::string_view head, std::size_t offset, std::string_view sig) {
  return head.size() >= offset + sig.size() && head.substr(offset, sig.size()) == sig;
}

bool is_video(std::string_view h) {
  using namespace std::string_view_literals;
  for (auto atom : {"ftyp"sv, "moov"sv, "mdat"sv, "wide"sv, "free"sv})
    if (at(h, 4, atom)) return true;
  return at(h, 0, "\x1A\x45\xDF\xA3"sv);
}

bool is_image(std::string_view h) {
  using namespace std::string_view_literals;
  return at(h, 0, "\xFF\xD8\xFF"sv) || at(h, 0, "\x89PNG\r\n\x1A\n"sv) ||
         (at(h, 0, "RIFF"sv) && at(h, 8, "WEBP"sv)) || at(h, 0, "GIF87a"sv) || at(h, 0, "GIF89a"sv);
}

// text/*, JSON and XML are what error pages come as, never a video or image.
bool is_error_page_type(std::string_view content_type) {
  std::string t = lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
  return t.starts_with("text/") || t == "application/json" || t.ends_with("+json") || t == "application/xml" ||
         t.ends_with("+xml") || t == "application/xhtml+xml";
}

std::string shown_head(std::string_view head) {
  const bool printable = !head.empty() && std::all_of(head.begin(), head.end(), [](unsigned char c) {
    return c >= 0x20 || c == '\n' || c == '\r' || c == '\t';
  });
  std::string out;
  if (printable) {
    const std::size_t n = std::min<std::size_t>(head.size(), 48);
    for (std::size_t i = 0; i < n; ++i) out += static_cast<unsigned char>(head[i]) < 0x20 ? ' ' : head[i];
    return "\"" + out + (head.size() > n ? "...\"" : "\"");
  }
  const std::size_t n = std::min<std::size_t>(head.size(), 16);
  for (std::size_t i = 0; i < n; ++i) {
    std::array<char, 4> b{};
    std::snprintf(b.data(), b.size(), "%02x", static_cast<unsigned char>(head[i]));
    if (i) out += ' ';
    out += b.data();
  }
  return out + (head.size() > n ? " ..." : "");
}

}  // namespace

MediaKind expected_media(const std::filesystem::path& final_path) {
  const std::string ext = lower(final_path.extension().string());
  if (ext == ".mp4" || ext == ".m4v" || ext == ".mov" || ext == ".webm" || ext == ".mkv") return MediaKind::video;
  if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".gif") return MediaKind::image;
  return MediaKind::any;
}

bool has_media_signature(std::string_view head, MediaKind kind) {
  switch (kind) {
    case MediaKind::video: return is_video(head);
    case MediaKind::image: return is_image(head);
    case MediaKind::any: return is_video(head) || is_image(head);
  }
  return false;
}

std::string describe_response(const DownloadFacts& f) {
  std::string s = "HTTP " + std::to_string(f.http_status);
  s += ", Content-Type " + (f.content_type.empty() ? std::string("(none)") : f.content_type);
  s += ", " + std::to_string(f.received) + " bytes";
  if (f.content_length) s += " of " + std::to_string(*f.content_length) + " announced";
  if (f.file_size != f.received) s += " (file " + std::to_string(f.file_size) + " bytes)";
  s += f.head.empty() ? ", empty" : ", starts with " + shown_head(f.head);
  return s;
}

std::optional<DownloadRejection> check_download(const DownloadFacts& f, MediaKind kind) {
  auto reject = [&](bool truncated, std::string why) {
    return DownloadRejection{truncated, std::move(why) + "; got " + describe_response(f)};
  };
  if (f.content_length && f.received < *f.content_length) return reject(true, "short body");
  if (f.content_length && f.received > *f.content_length) return reject(false, "body longer than Content-Length");
  if (is_error_page_type(f.content_type)) return reject(false, "not a media file (error page content type)");
  if (f.file_size == 0) return reject(false, "empty body");
  if (!has_media_signature(f.head, kind)) {
    const char* what = kind == MediaKind::video ? "no video container signature (MP4/MOV ftyp, WebM EBML)"
                       : kind == MediaKind::image ? "no image signature (JPEG, PNG, WebP, GIF)"
                                                  : "no known media signature";
    return reject(false, what);
  }
  return std::nullopt;
}

}  // namespace reelbatch
