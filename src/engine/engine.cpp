#include "src/engine/engine.hpp"

#include "providers/provider.hpp"
#include "scheduler/backoff.hpp"
#include "scheduler/download_queue.hpp"
#include "scheduler/job_state.hpp"
#include "scheduler/lane.hpp"
#include "scheduler/token_bucket.hpp"
#include "src/core/sha256.hpp"
#include "src/output/downloader.hpp"
#include "src/net/http_client.hpp"
#include "storage/store.hpp"

#include <SQLiteCpp/Exception.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <random>
#include <set>
#include <unordered_set>

namespace reelbatch {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr int kUploadAttempts = 5;  // per round, with backoff
constexpr int kUploadRounds = 3;    // rounds before the row fails
constexpr int kSubmitRetries = 10;  // transient submit errors before the row fails
constexpr int kDownloadAttempts = 8;
constexpr int kReconcilePages = 20;
constexpr int kReconcilePageSize = 50;
constexpr std::int64_t kReconcileSlackMs = 120'000;  // clock skew allowance before the intent

// Wakes coroutines waiting for a condition to change. Waiters re-check their
// condition after every wake-up (wake-ups may be spurious). Each waiter has
// its own timer, so waiters never cancel one another.
class Notifier {
 public:
  explicit Notifier(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  void notify() {
    for (auto* t : waiters_) t->cancel();
  }
  awaitable<void> wait(milliseconds max) {
    asio::steady_timer t(ex_, max);
    waiters_.push_back(&t);
    co_await t.async_wait(tuple_awaitable);
    std::erase(waiters_, &t);
  }

 private:
  asio::any_io_executor ex_;
  std::vector<asio::steady_timer*> waiters_;
};

}  // namespace

struct Engine::Impl {
  struct Profile {
    const ProfileConfig* cfg = nullptr;
    std::unique_ptr<Provider> provider;
    Lane lane;
    TokenBucket submit_bucket;
    TokenBucket poll_bucket;
    PollSchedule poll;
    bool submit_busy = false;
    std::unique_ptr<Notifier> wake;         // slot freed, job queued, pause lifted
    std::unique_ptr<Notifier> submit_free;  // the submit section is free
    std::string pause_reason;               // non-empty: paused until the next run
    SteadyClock::time_point throttled_until{};
    double spent = 0;

    Profile(const ProfileConfig& c, std::unique_ptr<Provider> p, asio::any_io_executor ex)
        : cfg(&c),
          provider(std::move(p)),
          lane(c.max_in_flight),
          submit_bucket(c.submit_per_minute, 1, SteadyClock::now()),
          poll_bucket(c.poll_per_minute, 1, SteadyClock::now()),
          wake(std::make_unique<Notifier>(ex)),
          submit_free(std::make_unique<Notifier>(ex)) {
      const PollPolicy pp = effective_poll(*provider);
      poll = PollSchedule{pp.first_wait, pp.interval, pp.max_interval};
    }
  };

  const Config& cfg;
  Store& store;
  HttpClient& http;
  EngineOptions opts;
  asio::any_io_executor ex;
  asio::thread_pool pool{1};  // file hashing off the event loop
  std::map<std::string, std::unique_ptr<Profile>> profiles;
  std::map<std::int64_t, JobRecord> jobs;  // the run's jobs, mirrored from the store
  std::map<std::int64_t, int> upload_rounds;
  std::map<std::int64_t, int> submit_retries;
  std::map<std::int64_t, BatchRecord> batches;
  DownloadQueue downloads;
  std::unique_ptr<Notifier> download_wake;
  std::unique_ptr<Notifier> changed;  // a job changed state
  std::set<asio::steady_timer*> sleepers;
  std::mt19937_64 rng;
  bool stopping = false;
  bool interrupted = false;
  int live = 0;  // coroutines spawned and not finished
  std::exception_ptr fatal;

  Impl(const Config& c, Store& s, HttpClient& h, EngineOptions o, asio::any_io_executor e)
      : cfg(c), store(s), http(h), opts(std::move(o)), ex(std::move(e)),
        download_wake(std::make_unique<Notifier>(ex)), changed(std::make_unique<Notifier>(ex)),
        rng(opts.seed != 0 ? opts.seed : std::random_device{}()) {}

  ~Impl() { pool.join(); }

