#include "logging/logger.hpp"
#include "logging/trace.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "core/clock.hpp"

namespace logging {

namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_sink_mutex;
Sink g_sink;  // guarded by g_sink_mutex; empty means stdout

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// JSON string escaping; invalid UTF-8 becomes U+FFFD so the output is always valid JSON.
template <typename Buffer>
void escape_into(Buffer& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::size_t n = utf8_sequence_length(text, i);
      if (n == 0) {
        out.append(std::string_view("\\ufffd"));
      } else {
        out.append(text.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing stdout
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string_view to_string(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (text == to_string(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

void set_sink(Sink sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

void append_json_escaped(std::string& out, std::string_view text) { escape_into(out, text); }

void write(Level lvl, std::string_view component, std::string_view msg, Fields fields) {
  thread_local fmt::memory_buffer line;
  line.clear();
  char ts[32];
  core::format_utc_iso8601(core::SystemClock::instance().wall_ns(), ts);
  fmt::format_to(std::back_inserter(line), R"({{"ts":"{}","level":"{}","component":")", ts,
                 to_string(lvl));
  escape_into(line, component);
  line.append(std::string_view(R"(","msg":")"));
  escape_into(line, msg);
  line.push_back('"');
  for (const Field& f : fields) {
    line.append(std::string_view(",\""));
    escape_into(line, f.key());
    line.append(std::string_view("\":"));
    switch (f.kind()) {
      case Field::Kind::kString:
        line.push_back('"');
        escape_into(line, f.string_value());
        line.push_back('"');
        break;
      case Field::Kind::kInt:
        fmt::format_to(std::back_inserter(line), "{}", f.int_value());
        break;
      case Field::Kind::kUint:
        fmt::format_to(std::back_inserter(line), "{}", f.uint_value());
        break;
      case Field::Kind::kDouble:
        if (std::isfinite(f.double_value())) {
          fmt::format_to(std::back_inserter(line), "{}", f.double_value());
        } else {
          line.append(std::string_view("null"));  // JSON has no NaN/Inf
        }
        break;
      case Field::Kind::kBool:
        line.append(std::string_view(f.bool_value() ? "true" : "false"));
        break;
    }
  }
  // The thread's current span (logging/trace.hpp), unless the line names its own trace.
  if (const TraceContext* span = current_span()) {
    bool own = false;
    for (const Field& f : fields) own = own || f.key() == "trace_id";
    if (!own) {
      line.append(std::string_view(R"(,"trace_id":")"));
      line.append(span->trace());
      line.append(std::string_view(R"(","span_id":")"));
      line.append(span->span());
      line.push_back('"');
      if (span->has_parent()) {
        line.append(std::string_view(R"(,"parent_span_id":")"));
        line.append(span->parent());
        line.push_back('"');
      }
    }
  }
  line.append(std::string_view("}\n"));

  std::lock_guard lock(g_sink_mutex);
  if (g_sink) {
    g_sink(std::string_view(line.data(), line.size()));
  } else {
    write_all(STDOUT_FILENO, line.data(), line.size());
  }
}

}  // namespace logging
