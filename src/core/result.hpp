// A value or an expected error, for outcomes that depend on input (a provider
// rejects a row, a task is not found). Infrastructure failures throw instead.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace reelbatch {

template <class E>
struct Failure {
  E error;
};

/// Returns a Failure wrapper, convertible to any Result<T, E>.
template <class E>
Failure<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}

/// Result<T, E> holds either a T (success) or an E (expected failure).
template <class T, class E>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Failure<E> f) : v_(std::in_place_index<1>, std::move(f.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; precondition: has_value().
  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  /// The error; precondition: !has_value().
  E& error() & { assert(!has_value()); return std::get<1>(v_); }
  const E& error() const& { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace reelbatch