  double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  Profile& profile_of(const JobRecord& j) {
    auto it = profiles.find(j.spec.provider);
    if (it != profiles.end()) return *it->second;
    const ProfileConfig* pc = cfg.profile(j.spec.provider);
    if (pc == nullptr)
      throw ConfigError(cfg.source.string() + ": providers." + j.spec.provider +
                        ": no such profile (named by job " + j.key + ")");
    auto p = std::make_unique<Profile>(*pc, make_provider(*pc, http), ex);
    auto& ref = *p;
    profiles.emplace(pc->name, std::move(p));
    return ref;
  }

  // ---- coroutine plumbing -------------------------------------------------

  void spawn(awaitable<void> task, std::string what) {
    ++live;
    asio::co_spawn(ex, std::move(task), [this, what = std::move(what)](std::exception_ptr e) {
      --live;
      changed->notify();
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const SQLite::Exception& ex) {
        spdlog::critical("{}: database failure: {}", what, ex.what());
        if (!fatal) fatal = e;
        stop();
      } catch (const std::exception& ex) {
        spdlog::error("{}: {}", what, ex.what());
      }
    });
  }

  awaitable<void> sleep_for(milliseconds d) {
    if (stopping || d <= milliseconds::zero()) co_return;
    asio::steady_timer t(ex, d);
    sleepers.insert(&t);
    co_await t.async_wait(tuple_awaitable);
    sleepers.erase(&t);
  }

  awaitable<void> sleep_until(SteadyClock::time_point tp) {
    co_await sleep_for(std::chrono::duration_cast<milliseconds>(tp - SteadyClock::now()));
  }

  void stop() {
    stopping = true;
    for (auto* t : sleepers) t->cancel();
    for (auto& [_, p] : profiles) {
      p->wake->notify();
      p->submit_free->notify();
    }
    download_wake->notify();
    changed->notify();
  }

  // ---- state transitions ----------------------------------------------------

  // Applies `ev` to the job through the state machine and commits it with an
  // event. Returns false (and logs) when the transition is illegal.
  bool transition(JobRecord& j, JobEvent ev, json::object detail = {}, bool remote_retryable = false,
                  const Store::AttemptOutcome* attempt = nullptr) {
    const auto from = job_state_from_string(j.state);
    if (!from) {
      spdlog::error("job {}: unknown state '{}' in the database", j.key, j.state);
      return false;
    }
    JobContext ctx;
    ctx.attempts = j.attempts;
    ctx.max_attempts = profile_of(j).cfg->max_attempts;
    ctx.remote_failure_retryable = remote_retryable;
    const auto t = next_state(*from, ev, ctx);
    if (!t) {
      spdlog::error("job {}: illegal event {} in state {}", j.key, to_string(ev), j.state);
      return false;
    }
    if (t->counts_attempt) ++j.attempts;
    j.state = to_string(t->next);
    detail["event"] = to_string(ev);
    EventRecord e;
    e.kind = "state";
    e.from_state = to_string(*from);
    e.to_state = j.state;
    e.detail = std::move(detail);
    if (attempt != nullptr) store.save(j, e, *attempt); else store.save(j, e);
    spdlog::debug("job {}: {} -> {} ({})", j.key, e.from_state, e.to_state, to_string(ev));
    changed->notify();
    return true;
  }

  void note(JobRecord& j, std::string kind, json::object detail) {
    EventRecord e;
    e.kind = std::move(kind);
    e.from_state = e.to_state = j.state;
    e.detail = std::move(detail);
    store.save(j, e);
  }

  void set_error(JobRecord& j, const ProviderError& err) {
    j.error_code = err.code;
    j.error_message = err.describe();
  }

  json::object error_detail(const ProviderError& err) {
    return json::object{{"class", to_string(err.cls)}, {"http_status", err.http_status},
                        {"code", err.code}, {"message", err.message}};
  }

  void release_slot(Profile& p) {
    p.lane.release();
    p.wake->notify();
  }

  void enqueue(Profile& p, const JobRecord& j) {
    p.lane.push(j.id, j.spec.priority, j.seq);
    p.wake->notify();
  }

  void enqueue_later(Profile& p, std::int64_t id, milliseconds delay) {
    spawn(
        [](Impl* self, Profile* p, std::int64_t id, milliseconds delay) -> awaitable<void> {
          co_await self->sleep_for(delay);
          self->enqueue(*p, self->jobs.at(id));
        }(this, &p, id, delay),
        "requeue");
  }

  void pause(Profile& p, const ProviderError& err) {
    if (p.pause_reason.empty()) {
      p.pause_reason = to_string(err.cls) + std::string(": ") + err.describe();
      spdlog::error("profile {} paused: {}", p.cfg->name, p.pause_reason);
      store.set_profile_pause(p.cfg->name, p.pause_reason);
    }
    p.lane.set_paused(true);
    changed->notify();
  }

