// What the guardrail checks: SLO specifications and the evaluator's settings. Plain values.
// Two SLO kinds: a latency quantile under a threshold (p99 ≤ 50 ms) and a ratio of good events
// over a floor (batch integrity ≥ 98 %). Both also get multi-window burn-rate alerts as in the
// Google SRE workbook: an alert fires when the long AND the short window burn the error budget
// faster than `factor` times the sustainable rate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "guardrails/slo/sample.hpp"

namespace guardrails::slo {

struct BurnRateAlert {
  core::Nanos long_window = 0;
  core::Nanos short_window = 0;
  double factor = 1.0;
  friend bool operator==(const BurnRateAlert&, const BurnRateAlert&) = default;
};

enum class SloKind { kLatency, kRatio };

struct SloSpec {
  std::string name;
  SloKind kind = SloKind::kLatency;
  MetricId metric = 0;
  // kLatency: the `quantile` of latencies over `window` must be ≤ threshold_ns. Error budget:
  // the fraction (1 - quantile) of events slower than the threshold.
  double quantile = 0.99;
  core::Nanos threshold_ns = 50 * core::kNanosPerMilli;
  // kLatency: a quantile over the threshold is a breach only when at least this many samples of
  // the window are over it. In a small window p99 is the slowest sample, and one or two
  // stragglers (a descheduled thread, a cold cache) are no evidence that 1 % of requests are
  // slow: with 1 % truly slow, 3 or more of 48 samples are over by chance 1.3 % of the time, of
  // 100 samples 8 %. From 300 samples on a p99 breach implies 3 anyway.
  std::uint64_t min_slow_samples = 3;
  // kRatio: good / total over `window` must be ≥ min_good_ratio. Error budget: 1 - min_good_ratio.
  double min_good_ratio = 0.98;
  // kRatio only: when > 0 the window is the last `window_count` samples instead of the last
  // `window` of time (for rare events such as finished batches); no burn-rate alerts then.
  std::uint64_t window_count = 0;
  core::Nanos window = 10 * core::kNanosPerSecond;
  std::vector<BurnRateAlert> burn_rate_alerts;
  std::uint64_t min_samples = 100;  // below this (since start or reset) the verdict is hold
  // Whether the SLO gates promotion: a new version is promoted only once it has min_samples and
  // meets it. An SLO of rare events (finished batches: hours each) cannot: it is watched after
  // promotion instead, holding nothing while it collects and rolling back once it has
  // min_samples and is breached.
  bool gates_promotion = true;

  double error_budget() const {
    return kind == SloKind::kLatency ? 1.0 - quantile : 1.0 - min_good_ratio;
  }
};

struct EvaluatorConfig {
  std::vector<SloSpec> slos;
  core::Nanos resolution = 250 * core::kNanosPerMilli;  // slot width of the good/total counters
  int histogram_slots = 40;    // a latency window is kept as this many sub-histograms
  int breach_evaluations = 3;  // consecutive breached evaluations before rollback (no flapping)
};

// The SRE workbook pair (1h/5m at 14.4x, 6h/30m at 6x) multiplied by `scale`
// (1.0 = production alerting; 1/60 = a deployment analysis: 60s/5s and 360s/30s).
std::vector<BurnRateAlert> workbook_burn_rate_alerts(double scale);

// Parses "60s/5s@14.4,360s/30s@6" (units ms, s, m, h). Errors name the offending part.
core::Result<std::vector<BurnRateAlert>> parse_burn_rate_alerts(std::string_view text);
std::string format_burn_rate_alerts(const std::vector<BurnRateAlert>& alerts);

// Parses a duration "250ms", "10s", "5m", "1h".
core::Result<core::Nanos> parse_duration(std::string_view text);

}  // namespace guardrails::slo
