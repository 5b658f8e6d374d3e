// Tests of the watch-folder service on real temp folders and a temp SQLite
// store: inotify and polling, settle, the ledger, done/ and failed/, restart
// recovery, recursive folders; with a fake ingest function and with the
// real one (make_watch_ingest over src/ingest). Waits poll the outcome with
// a timeout; settle times are 100-300 ms.
#include "providers/registry.hpp"
#include "src/core/sha256.hpp"
#include "src/watch/watch_files.hpp"
#include "src/watch/watch_service.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace reelbatch {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() /
          ("reelbatch-watch-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Polls `pred` every 10 ms for up to `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

json::object result_of(const fs::path& manifest) {
  return json::parse(slurp(manifest.parent_path() / watch::result_name(manifest.filename().string()))).as_object();
}

// A stand-in for make_watch_ingest: records each call and creates a batch of
// `jobs` pending jobs keyed by the content hash, idempotently.
class FakeIngest {
 public:
  explicit FakeIngest(JobStore& store, int jobs = 2) : store_(store), jobs_(jobs) {}

  WatchIngestFn fn() {
    return [this](const WatchIngestRequest& req) { return call(req); };
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(requests_.size());
  }
  std::vector<WatchIngestRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<std::string> contents() const {
    std::lock_guard lock(mu_);
    return contents_;
  }

 private:
  WatchIngestResult call(const WatchIngestRequest& req) {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      contents_.push_back(slurp(req.file));
    }
    WatchIngestResult r;
    const auto b = store_.ensure_batch(req.name, req.file.string() + "#" + req.sha256, "/out/" + req.name);
    std::vector<IngestRow> rows;
    for (int i = 0; i < jobs_; ++i) {
      IngestRow row;
      row.spec.id = req.sha256.substr(0, 12) + "-" + std::to_string(i);
      row.spec.provider = "p";
      row.spec.prompt = "prompt " + std::to_string(i);
      row.content_hash = sha256_hex(row.spec.id);
      row.file = req.name;
      row.line = i + 2;
      rows.push_back(row);
    }
    const auto res = store_.ingest(b.id, rows);
    r.batch_id = b.id;
    r.rows = static_cast<int>(res.job_ids.size());
    r.output_dir = b.out_dir;
    return r;
  }

  JobStore& store_;
  int jobs_;
  mutable std::mutex mu_;
  std::vector<WatchIngestRequest> requests_;
  std::vector<std::string> contents_;
};

class WatchServiceTest : public ::testing::Test {
 protected:
  WatchServiceTest()
      : inbox(tmp.dir / "inbox"), db(tmp.dir / "state" / "reelbatch.db"),
        service_store(std::make_unique<SqliteJobStore>(db)), test_store(db) {
    fs::create_directories(inbox);
    opts.batch_check_interval = 20ms;
    opts.poll_interval = 50ms;
    opts.retry_interval = 100ms;
  }
  ~WatchServiceTest() override {
    if (service) service->stop();
  }

  WatchConfig folder(std::chrono::milliseconds settle = 200ms, bool recursive = false) {
    WatchConfig w;
    w.path = inbox;
    w.profile = "main";
    w.settle = settle;
    w.recursive = recursive;
    return w;
  }

  void start(WatchIngestFn ingest, std::vector<WatchConfig> folders) {
    service = std::make_unique<WatchService>(*service_store, std::move(ingest), nullptr, opts);
    service->configure(std::move(folders));
    service->start();
  }

  // A fake ingest over the service's store that lives as long as the fixture.
  FakeIngest& fake_ingest() {
    fakes.push_back(std::make_unique<FakeIngest>(*service_store));
    return *fakes.back();
  }

  // Marks every job of `batch` with `state` (as the engine would finish them).
  void finish_batch(std::int64_t batch, JobState state) {
    JobQuery q;
    q.filter.batch_ids = {batch};
    for (auto j : test_store.jobs(q).jobs) {
      const JobState from = j.state;
      j.state = state;
      EventRecord e;
      e.kind = "state";
      ASSERT_TRUE(test_store.try_transition(j, from, e));
    }
  }

