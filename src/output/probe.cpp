#include "src/output/probe.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

extern char** environ;

namespace reelbatch {
namespace json = boost::json;
namespace fs = std::filesystem;

std::optional<fs::path> find_ffprobe() {
  static const std::optional<fs::path> found = [] () -> std::optional<fs::path> {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::string_view rest(path);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string dir(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      if (dir.empty()) continue;
      const fs::path candidate = fs::path(dir) / "ffprobe";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
  }();
  return found;
}

namespace {

double number_of(const json::value* v) {
  if (!v) return 0;
  if (v->is_string()) return std::strtod(v->as_string().c_str(), nullptr);
  if (v->is_number()) return v->to_number<double>();
  return 0;
}

// "720p", "720", "1080P" -> 720 / 1080; "1280x720" -> 720 (the smaller
// side); anything else -> 0 (not compared).
int asked_lines(const std::string& resolution) {
  std::string s = resolution;
  if (!s.empty() && (s.back() == 'p' || s.back() == 'P')) s.pop_back();
  if (auto x = s.find_first_of("xX*"); x != std::string::npos) {
    const int w = std::atoi(s.substr(0, x).c_str()), h = std::atoi(s.substr(x + 1).c_str());
    return w > 0 && h > 0 ? std::min(w, h) : 0;
  }
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::atoi(s.c_str());
}

}  // namespace

std::optional<VideoProbe> parse_ffprobe_json(const std::string& text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  VideoProbe p;
  bool any = false;
  if (const auto* f = o.if_contains("format"); f && f->is_object()) {
    if (const auto* d = f->as_object().if_contains("duration")) {
      p.duration_s = number_of(d);
      any = true;
    }
  }
  if (const auto* streams = o.if_contains("streams"); streams && streams->is_array()) {
    for (const auto& sv : streams->as_array()) {
      if (!sv.is_object()) continue;
      const auto& s = sv.as_object();
      const auto* type = s.if_contains("codec_type");
      const auto* codec = s.if_contains("codec_name");
      if (!type || !type->is_string()) continue;
      const std::string name = codec && codec->is_string() ? std::string(codec->as_string()) : std::string();
      if (type->as_string() == "video" && p.video_codec.empty()) {
        p.video_codec = name;
        p.width = static_cast<int>(number_of(s.if_contains("width")));
        p.height = static_cast<int>(number_of(s.if_contains("height")));
        if (p.duration_s <= 0) p.duration_s = number_of(s.if_contains("duration"));
        any = true;
      } else if (type->as_string() == "audio" && p.audio_codec.empty()) {
        p.audio_codec = name;
      }
    }
  }
  if (!any) return std::nullopt;
  return p;
}

std::optional<ProbeResult> probe_video(const fs::path& video, std::chrono::milliseconds timeout) {
  const auto ffprobe = find_ffprobe();
  if (!ffprobe) return std::nullopt;
  ProbeResult out;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    out.error = "ffprobe " + video.string() + ": pipe: " + std::strerror(errno);
    return out;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const std::string exe = ffprobe->string(), file = video.string();
  const char* argv[] = {exe.c_str(), "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                        file.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    out.error = "ffprobe " + file + ": cannot start " + exe + ": " + std::strerror(rc);
    return out;
  }
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipefd[0], POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    char buf[8192];
    const ssize_t got = ::read(pipefd[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(buf, static_cast<std::size_t>(got));
    if (text.size() > (4u << 20)) break;  // ffprobe's report of one file is a few KB
  }
  ::close(pipefd[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    out.error = fmt::format("ffprobe {}: no answer within {} ms", file, timeout.count());
    return out;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out.error = fmt::format("ffprobe {}: exit status {}", file, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return out;
  }
  out.probe = parse_ffprobe_json(text);
  if (!out.probe) out.error = "ffprobe " + file + ": no duration or video stream in its report";
  return out;
}

std::string probe_mismatch(const VideoProbe& p, const JobSpec& spec) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (spec.duration_s && p.duration_s > 0 && std::fabs(p.duration_s - *spec.duration_s) > 1.0)
    add(fmt::format("duration {:.1f} s, asked {} s", p.duration_s, *spec.duration_s));
  if (const int lines = asked_lines(spec.resolution); lines > 0 && p.width > 0 && p.height > 0) {
    const bool exact = spec.resolution.find_first_of("xX*") != std::string::npos;
    const int got = std::min(p.width, p.height);
    bool differs = got != lines;
    if (exact) {
      const auto x = spec.resolution.find_first_of("xX*");
      const int w = std::atoi(spec.resolution.substr(0, x).c_str()), h = std::atoi(spec.resolution.substr(x + 1).c_str());
      differs = !((p.width == w && p.height == h) || (p.width == h && p.height == w));
    }
    if (differs) add(fmt::format("resolution {}x{}, asked {}", p.width, p.height, spec.resolution));
  }
  return out;
}

json::object to_json(const VideoProbe& p) {
  return json::object{{"duration_s", p.duration_s}, {"width", p.width}, {"height", p.height},
                      {"video_codec", p.video_codec}, {"audio_codec", p.audio_codec}};
}

std::optional<VideoProbe> video_probe_from_json(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto* d = o.if_contains("duration_s");
  if (!d || !d->is_number()) return std::nullopt;
  VideoProbe p;
  p.duration_s = d->to_number<double>();
  p.width = static_cast<int>(number_of(o.if_contains("width")));
  p.height = static_cast<int>(number_of(o.if_contains("height")));
  if (const auto* c = o.if_contains("video_codec"); c && c->is_string()) p.video_codec = c->as_string();
  if (const auto* c = o.if_contains("audio_codec"); c && c->is_string()) p.audio_codec = c->as_string();
  return p;
}

}  // namespace reelbatch
