// A profile's request budgets and poll schedule (budget.hpp).
#include "src/engine/budget.hpp"

#include <algorithm>

namespace reelbatch {

namespace {

// Records into `w` the stored Unix times `times` (the store's clock), mapped
// onto `clock`'s steady time by their age.
void seed(RateWindow& w, const std::vector<std::int64_t>& times, std::int64_t store_now, SteadyTime steady_now) {
  for (const std::int64_t t : times) {
    const std::int64_t age = std::max<std::int64_t>(0, store_now - t);  // a future stamp counts as now
    w.record(steady_now - std::chrono::milliseconds(age));
  }
}

std::int64_t window_span_ms(const RateWindow& w) {
  return (std::chrono::duration_cast<std::chrono::milliseconds>(w.window() + w.margin()) +
          std::chrono::milliseconds(1))
      .count();
}

}  // namespace

RateWindow make_submit_window(const ProfileConfig& c, const Clock& clock, const JobStore& store) {
  RateWindow w = RateWindow::per_minute(c.submit_per_minute, kBudgetMargin);
  const std::int64_t store_now = now_ms();
  seed(w, store.submit_times_since(c.name, store_now - window_span_ms(w)), store_now, clock.now());
  return w;
}

RateWindow make_poll_window(const ProfileConfig& c, const Clock& clock, const JobStore& store) {
  RateWindow w = RateWindow::per_minute(c.poll_per_minute, kBudgetMargin);
  const std::int64_t store_now = now_ms();
  seed(w, store.poll_times_since(c.name, store_now - window_span_ms(w)), store_now, clock.now());
  return w;
}

void save_poll_window(const std::string& profile, const RateWindow& window, SteadyTime& saved_through,
                      const Clock& clock, JobStore& store) {
  const SteadyTime steady_now = clock.now();
  const std::int64_t store_now = now_ms();
  std::vector<std::int64_t> times;
  SteadyTime latest = saved_through;
  for (const SteadyTime g : window.grants()) {
    if (g <= saved_through || g > steady_now) continue;
    times.push_back(store_now - std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - g).count());
    latest = std::max(latest, g);
  }
  if (times.empty()) return;
  store.record_poll_times(profile, times);
  saved_through = latest;
}

PollSchedule make_poll_schedule(const Provider& provider) {
  const PollPolicy pp = effective_poll(provider);
  PollSchedule s{pp.first_wait, pp.interval, pp.max_interval};
  // An explicit poll_interval is the operator's choice (e.g. polling a
  // time-compressed emulator every 50 ms) and is its own floor.
  s.min_interval = provider.profile().poll_interval ? std::chrono::milliseconds(0) : provider.default_poll().interval;
  return s;
}

}  // namespace reelbatch
