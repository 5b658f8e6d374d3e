#include "src/watch/watch_rules.hpp"

#include "src/core/text.hpp"

#include <fnmatch.h>
#include <sys/statfs.h>

#include <algorithm>

namespace reelbatch::watch {
namespace fs = std::filesystem;

namespace {

bool ends_with_ci(std::string_view name, std::string_view suffix) {
  return name.size() >= suffix.size() && to_lower(name.substr(name.size() - suffix.size())) == suffix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_ignored_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return true;
  for (std::string_view s : {".tmp", ".part", ".partial", ".result.json", ".errors.txt"})
    if (ends_with_ci(name, s)) return true;
  return false;
}

bool is_service_dir(std::string_view name) {
  return name == kProcessingDir || name == kDoneDir || name == kFailedDir;
}

bool matches_pattern(std::string_view name, std::string_view pattern) {
  if (trim(pattern).empty()) pattern = kDefaultPattern;
  const std::string file(name);
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = pattern.find(',', start);
    const std::string glob(trim(pattern.substr(start, comma == std::string_view::npos ? pattern.npos : comma - start)));
    if (!glob.empty() && ::fnmatch(glob.c_str(), file.c_str(), FNM_CASEFOLD) == 0) return true;
    if (comma == std::string_view::npos) return false;
    start = comma + 1;
  }
}

bool is_candidate_name(std::string_view name, std::string_view pattern) {
  return !is_ignored_name(name) && matches_pattern(name, pattern);
}

bool is_network_fs_magic(std::int64_t f_type) {
  // linux/magic.h and statfs(2); some are not in every kernel's header.
  constexpr std::uint32_t kMagics[] = {
      0x6969,      // NFS_SUPER_MAGIC
      0x517B,      // SMB_SUPER_MAGIC
      0xFF534D42,  // CIFS_MAGIC_NUMBER
      0xFE534D42,  // SMB2_MAGIC_NUMBER
      0x65735546,  // FUSE_SUPER_MAGIC
      0x01021997,  // V9FS_MAGIC (9P)
      0x00C36400,  // CEPH_SUPER_MAGIC
      0x5346414F,  // AFS_SUPER_MAGIC
      0x6B414653,  // AFS_FS_MAGIC (kAFS)
      0x73757245,  // CODA_SUPER_MAGIC
      0x7461636F,  // OCFS2_SUPER_MAGIC
      0x01161970,  // GFS2_MAGIC
      0x0BD00BD0,  // LUSTRE_SUPER_MAGIC
      0x47504653,  // GPFS_SUPER_MAGIC
  };
  // f_type is a signed word on some ABIs: compare its low 32 bits.
  const auto t = static_cast<std::uint32_t>(static_cast<std::uint64_t>(f_type));
  return std::find(std::begin(kMagics), std::end(kMagics), t) != std::end(kMagics);
}

std::optional<bool> is_network_filesystem(const fs::path& folder) {
  struct statfs st {};
  if (::statfs(folder.c_str(), &st) != 0) return std::nullopt;
  return is_network_fs_magic(static_cast<std::int64_t>(st.f_type));
}

bool SettleTracker::observe(const fs::path& file, const FileSignature& sig, SteadyTime now) {
  auto [it, inserted] = files_.try_emplace(file, Seen{sig, now});
  if (!inserted && !(it->second.sig == sig)) it->second = Seen{sig, now};
  return now - it->second.since >= settle_;
}

void SettleTracker::forget(const fs::path& file) { files_.erase(file); }

void SettleTracker::forget_under(const fs::path& folder) {
  for (auto it = files_.begin(); it != files_.end();) {
    const auto rel = it->first.lexically_relative(folder);
    if (!rel.empty() && *rel.begin() != "..")
      it = files_.erase(it);
    else
      ++it;
  }
}

std::vector<fs::path> SettleTracker::due(SteadyTime now) const {
  std::vector<fs::path> out;
  for (const auto& [file, seen] : files_)
    if (now - seen.since >= settle_) out.push_back(file);
  return out;
}

std::optional<SteadyTime> SettleTracker::next_due() const {
  std::optional<SteadyTime> best;
  for (const auto& [file, seen] : files_) {
    const SteadyTime t = seen.since + settle_;
    if (!best || t < *best) best = t;
  }
  return best;
}

std::string suffixed_name(std::string_view name, int n) {
  if (n <= 0) return std::string(name);
  // The suffix goes before the first dot that is not the leading one, so
  // "a.tar.gz" becomes "a-1.tar.gz" and the format extension stays last.
  std::size_t dot = name.find('.', 1);
  if (dot == std::string_view::npos) dot = name.size();
  return std::string(name.substr(0, dot)) + "-" + std::to_string(n) + std::string(name.substr(dot));
}

}  // namespace reelbatch::watch
