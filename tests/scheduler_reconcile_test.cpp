// Unit tests of scheduler/reconcile: the search for the task a lost submit
// created, fed pages of a simulated task list. Pure logic: no sockets, no
// sleeping.
#include "scheduler/reconcile.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;
using Next = ReconcileSearch::Next;

constexpr std::int64_t kIntent = 1'700'000'000'000;
constexpr std::int64_t kWindowStart = kIntent - 120'000;  // default slack 120 s

ListedTask task(std::string id, std::optional<std::int64_t> created = kIntent + 1000) {
  return ListedTask{std::move(id), created};
}

// A small page size keeps the pages readable.
ErrorPolicy small_pages(int page_size = 3, int pages = 20) {
  ErrorPolicy p;
  p.reconcile_page_size = page_size;
  p.reconcile_pages = pages;
  return p;
}

// `n` in-window tasks already recorded for the profile: known-0, known-1, ...
std::vector<ListedTask> known_page(int n, int from = 0) {
  std::vector<ListedTask> v;
  for (int i = from; i < from + n; ++i) v.push_back(task("known-" + std::to_string(i)));
  return v;
}

std::unordered_set<std::string> known_ids(int n) {
  std::unordered_set<std::string> s;
  for (int i = 0; i < n; ++i) s.insert("known-" + std::to_string(i));
  return s;
}

TEST(ReconcileSearch, StartsAtPageOneWithThePolicysPageSize) {
  const ReconcileSearch s({}, kIntent, ErrorPolicy{});
  EXPECT_EQ(s.next(), Next::fetch_next_page);
  EXPECT_EQ(s.page(), 1);
  EXPECT_EQ(s.page_size(), 50);
  EXPECT_EQ(s.window_start_ms(), kWindowStart);
  EXPECT_EQ(s.candidate_count(), 0u);
  EXPECT_EQ(s.found_id(), "");
  EXPECT_EQ(s.describe(), "the task list is still being read");
}

TEST(ReconcileSearch, FoundOnPageOne) {
  ReconcileSearch s(known_ids(5), kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("new-1"), task("known-0")}), Next::found);
  EXPECT_EQ(s.next(), Next::found);
  EXPECT_EQ(s.found_id(), "new-1");
  EXPECT_EQ(s.candidate_count(), 1u);
  EXPECT_EQ(s.page(), 1);
  EXPECT_EQ(s.describe(), "the lost submit created task new-1");
}

TEST(ReconcileSearch, FoundOnPageThree) {
  ReconcileSearch s(known_ids(9), kIntent, small_pages());
  EXPECT_EQ(s.on_page(known_page(3, 0)), Next::fetch_next_page);
  EXPECT_EQ(s.page(), 2);
  EXPECT_EQ(s.on_page(known_page(3, 3)), Next::fetch_next_page);
  EXPECT_EQ(s.page(), 3);
  // Page 3 is short: the end of the list. Its old task is not a candidate.
  EXPECT_EQ(s.on_page({task("new-7"), task("gone", kWindowStart - 1)}), Next::found);
  EXPECT_EQ(s.found_id(), "new-7");
  EXPECT_EQ(s.page(), 3);
}

TEST(ReconcileSearch, FullPageWithSomeInWindowTasksReadsOn) {
  ReconcileSearch s(known_ids(3), kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("new-1"), task("old-1", kWindowStart - 5), task("old-2", kWindowStart - 6)}),
            Next::fetch_next_page);
  EXPECT_EQ(s.page(), 2);
  EXPECT_EQ(s.candidate_count(), 1u);
  EXPECT_EQ(s.on_page({task("old-3", kWindowStart - 7)}), Next::found);
  EXPECT_EQ(s.found_id(), "new-1");
}

TEST(ReconcileSearch, AbsentAfterAShortPage) {
  ReconcileSearch s(known_ids(5), kIntent, small_pages());
  EXPECT_EQ(s.on_page(known_page(3)), Next::fetch_next_page);
  EXPECT_EQ(s.on_page(known_page(2, 3)), Next::absent);
  EXPECT_EQ(s.page(), 2);
  EXPECT_EQ(s.candidate_count(), 0u);
  EXPECT_EQ(s.found_id(), "");
  EXPECT_EQ(s.describe(), "the lost submit created no task");
}

