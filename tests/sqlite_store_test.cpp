// SqliteJobStore: the JobStore contract in memory and on disk, and what only
// SQLite has: WAL, migrations from older schemas, durability across reopen,
// several connections on one file, append-only events, names as stored.
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/job_store_contract.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <regex>
#include <set>

namespace reelbatch {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("reelbatch-store-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::random_device{}()));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path db() const { return dir / "t.db"; }
};

std::unique_ptr<JobStore> make_memory_store() { return std::make_unique<SqliteJobStore>(":memory:"); }

std::unique_ptr<JobStore> make_file_store() {
  static TempDir scratch;  // removed when the test process exits
  static int n = 0;
  return std::make_unique<SqliteJobStore>(scratch.dir / "sub" / ("contract-" + std::to_string(++n) + ".db"));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, JobStoreContract,
                         ::testing::Values(JobStoreBackend{"memory", make_memory_store},
                                           JobStoreBackend{"file", make_file_store}),
                         job_store_backend_name);

IngestRow row(const std::string& id, const std::string& prompt, int line) {
  IngestRow r;
  r.spec.id = id;
  r.spec.provider = "juhuo";
  r.spec.prompt = prompt;
  r.spec.duration_s = 8;
  r.content_hash = "hash-of-" + prompt;
  r.file = "m.csv";
  r.line = line;
  return r;
}

EventRecord state_event() {
  EventRecord e;
  e.kind = "state";
  return e;
}

TEST(SqliteJobStore, CreatesSchemaInWalMode) {
  TempDir t;
  SqliteJobStore s(t.db());
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  SQLite::Database raw(t.db().string());
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);
}

TEST(SqliteJobStore, InMemoryLeavesNoFile) {
  const auto before = fs::exists(":memory:");
  {
    SqliteJobStore s(":memory:");
    EXPECT_EQ(s.schema_version(), kSchemaVersion);
    s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)});
    EXPECT_TRUE(s.find_job("a"));
  }
  EXPECT_EQ(fs::exists(":memory:"), before);
  SqliteJobStore fresh(":memory:");
  EXPECT_FALSE(fresh.find_job("a")) << "each in-memory store is its own database";
}

TEST(SqliteJobStore, EverythingSurvivesReopen) {
  TempDir t;
  std::int64_t id = 0;
  std::int64_t fence = 0;
  {
    SqliteJobStore s(t.db());
    const auto b = s.ensure_batch("m", "/abs/m.csv", "/out/m");
    id = s.ingest(b.id, {row("a", "one", 2)}).job_ids.at(0);
    auto j = s.claim_job(id, "engine-1", 1h).value();
    fence = j.fence;
    const auto att = s.begin_attempt(id, "juhuo");
    j.state = JobState::running;
    j.remote_id = "gen_1";
    j.cost = 1.15;
    const AttemptUpdate accepted{att, AttemptOutcome::accepted, "gen_1", ""};
    ASSERT_TRUE(s.try_transition(j, JobState::pending, state_event(), &accepted));
    s.record_upload("juhuo", "abc", "api/u/upload/x.png", "x.png");
    s.set_profile_pause("juhuo", "out_of_credit: 4003");
  }
  SqliteJobStore s(t.db());
  const auto j = s.find_job("a").value();
  EXPECT_EQ(j.state, JobState::running);
  EXPECT_EQ(j.remote_id, "gen_1");
  EXPECT_DOUBLE_EQ(j.cost.value(), 1.15);
  EXPECT_EQ(j.lease_owner, "engine-1");
  EXPECT_EQ(j.fence, fence);
  EXPECT_EQ(s.events(id).size(), 2u);
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(1, 1));
  EXPECT_EQ(s.accepted_remote_id(id), "gen_1");
  EXPECT_EQ(s.find_upload("juhuo", "abc"), "api/u/upload/x.png");
  EXPECT_EQ(s.profile_pauses().at("juhuo"), "out_of_credit: 4003");
  EXPECT_EQ(s.batches().size(), 1u);
}

