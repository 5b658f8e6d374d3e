// Stage: admitted job -> uploads -> submit POST -> running (or reconcile).
// Decisions: scheduler/error_policy.hpp (decide_upload_call,
// decide_upload_failure, decide_submit_failure).
#include "src/engine/engine_impl.hpp"

#include "src/core/sha256.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace reelbatch {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

awaitable<std::string> hash_here(std::filesystem::path path) { co_return sha256_file_hex(path); }

}  // namespace

awaitable<std::string> Engine::Impl::hash_file(const std::filesystem::path& path) {
  co_return co_await asio::co_spawn(pool, hash_here(path), asio::use_awaitable);
}

awaitable<ProviderResult<SubmitRequest>> Engine::Impl::prepare(Profile& p, ActiveJob& j) {
  SubmitRequest req;
  req.spec = apply_defaults(j.rec.spec, p.cfg->defaults);
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
        co_return fail(our_error(ErrorClass::permanent, p.cfg->name, errc::local,
                                 "cannot read " + a.location + ": " + e.what()));
      }
      if (auto ref = store.find_upload(p.cfg->name, la.sha256)) {
        outs[g]->push_back({a.name, *ref});
        continue;
      }
      for (int attempt = 0;; ++attempt) {
        if (!co_await circuit_gate(p, &j))
          co_return fail(our_error(ErrorClass::retryable, p.cfg->name, errc::network,
                                   "upload of " + a.location + " interrupted (stopping)"));
        auto r = co_await p.provider->async_upload(la);
        circuit_report(p, r ? nullptr : &r.error());
        if (r) {
          store.record_upload(p.cfg->name, la.sha256, *r, la.path.filename().string());
          note(j, "upload", json::object{{"name", a.name}, {"file", a.location}, {"sha256", la.sha256},
                                         {"remote_ref", *r}});
          outs[g]->push_back({a.name, *r});
          break;
        }
        const auto& err = r.error();
        const auto d = decide_upload_call(err.cls, attempt, err.retry_after, random01(), *policy);
        if (d.action == CallDecision::Action::give_up || stopping) co_return fail(err);
        co_await sleep_for(d.delay);
      }
    }
  }
  co_return req;
}

// Runs one admitted job: uploads, submit, then polling. Holds a lane slot.
awaitable<void> Engine::Impl::drive(std::int64_t id) {
  ActiveJob& j = *jobs.at(id);
  Profile& p = profile_of(j.rec);
  if (!transition(j, JobEvent::admit)) co_return;
  auto prepared = co_await prepare(p, j);
  if (j.lost) co_return;
  if (!prepared) {
    const auto& err = prepared.error();
    const auto d = decide_upload_failure(err.cls, j.upload_rounds, random01(), *policy);
    if (d.counts_round) ++j.upload_rounds;
    set_error(j, err);
    if (!d.message_prefix.empty()) j.rec.error_message = d.message_prefix + err.describe();
    if (d.action == UploadFailureDecision::Action::pause_profile) pause(p, err);
    if (!transition(j, d.event, error_detail(err))) co_return;
    release_slot(j);
    switch (d.action) {
      case UploadFailureDecision::Action::pause_profile: enqueue(j); break;
      case UploadFailureDecision::Action::fail_row: finish(j); break;
      case UploadFailureDecision::Action::requeue: enqueue_later(j, d.delay); break;
    }
    co_return;
  }

  // One submit at a time per profile: a lost response then leaves at most
  // one unknown task to find in the provider's list.
  while (p.submit_busy && !stopping) co_await p.submit_free->wait(milliseconds(1000));
  if (stopping || j.lost) co_return;
  p.submit_busy = true;
  SubmitSection section{*this, p};
  // The profile's circuit: while its provider is down, rows wait here (one
  // probe at a time once the cool-down ended), other profiles run.
  if (!co_await circuit_gate(p, &j)) co_return;
  co_await sleep_until(std::max(p.submit_bucket.reserve(clock.now()), p.throttled_until));
  if (stopping || j.lost) co_return;
  if (!p.pause_reason.empty()) {
    // Paused (by the user, or by another row's auth / out-of-credit answer)
    // after this row was admitted, while it waited for the submit section
    // or its token: no submit; it waits in the queue like the others.
    if (transition(j, JobEvent::paused, json::object{{"reason", p.pause_reason}})) {
      release_slot(j);
      enqueue(j);
    }
    co_return;
  }
  // A balance below the row's price pauses the profile before the provider refuses (issue 9).
  if (!co_await balance_gate(p, j) || stopping || j.lost) co_return;
  j.rec.intent_at_ms = now_unix_ms();
  j.rec.error_code.clear();
  j.rec.error_message.clear();
  // The intent and uploading -> submitting in one transaction, refused by
  // the store beyond max_submits_per_row (then the row is failed).
  // With a reservation of the row's estimated cost, refused (the row waits
  // for budget) when it would pass a credit cap (issue 9, budget_gate.cpp).
  const auto intent = record_intent_reserving(j, p);
  if (!intent) co_return;
  const std::int64_t attempt_id = *intent;
  // The POST is not cancelled by stop(): once sent, its answer is recorded,
  // so a Ctrl-C never turns a known outcome into an unknown one.
  co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
  auto r = co_await p.provider->async_submit(*prepared);
  co_await asio::this_coro::reset_cancellation_state();
  circuit_report(p, r ? nullptr : &r.error());
  if (r) {
    j.rec.remote_id = *r;
    const AttemptUpdate accepted{attempt_id, AttemptOutcome::accepted, *r, ""};
    if (!transition(j, JobEvent::submit_accepted, json::object{{"remote_id", *r}}, false, &accepted)) co_return;
    section.release();
    co_await poll_loop(id);
    co_return;
  }
  const ProviderError err = r.error();
  const auto d = decide_submit_failure(err.cls, j.submit_retries, j.rec.attempts, err.retry_after,
                                       p.cfg->request_timeout, random01(), *policy);
  if (d.action == SubmitFailureDecision::Action::reconcile) {
    store.finish_attempt(AttemptUpdate{attempt_id, AttemptOutcome::unknown, "", err.describe()});
    note(j, "submit_unknown", error_detail(err));
    logger().warn("job {}: submit outcome unknown ({}); reconciling", j.rec.key, err.describe());
    co_await sleep_for(d.delay);
    if (stopping || j.lost) co_return;
    // The submit section is kept until the search settles.
    if (co_await reconcile(p, j, section)) co_await poll_loop(id);
    co_return;
  }
  if (d.counts_transient_try) ++j.submit_retries;
  if (d.throttle_for) throttle(p, err, *d.throttle_for);
  if (d.pause_profile) pause(p, err);
  set_error(j, err);
  if (!d.message_prefix.empty()) j.rec.error_message = d.message_prefix + err.describe();
  const AttemptUpdate rejected{attempt_id, AttemptOutcome::rejected, "", err.describe()};
  if (!transition(j, *d.event, error_detail(err), false, &rejected)) co_return;
  store.release_credits(j.rec.id);  // refused: nothing was created, nothing charged (issue 9)
  budget_changed(p);
  section.release();
  release_slot(j);
  if (is_terminal(j.rec.state)) {
    finish(j);
  } else if (d.delay > milliseconds::zero()) {
    enqueue_later(j, d.delay);
  } else {
    enqueue(j);
  }
}

}  // namespace reelbatch
