// What every provider module does with its tasks, shared: the names of the
// task states, the task table kept in the state file (Options::state_file)
// and described by a field table instead of hand-written save/load code, the
// Submission record of an accepted submit, the deterministic failure draw,
// and moving a task through timed stages as emulated time elapses.
//
// None of this is in a provider document: it is the emulator's own
// bookkeeping (emulator.hpp, "Persistence" and "Time"). What a provider's
// document fixes (status words, stage lengths, envelopes) stays in the
// module, which hands it to these helpers as tables and callbacks.
//
// Errors: loading a malformed state throws std::runtime_error
// ("<module> state: missing field <key>", "<module> state: unknown status
// <word>") or the boost::system::system_error of a JSON value of the wrong
// kind; nothing else here throws except std::out_of_range from at().
#pragma once

#include "providers/emulator/emulator.hpp"
#include "providers/emulator/module_util.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace reelbatch::emulator {

// ---- state names ----------------------------------------------------------------

/// The words of a module's task-state enum `E`, in enum order (the provider
/// document's status words). `module` names the module in load errors.
template <class E, std::size_t N>
struct StatusNames {
  std::string_view module;
  std::array<std::string_view, N> names;

  /// The word of state `s`.
  constexpr std::string_view operator()(E s) const { return names[static_cast<std::size_t>(s)]; }
  /// True when `word` is one of the names.
  bool contains(std::string_view word) const { return std::find(names.begin(), names.end(), word) != names.end(); }
  /// The state named `word`; throws std::runtime_error("<module> state:
  /// unknown status <word>") for any other word.
  E parse(std::string_view word) const {
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == word) return static_cast<E>(i);
    throw std::runtime_error(std::string(module) + " state: unknown status " + std::string(word));
  }
};

// ---- field tables -----------------------------------------------------------------

/// One persisted member of a record `T`: its JSON key, how it is written and
/// how it is read back. Build with field().
template <class T>
struct Field {
  std::string_view key;
  std::function<boost::json::value(const T&)> save;
  std::function<void(T&, const boost::json::value&)> load;
};

/// How a member value is written to the state file: strings as strings, int
/// and int64 as int64, uint64 as uint64, bool, double, an array as is, an
/// empty optional as null.
boost::json::value state_value(const std::string& v);
boost::json::value state_value(int v);
boost::json::value state_value(std::int64_t v);
boost::json::value state_value(std::uint64_t v);
boost::json::value state_value(bool v);
boost::json::value state_value(double v);
boost::json::value state_value(const boost::json::array& v);
boost::json::value state_value(const std::optional<std::int64_t>& v);

/// The inverse of state_value(): numbers are converted (to_number) as long as
/// they fit; a value of another kind throws boost::system::system_error
/// (strings, bools, arrays) or std::invalid_argument-like boost errors (numbers).
void state_assign(std::string& out, const boost::json::value& v);
void state_assign(int& out, const boost::json::value& v);
void state_assign(std::int64_t& out, const boost::json::value& v);
void state_assign(std::uint64_t& out, const boost::json::value& v);
void state_assign(bool& out, const boost::json::value& v);
void state_assign(double& out, const boost::json::value& v);
void state_assign(boost::json::array& out, const boost::json::value& v);
void state_assign(std::optional<std::int64_t>& out, const boost::json::value& v);

/// A persisted member `T::*member` under `key` (types as state_value()).
template <class T, class M>
Field<T> field(std::string_view key, M T::*member) {
  return {key, [member](const T& t) { return state_value(t.*member); },
          [member](T& t, const boost::json::value& v) { state_assign(t.*member, v); }};
}

/// A persisted state-enum member, written as its word in `names` (which must
/// outlive the field: a namespace-scope constant).
template <class T, class E, std::size_t N>
Field<T> field(std::string_view key, E T::*member, const StatusNames<E, N>& names) {
  const auto* n = &names;
  return {key, [member, n](const T& t) { return boost::json::value((*n)(t.*member)); },
          [member, n](T& t, const boost::json::value& v) { t.*member = n->parse(v.as_string()); }};
}

