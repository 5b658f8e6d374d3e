// A profile's request budgets and poll schedule (budget.hpp).
#include "src/engine/budget.hpp"

#include <algorithm>

namespace reelbatch {

RateWindow make_submit_window(const ProfileConfig& c, const Clock& clock, const JobStore& store) {
  RateWindow w = RateWindow::per_minute(c.submit_per_minute, kBudgetMargin);
  const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(w.window() + w.margin()) +
                    std::chrono::milliseconds(1);
  const std::int64_t store_now = now_ms();
  const SteadyTime steady_now = clock.now();
  for (const std::int64_t t : store.submit_times_since(c.name, store_now - span.count())) {
    const std::int64_t age = std::max<std::int64_t>(0, store_now - t);  // a future stamp counts as now
    w.record(steady_now - std::chrono::milliseconds(age));
  }
  return w;
}

RateWindow make_poll_window(const ProfileConfig& c) { return RateWindow::per_minute(c.poll_per_minute, kBudgetMargin); }

PollSchedule make_poll_schedule(const Provider& provider) {
  const PollPolicy pp = effective_poll(provider);
  PollSchedule s{pp.first_wait, pp.interval, pp.max_interval};
  // An explicit poll_interval is the operator's choice (e.g. polling a
  // time-compressed emulator every 50 ms) and is its own floor.
  s.min_interval = provider.profile().poll_interval ? std::chrono::milliseconds(0) : provider.default_poll().interval;
  return s;
}

}  // namespace reelbatch
