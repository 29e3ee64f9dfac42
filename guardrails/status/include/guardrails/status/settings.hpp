// The guardrail's settings in a binary's config Schema (section "guardrail"), and their
// translation into a GuardrailConfig. Products add their own SLOs (ratio SLOs) on top.
#pragma once

#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "guardrails/status/guardrail.hpp"

namespace guardrails {

// Metric id of the latency SLO that guardrail_config_from() creates.
inline constexpr MetricId kLatencyMetric = 1;

void add_guardrail_settings(config::Schema& schema, const std::string& app,
                            const std::string& evidence_path);

// Builds the config: one latency SLO "latency" on kLatencyMetric from the settings. A bad value
// (duration, burn-rate list) is an error whose message names the key.
core::Result<GuardrailConfig> guardrail_config_from(const config::Values& values);

}  // namespace guardrails
