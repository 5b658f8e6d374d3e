// The engine's run loop, plumbing, transitions, claiming and admission. The
// stages live in submit.cpp, reconcile.cpp, poll.cpp, download.cpp,
// recovery.cpp; control requests in control.cpp.
#include "src/engine/engine_impl.hpp"
#include "src/engine/observed_provider.hpp"

#include "providers/registry.hpp"
#include "src/net/http_client.hpp"
#include "src/output/results.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>

namespace reelbatch {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

// ---- Notifier ---------------------------------------------------------------------

void Notifier::notify() {
  for (auto* t : waiters_) t->cancel();
}

awaitable<void> Notifier::wait(milliseconds max) {
  auto t = clock_.make_timer();
  waiters_.push_back(t.get());
  struct Unregister {
    std::vector<Timer*>& w;
    Timer* t;
    ~Unregister() { std::erase(w, t); }
  } unregister{waiters_, t.get()};
  co_await t->async_wait_until(clock_.now() + max);
}

// ---- construction -------------------------------------------------------------------

Engine::Impl::Profile::Profile(const ProfileConfig& c, std::unique_ptr<Provider> p, Clock& clock,
                               const JobStore& store)
    : cfg(&c),
      provider(std::move(p)),
      lane(c.max_in_flight),
      submit_bucket(make_submit_window(c, clock, store)),
      poll_bucket(make_poll_window(c, clock, store)),
      poll(make_poll_schedule(*provider)),
      wake(std::make_unique<Notifier>(clock)),
      submit_free(std::make_unique<Notifier>(clock)),
      circuit_change(std::make_unique<Notifier>(clock)) {}

Engine::Impl::Impl(Engine& e, const Config& c, JobStore& s, HttpClient& h, EngineOptions o)
    : self(e),
      cfg(c),
      store(s),
      http(h),
      opts(std::move(o)),
      log(opts.log ? opts.log : spdlog::default_logger()),
      policy(opts.policy ? opts.policy : std::make_shared<const ErrorPolicy>()),
      ex(h.get_executor()),
      own_clock(opts.clock ? nullptr : make_system_clock(ex)),
      clock(opts.clock ? *opts.clock : *own_clock),
      owner(opts.owner.empty() ? make_owner_id() : opts.owner),
      download_wake(std::make_unique<Notifier>(clock)),
      changed(std::make_unique<Notifier>(clock)),
      intake_wake(std::make_unique<Notifier>(clock)),
      rng(opts.seed != 0 ? opts.seed : std::random_device{}()) {
  for (const auto& [name, pc] : cfg.profiles) profiles.emplace(name, make_profile(pc, make_adapter(pc)));
}

std::unique_ptr<Provider> Engine::Impl::make_adapter(const ProfileConfig& pc) {
  std::unique_ptr<Provider> adapter = opts.provider_factory ? opts.provider_factory(pc, http)
                                                            : make_provider(pc, http, log);
  if (opts.observer) adapter = std::make_unique<ObservedProvider>(std::move(adapter), *opts.observer);
  return adapter;
}

RemoteFailurePolicy Engine::Impl::remote_failure_policy(const ProfileConfig& pc) {
  // on_remote_failure: the profile's word, else the provider's document
  // (registry: remote_failures_free).
  if (auto v = parse_remote_failure_policy(pc.on_remote_failure)) return *v;
  const ProviderKind* kind = find_provider_kind(pc.kind);
  return kind != nullptr && kind->capabilities.remote_failures_free ? RemoteFailurePolicy::resubmit
                                                                    : RemoteFailurePolicy::fail;
}

std::unique_ptr<Engine::Impl::Profile> Engine::Impl::make_profile(const ProfileConfig& pc,
                                                                  std::unique_ptr<Provider> adapter) {
  auto prof = std::make_unique<Profile>(pc, std::move(adapter), clock, store);
  prof->circuit = Circuit(policy->circuit);
  prof->on_remote_failure = remote_failure_policy(pc);
  return prof;
}

Engine::Impl::~Impl() { pool.join(); }

// ---- plumbing ---------------------------------------------------------------------

double Engine::Impl::random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

Engine::Impl::Profile* Engine::Impl::profile_named(const std::string& name) {
  auto it = profiles.find(name);
  return it == profiles.end() ? nullptr : it->second.get();
}

Engine::Impl::Profile& Engine::Impl::profile_of(const JobRecord& j) {
  if (auto* p = profile_named(j.spec.provider)) return *p;
  throw ConfigError(cfg.source.string() + ": providers." + j.spec.provider + ": no such profile (named by job " +
                    j.key + ")");
}

namespace {

// True for the exception a cancelled coroutine ends with.
bool is_cancellation(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    return se.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

// Database failures stop the engine; anything else ends one coroutine.
bool is_database_failure(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return is_store_failure(ex);
  } catch (...) {
    return false;
  }
}

// True when `owner` ("host:pid:random", make_owner_id) names a process on
// this host that no longer exists: its leases can be released at once
// instead of waiting for them to expire (a restart after kill -9).
bool is_dead_local_owner(const std::string& owner, const std::string& me) {
  if (owner == me) return false;
  const auto c1 = owner.find(':');
  const auto c2 = owner.find(':', c1 == std::string::npos ? c1 : c1 + 1);
  if (c1 == std::string::npos || c2 == std::string::npos) return false;
  if (owner.substr(0, c1) != me.substr(0, me.find(':'))) return false;
  try {
    const long pid = std::stol(owner.substr(c1 + 1, c2 - c1 - 1));
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

namespace {

// The exception's what(), or "unknown exception".
std::string exception_message(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
  }
  return "unknown exception";
}

}  // namespace

bool Engine::Impl::report_failure(std::exception_ptr e, const std::string& what) {
  const std::string message = exception_message(e);
  if (!is_database_failure(e)) {
    logger().error("{}: {}", what, message);
    return false;
  }
  logger().critical("{}: database failure: {}", what, message);
  if (!fatal) fatal = e;
  request_stop();
  return true;
}

void Engine::Impl::spawn(awaitable<void> task, std::string what) {
  ++live;
  asio::co_spawn(ex, std::move(task), [this, what = std::move(what)](std::exception_ptr e) {
    --live;
    changed->notify();
    if (e && !is_cancellation(e)) report_failure(e, what);
  });
}

void Engine::Impl::spawn_job(ActiveJob& j, awaitable<void> task) {
  const std::int64_t id = j.rec.id;
  ++j.coroutines;
  ++live;
  asio::co_spawn(ex, std::move(task), asio::bind_cancellation_slot(j.cancel.slot(), [this, id](std::exception_ptr e) {
                   --live;
                   job_coroutine_ended(id, e);
                 }));
}

awaitable<void> Engine::Impl::run_job(ActiveJob& j, awaitable<void> task) {
  const std::int64_t id = j.rec.id;
  ++j.coroutines;
  std::exception_ptr error;
  try {
    co_await asio::co_spawn(ex, std::move(task), asio::bind_cancellation_slot(j.cancel.slot(), asio::use_awaitable));
  } catch (...) {
    error = std::current_exception();
  }
  job_coroutine_ended(id, error);
}

void Engine::Impl::job_coroutine_ended(std::int64_t id, std::exception_ptr e) {
  changed->notify();
  auto it = jobs.find(id);
  ActiveJob* j = it == jobs.end() ? nullptr : it->second.get();
  if (j != nullptr) --j->coroutines;
  if (e && !is_cancellation(e)) {
    // One bad response or bug ends this job's coroutine, not the engine: the
    // job fails with the exception's message (issue 7, case 8: left in its
    // state it was never settled and `run` never drained). A database
    // failure stops the engine instead.
    if (report_failure(e, "job " + std::to_string(id))) return;
    if (j != nullptr) {
      if (!j->lost && !is_terminal(j->rec.state)) {
        const std::string message = exception_message(e);
        j->rec.error_code = "internal_error";
        j->rec.error_message = "internal error while the job was " + std::string(to_string(j->rec.state)) + ": " +
                               message;
        if (transition(*j, JobEvent::internal_error,
                       json::object{{"message", message}, {"remote_id", j->rec.remote_id}}))
          logger().error("job {}: failed: {}", j->rec.key, j->rec.error_message);
      }
      finish(*j);
    }
    return;
  }
  if (j != nullptr && j->coroutines == 0 && (j->done || j->lost) && !stopping) finish(*j);
}

awaitable<void> Engine::Impl::sleep_for(milliseconds d) {
  if (stopping || d <= milliseconds::zero()) co_return;
  co_await sleep_until(clock.now() + d);
}

awaitable<void> Engine::Impl::sleep_until(SteadyTime tp) {
  if (stopping || tp <= clock.now()) co_return;
  auto t = clock.make_timer();
  sleepers.insert(t.get());
  struct Unregister {
    std::set<Timer*>& s;
    Timer* t;
    ~Unregister() { s.erase(t); }
  } unregister{sleepers, t.get()};
  co_await t->async_wait_until(tp);
}

void Engine::Impl::request_stop() {
  if (stopping) return;
  stopping = true;
  for (auto* t : sleepers) t->cancel();
  for (auto& [_, p] : profiles) {
    p->wake->notify();
    p->submit_free->notify();
    p->circuit_change->notify();
  }
  for (auto& [_, j] : jobs) j->cancel.emit(asio::cancellation_type::terminal);
  download_wake->notify();
  intake_wake->notify();
  changed->notify();
}

// ---- transitions ------------------------------------------------------------------

bool Engine::Impl::transition(ActiveJob& j, JobEvent ev, json::object detail, bool remote_retryable,
                              const AttemptUpdate* attempt) {
  if (j.lost) return false;
  JobRecord& r = j.rec;
  JobContext ctx;
  ctx.attempts = r.attempts;
  ctx.max_attempts = profile_of(r).cfg->max_attempts;
  ctx.remote_failure_retryable = remote_retryable;
  const auto t = next_state(r.state, ev, ctx);
  if (!t) {
    logger().error("job {}: illegal event {} in state {}", r.key, to_string(ev), to_string(r.state));
    return false;
  }
  const JobState from = r.state;
  const int attempts_before = r.attempts;
  if (t->counts_attempt) ++r.attempts;
  r.state = t->next;
  detail["event"] = to_string(ev);
  EventRecord e;
  e.kind = "state";
  e.detail = std::move(detail);
  const std::int64_t prev_updated_ms = r.updated_at_ms;
  const json::object observed = opts.observer ? e.detail : json::object{};
  if (!store.try_transition(r, from, std::move(e), attempt)) {
    r.state = from;
    r.attempts = attempts_before;
    j.lost = true;
    logger().warn("job {}: changed by another writer (cancel, resolve, another engine); letting it go", r.key);
    changed->notify();
    return false;
  }
  logger().debug("job {}: {} -> {} ({})", r.key, to_string(from), to_string(r.state), to_string(ev));
  if (opts.observer)
    report_transition(*opts.observer, r, from, to_string(ev), observed, prev_updated_ms, now_unix_ms());
  changed->notify();
  return true;
}

bool Engine::Impl::note(ActiveJob& j, std::string kind, json::object detail) {
  if (j.lost) return false;
  EventRecord e;
  e.kind = std::move(kind);
  e.detail = std::move(detail);
  if (store.try_transition(j.rec, j.rec.state, std::move(e))) return true;
  j.lost = true;
  logger().warn("job {}: changed by another writer; letting it go", j.rec.key);
  return false;
}

void Engine::Impl::set_error(ActiveJob& j, const ProviderError& err) {
  j.rec.error_code = err.code;
  j.rec.error_message = err.describe();
}

json::object Engine::Impl::error_detail(const ProviderError& err) {
  return json::object{{"class", to_string(err.cls)}, {"http_status", err.http_status},
                      {"code", err.code}, {"message", err.message}};
}

void Engine::Impl::release_slot(ActiveJob& j) {
  if (!j.holds_slot) return;
  j.holds_slot = false;
  Profile& p = profile_of(j.rec);
  p.lane.release();
  p.wake->notify();
}

void Engine::Impl::finish(ActiveJob& j) {
  release_slot(j);
  if (j.queued) {
    profile_of(j.rec).lane.erase(j.rec.id);
    j.queued = false;
  }
  downloads.erase(j.rec.id);
  j.done = true;
  if (j.coroutines == 0) forget(j.rec.id);  // else when its coroutine ends
}

void Engine::Impl::forget(std::int64_t id) {
  store.release_leases(owner, {id});
  jobs.erase(id);
  changed->notify();
  intake_wake->notify();
}

void Engine::Impl::enqueue(ActiveJob& j) {
  Profile& p = profile_of(j.rec);
  p.lane.push(j.rec.id, j.rec.spec.priority, j.rec.seq);
  j.queued = true;
  p.wake->notify();
}

void Engine::Impl::enqueue_later(ActiveJob& j, milliseconds delay) {
  spawn([](Impl* self, std::int64_t id, milliseconds delay) -> awaitable<void> {
    co_await self->sleep_for(delay);
    auto it = self->jobs.find(id);
    if (it != self->jobs.end() && !it->second->lost && !it->second->done && !self->stopping)
      self->enqueue(*it->second);
  }(this, j.rec.id, delay), "requeue");
}

void Engine::Impl::pause(Profile& p, const ProviderError& err) {
  if (p.pause_reason.empty()) {
    p.pause_reason = to_string(err.cls) + std::string(": ") + err.describe();
    logger().error("profile {} paused: {}", p.cfg->name, p.pause_reason);
    store.set_profile_pause(p.cfg->name, p.pause_reason);
  }
  p.lane.set_paused(true);
  changed->notify();
}

void Engine::Impl::throttle(Profile& p, const ProviderError& err, milliseconds d) {
  p.throttled_until = std::max(p.throttled_until, clock.now() + d);
  logger().warn("{}; profile {} waits {} ms", err.describe(), p.cfg->name, d.count());
}

void Engine::Impl::end_submit(Profile& p) {
  p.submit_busy = false;
  p.submit_free->notify();
}

// ---- submit safety (issue 7) --------------------------------------------------------

void Engine::Impl::intent_not_recorded(ActiveJob& j, Profile& p, const SubmitIntent& res) {
  JobRecord& r = j.rec;
  if (res.status == SubmitIntent::Status::lost) {
    j.lost = true;
    logger().warn("job {}: changed by another writer (cancel, resolve, another engine); letting it go", r.key);
    changed->notify();
    return;
  }
  if (res.unknown > 0) {
    // A task may exist and be paid: never failed, held for an explicit decision.
    r.error_code = code_name(errc::unknown_outcome);
    r.error_message = "not submitted again: this row has " + std::to_string(res.submits) +
                      " submissions that created or may have created a task, the profile's max_submits_per_row (" +
                      std::to_string(p.cfg->max_submits_per_row) + "), and " + std::to_string(res.unknown) +
                      " of them has an unknown outcome (a task may exist and be paid); check the provider's tasks, "
                      "then `reelbatch resolve " + r.key + " --fail`, or raise max_submits_per_row and `--resubmit`";
    if (transition(j, JobEvent::reconcile_inconclusive,
                   json::object{{"reason", "max_submits_per_row"}, {"submits", res.submits}, {"unknown", res.unknown}})) {
      logger().error("job {}: held: {}", r.key, r.error_message);
      finish(j);
    }
    return;
  }
  r.error_code = "max_submits_per_row";
  r.error_message = "not submitted again: this row has " + std::to_string(res.submits) +
                    " submissions that created or may have created a task, the profile's max_submits_per_row (" +
                    std::to_string(p.cfg->max_submits_per_row) + "); check the provider's tasks, then raise it " +
                    "or `reelbatch retry --resubmit` once raised";
  if (transition(j, JobEvent::submit_rejected_permanent,
                 json::object{{"reason", "max_submits_per_row"}, {"submits", res.submits}})) {
    logger().error("job {}: failed: {}", r.key, r.error_message);
    finish(j);
  }
}

awaitable<bool> Engine::Impl::circuit_gate(Profile& p, ActiveJob* j) {
  bool logged = false;
  while (!stopping && (j == nullptr || !j->lost)) {
    const auto now = clock.now();
    if (p.circuit.allow(now)) co_return true;
    if (!logged && p.circuit.state(now) == Circuit::State::open) {
      logged = true;
      logger().debug("profile {}: circuit open; waiting", p.cfg->name);
    }
    const auto until = p.circuit.state(now) == Circuit::State::open ? p.circuit.reopens_at() : now + milliseconds(1000);
    co_await p.circuit_change->wait(std::max(std::chrono::duration_cast<milliseconds>(until - now), milliseconds(1)));
  }
  co_return false;
}

void Engine::Impl::circuit_report(Profile& p, const ProviderError* err) {
  // A 4xx answer (e.g. seedance2's 429 CONCURRENCY_LIMIT_REACHED without a
  // task id: unknown outcome, but an answer) shows the provider is up.
  const bool transient =
      err != nullptr && (err->cls == ErrorClass::retryable ||
                         (err->cls == ErrorClass::unknown_outcome && (err->http_status == 0 || err->http_status >= 500)));
  const auto now = clock.now();
  if (!transient) {
    if (p.circuit.state(now) != Circuit::State::closed || p.circuit.consecutive_failures() > 0) {
      if (p.circuit.state(now) != Circuit::State::closed)
        logger().info("profile {}: circuit closed, the provider answers again", p.cfg->name);
      p.circuit.on_success();
      p.circuit_change->notify();
    }
    return;
  }
  const int opened_before = p.circuit.times_opened();
  p.circuit.on_failure(now);
  if (p.circuit.times_opened() != opened_before) {
    logger().warn("profile {}: circuit open after {} transient failures in a row (last: {}); its rows wait {} ms",
                  p.cfg->name, p.circuit.consecutive_failures(), err->describe(),
                  std::chrono::duration_cast<milliseconds>(p.circuit.reopens_at() - now).count());
    p.circuit_change->notify();
  }
}

// ---- claiming and admission ---------------------------------------------------------

JobFilter Engine::Impl::filter_for(const std::string& profile, std::vector<JobState> states) const {
  JobFilter f;
  if (opts.batches) f.batch_ids = *opts.batches;
  f.states = std::move(states);
  f.profile = profile;
  return f;
}

ActiveJob& Engine::Impl::hold(JobRecord rec) {
  auto a = std::make_unique<ActiveJob>();
  a->rec = std::move(rec);
  auto& ref = *a;
  jobs[ref.rec.id] = std::move(a);
  return ref;
}

// Keeps a few claimed pending jobs queued per profile: enough to fill the
// free slots twice over, so admission never waits for the store.
awaitable<void> Engine::Impl::intake(Profile& p) {
  while (!stopping) {
    const int free_slots = std::max(0, p.lane.max_in_flight() - p.lane.in_flight());
    const int want = 2 * std::max(free_slots, 1) - static_cast<int>(p.lane.pending());
    if (p.pause_reason.empty() && want > 0) {
      ClaimRequest req{owner, opts.lease_ttl, filter_for(p.cfg->name, {JobState::pending}), want};
      auto claimed = store.claim_jobs(req);
      p.drained = claimed.empty();
      for (auto& rec : claimed) enqueue(hold(std::move(rec)));
      if (!claimed.empty()) continue;
    }
    co_await intake_wake->wait(milliseconds(5000));
  }
}

awaitable<void> Engine::Impl::dispatcher(Profile& p) {
  while (!stopping) {
    if (p.throttled_until > clock.now()) {
      co_await sleep_until(p.throttled_until);
      continue;
    }
    if (auto id = p.lane.admit()) {
      auto it = jobs.find(*id);
      if (it == jobs.end()) {  // let go while queued
        p.lane.release();
        continue;
      }
      ActiveJob& j = *it->second;
      j.queued = false;
      j.holds_slot = true;
      if (p.lane.pending() < static_cast<std::size_t>(p.lane.max_in_flight())) intake_wake->notify();
      spawn_job(j, drive(*id));
      continue;
    }
    co_await p.wake->wait(milliseconds(1000));
  }
}

awaitable<void> Engine::Impl::heartbeat() {
  const auto every = std::max(opts.lease_ttl / 3, milliseconds(10));
  while (!stopping) {
    co_await sleep_for(every);
    if (stopping) break;
    store.renew_leases(owner, opts.lease_ttl);
    save_poll_windows();
  }
}

void Engine::Impl::save_poll_windows() {
  for (auto& [name, p] : profiles) save_poll_window(name, p->poll_bucket, p->poll_saved_through, clock, store);
}

awaitable<void> Engine::Impl::rescue_pass() {
  const std::vector<JobState> active{JobState::uploading, JobState::submitting, JobState::running,
                                     JobState::downloading};
  for (auto& [name, p] : profiles) {
    while (!stopping) {
      auto claimed = store.claim_jobs(ClaimRequest{owner, opts.lease_ttl, filter_for(name, active), 500});
      if (claimed.empty()) break;
      co_await recover(std::move(claimed));
    }
  }
}

// Jobs mid-flight whose owner died (lease expired) are taken up again.
awaitable<void> Engine::Impl::rescue() {
  while (!stopping) {
    co_await sleep_for(std::max(opts.lease_ttl, milliseconds(1000)));
    if (!stopping) co_await rescue_pass();
  }
}

// Drained: no job of the batches can move any more in this process: each is
// terminal, held, pending on a paused profile or one waiting for budget, or
// of a profile this config does not have.
awaitable<bool> Engine::Impl::drained(const std::vector<std::int64_t>& batch_ids) {
  for (const auto& [name, p] : profiles) {
    JobFilter f;
    f.batch_ids = batch_ids;
    f.profile = name;
    f.states = {JobState::uploading, JobState::submitting, JobState::running, JobState::downloading};
    if (p->pause_reason.empty() && p->budget_reason.empty()) f.states.push_back(JobState::pending);
    if (!store.count_by_state(f).empty()) co_return false;
  }
  co_return true;
}

// ---- Engine -------------------------------------------------------------------------

Engine::Engine(const Config& cfg, JobStore& store, HttpClient& http, EngineOptions opts)
    : impl_(std::make_unique<Impl>(*this, cfg, store, http, std::move(opts))) {}

Engine::~Engine() = default;

awaitable<void> Engine::async_run() {
  Impl& m = *impl_;
  m.running = true;
  for (const auto& b : m.store.batches()) m.batches.emplace(b.id, b);
  for (const auto& [name, reason] : m.store.profile_pauses()) {
    if (auto* p = m.profile_named(name)) {
      p->pause_reason = reason;
      p->lane.set_paused(true);
      m.logger().warn("profile {} is paused ({}); `reelbatch resume {}` lifts it", name, reason, name);
    }
  }
  for (auto& [name, p] : m.profiles) {
    // Credits already spent by this profile's finished tasks, for credit_cap.
    JobQuery q;
    q.filter = m.filter_for(name, {JobState::downloading, JobState::succeeded});
    for (;;) {
      auto page = m.store.jobs(q);
      for (const auto& j : page.jobs) if (j.cost) p->spent += *j.cost;
      if (!page.next_after_seq) break;
      q.after_seq = *page.next_after_seq;
    }
  }

  for (const auto& o : m.store.lease_owners()) {
    if (!is_dead_local_owner(o, m.owner)) continue;
    const int n = m.store.release_leases(o);
    m.logger().info("released {} leases of {}, which is no longer running", n, o);
  }
  // Lost submits are settled before any new submit (recover() runs the
  // reconciles first), then the loops start.
  m.remove_stale_parts();
  co_await m.rescue_pass();
  for (auto& [name, p] : m.profiles) {
    m.spawn(m.intake(*p), "intake " + name);
    m.spawn(m.dispatcher(*p), "dispatcher " + name);
  }
  for (int i = 0; i < m.cfg.download_concurrency; ++i) m.spawn(m.download_worker(), "downloader");
  m.spawn(m.heartbeat(), "lease heartbeat");
  m.spawn(m.rescue(), "rescue");

  while (!m.stopping) co_await m.changed->wait(milliseconds(1000));
  while (m.live > 0) co_await m.changed->wait(milliseconds(50));
  m.save_poll_windows();
  m.store.release_leases(m.owner);
  m.jobs.clear();
  m.running = false;
  if (m.fatal) std::rethrow_exception(m.fatal);
}

awaitable<void> Engine::async_drain(std::vector<std::int64_t> batch_ids) {
  Impl& m = *impl_;
  while (!m.stopping) {
    if (co_await m.drained(batch_ids)) break;
    co_await m.changed->wait(milliseconds(500));
    co_await m.sleep_for(milliseconds(50));  // at most ~20 store checks a second
  }
  ResultsContext results = results_context(m.cfg);
  results.probe = false;  // ffprobe runs off the event loop (ResultsWriter)
  for (auto id : batch_ids) write_results_files(m.store, id, results);
}

awaitable<ControlResult> Engine::async_cancel(std::int64_t id) { co_return co_await impl_->cancel_job(id); }
awaitable<ControlResult> Engine::async_retry(std::int64_t id, bool resubmit) {
  co_return co_await impl_->retry_job(id, resubmit);
}
awaitable<ControlResult> Engine::async_resolve(std::int64_t id, bool resubmit) {
  co_return co_await impl_->resolve_job(id, resubmit);
}
awaitable<bool> Engine::async_pause(std::string profile, std::string reason) {
  co_return impl_->pause_profile(profile, reason);
}
awaitable<bool> Engine::async_resume(std::string profile) { co_return impl_->resume_profile(profile); }

EngineSnapshot Engine::snapshot() const { return impl_->snapshot(); }

void Engine::stop() {
  asio::post(impl_->ex, [m = impl_.get()] { m->request_stop(); });
}

void Engine::add_batch(std::int64_t batch_id) {
  asio::post(impl_->ex, [m = impl_.get(), batch_id] {
    if (m->opts.batches && std::find(m->opts.batches->begin(), m->opts.batches->end(), batch_id) ==
                               m->opts.batches->end())
      m->opts.batches->push_back(batch_id);
    if (auto b = m->store.batch(batch_id)) m->batches[b->id] = *b;
    m->intake_wake->notify();
  });
}

std::future<ControlResult> Engine::cancel(std::int64_t id) {
  return asio::co_spawn(impl_->ex, async_cancel(id), asio::use_future);
}
std::future<ControlResult> Engine::retry(std::int64_t id, bool resubmit) {
  return asio::co_spawn(impl_->ex, async_retry(id, resubmit), asio::use_future);
}
std::future<ControlResult> Engine::resolve(std::int64_t id, bool resubmit) {
  return asio::co_spawn(impl_->ex, async_resolve(id, resubmit), asio::use_future);
}
std::future<bool> Engine::pause(std::string profile, std::string reason) {
  return asio::co_spawn(impl_->ex, async_pause(std::move(profile), std::move(reason)), asio::use_future);
}
std::future<bool> Engine::resume(std::string profile) {
  return asio::co_spawn(impl_->ex, async_resume(std::move(profile)), asio::use_future);
}
std::future<EngineSnapshot> Engine::snapshot_async() {
  std::promise<EngineSnapshot> pr;
  auto fut = pr.get_future();
  asio::post(impl_->ex, [m = impl_.get(), pr = std::move(pr)]() mutable { pr.set_value(m->snapshot()); });
  return fut;
}

// ---- reconfigure (the daemon's SIGHUP) -------------------------------------------------

void Engine::Impl::reconfigure(std::shared_ptr<const Config> next) {
  // Build every adapter first: an unknown kind throws before anything changes.
  std::map<std::string, std::unique_ptr<Provider>> adapters;
  for (const auto& [name, pc] : next->profiles) adapters.emplace(name, make_adapter(pc));
  config_generations.push_back(next);
  for (const auto& [name, pc] : next->profiles) {
    auto it = profiles.find(name);
    if (it == profiles.end()) {
      auto p = make_profile(pc, std::move(adapters[name]));
      if (auto pauses = store.profile_pauses(); pauses.count(name)) {
        p->pause_reason = pauses[name];
        p->lane.set_paused(true);
      }
      Profile& ref = *p;
      profiles.emplace(name, std::move(p));
      logger().info("reconfigure: profile {} added ({}, max_in_flight {})", name, pc.kind, pc.max_in_flight);
      if (running && !stopping) {
        spawn(intake(ref), "intake " + name);
        spawn(dispatcher(ref), "dispatcher " + name);
      }
      continue;
    }
    Profile& p = *it->second;
    if (p.cfg->kind != pc.kind) {
      logger().warn("reconfigure: profile {} changed kind ({} -> {}); kept as {} until restart", name, p.cfg->kind,
                    pc.kind, p.cfg->kind);
      continue;
    }
    if (p.cfg->max_in_flight != pc.max_in_flight)
      logger().info("reconfigure: profile {} max_in_flight {} -> {}", name, p.cfg->max_in_flight, pc.max_in_flight);
    p.lane.set_max_in_flight(pc.max_in_flight);
    // A changed rate starts a new window; the submit window is seeded from
    // the store's recent submits again, so the budget still holds.
    if (p.cfg->submit_per_minute != pc.submit_per_minute) p.submit_bucket = make_submit_window(pc, clock, store);
    if (p.cfg->poll_per_minute != pc.poll_per_minute) {
      save_poll_window(p.cfg->name, p.poll_bucket, p.poll_saved_through, clock, store);
      p.poll_bucket = make_poll_window(pc, clock, store);
    }
    p.cfg = &pc;
    p.on_remote_failure = remote_failure_policy(pc);
    retired_providers.push_back(std::move(p.provider));
    p.provider = std::move(adapters[name]);
    p.poll = make_poll_schedule(*p.provider);
    budget_changed(p);  // a raised cap lets waiting rows try again
    p.wake->notify();
  }
  for (const auto& [name, p] : profiles)
    if (!next->profiles.count(name))
      logger().warn("reconfigure: profile {} is gone from the config; it keeps running until restart", name);
  intake_wake->notify();
}

std::future<void> Engine::reconfigure(const Config& cfg) {
  auto next = std::make_shared<const Config>(cfg);
  std::promise<void> pr;
  auto fut = pr.get_future();
  asio::post(impl_->ex, [m = impl_.get(), next = std::move(next), pr = std::move(pr)]() mutable {
    try {
      m->reconfigure(std::move(next));
      pr.set_value();
    } catch (...) {
      pr.set_exception(std::current_exception());
    }
  });
  return fut;
}

}  // namespace reelbatch
