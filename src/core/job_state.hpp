// Where a job (one manifest row) is: the typed state every layer shares.
// The transitions between states are decided by scheduler/job_state.hpp;
// the store keeps the names from to_string() (DESIGN.md, "Invariants" 1).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace reelbatch {

/// The states of a job. The names from to_string() are what the store keeps
/// in `jobs.state`; do not rename them.
enum class JobState {
  pending,      ///< ingested, waiting for a lane slot
  uploading,    ///< uploading reference assets (free, repeatable)
  submitting,   ///< intent recorded, submit POST in flight (a crash here is ambiguous)
  running,      ///< remote task id known, polling
  downloading,  ///< remote task succeeded, output URLs recorded
  succeeded,    ///< terminal: file on disk, checksum recorded
  failed,       ///< terminal: with the provider's error or ours
  cancelled,    ///< terminal
  held,         ///< a submit's outcome is unknown and could not be reconciled;
                ///< waits for an explicit decision, never resubmitted silently
  expired,      ///< terminal: the remote task succeeded (paid) but its outputs could
                ///< not be fetched before the URL deadline (the recorded URL expiry,
                ///< moved on by each re-signed link); the error names the deadline.
                ///< Terminal because nothing the engine does by itself can bring the
                ///< link back; `reelbatch retry` re-queries the task (fresh links)
                ///< and downloads again, never resubmits.
};

/// Every state, in flow order (for listings and counts).
inline constexpr std::array<JobState, 10> kAllJobStates{
    JobState::pending,   JobState::uploading, JobState::submitting, JobState::running,
    JobState::downloading, JobState::succeeded, JobState::failed,   JobState::expired,
    JobState::cancelled, JobState::held};

/// True for succeeded, failed, expired and cancelled: the engine will never
/// change the job by itself again (only a user's `retry` can).
bool is_terminal(JobState s);

/// True for submitting and running: the provider is (or may be) generating
/// for us, so the job holds one of the profile's max_in_flight slots.
bool occupies_slot(JobState s);

/// The state's name as stored ("pending", "uploading", ...), equal to the
/// enumerator's name. Never null.
const char* to_string(JobState s);

/// The state named `s` (exact, lower case, as written by to_string), or
/// nullopt for any other text.
std::optional<JobState> job_state_from_string(std::string_view s);

}  // namespace reelbatch
