// libFuzzer: the MES's text parsers (CSV records, UTC timestamps, checkpoint lines). Nothing
// crashes; what parses re-serialises to something that parses back to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mes/domain/audit.hpp"
#include "mes/domain/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string_view view = input;
  for (int i = 0; i < 64; ++i) {
    const auto before = view.size();
    auto record = mes::parse_csv_record(view);
    if (!record) break;
    const std::string again = mes::csv_line(*record);
    std::string_view again_view = again;
    const auto reparsed = mes::parse_csv_record(again_view);
    if (!reparsed || *reparsed != *record) std::abort();
    if (view.size() >= before) std::abort();  // always makes progress
  }
  if (auto t = mes::parse_utc(input)) {
    if (mes::parse_utc(mes::format_utc(*t)) != t) std::abort();
  }
  if (auto cp = mes::parse_checkpoint_line(input)) {
    if (mes::parse_checkpoint_line(mes::checkpoint_line(*cp)) != cp) std::abort();
  }
  return 0;
}
