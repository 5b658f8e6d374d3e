// Fault injection for the emulator: what can go wrong between reelbatch and
// a provider, per provider module, seeded and deterministic.
//
// A FaultPlan holds one FaultRules per module name ("juhuo", ...) or "*"
// (every module without rules of its own). It is given on the command line
// (`reelbatch emulator --fault SPEC`, parse_fault_spec), in a JSON file
// (`--faults-file`, fault_plan_from_json) or at run time through the control
// endpoint (emulator.hpp: POST /_emulator/faults replaces the plan, GET
// reads it with the faults injected so far).
//
// Text form (one --fault option per provider, repeatable):
//   PROVIDER:ITEM[,ITEM...]     ITEM = KEY=VALUE
//   e.g. juhuo:5xx=0.1,429=0.05,reset_after=0.02  seedance2:down=180,down_mode=drop
// JSON form: {"juhuo": {"5xx": 0.1, "429": 0.05}, "*": {"truncate": 0.01}}
// with the same keys; rates are numbers, durations numbers of seconds,
// down_mode a string.
//
// Keys. Rates are fractions in [0, 1] of the requests a fault may apply to;
// the request classes are: a *download* is a GET/HEAD of a signed URL (its
// query carries `token=`) or of a `.../content` endpoint (turing, openai),
// every other request of the module is an *API* request (submit, poll,
// list, upload...):
//   5xx            API+download  answer 500, 502 or 503; NOT processed
//   429            API           answer 429 with Retry-After: retry_after; NOT processed
//   reset_before   API+download  connection reset (RST), request NOT processed
//   reset_after    API           request processed (a submit creates its task),
//                                then connection reset without an answer: the
//                                ambiguous case
//   malformed_json API           request processed, then its answer's body
//                                cut in half (invalid JSON), status kept
//   stall          API+download  request processed, headers sent, then no body
//                                byte for stall_s seconds, then close
//   truncate       download      headers with the full Content-Length, half
//                                the bytes, then close
//   html200        download      200 text/html error page instead of the bytes
//   never_finish   submit        the created task never leaves its running state
//   expire_early   URL           a signed download URL lives early_ttl_s
//                                seconds instead of the documented lifetime
//   concurrency_429_id    seedance2 submit: the task IS created (document:
//                         "已达最大并发数,任务已排队") and the answer is 429
//                         CONCURRENCY_LIMIT_REACHED with result.task_id
//   concurrency_429_noid  the same with "result": null (no task id)
// The API-class rates of one module are drawn together (one draw per
// request: at most one fault per request, 5xx first then in the order
// above), so their sum must be <= 1; the same for the download class.
// Parameters:
//   retry_after=S     Retry-After of injected 429s, whole seconds (default 1; not scaled)
//   stall_s=S         how long a stalled body stalls (default 30; not scaled: it is
//                     measured against the client's network timeouts)
//   early_ttl_s=S     lifetime of an early-expiring URL (default 5; not scaled, like url_ttl)
//   down=S            the whole module is down for S seconds (× time_scale) from
//                     down_at=S (default 0, × time_scale) after the plan was installed:
//                     every request answered 503 (down_mode=503, default) or reset
//                     without being processed (down_mode=drop)
//   cdn_outage=S      downloads answered 503 for S seconds (× time_scale) from
//                     cdn_outage_at=S after installation; the API keeps working
//
// Determinism: each draw is unit_hash(seed, n, salt) where n counts the
// module's requests (resp. submits, URLs by path) since the plan was
// installed, so the same seed and the same request sequence give the same
// faults.
//
// Errors: parse_fault_spec and fault_plan_from_json throw
// std::invalid_argument naming the bad item (unknown key, rate outside
// [0, 1] or NaN, negative duration, class rates summing above 1).
#pragma once

#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace reelbatch::emulator {

/// The injectable faults with a rate (see the table above).
enum class FaultKind {
  http_5xx,
  http_429,
  reset_before,
  reset_after,
  malformed_json,
  stall,
  truncate,
  html200,
  never_finish,
  expire_early,
  concurrency_429_id,
  concurrency_429_noid,
};
inline constexpr std::size_t kFaultKinds = 12;

/// The key of a kind in the text and JSON forms ("5xx", "reset_after", ...).
std::string_view fault_key(FaultKind k);
/// The kind named `key`; nullopt for any other word.
std::optional<FaultKind> fault_kind(std::string_view key);

/// One module's faults.
struct FaultRules {
  std::array<double, kFaultKinds> rate{};  ///< by FaultKind, each in [0, 1]
  std::int64_t retry_after_s = 1;
  std::int64_t stall_s = 30;
  std::int64_t early_ttl_s = 5;
  std::int64_t down_s = 0;      ///< 0: never down
  std::int64_t down_at_s = 0;
  bool down_drop = false;       ///< down_mode=drop (else 503)
  std::int64_t cdn_outage_s = 0;
  std::int64_t cdn_outage_at_s = 0;

  double operator[](FaultKind k) const { return rate[static_cast<std::size_t>(k)]; }
  double& operator[](FaultKind k) { return rate[static_cast<std::size_t>(k)]; }
  /// True when no fault at all is configured.
  bool empty() const;
};

/// Rules by module name; "*" applies to every module without its own entry.
struct FaultPlan {
  std::map<std::string, FaultRules, std::less<>> modules;

  /// The rules for module `name`: its own, else "*"'s, else none (empty).
  FaultRules rules_for(std::string_view name) const;
  bool empty() const;
};

/// Adds one text-form item list ("juhuo:5xx=0.1,429=0.05") to `plan`,
/// replacing the named provider's rules key by key (keys not given keep
/// their values). Throws std::invalid_argument as described above.
void parse_fault_spec(std::string_view spec, FaultPlan& plan);

/// The JSON form (object of provider -> object of key -> value) as a plan.
/// Throws std::invalid_argument as described above.
FaultPlan fault_plan_from_json(const boost::json::value& v);

/// The plan in JSON form (only keys that differ from the defaults).
boost::json::value to_json(const FaultPlan& plan);

/// The old global Options::fault_rate as a plan: "*" with 5xx = r/2,
/// 429 = r/4, reset_after = r/4 (r clamped to [0, 1]).
FaultPlan fault_plan_from_rate(double r);

}  // namespace reelbatch::emulator