  // Waits until the ledger holds `sha256` with `outcome`; returns the entry.
  WatchFileRecord wait_ledger(const std::string& sha256, WatchFileOutcome outcome) {
    std::optional<WatchFileRecord> r;
    EXPECT_TRUE(eventually([&] {
      r = test_store.find_watch_file(sha256);
      return r && r->outcome == outcome;
    })) << sha256 << " never became " << to_string(outcome);
    return r.value_or(WatchFileRecord{});
  }

  // Drops `text` into the inbox the safe way: written under a dot-name, renamed into place.
  fs::path drop(const std::string& name, const std::string& text, const fs::path& dir = {}) {
    const fs::path d = dir.empty() ? inbox : dir;
    spit(d / ("." + name + ".part"), text);
    fs::rename(d / ("." + name + ".part"), d / name);
    return d / name;
  }

  TempDir tmp;
  fs::path inbox;
  fs::path db;
  std::unique_ptr<SqliteJobStore> service_store;
  SqliteJobStore test_store;
  WatchServiceOptions opts;
  std::vector<std::unique_ptr<FakeIngest>> fakes;  ///< outlive the service, which calls them
  std::unique_ptr<WatchService> service;           ///< last: stopped first
};

TEST_F(WatchServiceTest, WrittenSlowlyThenRenamedIsTakenOnceAtOnce) {
  FakeIngest& fake = fake_ingest();
  // A settle time far longer than the test: only the rename can make it go.
  start(fake.fn(), {folder(60s)});
  const fs::path part = inbox / ".nightly.csv.part";
  {
    std::ofstream out(part, std::ios::binary);
    for (int i = 0; i < 5; ++i) {
      out << "id,prompt\nrow" << i << ",hello\n" << std::flush;
      std::this_thread::sleep_for(40ms);
    }
  }
  const std::string content = slurp(part);
  fs::rename(part, inbox / "nightly.csv");

  const fs::path processing = inbox / "processing" / "nightly.csv";
  ASSERT_TRUE(eventually([&] { return fs::exists(processing.string() + ".result.json"); }));
  EXPECT_FALSE(fs::exists(inbox / "nightly.csv"));
  EXPECT_EQ(fake.calls(), 1);
  EXPECT_EQ(fake.contents().at(0), content);
  const auto req = fake.requests().at(0);
  EXPECT_EQ(req.name, "nightly.csv");
  EXPECT_EQ(req.drop_dir, inbox);
  EXPECT_EQ(req.sha256, sha256_hex(content));
  EXPECT_EQ(req.folder.profile, "main");

  const auto r = result_of(processing);
  EXPECT_EQ(r.at("state").as_string(), "processing");
  EXPECT_EQ(r.at("rows").as_int64(), 2);
  EXPECT_EQ(r.at("sha256").as_string(), sha256_hex(content));
  const auto ledger = wait_ledger(sha256_hex(content), WatchFileOutcome::processing);
  EXPECT_EQ(ledger.path, processing.string());
  ASSERT_TRUE(ledger.batch_id);
  EXPECT_EQ(*ledger.batch_id, r.at("batch_id").as_int64());

  // The batch finishes: the file and its result move to done/.
  finish_batch(*ledger.batch_id, JobState::succeeded);
  const fs::path done = inbox / "done" / "nightly.csv";
  ASSERT_TRUE(eventually([&] { return fs::exists(done); }));
  ASSERT_TRUE(eventually([&] { return test_store.find_watch_file(req.sha256)->outcome == WatchFileOutcome::done; }));
  EXPECT_FALSE(fs::exists(processing));
  const auto final_result = result_of(done);
  EXPECT_EQ(final_result.at("state").as_string(), "done");
  EXPECT_EQ(final_result.at("counts").as_object().at("succeeded").as_int64(), 2);
  EXPECT_EQ(test_store.find_watch_file(req.sha256)->path, done.string());
  EXPECT_EQ(fake.calls(), 1);
  EXPECT_EQ(service->stats().done, 1u);
}

