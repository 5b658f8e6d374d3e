// Unit tests: the watch service's pure rules (settle tracking with a mock
// clock, ignored names, patterns, clash suffixes, network filesystems).
#include "src/watch/watch_rules.hpp"

#include <gtest/gtest.h>

namespace reelbatch::watch {
namespace {

using namespace std::chrono_literals;

const SteadyTime t0{std::chrono::hours(1)};

FileSignature sig(std::uintmax_t size, std::int64_t mtime) { return FileSignature{size, mtime}; }

TEST(SettleTracker, ReadyOnlyAfterTheSignatureHeldForSettle) {
  SettleTracker t(5s);
  EXPECT_FALSE(t.observe("/in/a.csv", sig(10, 1), t0));
  EXPECT_FALSE(t.observe("/in/a.csv", sig(10, 1), t0 + 4999ms));
  EXPECT_TRUE(t.observe("/in/a.csv", sig(10, 1), t0 + 5s));
}

TEST(SettleTracker, AGrowingFileRestartsTheWait) {
  SettleTracker t(5s);
  t.observe("/in/a.csv", sig(10, 1), t0);
  EXPECT_FALSE(t.observe("/in/a.csv", sig(20, 2), t0 + 4s));  // still being written
  EXPECT_FALSE(t.observe("/in/a.csv", sig(20, 2), t0 + 8s));  // only 4 s since the change
  EXPECT_TRUE(t.observe("/in/a.csv", sig(20, 2), t0 + 9s));
}

TEST(SettleTracker, AnMtimeChangeAloneRestartsTheWait) {
  SettleTracker t(1s);
  t.observe("/in/a.csv", sig(10, 1), t0);
  EXPECT_FALSE(t.observe("/in/a.csv", sig(10, 2), t0 + 2s));  // rewritten with the same size
  EXPECT_TRUE(t.observe("/in/a.csv", sig(10, 2), t0 + 3s));
}

TEST(SettleTracker, DueAndNextDueFollowTheEarliestFile) {
  SettleTracker t(5s);
  EXPECT_FALSE(t.next_due());
  t.observe("/in/b.csv", sig(1, 1), t0 + 2s);
  t.observe("/in/a.csv", sig(1, 1), t0);
  ASSERT_TRUE(t.next_due());
  EXPECT_EQ(*t.next_due(), t0 + 5s);
  EXPECT_TRUE(t.due(t0 + 4s).empty());
  EXPECT_EQ(t.due(t0 + 5s), std::vector<std::filesystem::path>{"/in/a.csv"});
  EXPECT_EQ(t.due(t0 + 7s), (std::vector<std::filesystem::path>{"/in/a.csv", "/in/b.csv"}));
  // A change pushes a file's due time out.
  t.observe("/in/a.csv", sig(2, 2), t0 + 6s);
  EXPECT_EQ(*t.next_due(), t0 + 7s);
}

TEST(SettleTracker, ForgetAndForgetUnder) {
  SettleTracker t(1s);
  t.observe("/in/a.csv", sig(1, 1), t0);
  t.observe("/in/sub/b.csv", sig(1, 1), t0);
  t.observe("/in/subway.csv", sig(1, 1), t0);
  t.observe("/other/c.csv", sig(1, 1), t0);
  t.forget("/in/a.csv");
  EXPECT_FALSE(t.tracking("/in/a.csv"));
  t.forget_under("/in/sub");
  EXPECT_FALSE(t.tracking("/in/sub/b.csv"));
  EXPECT_TRUE(t.tracking("/in/subway.csv"));  // a sibling with the same prefix stays
  t.forget_under("/in");
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.tracking("/other/c.csv"));
  // A forgotten file starts its wait afresh.
  EXPECT_FALSE(t.observe("/in/a.csv", sig(1, 1), t0 + 10s));
}

TEST(WatchRules, IgnoredNames) {
  for (const char* n : {".nightly.csv", ".~lock.x.csv#", "a.tmp", "a.csv.TMP", "a.part", "a.csv.partial",
                        "a.csv.result.json", "a.csv.errors.txt", ""})
    EXPECT_TRUE(is_ignored_name(n)) << n;
  for (const char* n : {"nightly.csv", "a.jsonl", "part.csv", "tmp.csv", "a.partial.csv"})
    EXPECT_FALSE(is_ignored_name(n)) << n;
}

TEST(WatchRules, DefaultPatternTakesManifestsOnly) {
  EXPECT_TRUE(matches_pattern("nightly.csv", ""));
  EXPECT_TRUE(matches_pattern("NIGHTLY.CSV", ""));
  EXPECT_TRUE(matches_pattern("a.jsonl", ""));
  EXPECT_TRUE(matches_pattern("a.ndjson", " "));
  EXPECT_FALSE(matches_pattern("a.txt", ""));
  EXPECT_FALSE(matches_pattern("a.csv.bak", ""));
}

TEST(WatchRules, PatternListsAndCase) {
  EXPECT_TRUE(matches_pattern("jobs-1.csv", "jobs-*.csv"));
  EXPECT_FALSE(matches_pattern("other.csv", "jobs-*.csv"));
  EXPECT_TRUE(matches_pattern("x.JSONL", "*.csv , *.jsonl"));
  EXPECT_TRUE(matches_pattern("a1.csv", "a?.csv"));
  EXPECT_FALSE(matches_pattern("a12.csv", "a?.csv"));
  EXPECT_FALSE(is_candidate_name(".jobs-1.csv", "*.csv"));  // ignored whatever the pattern
  EXPECT_FALSE(is_candidate_name("x.part", "*"));
  EXPECT_TRUE(is_candidate_name("x.csv", "*"));
}

TEST(WatchRules, ServiceDirs) {
  EXPECT_TRUE(is_service_dir("processing"));
  EXPECT_TRUE(is_service_dir("done"));
  EXPECT_TRUE(is_service_dir("failed"));
  EXPECT_FALSE(is_service_dir("inbox"));
}

TEST(WatchRules, SuffixedNames) {
  EXPECT_EQ(suffixed_name("nightly.csv", 0), "nightly.csv");
  EXPECT_EQ(suffixed_name("nightly.csv", 1), "nightly-1.csv");
  EXPECT_EQ(suffixed_name("a.b.jsonl", 12), "a-12.b.jsonl");
  EXPECT_EQ(suffixed_name("README", 2), "README-2");
}

TEST(WatchRules, NetworkFilesystemMagic) {
  EXPECT_TRUE(is_network_fs_magic(0x6969));                                   // NFS
  EXPECT_TRUE(is_network_fs_magic(0xFF534D42));                               // CIFS
  EXPECT_TRUE(is_network_fs_magic(static_cast<std::int32_t>(0xFE534D42)));    // SMB2, sign-extended
  EXPECT_TRUE(is_network_fs_magic(0x65735546));                               // FUSE
  EXPECT_TRUE(is_network_fs_magic(0x01021997));                               // 9P
  EXPECT_TRUE(is_network_fs_magic(0x00C36400));                               // Ceph
  EXPECT_FALSE(is_network_fs_magic(0xEF53));                                  // ext4
  EXPECT_FALSE(is_network_fs_magic(0x01021994));                              // tmpfs
  EXPECT_FALSE(is_network_fs_magic(0x58465342));                              // XFS
  EXPECT_EQ(is_network_filesystem("/proc/self"), std::optional<bool>(false));
  EXPECT_FALSE(is_network_filesystem("/no/such/folder/anywhere"));
}

}  // namespace
}  // namespace reelbatch::watch
