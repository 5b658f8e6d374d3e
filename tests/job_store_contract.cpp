// The JobStore contract (tests/job_store_contract.hpp): batches, ingest,
// lookups, paging, compare-and-set transitions, attempts, leases with
// fencing tokens, pauses, uploads, events, rejected rows, costs and the
// credit ledger.
#include "tests/job_store_contract.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>

namespace reelbatch {
namespace {

using namespace std::chrono_literals;

IngestRow row(const std::string& key, const std::string& prompt, int line, const std::string& profile = "juhuo",
              int priority = 0) {
  IngestRow r;
  r.spec.id = key;
  r.spec.provider = profile;
  r.spec.prompt = prompt;
  r.spec.duration_s = 8;
  r.spec.priority = priority;
  r.content_hash = "hash-of-" + prompt;
  r.file = "m.csv";
  r.line = line;
  return r;
}

EventRecord note(const std::string& kind, boost::json::object detail = {}) {
  EventRecord e;
  e.kind = kind;
  e.detail = std::move(detail);
  return e;
}

std::vector<std::string> keys(const std::vector<JobRecord>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.key);
  return out;
}

// Every job matching `q.filter`, page by page, checking the paging rules.
std::vector<JobRecord> all_pages(const JobStore& s, JobQuery q, int* pages = nullptr) {
  std::vector<JobRecord> out;
  int n = 0;
  for (;;) {
    const auto page = s.jobs(q);
    ++n;
    EXPECT_LE(static_cast<int>(page.jobs.size()), q.limit);
    for (const auto& j : page.jobs) {
      EXPECT_GT(j.seq, q.after_seq);
      if (!out.empty()) {
        EXPECT_GT(j.seq, out.back().seq);
      }
      out.push_back(j);
    }
    if (!page.next_after_seq) break;
    EXPECT_EQ(static_cast<int>(page.jobs.size()), q.limit) << "a page before the last is full";
    EXPECT_EQ(*page.next_after_seq, page.jobs.back().seq);
    q.after_seq = *page.next_after_seq;
    if (n > 100) break;
  }
  if (pages) *pages = n;
  return out;
}

// ---- batches and ingest ------------------------------------------------------

TEST_P(JobStoreContract, HasASchemaVersion) { EXPECT_GT(store().schema_version(), 0); }

TEST_P(JobStoreContract, EnsureBatchIsIdempotent) {
  auto& s = store();
  const auto b = s.ensure_batch("m", "/abs/m.csv", "/out/m");
  EXPECT_GT(b.id, 0);
  EXPECT_EQ(b.name, "m");
  EXPECT_EQ(b.manifest_path, "/abs/m.csv");
  EXPECT_EQ(b.out_dir, "/out/m");
  EXPECT_GT(b.created_at_ms, 0);
  const auto again = s.ensure_batch("other-name", "/abs/m.csv", "/elsewhere");
  EXPECT_EQ(again.id, b.id);
  EXPECT_EQ(again.name, "m") << "the first name stays";
  const auto b2 = s.ensure_batch("n", "/abs/n.csv", "/out/n");
  EXPECT_NE(b2.id, b.id);
  const auto all = s.batches();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, b.id);
  EXPECT_EQ(all[1].id, b2.id);
  EXPECT_EQ(s.batch(b2.id)->manifest_path, "/abs/n.csv");
  EXPECT_FALSE(s.batch(b2.id + 1000));
}

TEST_P(JobStoreContract, IngestAddsCountsExistingAndReportsConflicts) {
  auto& s = store();
  const auto b = s.ensure_batch("m", "/abs/m.csv", "/out/m");
  auto r1 = s.ingest(b.id, {row("a", "one", 2), row("b", "two", 3)});
  EXPECT_EQ(r1.added, 2);
  EXPECT_EQ(r1.existing, 0);
  EXPECT_TRUE(r1.conflicts.empty());
  ASSERT_EQ(r1.job_ids.size(), 2u);

  const auto b2 = s.ensure_batch("n", "/abs/n.csv", "/out/n");
  auto changed = row("b", "changed", 7);
  changed.file = "n.csv";
  auto r2 = s.ingest(b2.id, {row("c", "three", 2), row("a", "one", 5), changed});
  EXPECT_EQ(r2.added, 1);
  EXPECT_EQ(r2.existing, 1) << "the same row in another batch is not added again";
  ASSERT_EQ(r2.conflicts.size(), 1u);
  EXPECT_NE(r2.conflicts[0].find("n.csv:7: id: 'b'"), std::string::npos) << r2.conflicts[0];
  EXPECT_NE(r2.conflicts[0].find("m.csv:3"), std::string::npos) << "names the row holding the id: " << r2.conflicts[0];
  ASSERT_EQ(r2.job_ids.size(), 2u);
  EXPECT_EQ(r2.job_ids[1], r1.job_ids[0]) << "row order, existing rows by their first id";

  const auto a = s.job(r1.job_ids[0]).value();
  EXPECT_EQ(a.batch_id, b.id);
  EXPECT_EQ(a.key, "a");
  EXPECT_EQ(a.content_hash, "hash-of-one");
  EXPECT_EQ(a.file, "m.csv");
  EXPECT_EQ(a.line, 2);
  EXPECT_EQ(a.state, JobState::pending);
  EXPECT_EQ(a.spec.prompt, "one");
  EXPECT_EQ(a.spec.provider, "juhuo");
  EXPECT_EQ(a.spec.duration_s, 8);
  EXPECT_EQ(a.attempts, 0);
  EXPECT_FALSE(a.cost);
  EXPECT_TRUE(a.lease_owner.empty());
  EXPECT_GT(a.created_at_ms, 0);
  EXPECT_EQ(s.job(r1.job_ids[1])->spec.prompt, "two") << "a conflict changes nothing";
  EXPECT_LT(a.seq, s.job(r1.job_ids[1])->seq);
  EXPECT_LT(s.job(r1.job_ids[1])->seq, s.job(r2.job_ids[0])->seq);

  const auto ev = s.events(a.id);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, "ingest");
  EXPECT_EQ(ev[0].job_id, a.id);
  EXPECT_EQ(ev[0].to_state, JobState::pending);
  EXPECT_EQ(ev[0].detail.at("file").as_string(), "m.csv");
  EXPECT_EQ(ev[0].detail.at("line").to_number<int>(), 2);
}

TEST_P(JobStoreContract, IngestKeepsTheWholeSpec) {
  auto& s = store();
  auto r = row("a", "one", 2, "veo", 7);
  r.spec.model = "veo-3";
  r.spec.resolution = "1080p";
  r.spec.aspect_ratio = "9:16";
  r.spec.audio = true;
  r.spec.seed = 42;
  r.spec.images = {{"first", "/in/a.png"}, {"last", "https://x/b.png"}};
  r.spec.output = "clip-a";
  r.spec.params = {{"camera_fixed", true}};
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {r}).job_ids.at(0);
  const auto spec = s.job(id)->spec;
  EXPECT_EQ(spec.model, "veo-3");
  EXPECT_EQ(spec.resolution, "1080p");
  EXPECT_EQ(spec.aspect_ratio, "9:16");
  EXPECT_EQ(spec.audio, true);
  EXPECT_EQ(spec.seed, 42);
  EXPECT_EQ(spec.images, r.spec.images);
  EXPECT_EQ(spec.priority, 7);
  EXPECT_EQ(spec.output, "clip-a");
  EXPECT_EQ(spec.params, r.spec.params);
}

