// Store: schema, idempotent ingest, transitions with events, attempts, uploads.
#include "storage/lock.hpp"
#include "storage/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

namespace reelbatch {
namespace {
namespace fs = std::filesystem;

struct TempDb {
  fs::path dir;
  TempDb() {
    dir = fs::temp_directory_path() / ("reelbatch-store-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::random_device{}()));
    fs::create_directories(dir);
  }
  ~TempDb() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path db() const { return dir / "t.db"; }
};

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

TEST(Store, CreatesSchemaInWalMode) {
  TempDb t;
  Store s(t.db());
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  SQLite::Database raw(t.db().string());
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST(Store, IngestIsIdempotentAndReportsIdConflicts) {
  TempDb t;
  Store s(t.db());
  const auto b = s.ensure_batch("m", "/abs/m.csv", "/out/m");
  EXPECT_EQ(s.ensure_batch("m", "/abs/m.csv", "/out/m").id, b.id);
  auto r1 = s.ingest(b.id, {row("a", "one", 2), row("b", "two", 3)});
  EXPECT_EQ(r1.added, 2);
  auto r2 = s.ingest(b.id, {row("a", "one", 2), row("b", "changed", 3), row("c", "three", 4)});
  EXPECT_EQ(r2.added, 1);
  EXPECT_EQ(r2.existing, 1);
  ASSERT_EQ(r2.conflicts.size(), 1u);
  EXPECT_NE(r2.conflicts[0].find("m.csv:3: id: 'b'"), std::string::npos) << r2.conflicts[0];
  const auto jobs = s.jobs({b.id});
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].key, "a");
  EXPECT_EQ(jobs[0].state, "pending");
  EXPECT_EQ(jobs[0].spec.prompt, "one");
  EXPECT_EQ(jobs[0].spec.duration_s, 8);
  EXPECT_LT(jobs[0].seq, jobs[2].seq);
}

TEST(Store, SaveCommitsStateAndAppendsEvent) {
  TempDb t;
  std::int64_t id = 0;
  {
    Store s(t.db());
    const auto b = s.ensure_batch("m", "/abs/m.csv", "/out/m");
    id = s.ingest(b.id, {row("a", "one", 2)}).job_ids.at(0);
    auto j = *s.job(id);
    j.state = "running";
    j.remote_id = "gen_1";
    j.cost = 1.15;
    s.save(j, EventRecord{0, 0, id, "state", "pending", "running", {{"remote_id", "gen_1"}}});
    const auto att = s.begin_attempt(id, "juhuo");
    s.finish_attempt(att, "accepted", "gen_1", "");
    s.record_upload("juhuo", "abc", "api/u/upload/x.png", "x.png");
  }
  Store s(t.db());  // reopened: everything survived
  const auto j = s.find_job("a");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->state, "running");
  EXPECT_EQ(j->remote_id, "gen_1");
  EXPECT_DOUBLE_EQ(j->cost.value(), 1.15);
  EXPECT_EQ(s.find_job(std::to_string(id))->key, "a");
  const auto ev = s.events(id);
  ASSERT_EQ(ev.size(), 2u);  // ingest + transition
  EXPECT_EQ(ev[1].to_state, "running");
  EXPECT_EQ(ev[1].detail.at("remote_id").as_string(), "gen_1");
  EXPECT_EQ(s.attempt_counts(id), std::make_pair(1, 1));
  EXPECT_EQ(s.remote_ids("juhuo"), std::vector<std::string>{"gen_1"});
  EXPECT_EQ(s.find_upload("juhuo", "abc").value(), "api/u/upload/x.png");
  EXPECT_FALSE(s.find_upload("other", "abc"));
  EXPECT_EQ(s.count_by_state().at("running"), 1);
}

TEST(Store, ProfilePausesPersistAndClear) {
  TempDb t;
  {
    Store s(t.db());
    s.set_profile_pause("juhuo", "out_of_credit: 4003");
  }
  Store s(t.db());
  EXPECT_EQ(s.profile_pauses().at("juhuo"), "out_of_credit: 4003");
  s.set_profile_pause("juhuo", "");
  EXPECT_TRUE(s.profile_pauses().empty());
}

TEST(Store, MigratesVersionOneDatabase) {
  TempDb t;
  {
    Store s(t.db());
    s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)});
  }
  {  // as version 1 left it
    SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE profile_pauses");
    raw.exec("PRAGMA user_version = 1");
  }
  Store s(t.db());
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  EXPECT_EQ(s.jobs().size(), 1u);
  s.set_profile_pause("juhuo", "auth");
  EXPECT_EQ(s.profile_pauses().size(), 1u);
}

TEST(Store, EventsAreAppendOnly) {
  TempDb t;
  { Store s(t.db()); s.ingest(s.ensure_batch("m", "/m", "/o").id, {row("a", "one", 2)}); }
  SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE);
  EXPECT_THROW(raw.exec("UPDATE events SET kind = 'x'"), SQLite::Exception);
  EXPECT_THROW(raw.exec("DELETE FROM events"), SQLite::Exception);
}

TEST(Store, RefusesNewerSchema) {
  TempDb t;
  { Store s(t.db()); }
  { SQLite::Database raw(t.db().string(), SQLite::OPEN_READWRITE); raw.exec("PRAGMA user_version = 99"); }
  EXPECT_THROW(Store s(t.db()), StoreError);
}

}  // namespace
}  // namespace reelbatch

namespace reelbatch {
namespace {

TEST(DatabaseLock, SecondHolderIsRefusedUntilReleased) {
  TempDb t;
  {
    DatabaseLock first(t.db());
    // flock locks belong to the open file description: a second open in the
    // same process conflicts just as another process would.
    try {
      DatabaseLock second(t.db());
      FAIL() << "second lease granted";
    } catch (const LockError& e) {
      EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(DatabaseLock again(t.db()));
}

}  // namespace
}  // namespace reelbatch