  void throttle(Profile& p, const ProviderError& err, int attempt) {
    const auto d = retry_after_or_backoff(err.retry_after, attempt, milliseconds(1000), milliseconds(60000), random01());
    p.throttled_until = std::max(p.throttled_until, SteadyClock::now() + d);
    spdlog::warn("{}; profile {} waits {} ms", err.describe(), p.cfg->name, d.count());
  }

  // ---- uploads and submit -----------------------------------------------------

  static awaitable<std::string> hash_here(std::filesystem::path path) { co_return sha256_file_hex(path); }

  // Hashes a file on the pool; the caller resumes on its own executor.
  awaitable<std::string> hash_file(const std::filesystem::path& path) {
    co_return co_await asio::co_spawn(pool, hash_here(path), asio::use_awaitable);
  }

  awaitable<ProviderResult<SubmitRequest>> prepare(Profile& p, JobRecord& j) {
    SubmitRequest req;
    req.spec = apply_defaults(j.spec, p.cfg->defaults);
    const std::pair<const std::vector<AssetRef>*, LocalAsset::Kind> groups[] = {
        {&req.spec.images, LocalAsset::Kind::image},
        {&req.spec.videos, LocalAsset::Kind::video},
        {&req.spec.audios, LocalAsset::Kind::audio}};
    std::vector<ResolvedAsset>* outs[] = {&req.images, &req.videos, &req.audios};
    for (int g = 0; g < 3; ++g) {
      for (const auto& a : *groups[g].first) {
        if (a.is_url()) {
          outs[g]->push_back({a.name, a.location});
          continue;
        }
        LocalAsset la;
        la.name = a.name;
        la.path = a.location;
        la.kind = groups[g].second;
        try {
          la.size_bytes = std::filesystem::file_size(la.path);
          la.sha256 = co_await hash_file(la.path);
        } catch (const std::exception& e) {
          co_return fail(ProviderError{ErrorClass::permanent, p.cfg->name, 0, "local",
                                       "cannot read " + a.location + ": " + e.what(), std::nullopt});
        }
        if (auto ref = store.find_upload(p.cfg->name, la.sha256)) {
          outs[g]->push_back({a.name, *ref});
          continue;
        }
        for (int attempt = 0;; ++attempt) {
          auto r = co_await p.provider->async_upload(la);
          if (r) {
            store.record_upload(p.cfg->name, la.sha256, *r, la.path.filename().string());
            note(j, "upload", json::object{{"name", a.name}, {"file", a.location}, {"sha256", la.sha256},
                                           {"remote_ref", *r}});
            outs[g]->push_back({a.name, *r});
            break;
          }
          const auto& err = r.error();
          const bool again = (err.cls == ErrorClass::retryable || err.cls == ErrorClass::rate_limited ||
                              err.cls == ErrorClass::unknown_outcome) &&
                             attempt + 1 < kUploadAttempts && !stopping;
          if (!again) co_return fail(err);
          co_await sleep_for(retry_after_or_backoff(err.retry_after, attempt, milliseconds(1000),
                                                    milliseconds(30000), random01()));
        }
      }
    }
    co_return req;
  }