TEST_F(WatchServiceTest, CopiedInPlaceIsTakenOnceAfterSettling) {
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(400ms)});
  const fs::path file = inbox / "copied.jsonl";
  std::string content;
  {
    std::ofstream out(file, std::ios::binary);
    // Written in place over ~0.6 s with pauses far shorter than the settle
    // time: it must not be taken half-written.
    for (int i = 0; i < 10; ++i) {
      const std::string line = "{\"id\":\"r" + std::to_string(i) + "\",\"prompt\":\"p\"}\n";
      out << line << std::flush;
      content += line;
      std::this_thread::sleep_for(60ms);
      ASSERT_EQ(fake.calls(), 0) << "taken before it settled";
    }
  }
  ASSERT_TRUE(eventually([&] { return fake.calls() == 1; }));
  EXPECT_EQ(fake.contents().at(0), content);
  EXPECT_TRUE(fs::exists(inbox / "processing" / "copied.jsonl"));
  std::this_thread::sleep_for(400ms);  // more than a settle time: still once
  EXPECT_EQ(fake.calls(), 1);
  EXPECT_EQ(service->stats().taken, 1u);
}

TEST_F(WatchServiceTest, IgnoredNamesAreNeverTaken) {
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(100ms)});
  for (const char* name : {".hidden.csv", "a.csv.part", "b.tmp", "c.partial", "notes.txt"})
    spit(inbox / name, "id,prompt\nx,y\n");
  drop("real.csv", "id,prompt\nx,y\n");
  ASSERT_TRUE(eventually([&] { return fake.calls() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fake.calls(), 1);
  for (const char* name : {".hidden.csv", "a.csv.part", "b.tmp", "c.partial", "notes.txt"})
    EXPECT_TRUE(fs::exists(inbox / name)) << name;
}

TEST_F(WatchServiceTest, ReDropAddsNothingAndAChangedFileIsANewBatch) {
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(100ms)});
  const std::string v1 = "id,prompt\na,one\n";
  drop("jobs.csv", v1);
  const auto first = wait_ledger(sha256_hex(v1), WatchFileOutcome::processing);
  ASSERT_TRUE(first.batch_id);

  // The same bytes under the same name while the first is still processing,
  // and again under another name: nothing added, both go to done/.
  drop("jobs.csv", v1);
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "done" / "jobs.csv"); }));
  drop("copy-of-jobs.csv", v1);
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "done" / "copy-of-jobs.csv"); }));
  EXPECT_EQ(fake.calls(), 1);
  for (const char* name : {"jobs.csv", "copy-of-jobs.csv"}) {
    const auto r = result_of(inbox / "done" / name);
    EXPECT_EQ(r.at("state").as_string(), "duplicate") << name;
    EXPECT_EQ(r.at("duplicate_of").as_int64(), *first.batch_id) << name;
  }
  EXPECT_TRUE(fs::exists(inbox / "processing" / "jobs.csv"));  // the original still runs
  EXPECT_EQ(test_store.batches().size(), 1u);
  EXPECT_EQ(service->stats().duplicates, 2u);

  // Changed content under the same name: a new batch.
  const std::string v2 = "id,prompt\na,one\nb,two\n";
  drop("jobs.csv", v2);
  ASSERT_TRUE(eventually([&] { return fake.calls() == 2; }));
  const auto second = wait_ledger(sha256_hex(v2), WatchFileOutcome::processing);
  ASSERT_TRUE(second.batch_id);
  EXPECT_NE(*second.batch_id, *first.batch_id);
  EXPECT_EQ(second.path, (inbox / "processing" / "jobs-1.csv").string());  // the name clash got a suffix
  EXPECT_EQ(second.name, "jobs.csv");

  // Each finishes on its own; done/jobs.csv is the duplicate's, so both get
  // a suffix there.
  finish_batch(*first.batch_id, JobState::succeeded);
  finish_batch(*second.batch_id, JobState::succeeded);
  ASSERT_TRUE(eventually([&] { return service->stats().done == 2u; }));
  EXPECT_TRUE(fs::exists(inbox / "done" / "jobs-1.csv"));
  EXPECT_TRUE(fs::exists(inbox / "done" / "jobs-2.csv"));
  EXPECT_TRUE(fs::is_empty(inbox / "processing"));
}

