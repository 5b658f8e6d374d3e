// Issue 9, items 4-5: results records (every row, rejected rows included),
// results.csv read back with the project's own CSV parser, ffprobe's report
// and mismatches, the coalescing results writer, and `reelbatch report`'s
// figures on a fixed fixture database. Real files in a temporary folder and
// a real SQLite store; no sockets, no sleeps.
#include "config/config.hpp"
#include "providers/registry.hpp"
#include "src/app/report.hpp"
#include "src/ingest/csv.hpp"
#include "src/ingest/ingest.hpp"
#include "src/output/probe.hpp"
#include "src/output/results.hpp"
#include "src/output/results_writer.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace reelbatch {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("reelbatch-results-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
    path = fs::canonical(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& rel, const std::string& content) const {
    const fs::path p = path / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json::object> jsonl(const fs::path& p) {
  std::vector<json::object> out;
  std::istringstream in(slurp(p));
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
  return out;
}

Config make_config(const TempDir& dir) {
  const std::string text =
      "[storage]\npath = \"db/reelbatch.db\"\n[output]\ndir = \"out\"\n"
      "[providers.juhuo]\nkind = \"juhuo\"\nbase_url = \"https://api.juhuo.cn\"\napi_key_env = \"K\"\n"
      "[providers.sd]\nkind = \"seedance2\"\nbase_url = \"https://seedance2.example\"\napi_key_env = \"K\"\n";
  Config cfg = parse_config(text, dir.path / "reelbatch.toml", [](const std::string&) -> std::optional<std::string> {
    return std::string("sk-test");
  });
  fs::create_directories(cfg.storage_path.parent_path());
  return cfg;
}

// Moves job `id` to `to` through the store (CAS), with `edit` applied.
template <class F>
void move_job(JobStore& store, std::int64_t id, JobState to, F edit) {
  auto j = *store.job(id);
  const JobState from = j.state;
  j.state = to;
  edit(j);
  EventRecord e;
  e.kind = "state";
  ASSERT_TRUE(store.try_transition(j, from, e));
}

TEST(ResultsFiles, OneRecordPerRowIncludingRejectedAndCancelledAndCsvReadsBack) {
  TempDir dir;
  const Config cfg = make_config(dir);
  // Row c is too long for juhuo (duration 99), row e names no profile; the
  // prompt of row b holds a comma, quotes and a line break (it spans lines
  // 3-4, so c is on line 5).
  const auto manifest = dir.write(
      "m.csv",
      "id,provider,prompt,duration,resolution\n"
      "a,juhuo,a fox,5,720p\n"
      "b,sd,\"quote \"\"this\"\", comma\nand a new line\",5,720p\n"
      "c,juhuo,too long,99,720p\n"
      "d,juhuo,a cat,5,720p\n"
      "e,nobody,an owl,5,720p\n");
  SqliteJobStore store(cfg.storage_path);
  const auto report = ingest_manifests(cfg, store, {manifest});
  ASSERT_EQ(report.rejected, 2);
  ASSERT_EQ(report.added, 3);
  const auto batch = *store.batch(report.batch_ids.at(0));

  // The rejected rows are in the store, with their line, id and profile.
  const auto rejected = store.rejected_rows(batch.id);
  ASSERT_GE(rejected.size(), 2u);
  EXPECT_EQ(rejected.front().line, 5);
  EXPECT_EQ(rejected.front().key, "c");
  EXPECT_EQ(rejected.front().profile, "juhuo");
  EXPECT_TRUE(std::any_of(rejected.begin(), rejected.end(),
                          [](const RejectedRow& r) { return r.line == 5 && r.field == "duration"; }));
  EXPECT_EQ(rejected.back().line, 7);
  EXPECT_EQ(rejected.back().field, "provider");

  // Re-ingesting the same manifest adds no second copy of its rejections.
  ingest_manifests(cfg, store, {manifest});
  EXPECT_EQ(store.rejected_rows(batch.id).size(), rejected.size());

  // a succeeded (with a cost), b failed, d cancelled.
  const auto a = *store.find_job("a"), b = *store.find_job("b"), d = *store.find_job("d");
  const fs::path video = fs::path(batch.out_dir) / "a.mp4";
  dir.write(fs::relative(video, dir.path).string(), "not really a video");
  move_job(store, a.id, JobState::succeeded, [&](JobRecord& j) {
    j.cost = 12.5;
    j.remote_id = "task-a";
    j.output_path = video.string();
    j.bytes = 18;
    j.sha256 = std::string(64, 'a');
  });
  move_job(store, b.id, JobState::failed, [](JobRecord& j) {
    j.error_code = "content_policy";
    j.error_message = "juhuo: HTTP 400 code 1301: unsafe";
  });
  move_job(store, d.id, JobState::cancelled, [](JobRecord&) {});

  ResultsContext ctx = results_context(cfg);
  ctx.probe = false;
  write_results_files(store, batch.id, ctx);

  const auto records = jsonl(fs::path(batch.out_dir) / "results.jsonl");
  ASSERT_EQ(records.size(), 5u);  // 3 jobs + 2 rejected rows
  std::map<std::string, json::object> by_source;
  for (const auto& r : records) by_source[std::string(r.at("source").as_string())] = r;
  const std::string m = manifest.string();
  const auto& ra = by_source.at(m + ":2");
  EXPECT_EQ(ra.at("id"), "a");
  EXPECT_EQ(ra.at("state"), "succeeded");
  EXPECT_EQ(ra.at("profile"), "juhuo");
  EXPECT_EQ(ra.at("kind"), "juhuo");
  EXPECT_EQ(ra.at("prompt"), "a fox");
  EXPECT_EQ(ra.at("cost").as_double(), 12.5);
  EXPECT_EQ(ra.at("cost_unit"), "juhuo credits");
  EXPECT_EQ(ra.at("cost_source"), "reported");
  EXPECT_EQ(ra.at("remote_task_id"), "task-a");
  EXPECT_EQ(ra.at("video"), json::value(video.string()));
  EXPECT_EQ(ra.at("bytes").as_int64(), 18);
  EXPECT_EQ(ra.at("parameters").as_object().at("duration"), 5);
  EXPECT_FALSE(ra.at("parameters").as_object().contains("prompt"));
  EXPECT_TRUE(ra.at("ingested_at").is_string());
  EXPECT_TRUE(ra.at("downloaded_at").is_string());
  EXPECT_EQ(by_source.at(m + ":3").at("state"), "failed");
  EXPECT_EQ(by_source.at(m + ":3").at("error_code"), "content_policy");
  EXPECT_EQ(by_source.at(m + ":3").at("cost_unit"), "seedance2 credits");
  EXPECT_EQ(by_source.at(m + ":6").at("state"), "cancelled");
  const auto& rc = by_source.at(m + ":5");
  EXPECT_EQ(rc.at("state"), "rejected");
  EXPECT_EQ(rc.at("id"), "c");
  EXPECT_NE(std::string(rc.at("error_message").as_string()).find("duration: "), std::string::npos);
  EXPECT_EQ(by_source.at(m + ":7").at("state"), "rejected");

  // The CSV: a header of result_columns(), then the same records.
  const auto doc = parse_csv(slurp(fs::path(batch.out_dir) / "results.csv"));
  EXPECT_TRUE(doc.errors.empty());
  ASSERT_EQ(doc.records.size(), 6u);
  EXPECT_EQ(doc.records[0].fields, result_columns());
  const auto& cols = result_columns();
  const auto col = [&](const char* name) {
    return static_cast<std::size_t>(std::find(cols.begin(), cols.end(), name) - cols.begin());
  };
  for (std::size_t i = 1; i < doc.records.size(); ++i) {
    const auto& f = doc.records[i].fields;
    ASSERT_EQ(f.size(), cols.size());
    const auto& r = by_source.at(f[col("source")]);
    EXPECT_EQ(f[col("state")], r.at("state").as_string());
    EXPECT_EQ(f[col("prompt")], r.at("prompt").is_string() ? std::string(r.at("prompt").as_string()) : "");
    if (r.at("parameters").is_object()) {
      EXPECT_EQ(json::parse(f[col("parameters")]), r.at("parameters"));
    }
  }
  EXPECT_EQ(by_source.at(m + ":3").at("prompt"), "quote \"this\", comma\nand a new line");

  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(batch.out_dir))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(ResultsFiles, TimestampsAndFiguresComeFromTheEvents) {
  JobRecord j;
  j.id = 7;
  j.key = "k";
  j.file = "m.csv";
  j.line = 2;
  j.spec.provider = "juhuo";
  j.spec.prompt = "p";
  j.spec.duration_s = 5;
  j.state = JobState::succeeded;
  j.created_at_ms = 1'000'000;
  j.url_expires_at_ms = 1'000'000 + 7 * 86'400'000LL;
  auto ev = [&](std::int64_t ts, const char* kind, JobState from, JobState to, json::object detail = {}) {
    EventRecord e;
    e.job_id = 7;
    e.ts_ms = ts;
    e.kind = kind;
    e.from_state = from;
    e.to_state = to;
    e.detail = std::move(detail);
    return e;
  };
  std::vector<EventRecord> events{
      ev(1'000'000, "ingest", JobState::pending, JobState::pending),
      ev(1'001'000, "state", JobState::pending, JobState::submitting),
      ev(1'002'000, "state", JobState::submitting, JobState::running),
      ev(1'003'000, "remote_state", JobState::running, JobState::running, {{"state", "queued"}, {"normalized", "queued"}}),
      ev(1'010'000, "remote_state", JobState::running, JobState::running,
         {{"state", "processing"}, {"normalized", "running"}}),
      ev(1'070'000, "state", JobState::running, JobState::downloading),
      ev(1'080'000, "state", JobState::downloading, JobState::succeeded),
  };
  VideoProbe probe{2.0, 1280, 720, "h264", ""};
  const auto r = make_result_record(j, BatchRecord{1, "b", "", "", 0}, ResultsContext{}, events, 1, "/o/k.cover.jpg",
                                    "", probe);
  EXPECT_EQ(r.at("submitted_at"), "1970-01-01T00:16:41.000Z");
  EXPECT_EQ(r.at("generation_started_at"), "1970-01-01T00:16:50.000Z");
  EXPECT_EQ(r.at("generation_finished_at"), "1970-01-01T00:17:50.000Z");
  EXPECT_EQ(r.at("downloaded_at"), "1970-01-01T00:18:00.000Z");
  EXPECT_DOUBLE_EQ(r.at("generation_s").as_double(), 60.0);
  EXPECT_DOUBLE_EQ(r.at("download_slack_s").as_double(), 7 * 86400.0 - 80.0);
  EXPECT_EQ(r.at("cover"), "/o/k.cover.jpg");
  EXPECT_TRUE(r.at("last_frame").is_null());
  EXPECT_EQ(r.at("attempts"), 1);
  EXPECT_EQ(r.at("video_width"), 1280);
  EXPECT_EQ(r.at("mismatch"), "duration 2.0 s, asked 5 s");
  EXPECT_EQ(r.size(), result_columns().size());
}

TEST(ResultsFiles, CsvFieldQuotesPerRfc4180) {
  EXPECT_EQ(csv_field(json::value("plain")), "plain");
  EXPECT_EQ(csv_field(json::value("a,b")), "\"a,b\"");
  EXPECT_EQ(csv_field(json::value("say \"hi\"")), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field(json::value("two\r\nlines")), "\"two\r\nlines\"");
  EXPECT_EQ(csv_field(json::value(nullptr)), "");
  EXPECT_EQ(csv_field(json::value(2.5)), "2.5");
  EXPECT_EQ(csv_field(json::value(json::object{{"a", 1}, {"b", 2}})), "\"{\"\"a\"\":1,\"\"b\"\":2}\"");
}

TEST(Probe, ParsesFfprobeAndFlagsMismatches) {
  const auto p = parse_ffprobe_json(R"({"streams":[
      {"index":0,"codec_name":"h264","codec_type":"video","width":1280,"height":720,"duration":"5.000000"},
      {"index":1,"codec_name":"aac","codec_type":"audio"}],
    "format":{"duration":"5.005000","format_name":"mov,mp4"}})");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->duration_s, 5.005);
  EXPECT_EQ(p->width, 1280);
  EXPECT_EQ(p->height, 720);
  EXPECT_EQ(p->video_codec, "h264");
  EXPECT_EQ(p->audio_codec, "aac");
  EXPECT_FALSE(parse_ffprobe_json("not json"));
  EXPECT_FALSE(parse_ffprobe_json("{}"));

  JobSpec spec;
  spec.duration_s = 5;
  spec.resolution = "720p";
  EXPECT_EQ(probe_mismatch(*p, spec), "");
  spec.duration_s = 10;
  spec.resolution = "1080p";
  EXPECT_EQ(probe_mismatch(*p, spec), "duration 5.0 s, asked 10 s; resolution 1280x720, asked 1080p");
  spec.duration_s = 6;  // within 1 s
  spec.resolution = "720x1280";  // the same size, portrait or landscape
  EXPECT_EQ(probe_mismatch(*p, spec), "");
  spec.resolution = "high";  // not a size: not compared
  EXPECT_EQ(probe_mismatch(*p, spec), "");

  const auto back = video_probe_from_json(to_json(*p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->width, 1280);
  EXPECT_EQ(back->audio_codec, "aac");
}