  // Runs one admitted job: uploads, submit, then polling. Holds a lane slot.
  awaitable<void> drive(Profile& p, std::int64_t id) {
    JobRecord& j = jobs.at(id);
    if (!transition(j, JobEvent::admit)) {
      release_slot(p);
      co_return;
    }
    auto prepared = co_await prepare(p, j);
    if (!prepared) {
      const auto& err = prepared.error();
      set_error(j, err);
      if (err.cls == ErrorClass::auth || err.cls == ErrorClass::out_of_credit) {
        pause(p, err);
        transition(j, JobEvent::paused, error_detail(err));
        release_slot(p);
        enqueue(p, j);
      } else if (err.cls == ErrorClass::permanent) {
        transition(j, JobEvent::submit_rejected_permanent, error_detail(err));
        release_slot(p);
      } else if (++upload_rounds[id] >= kUploadRounds) {
        j.error_message = "uploads kept failing: " + err.describe();
        transition(j, JobEvent::submit_rejected_permanent, error_detail(err));
        release_slot(p);
      } else {
        transition(j, JobEvent::submit_rejected_retryable, error_detail(err));
        release_slot(p);
        enqueue_later(p, id, backoff_delay(upload_rounds[id], milliseconds(5000), milliseconds(120000), random01()));
      }
      co_return;
    }

    // One submit at a time per profile: a lost response then leaves at most
    // one unknown task to find in the provider's list.
    while (p.submit_busy && !stopping) co_await p.submit_free->wait(milliseconds(1000));
    if (stopping) co_return;
    p.submit_busy = true;
    co_await sleep_until(std::max(p.submit_bucket.reserve(SteadyClock::now()), p.throttled_until));
    if (stopping) co_return;
    if (p.cfg->credit_cap && p.spent >= *p.cfg->credit_cap) {
      ProviderError err{ErrorClass::out_of_credit, p.cfg->name, 0, "credit_cap",
                        "credit_cap of " + std::to_string(*p.cfg->credit_cap) + " credits reached", std::nullopt};
      pause(p, err);
      transition(j, JobEvent::paused, error_detail(err));
      end_submit(p);
      release_slot(p);
      enqueue(p, j);
      co_return;
    }

    j.intent_at_ms = now_ms();
    j.error_code.clear();
    j.error_message.clear();
    const auto attempt_id = store.begin_attempt(j.id, p.cfg->name);
    if (!transition(j, JobEvent::assets_ready, json::object{{"attempt", attempt_id}})) {
      end_submit(p);
      release_slot(p);
      co_return;
    }
    auto r = co_await p.provider->async_submit(*prepared);
    if (r) {
      j.remote_id = *r;
      end_submit(p);
      const Store::AttemptOutcome accepted{attempt_id, "accepted", *r, ""};
      transition(j, JobEvent::submit_accepted, json::object{{"remote_id", *r}}, false, &accepted);
      co_await poll_loop(p, id);
      co_return;
    }
    const ProviderError err = r.error();
    switch (err.cls) {
      case ErrorClass::unknown_outcome:
        store.finish_attempt(attempt_id, "unknown", "", err.describe());
        note(j, "submit_unknown", error_detail(err));
        spdlog::warn("job {}: submit outcome unknown ({}); reconciling", j.key, err.describe());
        co_await sleep_for(std::min(p.cfg->request_timeout, milliseconds(10000)));
        co_await reconcile(p, id);  // keeps the submit section until resolved
        end_submit(p);
        co_return;
      case ErrorClass::rate_limited:
      case ErrorClass::auth:
      case ErrorClass::out_of_credit:
        // No task was created: the row waits, the profile slows down or pauses.
        store.finish_attempt(attempt_id, "rejected", "", err.describe());
        if (err.cls == ErrorClass::rate_limited) throttle(p, err, j.attempts); else pause(p, err);
        set_error(j, err);
        transition(j, JobEvent::submit_throttled, error_detail(err));
        end_submit(p);
        release_slot(p);
        enqueue(p, j);
        co_return;
      case ErrorClass::retryable: {
        // Nothing was created or charged: retry with backoff (about five
        // minutes in all) without using up the row's max_attempts.
        store.finish_attempt(attempt_id, "rejected", "", err.describe());
        set_error(j, err);
        const int tries = ++submit_retries[id];
        if (tries >= kSubmitRetries) {
          j.error_message = "gave up after " + std::to_string(tries) + " tries: " + err.describe();
          transition(j, JobEvent::submit_rejected_permanent, error_detail(err));
        } else {
          transition(j, JobEvent::submit_throttled, error_detail(err));
        }
        end_submit(p);
        release_slot(p);
        if (!job_done(j))
          enqueue_later(p, id, backoff_delay(tries - 1, milliseconds(2000), milliseconds(60000), random01()));
        co_return;
      }
      case ErrorClass::permanent:
        store.finish_attempt(attempt_id, "rejected", "", err.describe());
        set_error(j, err);
        transition(j, JobEvent::submit_rejected_permanent, error_detail(err));
        end_submit(p);
        release_slot(p);
        co_return;
    }
  }

  void end_submit(Profile& p) {
    p.submit_busy = false;
    p.submit_free->notify();
  }

  static bool job_done(const JobRecord& j) {
    auto s = job_state_from_string(j.state);
    return s && is_terminal(*s);
  }

