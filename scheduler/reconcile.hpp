// Settling a submit whose response was lost: which task, if any, did it
// create? A sans-io search over the provider's task list (newest first): the
// engine asks which page to read, reads it (with decide_list_call() for
// retries), feeds it in and is told to read another page or what the answer
// is. No I/O, no clock.
// Implements DESIGN.md, "Invariants" 2 (never pay twice: an ambiguous submit
// is reconciled through the task list, otherwise held) and the engine's
// reconcile().
#pragma once

#include "scheduler/error_policy.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace reelbatch {

/// One task of the provider's task list, as the search needs it.
struct ListedTask {
  std::string remote_id;
  /// Creation time, Unix ms; nullopt when the provider does not say (such a
  /// task counts as created inside the window).
  std::optional<std::int64_t> created_at_ms;
};

/// The search for the task a lost submit created.
///
/// A listed task is a candidate when it was created at or after
/// intent_at_ms - reconcile_slack (or its time is unknown) and its id is not
/// among the ids already recorded for the profile. Pages are read from 1
/// while the last page was full (reconcile_page_size tasks) and held at
/// least one task inside the window, up to reconcile_pages pages. Then:
/// 0 candidates -> absent (the submit created nothing: submit again),
/// 1 -> found, more -> ambiguous (hold the row for a human).
/// When the page limit is reached before the list reached its end or a page
/// of tasks older than the window, the search is exhausted(): the unread
/// pages may hold the task (or more candidates), so the answer is ambiguous
/// whatever was seen (never absent: that would resubmit and may pay twice;
/// issue 7, "Reconcile").
class ReconcileSearch {
 public:
  /// What the engine does next.
  enum class Next {
    fetch_next_page,  ///< list page page() with page_size() tasks, feed it to on_page()
    found,            ///< the lost submit created found_id(): poll it (reconciled_found)
    absent,           ///< it created nothing: queue the row again (reconciled_absent)
    ambiguous,        ///< several candidates: hold the row (reconcile_inconclusive), see describe()
  };

  /// `known_remote_ids`: remote ids already recorded for this profile (never
  /// candidates). `intent_at_ms`: when the submit intent was recorded, Unix
  /// ms. `policy`: reconcile_pages, reconcile_page_size (values below 1
  /// count as 1) and reconcile_slack. Never throws beyond allocation.
  ReconcileSearch(std::unordered_set<std::string> known_remote_ids, std::int64_t intent_at_ms,
                  const ErrorPolicy& policy);

  /// The current step: fetch_next_page until a page ends the search.
  Next next() const { return next_; }

  /// The 1-based number of the page to list next (while fetch_next_page;
  /// afterwards the last page read).
  int page() const { return page_; }

  /// Tasks to ask for per page (reconcile_page_size, >= 1).
  int page_size() const { return page_size_; }

  /// The earliest creation time (Unix ms) of a candidate:
  /// intent_at_ms - reconcile_slack.
  std::int64_t window_start_ms() const { return window_start_ms_; }

  /// Feeds page page() of the task list, newest first, and returns next().
  /// The search ends when the page is shorter than page_size(), when every
  /// task on a non-empty page was created before the window, or when
  /// reconcile_pages pages have been read. Calls after the search ended
  /// change nothing and return next(). Never throws beyond allocation.
  Next on_page(const std::vector<ListedTask>& tasks);

  /// Candidates seen so far (a task listed on two pages counts twice, as in
  /// the engine's reconcile()).
  std::size_t candidate_count() const { return candidates_.size(); }

  /// True when the search ended because reconcile_pages pages were read
  /// while every page was full and reached into the window (next() is then
  /// ambiguous).
  bool exhausted() const { return exhausted_; }

  /// The candidates seen so far, in list order.
  const std::vector<std::string>& candidates() const { return candidates_; }

  /// For found: the task's remote id. Empty otherwise.
  const std::string& found_id() const;

  /// Why the search ended, for logs and the held row's message:
  /// ambiguous: "N unrecorded tasks appeared after the lost submit", or when
  /// exhausted(): "the task list still had tasks newer than the lost submit
  /// after N pages (M unrecorded seen); its outcome is unknown";
  /// found: "the lost submit created task ID";
  /// absent: "the lost submit created no task";
  /// fetch_next_page: "the task list is still being read".
  std::string describe() const;

 private:
  void finish();

  std::unordered_set<std::string> known_;
  std::int64_t window_start_ms_ = 0;
  int max_pages_ = 1;
  int page_size_ = 1;
  int page_ = 1;
  Next next_ = Next::fetch_next_page;
  bool exhausted_ = false;
  std::vector<std::string> candidates_;
};

/// The enumerator's name ("fetch_next_page", "found", "absent",
/// "ambiguous"). Never null.
const char* to_string(ReconcileSearch::Next n);

}  // namespace reelbatch
