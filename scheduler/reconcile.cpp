#include "scheduler/reconcile.hpp"

#include <algorithm>
#include <limits>

namespace reelbatch {

namespace {

// intent - slack, saturating instead of overflowing.
std::int64_t window_start(std::int64_t intent_at_ms, std::chrono::milliseconds slack) {
  const std::int64_t s = std::max<std::int64_t>(0, slack.count());
  constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
  return intent_at_ms < lowest + s ? lowest : intent_at_ms - s;
}

}  // namespace

ReconcileSearch::ReconcileSearch(std::unordered_set<std::string> known_remote_ids, std::int64_t intent_at_ms,
                                 const ErrorPolicy& policy)
    : known_(std::move(known_remote_ids)),
      window_start_ms_(window_start(intent_at_ms, policy.reconcile_slack)),
      max_pages_(std::max(1, policy.reconcile_pages)),
      page_size_(std::max(1, policy.reconcile_page_size)) {}

ReconcileSearch::Next ReconcileSearch::on_page(const std::vector<ListedTask>& tasks) {
  if (next_ != Next::fetch_next_page) return next_;
  bool older_page = !tasks.empty();
  for (const auto& t : tasks) {
    const bool old = t.created_at_ms && *t.created_at_ms < window_start_ms_;
    if (!old) older_page = false;
    if (!old && !known_.contains(t.remote_id)) candidates_.push_back(t.remote_id);
  }
  if (older_page || static_cast<std::int64_t>(tasks.size()) < page_size_) {
    finish();
  } else if (page_ >= max_pages_) {
    // Out of pages with the list still inside the window: unknown.
    exhausted_ = true;
    next_ = Next::ambiguous;
  } else {
    ++page_;
  }
  return next_;
}

void ReconcileSearch::finish() {
  if (candidates_.empty()) next_ = Next::absent;
  else if (candidates_.size() == 1) next_ = Next::found;
  else next_ = Next::ambiguous;
}

const std::string& ReconcileSearch::found_id() const {
  static const std::string none;
  return next_ == Next::found ? candidates_.front() : none;
}

std::string ReconcileSearch::describe() const {
  switch (next_) {
    case Next::found:
      return "the lost submit created task " + candidates_.front();
    case Next::absent:
      return "the lost submit created no task";
    case Next::ambiguous:
      if (exhausted_)
        return "the task list still had tasks newer than the lost submit after " + std::to_string(page_) +
               " pages (" + std::to_string(candidates_.size()) + " unrecorded seen); its outcome is unknown";
      return std::to_string(candidates_.size()) + " unrecorded tasks appeared after the lost submit";
    case Next::fetch_next_page:
      break;
  }
  return "the task list is still being read";
}

const char* to_string(ReconcileSearch::Next n) {
  switch (n) {
    case ReconcileSearch::Next::fetch_next_page: return "fetch_next_page";
    case ReconcileSearch::Next::found: return "found";
    case ReconcileSearch::Next::absent: return "absent";
    case ReconcileSearch::Next::ambiguous: return "ambiguous";
  }
  return "unknown";
}

}  // namespace reelbatch
