// Fuzzes the burn-rate list and duration parsers: valid lists must validate in an evaluator and
// survive a format/parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "guardrails/slo/evaluator.hpp"

using namespace guardrails::slo;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_duration(text);
  auto alerts = parse_burn_rate_alerts(text);
  if (!alerts) {
    if (alerts.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& a : *alerts) {
    if (a.short_window <= 0 || a.short_window >= a.long_window || !(a.factor > 0)) std::abort();
  }
  EvaluatorConfig config;
  SloSpec spec;
  spec.name = "latency";
  spec.burn_rate_alerts = *alerts;
  config.slos = {spec};
  config.resolution = spec.window;  // keep ring sizes small whatever the windows are
  if (validate(config)) {
    Evaluator ev(config);
    ev.add(guardrails::Sample{0, 1'000'000, 1});
    (void)ev.evaluate(2);
  }
  return 0;
}
