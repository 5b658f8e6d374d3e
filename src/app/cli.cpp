#include "src/app/cli.hpp"

#include "config/config.hpp"
#include "providers/registry.hpp"
#include "providers/emulator/emulator.hpp"
#include "providers/provider.hpp"
#include "src/app/admin_api.hpp"
#include "src/app/admin_client.hpp"
#include "src/app/cmd_backup.hpp"
#include "src/app/daemon.hpp"
#include "src/app/daemon_parts.hpp"
#include "src/app/plan.hpp"
#include "src/app/progress.hpp"
#include "src/app/report.hpp"
#include "src/app/results_hook.hpp"
#include "src/app/service.hpp"
#include "src/engine/engine.hpp"
#include "src/ingest/ingest.hpp"
#include "src/ingest/manifest.hpp"
#include "src/net/http_client.hpp"
#include "src/app/store_factory.hpp"

#include <CLI/CLI.hpp>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <set>

namespace reelbatch {

std::optional<std::string> env_not_required(const std::string& name) {
  if (auto v = process_env()(name)) return v;
  return std::string("(not needed)");
}

std::optional<Config> load_config_or_report(const std::string& path, const EnvLookup& env) {
  try {
    return load_config(path, env);
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return std::nullopt;
  }
}

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Opens the results writer's own connection to the config's database.
StoreOpener results_opener(const Config& cfg) {
  return [cfg] { return open_job_store(cfg); };
}

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

// ---- the daemon and its admin API ------------------------------------------

/// A command's failure with its exit code (printed by run_cli).
struct CliExit : std::runtime_error {
  int code;
  CliExit(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};

// Percent-encodes one path segment or query value.
std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The answer of a route as JSON; a JSON error answer becomes CliExit (404
// and 409: exit 1 unless `usage_on_404`; 400/401/405/413: 2).
json::value api_json(const AdminReply& r) {
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (r.status >= 200 && r.status < 300) {
    if (ec) throw CliExit(kExitFailed, "the daemon answered something that is not JSON");
    return v;
  }
  std::string message = "HTTP " + std::to_string(r.status);
  if (!ec && v.is_object())
    if (const auto* e = v.as_object().if_contains("error"); e && e->is_object())
      if (const auto* m = e->as_object().if_contains("message"); m && m->is_string())
        message = std::string(m->as_string());
  throw CliExit(r.status == 404 || r.status == 409 ? kExitUsage : r.status >= 500 ? kExitFailed : kExitUsage, message);
}

json::value api_get(const AdminAddress& a, const std::string& target) {
  return api_json(admin_request(a, "GET", target));
}

json::value api_post(const AdminAddress& a, const std::string& target, const json::object& body = {}) {
  return api_json(admin_request(a, "POST", target, json::serialize(body)));
}

// The daemon holding this config's database, if one runs (REELBATCH_ADDR first).
std::optional<AdminAddress> daemon_for(const Config& cfg) {
  try {
    const DaemonConfig d = load_daemon_config(cfg, process_env());
    return find_daemon(&d, process_env());
  } catch (const ConfigError& e) {
    throw CliExit(kExitUsage, e.what());
  }
}

// Reads through the admin routes on a local database, without a daemon:
// the same JSON as the daemon answers.
struct LocalReader {
  std::unique_ptr<JobStore> store;
  std::shared_ptr<const Config> cfg;
  admin::AdminApi api;
  explicit LocalReader(const Config& c)
      : store(open_job_store(c)), cfg(std::make_shared<const Config>(c)), api([&] {
          admin::AdminDeps d;
          d.config = [p = cfg] { return p; };
          d.store = store.get();
          return d;
        }()) {}
  json::value get(const std::string& target) {
    net::Request req;
    req.method = "GET";
    req.target = target;
    net::Response r = api.handle(req, "");
    return api_json(AdminReply{r.status, r.body});
  }
};

// Reads `target` from the daemon when one runs, else from the database.
json::value read_route(const Config& cfg, const std::string& target) {
  if (auto a = daemon_for(cfg)) return api_get(*a, target);
  if (!store_exists(cfg)) throw CliExit(kExitOk, "no database at " + describe_store(cfg) + " yet");
  LocalReader local(cfg);
  return local.get(target);
}

std::int64_t jint(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

double jdouble(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return 0;
}

std::string jstr(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// "pending 3  uploading 0 ..." from a counts object.
std::string format_counts_json(const json::object& counts) {
  std::map<JobState, int> by_state;
  for (const auto& [k, v] : counts)
    if (auto s = job_state_from_string(k)) by_state[*s] = static_cast<int>(v.is_int64() ? v.as_int64() : 0);
  return format_counts(by_state);
}

void print_job_line(const json::object& j) {
  std::cout << "    " << jint(j, "id") << " " << jstr(j, "key") << " " << jstr(j, "state");
  if (!jstr(j, "remote_id").empty()) std::cout << " task=" << jstr(j, "remote_id");
  if (jstr(j, "state") == "running" && !jstr(j, "native_state").empty()) std::cout << " (" << jstr(j, "native_state") << ")";
  if (!jstr(j, "output_path").empty()) std::cout << " " << jstr(j, "output_path");
  if (!jstr(j, "error_message").empty()) std::cout << " error: " << jstr(j, "error_message");
  std::cout << "\n";
}

// Every job of a route's pages (`target` without a cursor).
json::array all_jobs(const Config& cfg, const std::string& target, std::int64_t max_rows) {
  json::array out;
  std::string cursor;
  for (;;) {
    const std::string sep = target.find('?') == std::string::npos ? "?" : "&";
    json::value page = read_route(cfg, target + sep + "limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& j : page.as_object()["jobs"].as_array()) {
      if (max_rows > 0 && static_cast<std::int64_t>(out.size()) >= max_rows) return out;
      out.push_back(j);
    }
    const auto& next = page.as_object()["next_cursor"];
    if (!next.is_string()) return out;
    cursor = std::string(next.as_string());
  }
}

struct ReadArgs {
  std::string config;
  bool json = false;
};

int cmd_status(const ReadArgs& args, bool list_jobs) {
  const auto loaded = load_config_or_report(args.config, env_not_required);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  auto daemon = daemon_for(cfg);
  if (!daemon && !store_exists(cfg)) {
    if (args.json) std::cout << R"({"batches":[],"profiles":[],"daemon":null})" << "\n";
    else std::cout << "no database at " << describe_store(cfg) << " yet\n";
    return kExitOk;
  }
  json::object out;
  json::value batches = read_route(cfg, "/v1/batches");
  out["batches"] = batches.as_object()["batches"];
  json::array profiles;
  if (daemon) {
    profiles = api_get(*daemon, "/v1/profiles").as_object()["profiles"].as_array();
  } else {
    const auto pauses = open_job_store(cfg)->profile_pauses();
    for (const auto& [name, pc] : cfg.profiles) {
      auto it = pauses.find(name);
      profiles.push_back(json::object{{"name", name},
                                      {"kind", pc.kind},
                                      {"max_in_flight", pc.max_in_flight},
                                      {"paused", it != pauses.end()},
                                      {"pause_reason", it != pauses.end() ? it->second : std::string()}});
    }
  }
  out["profiles"] = profiles;
  out["daemon"] = daemon ? json::value(daemon->describe()) : json::value(nullptr);
  if (list_jobs)
    for (auto& b : out["batches"].as_array())
      b.as_object()["jobs"] = all_jobs(cfg, "/v1/jobs?batch=" + std::to_string(jint(b.as_object(), "id")), 0);
  if (args.json) {
    std::cout << json::serialize(out) << "\n";
    return kExitOk;
  }
  std::cout << (daemon ? "daemon: " + daemon->describe() : std::string("daemon: not running")) << "\n";
  for (const auto& pv : profiles) {
    const auto& p = pv.as_object();
    if (daemon)
      std::cout << fmt::format("profile {} ({}): {}/{} in flight, {} queued, {} pending, {:.2f} credits", jstr(p, "name"),
                               jstr(p, "kind"), jint(p, "in_flight"), jint(p, "max_in_flight"), jint(p, "queued"),
                               jint(p, "pending"), jdouble(p, "credits_spent"));
    else
      std::cout << "profile " << jstr(p, "name") << " (" << jstr(p, "kind") << ")";
    if (!jstr(p, "pause_reason").empty()) std::cout << "  paused: " << jstr(p, "pause_reason");
    std::cout << "\n";
  }
  for (const auto& bv : out["batches"].as_array()) {
    const auto& b = bv.as_object();
    std::cout << "batch " << jint(b, "id") << " " << jstr(b, "name") << " (" << jstr(b, "manifest") << ") -> "
              << jstr(b, "out_dir") << "\n  " << format_counts_json(b.at("counts").as_object()) << "\n";
    if (const auto* jobs = b.if_contains("jobs"))
      for (const auto& j : jobs->as_array()) print_job_line(j.as_object());
  }
  return kExitOk;
}

struct JobsArgs {
  ReadArgs read;
  std::string batch, state, profile;
  std::int64_t limit = 0;
};

int cmd_jobs(const JobsArgs& args) {
  const auto loaded = load_config_or_report(args.read.config, env_not_required);
  if (!loaded) return kExitUsage;
  std::string target = "/v1/jobs?x=";
  if (!args.batch.empty()) target += "&batch=" + url_encode(args.batch);
  if (!args.state.empty()) target += "&state=" + url_encode(args.state);
  if (!args.profile.empty()) target += "&profile=" + url_encode(args.profile);
  const json::array jobs = all_jobs(*loaded, target, args.limit);
  if (args.read.json) {
    std::cout << json::serialize(json::object{{"jobs", jobs}}) << "\n";
    return kExitOk;
  }
  for (const auto& j : jobs) print_job_line(j.as_object());
  return kExitOk;
}

// ---- submit ----------------------------------------------------------------

struct SubmitArgs {
  std::vector<std::string> manifests;
  std::string config;
  std::string profile;
  bool wait = false;
  bool json = false;
  bool quiet = false;
  int poll_ms = 1000;
  std::optional<double> max_credits;  ///< issue 9: the batch's cap, per credit unit
};

std::atomic<int> g_interrupted{0};

extern "C" void on_interrupt(int) { g_interrupted.fetch_add(1); }

int cmd_submit(const SubmitArgs& args) {
  const auto loaded = load_config_or_report(args.config, env_not_required);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  const auto daemon = daemon_for(cfg);
  if (args.wait && !daemon)
    throw CliExit(kExitUsage, "no reelbatch daemon is running for " + describe_store(cfg) +
                                  " (start `reelbatch daemon`, or run the manifests now with `reelbatch run`)");
  std::vector<std::int64_t> ids;
  int rejected = 0;
  json::array submitted;
  for (const auto& m : args.manifests) {
    const fs::path abs = fs::absolute(m).lexically_normal();
    json::object r;
    if (daemon) {
      json::object body{{"path", abs.string()}};
      if (!args.profile.empty()) body["profile"] = args.profile;
      r = api_post(*daemon, "/v1/batches" + (args.max_credits ? "?max_credits=" + fmt::format("{}", *args.max_credits)
                                                              : std::string()),
                   body)
              .as_object();
    } else {
      // No daemon: record the batch; a daemon runs it when it starts.
      const auto opened = open_job_store(cfg);
      JobStore& store = *opened;
      IngestReport rep;
      try {
        rep = ingest_manifests(cfg, store, {abs}, args.profile);
        if (args.max_credits) store.set_batch_max_credits(rep.batch_ids.at(0), args.max_credits);
      } catch (const ManifestError& e) {
        throw CliExit(kExitUsage, e.what());
      }
      json::array errors;
      for (const auto& e : rep.errors) errors.push_back(json::string(e));
      r = json::object{{"batch_id", rep.batch_ids.at(0)}, {"added", rep.added}, {"existing", rep.existing},
                       {"rejected", rep.rejected}, {"errors", std::move(errors)}};
    }
    ids.push_back(jint(r, "batch_id"));
    rejected += static_cast<int>(jint(r, "rejected"));
    if (!args.json) {
      for (const auto& e : r.at("errors").as_array()) std::cerr << e.as_string().c_str() << "\n";
      std::cout << fmt::format("batch {} {}: {} new, {} already known, {} rejected{}\n", jint(r, "batch_id"),
                               abs.filename().string(), jint(r, "added"), jint(r, "existing"), jint(r, "rejected"),
                               daemon ? "" : " (no daemon running: it runs when `reelbatch daemon` starts)");
      std::cout.flush();
    }
    submitted.push_back(std::move(r));
  }
  if (!args.wait) {
    if (args.json) std::cout << json::serialize(json::object{{"submitted", submitted}}) << "\n";
    return rejected > 0 ? kExitFailed : kExitOk;
  }

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  auto last_print = started - std::chrono::hours(1);
  std::optional<std::int64_t> done_at_start;
  std::optional<SpendByUnit> spent_at_start;
  json::array details;
  for (;;) {
    details.clear();
    ProgressSample s;
    SpendByUnit spent;
    bool settled = true;
    for (auto id : ids) {
      json::object b = api_get(*daemon, "/v1/batches/" + std::to_string(id)).as_object()["batch"].as_object();
      const auto& counts = b.at("counts").as_object();
      s.total += jint(b, "total");
      s.succeeded += jint(counts, "succeeded");
      s.failed += jint(counts, "failed") + jint(counts, "cancelled");
      s.waiting += jint(b, "waiting");
      if (const auto* by_unit = b.if_contains("credits_by_unit"); by_unit && by_unit->is_object())
        for (const auto& [unit, v] : by_unit->as_object())
          if (v.is_number()) spent[std::string(unit)] += v.to_number<double>();
      settled = settled && b.at("settled").as_bool();
      details.push_back(std::move(b));
    }
    const auto now = std::chrono::steady_clock::now();
    s.elapsed_s = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    if (!done_at_start) done_at_start = s.succeeded + s.failed;
    s.done_at_start = *done_at_start;
    if (!spent_at_start) spent_at_start = spent;
    s.credits = spend_difference(spent, *spent_at_start);
    if (!args.quiet && (tty || now - last_print >= std::chrono::seconds(10) || settled)) {
      const std::string line = format_progress(s);
      if (tty) std::fprintf(stderr, "\r\033[K%s", line.c_str());
      else std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
      last_print = now;
    }
    if (settled) break;
    if (g_interrupted.load() > 0) {
      if (tty && !args.quiet) std::fprintf(stderr, "\n");
      std::cerr << "interrupted: the daemon keeps running the batch; `reelbatch status` shows it\n";
      return kExitInterrupted;
    }
    for (int i = 0; i < args.poll_ms / 50 && g_interrupted.load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (tty && !args.quiet) std::fprintf(stderr, "\n");
  std::int64_t failed = 0, waiting = 0;
  for (const auto& bv : details) {
    const auto& b = bv.as_object();
    const auto& counts = b.at("counts").as_object();
    failed += jint(counts, "failed") + jint(counts, "cancelled");
    waiting += jint(b, "waiting");
  }
  const int rc = failed > 0 || rejected > 0 ? kExitFailed : waiting > 0 ? kExitWaiting : kExitOk;
  if (args.json) {
    std::cout << json::serialize(json::object{{"submitted", submitted}, {"batches", details}, {"exit_code", rc}}) << "\n";
    return rc;
  }
  for (const auto& bv : details) {
    const auto& b = bv.as_object();
    SpendByUnit batch_spend;
    if (const auto* by_unit = b.if_contains("credits_by_unit"); by_unit && by_unit->is_object())
      for (const auto& [unit, v] : by_unit->as_object())
        if (v.is_number()) batch_spend[std::string(unit)] += v.to_number<double>();
    std::cout << fmt::format("batch {} {}: {}  credits {}\n  outputs: {} (results.jsonl, results.csv)\n",
                             jint(b, "id"), jstr(b, "name"), format_counts_json(b.at("counts").as_object()),
                             format_spend(batch_spend), jstr(b, "out_dir"));
    for (const auto& pv : b.at("problems").as_array()) {
      const auto& p = pv.as_object();
      std::cout << "  " << jstr(p, "state") << " " << jstr(p, "key") << " (" << jstr(p, "file") << ":" << jint(p, "line")
                << "): " << jstr(p, "error_message") << "\n";
    }
  }
  if (waiting > 0)
    std::cout << waiting << " rows wait: held (`reelbatch resolve`) or on a paused profile (`reelbatch resume`)\n";
  return rc;
}

// ---- control through the daemon ----------------------------------------------

int print_api_control(const json::value& v) {
  const auto& o = v.as_object();
  std::cout << jstr(o, "message") << "\n";
  return kExitOk;
}

int daemon_cancel(const AdminAddress& a, const std::string& target) {
  AdminReply r = admin_request(a, "POST", "/v1/jobs/" + url_encode(target) + "/cancel", "{}");
  if (r.status == 404) {
    AdminReply b = admin_request(a, "POST", "/v1/batches/" + url_encode(target) + "/cancel", "{}");
    if (b.status == 404) throw CliExit(kExitUsage, "no job or batch named " + target);
    const auto v = api_json(b);
    int rc = kExitOk;
    const auto& results = v.as_object().at("results").as_array();
    if (results.empty()) std::cout << "nothing to cancel: every job of " << target << " is finished\n";
    for (const auto& x : results) {
      std::cout << jstr(x.as_object(), "message") << "\n";
      if (!x.as_object().at("ok").as_bool()) rc = kExitFailed;
    }
    return rc;
  }
  if (r.status == 409) {
    std::cout << "nothing to cancel: " << target << " is finished\n";
    return kExitOk;
  }
  return print_api_control(api_json(r));
}

struct RunArgs {
  std::vector<std::string> manifests;
  std::string config = "reelbatch.toml";
  std::string out;
  bool wait_lock = false;  ///< wait while a daemon holds the database instead of exiting 4
  bool quiet = false;      ///< no progress line
  bool dry_run = false;    ///< issue 9: print the plan (src/app/plan.hpp) and run nothing
  std::optional<double> max_credits;  ///< issue 9: each batch's cap, per credit unit
};

// Runs `body` (given the engine) on a fresh io_context with an HttpClient and
// an Engine that is not running its loops: for one-shot control commands.
template <class F>
int with_engine(const Config& cfg, JobStore& store, F body) {
  asio::io_context io;
  HttpClient http(io.get_executor());
  // A cancel, retry or resolve rewrites the results files of the rows it
  // moved (when the writer goes, after the engine).
  ResultsWriter results(results_opener(cfg), results_context(cfg));
  ResultsObserver observer(results, nullptr);
  EngineOptions eopts;
  eopts.observer = &observer;
  Engine engine(cfg, store, http, eopts);
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
  if (args.dry_run) {
    PlanArgs plan{args.manifests, args.config, args.out, "", args.max_credits, false, true};
    return cmd_plan(plan);
  }
  auto loaded = load_config_or_report(args.config, process_env());
  if (!loaded) return kExitUsage;
  Config& cfg = *loaded;
  if (!args.out.empty()) cfg.output_dir = fs::absolute(args.out).lexically_normal();
  // A running daemon owns the database: `run` would race it for the rows.
  for (bool told = false;;) {
    const auto daemon = daemon_for(cfg);
    if (!daemon) break;
    if (!args.wait_lock) {
      std::cerr << "error: a reelbatch daemon (" << daemon->describe() << ") is using " << describe_store(cfg)
                << "; hand it the manifests with `reelbatch submit --wait`, or pass --wait-lock to wait for it\n";
      return kExitBusy;
    }
    if (!told) std::cerr << "waiting for the daemon at " << daemon->describe() << " to stop...\n";
    told = true;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }

  const auto opened = open_job_store(cfg);
  JobStore& store = *opened;
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
  if (args.max_credits)
    for (const auto id : batch_ids) store.set_batch_max_credits(id, args.max_credits);

  // Results files kept current as rows end, off the event loop; written
  // at once for the rows rejected at ingest.
  ResultsWriter results(results_opener(cfg), results_context(cfg));
  ResultsObserver observer(results, nullptr);
  for (auto id : batch_ids) results.mark_dirty(id);

  asio::io_context io;
  HttpClient http(io.get_executor());
  EngineOptions eopts;
  eopts.batches = batch_ids;
  eopts.observer = &observer;
  Engine engine(cfg, store, http, eopts);
  Service service(cfg, store, engine);
  const SpendByUnit spent_at_start = service.spend(batch_ids);

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  std::string last_line;
  auto last_print = started - std::chrono::hours(1);
  std::optional<std::int64_t> done_at_start;
  auto show_progress = [&] {
    if (args.quiet) return;
    const auto now = std::chrono::steady_clock::now();
    JobFilter f;
    f.batch_ids = batch_ids;
    ProgressSample s;
    s.elapsed_s = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
    std::set<std::string> paused;
    for (const auto& lane : engine.snapshot().lanes)
      if (!lane.pause_reason.empty()) paused.insert(lane.profile);
    s.credits = spend_difference(service.spend(batch_ids), spent_at_start);
    for (const auto& [state, n] : store.count_by_state(f)) {
      s.total += n;
      if (state == JobState::succeeded) s.succeeded += n;
      else if (state == JobState::failed || state == JobState::cancelled) s.failed += n;
      else if (state == JobState::held) s.waiting += n;
    }
    for (const auto& p : paused) {
      JobFilter pf = f;
      pf.profile = p;
      pf.states = {JobState::pending};
      for (const auto& [state, n] : store.count_by_state(pf)) s.waiting += n;
    }
    if (!done_at_start) done_at_start = s.succeeded + s.failed;
    s.done_at_start = *done_at_start;
    std::string line = format_progress(s);
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
    } else if (line != last_line && now - last_print >= std::chrono::seconds(5)) {
      std::fprintf(stderr, "%s\n", line.c_str());
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
  if (tty && !args.quiet) std::fprintf(stderr, "\n");
  // The results files as the run leaves them, with ffprobe's findings.
  for (auto id : batch_ids) results.mark_dirty(id);
  results.flush();

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
  std::cout << "\ncredits spent by this run: " << format_spend(spend_difference(t.credits_by_unit, spent_at_start))
            << "\ncredits spent by the batch" << (batch_ids.size() > 1 ? "es" : "") << ": "
            << format_spend(t.credits_by_unit) << "\n";
  for (auto id : batch_ids) {
    auto b = store.batch(id);
    std::cout << "outputs: " << b->out_dir << " (results.jsonl, results.csv)\n";
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
  int settled_ok = 0, total = 0, failed = 0;
  for (const auto& [state, n] : t.counts) {
    total += n;
    if (state == JobState::succeeded) settled_ok += n;
    if (state == JobState::failed || state == JobState::cancelled) failed += n;
  }
  if (rejected > 0 || failed > 0) return kExitFailed;
  return settled_ok == total ? kExitOk : kExitWaiting;  // held, or pending on a paused profile
}

// The one-shot control commands: each opens the store, builds an engine
// (not running its loops) and asks the service.
int cmd_control(const std::string& config_path, const EnvLookup& env,
                const std::function<asio::awaitable<int>(Service&, HttpClient&)>& body) {
  const auto loaded = load_config_or_report(config_path, env);
  if (!loaded) return kExitUsage;
  const Config& cfg = *loaded;
  const auto store = open_job_store(cfg);
  return with_engine(cfg, *store, body);
}

int print_result(const ControlResult& r) {
  (r.ok ? std::cout : std::cerr) << (r.ok ? "" : "error: ") << r.message << "\n";
  return r.ok ? kExitOk : kExitUsage;
}

// Runs `f` against the daemon holding the config's database, if one runs.
template <class F>
std::optional<int> via_daemon(const std::string& config_path, F f) {
  const auto loaded = load_config_or_report(config_path, env_not_required);
  if (!loaded) return kExitUsage;
  if (auto a = daemon_for(*loaded)) return f(*a);
  return std::nullopt;
}

int cmd_resolve(const std::string& config_path, const std::string& job, bool resubmit) {
  if (auto rc = via_daemon(config_path, [&](const AdminAddress& a) {
        return print_api_control(
            api_post(a, "/v1/jobs/" + url_encode(job) + "/resolve", json::object{{"resubmit", resubmit}}));
      }))
    return *rc;
  return cmd_control(config_path, env_not_required, [&](Service& s, HttpClient&) -> asio::awaitable<int> {
    co_return print_result(co_await s.async_resolve(job, resubmit));
  });
}

struct RetryArgs {
  std::string config = "reelbatch.toml";
  std::string job;    ///< one job (key or id); or
  std::string batch;  ///< every selected row of this batch (name or id)
  bool failed = false, expired = false;  ///< batch rows to take (neither: failed and cancelled)
  bool resubmit = false;                 ///< submit again rows whose task failed remotely
};

// Prints each row's result; exit 1 when some row was refused.
int print_retry_results(const std::vector<std::pair<bool, std::string>>& results, const std::string& batch) {
  if (results.empty()) std::cout << "nothing to retry in batch " << batch << "\n";
  int rc = kExitOk;
  for (const auto& [ok, message] : results) {
    (ok ? std::cout : std::cerr) << (ok ? "" : "refused: ") << message << "\n";
    if (!ok) rc = kExitFailed;
  }
  return rc;
}

int cmd_retry(const RetryArgs& args) {
  RetrySelection sel;
  sel.resubmit = args.resubmit;
  if (args.failed || args.expired) {
    sel.states.clear();
    if (args.failed) sel.states.push_back(JobState::failed);
    if (args.expired) sel.states.push_back(JobState::expired);
  }
  if (auto rc = via_daemon(args.config, [&](const AdminAddress& a) {
        if (args.batch.empty())
          return print_api_control(api_post(a, "/v1/jobs/" + url_encode(args.job) + "/retry",
                                            json::object{{"resubmit", args.resubmit}}));
        json::array states;
        for (const auto st : sel.states) states.emplace_back(to_string(st));
        const auto v = api_post(a, "/v1/batches/" + url_encode(args.batch) + "/retry",
                                json::object{{"states", std::move(states)}, {"resubmit", args.resubmit}});
        std::vector<std::pair<bool, std::string>> results;
        for (const auto& x : v.as_object().at("results").as_array())
          results.emplace_back(x.as_object().at("ok").as_bool(), jstr(x.as_object(), "message"));
        return print_retry_results(results, args.batch);
      }))
    return *rc;
  return cmd_control(args.config, env_not_required, [&](Service& s, HttpClient&) -> asio::awaitable<int> {
    if (args.batch.empty()) {
      const auto r = co_await s.async_retry(args.job, args.resubmit);
      const int rc = print_result(r);
      if (r.ok) std::cout << "run `reelbatch run` on its manifest again (or let the daemon take it) to finish it\n";
      co_return rc;
    }
    const auto got = co_await s.async_retry_batch(args.batch, sel);
    if (!got) {
      std::cerr << "error: no batch named " << args.batch << "\n";
      co_return kExitUsage;
    }
    std::vector<std::pair<bool, std::string>> results;
    for (const auto& r : *got) results.emplace_back(r.ok, r.message);
    const int rc = print_retry_results(results, args.batch);
    if (!got->empty()) std::cout << "run `reelbatch run` on its manifest again (or let the daemon take it) to finish it\n";
    co_return rc;
  });
}

int cmd_pause(const std::string& config_path, const std::string& profile, bool pause) {
  if (auto rc = via_daemon(config_path, [&](const AdminAddress& a) {
        api_post(a, "/v1/profiles/" + url_encode(profile) + (pause ? "/pause" : "/resume"));
        std::cout << "profile " << profile << (pause ? " paused" : " resumed") << "\n";
        return kExitOk;
      }))
    return *rc;
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

int cmd_balance(const std::string& config_path, bool as_json) {
  return cmd_control(config_path, process_env(), [&](Service& s, HttpClient& http) -> asio::awaitable<int> {
    int rc = kExitOk;
    const auto lines = co_await s.async_balance(http);
    if (as_json) {
      json::array a;
      for (const auto& line : lines) {
        json::object o{{"profile", line.profile}, {"supported", line.supported}, {"error", line.error}};
        if (line.balance) {
          o["remain"] = line.balance->remain;
          o["used"] = line.balance->used;
          o["total"] = line.balance->total;
        } else if (line.supported) {
          rc = kExitFailed;
        }
        a.push_back(std::move(o));
      }
      std::cout << json::serialize(json::object{{"balances", std::move(a)}}) << "\n";
      co_return rc;
    }
    for (const auto& line : lines) {
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
  if (auto rc = via_daemon(config_path, [&](const AdminAddress& a) { return daemon_cancel(a, target); })) return *rc;
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
  app.set_version_flag("--version", std::string("reelbatch ") + REELBATCH_VERSION);
  // -v / -q are accepted before or after the subcommand.
  app.fallthrough();
  int verbosity = 0;
  app.add_flag("-v,--verbose", [&](std::int64_t n) { verbosity += static_cast<int>(n); }, "more log output");
  app.add_flag("-q,--quiet", [&](std::int64_t) { verbosity = -1; }, "warnings and errors only; no progress line");
  const char* env_config = std::getenv("REELBATCH_CONFIG");
  const std::string default_config = env_config && *env_config ? env_config : "reelbatch.toml";

  RunArgs run_args;
  run_args.config = default_config;
  auto* run = app.add_subcommand("run", "ingest manifests and run their rows to finished files");
  run->add_option("manifest", run_args.manifests, "CSV or JSONL manifest files")->required()->check(CLI::ExistingFile);
  run->add_option("-c,--config", run_args.config, "config file (default $REELBATCH_CONFIG or reelbatch.toml)");
  run->add_option("-o,--out", run_args.out, "output root folder (overrides [output] dir)");
  run->add_flag("--wait-lock", run_args.wait_lock,
                "wait while a daemon holds the database (default: exit 4 at once)");
  run->add_flag("--dry-run", run_args.dry_run, "print the plan (as `reelbatch plan`) and run nothing");
  run->add_option_function<double>(
         "--max-credits", [&](const double& v) { run_args.max_credits = v; },
         "cap each batch at this many credits (per credit unit)")
      ->check(CLI::NonNegativeNumber);

  PlanArgs plan_args;
  plan_args.config = default_config;
  auto* plan = app.add_subcommand(
      "plan", "validate manifests and show their estimated cost, wall time, caps and balance; runs nothing");
  plan->add_option("manifest", plan_args.manifests, "CSV or JSONL manifest files")->required()->check(CLI::ExistingFile);
  plan->add_option("-c,--config", plan_args.config, "config file (default $REELBATCH_CONFIG or reelbatch.toml)");
  plan->add_option("-o,--out", plan_args.out, "output root folder (overrides [output] dir)");
  plan->add_option("-p,--profile", plan_args.profile, "profile for rows that name no provider");
  plan->add_option_function<double>(
          "--max-credits", [&](const double& v) { plan_args.max_credits = v; },
          "check against this per-batch cap (per credit unit)")
      ->check(CLI::NonNegativeNumber);
  plan->add_flag("--json", plan_args.json, "print JSON");
  plan->add_flag_callback("--no-balance", [&] { plan_args.balance = false; },
                          "do not ask providers for their balance");

  std::string daemon_config = default_config;
  auto* daemon = app.add_subcommand("daemon", "run in the foreground as a service: every batch, the admin API");
  daemon->add_option("-c,--config", daemon_config, "config file (default $REELBATCH_CONFIG or reelbatch.toml)");

  SubmitArgs submit_args;
  submit_args.config = default_config;
  auto* submit = app.add_subcommand("submit", "hand manifests to the running daemon (prints each batch id)");
  submit->add_option("manifest", submit_args.manifests, "CSV or JSONL manifest files")->required()->check(CLI::ExistingFile);
  submit->add_option("-c,--config", submit_args.config, "config file");
  submit->add_option("-p,--profile", submit_args.profile, "profile for rows that name no provider");
  submit->add_flag("-w,--wait", submit_args.wait, "wait until every row finished or waits; exit code as `run`");
  submit->add_flag("--json", submit_args.json, "print JSON");
  submit->add_option_function<double>(
            "--max-credits", [&](const double& v) { submit_args.max_credits = v; },
            "cap each batch at this many credits (per credit unit)")
      ->check(CLI::NonNegativeNumber);

  ReadArgs status_args;
  status_args.config = default_config;
  bool status_jobs = false;
  auto* status = app.add_subcommand("status", "show the daemon, profiles, batches and job states");
  status->add_option("-c,--config", status_args.config, "config file");
  status->add_flag("-j,--jobs", status_jobs, "list every job");
  status->add_flag("--json", status_args.json, "print JSON");

  JobsArgs jobs_args;
  jobs_args.read.config = default_config;
  auto* jobs = app.add_subcommand("jobs", "list jobs, filtered");
  jobs->add_option("-c,--config", jobs_args.read.config, "config file");
  jobs->add_option("-b,--batch", jobs_args.batch, "batch id or name");
  jobs->add_option("-s,--state", jobs_args.state, "state(s), comma-separated (failed,held)");
  jobs->add_option("-p,--profile", jobs_args.profile, "profile name");
  jobs->add_option("-n,--limit", jobs_args.limit, "at most this many")->check(CLI::NonNegativeNumber);
  jobs->add_flag("--json", jobs_args.read.json, "print JSON");

  std::string resolve_config = default_config, resolve_job;
  bool resolve_resubmit = false, resolve_fail = false;
  auto* resolve = app.add_subcommand("resolve", "decide a held job whose submit outcome is unknown");
  resolve->add_option("job", resolve_job, "job id or idempotency key")->required();
  resolve->add_option("-c,--config", resolve_config, "config file");
  auto* g = resolve->add_option_group("decision");
  g->add_flag("--resubmit", resolve_resubmit, "submit it again (you checked the provider: no task exists)");
  g->add_flag("--fail", resolve_fail, "mark it failed");
  g->require_option(1);

  RetryArgs retry_args;
  retry_args.config = default_config;
  auto* retry = app.add_subcommand(
      "retry", "run a failed, expired or cancelled job (or rows of a batch) again; a paid clip is downloaded "
               "again, never resubmitted");
  auto* retry_job_opt = retry->add_option("job", retry_args.job, "job id or idempotency key");
  auto* retry_batch_opt = retry->add_option("-b,--batch", retry_args.batch, "retry rows of this batch (name or id)");
  retry_job_opt->excludes(retry_batch_opt);
  retry->add_flag("--failed", retry_args.failed, "with --batch: every failed row")->needs(retry_batch_opt);
  retry->add_flag("--expired", retry_args.expired, "with --batch: every expired row (downloaded again)")
      ->needs(retry_batch_opt);
  retry->add_flag("--resubmit", retry_args.resubmit,
                  "submit again rows whose task failed remotely (may be charged again); never a paid success");
  retry->add_option("-c,--config", retry_args.config, "config file");
  retry->callback([&] {
    if (retry_args.job.empty() && retry_args.batch.empty())
      throw CLI::ValidationError("retry", "name a job, or a batch with --batch");
  });

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
  bool balance_json = false;
  auto* balance = app.add_subcommand("balance", "show the credit balance of each profile whose API has one");
  balance->add_option("-c,--config", balance_config, "config file");
  balance->add_flag("--json", balance_json, "print JSON");

  std::string cancel_config = default_config, cancel_target;
  auto* cancel = app.add_subcommand("cancel", "cancel a job or every unfinished job of a batch");
  cancel->add_option("target", cancel_target, "job id or key, or batch id or name")->required();
  cancel->add_option("-c,--config", cancel_config, "config file");

  std::string backup_config = default_config, backup_file;
  bool backup_force = false;
  auto* backup = app.add_subcommand("backup", "copy the database consistently, also while a daemon runs");
  backup->add_option("file", backup_file, "the copy to write (FILE.tmp first, then renamed)")->required();
  backup->add_option("-c,--config", backup_config, "config file");
  backup->add_flag("--force", backup_force, "replace FILE if it exists");

  ReportArgs report_args;
  report_args.config = default_config;
  auto* report = app.add_subcommand(
      "report", "rows, success rate, spend per credit unit, generation time and download slack, per group");
  report->add_option("-c,--config", report_args.config, "config file");
  report->add_option("--since", report_args.since, "rows ingested on or after DATE (YYYY-MM-DD, UTC)");
  report->add_option("-b,--batch", report_args.batch, "batch id or name");
  report->add_option("--by", report_args.by, "group by profile, model or day")->capture_default_str();
  report->add_flag("--json", report_args.json, "print JSON");
  report->add_flag("--csv", report_args.csv, "print CSV");

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
  run_args.quiet = submit_args.quiet = verbosity < 0;

  try {
    if (*daemon) {
      DaemonOptions dopts;
      dopts.config = daemon_config;
      dopts.verbosity = verbosity;
      // The watch-folder service, the metrics collector (also the engine's
      // observer), sd_notify and the watchdog (src/app/daemon_parts.hpp).
      DaemonParts parts;
      dopts.hooks = parts.hooks();
      return run_daemon(dopts);
    }
    if (*run) return cmd_run(run_args);
    if (*plan) return cmd_plan(plan_args);
    if (*submit) return cmd_submit(submit_args);
    if (*status) return cmd_status(status_args, status_jobs);
    if (*jobs) return cmd_jobs(jobs_args);
    if (*resolve) return cmd_resolve(resolve_config, resolve_job, resolve_resubmit);
    if (*retry) return cmd_retry(retry_args);
    if (*pause) return cmd_pause(pause_config, pause_profile, true);
    if (*resume) return cmd_pause(resume_config, resume_profile, false);
    if (*balance) return cmd_balance(balance_config, balance_json);
    if (*cancel) return cmd_cancel(cancel_config, cancel_target);
    if (*backup) {
      const auto loaded = load_config_or_report(backup_config, env_not_required);
      return loaded ? cmd_backup(*loaded, backup_file, backup_force) : kExitUsage;
    }
    if (*report) return cmd_report(report_args);
    if (*emu) {
      emu_opts.state_file = state_file;
      if (auto err = emulator_fault_options(emu_fault_specs, emu_faults_file, emu_opts); !err.empty()) {
        std::cerr << "error: " << err << "\n";
        return kExitUsage;
      }
      return cmd_emulator(listen, emu_opts);
    }
  } catch (const CliExit& e) {
    (e.code == kExitOk ? std::cout : std::cerr) << (e.code == kExitOk ? "" : "error: ") << e.what() << "\n";
    return e.code;
  } catch (const AdminUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailed;
  } catch (const DatabaseCorrupt& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const SQLite::Exception& e) {
    std::cerr << "error: database: " << e.what() << "\n";
    const int code = e.getErrorCode();
    return code == SQLITE_BUSY || code == SQLITE_LOCKED ? kExitBusy : kExitFailed;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitUsage;
}

}  // namespace reelbatch