// The emulator's sample video, probed for real where ffprobe is installed
// (.ci/deps installs ffmpeg).
TEST(Probe, ProbesTheEmulatorsSampleVideo) {
  if (!find_ffprobe()) GTEST_SKIP() << "ffprobe is not installed";
  const fs::path sample = fs::path(REELBATCH_SOURCE_DIR) / "providers" / "emulator" / "assets" / "sample.mp4";
  const auto r = probe_video(sample, std::chrono::seconds(20));
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->probe) << r->error;
  EXPECT_NEAR(r->probe->duration_s, 2.0, 0.2);
  EXPECT_GT(r->probe->width, 0);
  EXPECT_EQ(r->probe->video_codec, "h264");
  const auto bad = probe_video(fs::path(REELBATCH_SOURCE_DIR) / "README.md", std::chrono::seconds(20));
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->probe);
  EXPECT_FALSE(bad->error.empty());
}

TEST(ResultsWriter, CoalescesAndFlushes) {
  TempDir dir;
  const Config cfg = make_config(dir);
  const auto manifest = dir.write("m.csv", "id,provider,prompt,duration\na,juhuo,a fox,5\nb,juhuo,x,99\n");
  {
    SqliteJobStore store(cfg.storage_path);
    ingest_manifests(cfg, store, {manifest});
  }
  ResultsContext ctx = results_context(cfg);
  ctx.probe = false;
  ResultsWriter writer([&] { return std::make_unique<SqliteJobStore>(cfg.storage_path); }, ctx,
                       std::chrono::hours(1));
  // Many marks before the first write: one rewrite; the interval (an hour)
  // holds later marks back until flush().
  for (int i = 0; i < 100; ++i) writer.mark_dirty(1);
  writer.flush();
  EXPECT_EQ(writer.rewrites(), 1u);
  const fs::path results = dir.path / "out" / "m" / "results.jsonl";
  EXPECT_EQ(jsonl(results).size(), 2u);
  {
    SqliteJobStore store(cfg.storage_path);
    move_job(store, store.find_job("a")->id, JobState::cancelled, [](JobRecord&) {});
  }
  for (int i = 0; i < 100; ++i) writer.mark_dirty(1);
  EXPECT_EQ(writer.rewrites(), 1u);  // held back by the interval
  writer.flush();
  EXPECT_EQ(writer.rewrites(), 2u);
  EXPECT_EQ(jsonl(results).front().at("state"), "cancelled");
}

