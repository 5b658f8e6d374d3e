#include "src/app/cli.hpp"

#include "config/config.hpp"
#include "providers/registry.hpp"
#include "providers/emulator/emulator.hpp"
#include "providers/provider.hpp"
#include "scheduler/job_state.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/ingest/manifest.hpp"
#include "src/net/http_client.hpp"
#include "storage/lock.hpp"
#include "storage/store.hpp"

#include <CLI/CLI.hpp>
#include <SQLiteCpp/Exception.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

namespace reelbatch {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr const char* kStateOrder[] = {"pending", "uploading", "submitting", "running", "downloading",
                                       "succeeded", "failed", "cancelled", "held"};

std::string format_counts(const std::map<std::string, int>& by_state) {
  std::string s;
  for (const char* name : kStateOrder) {
    auto it = by_state.find(name);
    const int n = it == by_state.end() ? 0 : it->second;
    if (n == 0 && (std::string_view(name) == "cancelled" || std::string_view(name) == "held")) continue;
    if (!s.empty()) s += "  ";
    s += std::string(name) + " " + std::to_string(n);
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

int cmd_run(const RunArgs& args) {
  auto loaded = load_config_or_report(args.config, process_env());
  if (!loaded) return kExitUsage;
  Config& cfg = *loaded;
  if (!args.out.empty()) cfg.output_dir = fs::absolute(args.out).lexically_normal();

  std::optional<DatabaseLock> lease;
  try {
    lease.emplace(cfg.storage_path);
  } catch (const LockError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  Store store(cfg.storage_path);
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
  const auto& batch_ids = report.batch_ids;

  asio::io_context io;
  HttpClient http(io.get_executor());

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  std::string last_line;
  auto last_print = started - std::chrono::hours(1);
  EngineOptions eopts;
  eopts.on_progress = [&](const Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    std::string line = format_counts(p.by_state);
    if (p.credits_spent > 0) line += fmt::format("  | {:.2f} credits", p.credits_spent);
    for (const auto& pause : p.paused) line += "  | paused " + pause;
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

  Engine engine(cfg, store, http, eopts);
  std::optional<RunSummary> summary;
  std::exception_ptr error;
  asio::co_spawn(io, engine.async_run(batch_ids), [&](std::exception_ptr e, RunSummary s) {
    if (e) error = e; else summary = std::move(s);
  });

  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signal_count = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (++signal_count == 1) {
          std::fprintf(stderr, "\ninterrupted: finishing in-flight requests (Ctrl-C again to quit at once); run the same command again to resume\n");
          engine.request_stop();
          signals.async_wait(on_signal);
        } else {
          io.stop();
        }
      };
  signals.async_wait(on_signal);
  // io.run() returns when the run completes and the signal wait is cancelled.
  asio::steady_timer done_check(io);
  std::function<void(const boost::system::error_code&)> poll_done = [&](const boost::system::error_code&) {
    if (summary || error) {
      signals.cancel();
      return;
    }
    done_check.expires_after(std::chrono::milliseconds(100));
    done_check.async_wait(poll_done);
  };
  poll_done({});
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
  if (!summary) return kExitInterrupted;

  const auto& s = *summary;
  std::cout << "summary: " << format_counts(s.by_state);
  if (rejected > 0) std::cout << "  rejected " << rejected;
  std::cout << fmt::format("\ncredits spent: {:.2f}\n", s.credits_spent);
  for (auto id : batch_ids) {
    auto b = store.batch(id);
    std::cout << "outputs: " << b->out_dir << " (results.jsonl)\n";
  }
  for (const auto& pz : s.paused) std::cout << "paused profile " << pz << "\n";
  int shown = 0;
  for (const auto& j : store.jobs(batch_ids)) {
    if (j.state != "failed" && j.state != "held") continue;
    if (++shown > 20) {
      std::cout << "  ... (reelbatch status --jobs lists all)\n";
      break;
    }
    std::cout << "  " << j.state << " " << j.key << " (" << j.file << ":" << j.line << "): " << j.error_message << "\n";
  }
  if (s.interrupted) return kExitInterrupted;
  const bool all_ok = rejected == 0 && s.failed == 0 && s.held == 0 && s.waiting == 0 && s.cancelled == 0;
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
  Store store(cfg.storage_path);
  for (const auto& [profile, reason] : store.profile_pauses())
    std::cout << "profile " << profile << " paused: " << reason << "\n";
  for (const auto& b : store.batches()) {
    std::cout << "batch " << b.id << " " << b.name << " (" << b.manifest_path << ") -> " << b.out_dir << "\n  "
              << format_counts(store.count_by_state({b.id})) << "\n";
    if (!list_jobs) continue;
    for (const auto& j : store.jobs({b.id})) {
      std::cout << "    " << j.id << " " << j.key << " " << j.state;
      if (!j.remote_id.empty()) std::cout << " task=" << j.remote_id;
      if (!j.native_state.empty() && j.state == "running") std::cout << " (" << j.native_state << ")";
      if (!j.output_path.empty()) std::cout << " " << j.output_path;
      if (!j.error_message.empty()) std::cout << " error: " << j.error_message;
      std::cout << "\n";
    }
  }
  return kExitOk;
}

int cmd_resolve(const std::string& config_path, const std::string& job_ref, bool resubmit) {
  const auto loaded = load_config_or_report(config_path, env_not_required);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  std::optional<DatabaseLock> lease;
  try {
    lease.emplace(cfg.storage_path);
  } catch (const LockError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  Store store(cfg.storage_path);
  auto j = store.find_job(job_ref);
  if (!j) {
    std::cerr << "error: no job " << job_ref << "\n";
    return kExitUsage;
  }
  if (j->state != "held") {
    std::cerr << "error: job " << j->key << " is " << j->state << ", not held\n";
    return kExitUsage;
  }
  const auto ev = resubmit ? JobEvent::release_held_resubmit : JobEvent::release_held_fail;
  const auto t = next_state(JobState::held, ev, JobContext{});
  EventRecord e;
  e.kind = "state";
  e.from_state = j->state;
  e.to_state = to_string(t->next);
  e.detail = boost::json::object{{"event", to_string(ev)}, {"by", "reelbatch resolve"}};
  j->state = e.to_state;
  if (resubmit) j->error_code.clear(), j->error_message.clear();
  store.save(*j, e);
  std::cout << "job " << j->key << " is now " << j->state << "\n";
  return kExitOk;
}

// Runs `task` to completion on a fresh io_context with an HttpClient.
template <class F>
void run_with_http(F task) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  std::exception_ptr error;
  asio::co_spawn(io, task(http), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

int cmd_balance(const std::string& config_path) {
  const auto loaded = load_config_or_report(config_path, process_env());
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  int rc = kExitOk;
  run_with_http([&](HttpClient& http) -> asio::awaitable<void> {
    for (const auto& [name, prof] : cfg.profiles) {
      auto provider = make_provider(prof, http);
      if (!provider->has_balance()) {
        std::cout << name << ": " << prof.kind << " has no balance API\n";
        continue;
      }
      auto b = co_await provider->async_balance();
      if (!b) {
        std::cout << name << ": error: " << b.error().describe() << "\n";
        rc = kExitFailed;
        continue;
      }
      std::cout << fmt::format("{}: {:.2f} credits left ({:.2f} used of {:.2f})\n", name, b->remain, b->used,
                               b->total);
    }
  });
  return rc;
}

// Cancels every unfinished job of TARGET (a job id or key, or a batch id or
// name): remotely where the provider can (seedance2), locally elsewhere.
int cmd_cancel(const std::string& config_path, const std::string& target) {
  const auto loaded = load_config_or_report(config_path, process_env());
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  std::optional<DatabaseLock> lease;
  try {
    lease.emplace(cfg.storage_path);
  } catch (const LockError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  Store store(cfg.storage_path);
  std::vector<JobRecord> jobs;
  for (const auto& b : store.batches())
    if (b.name == target || std::to_string(b.id) == target) jobs = store.jobs({b.id});
  if (jobs.empty()) {
    if (auto j = store.find_job(target)) jobs.push_back(*j);
  }
  if (jobs.empty()) {
    std::cerr << "error: no job or batch named " << target << "\n";
    return kExitUsage;
  }
  int rc = kExitOk;
  run_with_http([&](HttpClient& http) -> asio::awaitable<void> {
    std::map<std::string, std::unique_ptr<Provider>> providers;
    for (auto& j : jobs) {
      const auto state = job_state_from_string(j.state);
      if (!state || is_terminal(*state)) continue;
      const ProfileConfig* prof = cfg.profile(j.spec.provider);
      std::string how = "locally";
      if (prof != nullptr && !j.remote_id.empty() && (*state == JobState::running || *state == JobState::submitting)) {
        auto& p = providers[prof->name];
        if (!p) p = make_provider(*prof, http);
        if (p->has_cancel()) {
          auto r = co_await p->async_cancel(j.remote_id);
          if (!r) {
            std::cout << j.key << ": remote cancel failed: " << r.error().describe() << "\n";
            rc = kExitFailed;
            continue;
          }
          how = "remotely (task " + j.remote_id + ")";
        } else {
          how = "locally; " + prof->kind + " has no cancel API, task " + j.remote_id + " may still finish and be billed";
        }
      }
      EventRecord e;
      e.kind = "state";
      e.from_state = j.state;
      e.to_state = "cancelled";
      e.detail = boost::json::object{{"event", "cancel"}, {"by", "reelbatch cancel"}, {"how", how}};
      j.state = "cancelled";
      store.save(j, e);
      std::cout << j.key << ": cancelled " << how << "\n";
    }
  });
  return rc;
}

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
  const std::pair<const char*, const char*> bases[] = {{"juhuo", "/juhuo"},
                                                       {"turing", "/turing/api/v1"},
                                                       {"vibegen", "/vibegen/api/v1"},
                                                       {"seedance2", "/seedance2"},
                                                       {"openai", "/openai"}};
  for (const auto& [kind, prefix] : bases)
    if (emu.serves(kind)) std::printf("  %-9s base_url = \"http://%s:%u%s\"\n", kind, host.c_str(), port, prefix);
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
    if (*balance) return cmd_balance(balance_config);
    if (*cancel) return cmd_cancel(cancel_config, cancel_target);
    if (*emu) {
      emu_opts.state_file = state_file;
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