/// The persisted members of a record `T`, in the order they are written.
template <class T>
class FieldTable {
 public:
  /// `module` names the module in load errors ("juhuo").
  FieldTable(std::string_view module, std::initializer_list<Field<T>> fields) : reader_(module), fields_(fields) {}

  /// The record as a JSON object, keys in table order.
  boost::json::object save(const T& t) const {
    boost::json::object o;
    for (const auto& f : fields_) o[f.key] = f.save(t);
    return o;
  }

  /// Reads every field of the table from `o` into `t` (other members keep
  /// their values). Throws as described at the top of this file.
  void load(const boost::json::object& o, T& t) const {
    for (const auto& f : fields_) f.load(t, reader_.at(o, f.key));
  }

  /// A default-constructed record with the fields read from `o`.
  T load(const boost::json::object& o) const {
    T t;
    load(o, t);
    return t;
  }

  /// The reader of this table's module, for fields kept outside tables.
  const StateReader& reader() const { return reader_; }

 private:
  StateReader reader_;
  std::vector<Field<T>> fields_;
};

/// A map key -> record saved as a JSON object of records (uploads by key).
template <class Map>
boost::json::object save_map(const Map& map, const FieldTable<typename Map::mapped_type>& table) {
  boost::json::object o;
  for (const auto& [key, v] : map) o[key] = table.save(v);
  return o;
}

/// The inverse of save_map(): replaces `map`'s contents.
template <class Map>
void load_map(const boost::json::value& v, Map& map, const FieldTable<typename Map::mapped_type>& table) {
  map.clear();
  for (const auto& kv : v.as_object()) map[std::string(kv.key())] = table.load(kv.value().as_object());
}

// ---- the task table ------------------------------------------------------------------

/// A module's tasks by id, with the submit counter `seq` (the n-th accepted
/// submit has seq n). `Task` has members `id` (std::string), `seq`
/// (std::uint64_t) and `account` (the key fingerprint, std::string).
/// Persisted as {"seq": n, <the module's other state>, "tasks": [<task>...]},
/// tasks in seq order, each written by the module's field table.
template <class Task>
class TaskStore {
 public:
  using Map = std::unordered_map<std::string, Task>;

  explicit TaskStore(FieldTable<Task> fields) : fields_(std::move(fields)) {}

  /// The seq of the last accepted submit (0: none yet).
  std::uint64_t seq() const { return seq_; }
  /// Counts one more accepted submit and returns its seq.
  std::uint64_t next_seq() { return ++seq_; }

  bool contains(const std::string& id) const { return tasks_.count(id) != 0; }
  /// The task `id`; throws std::out_of_range when there is none.
  Task& at(const std::string& id) { return tasks_.at(id); }
  const Task& at(const std::string& id) const { return tasks_.at(id); }
  /// The task `id`, or nullptr.
  Task* find(const std::string& id) {
    auto it = tasks_.find(id);
    return it == tasks_.end() ? nullptr : &it->second;
  }
  const Task* find(const std::string& id) const { return const_cast<TaskStore*>(this)->find(id); }
  /// The task `id` when it belongs to the account with key fingerprint `fp`;
  /// nullptr otherwise (another key's task is "not found", never "forbidden").
  Task* owned(const std::string& fp, const std::string& id) {
    Task* t = find(id);
    return t && t->account == fp ? t : nullptr;
  }
  const Task* owned(const std::string& fp, const std::string& id) const {
    return const_cast<TaskStore*>(this)->owned(fp, id);
  }

  /// The first id from `generate()` that no task has yet.
  template <class Generate>
  std::string new_id(Generate&& generate) const {
    for (;;) {
      std::string id = generate();
      if (!contains(id)) return id;
    }
  }

  /// Adds (or replaces) the task under its id and returns it.
  Task& insert(Task t) {
    std::string id = t.id;
    return tasks_.insert_or_assign(std::move(id), std::move(t)).first->second;
  }

  typename Map::iterator begin() { return tasks_.begin(); }
  typename Map::iterator end() { return tasks_.end(); }
  typename Map::const_iterator begin() const { return tasks_.begin(); }
  typename Map::const_iterator end() const { return tasks_.end(); }

