// Fuzzes the reader of guardctl deploy's node-exporter textfile (a file anyone with write access
// to the collector's folder may have edited): whatever it reads, adding a deployment and
// rendering gives lines the exposition format accepts (a comment or a guardctl_ sample whose
// label values hold no quote, brace or newline), and the rendering reads back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "guardrails/deploy/outcome_metrics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto metrics = guardrails::deploy::DeploymentMetrics::parse(text);
  guardrails::deploy::DeploymentRecord r;
  r.app = "pharma-mes";
  r.outcome = "promoted";
  r.risk_class = "Low";
  r.serving_colour = "blue";
  r.serving_version = std::string(text.substr(0, 80));
  metrics.add(r);
  const std::string rendered = metrics.render();
  std::istringstream lines(rendered);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    if (line.rfind("guardctl_", 0) != 0) std::abort();
    const auto open = line.find('{'), close = line.rfind('}');
    if (open != std::string::npos) {
      for (std::size_t i = open + 1; i < close; ++i) {
        if (line[i] == '{' || line[i] == '}' || line[i] == '\n') std::abort();
      }
    }
  }
  if (guardrails::deploy::DeploymentMetrics::parse(rendered).render() != rendered) std::abort();
  return 0;
}
