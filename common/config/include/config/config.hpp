// Configuration for every binary: a Schema declares each setting (type, default, limits, help);
// load() layers defaults < TOML file (--config) < environment (PREFIX_SECTION_KEY) < flags
// (--section.key=value). An unknown key or a bad value is an error naming the key and where it
// came from; load_or_exit() prints that one line and exits 2 (DESIGN.md §4). Schema and Values
// are plain values: build them at start-up, then read from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace config {

enum class Type { kString, kInt, kDouble, kBool };

struct Setting {
  std::string key;  // dotted: "http.port"
  Type type = Type::kString;
  std::string default_value;  // textual, parsed like any other source
  std::string help;
  std::int64_t int_min = 0, int_max = 0;
  double double_min = 0, double_max = 0;
  std::vector<std::string> choices;  // for strings; empty = any
};

class Schema {
 public:
  // env_prefix "GUARDRAIL_SIM" makes http.port readable from GUARDRAIL_SIM_HTTP_PORT.
  Schema(std::string program, std::string env_prefix, std::string summary);

  Schema& add_string(std::string key, std::string default_value, std::string help,
                     std::vector<std::string> choices = {});
  Schema& add_int(std::string key, std::int64_t default_value, std::int64_t min, std::int64_t max,
                  std::string help);
  Schema& add_double(std::string key, double default_value, double min, double max,
                     std::string help);
  Schema& add_bool(std::string key, bool default_value, std::string help);

  const Setting* find(std::string_view key) const;
  const std::vector<Setting>& settings() const { return settings_; }
  const std::string& program() const { return program_; }
  std::string env_name(std::string_view key) const;
  std::string help_text() const;

 private:
  std::string program_, env_prefix_, summary_;
  std::vector<Setting> settings_;
};

// Resolved settings. Getters take a key the schema declared (asking for another is a programming
// error and throws std::logic_error at start-up).
class Values {
 public:
  std::string get_string(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_double(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  // Where the value came from: "default", "file", "env", "flag".
  std::string source(std::string_view key) const;
  // "key=value\n" for every setting, sorted by key: the input of the config digest in evidence.
  std::string canonical_text() const;

  struct Entry {
    Type type;
    std::string text;
    std::string source;
  };
  std::map<std::string, Entry, std::less<>> entries;
};

enum ErrorCode : int {
  kUnknownKey = 1,
  kBadValue = 2,
  kBadFile = 3,
  kBadFlag = 4,
};

struct Loaded {
  bool help_requested = false;
  // --check-config: every source was read and every value is valid; the binary prints that and
  // exits 0 without starting (deployment checks run it on a ConfigMap's TOML).
  bool check_requested = false;
  Values values;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// argv[0] is skipped. `env` defaults to getenv.
core::Result<Loaded> load(const Schema& schema, int argc, const char* const* argv,
                          const EnvLookup& env = {});

// For main(): prints help and exits 0 on --help, prints the one-line error and exits 2 on failure,
// prints "configuration OK" and exits 0 on --check-config.
Values load_or_exit(const Schema& schema, int argc, const char* const* argv);

}  // namespace config