  /// True when some task satisfies `pred(const Task&)`.
  template <class Pred>
  bool any_of(Pred&& pred) const {
    return std::any_of(tasks_.begin(), tasks_.end(), [&](const auto& kv) { return pred(kv.second); });
  }

  /// {"seq", then the members of `between` in order, then "tasks"}.
  boost::json::object save(boost::json::object between = {}) const {
    boost::json::object o{{"seq", seq_}};
    for (auto& kv : between) o[kv.key()] = std::move(kv.value());
    boost::json::array tasks;
    for (const Task* t : in_seq_order(tasks_)) tasks.push_back(fields_.save(*t));
    o["tasks"] = std::move(tasks);
    return o;
  }

  /// Replaces every task with those of `state` (save()'s output), in seq
  /// order, calling `loaded(Task&)` on each once it is stored (to rebuild the
  /// module's indexes, or to reject it by throwing). Throws as described at
  /// the top of this file.
  template <class Loaded>
  void load(const boost::json::object& state, Loaded&& loaded) {
    seq_ = fields_.reader().u64(state, "seq");
    tasks_.clear();
    for (const auto& tv : fields_.reader().at(state, "tasks").as_array()) loaded(insert(fields_.load(tv.as_object())));
  }

 private:
  FieldTable<Task> fields_;
  std::uint64_t seq_ = 0;
  Map tasks_;
};

// ---- accepting a submit ----------------------------------------------------------------

/// The Submission record of an accepted submit (emulator.hpp, Submission):
/// `body` is what the module records as the request (the raw JSON body, or
/// the module's JSON rendering of a multipart body), `received_at_ms` unix
/// ms, `video` and `cover` the exact bytes the task will serve (their sha256
/// and sizes are recorded; no cover: empty digest and 0 bytes).
Submission make_submission(std::string_view provider, std::string task_id, std::string api_key_fingerprint,
                           std::string body, std::int64_t received_at_ms, std::string_view video,
                           std::optional<std::string_view> cover = std::nullopt);

/// After a task was stored: records `sub`, persists the state and wakes the
/// ticker (Services::record_submission, state_changed, wake), in that order.
void announce_submission(const Services& s, Submission sub);

/// Runs `submit()` (which returns a Response) and counts a rejected submit
/// (Services::count_rejected_submit) when it accepted nothing, that is when
/// `tasks`' seq did not move.
template <class Task, class Submit>
Response count_rejected(const Services& s, const TaskStore<Task>& tasks, Submit&& submit) {
  const std::uint64_t before = tasks.seq();
  Response r = submit();
  if (tasks.seq() == before) s.count_rejected_submit();
  return r;
}

/// Whether the submit with sequence number `seq` is drawn to fail, and how:
/// it fails when unit_hash(seed, seq, "<salt>fail") < Options::fail_rate,
/// and then takes failure kind floor(unit_hash(seed, seq, "<salt>kind") × kinds)
/// (0 ≤ kind < kinds). nullopt: it succeeds (always when fail_rate ≤ 0 or
/// Services::options is null). `kinds` ≥ 1.
std::optional<std::size_t> draw_failure(const Services& s, std::uint64_t seq, std::string_view salt,
                                        std::size_t kinds);

// ---- time ----------------------------------------------------------------------------

/// Moves a task through timed stages up to `now` (unix ms): while
/// `length_ms()` (the current stage's length in unscaled ms, nullopt when
/// the stage is not timed, e.g. terminal) has elapsed since `stage_start`
/// (× Options::time_scale), sets `stage_start` to the stage's end and calls
/// `next(end)`, which moves the task to its next state. Returns true when at
/// least one stage ended.
template <class Length, class Next>
bool advance_stages(const Services& s, std::int64_t& stage_start, std::int64_t now, Length&& length_ms,
                    Next&& next) {
  bool moved = false;
  for (std::optional<std::int64_t> len = length_ms(); len; len = length_ms()) {
    const std::int64_t end = stage_start + s.scaled(std::chrono::milliseconds(*len)).count();
    if (now < end) break;
    moved = true;
    stage_start = end;
    next(end);
  }
  return moved;
}

}  // namespace reelbatch::emulator