// ---- lookups and paging ------------------------------------------------------

TEST_P(JobStoreContract, FindsJobsByKeyThenNumericId) {
  auto& s = store();
  const auto b = s.ensure_batch("m", "/m", "/o");
  const auto ids = s.ingest(b.id, {row("a", "one", 2), row("b", "two", 3)}).job_ids;
  EXPECT_EQ(s.job(ids[0])->key, "a");
  EXPECT_FALSE(s.job(ids[1] + 1000));
  EXPECT_EQ(s.find_job("b")->id, ids[1]);
  EXPECT_EQ(s.find_job(std::to_string(ids[0]))->key, "a");
  EXPECT_FALSE(s.find_job("nope"));
  EXPECT_FALSE(s.find_job(std::to_string(ids[0]) + "x"));
  EXPECT_FALSE(s.find_job(""));
  // A key that reads as a number wins over the numeric id.
  const auto numeric = s.ingest(b.id, {row(std::to_string(ids[0]), "three", 4)}).job_ids.at(0);
  EXPECT_EQ(s.find_job(std::to_string(ids[0]))->id, numeric);
}

TEST_P(JobStoreContract, PagesJobsBySeqWithFilters) {
  auto& s = store();
  const auto b1 = s.ensure_batch("m", "/m", "/o").id;
  const auto b2 = s.ensure_batch("n", "/n", "/o").id;
  s.ingest(b1, {row("a", "a", 2, "juhuo"), row("b", "b", 3, "veo"), row("c", "c", 4, "juhuo"),
                row("d", "d", 5, "veo"), row("e", "e", 6, "juhuo")});
  s.ingest(b2, {row("f", "f", 2, "juhuo"), row("g", "g", 3, "veo")});

  int pages = 0;
  EXPECT_EQ(keys(all_pages(s, JobQuery{{}, 0, 2}, &pages)),
            (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"}));
  EXPECT_EQ(pages, 4);
  // Exactly one page's worth: no empty page follows.
  EXPECT_EQ(keys(all_pages(s, JobQuery{{{b1}, {}, "juhuo"}, 0, 3}, &pages)),
            (std::vector<std::string>{"a", "c", "e"}));
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(keys(all_pages(s, JobQuery{{{b1, b2}, {}, "veo"}, 0, 2}, &pages)),
            (std::vector<std::string>{"b", "d", "g"}));
  EXPECT_EQ(pages, 2);
  const auto two = s.jobs(JobQuery{{{b1}, {}, "veo"}, 0, 2});
  EXPECT_EQ(keys(two.jobs), (std::vector<std::string>{"b", "d"}));
  EXPECT_FALSE(two.next_after_seq) << "a full last page has no next page";
  EXPECT_EQ(keys(all_pages(s, JobQuery{{{b2}, {}, ""}, 0, 1000})), (std::vector<std::string>{"f", "g"}));

  auto d = s.find_job("d").value();
  d.state = JobState::failed;
  ASSERT_TRUE(s.try_transition(d, JobState::pending, note("state")));
  EXPECT_EQ(keys(all_pages(s, JobQuery{{{}, {JobState::failed}, ""}, 0, 1})), (std::vector<std::string>{"d"}));
  EXPECT_EQ(keys(all_pages(s, JobQuery{{{b1}, {JobState::pending, JobState::failed}, "veo"}, 0, 5})),
            (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(keys(all_pages(s, JobQuery{{{}, {JobState::pending}, "veo"}, 0, 5})),
            (std::vector<std::string>{"b", "g"}));

  const auto after = s.jobs(JobQuery{{}, s.find_job("e")->seq, 10});
  EXPECT_EQ(keys(after.jobs), (std::vector<std::string>{"f", "g"}));
  EXPECT_FALSE(after.next_after_seq);
  const auto none = s.jobs(JobQuery{{{b2 + 1000}, {}, ""}, 0, 10});
  EXPECT_TRUE(none.jobs.empty());
  EXPECT_FALSE(none.next_after_seq);
}

TEST_P(JobStoreContract, CountsByState) {
  auto& s = store();
  const auto b1 = s.ensure_batch("m", "/m", "/o").id;
  const auto b2 = s.ensure_batch("n", "/n", "/o").id;
  s.ingest(b1, {row("a", "a", 2, "juhuo"), row("b", "b", 3, "veo"), row("c", "c", 4, "juhuo")});
  s.ingest(b2, {row("d", "d", 2, "juhuo")});
  EXPECT_TRUE(s.count_by_state(JobFilter{{b2 + 1000}, {}, ""}).empty());
  auto c = s.find_job("c").value();
  c.state = JobState::succeeded;
  ASSERT_TRUE(s.try_transition(c, JobState::pending, note("state")));
  EXPECT_EQ(s.count_by_state({}), (std::map<JobState, int>{{JobState::pending, 3}, {JobState::succeeded, 1}}));
  EXPECT_EQ(s.count_by_state(JobFilter{{b1}, {}, "juhuo"}),
            (std::map<JobState, int>{{JobState::pending, 1}, {JobState::succeeded, 1}}));
  EXPECT_EQ(s.count_by_state(JobFilter{{}, {JobState::pending}, ""}), (std::map<JobState, int>{{JobState::pending, 3}}));
  EXPECT_EQ(s.count_by_state(JobFilter{{b2}, {}, ""}), (std::map<JobState, int>{{JobState::pending, 1}}));
}

// ---- compare-and-set transitions ---------------------------------------------

TEST_P(JobStoreContract, TransitionIsACompareAndSet) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  auto first = s.job(id).value();
  auto second = first;  // another writer read the same record

  first.state = JobState::running;
  first.remote_id = "gen_1";
  first.native_state = "queued";
  first.intent_at_ms = 1234;
  first.video_url = "https://v";
  first.cover_url = "https://c";
  first.last_frame_url = "https://l";
  first.url_expires_at_ms = 99;
  first.cost = 1.25;
  first.error_code = "E";
  first.error_message = "msg";
  first.output_path = "/out/a.mp4";
  first.bytes = 5'000'000'000ULL;
  first.sha256 = "abc";
  first.attempts = 2;
  const auto before = now_ms();
  ASSERT_TRUE(s.try_transition(first, JobState::pending, note("state", {{"remote_id", "gen_1"}})));
  EXPECT_GE(first.updated_at_ms, before);

  const auto stored = s.job(id).value();
  EXPECT_EQ(stored.state, JobState::running);
  EXPECT_EQ(stored.remote_id, "gen_1");
  EXPECT_EQ(stored.native_state, "queued");
  EXPECT_EQ(stored.intent_at_ms, 1234);
  EXPECT_EQ(stored.video_url, "https://v");
  EXPECT_EQ(stored.cover_url, "https://c");
  EXPECT_EQ(stored.last_frame_url, "https://l");
  EXPECT_EQ(stored.url_expires_at_ms, 99);
  EXPECT_DOUBLE_EQ(stored.cost.value(), 1.25);
  EXPECT_EQ(stored.error_code, "E");
  EXPECT_EQ(stored.error_message, "msg");
  EXPECT_EQ(stored.output_path, "/out/a.mp4");
  EXPECT_EQ(stored.bytes, 5'000'000'000ULL);
  EXPECT_EQ(stored.sha256, "abc");
  EXPECT_EQ(stored.attempts, 2);
  EXPECT_EQ(stored.updated_at_ms, first.updated_at_ms);
  EXPECT_EQ(stored.fence, first.fence) << "a transition does not change the fence";

  // The second writer holds the stale record: same from, same fence.
  second.state = JobState::cancelled;
  const auto stale = second;
  EXPECT_FALSE(s.try_transition(second, JobState::pending, note("state")));
  EXPECT_EQ(second.updated_at_ms, stale.updated_at_ms) << "the record is left as it was";
  EXPECT_EQ(s.job(id)->state, JobState::running);
  EXPECT_EQ(s.job(id)->remote_id, "gen_1");
  EXPECT_EQ(s.events(id).size(), 2u) << "ingest and one transition; the lost CAS wrote no event";

  // Clearing a column is written too (cost back to none).
  first.state = JobState::downloading;
  first.cost.reset();
  ASSERT_TRUE(s.try_transition(first, JobState::running, note("state")));
  EXPECT_FALSE(s.job(id)->cost);

  JobRecord missing = first;
  missing.id = id + 1000;
  EXPECT_FALSE(s.try_transition(missing, JobState::downloading, note("state")));
}

TEST_P(JobStoreContract, TransitionWithAFenceFromBeforeAClaimFails) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  auto read_before = s.job(id).value();
  const auto claimed = s.claim_job(id, "engine-1", 1h).value();
  EXPECT_EQ(claimed.fence, read_before.fence + 1);
  read_before.state = JobState::uploading;
  EXPECT_FALSE(s.try_transition(read_before, JobState::pending, note("state")));
  EXPECT_EQ(s.job(id)->state, JobState::pending);
  EXPECT_EQ(s.events(id).size(), 1u);

  auto mine = claimed;
  mine.state = JobState::uploading;
  EXPECT_TRUE(s.try_transition(mine, JobState::pending, note("state")));
  const auto after = s.job(id).value();
  EXPECT_EQ(after.lease_owner, "engine-1") << "a transition keeps the lease";
  EXPECT_EQ(after.lease_expires_at_ms, claimed.lease_expires_at_ms);
  EXPECT_EQ(after.fence, claimed.fence);
}

TEST_P(JobStoreContract, NotesAppendEventsWithoutChangingState) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  auto j = s.job(id).value();
  j.state = JobState::running;
  ASSERT_TRUE(s.try_transition(j, JobState::pending, note("state")));
  j.native_state = "generating";
  ASSERT_TRUE(s.try_transition(j, j.state, note("remote_state", {{"native", "generating"}})));
  ASSERT_TRUE(s.try_transition(j, j.state, note("remote_state", {{"native", "generating"}})));
  EXPECT_EQ(s.job(id)->state, JobState::running);
  EXPECT_EQ(s.job(id)->native_state, "generating");
  const auto ev = s.events(id);
  ASSERT_EQ(ev.size(), 4u);
  for (std::size_t i : {2u, 3u}) {
    EXPECT_EQ(ev[i].kind, "remote_state");
    EXPECT_EQ(ev[i].from_state, JobState::running);
    EXPECT_EQ(ev[i].to_state, JobState::running);
  }
}

// ---- the submit ceiling (issue 7, "never pay twice") ------------------------------

// begin_submit() records the intent and the transition together, and refuses
// a submission beyond max_submits whatever the caller asks.
TEST_P(JobStoreContract, Case3_BeginSubmitEnforcesTheCeiling) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  auto j = s.job(id).value();
  auto submit = [&](AttemptOutcome outcome) {
    j.state = JobState::submitting;
    const auto r = s.begin_submit(j, JobState::pending, note("state"), "juhuo", 2);
    if (r.status != SubmitIntent::Status::recorded) {
      j.state = JobState::pending;
      return r;
    }
    j.state = JobState::pending;
    const AttemptUpdate finished{r.attempt_id, outcome, "", "x"};
    EXPECT_TRUE(s.try_transition(j, JobState::submitting, note("state"), &finished));
    return r;
  };
  // A refusal (nothing created) does not count against the ceiling.
  auto r = submit(AttemptOutcome::rejected);
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  EXPECT_GT(r.attempt_id, 0);
  EXPECT_EQ(r.submits, 0);
  r = submit(AttemptOutcome::unknown);
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  EXPECT_EQ(r.submits, 0);
  r = submit(AttemptOutcome::remote_failed);
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  EXPECT_EQ(r.submits, 1);
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(3, 0));
  // The third would be the third that may have created a task: refused, and
  // nothing is written (no attempt, no transition, no event).
  const auto events_before = s.events(id).size();
  for (int i = 0; i < 5; ++i) {
    r = submit(AttemptOutcome::accepted);
    EXPECT_EQ(r.status, SubmitIntent::Status::ceiling);
    EXPECT_EQ(r.submits, 2);
    EXPECT_EQ(r.attempt_id, 0);
  }
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(3, 0));
  EXPECT_EQ(s.events(id).size(), events_before);
  EXPECT_EQ(s.job(id)->state, JobState::pending);
  // A larger ceiling lets one more through; values below 1 count as 1.
  j.state = JobState::submitting;
  EXPECT_EQ(s.begin_submit(j, JobState::pending, note("state"), "juhuo", 0).status, SubmitIntent::Status::ceiling);
  EXPECT_EQ(s.begin_submit(j, JobState::pending, note("state"), "juhuo", 3).status, SubmitIntent::Status::recorded);
  EXPECT_EQ(s.job(id)->state, JobState::submitting);
}