TEST_F(WatchServiceTest, ABatchWithAFailedJobMovesToFailed) {
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(100ms)});
  drop("mixed.csv", "id,prompt\na,b\n");
  const auto rec = wait_ledger(sha256_hex("id,prompt\na,b\n"), WatchFileOutcome::processing);
  ASSERT_TRUE(rec.batch_id);
  JobQuery q;
  q.filter.batch_ids = {*rec.batch_id};
  auto jobs = test_store.jobs(q).jobs;
  ASSERT_EQ(jobs.size(), 2u);
  jobs[0].state = JobState::succeeded;
  ASSERT_TRUE(test_store.try_transition(jobs[0], JobState::pending, EventRecord{}));
  // One job still pending: the file stays, its result shows progress.
  ASSERT_TRUE(eventually([&] {
    const auto r = result_of(inbox / "processing" / "mixed.csv");
    return r.contains("counts") && r.at("counts").as_object().contains("succeeded");
  }));
  EXPECT_TRUE(fs::exists(inbox / "processing" / "mixed.csv"));
  jobs[1].state = JobState::failed;
  ASSERT_TRUE(test_store.try_transition(jobs[1], JobState::pending, EventRecord{}));
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "failed" / "mixed.csv"); }));
  const auto r = result_of(inbox / "failed" / "mixed.csv");
  EXPECT_EQ(r.at("state").as_string(), "failed");
  EXPECT_EQ(r.at("counts").as_object().at("failed").as_int64(), 1);
  wait_ledger(rec.sha256, WatchFileOutcome::failed);
}

TEST_F(WatchServiceTest, RestartResumesFilesInProcessingWithoutIngestingTwice) {
  const std::string text = "id,prompt\na,b\n";
  std::int64_t batch = 0;
  {
    FakeIngest& fake = fake_ingest();
    start(fake.fn(), {folder(100ms)});
    drop("night.csv", text);
    batch = wait_ledger(sha256_hex(text), WatchFileOutcome::processing).batch_id.value_or(0);
    ASSERT_NE(batch, 0);
    service->stop();
    service.reset();
  }
  // Another file was moved into processing/ but the process died before the
  // ledger heard of it.
  spit(inbox / "processing" / "orphan.csv", "id,prompt\nz,z\n");

  service_store = std::make_unique<SqliteJobStore>(db);
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(100ms)});
  ASSERT_TRUE(eventually([&] { return fake.calls() == 1; }));
  EXPECT_EQ(fake.requests().at(0).name, "orphan.csv");  // night.csv was resumed, not ingested again
  finish_batch(batch, JobState::succeeded);
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "done" / "night.csv"); }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fake.calls(), 1);
  EXPECT_EQ(test_store.batches().size(), 2u);
}

TEST_F(WatchServiceTest, RecursiveFoldersIncludingNewSubfolders) {
  FakeIngest& fake = fake_ingest();
  fs::create_directories(inbox / "team-a");
  spit(inbox / "team-a" / "early.csv", "id,prompt\ne,e\n");  // there before start: settles
  start(fake.fn(), {folder(100ms, /*recursive=*/true)});
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "team-a" / "processing" / "early.csv"); }));

  fs::create_directories(inbox / "team-b" / "deep");
  std::this_thread::sleep_for(50ms);
  drop("late.csv", "id,prompt\nl,l\n", inbox / "team-b" / "deep");
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "team-b" / "deep" / "processing" / "late.csv"); }));
  ASSERT_TRUE(eventually([&] { return fake.calls() == 2; }));
  for (const auto& r : fake.requests()) EXPECT_EQ(r.drop_dir, r.file.parent_path().parent_path());
  // The service's own folders are never descended into.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fake.calls(), 2);
}

TEST_F(WatchServiceTest, ASubfolderMovedInWithManifestsIsScanned) {
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(100ms, /*recursive=*/true)});
  const fs::path staging = tmp.dir / "staging";
  fs::create_directories(staging / "batch-7");
  spit(staging / "batch-7" / "a.csv", "id,prompt\na,a\n");
  spit(staging / "batch-7" / "b.jsonl", "{\"prompt\":\"b\"}\n");
  fs::rename(staging / "batch-7", inbox / "batch-7");
  ASSERT_TRUE(eventually([&] { return fake.calls() == 2; }));
  EXPECT_TRUE(fs::exists(inbox / "batch-7" / "processing" / "a.csv"));
  EXPECT_TRUE(fs::exists(inbox / "batch-7" / "processing" / "b.jsonl"));
}

TEST_F(WatchServiceTest, AFolderDeletedAndMadeAgainIsWatchedAgain) {
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(100ms)});
  drop("one.csv", "id,prompt\n1,1\n");
  wait_ledger(sha256_hex("id,prompt\n1,1\n"), WatchFileOutcome::processing);
  // Deleted while watched, its processing/ file with it: the file is no
  // longer followed, and the folder is looked for until it is back.
  fs::remove_all(inbox);
  std::this_thread::sleep_for(200ms);
  fs::create_directories(inbox);
  drop("two.csv", "id,prompt\n2,2\n");
  ASSERT_TRUE(eventually([&] { return fake.calls() == 2; }));
  EXPECT_TRUE(fs::exists(inbox / "processing" / "two.csv"));
}

