// What a finished video really is, asked of ffprobe (Debian `ffmpeg`) where
// it is installed, and whether that is what the row asked for (issue 9,
// item 4). Blocking (a child process): call it off the event loop.
#pragma once

#include "src/core/job_spec.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace reelbatch {

/// The facts ffprobe reports of a video file.
struct VideoProbe {
  double duration_s = 0;    ///< container duration, seconds
  int width = 0, height = 0;  ///< first video stream, pixels
  std::string video_codec;  ///< e.g. "h264"; empty without a video stream
  std::string audio_codec;  ///< e.g. "aac"; empty without an audio stream
};

/// The absolute path of `ffprobe` on PATH, or nullopt. Looked up once per
/// process (the result is cached). Never throws beyond allocation.
std::optional<std::filesystem::path> find_ffprobe();

/// Runs `ffprobe -v error -print_format json -show_format -show_streams
/// <video>` with a deadline of `timeout` (the child is killed past it).
/// nullopt when ffprobe is not installed (no error: the fields are simply
/// omitted); otherwise the probe, or an error text naming the file and what
/// failed (exit status, timeout, unreadable output). Never throws beyond
/// allocation.
struct ProbeResult {
  std::optional<VideoProbe> probe;
  std::string error;  ///< set when ffprobe ran and failed
};
std::optional<ProbeResult> probe_video(const std::filesystem::path& video, std::chrono::milliseconds timeout);

/// Parses ffprobe's JSON output (`-show_format -show_streams`). nullopt
/// when it has no format duration and no video stream. Pure.
std::optional<VideoProbe> parse_ffprobe_json(const std::string& text);

/// What differs between the video and the row: "duration 2.0 s, asked 5 s"
/// when |probe - asked| > 1 s, "resolution 1280x720, asked 1080p" when the
/// smaller side is not the asked resolution's number ("720p", "720",
/// "1280x720" accepted; other words are not compared), joined by "; ".
/// Empty when nothing differs. Pure.
std::string probe_mismatch(const VideoProbe& probe, const JobSpec& spec);

/// The probe as JSON {duration_s, width, height, video_codec, audio_codec},
/// and back (nullopt for a malformed object). Pure.
boost::json::object to_json(const VideoProbe& p);
std::optional<VideoProbe> video_probe_from_json(const boost::json::value& v);

}  // namespace reelbatch