TEST(ResultsFiles, MigratesAVersionFourDatabase) {
  TempDir dir;
  const fs::path file = dir.path / "v4.db";
  { SqliteJobStore s(file); }
  {  // as schema 4 left it: before poll_times (5), rejected_rows (6) and the credit ledger (7)
    SQLite::Database raw(file.string(), SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE credit_ledger");
    raw.exec("ALTER TABLE batches DROP COLUMN max_credits");
    raw.exec("DROP TABLE rejected_rows");
    raw.exec("DROP TABLE poll_times");
    raw.exec("PRAGMA user_version = 4");
  }
  SqliteJobStore s(file);
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  const auto b = s.ensure_batch("m", "/m.csv", "/out/m");
  s.replace_rejected_rows(b.id, "/m.csv", {RejectedRow{"", 3, "k", "juhuo", "duration", "too long"}});
  const auto rows = s.rejected_rows(b.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].source, "/m.csv");
  EXPECT_EQ(rows[0].message, "too long");
  s.replace_rejected_rows(b.id, "/m.csv", {});
  EXPECT_TRUE(s.rejected_rows(b.id).empty());
}

// ---- report ------------------------------------------------------------------

TEST(Report, PercentileIsNearestRank) {
  EXPECT_FALSE(percentile({}, 50));
  EXPECT_EQ(percentile({3}, 95), 3);
  EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 50), 3);
  EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 95), 5);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 95), 95);
}