// Issue 7: an attempt that reconcile proved created nothing (`absent`) does
// not count toward the ceiling; attempts whose outcome is unknown are counted
// and reported as such (the engine holds, never fails, such a row).
TEST_P(JobStoreContract, Case3_BeginSubmitSkipsAbsentAndReportsUnknown) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  auto j = s.job(id).value();
  EXPECT_FALSE(s.last_attempt_id(id).has_value());
  auto submit = [&](std::optional<AttemptOutcome> outcome) {
    j.state = JobState::submitting;
    const auto r = s.begin_submit(j, JobState::pending, note("state"), "juhuo", 2);
    if (r.status != SubmitIntent::Status::recorded) {
      j.state = JobState::pending;
      return r;
    }
    EXPECT_EQ(s.last_attempt_id(id), r.attempt_id);
    j.state = JobState::pending;
    if (outcome) {
      const AttemptUpdate finished{r.attempt_id, *outcome, "", "x"};
      EXPECT_TRUE(s.try_transition(j, JobState::submitting, note("state"), &finished));
    } else {
      EXPECT_TRUE(s.try_transition(j, JobState::submitting, note("state")));  // left pending
    }
    return r;
  };
  for (int i = 0; i < 4; ++i) {
    const auto r = submit(AttemptOutcome::absent);
    ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
    EXPECT_EQ(r.submits, 0);
    EXPECT_EQ(r.unknown, 0);
  }
  auto r = submit(AttemptOutcome::unknown);
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  r = submit(std::nullopt);  // an intent whose answer never came (a crash)
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  EXPECT_EQ(r.submits, 1);
  EXPECT_EQ(r.unknown, 1);
  r = submit(AttemptOutcome::accepted);
  EXPECT_EQ(r.status, SubmitIntent::Status::ceiling);
  EXPECT_EQ(r.submits, 2);
  EXPECT_EQ(r.unknown, 2);
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(6, 0));
}