  // A submit whose response was lost: find the task it created, if any, in
  // the provider's task list. Tasks already recorded for this profile are
  // excluded; tasks created before the intent (less clock slack) too.
  awaitable<void> reconcile(Profile& p, std::int64_t id) {
    JobRecord& j = jobs.at(id);
    auto held = [&](const std::string& why) {
      j.error_code = "unknown_outcome";
      j.error_message = why + "; run `reelbatch resolve " + j.key + " --resubmit` or `--fail` once checked";
      transition(j, JobEvent::reconcile_inconclusive, json::object{{"reason", why}});
      release_slot(p);
      spdlog::error("job {}: held: {}", j.key, why);
    };
    if (auto accepted = store.accepted_remote_id(j.id)) {  // written by an older build, or by hand
      j.remote_id = *accepted;
      transition(j, JobEvent::reconciled_found, json::object{{"remote_id", j.remote_id}, {"from", "attempts"}});
      spawn(poll_loop(p, id), "job " + j.key);
      co_return;
    }
    if (!p.provider->has_task_list()) {
      held(p.cfg->kind + " has no task list to check whether the lost submit created a task");
      co_return;
    }
    const auto known_list = store.remote_ids(p.cfg->name);
    const std::unordered_set<std::string> known(known_list.begin(), known_list.end());
    const std::int64_t window_start = j.intent_at_ms - kReconcileSlackMs;
    std::vector<TaskStatus> candidates;
    for (int page = 1; page <= kReconcilePages; ++page) {
      ProviderResult<TaskPage> r = fail(ProviderError{});
      for (int attempt = 0; attempt < 5 && !stopping; ++attempt) {
        co_await sleep_until(p.poll_bucket.reserve(SteadyClock::now()));
        r = co_await p.provider->async_list(page, kReconcilePageSize);
        if (r || r.error().cls == ErrorClass::permanent || r.error().cls == ErrorClass::auth) break;
        co_await sleep_for(retry_after_or_backoff(r.error().retry_after, attempt, milliseconds(1000),
                                                  milliseconds(30000), random01()));
      }
      if (stopping) co_return;
      if (!r) {
        held("cannot read the task list: " + r.error().describe());
        co_return;
      }
      bool older_page = !r->tasks.empty();
      for (const auto& t : r->tasks) {
        const bool old = t.created_at_ms && *t.created_at_ms < window_start;
        if (!old) older_page = false;
        if (!old && !known.contains(t.remote_id)) candidates.push_back(t);
      }
      if (older_page || static_cast<int>(r->tasks.size()) < kReconcilePageSize) break;
    }
    if (candidates.empty()) {
      note(j, "reconciled", json::object{{"found", false}});
      spdlog::info("job {}: the lost submit created no task; submitting again", j.key);
      transition(j, JobEvent::reconciled_absent);
      release_slot(p);
      enqueue(p, j);
      co_return;
    }
    if (candidates.size() > 1) {
      held(std::to_string(candidates.size()) + " unrecorded tasks appeared after the lost submit");
      co_return;
    }
    j.remote_id = candidates.front().remote_id;
    spdlog::info("job {}: the lost submit created task {}; polling it", j.key, j.remote_id);
    transition(j, JobEvent::reconciled_found, json::object{{"remote_id", j.remote_id}});
    spawn(poll_loop(p, id), "job " + j.key);
  }

  // ---- polling ----------------------------------------------------------------

  void record_success(Profile& p, JobRecord& j, const TaskStatus& s) {
    j.video_url = s.video_url;
    j.cover_url = s.cover_url;
    j.last_frame_url = s.last_frame_url;
    j.url_expires_at_ms = now_ms() + std::chrono::duration_cast<milliseconds>(
                                         p.cfg->url_ttl.value_or(p.provider->default_url_ttl())).count();
    if (s.cost) {
      j.cost = s.cost;
      p.spent += *s.cost;
    }
  }

