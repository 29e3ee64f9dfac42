#include "config/config.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace config {

namespace {

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kString:
      return "string";
    case Type::kInt:
      return "integer";
    case Type::kDouble:
      return "number";
    case Type::kBool:
      return "boolean";
  }
  return "?";
}

// Checks `text` against the setting; returns the normalised text or an error message.
core::Result<std::string, std::string> validate(const Setting& s, std::string_view text) {
  switch (s.type) {
    case Type::kString:
      if (!s.choices.empty()) {
        for (const auto& c : s.choices) {
          if (c == text) return std::string(text);
        }
        std::string list;
        for (const auto& c : s.choices) list += (list.empty() ? "" : "|") + c;
        return tl::unexpected(fmt::format("expected one of {}, got \"{}\"", list, text));
      }
      return std::string(text);
    case Type::kInt: {
      std::int64_t v = 0;
      const auto* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (text.empty() || ec != std::errc() || ptr != end || v < s.int_min || v > s.int_max) {
        return tl::unexpected(
            fmt::format("expected an integer in {}..{}, got \"{}\"", s.int_min, s.int_max, text));
      }
      return std::to_string(v);
    }
    case Type::kDouble: {
      double v = 0;
      const auto* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (text.empty() || ec != std::errc() || ptr != end ||
          !(v >= s.double_min && v <= s.double_max)) {
        return tl::unexpected(fmt::format("expected a number in {}..{}, got \"{}\"", s.double_min,
                                          s.double_max, text));
      }
      return std::string(text);
    }
    case Type::kBool:
      if (text == "true" || text == "1" || text == "yes" || text == "on")
        return std::string("true");
      if (text == "false" || text == "0" || text == "no" || text == "off")
        return std::string("false");
      return tl::unexpected(fmt::format("expected true or false, got \"{}\"", text));
  }
  return tl::unexpected(std::string("unknown type"));
}

core::Result<void> assign(const Schema& schema, Values& values, std::string_view key,
                          std::string_view text, std::string_view source) {
  const Setting* s = schema.find(key);
  if (s == nullptr) {
    return core::fail(kUnknownKey, fmt::format("config: unknown key '{}' (from {})", key, source));
  }
  auto ok = validate(*s, text);
  if (!ok) {
    return core::fail(kBadValue, fmt::format("config: {}: {} (from {})", key, ok.error(), source));
  }
  auto& e = values.entries[std::string(key)];
  e.type = s->type;
  e.text = std::move(*ok);
  e.source = std::string(source.substr(0, source.find(' ')));
  return {};
}

// Flattens a TOML table into dotted keys and assigns each.
core::Result<void> assign_table(const Schema& schema, Values& values, const toml::table& table,
                                const std::string& prefix, const std::string& file) {
  for (const auto& [k, node] : table) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const std::string where = fmt::format("file {}", file);
    if (const auto* sub = node.as_table()) {
      if (auto r = assign_table(schema, values, *sub, key, file); !r) return r;
      continue;
    }
    const Setting* s = schema.find(key);
    if (s == nullptr) {
      return core::fail(kUnknownKey, fmt::format("config: unknown key '{}' (from {})", key, where));
    }
    std::string text;
    bool type_ok = true;
    switch (s->type) {
      case Type::kString:
        if (const auto* v = node.as_string())
          text = v->get();
        else
          type_ok = false;
        break;
      case Type::kInt:
        if (const auto* v = node.as_integer())
          text = std::to_string(v->get());
        else
          type_ok = false;
        break;
      case Type::kDouble:
        if (const auto* v = node.as_floating_point())
          text = fmt::format("{}", v->get());
        else if (const auto* i = node.as_integer())
          text = std::to_string(i->get());
        else
          type_ok = false;
        break;
      case Type::kBool:
        if (const auto* v = node.as_boolean())
          text = v->get() ? "true" : "false";
        else
          type_ok = false;
        break;
    }
    if (!type_ok) {
      return core::fail(kBadValue, fmt::format("config: {}: expected a {} (from {})", key,
                                               type_name(s->type), where));
    }
    if (auto r = assign(schema, values, key, text, where); !r) return r;
  }
  return {};
}

const Values::Entry& entry(const Values& v, std::string_view key, Type type) {
  auto it = v.entries.find(key);
  if (it == v.entries.end() || it->second.type != type) {
    throw std::logic_error(
        fmt::format("config: '{}' is not a declared {} setting", key, type_name(type)));
  }
  return it->second;
}

}  // namespace

Schema::Schema(std::string program, std::string env_prefix, std::string summary)
    : program_(std::move(program)),
      env_prefix_(std::move(env_prefix)),
      summary_(std::move(summary)) {}

Schema& Schema::add_string(std::string key, std::string default_value, std::string help,
                           std::vector<std::string> choices) {
  Setting s;
  s.key = std::move(key);
  s.type = Type::kString;
  s.default_value = std::move(default_value);
  s.help = std::move(help);
  s.choices = std::move(choices);
  settings_.push_back(std::move(s));
  return *this;
}

Schema& Schema::add_int(std::string key, std::int64_t default_value, std::int64_t min,
                        std::int64_t max, std::string help) {
  Setting s;
  s.key = std::move(key);
  s.type = Type::kInt;
  s.default_value = std::to_string(default_value);
  s.help = std::move(help);
  s.int_min = min;
  s.int_max = max;
  settings_.push_back(std::move(s));
  return *this;
}

Schema& Schema::add_double(std::string key, double default_value, double min, double max,
                           std::string help) {
  Setting s;
  s.key = std::move(key);
  s.type = Type::kDouble;
  s.default_value = fmt::format("{}", default_value);
  s.help = std::move(help);
  s.double_min = min;
  s.double_max = max;
  settings_.push_back(std::move(s));
  return *this;
}