TEST(ReconcileSearch, AbsentAfterAnEmptyList) {
  ReconcileSearch s({}, kIntent, small_pages());
  EXPECT_EQ(s.on_page({}), Next::absent);
}

TEST(ReconcileSearch, AbsentAfterAPageOlderThanTheWindow) {
  ReconcileSearch s(known_ids(3), kIntent, small_pages());
  EXPECT_EQ(s.on_page(known_page(3)), Next::fetch_next_page);
  // A full page, every task created before the window: unknown ids there are
  // someone else's older tasks, not candidates.
  EXPECT_EQ(s.on_page({task("a", kWindowStart - 1), task("b", kWindowStart - 1000), task("c", 0)}), Next::absent);
  EXPECT_EQ(s.page(), 2);
  EXPECT_EQ(s.candidate_count(), 0u);
}

TEST(ReconcileSearch, WindowStartIsInclusive) {
  ReconcileSearch s({}, kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("edge", kWindowStart), task("before", kWindowStart - 1)}), Next::found);
  EXPECT_EQ(s.found_id(), "edge");
}

TEST(ReconcileSearch, SlackComesFromThePolicy) {
  ErrorPolicy p = small_pages();
  p.reconcile_slack = 0ms;
  ReconcileSearch s({}, kIntent, p);
  EXPECT_EQ(s.window_start_ms(), kIntent);
  EXPECT_EQ(s.on_page({task("after", kIntent), task("skewed", kIntent - 1)}), Next::found);
  EXPECT_EQ(s.found_id(), "after");
}

TEST(ReconcileSearch, AmbiguousWhenSeveralUnrecordedTasksAppeared) {
  ReconcileSearch s(known_ids(1), kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("x"), task("known-0"), task("y")}), Next::fetch_next_page);
  EXPECT_EQ(s.on_page({task("z")}), Next::ambiguous);
  EXPECT_EQ(s.candidate_count(), 3u);
  EXPECT_EQ(s.candidates(), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(s.found_id(), "");
  EXPECT_EQ(s.describe(), "3 unrecorded tasks appeared after the lost submit");
}

TEST(ReconcileSearch, AmbiguousOnTwoCandidates) {
  ReconcileSearch s({}, kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("x"), task("y")}), Next::ambiguous);
  EXPECT_EQ(s.describe(), "2 unrecorded tasks appeared after the lost submit");
}

TEST(ReconcileSearch, KnownIdsAreNeverCandidates) {
  ReconcileSearch s({"a", "b", "c"}, kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("a"), task("b")}), Next::absent);
  ReconcileSearch t({"a", "b", "c"}, kIntent, small_pages());
  EXPECT_EQ(t.on_page({task("a"), task("d"), task("c")}), Next::fetch_next_page);
  EXPECT_EQ(t.on_page({task("b")}), Next::found);
  EXPECT_EQ(t.found_id(), "d");
}

TEST(ReconcileSearch, TasksWithoutCreationTimeCountAsInWindow) {
  ReconcileSearch s({"k"}, kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("k", std::nullopt), task("n", std::nullopt)}), Next::found);
  EXPECT_EQ(s.found_id(), "n");
  // A full page of undated known tasks is not "older than the window".
  ReconcileSearch t(known_ids(3), kIntent, small_pages());
  EXPECT_EQ(t.on_page({task("known-0", std::nullopt), task("known-1", std::nullopt),
                       task("known-2", std::nullopt)}),
            Next::fetch_next_page);
  // One undated task keeps an otherwise old page from ending the search.
  EXPECT_EQ(t.on_page({task("o1", 1), task("o2", 2), task("known-0", std::nullopt)}), Next::fetch_next_page);
  EXPECT_EQ(t.page(), 3);
  EXPECT_EQ(t.candidate_count(), 0u);
}

