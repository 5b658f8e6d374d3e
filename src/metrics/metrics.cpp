#include "src/metrics/metrics.hpp"

#include "src/engine/engine.hpp"
#include "storage/job_store.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace reelbatch {
namespace prom = prometheus;

namespace {

// Seconds from a few hundred milliseconds (a lane with free slots) to a day
// (a paused profile, a long provider queue).
const prom::Histogram::BucketBoundaries kQueueWaitBuckets{0.1, 0.5, 1,    5,     15,    60,   300,
                                                          900, 1800, 3600, 14400, 43200, 86400};
// Generation takes from tens of seconds to hours (provider queues).
const prom::Histogram::BucketBoundaries kSubmitToDoneBuckets{10,   30,   60,    120,   300,   600,  1200,
                                                             1800, 3600, 7200, 14400, 28800, 86400};
// Signed URLs live from an hour (juhuo) to days; less than a few minutes
// left is the danger zone.
const prom::Histogram::BucketBoundaries kUrlSlackBuckets{0,    60,    300,   900,    1800,
                                                         3600, 21600, 86400, 259200, 604800};

std::string str(std::string_view s) { return std::string(s); }

// Removes the series with `labels` from `family` when it exists.
template <class T>
void remove_series(prom::Family<T>& family, const prom::Labels& labels) {
  if (family.Has(labels)) family.Remove(&family.Add(labels));
}

}  // namespace

struct Metrics::Impl {
  explicit Impl(MetricsOptions o) : options(std::move(o)), registry(std::make_shared<prom::Registry>()) {}

  MetricsOptions options;
  std::shared_ptr<prom::Registry> registry;

  prom::Family<prom::Gauge>& jobs = prom::BuildGauge()
                                        .Name("reelbatch_jobs")
                                        .Help("Jobs in the database by profile and state (read at scrape).")
                                        .Register(*registry);
  prom::Family<prom::Gauge>& lane_in_flight = prom::BuildGauge()
                                                  .Name("reelbatch_lane_in_flight")
                                                  .Help("Lane slots taken (submitting and running tasks).")
                                                  .Register(*registry);
  prom::Family<prom::Gauge>& lane_capacity = prom::BuildGauge()
                                                 .Name("reelbatch_lane_capacity")
                                                 .Help("Lane slots of the profile (max_in_flight).")
                                                 .Register(*registry);
  prom::Family<prom::Gauge>& lane_queued = prom::BuildGauge()
                                               .Name("reelbatch_lane_queued")
                                               .Help("Claimed pending jobs waiting for a lane slot.")
                                               .Register(*registry);
  prom::Family<prom::Gauge>& paused = prom::BuildGauge()
                                          .Name("reelbatch_profile_paused")
                                          .Help("1 while the profile is paused (user, auth, out of credit).")
                                          .Register(*registry);
  prom::Family<prom::Gauge>& throttled = prom::BuildGauge()
                                             .Name("reelbatch_profile_throttled")
                                             .Help("1 while the profile waits out a rate limit (429).")
                                             .Register(*registry);
  prom::Family<prom::Gauge>& downloads_queued = prom::BuildGauge()
                                                    .Name("reelbatch_downloads_queued")
                                                    .Help("Jobs waiting for a download worker.")
                                                    .Register(*registry);
  prom::Family<prom::Counter>& requests =
      prom::BuildCounter()
          .Name("reelbatch_requests_total")
          .Help("Provider requests and output fetches by profile, kind and outcome.")
          .Register(*registry);
  prom::Family<prom::Counter>& rate_limited = prom::BuildCounter()
                                                  .Name("reelbatch_rate_limited_total")
                                                  .Help("Requests answered with a rate limit (HTTP 429).")
                                                  .Register(*registry);
  prom::Family<prom::Counter>& retries = prom::BuildCounter()
                                             .Name("reelbatch_retries_total")
                                             .Help("Things tried again, by profile and reason.")
                                             .Register(*registry);
  prom::Family<prom::Counter>& transitions = prom::BuildCounter()
                                                 .Name("reelbatch_job_transitions_total")
                                                 .Help("Committed job state changes by profile and new state.")
                                                 .Register(*registry);
  prom::Family<prom::Histogram>& submit_to_done =
      prom::BuildHistogram()
          .Name("reelbatch_submit_to_done_seconds")
          .Help("Seconds from the submit POST to the outputs on disk, per finished job.")
          .Register(*registry);
  prom::Family<prom::Histogram>& queue_wait = prom::BuildHistogram()
                                                  .Name("reelbatch_queue_wait_seconds")
                                                  .Help("Seconds a job waited in pending before a lane admitted it.")
                                                  .Register(*registry);
  prom::Family<prom::Counter>& download_bytes = prom::BuildCounter()
                                                    .Name("reelbatch_download_bytes_total")
                                                    .Help("Bytes of finished videos downloaded.")
                                                    .Register(*registry);
  prom::Family<prom::Gauge>& url_slack =
      prom::BuildGauge()
          .Name("reelbatch_download_url_slack_seconds")
          .Help("Least seconds left before the output URL of a downloading job expires (negative: expired).")
          .Register(*registry);
  prom::Family<prom::Histogram>& url_slack_at_done =
      prom::BuildHistogram()
          .Name("reelbatch_download_url_slack_at_done_seconds")
          .Help("Seconds the output URL had left when the job's download finished.")
          .Register(*registry);
  prom::Family<prom::Counter>& credits_charged =
      prom::BuildCounter()
          .Name("reelbatch_credits_charged_total")
          .Help("Credits charged by tasks that succeeded while this process ran, in the profile's unit.")
          .Register(*registry);
  prom::Family<prom::Gauge>& credits_spent =
      prom::BuildGauge()
          .Name("reelbatch_credits_spent")
          .Help("Credits spent by the profile's finished tasks (all time), in the profile's unit.")
          .Register(*registry);
  prom::Family<prom::Counter>& watch_files = prom::BuildCounter()
                                                 .Name("reelbatch_watch_files_total")
                                                 .Help("Watch-folder files by folder and outcome.")
                                                 .Register(*registry);

