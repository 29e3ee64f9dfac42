#include "guardrails/export/prometheus_export.hpp"

#include <cmath>

#include <prometheus/text_serializer.h>

namespace guardrails {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric gauge(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  return m;
}

ClientMetric counter(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = v;
  return m;
}

std::string alert_label(const slo::BurnRateStatus& b) {
  const auto fmt = [](double s) {
    const auto whole = static_cast<long long>(std::llround(s));
    return std::abs(s - static_cast<double>(whole)) < 1e-9
               ? std::to_string(whole) + "s"
               : std::to_string(std::llround(s * 1000)) + "ms";
  };
  return fmt(b.long_window_s) + "/" + fmt(b.short_window_s);
}

}  // namespace

const std::vector<double>& latency_buckets_seconds() {
  static const std::vector<double> buckets = {
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
  return buckets;
}

std::vector<MetricFamily> GuardrailCollectable::Collect() const {
  const auto snap = guardrail_.snapshot();
  const auto& ev = snap->evaluation;
  std::vector<MetricFamily> out;

  auto info = family("guardrail_build_info", "Build of the guarded application (always 1).",
                     MetricType::Gauge);
  info.metric.push_back(gauge(1, {{"app", snap->app},
                                  {"version", snap->version},
                                  {"git_sha", snap->git_sha},
                                  {"colour", snap->colour}}));
  out.push_back(std::move(info));

  auto verdict =
      family("guardrail_verdict", "Current verdict: 1 for the active one.", MetricType::Gauge);
  for (auto v : {slo::Verdict::kPromote, slo::Verdict::kHold, slo::Verdict::kRollback}) {
    verdict.metric.push_back(
        gauge(ev.verdict == v ? 1 : 0, {{"verdict", std::string(slo::to_string(v))}}));
  }
  out.push_back(std::move(verdict));

  auto latched = family("guardrail_rollback_latched", "1 while a rollback is latched until reset.",
                        MetricType::Gauge);
  latched.metric.push_back(gauge(ev.latched ? 1 : 0));
  out.push_back(std::move(latched));

  auto value =
      family("guardrail_slo_value", "Current SLO value (seconds for latency, fraction for ratios).",
             MetricType::Gauge);
  auto objective =
      family("guardrail_slo_objective", "SLO objective (seconds for latency, fraction for ratios).",
             MetricType::Gauge);
  auto ok = family("guardrail_slo_ok", "1 when the SLO is met in its window.", MetricType::Gauge);
  auto samples =
      family("guardrail_slo_window_samples", "Samples in the SLO window.", MetricType::Gauge);
  for (const auto& s : ev.slos) {
    value.metric.push_back(gauge(s.has_value ? s.value : 0, {{"slo", s.name}}));
    objective.metric.push_back(gauge(s.objective, {{"slo", s.name}}));
    ok.metric.push_back(gauge(s.ok ? 1 : 0, {{"slo", s.name}}));
    samples.metric.push_back(gauge(static_cast<double>(s.window_samples), {{"slo", s.name}}));
  }
  out.push_back(std::move(value));
  out.push_back(std::move(objective));
  out.push_back(std::move(ok));
  out.push_back(std::move(samples));

  auto burn = family("guardrail_burn_rate",
                     "Error-budget burn rate (multiple of sustainable) per alert window.",
                     MetricType::Gauge);
  auto firing = family("guardrail_burn_rate_alert_firing",
                       "1 when both windows of the alert exceed its factor.", MetricType::Gauge);
  for (const auto& b : ev.burn_rates) {
    const auto alert = alert_label(b);
    burn.metric.push_back(
        gauge(b.long_rate, {{"slo", b.slo}, {"alert", alert}, {"window", "long"}}));
    burn.metric.push_back(
        gauge(b.short_rate, {{"slo", b.slo}, {"alert", alert}, {"window", "short"}}));
    firing.metric.push_back(gauge(b.firing ? 1 : 0, {{"slo", b.slo}, {"alert", alert}}));
  }
  out.push_back(std::move(burn));
  out.push_back(std::move(firing));

  auto drained =
      family("guardrail_samples_total", "Samples drained into the evaluator.", MetricType::Counter);
  drained.metric.push_back(counter(static_cast<double>(snap->samples_drained)));
  out.push_back(std::move(drained));
  auto dropped = family("guardrail_samples_dropped_total",
                        "Samples dropped because the queue was full.", MetricType::Counter);
  dropped.metric.push_back(counter(static_cast<double>(snap->samples_dropped)));
  out.push_back(std::move(dropped));
  auto late = family("guardrail_samples_ignored_total",
                     "Samples ignored by the evaluator, by reason.", MetricType::Counter);
  late.metric.push_back(counter(static_cast<double>(ev.late_samples), {{"reason", "late"}}));
  late.metric.push_back(
      counter(static_cast<double>(ev.unknown_metric_samples), {{"reason", "unknown_metric"}}));
  out.push_back(std::move(late));
  auto evaluations =
      family("guardrail_evaluations_total", "SLO evaluations run.", MetricType::Counter);
  evaluations.metric.push_back(counter(static_cast<double>(snap->evaluations)));
  out.push_back(std::move(evaluations));
  auto lag = family("guardrail_evaluation_lag_seconds",
                    "Age of the latest evaluation at scrape time.", MetricType::Gauge);
  lag.metric.push_back(gauge(std::max(
      0.0, static_cast<double>(core::SystemClock::instance().wall_ns() - snap->evaluated_at_wall) /
               1e9)));
  out.push_back(std::move(lag));
  auto evidence_entries =
      family("guardrail_evidence_entries", "Entries in the evidence log.", MetricType::Gauge);
  evidence_entries.metric.push_back(gauge(static_cast<double>(snap->evidence_entries)));
  out.push_back(std::move(evidence_entries));
  auto evidence_errors = family("guardrail_evidence_errors_total", "Evidence appends that failed.",
                                MetricType::Counter);
  evidence_errors.metric.push_back(counter(static_cast<double>(snap->evidence_errors)));
  out.push_back(std::move(evidence_errors));

  auto latency =
      family("guardrail_latency_seconds", "Latency observed by the guardrail, per latency SLO.",
             MetricType::Histogram);
  const auto& bounds = latency_buckets_seconds();
  for (std::size_t i = 0; i < snap->latency.size(); ++i) {
    const auto& h = snap->latency[i];
    if (!h) continue;
    ClientMetric m;
    m.label = {{"slo", ev.slos[i].name}};
    m.histogram.sample_count = h->count();
    m.histogram.sample_sum = static_cast<double>(h->sum()) / 1e9;
    for (double le : bounds) {
      ClientMetric::Bucket b;
      b.upper_bound = le;
      b.cumulative_count = h->count_at_or_below(static_cast<std::uint64_t>(std::llround(le * 1e9)));
      m.histogram.bucket.push_back(b);
    }
    ClientMetric::Bucket inf;
    inf.upper_bound = std::numeric_limits<double>::infinity();
    inf.cumulative_count = h->count();
    m.histogram.bucket.push_back(inf);
    latency.metric.push_back(std::move(m));
  }
  out.push_back(std::move(latency));
  return out;
}

void mount_metrics_route(http::Router& router,
                         std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  router.get("/metrics", [collectables = std::move(collectables)](const http::Request&) {
    std::vector<MetricFamily> families;
    for (const auto& c : collectables) {
      auto f = c->Collect();
      families.insert(families.end(), std::make_move_iterator(f.begin()),
                      std::make_move_iterator(f.end()));
    }
    prometheus::TextSerializer serializer;
    return http::Response::text(200, serializer.Serialize(families),
                                "text/plain; version=0.0.4; charset=utf-8");
  });
}

prometheus::MetricFamily value_family(std::string name, std::string help,
                                      prometheus::MetricType type, const std::string& label,
                                      const std::vector<std::pair<std::string, double>>& samples) {
  prometheus::MetricFamily f{std::move(name), std::move(help), type, {}};
  for (const auto& [label_value, v] : samples) {
    prometheus::ClientMetric m;
    if (!label.empty()) m.label.push_back({label, label_value});
    if (type == prometheus::MetricType::Counter) {
      m.counter.value = v;
    } else {
      m.gauge.value = v;
    }
    f.metric.push_back(std::move(m));
  }
  return f;
}

}  // namespace guardrails