// Poll times (the poll budget across restarts): stored per profile, read back
// in order from a time on, and pruned to the last two minutes on each write.
TEST_P(JobStoreContract, Case9_PollTimesArePerProfileAndPruned) {
  auto& s = store();
  const std::int64_t now = now_ms();
  EXPECT_TRUE(s.poll_times_since("p", 0).empty());
  s.record_poll_times("p", {now - 1000, now - 3000, now - 500000});
  s.record_poll_times("q", {now - 2000});
  EXPECT_EQ(s.poll_times_since("p", now - 60000), (std::vector<std::int64_t>{now - 3000, now - 1000}));
  EXPECT_EQ(s.poll_times_since("q", 0), (std::vector<std::int64_t>{now - 2000}));
  // The next write prunes what is older than two minutes.
  EXPECT_EQ(s.poll_times_since("p", 0).size(), 3u);
  s.record_poll_times("p", {});
  EXPECT_EQ(s.poll_times_since("p", 0), (std::vector<std::int64_t>{now - 3000, now - 1000}));
}

// begin_submit() is a compare-and-set like try_transition(): a stale record
// (another writer claimed the job: fence bumped) writes nothing, the intent
// included.
TEST_P(JobStoreContract, BeginSubmitIsACompareAndSetOnStateAndFence) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  auto stale = s.claim_job(id, "engine-1", std::chrono::milliseconds(0)).value();  // expired at once
  auto mine = s.claim_job(id, "engine-2", std::chrono::hours(1)).value();
  stale.state = JobState::submitting;
  EXPECT_EQ(s.begin_submit(stale, JobState::pending, note("state"), "juhuo", 3).status,
            SubmitIntent::Status::lost);
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(0, 0));
  EXPECT_EQ(s.job(id)->state, JobState::pending);
  mine.state = JobState::submitting;
  const auto r = s.begin_submit(mine, JobState::pending, note("state"), "juhuo", 3);
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(1, 0));
  const auto ev = s.events(id);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().detail.at("attempt").as_int64(), r.attempt_id);
  EXPECT_EQ(ev.back().to_state, JobState::submitting);
}

// ---- attempts ----------------------------------------------------------------

TEST_P(JobStoreContract, RecordsAttempts) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(0, 0));
  EXPECT_FALSE(s.accepted_remote_id(id));
  const auto a1 = s.begin_attempt(id, "juhuo");
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(1, 0));
  s.finish_attempt(AttemptUpdate{a1, AttemptOutcome::unknown, "", "timeout"});
  const auto a2 = s.begin_attempt(id, "juhuo");
  EXPECT_NE(a1, a2);
  s.finish_attempt(AttemptUpdate{a2, AttemptOutcome::accepted, "gen_2", ""});
  const auto a3 = s.begin_attempt(id, "juhuo");
  s.finish_attempt(AttemptUpdate{a3, AttemptOutcome::rejected, "", "400 bad prompt"});
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(3, 1));
  EXPECT_EQ(s.accepted_remote_id(id), "gen_2");
  EXPECT_THROW(s.finish_attempt(AttemptUpdate{a3 + 1000, AttemptOutcome::accepted, "x", ""}), StoreError);
}

TEST_P(JobStoreContract, AttemptOutcomeCommitsWithTheTransition) {
  auto& s = store();
  const auto ids =
      s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2), row("b", "two", 3)}).job_ids;
  const auto id = ids[0];
  const auto att = s.begin_attempt(id, "juhuo");
  auto j = s.job(id).value();
  auto stale = j;
  j.state = JobState::submitting;
  ASSERT_TRUE(s.try_transition(j, JobState::pending, note("state")));

  // Lost CAS: neither the job nor the attempt changes.
  stale.state = JobState::running;
  stale.remote_id = "gen_x";
  const AttemptUpdate lost{att, AttemptOutcome::accepted, "gen_x", ""};
  EXPECT_FALSE(s.try_transition(stale, JobState::pending, note("state"), &lost));
  EXPECT_FALSE(s.accepted_remote_id(id));
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(1, 0));

  // An attempt of another job: throws and writes nothing.
  const auto other = s.begin_attempt(ids[1], "juhuo");
  j.state = JobState::running;
  const AttemptUpdate wrong{other, AttemptOutcome::accepted, "gen_y", ""};
  EXPECT_THROW(s.try_transition(j, JobState::submitting, note("state"), &wrong), StoreError);
  EXPECT_EQ(s.job(id)->state, JobState::submitting);
  EXPECT_FALSE(s.accepted_remote_id(ids[1]));
  EXPECT_EQ(s.events(id).size(), 2u);

  j.remote_id = "gen_1";
  const AttemptUpdate won{att, AttemptOutcome::accepted, "gen_1", ""};
  ASSERT_TRUE(s.try_transition(j, JobState::submitting, note("state"), &won));
  EXPECT_EQ(s.job(id)->remote_id, "gen_1");
  EXPECT_EQ(s.accepted_remote_id(id), "gen_1");
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(1, 1));
}

TEST_P(JobStoreContract, RemoteIdsAreTheUnionOfJobsAndAttempts) {
  auto& s = store();
  const auto ids = s.ingest(s.ensure_batch("m", "/m", "/o").id,
                            {row("a", "one", 2, "juhuo"), row("b", "two", 3, "veo")})
                       .job_ids;
  EXPECT_TRUE(s.remote_ids("juhuo").empty());
  auto a = s.job(ids[0]).value();
  a.state = JobState::running;
  a.remote_id = "r1";
  ASSERT_TRUE(s.try_transition(a, JobState::pending, note("state")));
  s.finish_attempt(AttemptUpdate{s.begin_attempt(ids[0], "juhuo"), AttemptOutcome::accepted, "r1", ""});
  s.finish_attempt(AttemptUpdate{s.begin_attempt(ids[0], "juhuo"), AttemptOutcome::accepted, "r2", ""});
  s.finish_attempt(AttemptUpdate{s.begin_attempt(ids[0], "juhuo"), AttemptOutcome::unknown, "", "timeout"});
  s.finish_attempt(AttemptUpdate{s.begin_attempt(ids[1], "veo"), AttemptOutcome::accepted, "v1", ""});
  auto got = s.remote_ids("juhuo");
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(s.remote_ids("veo"), std::vector<std::string>{"v1"});
  EXPECT_TRUE(s.remote_ids("other").empty());
}

// ---- leases ------------------------------------------------------------------

