// reelbatch's Prometheus metrics (issue 12, "Metrics"): an EngineObserver
// that counts what the engine reports, plus gauges filled at scrape time from
// the store and the engine's snapshot, rendered in the Prometheus text
// exposition format 0.0.4 by prometheus-cpp's TextSerializer. The daemon
// serves scrape() at GET /metrics of its admin API.
//
// Families (every name `reelbatch_`-prefixed; counters end in `_total`,
// durations are in seconds, sizes in bytes):
//   reelbatch_jobs{profile,state}                        gauge, from the store at scrape
//   reelbatch_lane_in_flight{profile}                     gauge, slots taken (snapshot)
//   reelbatch_lane_capacity{profile}                      gauge, max_in_flight (snapshot)
//   reelbatch_lane_queued{profile}                        gauge, claimed jobs waiting for a slot
//   reelbatch_profile_paused{profile}                     gauge, 1 while paused
//   reelbatch_profile_throttled{profile}                  gauge, 1 while waiting out a 429
//   reelbatch_downloads_queued                            gauge
//   reelbatch_requests_total{profile,kind,outcome}        counter, provider requests and output fetches
//   reelbatch_rate_limited_total{profile,kind}            counter, 429 answers
//   reelbatch_retries_total{profile,reason}               counter (EngineObserver::on_retry reasons)
//   reelbatch_job_transitions_total{profile,to}           counter, committed state changes by target state
//   reelbatch_submit_to_done_seconds{profile}             histogram, submit POST to outputs on disk
//   reelbatch_queue_wait_seconds{profile}                 histogram, pending to admitted
//   reelbatch_download_bytes_total{profile}               counter, finished videos' bytes
//   reelbatch_download_url_slack_seconds{profile}         gauge, least time left before a downloading
//                                                         job's output URL expires (absent: none downloading)
//   reelbatch_download_url_slack_at_done_seconds{profile} histogram, URL time left when a download finished
//   reelbatch_credits_charged_total{profile,unit}         counter, credits charged by tasks succeeding here
//   reelbatch_credits_spent{profile,unit}                 gauge, all credits spent by the profile (snapshot)
//   reelbatch_watch_files_total{folder,outcome}           counter, watch-folder files by outcome
//
// Thread-safety: every method may be called from any thread. The observer
// methods are called by the engine on its executor; scrape() reads the store
// and must be called where that store instance may be used (JobStore: one
// thread at a time; the engine's executor, or a store opened for the caller).
#pragma once

#include "src/engine/observer.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}

namespace reelbatch {

class JobStore;
struct EngineSnapshot;

struct MetricsOptions {
  /// The credit unit label of each profile's credit metrics (the unit its
  /// provider bills in, e.g. "credit", "usd"); profiles not listed: "credit".
  std::map<std::string, std::string> credit_units;
};

class Metrics final : public EngineObserver {
 public:
  /// Registers every family (empty until used) in a registry of its own.
  explicit Metrics(MetricsOptions options = {});
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // ---- EngineObserver (src/engine/observer.hpp) -------------------------------
  /// +1 reelbatch_requests_total{profile,kind,outcome}; a rate_limited
  /// outcome also +1 reelbatch_rate_limited_total{profile,kind}.
  void on_request(std::string_view profile, RequestKind kind, RequestOutcome outcome) override;
  /// +1 reelbatch_retries_total{profile,reason}.
  void on_retry(std::string_view profile, std::string_view reason) override;
  /// +1 reelbatch_job_transitions_total{profile,to}; on admission (pending ->
  /// uploading) observes the queue wait: seconds since the job entered
  /// pending, when this process saw that, else since its previous write
  /// (StateChange::prev_updated_ms to job.updated_at_ms); on download_done observes
  /// submit-to-done (at_ms - job.intent_at_ms, when an intent is recorded)
  /// and the URL slack left (job.url_expires_at_ms - at_ms).
  void on_transition(const StateChange& change) override;
  /// reelbatch_download_bytes_total{profile} += bytes.
  void on_download_bytes(std::string_view profile, std::uint64_t bytes) override;
  /// reelbatch_credits_charged_total{profile,unit} += credits (ignored when
  /// not finite or negative).
  void on_credits(std::string_view profile, double credits) override;

  // ---- for the watch-folder service ------------------------------------------
  /// +1 reelbatch_watch_files_total{folder,outcome}. `outcome` is a short
  /// [a-z_]+ word chosen by the caller ("done", "failed", "duplicate",
  /// "ignored"); `folder` the watch folder's configured path.
  void watch_file(std::string_view folder, std::string_view outcome);

  /// Fills the scrape-time gauges and returns every family in Prometheus
  /// text format (Content-Type: text/plain; version=0.0.4).
  /// `profiles`: the configured profile names (jobs are counted per profile
  /// with JobStore::count_by_state; gauges of profiles no longer listed are
  /// removed). `snapshot`: the engine's (Engine::snapshot()), or nullptr
  /// when no engine runs (lane gauges are then removed). `now_unix_ms`: Unix
  /// ms now, for URL slack. Throws what the store throws (database
  /// failures).
  std::string scrape(const JobStore& store, const std::vector<std::string>& profiles,
                     const EngineSnapshot* snapshot, std::int64_t now_unix_ms);

  /// The registry, to add families of other components before scraping.
  prometheus::Registry& registry();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelbatch
