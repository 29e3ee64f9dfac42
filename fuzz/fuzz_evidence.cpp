// Fuzzes the evidence verifier on arbitrary file contents: it must never crash, and a report
// that fails must name an entry and a problem.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "guardrails/evidence/evidence_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  const auto report = guardrails::evidence::verify_content(content);
  if (!report.ok && (report.first_bad_entry == 0 || report.problem.empty())) std::abort();
  return 0;
}