TEST(SqliteJobStore, TwoConnectionsOnOneFileShareCasAndLeases) {
  TempDir t;
  SqliteJobStore a(t.db());
  SqliteJobStore b(t.db());
  const auto id = a.ingest(a.ensure_batch("m", "/m", "/o").id, {row("x", "one", 2), row("y", "two", 3)}).job_ids[0];
  auto via_a = a.job(id).value();
  auto via_b = b.job(id).value();
  via_a.state = JobState::uploading;
  via_b.state = JobState::cancelled;
  EXPECT_TRUE(a.try_transition(via_a, JobState::pending, state_event()));
  EXPECT_FALSE(b.try_transition(via_b, JobState::pending, state_event()));
  EXPECT_EQ(b.job(id)->state, JobState::uploading);

  EXPECT_EQ(a.claim_jobs(ClaimRequest{"engine-a", 1h, {}, 1}).size(), 1u);
  const auto rest = b.claim_jobs(ClaimRequest{"engine-b", 1h, {}, 10});
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].key, "y");
}

// Turns a database this build wrote back into what schema 2 left: no lease
// columns, no claim or unique seq index.
// Schema 4 as it was before poll times (5), rejected rows (6) and the credit
// ledger (7).
void downgrade_to_v4(SQLite::Database& raw) {
  raw.exec("DROP TABLE IF EXISTS credit_ledger");  // schema 7
  raw.exec("ALTER TABLE batches DROP COLUMN max_credits");
  raw.exec("DROP TABLE IF EXISTS rejected_rows");  // schema 6
  raw.exec("DROP TABLE IF EXISTS poll_times");     // schema 5
  raw.exec("PRAGMA user_version = 4");
}

void downgrade_to_v2(SQLite::Database& raw) {
  downgrade_to_v4(raw);
  raw.exec("DROP TABLE IF EXISTS watch_files");  // schema 4
  raw.exec("DROP INDEX jobs_seq; DROP INDEX jobs_claim; DROP INDEX jobs_lease;");
  raw.exec("ALTER TABLE jobs DROP COLUMN lease_owner");
  raw.exec("ALTER TABLE jobs DROP COLUMN lease_expires_at_ms");
  raw.exec("ALTER TABLE jobs DROP COLUMN fence");
  raw.exec("PRAGMA user_version = 2");
}

TEST(SqliteJobStore, MigratesVersionTwoDatabase) {
  TempDir t;
  std::vector<std::int64_t> ids;
  {
    SqliteJobStore s(t.db());
    ids = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2), row("b", "two", 3), row("c", "c", 4)})
              .job_ids;
  }
  {
    SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE);
    downgrade_to_v2(raw);
    // Schema 2 wrote ingest events with an empty from_state; and a hand-edited
    // file may hold a duplicate seq.
    raw.exec("INSERT INTO events(ts_ms, job_id, kind, to_state, detail) VALUES (1, " + std::to_string(ids[2]) +
             ", 'ingest', 'pending', '{}')");
    raw.exec("UPDATE jobs SET seq = 1 WHERE id = " + std::to_string(ids[1]));
  }
  SqliteJobStore s(t.db());
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  const auto a = s.job(ids[0]).value();
  EXPECT_EQ(a.fence, 0);
  EXPECT_TRUE(a.lease_owner.empty());
  EXPECT_EQ(a.seq, 1) << "the first holder of a seq keeps it";
  std::set<std::int64_t> seqs;
  for (auto id : ids) seqs.insert(s.job(id)->seq);
  EXPECT_EQ(seqs.size(), 3u) << "duplicate seq renumbered";
  EXPECT_GT(s.job(ids[1])->seq, s.job(ids[2])->seq) << "after every other job";
  const auto ev = s.events(ids[2]);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].from_state, JobState::pending);
  EXPECT_EQ(s.claim_jobs(ClaimRequest{"engine-1", 1h, {}, 10}).size(), 3u);
  EXPECT_EQ(s.job(ids[0])->fence, 1);
}

TEST(SqliteJobStore, MigratesVersionOneDatabase) {
  TempDir t;
  {
    SqliteJobStore s(t.db());
    s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)});
  }
  {  // as version 1 left it
    SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE);
    downgrade_to_v2(raw);
    raw.exec("DROP TABLE profile_pauses");
    raw.exec("PRAGMA user_version = 1");
  }
  SqliteJobStore s(t.db());
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  EXPECT_EQ(s.jobs(JobQuery{}).jobs.size(), 1u);
  s.set_profile_pause("juhuo", "auth");
  EXPECT_EQ(s.profile_pauses().size(), 1u);
  EXPECT_EQ(s.claim_jobs(ClaimRequest{"engine-1", 1h, {}, 10}).size(), 1u);
}