TEST(Report, ParsesDates) {
  EXPECT_EQ(parse_report_date("1970-01-02"), 86'400'000);
  EXPECT_EQ(parse_report_date("1970-01-01T01:00:00Z"), 3'600'000);
  EXPECT_FALSE(parse_report_date("2026-02-31"));
  EXPECT_FALSE(parse_report_date("yesterday"));
}

// A fixed fixture database: two profiles with different credit units, known
// costs, states and event times written directly, then the report's
// figures checked against them.
TEST(Report, FiguresOnAFixedFixtureDatabase) {
  TempDir dir;
  const Config cfg = make_config(dir);
  std::string csv = "id,provider,prompt,duration\n";
  for (int i = 0; i < 6; ++i) csv += "j" + std::to_string(i) + ",juhuo,p" + std::to_string(i) + ",5\n";
  for (int i = 0; i < 4; ++i) csv += "s" + std::to_string(i) + ",sd,q" + std::to_string(i) + ",5\n";
  const auto manifest = dir.write("m.csv", csv);
  std::int64_t batch_id = 0;
  {
    SqliteJobStore store(cfg.storage_path);
    const auto rep = ingest_manifests(cfg, store, {manifest});
    ASSERT_EQ(rep.added, 10) << (rep.errors.empty() ? "" : rep.errors.front());
    batch_id = rep.batch_ids.at(0);
  }
  {
    SQLite::Database db(cfg.storage_path.string(), SQLite::OPEN_READWRITE);
    const std::int64_t day1 = 1'764'633'600'000;  // 2025-12-02T00:00:00Z
    const std::int64_t day2 = day1 + 86'400'000;
    // key, state, cost, ingested, submitted, started, finished, downloaded, url expiry (s after downloaded)
    struct Fix {
      const char* key;
      const char* state;
      double cost;
      std::int64_t ingested;
      int gen_s;      // finished - started
      int slack_s;    // expiry - downloaded
    };
    const Fix fx[] = {
        {"j0", "succeeded", 10, day1, 60, 3600},  {"j1", "succeeded", 10, day1, 120, 7200},
        {"j2", "succeeded", 20, day1, 30, 1800},  {"j3", "failed", -1, day2, 0, 0},
        {"j4", "cancelled", -1, day2, 0, 0},      {"j5", "pending", -1, day2, 0, 0},
        {"s0", "succeeded", 7.2, day2, 90, 600},  {"s1", "succeeded", 7.2, day2, 100, 300},
        {"s2", "expired", 7.2, day2, 80, 0},      {"s3", "running", -1, day2, 0, 0},
    };
    for (const auto& f : fx) {
      SQLite::Statement id(db, "SELECT id FROM jobs WHERE key = ?");
      id.bind(1, f.key);
      ASSERT_TRUE(id.executeStep());
      const std::int64_t job = id.getColumn(0).getInt64();
      const std::int64_t submitted = f.ingested + 10'000, started = submitted + 5'000;
      const std::int64_t finished = started + f.gen_s * 1000LL, downloaded = finished + 2'000;
      SQLite::Statement up(db, "UPDATE jobs SET state = ?, cost = ?, created_at_ms = ?, url_expires_at_ms = ? WHERE id = ?");
      up.bind(1, f.state);
      if (f.cost >= 0) up.bind(2, f.cost);
      else up.bind(2);
      up.bind(3, f.ingested);
      up.bind(4, static_cast<std::int64_t>(f.slack_s ? downloaded + f.slack_s * 1000LL : 0));
      up.bind(5, job);
      up.exec();
      SQLite::Statement model(db, "UPDATE jobs SET spec_json = json_set(spec_json, '$.model', ?) WHERE id = ?");
      model.bind(1, f.key[0] == 'j' ? "m1" : "m2");
      model.bind(2, job);
      model.exec();
      if (f.gen_s == 0) continue;
      auto event = [&](std::int64_t ts, const char* kind, const char* from, const char* to, const char* detail) {
        SQLite::Statement ins(db, "INSERT INTO events(ts_ms, job_id, kind, from_state, to_state, detail) "
                                  "VALUES (?,?,?,?,?,?)");
        ins.bind(1, ts);
        ins.bind(2, job);
        ins.bind(3, kind);
        ins.bind(4, from);
        ins.bind(5, to);
        ins.bind(6, detail);
        ins.exec();
      };
      event(submitted, "state", "pending", "submitting", "{}");
      event(submitted + 500, "state", "submitting", "running", "{}");
      event(started, "remote_state", "running", "running", R"({"state":"processing","normalized":"running"})");
      event(finished, "state", "running", "downloading", "{}");
      if (f.slack_s) event(downloaded, "state", "downloading", "succeeded", "{}");
    }
  }
  SqliteJobStore store(cfg.storage_path);
  const auto ctx = results_context(cfg);
  const auto rows = collect_report_rows(store, ReportFilter{std::nullopt, {batch_id}}, ctx);
  ASSERT_EQ(rows.size(), 10u);

  const auto by_profile = aggregate_report(rows, ReportGroupBy::profile);
  ASSERT_EQ(by_profile.size(), 3u);  // juhuo, sd, (all)
  const auto& j = by_profile[0];
  EXPECT_EQ(j.key, "juhuo");
  EXPECT_EQ(j.rows, 6);
  EXPECT_EQ(j.succeeded, 3);
  EXPECT_EQ(j.failed, 1);
  EXPECT_EQ(j.cancelled, 1);
  EXPECT_EQ(j.unfinished, 1);
  EXPECT_DOUBLE_EQ(*j.success_rate, 3.0 / 5.0);
  EXPECT_EQ(j.spend, (SpendByUnit{{"juhuo credits", 40}}));
  EXPECT_DOUBLE_EQ(j.spend_per_success.at("juhuo credits"), 40.0 / 3.0);
  EXPECT_DOUBLE_EQ(*j.generation_p50_s, 60);
  EXPECT_DOUBLE_EQ(*j.generation_p95_s, 120);
  EXPECT_DOUBLE_EQ(*j.slack_p50_s, 3600);
  EXPECT_DOUBLE_EQ(*j.slack_p95_s, 7200);
  const auto& s = by_profile[1];
  EXPECT_EQ(s.key, "sd");
  EXPECT_EQ(s.succeeded, 2);
  EXPECT_EQ(s.failed, 1);  // expired: paid, never downloaded
  EXPECT_DOUBLE_EQ(*s.success_rate, 2.0 / 3.0);
  EXPECT_NEAR(s.spend.at("seedance2 credits"), 21.6, 1e-9);
  EXPECT_DOUBLE_EQ(*s.generation_p50_s, 90);
  EXPECT_DOUBLE_EQ(*s.generation_p95_s, 100);
  EXPECT_DOUBLE_EQ(*s.slack_p50_s, 300);
  const auto& all = by_profile[2];
  EXPECT_EQ(all.key, "(all)");
  EXPECT_EQ(all.rows, 10);
  ASSERT_EQ(all.spend.size(), 2u);  // two units, never one sum
  EXPECT_DOUBLE_EQ(all.spend.at("juhuo credits"), 40);
  // Per clip of the unit's own profiles: 40 / 3 juhuo clips, 21.6 / 2 seedance2 clips.
  EXPECT_DOUBLE_EQ(all.spend_per_success.at("juhuo credits"), 40.0 / 3.0);
  EXPECT_NEAR(all.spend_per_success.at("seedance2 credits"), 10.8, 1e-9);

  const auto by_day = aggregate_report(rows, ReportGroupBy::day);
  ASSERT_EQ(by_day.size(), 3u);
  EXPECT_EQ(by_day[0].key, "2025-12-02");
  EXPECT_EQ(by_day[0].rows, 3);
  EXPECT_EQ(by_day[1].key, "2025-12-03");
  EXPECT_EQ(by_day[1].rows, 7);
  const auto by_model = aggregate_report(rows, ReportGroupBy::model);
  EXPECT_EQ(by_model[0].key, "m1");
  EXPECT_EQ(by_model[1].key, "m2");

  // --since: only the second day.
  const auto since = collect_report_rows(store, ReportFilter{parse_report_date("2025-12-03"), {}}, ctx);
  EXPECT_EQ(since.size(), 7u);

  // The three formats carry the same figures.
  const auto text = format_report_text(by_profile, ReportGroupBy::profile);
  EXPECT_NE(text.find("40.00 juhuo credits"), std::string::npos) << text;
  EXPECT_NE(text.find("60.0%"), std::string::npos) << text;
  const auto js = report_json(by_profile, ReportGroupBy::profile);
  EXPECT_EQ(js.at("groups").as_array()[0].as_object().at("spend").as_object().at("juhuo credits").as_double(), 40);
  const auto doc = parse_csv(format_report_csv(by_profile, ReportGroupBy::profile));
  EXPECT_TRUE(doc.errors.empty());
  ASSERT_EQ(doc.records.size(), 1u + 1 + 1 + 2);  // header, juhuo, sd, (all) in two units
  EXPECT_EQ(doc.records[1].fields[0], "juhuo");
  EXPECT_EQ(doc.records[1].fields[7], "juhuo credits");
  EXPECT_EQ(doc.records[1].fields[8], "40");
}

}  // namespace
}  // namespace reelbatch