TEST_P(JobStoreContract, ClaimsByPriorityThenSeqAndBumpsTheFence) {
  auto& s = store();
  s.ingest(s.ensure_batch("m", "/m", "/o").id,
           {row("a", "a", 2, "juhuo", 0), row("b", "b", 3, "juhuo", 5), row("c", "c", 4, "juhuo", 0),
            row("d", "d", 5, "juhuo", 5), row("e", "e", 6, "juhuo", 1)});
  const auto fence_before = s.find_job("b")->fence;
  const auto before = now_ms();
  const auto first = s.claim_jobs(ClaimRequest{"engine-1", 1h, {}, 3});
  EXPECT_EQ(keys(first), (std::vector<std::string>{"b", "d", "e"}));
  for (const auto& j : first) {
    EXPECT_EQ(j.lease_owner, "engine-1");
    EXPECT_GE(j.lease_expires_at_ms, before + 3'600'000);
    EXPECT_EQ(s.job(j.id)->fence, j.fence) << "returned as stored";
    EXPECT_EQ(s.job(j.id)->lease_owner, "engine-1");
  }
  EXPECT_EQ(first[0].fence, fence_before + 1);
  // The owner's live leases are not returned again.
  EXPECT_EQ(keys(s.claim_jobs(ClaimRequest{"engine-1", 1h, {}, 10})), (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(s.claim_jobs(ClaimRequest{"engine-1", 1h, {}, 10}).empty());
  EXPECT_TRUE(s.claim_jobs(ClaimRequest{"engine-2", 1h, {}, 10}).empty()) << "others' live leases are skipped";
  EXPECT_TRUE(s.claim_jobs(ClaimRequest{"engine-2", 1h, {}, 0}).empty());
  EXPECT_THROW(s.claim_jobs(ClaimRequest{"", 1h, {}, 1}), std::invalid_argument);
}

TEST_P(JobStoreContract, ClaimsOnlyWhatTheFilterMatches) {
  auto& s = store();
  const auto b1 = s.ensure_batch("m", "/m", "/o").id;
  const auto b2 = s.ensure_batch("n", "/n", "/o").id;
  s.ingest(b1, {row("a", "a", 2, "juhuo"), row("b", "b", 3, "veo"), row("c", "c", 4, "juhuo")});
  s.ingest(b2, {row("d", "d", 2, "juhuo")});
  auto c = s.find_job("c").value();
  c.state = JobState::succeeded;
  ASSERT_TRUE(s.try_transition(c, JobState::pending, note("state")));
  EXPECT_EQ(keys(s.claim_jobs(ClaimRequest{"e1", 1h, JobFilter{{b1}, {JobState::pending}, "juhuo"}, 10})),
            std::vector<std::string>{"a"});
  EXPECT_EQ(keys(s.claim_jobs(ClaimRequest{"e1", 1h, JobFilter{{}, {}, "veo"}, 10})), std::vector<std::string>{"b"});
  EXPECT_EQ(keys(s.claim_jobs(ClaimRequest{"e1", 1h, JobFilter{{b2}, {}, ""}, 10})), std::vector<std::string>{"d"});
  EXPECT_EQ(keys(s.claim_jobs(ClaimRequest{"e1", 1h, {}, 10})), std::vector<std::string>{"c"});
}

TEST_P(JobStoreContract, ExpiredLeasesAreClaimedAgain) {
  auto& s = store();
  const auto ids = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "a", 2), row("b", "b", 3)}).job_ids;
  const auto dead = s.claim_jobs(ClaimRequest{"engine-1", 0ms, {}, 10});  // expired at once
  ASSERT_EQ(dead.size(), 2u);
  const auto taken = s.claim_jobs(ClaimRequest{"engine-2", 1h, {}, 10});
  ASSERT_EQ(keys(taken), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(taken[0].lease_owner, "engine-2");
  EXPECT_EQ(taken[0].fence, dead[0].fence + 1);
  // engine-1 lost them: its writes, renewals and releases do nothing.
  auto stale = dead[0];
  stale.state = JobState::uploading;
  EXPECT_FALSE(s.try_transition(stale, JobState::pending, note("state")));
  EXPECT_EQ(s.renew_leases("engine-1", 1h), 0);
  EXPECT_EQ(s.release_leases("engine-1"), 0);
  EXPECT_EQ(s.job(ids[0])->lease_owner, "engine-2");
  // An owner may take its own expired lease back.
  ASSERT_EQ(s.claim_jobs(ClaimRequest{"engine-2", 0ms, {}, 10}).size(), 0u) << "live leases of engine-2";
  EXPECT_EQ(s.renew_leases("engine-2", 0ms), 2);
  const auto again = s.claim_jobs(ClaimRequest{"engine-2", 1h, {}, 10});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].fence, taken[0].fence + 1);
}

TEST_P(JobStoreContract, ClaimsOneJob) {
  auto& s = store();
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "a", 2)}).job_ids.at(0);
  EXPECT_FALSE(s.claim_job(id + 1000, "engine-1", 1h));
  const auto mine = s.claim_job(id, "engine-1", 1h).value();
  EXPECT_EQ(mine.lease_owner, "engine-1");
  EXPECT_FALSE(s.claim_job(id, "engine-2", 1h)) << "another owner's live lease";
  const auto again = s.claim_job(id, "engine-1", 2h).value();
  EXPECT_EQ(again.fence, mine.fence + 1) << "claimed afresh by its owner";
  EXPECT_GT(again.lease_expires_at_ms, mine.lease_expires_at_ms);
  EXPECT_TRUE(s.claim_jobs(ClaimRequest{"engine-2", 1h, {}, 10}).empty());
  ASSERT_TRUE(s.claim_job(id, "engine-1", 0ms));
  const auto taken = s.claim_job(id, "engine-2", 1h).value();
  EXPECT_EQ(taken.lease_owner, "engine-2");
  EXPECT_EQ(taken.fence, again.fence + 2);
  EXPECT_THROW(s.claim_job(id, "", 1h), std::invalid_argument);
}

TEST_P(JobStoreContract, RenewsAndReleasesLeases) {
  auto& s = store();
  const auto ids =
      s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "a", 2), row("b", "b", 3), row("c", "c", 4)}).job_ids;
  const auto held = s.claim_jobs(ClaimRequest{"engine-1", 1h, {}, 2});
  ASSERT_EQ(held.size(), 2u);
  ASSERT_TRUE(s.claim_job(ids[2], "engine-2", 1h));
  const auto before = now_ms();
  EXPECT_EQ(s.renew_leases("engine-1", 2h), 2);
  EXPECT_GE(s.job(ids[0])->lease_expires_at_ms, before + 7'200'000);
  EXPECT_LT(s.job(ids[2])->lease_expires_at_ms, before + 7'200'000) << "not engine-1's";
  EXPECT_EQ(s.renew_leases("nobody", 1h), 0);
  EXPECT_EQ(s.lease_owners(), (std::vector<std::string>{"engine-1", "engine-2"}));

  EXPECT_EQ(s.release_leases("engine-1", {ids[0]}), 1);
  EXPECT_EQ(s.release_leases("engine-1", {ids[0]}), 0);
  EXPECT_EQ(s.release_leases("engine-1", {ids[2]}), 0) << "engine-2's lease stays";
  EXPECT_EQ(s.job(ids[2])->lease_owner, "engine-2");
  const auto released = s.job(ids[0]).value();
  EXPECT_TRUE(released.lease_owner.empty());
  EXPECT_EQ(released.fence, held[0].fence) << "release keeps the fence";
  EXPECT_EQ(s.release_leases("engine-1"), 1);
  EXPECT_EQ(s.release_leases("engine-1"), 0);
  EXPECT_EQ(s.lease_owners(), (std::vector<std::string>{"engine-2"}));
  EXPECT_EQ(keys(s.claim_jobs(ClaimRequest{"engine-3", 1h, {}, 10})), (std::vector<std::string>{"a", "b"}));
}

