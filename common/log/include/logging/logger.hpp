// JSON-lines logger (DESIGN.md §4): one object per line on stdout with ts, level, component, msg
// and typed fields, ready for Fluent Bit / Fluentd. Each line is formatted in a thread-local
// buffer (no allocation once warm) and written with one write(2), so lines never interleave.
// Thread-safe. Never pass passwords, tokens or whole FIX messages as fields.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace logging {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

std::string_view to_string(Level level);
// "debug" | "info" | "warn" | "error" | "off"; false for anything else.
bool parse_level(std::string_view text, Level& out);

// One key/value of a log line. Holds views: the referenced strings must outlive the call.
class Field {
 public:
  enum class Kind { kString, kInt, kUint, kDouble, kBool };

  Field(std::string_view key, std::string_view value)
      : key_(key), kind_(Kind::kString), s_(value) {}
  Field(std::string_view key, const char* value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, bool value) : key_(key), kind_(Kind::kBool), b_(value) {}
  Field(std::string_view key, double value) : key_(key), kind_(Kind::kDouble), d_(value) {}
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Field(std::string_view key, T value)
      : key_(key) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      i_ = value;
    } else {
      kind_ = Kind::kUint;
      u_ = value;
    }
  }

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view string_value() const { return s_; }
  std::int64_t int_value() const { return i_; }
  std::uint64_t uint_value() const { return u_; }
  double double_value() const { return d_; }
  bool bool_value() const { return b_; }

 private:
  std::string_view key_;
  Kind kind_ = Kind::kString;
  std::string_view s_;
  std::int64_t i_ = 0;
  std::uint64_t u_ = 0;
  double d_ = 0;
  bool b_ = false;
};

using Fields = std::initializer_list<Field>;
// Receives one complete line including the trailing '\n'.
using Sink = std::function<void(std::string_view line)>;

// Process-wide settings. set_* are meant for start-up and tests.
void set_level(Level level);
Level level();
inline bool enabled(Level l) { return l >= level(); }
// Replaces the stdout sink (tests). An empty Sink restores stdout.
void set_sink(Sink sink);

void write(Level level, std::string_view component, std::string_view msg, Fields fields = {});

inline void debug(std::string_view component, std::string_view msg, Fields fields = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, component, msg, fields);
}
inline void info(std::string_view component, std::string_view msg, Fields fields = {}) {
  if (enabled(Level::kInfo)) write(Level::kInfo, component, msg, fields);
}
inline void warn(std::string_view component, std::string_view msg, Fields fields = {}) {
  if (enabled(Level::kWarn)) write(Level::kWarn, component, msg, fields);
}
inline void error(std::string_view component, std::string_view msg, Fields fields = {}) {
  if (enabled(Level::kError)) write(Level::kError, component, msg, fields);
}

// Appends `text` to `out` as the inside of a JSON string (quotes not included). Exposed because
// the HTTP error bodies need the same escaping.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace logging