Schema& Schema::add_bool(std::string key, bool default_value, std::string help) {
  Setting s;
  s.key = std::move(key);
  s.type = Type::kBool;
  s.default_value = default_value ? "true" : "false";
  s.help = std::move(help);
  settings_.push_back(std::move(s));
  return *this;
}

const Setting* Schema::find(std::string_view key) const {
  for (const auto& s : settings_) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string Schema::env_name(std::string_view key) const {
  std::string name = env_prefix_ + "_";
  for (char c : key) {
    name.push_back(c == '.' || c == '-'
                       ? '_'
                       : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return name;
}

std::string Schema::help_text() const {
  std::string out =
      fmt::format("{} - {}\n\nUsage: {} [--config FILE] [--KEY=VALUE ...] [--check-config]\n\n",
                  program_, summary_, program_);
  out +=
      "Each setting is read, later ones winning, from: its default, the TOML file given by\n"
      "--config (section.key), the environment variable shown, and the flag "
      "--section.key=VALUE.\n--check-config reads them all, says whether they are valid and exits "
      "(0 when they are, 2 naming the first that is not).\n\n";
  for (const auto& s : settings_) {
    std::string range;
    if (s.type == Type::kInt) range = fmt::format(" [{}..{}]", s.int_min, s.int_max);
    if (s.type == Type::kDouble) range = fmt::format(" [{}..{}]", s.double_min, s.double_max);
    if (!s.choices.empty()) {
      range = " [";
      for (std::size_t i = 0; i < s.choices.size(); ++i) range += (i ? "|" : "") + s.choices[i];
      range += "]";
    }
    out += fmt::format("  --{}  ({}{}, default \"{}\", env {})\n      {}\n", s.key,
                       type_name(s.type), range, s.default_value, env_name(s.key), s.help);
  }
  return out;
}

std::string Values::get_string(std::string_view key) const {
  return entry(*this, key, Type::kString).text;
}
std::int64_t Values::get_int(std::string_view key) const {
  return std::strtoll(entry(*this, key, Type::kInt).text.c_str(), nullptr, 10);
}
double Values::get_double(std::string_view key) const {
  return std::strtod(entry(*this, key, Type::kDouble).text.c_str(), nullptr);
}
bool Values::get_bool(std::string_view key) const {
  return entry(*this, key, Type::kBool).text == "true";
}

std::string Values::source(std::string_view key) const {
  auto it = entries.find(key);
  return it == entries.end() ? std::string() : it->second.source;
}

std::string Values::canonical_text() const {
  std::string out;
  for (const auto& [k, e] : entries) {
    // Secrets never reach the digest (it is written to evidence and logs).
    const bool secret = k.ends_with("token") || k.ends_with("password") || k.ends_with("secret");
    out += k + "=" + (secret ? std::string("<redacted>") : e.text) + "\n";
  }
  return out;
}

core::Result<Loaded> load(const Schema& schema, int argc, const char* const* argv,
                          const EnvLookup& env_in) {
  EnvLookup env = env_in ? env_in : [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  Loaded loaded;
  Values& values = loaded.values;
  for (const auto& s : schema.settings()) {
    if (auto r = assign(schema, values, s.key, s.default_value, "default"); !r)
      return tl::unexpected(r.error());
  }

  // Split flags first: --help and --config are handled before the others are applied.
  std::optional<std::string> config_file;
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      loaded.help_requested = true;
      return loaded;
    }
    if (arg == "--check-config") {
      loaded.check_requested = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      return core::fail(kBadFlag,
                        fmt::format("config: unexpected argument '{}' (see --help)", arg));
    }
    arg.remove_prefix(2);
    std::string key, value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      key = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      key = std::string(arg);
      if (i + 1 >= argc)
        return core::fail(kBadFlag, fmt::format("config: --{} needs a value", key));
      value = argv[++i];
    }
    if (key == "config") {
      config_file = value;
    } else {
      flags.emplace_back(std::move(key), std::move(value));
    }
  }

  if (config_file) {
    toml::table table;
    try {
      table = toml::parse_file(*config_file);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      return core::fail(kBadFile, fmt::format("config: {}:{}:{}: {}", *config_file, where.line,
                                              where.column, e.description()));
    }
    if (auto r = assign_table(schema, values, table, "", *config_file); !r)
      return tl::unexpected(r.error());
  }
  for (const auto& s : schema.settings()) {
    const std::string name = schema.env_name(s.key);
    if (auto v = env(name)) {
      if (auto r = assign(schema, values, s.key, *v, "env " + name); !r)
        return tl::unexpected(r.error());
    }
  }
  for (const auto& [k, v] : flags) {
    if (auto r = assign(schema, values, k, v, "flag --" + k); !r) return tl::unexpected(r.error());
  }
  return loaded;
}

Values load_or_exit(const Schema& schema, int argc, const char* const* argv) {
  auto loaded = load(schema, argc, argv);
  if (!loaded) {
    std::fprintf(stderr, "%s: %s\n", schema.program().c_str(), loaded.error().message.c_str());
    std::exit(2);
  }
  if (loaded->help_requested) {
    std::fputs(schema.help_text().c_str(), stdout);
    std::exit(0);
  }
  if (loaded->check_requested) {
    std::size_t changed = 0;
    for (const auto& [key, entry] : loaded->values.entries) changed += entry.source != "default";
    std::printf("%s: configuration OK (%zu settings, %zu not at their default)\n",
                schema.program().c_str(), loaded->values.entries.size(), changed);
    std::exit(0);
  }
  return std::move(loaded->values);
}

}  // namespace config