  awaitable<void> poll_loop(Profile& p, std::int64_t id) {
    JobRecord& j = jobs.at(id);
    int polls = 0, since_change = 0, errors = 0;
    while (!stopping) {
      co_await sleep_for(next_poll_delay(p.poll, polls, since_change, random01()));
      co_await sleep_until(std::max(p.poll_bucket.reserve(SteadyClock::now()), p.throttled_until));
      if (stopping) co_return;
      auto r = co_await p.provider->async_query(j.remote_id);
      ++polls;
      if (!r) {
        const auto& err = r.error();
        ++errors;
        if (err.cls == ErrorClass::permanent) {
          set_error(j, err);
          transition(j, JobEvent::remote_failed, error_detail(err), false);
          release_slot(p);
          co_return;
        }
        if (err.cls == ErrorClass::rate_limited) throttle(p, err, errors);
        spdlog::warn("job {}: status query failed: {}", j.key, err.describe());
        co_await sleep_for(backoff_delay(std::min(errors, 6), p.poll.interval, p.poll.max_interval * 4, random01()));
        continue;
      }
      errors = 0;
      const TaskStatus& s = *r;
      if (s.native_state != j.native_state) {
        j.native_state = s.native_state;
        since_change = 0;
        note(j, "remote_state", json::object{{"state", s.native_state}});
      } else {
        ++since_change;
      }
      switch (s.state) {
        case RemoteState::queued:
        case RemoteState::running:
          continue;
        case RemoteState::succeeded:
          record_success(p, j, s);
          transition(j, JobEvent::remote_succeeded,
                     json::object{{"remote_id", j.remote_id}, {"cost", j.cost ? json::value(*j.cost) : nullptr}});
          release_slot(p);
          downloads.push(j.id, std::chrono::system_clock::time_point(milliseconds(j.url_expires_at_ms)));
          download_wake->notify();
          co_return;
        case RemoteState::failed:
        case RemoteState::expired:
        case RemoteState::cancelled: {
          j.error_code = s.error_code.empty() ? s.native_state : s.error_code;
          j.error_message = p.cfg->name + ": task " + j.remote_id + " " + s.native_state +
                            (s.error_code.empty() ? "" : ", code " + s.error_code) +
                            (s.error_message.empty() ? "" : ": " + s.error_message);
          const bool retry = s.state == RemoteState::failed && p.provider->is_retryable_failure(s);
          json::object d{{"remote_id", j.remote_id}, {"code", s.error_code}, {"message", s.error_message}};
          if (s.state == RemoteState::cancelled) {
            transition(j, JobEvent::cancel, std::move(d));
          } else {
            transition(j, JobEvent::remote_failed, std::move(d), retry);
          }
          release_slot(p);
          if (j.state == "pending") {
            j.remote_id.clear();
            j.native_state.clear();
            note(j, "resubmit", json::object{{"after_attempts", j.attempts}});
            enqueue(p, j);
          }
          co_return;
        }
      }
    }
  }

  // ---- downloads ----------------------------------------------------------------

  awaitable<bool> refresh_urls(Profile& p, JobRecord& j) {
    for (int attempt = 0; attempt < 5 && !stopping; ++attempt) {
      co_await sleep_until(p.poll_bucket.reserve(SteadyClock::now()));
      auto r = co_await p.provider->async_query(j.remote_id);
      if (r && r->state == RemoteState::succeeded) {
        record_success(p, j, *r);
        if (r->cost) p.spent -= *r->cost;  // already counted when it succeeded
        note(j, "url_refreshed", json::object{{"expires_at_ms", j.url_expires_at_ms}});
        co_return true;
      }
      if (!r && r.error().cls == ErrorClass::permanent) break;
      co_await sleep_for(backoff_delay(attempt, milliseconds(1000), milliseconds(30000), random01()));
    }
    co_return false;
  }

  TaskStatus status_of(const JobRecord& j) {
    TaskStatus s;
    s.remote_id = j.remote_id;
    s.state = RemoteState::succeeded;
    s.native_state = j.native_state;
    s.video_url = j.video_url;
    s.cover_url = j.cover_url;
    s.last_frame_url = j.last_frame_url;
    s.cost = j.cost;
    return s;
  }

  // Downloads one output with retries; refreshes expired links.
  awaitable<Result<DownloadedFile, DownloadError>> fetch(Profile& p, JobRecord& j, OutputKind kind,
                                                        const std::filesystem::path& path) {
    DownloadError last{0, false, "not attempted"};
    for (int attempt = 0; attempt < kDownloadAttempts && !stopping; ++attempt) {
      const auto expires = std::chrono::system_clock::time_point(milliseconds(j.url_expires_at_ms));
      if (last.url_expired || needs_refresh(expires, std::chrono::system_clock::now(), opts.url_refresh_margin))
        co_await refresh_urls(p, j);
      auto target = p.provider->download_target(status_of(j), kind);
      if (!target) co_return fail(DownloadError{0, false, "the task reports no URL for this output"});
      auto r = co_await async_download_file(http, pool, target->url, target->headers, path, p.cfg->request_timeout);
      if (r) co_return r;
      last = r.error();
      spdlog::warn("job {}: download of {} failed: {}", j.key, path.filename().string(), last.message);
      co_await sleep_for(backoff_delay(attempt, milliseconds(1000), milliseconds(60000), random01()));
    }
    co_return fail(last);
  }

  json::value file_json(const std::optional<DownloadedFile>& f) {
    if (!f) return nullptr;
    return json::object{{"file", f->path.filename().string()}, {"bytes", f->bytes}, {"sha256", f->sha256}};
  }