  std::mutex mutex;  // guards the members below and serializes scrapes
  std::unordered_map<std::int64_t, std::int64_t> pending_since_ms;  // job id -> entered pending (Unix ms)
  std::set<std::string> scraped_profiles;  // profiles the job gauges were last set for
  std::set<std::string> lane_profiles;     // profiles the lane gauges were last set for

  std::string unit(std::string_view profile) const {
    auto it = options.credit_units.find(str(profile));
    return it == options.credit_units.end() ? "credit" : it->second;
  }
};

Metrics::Metrics(MetricsOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Metrics::~Metrics() = default;

prom::Registry& Metrics::registry() { return *impl_->registry; }

void Metrics::on_request(std::string_view profile, RequestKind kind, RequestOutcome outcome) {
  impl_->requests.Add({{"profile", str(profile)}, {"kind", to_string(kind)}, {"outcome", to_string(outcome)}})
      .Increment();
  if (outcome == RequestOutcome::rate_limited)
    impl_->rate_limited.Add({{"profile", str(profile)}, {"kind", to_string(kind)}}).Increment();
}

void Metrics::on_retry(std::string_view profile, std::string_view reason) {
  impl_->retries.Add({{"profile", str(profile)}, {"reason", str(reason)}}).Increment();
}

void Metrics::on_transition(const StateChange& c) {
  Impl& m = *impl_;
  const std::string profile = str(c.profile);
  if (c.from != c.to) m.transitions.Add({{"profile", profile}, {"to", to_string(c.to)}}).Increment();

  // Queue wait, each measured on one clock: from the job's entry into
  // pending when this process saw it (engine clock), else from its previous
  // write (ingest, or its last change before this process) to this one
  // (store clock).
  std::optional<std::int64_t> waited_ms;
  {
    std::lock_guard lock(m.mutex);
    if (c.to == JobState::pending && c.from != JobState::pending) {
      m.pending_since_ms[c.job.id] = c.at_ms;
    } else if (c.from == JobState::pending && c.to != JobState::pending) {
      auto it = m.pending_since_ms.find(c.job.id);
      if (it != m.pending_since_ms.end()) {
        waited_ms = c.at_ms - it->second;
        m.pending_since_ms.erase(it);
      } else if (c.prev_updated_ms > 0 && c.job.updated_at_ms > 0) {
        waited_ms = c.job.updated_at_ms - c.prev_updated_ms;
      }
    }
  }
  if (c.from == JobState::pending && c.to == JobState::uploading && waited_ms)
    m.queue_wait.Add({{"profile", profile}}, kQueueWaitBuckets)
        .Observe(static_cast<double>(std::max<std::int64_t>(0, *waited_ms)) / 1000.0);

  if (c.to == JobState::succeeded && c.from == JobState::downloading) {
    if (c.job.intent_at_ms > 0)
      m.submit_to_done.Add({{"profile", profile}}, kSubmitToDoneBuckets)
          .Observe(std::max<std::int64_t>(0, c.at_ms - c.job.intent_at_ms) / 1000.0);
    if (c.job.url_expires_at_ms > 0)
      m.url_slack_at_done.Add({{"profile", profile}}, kUrlSlackBuckets)
          .Observe((c.job.url_expires_at_ms - c.at_ms) / 1000.0);
  }
}

void Metrics::on_download_bytes(std::string_view profile, std::uint64_t bytes) {
  impl_->download_bytes.Add({{"profile", str(profile)}}).Increment(static_cast<double>(bytes));
}

void Metrics::on_credits(std::string_view profile, double credits) {
  if (!std::isfinite(credits) || credits < 0) return;
  impl_->credits_charged.Add({{"profile", str(profile)}, {"unit", impl_->unit(profile)}}).Increment(credits);
}

void Metrics::watch_file(std::string_view folder, std::string_view outcome) {
  impl_->watch_files.Add({{"folder", str(folder)}, {"outcome", str(outcome)}}).Increment();
}

std::string Metrics::scrape(const JobStore& store, const std::vector<std::string>& profiles,
                            const EngineSnapshot* snapshot, std::int64_t now_unix_ms) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mutex);

  // Jobs by state and profile, and the URL slack of downloading jobs.
  const std::set<std::string> current(profiles.begin(), profiles.end());
  for (const auto& gone : m.scraped_profiles) {
    if (current.contains(gone)) continue;
    for (JobState s : kAllJobStates) remove_series(m.jobs, {{"profile", gone}, {"state", to_string(s)}});
    remove_series(m.url_slack, {{"profile", gone}});
  }
  for (const auto& name : current) {
    JobFilter f;
    f.profile = name;
    const auto counts = store.count_by_state(f);
    for (JobState s : kAllJobStates) {
      auto it = counts.find(s);
      m.jobs.Add({{"profile", name}, {"state", to_string(s)}}).Set(it == counts.end() ? 0 : it->second);
    }
    std::int64_t least = std::numeric_limits<std::int64_t>::max();
    bool any = false;
    JobQuery q;
    q.filter.profile = name;
    q.filter.states = {JobState::downloading};
    if (counts.contains(JobState::downloading)) {
      for (;;) {
        auto page = store.jobs(q);
        for (const auto& j : page.jobs) {
          if (j.url_expires_at_ms <= 0) continue;
          least = std::min(least, j.url_expires_at_ms - now_unix_ms);
          any = true;
        }
        if (!page.next_after_seq) break;
        q.after_seq = *page.next_after_seq;
      }
    }
    if (any)
      m.url_slack.Add({{"profile", name}}).Set(static_cast<double>(least) / 1000.0);
    else
      remove_series(m.url_slack, {{"profile", name}});
  }
  m.scraped_profiles = current;

  // Lanes, from the engine's snapshot.
  std::set<std::string> lanes;
  if (snapshot != nullptr) {
    for (const auto& l : snapshot->lanes) {
      const prom::Labels labels{{"profile", l.profile}};
      m.lane_in_flight.Add(labels).Set(l.in_flight);
      m.lane_capacity.Add(labels).Set(l.max_in_flight);
      m.lane_queued.Add(labels).Set(static_cast<double>(l.queued));
      m.paused.Add(labels).Set(l.pause_reason.empty() ? 0 : 1);
      m.throttled.Add(labels).Set(l.throttled ? 1 : 0);
      m.credits_spent.Add({{"profile", l.profile}, {"unit", m.unit(l.profile)}}).Set(l.credits_spent);
      lanes.insert(l.profile);
    }
    m.downloads_queued.Add({}).Set(static_cast<double>(snapshot->downloads_queued));
  } else {
    remove_series(m.downloads_queued, {});
  }
  for (const auto& gone : m.lane_profiles) {
    if (lanes.contains(gone)) continue;
    const prom::Labels labels{{"profile", gone}};
    for (auto* f : {&m.lane_in_flight, &m.lane_capacity, &m.lane_queued, &m.paused, &m.throttled})
      remove_series(*f, labels);
    remove_series(m.credits_spent, {{"profile", gone}, {"unit", m.unit(gone)}});
  }
  m.lane_profiles = std::move(lanes);

  std::ostringstream out;
  prom::TextSerializer().Serialize(out, m.registry->Collect());
  return out.str();
}

}  // namespace reelbatch
