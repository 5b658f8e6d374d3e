#include "src/core/job_state.hpp"

#include <utility>

namespace reelbatch {

namespace {

constexpr std::array<std::pair<JobState, const char*>, 10> kStateNames{{
    {JobState::pending, "pending"},
    {JobState::uploading, "uploading"},
    {JobState::submitting, "submitting"},
    {JobState::running, "running"},
    {JobState::downloading, "downloading"},
    {JobState::succeeded, "succeeded"},
    {JobState::failed, "failed"},
    {JobState::cancelled, "cancelled"},
    {JobState::held, "held"},
    {JobState::expired, "expired"},
}};

}  // namespace

bool is_terminal(JobState s) {
  return s == JobState::succeeded || s == JobState::failed || s == JobState::cancelled || s == JobState::expired;
}

bool occupies_slot(JobState s) { return s == JobState::submitting || s == JobState::running; }

const char* to_string(JobState s) {
  for (const auto& [state, name] : kStateNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<JobState> job_state_from_string(std::string_view s) {
  for (const auto& [state, name] : kStateNames)
    if (s == name) return state;
  return std::nullopt;
}

}  // namespace reelbatch
