#include "guardrails/status/settings.hpp"

#include <cmath>

#include <fmt/format.h>

#include "guardrails/evidence/evidence_log.hpp"

namespace guardrails {

void add_guardrail_settings(config::Schema& schema, const std::string& app,
                            const std::string& evidence_path) {
  schema.add_string("guardrail.app", app, "application name reported in status and evidence")
      .add_string("guardrail.colour", "blue", "deployment colour of this instance",
                  {"blue", "green"})
      .add_double("guardrail.latency_threshold_ms", 50, 0.001, 600'000,
                  "latency SLO threshold in milliseconds")
      .add_double("guardrail.latency_quantile", 0.99, 0.5, 0.99999,
                  "latency SLO quantile (0.99 = p99)")
      .add_string("guardrail.latency_window", "10s", "window of the latency quantile (ms, s, m, h)")
      .add_string(
          "guardrail.burn_rate_alerts", "60s/5s@14.4,360s/30s@6",
          "multi-window burn-rate alerts LONG/SHORT@FACTOR,... (the SRE workbook's 1h/5m@14.4,"
          "6h/30m@6 scaled by 1/60 for a deployment analysis)")
      .add_int("guardrail.min_samples", 100, 0, 1'000'000'000,
               "samples each SLO needs before promote")
      .add_int("guardrail.breach_evaluations", 3, 1, 1000,
               "consecutive breached evaluations before rollback")
      .add_string("guardrail.evaluation_interval", "250ms", "how often the SLOs are evaluated")
      .add_string("guardrail.resolution", "250ms", "slot width of the sliding windows")
      .add_string("guardrail.reset_token", "",
                  "bearer token for POST /guardrail/v1/reset (empty: reset disabled)")
      .add_string("guardrail.evidence_path", evidence_path, "append-only hash-chained evidence log")
      .add_int("guardrail.queue_capacity", 65536, 1024, 16'777'216,
               "samples buffered per producer thread");
}

core::Result<GuardrailConfig> guardrail_config_from(const config::Values& values) {
  const auto duration = [&](const char* key) -> core::Result<core::Nanos> {
    auto d = slo::parse_duration(values.get_string(key));
    if (!d) return core::fail(2, fmt::format("config: {}: {}", key, d.error().message));
    return d;
  };
  GuardrailConfig c;
  c.app = values.get_string("guardrail.app");
  c.colour = values.get_string("guardrail.colour");
  c.reset_token = values.get_string("guardrail.reset_token");
  c.evidence_path = values.get_string("guardrail.evidence_path");
  c.sink.capacity_per_producer =
      static_cast<std::size_t>(values.get_int("guardrail.queue_capacity"));
  auto interval = duration("guardrail.evaluation_interval");
  if (!interval) return tl::unexpected(interval.error());
  c.evaluation_interval = *interval;
  auto resolution = duration("guardrail.resolution");
  if (!resolution) return tl::unexpected(resolution.error());
  c.evaluator.resolution = *resolution;
  c.evaluator.breach_evaluations = static_cast<int>(values.get_int("guardrail.breach_evaluations"));

  slo::SloSpec latency;
  latency.name = "latency";
  latency.kind = slo::SloKind::kLatency;
  latency.metric = kLatencyMetric;
  latency.quantile = values.get_double("guardrail.latency_quantile");
  latency.threshold_ns = static_cast<core::Nanos>(
      std::llround(values.get_double("guardrail.latency_threshold_ms") * 1e6));
  auto window = duration("guardrail.latency_window");
  if (!window) return tl::unexpected(window.error());
  latency.window = *window;
  auto alerts = slo::parse_burn_rate_alerts(values.get_string("guardrail.burn_rate_alerts"));
  if (!alerts)
    return core::fail(
        2, fmt::format("config: guardrail.burn_rate_alerts: {}", alerts.error().message));
  latency.burn_rate_alerts = *alerts;
  latency.min_samples = static_cast<std::uint64_t>(values.get_int("guardrail.min_samples"));
  c.evaluator.slos.push_back(std::move(latency));
  c.config_digest = evidence::sha256_hex(values.canonical_text());
  return c;
}

}  // namespace guardrails