TEST_F(WatchServiceTest, NonRecursiveFolderLeavesSubfoldersAlone) {
  FakeIngest& fake = fake_ingest();
  fs::create_directories(inbox / "sub");
  start(fake.fn(), {folder(100ms)});
  drop("x.csv", "id,prompt\nx,x\n", inbox / "sub");
  drop("top.csv", "id,prompt\nt,t\n");
  ASSERT_TRUE(eventually([&] { return fake.calls() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fake.calls(), 1);
  EXPECT_TRUE(fs::exists(inbox / "sub" / "x.csv"));
}

TEST_F(WatchServiceTest, PollingFindsFilesWithoutInotify) {
  opts.force_polling = true;
  FakeIngest& fake = fake_ingest();
  start(fake.fn(), {folder(150ms)});
  drop("polled.csv", "id,prompt\np,p\n");
  ASSERT_TRUE(eventually([&] { return fake.calls() == 1; }));
  EXPECT_TRUE(fs::exists(inbox / "processing" / "polled.csv"));
}

TEST_F(WatchServiceTest, ReconfigureAddsAndRemovesFolders) {
  FakeIngest& fake = fake_ingest();
  const fs::path second = tmp.dir / "second";
  start(fake.fn(), {folder(100ms)});
  WatchConfig w2 = folder(100ms);
  w2.path = second;  // does not exist yet: looked for at every rescan
  service->configure({w2});
  std::this_thread::sleep_for(100ms);
  fs::create_directories(second);
  drop("b.csv", "id,prompt\nb,b\n", second);
  ASSERT_TRUE(eventually([&] { return fs::exists(second / "processing" / "b.csv"); }));
  // The new list is in force: the first folder is no longer watched.
  drop("ignored-now.csv", "id,prompt\na,a\n");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fake.calls(), 1);
  EXPECT_TRUE(fs::exists(inbox / "ignored-now.csv"));
}

TEST_F(WatchServiceTest, AStoreFailureMakesTheFileWaitNotFail) {
  // An ingest function that fails like a locked database twice, then works.
  FakeIngest& fake = fake_ingest();
  std::atomic<int> failures{2};
  auto inner = fake.fn();
  start(
      [&](const WatchIngestRequest& req) {
        if (failures.fetch_sub(1) > 0) throw StoreError("database is locked");
        return inner(req);
      },
      {folder(100ms)});
  drop("later.csv", "id,prompt\nq,q\n");
  ASSERT_TRUE(eventually([&] { return fake.calls() == 1; }));
  EXPECT_TRUE(fs::exists(inbox / "processing" / "later.csv"));
  EXPECT_FALSE(fs::exists(inbox / "failed"));
  EXPECT_GE(service->stats().errors, 2u);
  service->stop();  // before `failures` and `inner` go
}

// ---- with the real ingest function -------------------------------------------

class WatchRealIngestTest : public WatchServiceTest {
 protected:
  WatchRealIngestTest() {
    const std::string toml = "[storage]\npath = \"" + db.string() + "\"\n[output]\ndir = \"" +
                             (tmp.dir / "out").string() +
                             "\"\n[providers.main]\nkind = \"juhuo\"\nbase_url = \"http://127.0.0.1:9\"\n"
                             "api_key_env = \"K\"\n[providers.main.defaults]\nmodel = \"seedance-2.0\"\n";
    cfg = parse_config(toml, tmp.dir / "reelbatch.toml",
                       [](const std::string&) -> std::optional<std::string> { return std::string("key"); });
  }
  ~WatchRealIngestTest() override {
    if (service) service->stop();  // it calls back into `mu` and `announced`
  }
  WatchIngestFn ingest() {
    return make_watch_ingest(cfg, *service_store, [this](std::int64_t id) {
      std::lock_guard lock(mu);
      announced.push_back(id);
    });
  }
  Config cfg;
  std::mutex mu;
  std::vector<std::int64_t> announced;
};

TEST_F(WatchRealIngestTest, BadRowsAreReportedAndTheFileEndsInFailed) {
  start(ingest(), {folder(100ms)});
  fs::create_directories(inbox / "refs");
  spit(inbox / "refs" / "cat.png", std::string("\x89PNG\r\n\x1a\n", 8) + "png");  // a PNG signature: assets are sniffed
  const std::string text =
      "id,prompt,duration,images\n"
      "good,A cat,8,cat=refs/cat.png\n"
      "long,A long one,20,\n"
      "empty,,8,\n";
  drop("bad.csv", text);
  const fs::path processing = inbox / "processing" / "bad.csv";
  ASSERT_TRUE(eventually([&] { return fs::exists(processing.string() + ".errors.txt"); }));
  const std::string errors = slurp(processing.string() + ".errors.txt");
  const std::string shown = (inbox / "bad.csv").string();
  EXPECT_NE(errors.find(shown + ":3: duration: "), std::string::npos) << errors;
  EXPECT_NE(errors.find(shown + ":4: prompt: "), std::string::npos) << errors;
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 2) << errors;

  const auto rec = wait_ledger(sha256_hex(text), WatchFileOutcome::processing);
  ASSERT_TRUE(rec.batch_id);
  EXPECT_EQ(rec.rows, 1);
  EXPECT_EQ(rec.rejected, 2);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(announced, std::vector<std::int64_t>{*rec.batch_id});
  }
  const auto batch = test_store.batch(*rec.batch_id);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->name, "bad");
  EXPECT_EQ(batch->out_dir, (tmp.dir / "out" / "bad").string());
  // The row's provider came from the folder, its asset from the drop folder.
  JobQuery q;
  q.filter.batch_ids = {*rec.batch_id};
  const auto jobs = test_store.jobs(q).jobs;
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].spec.provider, "main");
  ASSERT_EQ(jobs[0].spec.images.size(), 1u);
  EXPECT_EQ(jobs[0].spec.images[0].location, (inbox / "refs" / "cat.png").string());

  // The good row succeeds, but rows were rejected: failed/.
  finish_batch(*rec.batch_id, JobState::succeeded);
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "failed" / "bad.csv.errors.txt"); }));
  EXPECT_TRUE(fs::exists(inbox / "failed" / "bad.csv"));
  const auto r = result_of(inbox / "failed" / "bad.csv");
  EXPECT_EQ(r.at("state").as_string(), "failed");
  EXPECT_EQ(r.at("rejected").as_int64(), 2);
  EXPECT_EQ(r.at("output_dir").as_string(), batch->out_dir);
}

