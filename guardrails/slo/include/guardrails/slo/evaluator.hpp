// Evaluator: the pure SLO engine of the guardrail. Samples go in (any order, timestamps are the
// producers' monotonic readings), evaluate(now) comes out with a verdict promote | hold | rollback,
// the value behind every SLO and burn-rate alert, and human-readable reasons. Time is only ever
// passed in, so tests and simulations drive it with manual time.
// Rules: hold until every SLO that gates promotion has min_samples (since start or reset);
// rollback when an SLO with min_samples stays breached for breach_evaluations consecutive
// evaluations; rollback latches until reset(). An SLO that does not gate promotion is watched:
// it holds nothing while it collects samples, and the reasons say so.
// Not thread-safe: one owner thread (the guardrail's drain thread) or external locking.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "guardrails/slo/log_linear_histogram.hpp"
#include "guardrails/slo/sample.hpp"
#include "guardrails/slo/slo_spec.hpp"

namespace guardrails::slo {

enum class Verdict { kPromote, kHold, kRollback };
std::string_view to_string(Verdict verdict);

struct SloStatus {
  std::string name;
  SloKind kind = SloKind::kLatency;
  double objective = 0;    // latency: threshold in seconds; ratio: minimum good fraction
  double value = 0;        // latency: the window quantile in seconds; ratio: good fraction
  bool has_value = false;  // false while the window holds no sample
  double window_s = 0;
  std::uint64_t window_count = 0;  // a count window: the last this many samples (window_s unused)
  bool ok = true;
  std::uint64_t window_samples = 0;
  std::uint64_t total_samples = 0;  // since start or reset
  std::uint64_t min_samples = 0;
  int breach_streak = 0;
  bool gates_promotion = true;  // false: watched after promotion (see SloSpec)
};

struct BurnRateStatus {
  std::string slo;
  double long_window_s = 0, short_window_s = 0, factor = 0;
  double long_rate = 0, short_rate = 0;  // multiples of the sustainable burn rate
  bool firing = false;
};

struct Evaluation {
  Verdict verdict = Verdict::kHold;
  std::vector<std::string> reasons;
  std::vector<SloStatus> slos;
  std::vector<BurnRateStatus> burn_rates;
  std::uint64_t samples = 0;      // of the SLO furthest from its minimum
  std::uint64_t min_samples = 0;  // that SLO's minimum
  bool latched = false;           // rollback held until reset
  bool changed = false;           // verdict differs from the previous evaluation
  core::Nanos evaluated_at = 0;
  std::uint64_t late_samples = 0;            // older than every window: ignored
  std::uint64_t unknown_metric_samples = 0;  // for a metric no SLO watches: ignored
};

// Checks a configuration: names unique and non-empty, windows ≥ resolution, quantiles in (0,1),
// burn windows short < long, etc. The message names the SLO and the field.
core::Result<void> validate(const EvaluatorConfig& config);

class Evaluator {
 public:
  // `config` must pass validate() (checked again here; an invalid one throws
  // std::invalid_argument).
  explicit Evaluator(EvaluatorConfig config);
  ~Evaluator();
  Evaluator(Evaluator&&) noexcept;
  Evaluator& operator=(Evaluator&&) noexcept;

  void add(const Sample& sample);
  // What the product knows about an SLO's bad samples that the counts cannot say (a standby's
  // first differing journal sequence): appended to that SLO's breach reason until reset() or
  // replaced. An unknown name is ignored.
  void set_detail(std::string_view slo_name, std::string detail);
  void add(std::span<const Sample> samples) {
    for (const auto& s : samples) add(s);
  }

  Evaluation evaluate(core::Nanos now);
  // Clears the latch and every window and counter: a fresh analysis starts at `now`.
  void reset(core::Nanos now);

  const EvaluatorConfig& config() const;
  // Every latency sample of SLO `index` since start (never reset), for the Prometheus histogram.
  const LogLinearHistogram* cumulative_latency(std::size_t index) const;
  Verdict last_verdict() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace guardrails::slo
