// `reelbatch backup` (src/app/cmd_backup.hpp) and the quick check at open
// (storage/sqlite: DatabaseCorrupt): a consistent online copy while another
// connection writes, the refusals, and a damaged database stopping the
// program with exit code 2 and a message naming the file.
#include "src/app/cmd_backup.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/integration_support.hpp"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace reelbatch {
namespace {
namespace fs = std::filesystem;
using namespace reelbatch::it;

IngestRow row(const std::string& id) {
  IngestRow r;
  r.spec.id = id;
  r.spec.provider = "juhuo";
  r.spec.prompt = "backup row " + id;
  r.content_hash = "hash-" + id;
  r.file = "m.csv";
  r.line = 2;
  return r;
}

// A database with `n` jobs in one batch.
void make_db(const fs::path& path, int n) {
  SqliteJobStore s(path);
  const auto b = s.ensure_batch("m", "/m.csv", "/out/m");
  std::vector<IngestRow> rows;
  for (int i = 0; i < n; ++i) rows.push_back(row("r" + std::to_string(i)));
  s.ingest(b.id, rows);
}

std::size_t job_count(const fs::path& path) {
  SqliteJobStore s(path);
  JobQuery q;
  q.limit = 10000;
  return s.jobs(q).jobs.size();
}

// Runs the real binary with `args`; its exit code, stdout+stderr in `out`.
int run_cli(const std::vector<std::string>& args, std::string& out, const fs::path& log) {
  std::vector<std::string> all = {REELBATCH_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, REELBATCH_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -2000;
  int status = 0;
  ::waitpid(pid, &status, 0);
  out = read_file(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

fs::path write_cli_config(const fs::path& dir, const fs::path& db) {
  const fs::path p = dir / "reelbatch.toml";
  write_file(p, "[storage]\npath = \"" + db.string() + "\"\n[output]\ndir = \"" + (dir / "out").string() +
                    "\"\n[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"http://127.0.0.1:9/juhuo\"\n"
                    "api_key_env = \"REELBATCH_BACKUP_TEST_KEY\"\n");
  return p;
}

TEST(Backup, CopiesEveryPageAndTheCopyOpens) {
  TempDir dir;
  const fs::path db = dir.path / "state.db", copy = dir.path / "copy.db";
  make_db(db, 50);
  const auto r = backup_database(db, copy, false);
  EXPECT_GT(r.pages, 0);
  EXPECT_EQ(r.bytes, static_cast<std::uintmax_t>(r.pages) * static_cast<std::uintmax_t>(r.page_size));
  EXPECT_EQ(fs::file_size(copy), r.bytes);
  EXPECT_FALSE(fs::exists(dir.path / "copy.db.tmp"));
  EXPECT_EQ(job_count(copy), 50u);
}

TEST(Backup, RefusesToOverwriteWithoutForceAndToCopyOntoItself) {
  TempDir dir;
  const fs::path db = dir.path / "state.db", copy = dir.path / "copy.db";
  make_db(db, 3);
  write_file(copy, "precious");
  try {
    backup_database(db, copy, false);
    ADD_FAILURE() << "no refusal";
  } catch (const BackupError& e) {
    EXPECT_TRUE(e.refused());
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(copy), "precious");
  EXPECT_THROW(backup_database(db, db, true), BackupError);
  backup_database(db, copy, true);
  EXPECT_EQ(job_count(copy), 3u);
}

// Online: a second connection keeps committing while the copy is taken. The
// copy is a consistent snapshot: it opens, passes the quick check, and holds
// a whole number of the writer's batches (10 rows per transaction).
TEST(Backup, ConsistentWhileAnotherConnectionWrites) {
  TempDir dir;
  const fs::path db = dir.path / "state.db";
  make_db(db, 10);
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0};
  std::thread writer([&] {
    SqliteJobStore s(db);
    const auto b = s.ensure_batch("m", "/m.csv", "/out/m");
    for (int k = 0; !stop; ++k) {
      std::vector<IngestRow> rows;
      for (int i = 0; i < 10; ++i) rows.push_back(row("w" + std::to_string(k) + "-" + std::to_string(i)));
      s.ingest(b.id, rows);
      ++batches;
    }
  });
  while (batches < 5) std::this_thread::yield();
  std::vector<std::size_t> counts;
  for (int i = 0; i < 5; ++i) {
    const fs::path copy = dir.path / ("copy" + std::to_string(i) + ".db");
    backup_database(db, copy, false);
    counts.push_back(job_count(copy));
  }
  stop = true;
  writer.join();
  for (const auto n : counts) EXPECT_EQ(n % 10, 0u) << n;
  EXPECT_GE(counts.back(), 60u);
}

TEST(Backup, CliPrintsBytesAndPagesAndRefusesAnExistingFile) {
  TempDir dir;
  const fs::path db = dir.path / "state.db";
  make_db(db, 5);
  const fs::path config = write_cli_config(dir.path, db);
  std::string out;
  EXPECT_EQ(run_cli({"backup", (dir.path / "b.db").string(), "-c", config.string()}, out, dir.path / "log"), 0)
      << out;
  EXPECT_NE(out.find(" bytes, "), std::string::npos) << out;
  EXPECT_NE(out.find(" pages of "), std::string::npos) << out;
  EXPECT_EQ(job_count(dir.path / "b.db"), 5u);
  EXPECT_EQ(run_cli({"backup", (dir.path / "b.db").string(), "-c", config.string()}, out, dir.path / "log"), 2)
      << out;
  EXPECT_NE(out.find("--force"), std::string::npos) << out;
  EXPECT_EQ(run_cli({"backup", (dir.path / "b.db").string(), "--force", "-c", config.string()}, out,
                    dir.path / "log"),
            0)
      << out;
}

// Overwrites page `page` (1-based) of `path` with garbage.
void damage_page(const fs::path& path, int page, int page_size) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good());
  f.seekp(static_cast<std::streamoff>(page - 1) * page_size);
  const std::string garbage(static_cast<std::size_t>(page_size), '\x5a');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

// A copy of a database with damaged b-tree pages: opening it throws
// DatabaseCorrupt naming the file, the problems and `reelbatch backup`; the
// CLI stops with exit code 2 and the same message.
TEST(QuickCheck, ADamagedDatabaseStopsTheProgramWithExit2) {
  TempDir dir;
  const fs::path db = dir.path / "state.db";
  make_db(db, 200);
  int page_size = 0, pages = 0;
  {
    SQLite::Database raw(db.string());
    page_size = raw.execAndGet("PRAGMA page_size").getInt();
    pages = raw.execAndGet("PRAGMA page_count").getInt();
  }
  ASSERT_GT(pages, 4);
  const fs::path bad = dir.path / "damaged.db";
  fs::copy_file(db, bad);
  for (int p = 2; p <= pages; p += 2) damage_page(bad, p, page_size);

  EXPECT_NO_THROW(SqliteJobStore{db});  // the original is fine
  try {
    SqliteJobStore s(bad);
    ADD_FAILURE() << "opened a damaged database";
  } catch (const DatabaseCorrupt& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(bad.string()), std::string::npos) << m;
    EXPECT_NE(m.find("reelbatch backup"), std::string::npos) << m;
  }

  const fs::path config = write_cli_config(dir.path, bad);
  std::string out;
  EXPECT_EQ(run_cli({"status", "-c", config.string()}, out, dir.path / "log"), 2) << out;
  EXPECT_NE(out.find("is damaged"), std::string::npos) << out;
  EXPECT_NE(out.find(bad.string()), std::string::npos) << out;
}

}  // namespace
}  // namespace reelbatch
