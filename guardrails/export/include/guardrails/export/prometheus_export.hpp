// Prometheus export of the guardrail: a prometheus::Collectable that builds its metric families
// from the latest Snapshot at scrape time (no Histogram::Observe anywhere: the latency histogram
// is converted from the evaluator's aggregated log-linear histogram), and a /metrics route that
// serialises any number of collectables (the guardrail plus the product's own registry).
// Thread-safety: Collect() and the route may run on any thread (they only read snapshots).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "guardrails/status/guardrail.hpp"
#include "http/router.hpp"

namespace guardrails {

class GuardrailCollectable final : public prometheus::Collectable {
 public:
  explicit GuardrailCollectable(const Guardrail& guardrail) : guardrail_(guardrail) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Guardrail& guardrail_;
};

// Bucket upper bounds (seconds) of guardrail_latency_seconds.
const std::vector<double>& latency_buckets_seconds();

// One family of counters or gauges for a product's own Collectable: a sample per
// {label value, value}; with an empty `label`, samples carry no label (give one sample then).
prometheus::MetricFamily value_family(std::string name, std::string help,
                                      prometheus::MetricType type, const std::string& label,
                                      const std::vector<std::pair<std::string, double>>& samples);

// GET /metrics in the text exposition format 0.0.4.
void mount_metrics_route(http::Router& router,
                         std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

}  // namespace guardrails
