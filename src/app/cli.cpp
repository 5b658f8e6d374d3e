#include "src/app/cli.hpp"

#include "config/config.hpp"
#include "providers/registry.hpp"
#include "providers/emulator/emulator.hpp"
#include "providers/provider.hpp"
#include "src/app/service.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/ingest/manifest.hpp"
#include "src/net/http_client.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <CLI/CLI.hpp>
#include <SQLiteCpp/Exception.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

namespace reelbatch {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// "pending 3  uploading 0  ...", every state in flow order; cancelled,
// held and expired only when some job is in them.
std::string format_counts(const std::map<JobState, int>& by_state) {
  std::string s;
  for (JobState state : kAllJobStates) {
    auto it = by_state.find(state);
    const int n = it == by_state.end() ? 0 : it->second;
    if (n == 0 && (state == JobState::cancelled || state == JobState::held || state == JobState::expired)) continue;
    if (!s.empty()) s += "  ";
    s += std::string(to_string(state)) + " " + std::to_string(n);
  }
  return s;
}

void setup_logging(int verbosity) {
  auto logger = spdlog::stderr_color_mt("reelbatch");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(verbosity > 0 ? spdlog::level::debug
                                  : verbosity < 0 ? spdlog::level::warn : spdlog::level::info);
}

// host:port or [v6]:port.
std::optional<std::pair<std::string, unsigned short>> parse_listen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = s.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    const int port = std::stoi(s.substr(colon + 1));
    if (port < 0 || port > 65535 || host.empty()) return std::nullopt;
    return std::pair{host, static_cast<unsigned short>(port)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Commands that only read the database need no API keys.
std::optional<std::string> env_not_required(const std::string& name) {
  if (auto v = process_env()(name)) return v;
  return std::string("(not needed)");
}

// Loads the config, printing the error; nullopt means exit with kExitUsage.
std::optional<Config> load_config_or_report(const std::string& path, const EnvLookup& env) {
  try {
    return load_config(path, env);
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return std::nullopt;
  }
}

struct RunArgs {
  std::vector<std::string> manifests;
  std::string config = "reelbatch.toml";
  std::string out;
};

// Runs `body` (given the engine) on a fresh io_context with an HttpClient and
// an Engine that is not running its loops: for one-shot control commands.
template <class F>
int with_engine(const Config& cfg, JobStore& store, F body) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  Engine engine(cfg, store, http);
  Service service(cfg, store, engine);
  int rc = kExitOk;
  std::exception_ptr error;
  asio::co_spawn(io, body(service, http), [&](std::exception_ptr e, int r) {
    error = e;
    rc = r;
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return rc;
}

int cmd_run(const RunArgs& args) {
  auto loaded = load_config_or_report(args.config, process_env());
  if (!loaded) return kExitUsage;
  Config& cfg = *loaded;
  if (!args.out.empty()) cfg.output_dir = fs::absolute(args.out).lexically_normal();

  SqliteJobStore store(cfg.storage_path);
  IngestReport report;
  try {
    std::vector<fs::path> paths(args.manifests.begin(), args.manifests.end());
    report = ingest_manifests(cfg, store, paths);
  } catch (const ManifestError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  for (const auto& e : report.errors) std::cerr << e << "\n";
  const int rejected = report.rejected;
  const auto batch_ids = report.batch_ids;

  asio::io_context io;
  HttpClient http(io.get_executor());
  EngineOptions eopts;
  eopts.batches = batch_ids;
  Engine engine(cfg, store, http, eopts);
  Service service(cfg, store, engine);

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  std::string last_line;
  auto last_print = started - std::chrono::hours(1);
  auto show_progress = [&] {
    const auto now = std::chrono::steady_clock::now();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    JobFilter f;
    f.batch_ids = batch_ids;
    std::string line = format_counts(store.count_by_state(f));
    for (const auto& lane : engine.snapshot().lanes) {
      if (lane.credits_spent > 0) line += fmt::format("  | {} {:.2f} credits", lane.profile, lane.credits_spent);
      if (!lane.pause_reason.empty()) line += "  | paused " + lane.profile + ": " + lane.pause_reason;
    }
    if (tty) {
      std::fprintf(stderr, "\r\033[K[%lld:%02lld] %s", static_cast<long long>(secs / 60),
                   static_cast<long long>(secs % 60), line.c_str());
      std::fflush(stderr);
    } else if (line != last_line && now - last_print >= std::chrono::seconds(5)) {
      std::fprintf(stderr, "[%llds] %s\n", static_cast<long long>(secs), line.c_str());
      last_line = line;
      last_print = now;
    }
  };

  bool interrupted = false;
  int signal_count = 0;
  std::exception_ptr error;
  asio::steady_timer ticker(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  // The run ends when the engine's loop returns (after stop()): then the
  // ticker and the signal wait go, and io.run() returns.
  asio::co_spawn(io, engine.async_run(), [&](std::exception_ptr e) {
    if (e) error = e;
    ticker.cancel();
    signals.cancel();
  });
  asio::co_spawn(io, engine.async_drain(batch_ids), [&](std::exception_ptr e) {
    if (e && !error) error = e;
    engine.stop();
  });
  std::function<void(const boost::system::error_code&)> tick = [&](const boost::system::error_code& ec) {
    if (ec) return;
    show_progress();
    ticker.expires_after(std::chrono::seconds(1));
    ticker.async_wait(tick);
  };
  tick({});
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (++signal_count == 1) {
          std::fprintf(stderr,
                       "\ninterrupted: stopping (Ctrl-C again to quit at once); run the same command again to "
                       "resume\n");
          interrupted = true;
          engine.stop();
          signals.async_wait(on_signal);
        } else {
          io.stop();
        }
      };
  signals.async_wait(on_signal);
  io.run();
  if (tty) std::fprintf(stderr, "\n");

  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return kExitFailed;
    }
  }
  if (signal_count > 1) return kExitInterrupted;

  const auto t = service.totals(batch_ids);
  std::cout << "summary: " << format_counts(t.counts);
  if (rejected > 0) std::cout << "  rejected " << rejected;
  std::cout << fmt::format("\ncredits spent: {:.2f}\n", t.credits);
  for (auto id : batch_ids) {
    auto b = store.batch(id);
    std::cout << "outputs: " << b->out_dir << " (results.jsonl)\n";
  }
  for (const auto& [profile, reason] : service.pauses())
    std::cout << "paused profile " << profile << ": " << reason << " (`reelbatch resume " << profile
              << "` once fixed)\n";
  for (const auto& j : t.problems)
    std::cout << "  " << to_string(j.state) << " " << j.key << " (" << j.file << ":" << j.line
              << "): " << j.error_message << "\n";
  if (t.problem_count > static_cast<int>(t.problems.size()))
    std::cout << "  ... (reelbatch status --jobs lists all)\n";
  if (interrupted) return kExitInterrupted;
  int settled_ok = 0, total = 0;
  for (const auto& [state, n] : t.counts) {
    total += n;
    if (state == JobState::succeeded) settled_ok += n;
  }
  const bool all_ok = rejected == 0 && settled_ok == total;
  return all_ok ? kExitOk : kExitFailed;
}

int cmd_status(const std::string& config_path, bool list_jobs) {
  const auto loaded = load_config_or_report(config_path, env_not_required);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  if (!fs::exists(cfg.storage_path)) {
    std::cout << "no database at " << cfg.storage_path.string() << " yet\n";
    return kExitOk;
  }
  SqliteJobStore store(cfg.storage_path);
  for (const auto& [profile, reason] : store.profile_pauses())
    std::cout << "profile " << profile << " paused: " << reason << "\n";
  for (const auto& b : store.batches()) {
    JobQuery q;
    q.filter.batch_ids = {b.id};
    std::cout << "batch " << b.id << " " << b.name << " (" << b.manifest_path << ") -> " << b.out_dir << "\n  "
              << format_counts(store.count_by_state(q.filter)) << "\n";
    if (!list_jobs) continue;
    for (;;) {
      const auto page = store.jobs(q);
      for (const auto& j : page.jobs) {
        std::cout << "    " << j.id << " " << j.key << " " << to_string(j.state);
        if (!j.remote_id.empty()) std::cout << " task=" << j.remote_id;
        if (!j.native_state.empty() && j.state == JobState::running) std::cout << " (" << j.native_state << ")";
        if (!j.output_path.empty()) std::cout << " " << j.output_path;
        if (!j.error_message.empty()) std::cout << " error: " << j.error_message;
        std::cout << "\n";
      }
      if (!page.next_after_seq) break;
      q.after_seq = *page.next_after_seq;
    }
  }
  return kExitOk;
}

// The one-shot control commands: each opens the store, builds an engine
// (not running its loops) and asks the service.
int cmd_control(const std::string& config_path, const EnvLookup& env,
                const std::function<asio::awaitable<int>(Service&, HttpClient&)>& body) {
  const auto loaded = load_config_or_report(config_path, env);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  SqliteJobStore store(cfg.storage_path);
  return with_engine(cfg, store, body);
}

int print_result(const ControlResult& r) {
  (r.ok ? std::cout : std::cerr) << (r.ok ? "" : "error: ") << r.message << "\n";
  return r.ok ? kExitOk : kExitUsage;
}

int cmd_resolve(const std::string& config_path, const std::string& job, bool resubmit) {
  return cmd_control(config_path, env_not_required, [&](Service& s, HttpClient&) -> asio::awaitable<int> {
    co_return print_result(co_await s.async_resolve(job, resubmit));
  });
}

int cmd_retry(const std::string& config_path, const std::string& job) {
  return cmd_control(config_path, env_not_required, [&](Service& s, HttpClient&) -> asio::awaitable<int> {
    const auto r = co_await s.async_retry(job);
    const int rc = print_result(r);
    if (r.ok) std::cout << "run `reelbatch run` on its manifest again (or let the daemon take it) to finish it\n";
    co_return rc;
  });
}

int cmd_pause(const std::string& config_path, const std::string& profile, bool pause) {
  return cmd_control(config_path, env_not_required, [&](Service& s, HttpClient&) -> asio::awaitable<int> {
    const bool ok = pause ? co_await s.async_pause(profile) : co_await s.async_resume(profile);
    if (!ok) {
      std::cerr << "error: no profile named " << profile << "\n";
      co_return kExitUsage;
    }
    std::cout << "profile " << profile << (pause ? " paused" : " resumed") << "\n";
    co_return kExitOk;
  });
}

int cmd_balance(const std::string& config_path) {
  return cmd_control(config_path, process_env(), [&](Service& s, HttpClient& http) -> asio::awaitable<int> {
    int rc = kExitOk;
    for (const auto& line : co_await s.async_balance(http)) {
      if (!line.supported) {
        std::cout << line.profile << ": " << line.error << "\n";
      } else if (!line.balance) {
        std::cout << line.profile << ": error: " << line.error << "\n";
        rc = kExitFailed;
      } else {
        std::cout << fmt::format("{}: {:.2f} credits left ({:.2f} used of {:.2f})\n", line.profile,
                                 line.balance->remain, line.balance->used, line.balance->total);
      }
    }
    co_return rc;
  });
}

// Cancels every unfinished job of TARGET (a job id or key, or a batch id or
// name): remotely where the provider can (seedance2), locally elsewhere.
int cmd_cancel(const std::string& config_path, const std::string& target) {
  return cmd_control(config_path, process_env(), [&](Service& s, HttpClient&) -> asio::awaitable<int> {
    if (s.resolve_target(target).empty()) {
      std::cerr << "error: no job or batch named " << target << "\n";
      co_return kExitUsage;
    }
    int rc = kExitOk;
    const auto results = co_await s.async_cancel(target);
    if (results.empty()) std::cout << "nothing to cancel: every job of " << target << " is finished\n";
    for (const auto& r : results) {
      std::cout << r.message << "\n";
      if (!r.ok) rc = kExitFailed;
    }
    co_return rc;
  });
}

// The emulator's fault options into opts.faults: the JSON file first, then
// each --fault spec (faults.hpp). Returns an error message, or "" when fine.
std::string emulator_fault_options(const std::vector<std::string>& specs, const std::string& file,
                                   emulator::Options& opts) {
  try {
    if (!file.empty()) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return "--faults-file: cannot read " + file;
      std::stringstream ss;
      ss << in.rdbuf();
      boost::system::error_code ec;
      const boost::json::value v = boost::json::parse(ss.str(), ec);
      if (ec) return "--faults-file " + file + ": not JSON: " + ec.message();
      opts.faults = emulator::fault_plan_from_json(v);
    }
    for (const auto& spec : specs) emulator::parse_fault_spec(spec, opts.faults);
  } catch (const std::exception& e) {
    return std::string("--fault: ") + e.what();
  }
  return {};
}

constexpr const char* kEmulatorFaultHelp = R"(
Faults (per provider, seeded by --seed; see providers/emulator/faults.hpp):
  --fault PROVIDER:KEY=VALUE[,KEY=VALUE...]   repeatable; PROVIDER is a module
      (juhuo, turing, vibegen, seedance2, openai) or * for every module without
      rules of its own. Rates in [0,1]:
        5xx            500/502/503, not processed          (API and downloads)
        429            429 + Retry-After, not processed     (API)
        reset_before   connection reset, not processed      (API and downloads)
        reset_after    processed, then reset: a submit's task EXISTS (API)
        malformed_json processed, body cut in half          (API)
        stall          headers, then no bytes for stall_s   (API and downloads)
        truncate       Content-Length > bytes sent, close   (downloads)
        html200        200 text/html error page             (downloads)
        never_finish   the task never finishes              (submits)
        expire_early   download URLs live early_ttl_s       (URLs)
        concurrency_429_id / concurrency_429_noid  seedance2: task created,
                       answer 429 CONCURRENCY_LIMIT_REACHED with/without task id
      Parameters (seconds): retry_after=1 stall_s=30 early_ttl_s=5 (not scaled);
        down=S down_at=S down_mode=503|drop  whole provider down (x time-scale)
        cdn_outage=S cdn_outage_at=S         downloads 503, API fine (x time-scale)
      e.g. --fault 'juhuo:5xx=0.1,429=0.05,reset_after=0.02' --fault 'seedance2:down=180'
  --faults-file FILE   the same as JSON: {"juhuo": {"5xx": 0.1, "down": 180}, "*": {...}}
  At run time: GET /_emulator/faults reads the plan and what was injected;
  POST /_emulator/faults with a JSON plan replaces it (outage clocks restart).
  --fault-rate R is a shorthand for '*:5xx=R/2,429=R/4,reset_after=R/4'.
)";

