// Fuzzes the W3C traceparent parser (any header a client sends): an accepted value has lower-case
// hex ids that are not all zero, and a span started from it keeps the trace and writes a
// traceparent the parser accepts again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "logging/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = logging::parse_traceparent(text);
  if (!parsed) return 0;
  const auto hex = [](std::string_view s) {
    bool nonzero = false;
    for (char c : s) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      nonzero = nonzero || c != '0';
    }
    return nonzero;
  };
  if (!hex(parsed->trace()) || !hex(parsed->span())) std::abort();
  const auto child = logging::start_span(parsed);
  if (child.trace() != parsed->trace() || child.parent() != parsed->span()) std::abort();
  const auto again = logging::parse_traceparent(child.traceparent());
  if (!again || again->trace() != parsed->trace() || again->span() != child.span()) std::abort();
  return 0;
}
