// TimeZone: UTC offsets of one IANA zone, read from its TZif file (RFC 8536) and, past the last
// transition in the file, from the file's POSIX TZ rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3").
// It replaces setenv("TZ") + localtime_r, which changes the whole process's time zone.
// Immutable after load(); safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardrails::cli {

class TimeZone {
 public:
  // Parses TZif bytes (version 2 or later: 64-bit times and the footer rule); nullopt when they
  // are not a valid TZif file.
  static std::optional<TimeZone> parse(std::string_view bytes);
  // Reads /usr/share/zoneinfo/<name> (or `directory`/<name>); "UTC" always works.
  static std::optional<TimeZone> load(const std::string& name,
                                      const std::string& directory = "/usr/share/zoneinfo");

  // Seconds to add to a UTC instant (seconds since 1970) to get local time.
  std::int64_t offset_at(std::int64_t utc_seconds) const;

 private:
  struct Rule {                                   // the POSIX TZ footer
    std::int64_t std_offset = 0, dst_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    struct When {
      char kind = 'M';  // 'M' month.week.day, 'J' 1..365 without Feb 29, 'n' 0..365
      int month = 0, week = 0, day = 0;
      std::int64_t time = 7200;  // seconds after local midnight
    } start, end;
  };
  static std::optional<Rule> parse_rule(std::string_view text);
  static std::int64_t rule_offset(const Rule& rule, std::int64_t utc_seconds);

  std::vector<std::int64_t> transitions_;      // UTC seconds, ascending
  std::vector<std::uint8_t> transition_type_;  // index into offsets_
  std::vector<std::int64_t> offsets_;          // seconds east of UTC, per local time type
  std::optional<Rule> rule_;
};

}  // namespace guardrails::cli