TEST(ReconcileSearch, PageLimitEndsTheSearch) {
  ReconcileSearch s(known_ids(9), kIntent, small_pages(3, 3));
  EXPECT_EQ(s.on_page(known_page(3, 0)), Next::fetch_next_page);
  EXPECT_EQ(s.on_page(known_page(3, 3)), Next::fetch_next_page);
  EXPECT_EQ(s.page(), 3);
  // The third page is full and in the window, but it is the last one allowed:
  // the unread pages may hold the task, so the outcome is unknown (issue 7,
  // case 3: never "absent" here, that would resubmit).
  EXPECT_EQ(s.on_page(known_page(3, 6)), Next::ambiguous);
  EXPECT_TRUE(s.exhausted());
  EXPECT_NE(s.describe().find("after 3 pages"), std::string::npos) << s.describe();
  EXPECT_EQ(s.page(), 3);

  ReconcileSearch t(known_ids(9), kIntent, small_pages(3, 3));
  t.on_page({task("new"), task("known-0"), task("known-1")});
  t.on_page(known_page(3, 2));
  // One candidate seen, but later pages may hold more: still unknown.
  EXPECT_EQ(t.on_page(known_page(3, 5)), Next::ambiguous);
  EXPECT_TRUE(t.exhausted());
  EXPECT_EQ(t.found_id(), "");

  // A short last page ends the list: not exhausted.
  ReconcileSearch u(known_ids(9), kIntent, small_pages(3, 3));
  u.on_page({task("new"), task("known-0"), task("known-1")});
  u.on_page(known_page(3, 2));
  EXPECT_EQ(u.on_page(known_page(2, 5)), Next::found);
  EXPECT_FALSE(u.exhausted());
  EXPECT_EQ(u.found_id(), "new");
}

TEST(ReconcileSearch, DefaultPolicyReadsTwentyPagesOfFifty) {
  std::unordered_set<std::string> known;
  for (int i = 0; i < 20 * 50; ++i) known.insert("known-" + std::to_string(i));
  ReconcileSearch s(std::move(known), kIntent, ErrorPolicy{});
  for (int page = 1; page < 20; ++page) {
    ASSERT_EQ(s.page(), page);
    ASSERT_EQ(s.on_page(known_page(50, (page - 1) * 50)), Next::fetch_next_page);
  }
  EXPECT_EQ(s.page(), 20);
  EXPECT_EQ(s.on_page(known_page(50, 19 * 50)), Next::ambiguous);
  EXPECT_TRUE(s.exhausted());
}

TEST(ReconcileSearch, ATaskListedTwiceCountsTwice) {
  // The list may shift while it is paged; like the engine's reconcile(), the
  // search does not merge repeats, so the row is held rather than guessed.
  ReconcileSearch s({}, kIntent, small_pages(2));
  EXPECT_EQ(s.on_page({task("n"), task("m", std::nullopt)}), Next::fetch_next_page);
  EXPECT_EQ(s.on_page({task("n")}), Next::ambiguous);
  EXPECT_EQ(s.candidate_count(), 3u);
}

TEST(ReconcileSearch, PagesAfterTheEndChangeNothing) {
  ReconcileSearch s({}, kIntent, small_pages());
  EXPECT_EQ(s.on_page({task("n")}), Next::found);
  EXPECT_EQ(s.on_page({task("x"), task("y"), task("z")}), Next::found);
  EXPECT_EQ(s.candidate_count(), 1u);
  EXPECT_EQ(s.found_id(), "n");
  EXPECT_EQ(s.page(), 1);
}

TEST(ReconcileSearch, LimitsBelowOneCountAsOne) {
  ErrorPolicy p;
  p.reconcile_page_size = 0;
  p.reconcile_pages = -1;
  ReconcileSearch s({}, kIntent, p);
  EXPECT_EQ(s.page_size(), 1);
  // A full page in the window, and the only page allowed: unknown.
  EXPECT_EQ(s.on_page({task("n")}), Next::ambiguous);
  EXPECT_TRUE(s.exhausted());
}

TEST(ReconcileSearch, NextNames) {
  EXPECT_STREQ(to_string(Next::fetch_next_page), "fetch_next_page");
  EXPECT_STREQ(to_string(Next::found), "found");
  EXPECT_STREQ(to_string(Next::absent), "absent");
  EXPECT_STREQ(to_string(Next::ambiguous), "ambiguous");
}

}  // namespace
}  // namespace reelbatch
