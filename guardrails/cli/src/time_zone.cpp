#include "guardrails/cli/time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace guardrails::cli {
namespace {

constexpr std::int64_t kDay = 86'400;

std::int64_t be(std::string_view b, std::size_t at, int size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(size); ++i) {
    v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  }
  if (size == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146'097 + static_cast<std::int64_t>(doe) - 719'468;
}

std::int64_t year_of(std::int64_t days) {  // civil_from_days, the year only
  days += 719'468;
  const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(days - era * 146'097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  return mp >= 10 ? y + 1 : y;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// A cursor over the POSIX TZ string.
struct Cursor {
  std::string_view s;
  std::size_t at = 0;
  bool done() const { return at >= s.size(); }
  char peek() const { return done() ? '\0' : s[at]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++at;
    return true;
  }
  bool number(int& out, int max_digits) {
    int digits = 0;
    out = 0;
    while (!done() && std::isdigit(static_cast<unsigned char>(peek())) && digits < max_digits) {
      out = out * 10 + (s[at++] - '0');
      ++digits;
    }
    return digits > 0;
  }
  bool name() {  // alphabetic, or <...> quoted
    if (eat('<')) {
      while (!done() && peek() != '>') ++at;
      return eat('>');
    }
    const std::size_t start = at;
    while (!done() && std::isalpha(static_cast<unsigned char>(peek()))) ++at;
    return at - start >= 3;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool hms(std::int64_t& out) {
    const bool negative = eat('-');
    if (!negative) eat('+');
    int h = 0, m = 0, sec = 0;
    if (!number(h, 3)) return false;
    if (eat(':') && (!number(m, 2) || (eat(':') && !number(sec, 2)))) return false;
    out = (negative ? -1 : 1) * (std::int64_t{h} * 3600 + m * 60 + sec);
    return true;
  }
};

}  // namespace

std::optional<TimeZone::Rule> TimeZone::parse_rule(std::string_view text) {
  Cursor c{text};
  Rule rule;
  std::int64_t west = 0;
  if (!c.name() || !c.hms(west)) return std::nullopt;
  rule.std_offset = -west;  // POSIX offsets count west of Greenwich
  if (c.done()) return rule;
  if (!c.name()) return std::nullopt;
  rule.has_dst = true;
  rule.dst_offset = rule.std_offset + 3600;
  if (c.peek() != ',' && !c.done()) {
    if (!c.hms(west)) return std::nullopt;
    rule.dst_offset = -west;
  }
  for (Rule::When* when : {&rule.start, &rule.end}) {
    if (!c.eat(',')) return std::nullopt;
    if (c.eat('M')) {
      when->kind = 'M';
      if (!c.number(when->month, 2) || !c.eat('.') || !c.number(when->week, 1) || !c.eat('.') ||
          !c.number(when->day, 1) || when->month < 1 || when->month > 12 || when->week < 1 ||
          when->week > 5 || when->day > 6) {
        return std::nullopt;
      }
    } else if (c.eat('J')) {
      when->kind = 'J';
      if (!c.number(when->day, 3) || when->day < 1 || when->day > 365) return std::nullopt;
    } else {
      when->kind = 'n';
      if (!c.number(when->day, 3) || when->day > 365) return std::nullopt;
    }
    if (c.eat('/') && !c.hms(when->time)) return std::nullopt;
  }
  if (!c.done()) return std::nullopt;
  return rule;
}

std::int64_t TimeZone::rule_offset(const Rule& rule, std::int64_t utc_seconds) {
  if (!rule.has_dst) return rule.std_offset;
  const std::int64_t year = year_of((utc_seconds + rule.std_offset) / kDay -
                                    ((utc_seconds + rule.std_offset) % kDay < 0 ? 1 : 0));
  // Local midnight (as days since 1970) of the day a transition falls on in `year`.
  const auto day_of = [&](const Rule::When& w) -> std::int64_t {
    if (w.kind == 'J') {
      std::int64_t d = w.day - 1;  // 0-based, February 29 never counted
      if (leap(year) && w.day >= 60) ++d;
      return days_from_civil(year, 1, 1) + d;
    }
    if (w.kind == 'n') return days_from_civil(year, 1, 1) + w.day;
    const std::int64_t first = days_from_civil(year, w.month, 1);
    const int first_weekday = static_cast<int>(((first % 7) + 11) % 7);  // 1970-01-01: Thursday
    std::int64_t day = first + (w.day - first_weekday + 7) % 7 + 7 * (w.week - 1);
    while (day >= first + days_in_month(year, w.month)) day -= 7;
    return day;
  };
  // The start is given in standard time, the end in daylight time.
  const std::int64_t start = day_of(rule.start) * kDay + rule.start.time - rule.std_offset;
  const std::int64_t end = day_of(rule.end) * kDay + rule.end.time - rule.dst_offset;
  const bool dst = start < end ? (utc_seconds >= start && utc_seconds < end)
                               : !(utc_seconds >= end && utc_seconds < start);
  return dst ? rule.dst_offset : rule.std_offset;
}

std::optional<TimeZone> TimeZone::parse(std::string_view b) {
  const auto header = [&](std::size_t at, std::int64_t counts[6]) {
    if (b.size() < at + 44 || b.substr(at, 4) != "TZif") return false;
    for (int i = 0; i < 6; ++i) counts[i] = be(b, at + 20 + 4 * static_cast<std::size_t>(i), 4);
    for (int i = 0; i < 6; ++i) {
      if (counts[i] < 0 || counts[i] > 100'000) return false;
    }
    return true;
  };
  std::int64_t v1[6];
  if (!header(0, v1) || b[4] < '2') return std::nullopt;  // version 2+: 64-bit data
  const auto block_size = [](const std::int64_t n[6], std::int64_t time_size) {
    // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    return n[3] * time_size + n[3] + n[4] * 6 + n[5] + n[2] * (time_size + 4) + n[1] + n[0];
  };
  const auto second = static_cast<std::size_t>(44 + block_size(v1, 4));
  std::int64_t n[6];
  if (!header(second, n)) return std::nullopt;
  const std::size_t data = second + 44;
  const auto size = static_cast<std::size_t>(block_size(n, 8));
  if (b.size() < data + size || n[4] == 0) return std::nullopt;
  TimeZone tz;
  const auto timecnt = static_cast<std::size_t>(n[3]);
  const auto typecnt = static_cast<std::size_t>(n[4]);
  for (std::size_t i = 0; i < timecnt; ++i) tz.transitions_.push_back(be(b, data + 8 * i, 8));
  for (std::size_t i = 0; i < timecnt; ++i) {
    const auto type = static_cast<std::uint8_t>(b[data + 8 * timecnt + i]);
    if (type >= typecnt) return std::nullopt;
    tz.transition_type_.push_back(type);
  }
  const std::size_t types = data + 9 * timecnt;
  for (std::size_t i = 0; i < typecnt; ++i) tz.offsets_.push_back(be(b, types + 6 * i, 4));
  if (!std::is_sorted(tz.transitions_.begin(), tz.transitions_.end())) return std::nullopt;
  // The footer: "\n<POSIX TZ string>\n" (empty when the file has no rule).
  const std::size_t footer = data + size;
  if (footer < b.size() && b[footer] == '\n') {
    const std::size_t close = b.find('\n', footer + 1);
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view text = b.substr(footer + 1, close - footer - 1);
    if (!text.empty()) {
      tz.rule_ = parse_rule(text);
      if (!tz.rule_) return std::nullopt;
    }
  }
  return tz;
}

std::optional<TimeZone> TimeZone::load(const std::string& name, const std::string& directory) {
  if (name == "UTC") {
    TimeZone utc;
    utc.offsets_ = {0};
    return utc;
  }
  // A zone name is letters, digits and "/_-+"; never "..".
  if (name.empty() || name.find("..") != std::string::npos || name.front() == '/') {
    return std::nullopt;
  }
  for (const char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '/' && ch != '_' && ch != '-' &&
        ch != '+') {
      return std::nullopt;
    }
  }
  std::ifstream in(directory + "/" + name, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return parse(bytes.str());
}

std::int64_t TimeZone::offset_at(std::int64_t utc_seconds) const {
  if (transitions_.empty() || utc_seconds < transitions_.front()) {
    if (transitions_.empty() && rule_) return rule_offset(*rule_, utc_seconds);
    return offsets_.front();  // before the first transition: the first local time type
  }
  if (utc_seconds >= transitions_.back() && rule_) return rule_offset(*rule_, utc_seconds);
  const auto after = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  return offsets_[transition_type_[static_cast<std::size_t>(after - transitions_.begin()) - 1]];
}

}  // namespace guardrails::cli