TEST_F(WatchRealIngestTest, AnUnreadableManifestGoesToFailedAtOnce) {
  start(ingest(), {folder(100ms)});
  const std::string text = "id,prompt,colour\na,b,red\n";  // unknown column: the header is bad
  drop("header.csv", text);
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "failed" / "header.csv"); }));
  ASSERT_TRUE(eventually([&] { return fs::exists(inbox / "failed" / "header.csv.result.json"); }));
  const std::string errors = slurp(inbox / "failed" / "header.csv.errors.txt");
  EXPECT_NE(errors.find((inbox / "header.csv").string() + ":1"), std::string::npos) << errors;
  EXPECT_NE(errors.find("colour"), std::string::npos) << errors;
  const auto r = result_of(inbox / "failed" / "header.csv");
  EXPECT_EQ(r.at("state").as_string(), "failed");
  EXPECT_FALSE(r.contains("batch_id"));
  EXPECT_TRUE(test_store.batches().empty());
  ASSERT_TRUE(eventually([&] {
    auto rec = test_store.find_watch_file(sha256_hex(text));
    return rec && rec->outcome == WatchFileOutcome::failed && !rec->batch_id;
  }));
}

TEST_F(WatchRealIngestTest, ACrashMidIngestIsRepairedWithoutDuplicateJobs) {
  // State left by a crash after the batch was created but before the ledger
  // recorded it: the ledger says "ingesting", the file is in processing/.
  const std::string text = "id,prompt\nr1,one\nr2,two\n";
  fs::create_directories(inbox / "processing");
  const fs::path file = inbox / "processing" / "crash.csv";
  spit(file, text);
  auto fn = ingest();
  const auto first = fn(WatchIngestRequest{file, inbox, "crash.csv", sha256_hex(text), folder()});
  ASSERT_TRUE(first.batch_id);
  WatchFileRecord rec;
  rec.sha256 = sha256_hex(text);
  rec.path = file.string();
  rec.name = "crash.csv";
  test_store.record_watch_file(rec);

  start(ingest(), {folder(100ms)});
  ASSERT_TRUE(eventually([&] {
    auto r = test_store.find_watch_file(sha256_hex(text));
    return r && r->outcome == WatchFileOutcome::processing;
  }));
  EXPECT_EQ(*test_store.find_watch_file(sha256_hex(text))->batch_id, *first.batch_id);
  EXPECT_EQ(test_store.batches().size(), 1u);
  JobQuery q;
  EXPECT_EQ(test_store.jobs(q).jobs.size(), 2u);
  EXPECT_EQ(result_of(file).at("rows").as_int64(), 2);  // both rows known, none added twice
}