  awaitable<void> download_job(std::int64_t id) {
    JobRecord& j = jobs.at(id);
    Profile& p = profile_of(j);
    const BatchRecord& b = batches.at(j.batch_id);
    const std::string stem = output_stem(j.spec);
    const std::filesystem::path dir = b.out_dir;

    auto video = co_await fetch(p, j, OutputKind::video, dir / (stem + ".mp4"));
    if (stopping) co_return;
    if (!video) {
      j.error_code = "download";
      j.error_message = "download of task " + j.remote_id + " failed: " + video.error().message;
      transition(j, JobEvent::download_failed, json::object{{"message", video.error().message}});
      co_return;
    }
    std::optional<DownloadedFile> cover, last_frame;
    json::object extra_errors;
    const std::pair<OutputKind, std::string> extras[] = {{OutputKind::cover, ".cover.jpg"},
                                                         {OutputKind::last_frame, ".last_frame.jpg"}};
    for (const auto& [kind, suffix] : extras) {
      if (!p.provider->download_target(status_of(j), kind)) continue;
      auto r = co_await fetch(p, j, kind, dir / (stem + suffix));
      if (stopping) co_return;
      if (r) (kind == OutputKind::cover ? cover : last_frame) = *r;
      else extra_errors[suffix] = r.error().message;
    }

    j.output_path = video->path.string();
    j.bytes = video->bytes;
    j.sha256 = video->sha256;

    json::array history;
    for (const auto& e : store.events(j.id)) {
      if (e.kind != "state" && e.kind != "remote_state") continue;
      history.push_back(json::object{{"at_ms", e.ts_ms}, {"kind", e.kind}, {"from", e.from_state},
                                     {"to", e.to_state}, {"detail", e.detail}});
    }
    history.push_back(json::object{{"at_ms", now_ms()}, {"kind", "state"}, {"from", j.state}, {"to", "succeeded"}});
    json::object sidecar{
        {"id", j.key},
        {"batch", b.name},
        {"manifest", json::object{{"file", j.file}, {"line", j.line}}},
        {"row", to_json(j.spec)},
        {"profile", p.cfg->name},
        {"provider_kind", p.cfg->kind},
        {"remote_task_id", j.remote_id},
        {"attempts", store.attempt_counts(j.id).first},
        {"cost", j.cost ? json::value(*j.cost) : nullptr},
        {"video", file_json(*video)},
        {"cover", file_json(cover)},
        {"last_frame", file_json(last_frame)},
        {"history", std::move(history)},
    };
    if (!extra_errors.empty()) sidecar["download_errors"] = std::move(extra_errors);
    write_file_atomic(dir / (stem + ".json"), json::serialize(sidecar) + "\n");
    transition(j, JobEvent::download_done,
               json::object{{"file", j.output_path}, {"bytes", j.bytes}, {"sha256", j.sha256}});
  }

  awaitable<void> download_worker() {
    while (!stopping) {
      if (auto id = downloads.pop()) {
        try {
          co_await download_job(*id);
        } catch (const std::system_error& e) {  // disk full, permissions
          JobRecord& j = jobs.at(*id);
          j.error_code = "disk";
          j.error_message = e.what();
          transition(j, JobEvent::download_failed, json::object{{"message", e.what()}});
        }
        continue;
      }
      co_await download_wake->wait(milliseconds(1000));
    }
  }

  // ---- admission ----------------------------------------------------------------

  awaitable<void> dispatcher(Profile& p) {
    while (!stopping) {
      if (p.throttled_until > SteadyClock::now()) {
        co_await sleep_until(p.throttled_until);
        continue;
      }
      if (auto id = p.lane.admit()) {
        spawn(drive(p, *id), "job " + jobs.at(*id).key);
        continue;
      }
      co_await p.wake->wait(milliseconds(1000));
    }
  }

  Progress progress() const {
    Progress pr;
    for (const auto& [_, j] : jobs) {
      ++pr.by_state[j.state];
      if (j.cost) pr.credits_spent += *j.cost;
    }
    for (const auto& [name, p] : profiles)
      if (!p->pause_reason.empty()) pr.paused.push_back(name + ": " + p->pause_reason);
    return pr;
  }

  // True when nothing more can happen in this run.
  bool finished() const {
    for (const auto& [_, j] : jobs) {
      const auto s = job_state_from_string(j.state);
      if (!s || is_terminal(*s) || *s == JobState::held) continue;
      if (*s == JobState::pending && !profiles.at(j.spec.provider)->pause_reason.empty()) continue;
      return false;
    }
    return true;
  }