int cmd_emulator(const std::string& listen, const emulator::Options& opts) {
  auto hp = parse_listen(listen);
  if (!hp) {
    std::cerr << "error: --listen: expected HOST:PORT, got '" << listen << "'\n";
    return kExitUsage;
  }
  asio::io_context io;
  emulator::Emulator emu(io.get_executor(), opts);
  unsigned short port = 0;
  try {
    port = emu.listen(hp->first, hp->second);
  } catch (const std::exception& e) {
    std::cerr << "error: cannot listen on " << listen << ": " << e.what() << "\n";
    return kExitUsage;
  }
  const std::string host = hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
  std::printf("reelbatch emulator listening on http://%s:%u\n", host.c_str(), port);
  // Each provider's base_url: its document's base URL with the host replaced.
  for (const auto& k : provider_kinds())
    if (emu.serves(k.name))
      std::printf("  %-9s base_url = \"http://%s:%u%.*s\"\n", std::string(k.name).c_str(), host.c_str(), port,
                  static_cast<int>(k.emulator_base_path.size()), k.emulator_base_path.data());
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    emu.stop();
    io.stop();
  });
  io.run();
  return kExitOk;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"reelbatch: turn manifests of prompts into video files through video-generation APIs"};
  app.require_subcommand(1);
  int verbosity = 0;
  app.add_flag("-v,--verbose", [&](std::int64_t n) { verbosity += static_cast<int>(n); }, "more log output");
  app.add_flag("-q,--quiet", [&](std::int64_t) { verbosity = -1; }, "warnings and errors only");
  const char* env_config = std::getenv("REELBATCH_CONFIG");
  const std::string default_config = env_config && *env_config ? env_config : "reelbatch.toml";

  RunArgs run_args;
  run_args.config = default_config;
  auto* run = app.add_subcommand("run", "ingest manifests and run their rows to finished files");
  run->add_option("manifest", run_args.manifests, "CSV or JSONL manifest files")->required()->check(CLI::ExistingFile);
  run->add_option("-c,--config", run_args.config, "config file (default $REELBATCH_CONFIG or reelbatch.toml)");
  run->add_option("-o,--out", run_args.out, "output root folder (overrides [output] dir)");

  std::string status_config = default_config;
  bool status_jobs = false;
  auto* status = app.add_subcommand("status", "show batches and job states from the database");
  status->add_option("-c,--config", status_config, "config file");
  status->add_flag("-j,--jobs", status_jobs, "list every job");

  std::string resolve_config = default_config, resolve_job;
  bool resolve_resubmit = false, resolve_fail = false;
  auto* resolve = app.add_subcommand("resolve", "decide a held job whose submit outcome is unknown");
  resolve->add_option("job", resolve_job, "job id or idempotency key")->required();
  resolve->add_option("-c,--config", resolve_config, "config file");
  auto* g = resolve->add_option_group("decision");
  g->add_flag("--resubmit", resolve_resubmit, "submit it again (you checked the provider: no task exists)");
  g->add_flag("--fail", resolve_fail, "mark it failed");
  g->require_option(1);

  std::string retry_config = default_config, retry_job;
  auto* retry = app.add_subcommand(
      "retry", "run a failed or cancelled job again (a paid clip is downloaded again, never resubmitted)");
  retry->add_option("job", retry_job, "job id or idempotency key")->required();
  retry->add_option("-c,--config", retry_config, "config file");

  std::string pause_config = default_config, pause_profile;
  auto* pause = app.add_subcommand(
      "pause", "stop submitting to a profile (running tasks are still polled and downloaded)");
  pause->add_option("profile", pause_profile, "profile name")->required();
  pause->add_option("-c,--config", pause_config, "config file");
  std::string resume_config = default_config, resume_profile;
  auto* resume = app.add_subcommand(
      "resume", "lift a profile's pause (by the user, or after an auth or credit failure)");
  resume->add_option("profile", resume_profile, "profile name")->required();
  resume->add_option("-c,--config", resume_config, "config file");

  std::string balance_config = default_config;
  auto* balance = app.add_subcommand("balance", "show the credit balance of each profile whose API has one");
  balance->add_option("-c,--config", balance_config, "config file");

  std::string cancel_config = default_config, cancel_target;
  auto* cancel = app.add_subcommand("cancel", "cancel a job or every unfinished job of a batch");
  cancel->add_option("target", cancel_target, "job id or key, or batch id or name")->required();
  cancel->add_option("-c,--config", cancel_config, "config file");

  std::string listen = "127.0.0.1:8787";
  emulator::Options emu_opts;
  std::string state_file;
  auto* emu = app.add_subcommand("emulator", "serve the provider APIs on loopback for tests and demos");
  emu->add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  emu->add_option("--time-scale", emu_opts.time_scale, "multiplier for emulated durations (0.1 = 10x faster)")
      ->check(CLI::Range(0.0001, 100.0))->capture_default_str();
  emu->add_option("--fail-rate", emu_opts.fail_rate, "fraction of tasks that end in failure")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  emu->add_option("--fault-rate", emu_opts.fault_rate,
                  "fraction of API requests answered with an injected fault (5xx, 429, dropped reply)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  emu->add_option("--seed", emu_opts.seed, "seed for the deterministic failures")->capture_default_str();
  emu->add_option("--juhuo-concurrency", emu_opts.juhuo_concurrency, "juhuo account concurrency (doc 9.3: 4-50)")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  emu->add_option("--juhuo-credits", emu_opts.juhuo_credits, "initial juhuo credits per API key")->capture_default_str();
  emu->add_option("--state", state_file, "persist emulated tasks in this file across restarts");
  std::vector<std::string> emu_fault_specs;
  std::string emu_faults_file;
  emu->add_option("--fault", emu_fault_specs, "PROVIDER:KEY=VALUE,... injected faults (see below); repeatable");
  emu->add_option("--faults-file", emu_faults_file, "JSON file of injected faults (see below)");
  emu->footer(kEmulatorFaultHelp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  setup_logging(verbosity);

  try {
    if (*run) return cmd_run(run_args);
    if (*status) return cmd_status(status_config, status_jobs);
    if (*resolve) return cmd_resolve(resolve_config, resolve_job, resolve_resubmit);
    if (*retry) return cmd_retry(retry_config, retry_job);
    if (*pause) return cmd_pause(pause_config, pause_profile, true);
    if (*resume) return cmd_pause(resume_config, resume_profile, false);
    if (*balance) return cmd_balance(balance_config);
    if (*cancel) return cmd_cancel(cancel_config, cancel_target);
    if (*emu) {
      emu_opts.state_file = state_file;
      if (auto err = emulator_fault_options(emu_fault_specs, emu_faults_file, emu_opts); !err.empty()) {
        std::cerr << "error: " << err << "\n";
        return kExitUsage;
      }
      return cmd_emulator(listen, emu_opts);
    }
  } catch (const SQLite::Exception& e) {
    std::cerr << "error: database: " << e.what() << "\n";
    return kExitFailed;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitUsage;
}

}  // namespace reelbatch
