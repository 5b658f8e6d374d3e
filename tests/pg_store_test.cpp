// PgJobStore (issue 13) against a real PostgreSQL server started for this
// binary (tests/support/pg_server.hpp): the JobStore contract suite, one
// fresh database per test, and what only a shared database has: several
// connections migrating, claiming and submitting at once, password login,
// redacted URLs. Skipped, with the reason, where PostgreSQL is not installed.
#include "storage/postgres/pg_store.hpp"
#include "tests/job_store_contract.hpp"
#include "tests/support/pg_server.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

namespace reelbatch {
namespace {

using testing_support::PgServer;
using namespace std::chrono_literals;

PgConnectOptions options_for(const std::string& db) {
  PgServer& s = *PgServer::shared();
  return PgConnectOptions{s.url(db), s.password()};
}

std::unique_ptr<JobStore> make_pg_store() {
  PgServer* s = PgServer::shared();
  if (!s) return nullptr;
  return std::make_unique<PgJobStore>(options_for(s->create_database()));
}

INSTANTIATE_TEST_SUITE_P(Postgres, JobStoreContract, ::testing::Values(JobStoreBackend{"postgres", make_pg_store}),
                         job_store_backend_name);

IngestRow row(const std::string& id, int line) {
  IngestRow r;
  r.spec.id = id;
  r.spec.provider = "juhuo";
  r.spec.prompt = "prompt " + id;
  r.spec.duration_s = 8;
  r.content_hash = "hash-of-" + id;
  r.file = "m.csv";
  r.line = line;
  return r;
}

EventRecord note(const std::string& kind) {
  EventRecord e;
  e.kind = kind;
  return e;
}

pqxx::connection raw(const std::string& db) {
  return pqxx::connection(PgServer::shared()->url(db) + "?password=" + PgServer::shared()->password());
}

TEST(PgJobStore, CreatesTheSchemaAtTheCurrentVersion) {
  const auto db = PgServer::shared()->create_database();
  PgJobStore s(options_for(db));
  EXPECT_EQ(s.schema_version(), kPgSchemaVersion);
  auto c = raw(db);
  pqxx::nontransaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT version FROM reelbatch_schema")[0].as<int>(), kPgSchemaVersion);
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM reelbatch_schema")[0].as<int>(), 1);
  // Opening again migrates nothing and keeps the data.
  const auto b = s.ensure_batch("m", "/m", "/o");
  PgJobStore again(options_for(db));
  EXPECT_EQ(again.batch(b.id)->name, "m");
}

TEST(PgJobStore, ProcessesOpeningOneDatabaseTogetherMigrateItOnce) {
  const auto db = PgServer::shared()->create_database();
  constexpr int kOpeners = 6;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i)
    threads.emplace_back([&, i] {
      try {
        PgJobStore s(options_for(db));
        if (s.schema_version() == kPgSchemaVersion) ++ok;
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e;
  EXPECT_EQ(ok.load(), kOpeners);
}

TEST(PgJobStore, RefusesADatabaseNewerThanThisBuild) {
  const auto db = PgServer::shared()->create_database();
  { PgJobStore s(options_for(db)); }
  {
    auto c = raw(db);
    pqxx::nontransaction tx(c);
    tx.exec0("UPDATE reelbatch_schema SET version = 99");
  }
  try {
    PgJobStore s(options_for(db));
    FAIL() << "opened a database with schema version 99";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("schema version 99, newer than this build's " + std::to_string(kPgSchemaVersion)),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("127.0.0.1"), std::string::npos) << "names the database: " << what;
  }
}

TEST(PgJobStore, EventsAreAppendOnly) {
  const auto db = PgServer::shared()->create_database();
  PgJobStore s(options_for(db));
  const auto id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", 2)}).job_ids.at(0);
  auto c = raw(db);
  pqxx::nontransaction tx(c);
  EXPECT_THROW(tx.exec0("UPDATE events SET kind = 'x' WHERE job_id = " + std::to_string(id)), pqxx::sql_error);
  EXPECT_THROW(tx.exec0("DELETE FROM events"), pqxx::sql_error);
  EXPECT_EQ(s.events(id).size(), 1u);
}

// Four daemons claiming from one queue at once (SKIP LOCKED): every job is
// claimed exactly once, and nobody waits for a job another holds.
TEST(PgJobStore, ConcurrentClaimsNeverShareAJob) {
  const auto db = PgServer::shared()->create_database();
  constexpr int kJobs = 400, kClaimers = 4;
  {
    PgJobStore s(options_for(db));
    std::vector<IngestRow> rows;
    for (int i = 0; i < kJobs; ++i) rows.push_back(row("j" + std::to_string(i), i + 2));
    ASSERT_EQ(s.ingest(s.ensure_batch("m", "/m", "/o").id, rows).added, kJobs);
  }
  std::vector<std::vector<std::int64_t>> got(kClaimers);
  std::vector<std::string> errors(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i)
    threads.emplace_back([&, i] {
      try {
        PgJobStore s(options_for(db));
        const std::string owner = "engine-" + std::to_string(i);
        for (;;) {
          const auto batch = s.claim_jobs(ClaimRequest{owner, 1h, {}, 7});
          if (batch.empty()) break;
          for (const auto& j : batch) {
            EXPECT_EQ(j.lease_owner, owner);
            got[i].push_back(j.id);
          }
        }
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ASSERT_TRUE(e.empty()) << e;
  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (const auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kJobs)) << "no job claimed twice";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs)) << "every job claimed";
  PgJobStore s(options_for(db));
  EXPECT_EQ(s.lease_owners().size(), static_cast<std::size_t>(std::count_if(
                                          got.begin(), got.end(), [](const auto& g) { return !g.empty(); })));
}

// The submit ceiling holds across connections: writers that all hold the
// same record (a note keeps the state, so the CAS lets each through) race to
// record intents; the row lock makes the count and the insert one step.
TEST(PgJobStore, SubmitCeilingHoldsAcrossConnections) {
  const auto db = PgServer::shared()->create_database();
  std::int64_t id = 0;
  {
    PgJobStore s(options_for(db));
    id = s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", 2)}).job_ids.at(0);
  }
  constexpr int kWriters = 6, kTries = 5, kCeiling = 2;
  std::atomic<int> recorded{0}, ceiling{0};
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      try {
        PgJobStore s(options_for(db));
        for (int t = 0; t < kTries; ++t) {
          auto j = s.job(id).value();
          const auto r = s.begin_submit(j, j.state, note("remote_state"), "juhuo", kCeiling);
          if (r.status == SubmitIntent::Status::recorded) ++recorded;
          if (r.status == SubmitIntent::Status::ceiling) ++ceiling;
        }
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ASSERT_TRUE(e.empty()) << e;
  EXPECT_EQ(recorded.load(), kCeiling);
  EXPECT_EQ(ceiling.load(), kWriters * kTries - kCeiling);
  PgJobStore s(options_for(db));
  EXPECT_EQ(s.attempt_counts(id).first, kCeiling);
}

// Credit caps hold across connections (issue 9 item 3): writers submitting
// different jobs of one profile at once, each checking a cap of 20 credits,
// reserve 20 in all, never more (the advisory lock orders the cap checks as
// SQLite's write lock does).
TEST(PgJobStore, CreditCapHoldsAcrossConnections) {
  const auto db = PgServer::shared()->create_database();
  constexpr int kJobs = 60, kWriters = 6;
  constexpr double kCap = 20;
  std::vector<std::int64_t> ids;
  std::int64_t batch = 0;
  {
    PgJobStore s(options_for(db));
    std::vector<IngestRow> rows;
    for (int i = 0; i < kJobs; ++i) rows.push_back(row("j" + std::to_string(i), i + 2));
    batch = s.ensure_batch("m", "/m", "/o").id;
    ids = s.ingest(batch, rows).job_ids;
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  }
  std::atomic<int> recorded{0}, refused{0};
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      try {
        PgJobStore s(options_for(db));
        for (int k = i; k < kJobs; k += kWriters) {
          auto j = s.job(ids[k]).value();
          j.state = JobState::submitting;
          CreditRequest credit{1, "credits", "documented", 0, [&](const CreditUses& u) {
                                 return u.profile_settled + u.profile_reserved + 1 > kCap ? std::string("cap")
                                                                                          : std::string();
                               }};
          const auto r = s.begin_submit_reserving(j, JobState::pending, note("state"), "juhuo", 2, credit);
          if (r.status == SubmitIntent::Status::recorded) ++recorded;
          if (r.status == SubmitIntent::Status::budget) ++refused;
        }
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ASSERT_TRUE(e.empty()) << e;
  EXPECT_EQ(recorded.load(), static_cast<int>(kCap));
  EXPECT_EQ(refused.load(), kJobs - static_cast<int>(kCap));
  PgJobStore s(options_for(db));
  const auto uses = s.credit_uses("juhuo", batch, "credits", 0);
  EXPECT_EQ(uses.profile_reserved, kCap);
  EXPECT_EQ(uses.batch_reserved, kCap);
  EXPECT_EQ(s.count_by_state({}).at(JobState::submitting), static_cast<int>(kCap));
}

// A version-1 database (before poll_times, rejected_rows and the ledger) is
// migrated on open; its recorded costs become settled ledger entries of the
// job's latest attempt, in no unit.
TEST(PgJobStore, MigratesAVersion1DatabaseKeepingItsCosts) {
  const auto db = PgServer::shared()->create_database();
  std::int64_t batch = 0, id = 0, attempt = 0;
  {
    PgJobStore s(options_for(db));
    batch = s.ensure_batch("m", "/m", "/o").id;
    id = s.ingest(batch, {row("a", 2), row("b", 3)}).job_ids.at(0);
    s.begin_attempt(id, "juhuo");
    attempt = s.begin_attempt(id, "juhuo");
    auto j = s.job(id).value();
    j.state = JobState::succeeded;
    j.cost = 7.5;
    ASSERT_TRUE(s.try_transition(j, JobState::pending, note("state")));
  }
  {
    // Back to what version 1 had.
    auto c = raw(db);
    pqxx::work tx(c);
    tx.exec0("DROP TABLE credit_ledger; DROP TABLE rejected_rows; DROP TABLE poll_times; "
             "ALTER TABLE batches DROP COLUMN max_credits; UPDATE reelbatch_schema SET version = 1");
    tx.commit();
  }
  PgJobStore s(options_for(db));
  EXPECT_EQ(s.schema_version(), kPgSchemaVersion);
  const auto uses = s.credit_uses("juhuo", batch, "", 0);
  EXPECT_EQ(uses.profile_settled, 7.5);
  EXPECT_EQ(uses.profile_reserved, 0);
  EXPECT_EQ(uses.batch_settled, 7.5);
  EXPECT_EQ(s.credit_uses("juhuo", batch, "credits", 0).batch_settled, 0);
  auto c = raw(db);
  pqxx::nontransaction tx(c);
  const auto entry =
      tx.exec1("SELECT attempt_id, state, source FROM credit_ledger WHERE job_id = " + std::to_string(id));
  EXPECT_EQ(entry[0].as<std::int64_t>(), attempt);
  EXPECT_EQ(entry[1].as<std::string>(), "settled");
  EXPECT_EQ(entry[2].as<std::string>(), "reported");
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM credit_ledger")[0].as<int>(), 1);
  // The new tables work.
  EXPECT_FALSE(s.batch(batch)->max_credits.has_value());
  s.record_poll_times("juhuo", {now_ms()});
  EXPECT_EQ(s.poll_times_since("juhuo", 0).size(), 1u);
  s.replace_rejected_rows(batch, "m.csv", {{"", 4, "c", "juhuo", "prompt", "empty"}});
  EXPECT_EQ(s.rejected_rows(batch).size(), 1u);
}

// A stale writer (its lease was taken over) cannot move a job another
// daemon now owns, through either connection.
TEST(PgJobStore, AFencedOutDaemonCannotMoveTheJob) {
  const auto db = PgServer::shared()->create_database();
  PgJobStore a(options_for(db)), b(options_for(db));
  const auto id = a.ingest(a.ensure_batch("m", "/m", "/o").id, {row("a", 2)}).job_ids.at(0);
  auto stale = a.claim_job(id, "daemon-a", 0ms).value();  // paused past its lease
  auto fresh = b.claim_job(id, "daemon-b", 1h).value();
  EXPECT_EQ(fresh.fence, stale.fence + 1);
  stale.state = JobState::uploading;
  EXPECT_FALSE(a.try_transition(stale, JobState::pending, note("state")));
  EXPECT_EQ(a.begin_submit(stale, JobState::pending, note("state"), "juhuo", 3).status, SubmitIntent::Status::lost);
  fresh.state = JobState::uploading;
  EXPECT_TRUE(b.try_transition(fresh, JobState::pending, note("state")));
  EXPECT_EQ(a.job(id)->lease_owner, "daemon-b");
  EXPECT_EQ(a.job(id)->state, JobState::uploading);
}

TEST(PgJobStore, AWrongPasswordFailsWithoutShowingIt) {
  const auto db = PgServer::shared()->create_database();
  try {
    PgJobStore s(PgConnectOptions{PgServer::shared()->url(db), "not-the-password"});
    FAIL() << "logged in with a wrong password";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("password authentication failed"), std::string::npos) << what;
    EXPECT_NE(what.find(PgServer::shared()->url(db)), std::string::npos) << "names the database: " << what;
    EXPECT_EQ(what.find("not-the-password"), std::string::npos) << what;
  }
  // A password in the URL itself is redacted from the message too.
  const std::string in_url = "postgresql://reelbatch:sekrit@127.0.0.1:" + std::to_string(PgServer::shared()->port()) +
                             "/" + db + "?password=sekrit2";
  try {
    PgJobStore s(PgConnectOptions{in_url, ""});
    FAIL() << "logged in with a wrong password";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find("sekrit"), std::string::npos) << what;
    EXPECT_NE(what.find("reelbatch:***@127.0.0.1"), std::string::npos) << what;
  }
}

TEST(PgJobStore, AnUnreachableServerIsAStoreFailure) {
  const auto db = PgServer::shared()->create_database();
  // Port 1 on loopback: nothing listens (connection refused at once).
  try {
    PgJobStore s(PgConnectOptions{"postgresql://reelbatch@127.0.0.1:1/" + db, PgServer::shared()->password(), 5});
    FAIL() << "connected to port 1";
  } catch (const StoreError& e) {
    EXPECT_TRUE(is_store_failure(e));
    EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
  }
  EXPECT_THROW(PgJobStore(PgConnectOptions{"mysql://x@127.0.0.1/db", ""}), StoreError);
}

TEST(PgJobStoreUrl, RecognizesPostgresUrls) {
  EXPECT_TRUE(is_postgres_url("postgresql://u@h:5432/db"));
  EXPECT_TRUE(is_postgres_url("postgres://h/db"));
  EXPECT_TRUE(is_postgres_url("PostgreSQL://h/db"));
  EXPECT_FALSE(is_postgres_url("/var/lib/reelbatch/reelbatch.db"));
  EXPECT_FALSE(is_postgres_url("postgresql:/h/db"));
  EXPECT_FALSE(is_postgres_url("sqlite://x"));
}

TEST(PgJobStoreUrl, RedactsPasswords) {
  EXPECT_EQ(redact_postgres_url("postgresql://u@h:5432/db"), "postgresql://u@h:5432/db");
  EXPECT_EQ(redact_postgres_url("postgresql://u:pw@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(redact_postgres_url("postgres://u:p@w@h/db"), "postgres://u:***@h/db");
  EXPECT_EQ(redact_postgres_url("postgresql://h/db?sslmode=require&password=x&user=u"),
            "postgresql://h/db?sslmode=require&password=***&user=u");
  EXPECT_EQ(redact_postgres_url("postgresql://u:p@h?password=x"), "postgresql://u:***@h?password=***");
  EXPECT_EQ(redact_postgres_url("postgresql://h"), "postgresql://h");
}

}  // namespace
}  // namespace reelbatch