// ---- profiles, uploads, events -----------------------------------------------

TEST_P(JobStoreContract, ProfilePausesSetReplaceAndClear) {
  auto& s = store();
  EXPECT_TRUE(s.profile_pauses().empty());
  s.set_profile_pause("juhuo", "auth: 401");
  s.set_profile_pause("veo", "out_of_credit");
  s.set_profile_pause("juhuo", "out_of_credit: 4003");
  EXPECT_EQ(s.profile_pauses(), (std::map<std::string, std::string>{{"juhuo", "out_of_credit: 4003"},
                                                                    {"veo", "out_of_credit"}}));
  s.set_profile_pause("juhuo", "");
  s.set_profile_pause("never-paused", "");
  EXPECT_EQ(s.profile_pauses(), (std::map<std::string, std::string>{{"veo", "out_of_credit"}}));
}

TEST_P(JobStoreContract, RemembersUploadsPerProfile) {
  auto& s = store();
  EXPECT_FALSE(s.find_upload("juhuo", "abc"));
  s.record_upload("juhuo", "abc", "api/u/upload/x.png", "x.png");
  EXPECT_EQ(s.find_upload("juhuo", "abc"), "api/u/upload/x.png");
  EXPECT_FALSE(s.find_upload("veo", "abc"));
  EXPECT_FALSE(s.find_upload("juhuo", "abd"));
  s.record_upload("juhuo", "abc", "api/u/upload/y.png", "y.png");
  EXPECT_EQ(s.find_upload("juhuo", "abc"), "api/u/upload/y.png");
}

TEST_P(JobStoreContract, EventsComeOldestFirstWithTypedStatesAndDetail) {
  auto& s = store();
  const auto ids = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "a", 2), row("b", "b", 3)}).job_ids;
  const auto before = now_ms();
  auto j = s.job(ids[0]).value();
  const JobState path[] = {JobState::uploading, JobState::submitting, JobState::running, JobState::held};
  JobState from = j.state;
  for (auto to : path) {
    j.state = to;
    ASSERT_TRUE(s.try_transition(
        j, from, note("state", {{"to", to_string(to)}, {"nested", {{"n", 1}, {"list", {1, "two"}}}}})));
    from = to;
  }
  const auto after = now_ms();
  const auto ev = s.events(ids[0]);
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev[0].kind, "ingest");
  JobState expect_from = JobState::pending;
  for (std::size_t i = 1; i < ev.size(); ++i) {
    EXPECT_GT(ev[i].id, ev[i - 1].id);
    EXPECT_GE(ev[i].ts_ms, ev[i - 1].ts_ms);
    EXPECT_GE(ev[i].ts_ms, before);
    EXPECT_LE(ev[i].ts_ms, after);
    EXPECT_EQ(ev[i].job_id, ids[0]);
    EXPECT_EQ(ev[i].kind, "state");
    EXPECT_EQ(ev[i].from_state, expect_from);
    EXPECT_EQ(ev[i].to_state, path[i - 1]);
    EXPECT_EQ(ev[i].detail.at("to").as_string(), to_string(path[i - 1]));
    EXPECT_EQ(ev[i].detail.at("nested").at("list").as_array()[1].as_string(), "two");
    expect_from = path[i - 1];
  }
  EXPECT_EQ(s.events(ids[1]).size(), 1u);
  EXPECT_TRUE(s.events(ids[1] + 1000).empty());
}

// ---- results files (issue 9 item 4) ------------------------------------------------

// Rejected rows are replaced per (batch, manifest): a re-ingest of a fixed
// manifest forgets what it no longer rejects; read back by source, line, then
// in the order recorded.
TEST_P(JobStoreContract, RejectedRowsAreReplacedPerBatchAndSource) {
  auto& s = store();
  const auto b1 = s.ensure_batch("m", "/m", "/o").id;
  const auto b2 = s.ensure_batch("n", "/n", "/o2").id;
  EXPECT_TRUE(s.rejected_rows(b1).empty());
  s.replace_rejected_rows(b1, "m.csv",
                          {{"ignored", 5, "k5", "juhuo", "prompt", "empty"},
                           {"ignored", 3, "", "", "(row)", "wrong number of fields"},
                           {"ignored", 3, "k3", "juhuo", "duration", "above 15"}});
  s.replace_rejected_rows(b1, "a.csv", {{"", 7, "k7", "veo", "model", "unknown"}});
  s.replace_rejected_rows(b2, "m.csv", {{"", 1, "z", "juhuo", "id", "taken"}});
  auto rows = s.rejected_rows(b1);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].source, "a.csv");
  EXPECT_EQ(rows[0].line, 7);
  EXPECT_EQ(rows[0].key, "k7");
  EXPECT_EQ(rows[0].profile, "veo");
  EXPECT_EQ(rows[0].field, "model");
  EXPECT_EQ(rows[0].message, "unknown");
  EXPECT_EQ(rows[1].source, "m.csv");  // stored under the source given, not the row's
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].field, "(row)");
  EXPECT_EQ(rows[1].key, "");
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_EQ(rows[2].field, "duration");
  EXPECT_EQ(rows[3].line, 5);
  // A re-ingest of the fixed manifest replaces its entries only.
  s.replace_rejected_rows(b1, "m.csv", {{"", 9, "k9", "juhuo", "prompt", "empty"}});
  rows = s.rejected_rows(b1);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].source, "a.csv");
  EXPECT_EQ(rows[1].line, 9);
  s.replace_rejected_rows(b1, "m.csv", {});
  ASSERT_EQ(s.rejected_rows(b1).size(), 1u);
  ASSERT_EQ(s.rejected_rows(b2).size(), 1u);
  EXPECT_EQ(s.rejected_rows(b2)[0].key, "z");
  EXPECT_TRUE(s.rejected_rows(b2 + 1000).empty());
}

// Per-job attempt counts and events for a page of jobs, whatever the order
// and number of ids asked (more than one statement's worth included).
TEST_P(JobStoreContract, AttemptCountsAndEventsOfAPageOfJobs) {
  auto& s = store();
  const auto ids =
      s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "a", 2), row("b", "b", 3), row("c", "c", 4)}).job_ids;
  const auto a = ids[0], b = ids[1], c = ids[2];
  s.begin_attempt(a, "juhuo");
  s.finish_attempt(AttemptUpdate{s.begin_attempt(a, "juhuo"), AttemptOutcome::accepted, "gen_a", ""});
  s.begin_attempt(c, "juhuo");
  auto jc = s.job(c).value();
  ASSERT_TRUE(s.try_transition(jc, jc.state, note("remote_state", {{"n", 1}})));
  EXPECT_TRUE(s.attempt_counts_of({}).empty());
  EXPECT_EQ(s.attempt_counts_of({a, b, c}), (std::map<std::int64_t, int>{{a, 2}, {c, 1}}));
  // Ids in any order, beyond one statement's bind limit, some of no job.
  std::vector<std::int64_t> many{c};
  for (std::int64_t i = 1; i <= 1200; ++i) many.push_back(c + 1000 + i);
  many.push_back(a);
  EXPECT_EQ(s.attempt_counts_of(many), (std::map<std::int64_t, int>{{a, 2}, {c, 1}}));
  EXPECT_EQ(s.attempt_counts_of({b}), (std::map<std::int64_t, int>{}));

  EXPECT_TRUE(s.events_of_jobs({}).empty());
  const auto ev = s.events_of_jobs(many);  // by job id, then oldest first
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].job_id, a);
  EXPECT_EQ(ev[0].kind, "ingest");
  EXPECT_EQ(ev[1].job_id, c);
  EXPECT_EQ(ev[1].kind, "ingest");
  EXPECT_EQ(ev[2].job_id, c);
  EXPECT_EQ(ev[2].kind, "remote_state");
  EXPECT_EQ(ev[2].detail.at("n").as_int64(), 1);
  EXPECT_EQ(s.events_of_jobs({c})[1].id, s.events(c)[1].id);
}

