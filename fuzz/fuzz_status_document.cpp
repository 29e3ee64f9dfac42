// Fuzzes the reading of a guardrail status document by the deployment controller: any bytes give
// either a verdict or no verdict with a detail saying why, never a crash; the workflow then takes
// the reading without breaking its invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "guardrails/deploy/status_document.hpp"
#include "guardrails/deploy/workflow.hpp"

using namespace guardrails::deploy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const VerdictRead r = read_status_document(Colour::kGreen, 200, body, "pharma-mes");
  if (!r.verdict && r.detail.empty()) std::abort();  // no verdict must say why
  Workflow w{Timing{}};
  w.begin(0);
  w.handle(Input{1, RiskAssessed{"Low", false, false, ""}});
  w.handle(Input{2, PreflightChecked{}});
  w.handle(Input{3, GreenStarted{}});
  w.handle(Input{4, ReadyProbed{true, ""}});
  w.handle(Input{5, r});
  if (w.traffic() != Colour::kBlue) std::abort();  // one reading never moves the traffic
  return 0;
}
