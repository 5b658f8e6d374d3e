// Readers for the answer shapes several APIs share once their envelope is
// unwrapped: a page of tasks {"data": [...], "total": n} (juhuo doc 7,
// seedance2 任务列表) and a credit balance of three numbers (juhuo doc 8,
// seedance2 余额查询). The field names and the item parser are the caller's.
//
// Error contract: nothing throws except std::bad_alloc; a problem comes back
// as the text of a "bad_response" (the caller wraps it with its provider's
// wording).
#pragma once

#include "providers/kit/util.hpp"
#include "providers/provider.hpp"
#include "src/core/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace reelbatch::kit {

/// The page in `o`: `data` an array of tasks (null: none), each parsed by
/// `item(const json::value&) -> Result<TaskStatus, std::string>`, in the
/// API's order; `total` an integer (absent or null: the item count;
/// `numeric_string_total` also accepts a decimal string). Errors: "task list
/// without data", "task list data is not an array", "task list item <i>:
/// <why>", "total is not an integer".
template <class Item>
Result<TaskPage, std::string> read_task_page(const boost::json::object& o, Item&& item, bool numeric_string_total) {
  TaskPage page;
  const boost::json::value* data = o.if_contains("data");
  if (!data) return fail(std::string("task list without data"));
  if (!data->is_null()) {
    const boost::json::array* arr = data->if_array();
    if (!arr) return fail(std::string("task list data is not an array"));
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto t = item((*arr)[i]);
      if (!t) return fail("task list item " + std::to_string(i) + ": " + t.error());
      page.tasks.push_back(std::move(t).value());
    }
  }
  std::optional<std::int64_t> total;
  std::string why;
  if (!read_int64(o, "total", total, why, numeric_string_total)) return fail(std::move(why));
  page.total = total.value_or(static_cast<std::int64_t>(page.tasks.size()));
  return page;
}

/// An unwrapped answer's result object, read: the error of `unwrapped` as
/// it is; `bad(std::string what)` (the provider's bad_response bound to the
/// answer's HTTP status, profile and Op) with `not_object` when the result is
/// not a JSON object, or with the reader's text when `read(const
/// json::object&) -> Result<T, std::string>` fails; otherwise what `read`
/// returns. For envelopes whose payload is one object (juhuo doc 3.3,
/// seedance2 通用响应).
template <class T, class Bad, class Read>
Result<T, ProviderError> read_result_object(const Result<boost::json::value, ProviderError>& unwrapped,
                                            std::string_view not_object, Bad&& bad, Read&& read) {
  if (!unwrapped) return fail(unwrapped.error());
  const boost::json::object* o = unwrapped->if_object();
  if (!o) return fail(bad(std::string(not_object)));
  auto v = read(*o);
  if (!v) return fail(bad(std::move(v).error()));
  return std::move(v).value();
}

/// Credits from three required fields of `o` (numbers or numeric strings,
/// see read_number()). Error: "balance: <why>" ("balance: missing
/// totalCredits", ...).
inline Result<Balance, std::string> read_balance(const boost::json::object& o, std::string_view total_key,
                                                 std::string_view used_key, std::string_view remain_key) {
  std::optional<double> total, used, remain;
  std::string why;
  if (!read_number(o, total_key, true, total, why) || !read_number(o, used_key, true, used, why) ||
      !read_number(o, remain_key, true, remain, why))
    return fail("balance: " + why);
  return Balance{*total, *used, *remain};
}

}  // namespace reelbatch::kit