  awaitable<void> ticker() {
    while (!stopping) {
      if (opts.on_progress) opts.on_progress(progress());
      co_await sleep_for(opts.progress_interval);
    }
  }

  awaitable<RunSummary> run(std::vector<std::int64_t> batch_ids) {
    for (const auto& b : store.batches()) batches.emplace(b.id, b);
    for (auto& j : store.jobs(batch_ids)) jobs.emplace(j.id, std::move(j));

    std::vector<std::int64_t> to_reconcile;
    for (auto& [id, j] : jobs) {
      const auto s = job_state_from_string(j.state);
      if (!s || is_terminal(*s) || *s == JobState::held) continue;
      Profile& p = profile_of(j);
      switch (*s) {
        case JobState::pending:
          enqueue(p, j);
          break;
        case JobState::uploading:  // uploads are free to repeat
          transition(j, JobEvent::paused, json::object{{"reason", "recovered after restart"}});
          enqueue(p, j);
          break;
        case JobState::submitting:
          p.lane.occupy();
          to_reconcile.push_back(id);
          break;
        case JobState::running:
          p.lane.occupy();
          spawn(poll_loop(p, id), "job " + j.key);
          break;
        case JobState::downloading:
          downloads.push(id, std::chrono::system_clock::time_point(milliseconds(j.url_expires_at_ms)));
          break;
        default:
          break;
      }
      if (j.cost) p.spent += *j.cost;
    }
    // Lost submits are settled before any new submit on the same profile.
    for (auto id : to_reconcile) {
      Profile& p = profile_of(jobs.at(id));
      spdlog::warn("job {}: a submit was in flight when the last run stopped; reconciling", jobs.at(id).key);
      p.submit_busy = true;
      co_await reconcile(p, id);
      end_submit(p);
    }

    for (auto& [name, p] : profiles) {
      store.set_profile_pause(name, "");  // a new run tries a paused profile again
      spawn(dispatcher(*p), "dispatcher " + name);
    }
    for (int i = 0; i < cfg.download_concurrency; ++i) spawn(download_worker(), "downloader");
    if (opts.on_progress) spawn(ticker(), "progress");

    while (!stopping && !finished()) co_await changed->wait(milliseconds(500));
    stop();
    while (live > 0) co_await changed->wait(milliseconds(50));
    if (fatal) std::rethrow_exception(fatal);

    std::set<std::int64_t> touched;
    for (const auto& [_, j] : jobs) touched.insert(j.batch_id);
    for (auto b : touched) write_results_jsonl(store, b);

    RunSummary sum;
    const Progress pr = progress();
    sum.by_state = pr.by_state;
    sum.credits_spent = pr.credits_spent;
    sum.paused = pr.paused;
    sum.interrupted = interrupted;
    for (const auto& [state, n] : pr.by_state) {
      if (state == "succeeded") sum.succeeded += n;
      else if (state == "failed") sum.failed += n;
      else if (state == "cancelled") sum.cancelled += n;
      else if (state == "held") sum.held += n;
      else sum.waiting += n;
    }
    co_return sum;
  }
};

Engine::Engine(const Config& cfg, Store& store, HttpClient& http, EngineOptions opts)
    : impl_(std::make_unique<Impl>(cfg, store, http, std::move(opts), http.get_executor())) {}

Engine::~Engine() = default;

awaitable<RunSummary> Engine::async_run(std::vector<std::int64_t> batch_ids) {
  co_return co_await impl_->run(std::move(batch_ids));
}

void Engine::request_stop() {
  impl_->interrupted = true;
  impl_->stop();
}

void write_results_jsonl(const Store& store, std::int64_t batch_id) {
  const auto b = store.batch(batch_id);
  if (!b) return;
  std::string out;
  for (const auto& j : store.jobs({batch_id})) {
    json::object line{{"id", j.key},
                      {"line", j.line},
                      {"state", j.state},
                      {"profile", j.spec.provider},
                      {"remote_task_id", j.remote_id},
                      {"output", j.output_path.empty() ? json::value(nullptr) : json::value(j.output_path)},
                      {"bytes", j.bytes},
                      {"sha256", j.sha256},
                      {"cost", j.cost ? json::value(*j.cost) : nullptr},
                      {"error_code", j.error_code},
                      {"error_message", j.error_message}};
    out += json::serialize(line);
    out += '\n';
  }
  std::filesystem::create_directories(b->out_dir);
  write_file_atomic(std::filesystem::path(b->out_dir) / "results.jsonl", out);
}

}  // namespace reelbatch