TEST_F(WatchRealIngestTest, AChangedFileWithTheSameNameGetsItsOwnOutputFolder) {
  start(ingest(), {folder(100ms)});
  drop("daily.csv", "id,prompt\nd1,one\n");
  ASSERT_TRUE(eventually([&] { return test_store.batches().size() == 1u; }));
  const std::string v2 = "id,prompt\nd2,two\n";
  drop("daily.csv", v2);
  ASSERT_TRUE(eventually([&] { return test_store.batches().size() == 2u; }));
  const auto batches = test_store.batches();
  EXPECT_EQ(batches[0].out_dir, (tmp.dir / "out" / "daily").string());
  EXPECT_EQ(batches[1].out_dir, (tmp.dir / "out" / ("daily-" + sha256_hex(v2).substr(0, 8))).string());
}

// ---- the ledger in the store -------------------------------------------------

TEST(WatchLedger, RecordFindAndUpdate) {
  SqliteJobStore s(":memory:");
  EXPECT_FALSE(s.find_watch_file("ab"));
  WatchFileRecord r;
  r.sha256 = "ab";
  r.path = "/in/processing/a.csv";
  r.name = "a.csv";
  s.record_watch_file(r);
  auto got = s.find_watch_file("ab");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->outcome, WatchFileOutcome::ingesting);
  EXPECT_FALSE(got->batch_id);
  EXPECT_GT(got->created_at_ms, 0);

  const auto b = s.ensure_batch("a", "/in/a.csv#ab", "/out/a");
  r.batch_id = b.id;
  r.outcome = WatchFileOutcome::done;
  r.rows = 3;
  r.rejected = 1;
  r.path = "/in/done/a.csv";
  s.record_watch_file(r);
  got = s.find_watch_file("ab");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->batch_id, b.id);
  EXPECT_EQ(got->outcome, WatchFileOutcome::done);
  EXPECT_EQ(got->rows, 3);
  EXPECT_EQ(got->rejected, 1);
  EXPECT_EQ(got->path, "/in/done/a.csv");

  r.batch_id = 999;
  EXPECT_THROW(s.record_watch_file(r), StoreError);
}

TEST(WatchLedger, MigratesAVersionThreeDatabase) {
  TempDir t;
  const fs::path file = t.dir / "v3.db";
  { SqliteJobStore s(file); }
  {  // as schema 3 left it
    SQLite::Database raw(file.string(), SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE credit_ledger");  // schema 7
    raw.exec("ALTER TABLE batches DROP COLUMN max_credits");
    raw.exec("DROP TABLE IF EXISTS rejected_rows");  // schema 6
    raw.exec("DROP TABLE IF EXISTS poll_times");     // schema 5
    raw.exec("DROP TABLE watch_files");
    raw.exec("PRAGMA user_version = 3");
  }
  SqliteJobStore s(file);
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  WatchFileRecord r;
  r.sha256 = "cd";
  r.path = "/in/processing/c.csv";
  r.name = "c.csv";
  s.record_watch_file(r);
  EXPECT_TRUE(s.find_watch_file("cd"));
}

TEST(WatchLedger, OutcomeNames) {
  for (auto o : {WatchFileOutcome::ingesting, WatchFileOutcome::processing, WatchFileOutcome::done,
                 WatchFileOutcome::failed})
    EXPECT_EQ(watch_file_outcome_from_string(to_string(o)), o);
  EXPECT_FALSE(watch_file_outcome_from_string("Done"));
}

}  // namespace
}  // namespace reelbatch