// Recorded costs summed per profile over the jobs a filter matches.
TEST_P(JobStoreContract, SumsCostsPerProfile) {
  auto& s = store();
  const auto b1 = s.ensure_batch("m", "/m", "/o").id;
  const auto b2 = s.ensure_batch("n", "/n", "/o").id;
  const auto ids1 = s.ingest(b1, {row("a", "a", 2), row("b", "b", 3, "veo"), row("c", "c", 4)}).job_ids;
  const auto ids2 = s.ingest(b2, {row("d", "d", 2)}).job_ids;
  EXPECT_TRUE(s.cost_by_profile({}).empty());
  auto set_cost = [&](std::int64_t id, double cost, JobState to) {
    auto j = s.job(id).value();
    const auto from = j.state;
    j.state = to;
    j.cost = cost;
    ASSERT_TRUE(s.try_transition(j, from, note("state")));
  };
  set_cost(ids1[0], 1.25, JobState::succeeded);
  set_cost(ids1[1], 4, JobState::succeeded);
  set_cost(ids2[0], 2.5, JobState::failed);
  // ids1[2] has no cost: it adds nothing.
  EXPECT_EQ(s.cost_by_profile({}), (std::map<std::string, double>{{"juhuo", 3.75}, {"veo", 4}}));
  JobFilter f;
  f.batch_ids = {b1};
  EXPECT_EQ(s.cost_by_profile(f), (std::map<std::string, double>{{"juhuo", 1.25}, {"veo", 4}}));
  f = {};
  f.states = {JobState::failed};
  EXPECT_EQ(s.cost_by_profile(f), (std::map<std::string, double>{{"juhuo", 2.5}}));
  f = {};
  f.profile = "veo";
  EXPECT_EQ(s.cost_by_profile(f), (std::map<std::string, double>{{"veo", 4}}));
  f.profile = "kling";
  EXPECT_TRUE(s.cost_by_profile(f).empty());
}

// ---- the credit ledger (issue 9 item 3) --------------------------------------------

// A submit reserves its estimate with its intent; the reservation is settled
// to the reported cost (or to the estimate when none is reported) or
// released; caps see settled + reserved, per profile, per day and per batch
// in one unit.
TEST_P(JobStoreContract, Case9_CreditLedgerReservesSettlesAndReleases) {
  auto& s = store();
  const auto batch = s.ensure_batch("m", "/m", "/o").id;
  EXPECT_FALSE(s.batch(batch)->max_credits.has_value());
  const auto ids = s.ingest(batch, {row("a", "a", 2), row("b", "b", 3), row("c", "c", 4), row("d", "d", 5),
                                    row("v", "v", 6, "veo")})
                       .job_ids;
  const auto a = ids[0], b = ids[1], c = ids[2], d = ids[3], v = ids[4];
  auto uses = [&](const std::string& profile = "juhuo", std::int64_t day_start = 0,
                  const std::string& unit = "credits") {
    return s.credit_uses(profile, batch, unit, day_start);
  };
  auto zero = uses();
  EXPECT_EQ(zero.profile_settled + zero.profile_reserved + zero.day_settled + zero.day_reserved +
                zero.batch_settled + zero.batch_reserved,
            0);
  EXPECT_FALSE(zero.batch_max_credits.has_value());
  EXPECT_TRUE(s.set_batch_max_credits(batch, 100));
  EXPECT_EQ(s.batch(batch)->max_credits, 100);
  EXPECT_EQ(uses().batch_max_credits, 100);
  EXPECT_FALSE(s.set_batch_max_credits(batch + 1000, 5));

  // Submits job `id` (pending -> submitting) reserving `amount`; the job is
  // moved back to pending with `outcome` for its attempt when given.
  auto submit = [&](std::int64_t id, double amount, std::function<std::string(const CreditUses&)> refuse = {},
                    std::optional<AttemptOutcome> outcome = std::nullopt) {
    auto j = s.job(id).value();
    j.state = JobState::submitting;
    CreditRequest credit{amount, "credits", "documented", 0, std::move(refuse)};
    const auto r = s.begin_submit_reserving(j, JobState::pending, note("state"), j.spec.provider, 3, credit);
    if (r.status == SubmitIntent::Status::recorded && outcome) {
      j.state = JobState::pending;
      const AttemptUpdate done{r.attempt_id, *outcome, "", "x"};
      EXPECT_TRUE(s.try_transition(j, JobState::submitting, note("state"), &done));
    }
    return r;
  };
  auto r = submit(a, 10);
  ASSERT_EQ(r.status, SubmitIntent::Status::recorded);
  EXPECT_EQ(s.events(a).back().detail.at("attempt").as_int64(), r.attempt_id);
  EXPECT_EQ(s.events(a).back().detail.at("reserved").to_number<double>(), 10);
  ASSERT_EQ(submit(b, 5).status, SubmitIntent::Status::recorded);
  auto u = uses();
  EXPECT_EQ(u.profile_reserved, 15);
  EXPECT_EQ(u.day_reserved, 15);
  EXPECT_EQ(u.batch_reserved, 15);
  EXPECT_EQ(u.profile_settled, 0);
  // The day counts entries made since its start; the batch counts one unit.
  EXPECT_EQ(uses("juhuo", now_ms() + 3600000).day_reserved, 0);
  EXPECT_EQ(uses("juhuo", now_ms() + 3600000).profile_reserved, 15);
  EXPECT_EQ(uses("juhuo", 0, "usd").batch_reserved, 0);
  EXPECT_EQ(uses("veo").profile_reserved, 0);
  EXPECT_EQ(uses("veo").batch_reserved, 15);  // the batch's entries, whatever the profile
  EXPECT_EQ(s.credit_uses("juhuo", 0, "credits", 0).batch_reserved, 0);  // batch 0: no batch figures

  // Settled to the reported cost; a second settle leaves it as it is.
  s.settle_credits(a, 12.5, "reported");
  s.settle_credits(a, 99, "reported");
  // Charged without a reported amount: the estimate becomes the settled cost.
  s.settle_credits(b, std::nullopt, "documented");
  s.settle_credits(b, 42, "reported");
  u = uses();
  EXPECT_EQ(u.profile_settled, 17.5);
  EXPECT_EQ(u.profile_reserved, 0);
  EXPECT_EQ(u.day_settled, 17.5);
  EXPECT_EQ(u.batch_settled, 17.5);

  // Released: counts for nothing; releasing again changes nothing.
  ASSERT_EQ(submit(c, 7).status, SubmitIntent::Status::recorded);
  EXPECT_EQ(uses().profile_reserved, 7);
  s.release_credits(c);
  s.release_credits(c);
  EXPECT_EQ(uses().profile_reserved, 0);
  EXPECT_EQ(uses().profile_settled, 17.5);

  // A cap refuses: nothing written (no attempt, no transition, no event, no
  // reservation), and the uses handed to the check are those above.
  std::optional<CreditUses> seen;
  const auto events_before = s.events(d).size();
  r = submit(d, 8, [&](const CreditUses& x) {
    seen = x;
    return x.profile_settled + x.profile_reserved + 8 > 20 ? std::string("profile cap 20 reached") : std::string();
  });
  EXPECT_EQ(r.status, SubmitIntent::Status::budget);
  EXPECT_EQ(r.budget_reason, "profile cap 20 reached");
  EXPECT_EQ(r.attempt_id, 0);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->profile_settled, 17.5);
  EXPECT_EQ(seen->batch_settled, 17.5);
  EXPECT_EQ(seen->batch_max_credits, 100);
  EXPECT_EQ(s.attempt_counts(d), std::make_pair(0, 0));
  EXPECT_EQ(s.events(d).size(), events_before);
  EXPECT_EQ(s.job(d)->state, JobState::pending);
  EXPECT_EQ(uses().profile_reserved, 0);
  // Another profile's cap check sees only that profile's entries.
  ASSERT_EQ(submit(v, 3, [](const CreditUses& x) { return x.profile_settled > 0 ? "veo cap" : ""; }).status,
            SubmitIntent::Status::recorded);
  EXPECT_EQ(uses("veo").profile_reserved, 3);

  // Submitting a row again releases its earlier open reservation; a refused
  // resubmit keeps it (nothing written).
  ASSERT_EQ(submit(d, 4, {}, AttemptOutcome::unknown).status, SubmitIntent::Status::recorded);
  EXPECT_EQ(uses().profile_reserved, 4);
  EXPECT_EQ(submit(d, 2, [](const CreditUses&) { return std::string("no"); }).status, SubmitIntent::Status::budget);
  EXPECT_EQ(uses().profile_reserved, 4);
  ASSERT_EQ(submit(d, 2).status, SubmitIntent::Status::recorded);
  EXPECT_EQ(uses().profile_reserved, 2);
  // The refused resubmit recorded no attempt.
  EXPECT_EQ(s.attempt_counts(d), std::make_pair(2, 0));
}