// Schema 5 (issue 9): costs recorded before the credit ledger become settled
// entries, so credit_cap keeps counting them.
TEST(SqliteJobStore, MigratesVersionFourDatabaseIntoTheCreditLedger) {
  TempDir t;
  std::int64_t batch = 0;
  {
    SqliteJobStore s(t.db());
    batch = s.ensure_batch("m", "/m", "/o").id;
    s.ingest(batch, {row("a", "one", 2), row("b", "two", 3)});
  }
  {
    SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE);
    downgrade_to_v4(raw);
    raw.exec("UPDATE jobs SET cost = 2.5, state = 'succeeded' WHERE key = 'a'");
  }
  SqliteJobStore s(t.db());
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  EXPECT_FALSE(s.batch(batch)->max_credits);
  const auto u = s.credit_uses("juhuo", batch, "", 0);
  EXPECT_DOUBLE_EQ(u.profile_settled, 2.5);
  EXPECT_DOUBLE_EQ(u.profile_reserved, 0);
}

TEST(SqliteJobStore, RefusesNewerSchema) {
  TempDir t;
  { SqliteJobStore s(t.db()); }
  { SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE); raw.exec("PRAGMA user_version = 99"); }
  try {
    SqliteJobStore s(t.db());
    FAIL() << "opened a newer schema";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
}

TEST(SqliteJobStore, EventsAreAppendOnly) {
  TempDir t;
  { SqliteJobStore s(t.db()); s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}); }
  SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE);
  EXPECT_THROW(raw.exec("UPDATE events SET kind = 'x'"), SQLite::Exception);
  EXPECT_THROW(raw.exec("DELETE FROM events"), SQLite::Exception);
}

TEST(SqliteJobStore, StoresStatesAndOutcomesByName) {
  TempDir t;
  std::int64_t id = 0;
  {
    SqliteJobStore s(t.db());
    id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
    auto j = s.job(id).value();
    j.state = JobState::downloading;
    ASSERT_TRUE(s.try_transition(j, JobState::pending, state_event()));
    s.finish_attempt(AttemptUpdate{s.begin_attempt(id, "juhuo"), AttemptOutcome::remote_failed, "", "E1"});
  }
  SQLite::Database raw(t.db().string());
  EXPECT_EQ(raw.execAndGet("SELECT state FROM jobs").getString(), "downloading");
  EXPECT_EQ(raw.execAndGet("SELECT outcome FROM attempts").getString(), "remote_failed");
  EXPECT_EQ(raw.execAndGet("SELECT from_state || '>' || to_state FROM events ORDER BY id DESC LIMIT 1").getString(),
            "pending>downloading");
}

TEST(SqliteJobStore, UnknownStateNameIsAStoreErrorNamingJobAndValue) {
  TempDir t;
  std::int64_t id = 0;
  {
    SqliteJobStore s(t.db());
    id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}).job_ids.at(0);
  }
  { SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE); raw.exec("UPDATE jobs SET state = 'exploded'"); }
  SqliteJobStore s(t.db());
  try {
    s.job(id);
    FAIL() << "read an unknown state";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exploded"), std::string::npos) << what;
    EXPECT_NE(what.find("job " + std::to_string(id)), std::string::npos) << what;
  }
  EXPECT_THROW(s.count_by_state({}), StoreError);
  EXPECT_THROW(s.jobs(JobQuery{}), StoreError);
}

TEST(JobStoreFunctions, OwnerIdsAndOutcomeNames) {
  const auto a = make_owner_id();
  const auto b = make_owner_id();
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::regex_match(a, std::regex(".+:" + std::to_string(::getpid()) + ":[0-9a-f]{8}"))) << a;
  EXPECT_STREQ(to_string(AttemptOutcome::pending), "pending");
  EXPECT_STREQ(to_string(AttemptOutcome::accepted), "accepted");
  EXPECT_STREQ(to_string(AttemptOutcome::rejected), "rejected");
  EXPECT_STREQ(to_string(AttemptOutcome::unknown), "unknown");
  EXPECT_STREQ(to_string(AttemptOutcome::remote_failed), "remote_failed");
  EXPECT_GT(now_ms(), 1'600'000'000'000);
}

}  // namespace
}  // namespace reelbatch
