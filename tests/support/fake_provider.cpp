#include "tests/support/fake_provider.hpp"

#include "src/core/sha256.hpp"

#include <boost/asio/detached.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <system_error>

namespace reelbatch::test {
namespace asio = boost::asio;
using asio::awaitable;

// ---- answers ----------------------------------------------------------------------

SubmitAnswer SubmitAnswer::ok(std::string task_id) {
  SubmitAnswer a;
  a.task_id = std::move(task_id);
  return a;
}

SubmitAnswer SubmitAnswer::error(ErrorClass cls, std::string code, std::string message,
                                 std::optional<std::chrono::milliseconds> retry_after, int http_status) {
  SubmitAnswer a;
  a.accepted = false;
  a.err = ProviderError{cls, "", http_status, std::move(code), std::move(message), retry_after};
  return a;
}

SubmitAnswer SubmitAnswer::lost(bool creates_task) {
  SubmitAnswer a = error(ErrorClass::unknown_outcome, "timeout", "no response after the request was sent");
  a.creates_task = creates_task;
  return a;
}

QueryAnswer QueryAnswer::queued() {
  QueryAnswer a;
  a.state = RemoteState::queued;
  a.native_state = "queued";
  return a;
}

QueryAnswer QueryAnswer::running(std::string native) {
  QueryAnswer a;
  a.state = RemoteState::running;
  a.native_state = std::move(native);
  return a;
}

QueryAnswer QueryAnswer::succeeded(std::optional<double> cost) {
  QueryAnswer a;
  a.state = RemoteState::succeeded;
  a.native_state = "success";
  a.cost = cost;
  return a;
}

QueryAnswer QueryAnswer::failed(std::string code, std::string message) {
  QueryAnswer a;
  a.state = RemoteState::failed;
  a.native_state = "fail";
  a.error_code = std::move(code);
  a.error_message = std::move(message);
  return a;
}

QueryAnswer QueryAnswer::error(ErrorClass cls, std::string code, std::string message) {
  QueryAnswer a;
  a.err = ProviderError{cls, "", 500, std::move(code), std::move(message), std::nullopt};
  return a;
}

// ---- world ------------------------------------------------------------------------

std::vector<Call> FakeWorld::calls_of(const std::string& op) const {
  std::vector<Call> out;
  for (const auto& c : calls)
    if (c.op == op) out.push_back(c);
  return out;
}

std::vector<Call> FakeWorld::calls_of(const std::string& op, const std::string& arg) const {
  std::vector<Call> out;
  for (const auto& c : calls)
    if (c.op == op && c.arg == arg) out.push_back(c);
  return out;
}

void FakeWorld::log(std::string op, std::string arg, std::string task_id) {
  calls.push_back(Call{std::move(op), std::move(arg), std::move(task_id), clock_.now(), calls.size()});
}

std::string FakeWorld::create_task() {
  std::string id = "t" + std::to_string(next_task_++);
  return id;
}

void FakeWorld::task_finished(const std::string& id) {
  if (finished_.insert(id).second) --running_now;
}

ProviderFactory FakeWorld::factory() {
  return [this](const ProfileConfig& pc, HttpClient&) -> std::unique_ptr<Provider> {
    return std::make_unique<FakeProvider>(pc, *this);
  };
}

DownloadFn FakeWorld::download() {
  return [this](const std::string& url, const std::vector<std::pair<std::string, std::string>>&,
                const std::filesystem::path& path,
                std::chrono::milliseconds) -> awaitable<Result<DownloadedFile, DownloadError>> {
    downloads.push_back(DownloadCall{url, path, clock_.now()});
    if (!download_failures.empty()) {
      std::string failure = std::move(download_failures.front());
      download_failures.pop_front();
      if (!failure.empty()) co_return fail(DownloadError{500, false, failure});
    }
    const std::string body = "video of " + url;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << body;
    f.close();
    if (!f) throw std::system_error(std::make_error_code(std::errc::io_error), "cannot write " + path.string());
    co_return DownloadedFile{path, body.size(), sha256_hex(body), false};
  };
}

// ---- provider ---------------------------------------------------------------------

ProviderError FakeProvider::error_of(ProviderError e) const {
  e.provider = profile_.name;
  return e;
}

awaitable<ProviderResult<std::string>> FakeProvider::async_upload(const LocalAsset& asset) {
  w_.log("upload", asset.name);
  co_return "ref-" + asset.sha256.substr(0, 8);
}

awaitable<ProviderResult<std::string>> FakeProvider::async_submit(const SubmitRequest& req) {
  const std::size_t at = w_.calls.size();
  w_.log("submit", req.spec.id);
  if (w_.submit_latency > std::chrono::milliseconds::zero()) {
    auto t = w_.clock().make_timer();
    co_await t->async_wait_until(w_.clock().now() + w_.submit_latency);
  }
  SubmitAnswer a;
  if (!w_.submit_answers.empty()) {
    a = std::move(w_.submit_answers.front());
    w_.submit_answers.pop_front();
  }
  if (a.accepted || a.creates_task) {
    std::string id = a.task_id.empty() ? w_.create_task() : a.task_id;
    w_.calls[at].task_id = id;
    w_.created.push_back(id);
    if (!w_.task_scripts.contains(id)) w_.task_scripts[id] = w_.default_script;
    TaskStatus listed;
    listed.remote_id = id;
    listed.state = RemoteState::queued;
    listed.native_state = "queued";
    listed.created_at_ms = w_.clock().unix_ms();
    w_.task_list.insert(w_.task_list.begin(), listed);
    ++w_.running_now;
    w_.max_running = std::max(w_.max_running, w_.running_now);
    if (a.accepted) co_return id;
  }
  co_return fail(error_of(a.err));
}

awaitable<ProviderResult<TaskStatus>> FakeProvider::async_query(const std::string& remote_id) {
  w_.log("query", remote_id);
  auto it = w_.task_scripts.find(remote_id);
  if (it == w_.task_scripts.end() || it->second.empty())
    co_return fail(error_of(ProviderError{ErrorClass::permanent, "", 200, "4004", "task not found", std::nullopt}));
  QueryAnswer a = it->second.front();
  if (it->second.size() > 1) it->second.pop_front();
  if (!a.state) co_return fail(error_of(a.err));
  TaskStatus s;
  s.remote_id = remote_id;
  s.state = *a.state;
  s.native_state = a.native_state;
  s.error_code = a.error_code;
  s.error_message = a.error_message;
  if (s.state == RemoteState::succeeded) {
    s.video_url = "http://fake.invalid/v/" + remote_id + ".mp4";
    s.cover_url = "http://fake.invalid/c/" + remote_id + ".jpg";
    s.cost = a.cost;
  }
  if (s.state != RemoteState::queued && s.state != RemoteState::running) w_.task_finished(remote_id);
  co_return s;
}

awaitable<ProviderResult<TaskPage>> FakeProvider::async_list(int page, int page_size) {
  w_.log("list", std::to_string(page));
  TaskPage out;
  out.total = static_cast<std::int64_t>(w_.task_list.size());
  const std::size_t from = static_cast<std::size_t>(std::max(0, page - 1)) * static_cast<std::size_t>(page_size);
  for (std::size_t i = from; i < w_.task_list.size() && i < from + static_cast<std::size_t>(page_size); ++i)
    out.tasks.push_back(w_.task_list[i]);
  co_return out;
}

awaitable<ProviderResult<TaskStatus>> FakeProvider::async_cancel(const std::string& remote_id) {
  w_.log("cancel", remote_id);
  w_.cancel_log.push_back(remote_id);
  w_.task_finished(remote_id);
  QueryAnswer c;
  c.state = RemoteState::cancelled;
  c.native_state = "cancelled";
  w_.task_scripts[remote_id] = {c};
  TaskStatus s;
  s.remote_id = remote_id;
  s.state = RemoteState::cancelled;
  s.native_state = "cancelled";
  co_return s;
}

std::optional<DownloadTarget> FakeProvider::download_target(const TaskStatus& status, OutputKind kind) const {
  switch (kind) {
    case OutputKind::video:
      if (status.video_url.empty()) return std::nullopt;
      return DownloadTarget{status.video_url, {}};
    case OutputKind::cover:
      if (status.cover_url.empty()) return std::nullopt;
      return DownloadTarget{status.cover_url, {}};
    case OutputKind::last_frame:
      return std::nullopt;
  }
  return std::nullopt;
}

// ---- harness ----------------------------------------------------------------------

namespace {
std::atomic<int> dir_counter{0};
}  // namespace

EngineHarness::EngineHarness() {
  dir = std::filesystem::temp_directory_path() /
        ("reelbatch-engine-test-" + std::to_string(::getpid()) + "-" + std::to_string(dir_counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  cfg.source = dir / "reelbatch.toml";
  cfg.storage_path = ":memory:";
  cfg.output_dir = dir / "out";
  cfg.download_concurrency = 2;
  ProfileConfig p;
  p.name = "p";
  p.kind = "juhuo";
  p.base_url = "http://fake.invalid";
  p.api_key = "sk-test";
  p.max_in_flight = 4;
  p.submit_per_minute = 60;
  p.poll_per_minute = 6000;
  p.poll_first = std::chrono::seconds(5);
  p.poll_interval = std::chrono::seconds(5);
  p.poll_max_interval = std::chrono::seconds(10);
  p.request_timeout = std::chrono::seconds(30);
  p.max_attempts = 3;
  cfg.profiles.emplace("p", p);

  out_dir = cfg.output_dir / "b";
  batch_id = store.ensure_batch("b", (dir / "b.csv").string(), out_dir.string()).id;

  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(log_text);
  auto logger = std::make_shared<spdlog::logger>("engine-test", sink);
  logger->set_level(spdlog::level::debug);
  logger->set_pattern("%L %v");
  opts.log = logger;
  opts.seed = 42;
  opts.clock = &clock;
  opts.provider_factory = world.factory();
  opts.download = world.download();
  opts.batches = std::vector<std::int64_t>{batch_id};
  opts.owner = "enginetest:1:me";
}

EngineHarness::~EngineHarness() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void EngineHarness::TearDown() {
  if (engine && !run_done) {
    engine->stop();
    if (!run_until([&] { return run_done; }, std::chrono::hours(1))) {
      ADD_FAILURE() << "async_run did not return after stop()";
      // Coroutine frames still reference the engine: leak it rather than
      // destroy it under them.
      (void)engine.release();
    }
  }
  if (HasFailure() || std::getenv("ENGINE_TEST_LOG")) std::cerr << "---- engine log (" << log_text.str().size() << ") ----\n" << log_text.str() << "--------------------\n";
}

std::vector<std::int64_t> EngineHarness::add_rows(int n, const std::string& prefix) {
  std::vector<IngestRow> rows;
  for (int i = 1; i <= n; ++i) {
    IngestRow r;
    r.spec.id = prefix + std::to_string(i);
    r.spec.provider = "p";
    r.spec.prompt = "a paper boat on a river, take " + std::to_string(i);
    r.spec.duration_s = 5;
    r.content_hash = "hash-" + r.spec.id;
    r.file = (dir / "b.csv").string();
    r.line = i + 1;
    rows.push_back(std::move(r));
  }
  auto res = store.ingest(batch_id, rows);
  EXPECT_EQ(res.added, n);
  return res.job_ids;
}

void EngineHarness::start() {
  engine = std::make_unique<Engine>(cfg, store, http, opts);
  asio::co_spawn(io, engine->async_run(), [this](std::exception_ptr e) {
    run_done = true;
    run_error = e;
  });
  io.poll();
  if (io.stopped()) io.restart();
}

bool EngineHarness::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const SteadyTime end = clock.now() + limit;
  for (int i = 0; i < 1'000'000; ++i) {
    io.poll();
    if (io.stopped()) io.restart();
    if (done()) return true;
    if (clock.now() >= end) return false;
    if (!clock.advance_to_next()) {
      io.poll();
      if (io.stopped()) io.restart();
      return done();
    }
  }
  return false;
}

void EngineHarness::run_for(std::chrono::milliseconds d) {
  const SteadyTime end = clock.now() + d;
  run_until([&] { return clock.now() >= end; }, d + std::chrono::hours(1));
}

bool EngineHarness::stop_engine() {
  engine->stop();
  return run_until([&] { return run_done; }, std::chrono::minutes(10));
}

std::shared_ptr<bool> EngineHarness::drain() {
  auto flag = std::make_shared<bool>(false);
  asio::co_spawn(io, engine->async_drain({batch_id}), [flag](std::exception_ptr e) {
    if (e) ADD_FAILURE() << "async_drain threw";
    *flag = true;
  });
  return flag;
}

std::vector<std::int64_t> EngineHarness::run_rows(int n) {
  const auto ids = add_rows(n);
  start();
  const auto drained = drain();
  EXPECT_TRUE(run_until([&] { return *drained; })) << "the batch did not drain";
  return ids;
}

std::vector<std::string> EngineHarness::state_events(std::int64_t id) const {
  std::vector<std::string> out;
  for (const auto& e : store.events(id)) {
    if (e.kind != "state") continue;
    auto it = e.detail.find("event");
    out.push_back(it == e.detail.end() ? std::string("?") : std::string(it->value().as_string()));
  }
  return out;
}

std::vector<EventRecord> EngineHarness::events_of(std::int64_t id, const std::string& kind) const {
  std::vector<EventRecord> out;
  for (auto& e : store.events(id))
    if (e.kind == kind) out.push_back(std::move(e));
  return out;
}

bool EngineHarness::all_in(const std::vector<std::int64_t>& ids, JobState s) const {
  for (auto id : ids)
    if (store.job(id)->state != s) return false;
  return true;
}

}  // namespace reelbatch::test
