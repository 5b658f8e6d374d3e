#include "src/ingest/output_paths.hpp"

#include "src/core/job_spec.hpp"
#include "src/core/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>

namespace reelbatch {
namespace fs = std::filesystem;

std::optional<std::string> output_stem_problem(std::string_view stem) {
  const std::string shown = "'" + std::string(stem) + "'";
  if (stem.empty()) return "must not be empty";
  if (stem.front() == '.') return "must not start with '.' (got " + shown + ")";
  if (stem.back() == '.' || stem.back() == ' ')
    return "must not end with '.' or a space: some file systems drop them (got " + shown + ")";
  // A DOS device name, alone or before the first '.', is a device on Windows
  // and SMB shares whatever follows.
  const std::string base = to_lower(stem.substr(0, stem.find('.')));
  static const std::set<std::string, std::less<>> reserved = {"con", "prn", "aux", "nul"};
  bool device = reserved.contains(base);
  if (!device && base.size() == 4 && (base.starts_with("com") || base.starts_with("lpt")) && base[3] >= '0' &&
      base[3] <= '9')
    device = true;
  if (device) return "is a reserved device name on Windows file systems (got " + shown + ")";
  return std::nullopt;
}

void OutputClaims::add_existing(const std::vector<OutputClaim>& claims) {
  by_stem_.reserve(by_stem_.size() + claims.size());
  for (const auto& c : claims) {
    JobSpec s;
    s.id = c.key;
    s.output = c.output;
    by_stem_.try_emplace(to_lower(output_stem(s)), Holder{c.key, c.file, c.line});
  }
}

std::optional<std::string> OutputClaims::claim(const std::string& stem, const std::string& key,
                                               const std::string& file, int line) {
  const auto [it, fresh] = by_stem_.try_emplace(to_lower(stem), Holder{key, file, line});
  if (fresh || it->second.key == key) return std::nullopt;
  const Holder& h = it->second;
  return "output '" + stem + "' (" + stem + ".mp4) is already the output of row '" + h.key + "' at " + h.file + ":" +
         std::to_string(h.line) + (iequals(h.key, stem) ? " (its id)" : "") +
         "; give each row its own output (file names are compared ignoring case)";
}

std::pair<std::string, fs::path> choose_batch_folder(const std::vector<BatchRecord>& batches,
                                                     const fs::path& manifest_abs, const fs::path& output_root) {
  for (const auto& b : batches)
    if (b.manifest_path == manifest_abs.string()) return {b.name, fs::path(b.out_dir)};
  std::string base = manifest_abs.stem().string();
  for (char& c : base)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  if (base.empty() || base.front() == '.') base = "batch" + base;
  std::set<std::string> taken;
  for (const auto& b : batches) taken.insert(to_lower(fs::path(b.out_dir).lexically_normal().string()));
  std::string name = base;
  for (int n = 2; taken.contains(to_lower((output_root / name).lexically_normal().string())); ++n)
    name = base + "-" + std::to_string(n);
  return {name, (output_root / name).lexically_normal()};
}

std::optional<std::string> check_writable_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "cannot create " + dir.string() + ": " + ec.message();
  if (!fs::is_directory(dir, ec)) return dir.string() + " is not a folder";
  static std::atomic<unsigned> counter{0};
  const fs::path probe =
      dir / (".reelbatch-write-check-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write in " + dir.string() + ": " + std::strerror(errno);
  std::optional<std::string> why;
  if (::write(fd, "x", 1) != 1) why = "cannot write in " + dir.string() + ": " + std::strerror(errno);
  if (::close(fd) != 0 && !why) why = "cannot write in " + dir.string() + ": " + std::strerror(errno);
  if (::unlink(probe.c_str()) != 0 && !why) why = "cannot remove files in " + dir.string() + ": " + std::strerror(errno);
  return why;
}

}  // namespace reelbatch
