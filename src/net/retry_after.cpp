#include "src/net/retry_after.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace reelbatch {

using std::chrono::milliseconds;

namespace {

using Rep = milliseconds::rep;

// ---- HTTP-date (RFC 9110, section 5.6.7) ------------------------------------

constexpr std::array<std::string_view, 7> kDayNames{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                        "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A cursor over the field value; every read either consumes exactly what it
// expects or fails.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool done() const { return s_.empty(); }

  bool lit(std::string_view t) {
    if (!s_.starts_with(t)) return false;
    s_.remove_prefix(t.size());
    return true;
  }

  // Exactly n decimal digits.
  bool digits(int n, int& out) {
    if (s_.size() < static_cast<std::size_t>(n)) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      const char c = s_[static_cast<std::size_t>(i)];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    s_.remove_prefix(static_cast<std::size_t>(n));
    out = v;
    return true;
  }

  // A run of ASCII letters.
  std::string_view word() {
    std::size_t n = 0;
    while (n < s_.size() && ((s_[n] >= 'A' && s_[n] <= 'Z') || (s_[n] >= 'a' && s_[n] <= 'z'))) ++n;
    const auto w = s_.substr(0, n);
    s_.remove_prefix(n);
    return w;
  }

  // A month name; out is 1..12.
  bool month(unsigned& out) {
    const auto w = word();
    for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
      if (w == kMonthNames[i]) {
        out = static_cast<unsigned>(i + 1);
        return true;
      }
    }
    return false;
  }

  // hour ":" minute ":" second, 00:00:00 - 23:59:60 (leap second).
  bool time_of_day(std::chrono::seconds& out) {
    int h = 0, m = 0, s = 0;
    if (!digits(2, h) || !lit(":") || !digits(2, m) || !lit(":") || !digits(2, s)) return false;
    if (h > 23 || m > 59 || s > 60) return false;
    out = std::chrono::hours(h) + std::chrono::minutes(m) + std::chrono::seconds(s);
    return true;
  }

 private:
  std::string_view s_;
};

template <std::size_t N>
bool one_of(std::string_view w, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), w) != names.end();
}

std::optional<std::chrono::sys_seconds> make_time(int year, unsigned month, int day, std::chrono::seconds tod) {
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd) + tod;
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view v, std::chrono::system_clock::time_point now) {
  Cursor c(v);
  const auto day_name = c.word();
  unsigned month = 0;
  int day = 0, year = 0;
  std::chrono::seconds tod{};
  if (c.lit(", ")) {
    if (one_of(day_name, kDayNames)) {
      // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
      if (!c.digits(2, day) || !c.lit(" ") || !c.month(month) || !c.lit(" ") || !c.digits(4, year) ||
          !c.lit(" ") || !c.time_of_day(tod) || !c.lit(" GMT") || !c.done())
        return std::nullopt;
      return make_time(year, month, day, tod);
    }
    if (one_of(day_name, kLongDayNames)) {
      // rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
      int yy = 0;
      if (!c.digits(2, day) || !c.lit("-") || !c.month(month) || !c.lit("-") || !c.digits(2, yy) ||
          !c.lit(" ") || !c.time_of_day(tod) || !c.lit(" GMT") || !c.done())
        return std::nullopt;
      const int now_year = static_cast<int>(
          std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
      year = now_year / 100 * 100 + yy;
      if (year > now_year + 50) year -= 100;
      return make_time(year, month, day, tod);
    }
    return std::nullopt;
  }
  // asctime-date: Sun Nov  6 08:49:37 1994
  if (!one_of(day_name, kDayNames) || !c.lit(" ") || !c.month(month) || !c.lit(" ")) return std::nullopt;
  if (c.lit(" ")) {
    if (!c.digits(1, day)) return std::nullopt;
  } else if (!c.digits(2, day)) {
    return std::nullopt;
  }
  if (!c.lit(" ") || !c.time_of_day(tod) || !c.lit(" ") || !c.digits(4, year) || !c.done()) return std::nullopt;
  return make_time(year, month, day, tod);
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<milliseconds> parse_retry_after(std::string_view header_value,
                                              std::chrono::system_clock::time_point now) {
  const std::string_view v = trim_ows(header_value);
  if (v.empty()) return std::nullopt;

  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    constexpr Rep kMaxSeconds = std::numeric_limits<Rep>::max() / 1000;
    Rep secs = 0;
    for (char c : v) {
      secs = secs * 10 + (c - '0');
      if (secs >= kMaxSeconds) return milliseconds(kMaxSeconds * 1000);
    }
    return milliseconds(secs * 1000);
  }

  const auto at = parse_http_date(v, now);
  if (!at) return std::nullopt;
  // Compared in milliseconds, not in system_clock's nanoseconds: a date
  // before 1678 or after 2262 (year 1013, 9999) does not fit in those and
  // overflowed (found by fuzz_retry_after). *at is whole seconds, so
  // ceil(at - now) is at - floor(now).
  const auto at_ms = std::chrono::time_point_cast<milliseconds>(*at);
  const auto now_ms = std::chrono::floor<milliseconds>(now);
  if (at_ms <= now_ms) return milliseconds::zero();
  return at_ms - now_ms;
}

}  // namespace reelbatch
