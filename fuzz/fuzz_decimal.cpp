// Fuzzes core::parse_decimal: never crashes, and whatever parses formats back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/fixed_point.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int scale = data[0] % 19;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto parsed = core::parse_decimal(text, scale);
  if (parsed) {
    const auto again = core::parse_decimal(core::format_decimal(*parsed, scale), scale);
    if (!again || *again != *parsed) std::abort();  // round trip must hold
  } else if (parsed.error().message.empty()) {
    std::abort();  // every rejection says why
  }
  return 0;
}