// A job submitted without a reservation (before the ledger, or through
// begin_submit) gets a settled entry when its cost is reported, in no unit:
// it counts for the profile, not for a batch cap per unit.
TEST_P(JobStoreContract, Case9_SettlingAJobWithoutAReservationRecordsItsCost) {
  auto& s = store();
  const auto batch = s.ensure_batch("m", "/m", "/o").id;
  const auto id = s.ingest(batch, {row("a", "a", 2)}).job_ids.at(0);
  auto j = s.job(id).value();
  j.state = JobState::submitting;
  ASSERT_EQ(s.begin_submit(j, JobState::pending, note("state"), "juhuo", 2).status, SubmitIntent::Status::recorded);
  EXPECT_FALSE(s.events(id).back().detail.contains("reserved"));
  s.release_credits(id);  // nothing open: nothing changes
  s.settle_credits(id, std::nullopt, "documented");  // no entry and no cost: nothing recorded
  EXPECT_EQ(s.credit_uses("juhuo", batch, "credits", 0).profile_settled, 0);
  s.settle_credits(id, 6, "reported");
  s.settle_credits(id, 6, "reported");  // idempotent
  auto u = s.credit_uses("juhuo", batch, "credits", 0);
  EXPECT_EQ(u.profile_settled, 6);
  EXPECT_EQ(u.day_settled, 6);
  EXPECT_EQ(u.batch_settled, 0);
  EXPECT_EQ(s.credit_uses("juhuo", batch, "", 0).batch_settled, 6);
  s.settle_credits(id + 1000, 5, "reported");  // no such job: nothing recorded
  EXPECT_EQ(s.credit_uses("juhuo", 0, "", 0).profile_settled, 6);
}

// Learned estimates: cost and generation-time groups of a profile's finished
// tasks by model, resolution and duration as stored.
TEST_P(JobStoreContract, Case9_LearnsCostsPerModelResolutionAndDuration) {
  auto& s = store();
  const auto batch = s.ensure_batch("m", "/m", "/o").id;
  auto spec_row = [](const std::string& key, const std::string& res, std::optional<int> duration, int line) {
    auto r = row(key, key, line);
    r.spec.model = "m1";
    r.spec.resolution = res;
    r.spec.duration_s = duration;
    return r;
  };
  const auto ids = s.ingest(batch, {spec_row("a", "720p", 8, 2), spec_row("b", "720p", 8, 3),
                                    spec_row("c", "1080p", std::nullopt, 4), spec_row("d", "720p", 8, 5)})
                       .job_ids;
  EXPECT_TRUE(s.learned_costs("juhuo").empty());
  // a: running -> downloading -> succeeded with an intent 5 s before; b, c
  // succeeded with costs only; d is still running (not counted).
  const auto intent = now_ms() - 5000;
  auto move = [&](std::int64_t id, std::vector<JobState> path, std::optional<double> cost, std::int64_t intent_ms) {
    auto j = s.job(id).value();
    for (const auto to : path) {
      const auto from = j.state;
      j.state = to;
      j.intent_at_ms = intent_ms;
      if (to == JobState::succeeded || to == JobState::downloading) j.cost = cost;
      ASSERT_TRUE(s.try_transition(j, from, note("state")));
    }
  };
  move(ids[0], {JobState::running, JobState::downloading, JobState::succeeded}, 10, intent);
  move(ids[1], {JobState::succeeded}, 20, 0);
  move(ids[2], {JobState::succeeded}, 30, 0);
  move(ids[3], {JobState::running}, 99, intent);
  const auto groups = s.learned_costs("juhuo");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].model, "m1");
  EXPECT_EQ(groups[0].resolution, "1080p");
  EXPECT_FALSE(groups[0].duration_s.has_value());
  EXPECT_EQ(groups[0].samples, 1);
  EXPECT_EQ(groups[0].mean, 30);
  EXPECT_EQ(groups[0].generation_samples, 0);
  EXPECT_EQ(groups[1].resolution, "720p");
  EXPECT_EQ(groups[1].duration_s, 8);
  EXPECT_EQ(groups[1].samples, 2);
  EXPECT_EQ(groups[1].mean, 15);
  EXPECT_EQ(groups[1].min, 10);
  EXPECT_EQ(groups[1].max, 20);
  EXPECT_EQ(groups[1].generation_samples, 1);
  EXPECT_GE(groups[1].mean_generation_ms, 5000);
  EXPECT_LT(groups[1].mean_generation_ms, 65000);
  EXPECT_TRUE(s.learned_costs("veo").empty());
}

}  // namespace
}  // namespace reelbatch
