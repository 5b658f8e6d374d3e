#include "scheduler/backoff.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace reelbatch {

using std::chrono::milliseconds;

namespace {

using Rep = milliseconds::rep;

double clamp01(double r) {
  if (!(r > 0)) return 0;  // also NaN
  return r > 1 ? 1 : r;
}

Rep non_negative(milliseconds d) { return std::max<Rep>(0, d.count()); }

// min(cap, base * 2^attempt) without overflow.
Rep capped_exponential(int attempt, Rep base, Rep cap) {
  Rep v = std::min(base, cap);
  for (int i = 0; i < attempt && v > 0 && v < cap; ++i) v = (v > cap / 2) ? cap : v * 2;
  return v;
}

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

milliseconds backoff_delay(int attempt, milliseconds base, milliseconds cap, double random01) {
  const Rep exp = capped_exponential(std::max(0, attempt), non_negative(base), non_negative(cap));
  const Rep fixed = exp / 2;
  const Rep spread = exp - fixed;
  const auto jitter = static_cast<Rep>(std::floor(clamp01(random01) * static_cast<double>(spread)));
  return milliseconds(fixed + std::min(jitter, spread));
}

milliseconds next_poll_delay(const PollSchedule& s, int polls_done, int polls_since_state_change, double random01) {
  if (polls_done <= 0) return milliseconds(non_negative(s.first_wait));
  const Rep interval = non_negative(s.interval);
  const Rep max_interval = std::max(interval, non_negative(s.max_interval));
  const double growth = s.growth >= 1 ? s.growth : 1;  // also NaN -> 1
  const double grown = static_cast<double>(interval) * std::pow(growth, std::max(0, polls_since_state_change));
  const double base = std::min(static_cast<double>(max_interval), grown);
  const double jittered = base * (0.9 + 0.2 * clamp01(random01));
  const auto lo = static_cast<Rep>(std::ceil(static_cast<double>(interval) * 0.9));
  const double clamped = std::clamp(jittered, static_cast<double>(lo), static_cast<double>(max_interval));
  return milliseconds(std::clamp(static_cast<Rep>(std::llround(clamped)), lo, max_interval));
}

milliseconds retry_after_or_backoff(std::optional<milliseconds> retry_after, int attempt, milliseconds base,
                                    milliseconds cap, double random01) {
  if (retry_after) return std::clamp(*retry_after, milliseconds::zero(), kMaxRetryAfter);
  return backoff_delay(attempt, base, cap, random01);
}

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
  if (*at <= now) return milliseconds::zero();
  return std::chrono::ceil<milliseconds>(*at - now);
}

}  // namespace reelbatch
