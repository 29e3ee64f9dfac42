#include <gtest/gtest.h>

#include <functional>

#include "guardrails/slo/evaluator.hpp"

namespace {

using namespace guardrails::slo;
using core::kNanosPerMilli;
using core::kNanosPerSecond;
using guardrails::Sample;

constexpr guardrails::MetricId kLatency = 1;
constexpr guardrails::MetricId kBatch = 2;

SloSpec latency_slo() {
  SloSpec s;
  s.name = "latency";
  s.kind = SloKind::kLatency;
  s.metric = kLatency;
  s.quantile = 0.99;
  s.threshold_ns = 50 * kNanosPerMilli;
  s.window = 10 * kNanosPerSecond;
  s.burn_rate_alerts = workbook_burn_rate_alerts(1.0 / 60);
  s.min_samples = 100;
  return s;
}

SloSpec ratio_slo(double objective = 0.98) {
  SloSpec s;
  s.name = "batch_integrity";
  s.kind = SloKind::kRatio;
  s.metric = kBatch;
  s.min_good_ratio = objective;
  s.window = 60 * kNanosPerSecond;
  s.min_samples = 10;
  return s;
}

EvaluatorConfig config_of(std::vector<SloSpec> slos) {
  EvaluatorConfig c;
  c.slos = std::move(slos);
  return c;
}

// Feeds `rate` events per second in [from, to) with value(t); evaluates every `eval_every` if set.
struct Driver {
  Evaluator& ev;
  core::Nanos now = 0;
  void feed(guardrails::MetricId metric, core::Nanos until, double rate,
            const std::function<std::int64_t(core::Nanos)>& value) {
    const auto step = static_cast<core::Nanos>(1e9 / rate);
    for (; now < until; now += step) ev.add(Sample{metric, value(now), now});
  }
};

bool mentions(const Evaluation& e, const std::string& text) {
  for (const auto& r : e.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Evaluator, HoldsUntilEverySloHasMinSamples) {
  Evaluator ev(config_of({latency_slo()}));
  for (int i = 0; i < 99; ++i) ev.add(Sample{kLatency, 1 * kNanosPerMilli, i * kNanosPerMilli});
  auto e = ev.evaluate(100 * kNanosPerMilli);
  EXPECT_EQ(e.verdict, Verdict::kHold);
  EXPECT_EQ(e.samples, 99u);
  EXPECT_EQ(e.min_samples, 100u);
  EXPECT_TRUE(mentions(e, "collecting samples: latency has 99 of 100"));
  ev.add(Sample{kLatency, 1 * kNanosPerMilli, 100 * kNanosPerMilli});
  e = ev.evaluate(101 * kNanosPerMilli);
  EXPECT_EQ(e.verdict, Verdict::kPromote);
  EXPECT_TRUE(e.changed);
  EXPECT_TRUE(mentions(e, "all 1 SLOs met"));
}

// A rare-event SLO (finished batches) does not gate promotion: the verdict promotes on the
// gating SLO while it collects, the reasons say it is watched, and once it has its samples a
// breach rolls back as any other.
TEST(Evaluator, AnSloThatDoesNotGatePromotionIsWatchedAfterIt) {
  SloSpec batches = ratio_slo();
  batches.gates_promotion = false;
  batches.min_samples = 3;
  Evaluator ev(config_of({latency_slo(), batches}));
  for (int i = 0; i < 100; ++i) ev.add(Sample{kLatency, 1 * kNanosPerMilli, i * kNanosPerMilli});
  auto e = ev.evaluate(100 * kNanosPerMilli);
  EXPECT_EQ(e.verdict, Verdict::kPromote);
  EXPECT_TRUE(mentions(e, "all 1 SLOs that gate promotion met (latency)"));
  EXPECT_TRUE(mentions(e, "watched after promotion: batch_integrity has 0 of 3"));
  EXPECT_EQ(e.min_samples, 100u) << "the sample counts are the gating SLO's";
  ASSERT_EQ(e.slos.size(), 2u);
  EXPECT_TRUE(e.slos[0].gates_promotion);
  EXPECT_FALSE(e.slos[1].gates_promotion);
  // One bad batch: too few to judge; still promote, and the reasons say what was seen.
  ev.add(Sample{kBatch, 0, 101 * kNanosPerMilli});
  e = ev.evaluate(102 * kNanosPerMilli);
  EXPECT_EQ(e.verdict, Verdict::kPromote);
  EXPECT_TRUE(mentions(e, "too few samples to judge: batch_integrity = 0.00 %"));
  // Three: judged, breached, rolled back after the confirming evaluations.
  ev.add(Sample{kBatch, 0, 103 * kNanosPerMilli});
  ev.add(Sample{kBatch, 0, 104 * kNanosPerMilli});
  for (int i = 0; i < 3; ++i) e = ev.evaluate((105 + i) * kNanosPerMilli);
  EXPECT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_TRUE(mentions(e, "batch_integrity = 0.00 % < 98.00 %"));
}

TEST(Evaluator, ReportsWindowQuantileAgainstObjective) {
  Evaluator ev(config_of({latency_slo()}));
  Driver d{ev};
  // 2..3 ms, uniform over each second.
  d.feed(kLatency, 5 * kNanosPerSecond, 1000,
         [](core::Nanos t) { return 2 * kNanosPerMilli + (t / kNanosPerMilli) % 1000 * 1000; });
  const auto e = ev.evaluate(d.now);
  ASSERT_EQ(e.slos.size(), 1u);
  const auto& s = e.slos[0];
  EXPECT_TRUE(s.has_value);
  EXPECT_NEAR(s.value, 0.00299, 0.00003);  // p99 of 2..3 ms uniform
  EXPECT_DOUBLE_EQ(s.objective, 0.05);
  EXPECT_DOUBLE_EQ(s.window_s, 10.0);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(s.window_samples, 5000u);
}

TEST(Evaluator, OldSamplesSlideOutOfTheWindow) {
  auto spec = latency_slo();
  spec.burn_rate_alerts.clear();
  Evaluator ev(config_of({spec}));
  Driver d{ev};
  d.feed(kLatency, 1 * kNanosPerSecond, 1000,
         [](core::Nanos) { return 200 * kNanosPerMilli; });  // slow
  d.feed(kLatency, 4 * kNanosPerSecond, 1000, [](core::Nanos) { return 1 * kNanosPerMilli; });
  auto e = ev.evaluate(d.now);
  EXPECT_FALSE(e.slos[0].ok);
  EXPECT_GT(e.slos[0].value, 0.19);
  // 12 s later the slow second has left the 10 s window.
  d.feed(kLatency, 13 * kNanosPerSecond, 1000, [](core::Nanos) { return 1 * kNanosPerMilli; });
  e = ev.evaluate(d.now);
  EXPECT_TRUE(e.slos[0].ok);
  EXPECT_LT(e.slos[0].value, 0.0011);
  EXPECT_LE(e.slos[0].window_samples, 10'000u);
  EXPECT_GE(e.slos[0].window_samples, 9'500u);
}

TEST(Evaluator, OneBadEvaluationDoesNotRollBack) {
  auto spec = latency_slo();
  spec.window = 1 * kNanosPerSecond;
  spec.burn_rate_alerts.clear();
  auto cfg = config_of({spec});
  cfg.histogram_slots = 4;
  Evaluator ev(cfg);
  Driver d{ev};
  d.feed(kLatency, 5 * kNanosPerSecond, 1000, [](core::Nanos) { return 1 * kNanosPerMilli; });
  EXPECT_EQ(ev.evaluate(d.now).verdict, Verdict::kPromote);
  // A 50 ms hiccup: 50 slow requests.
  d.feed(kLatency, d.now + 50 * kNanosPerMilli, 1000,
         [](core::Nanos) { return 300 * kNanosPerMilli; });
  auto e = ev.evaluate(d.now);
  EXPECT_EQ(e.verdict, Verdict::kHold);
  EXPECT_TRUE(mentions(e, "unconfirmed"));
  EXPECT_TRUE(mentions(e, "[1/3 evaluations]"));
  d.feed(kLatency, d.now + 250 * kNanosPerMilli, 1000,
         [](core::Nanos) { return 1 * kNanosPerMilli; });
  e = ev.evaluate(d.now);
  EXPECT_EQ(e.verdict, Verdict::kHold);
  EXPECT_TRUE(mentions(e, "[2/3 evaluations]"));
  d.feed(kLatency, d.now + 1500 * kNanosPerMilli, 1000,
         [](core::Nanos) { return 1 * kNanosPerMilli; });
  e = ev.evaluate(d.now);
  EXPECT_EQ(e.verdict, Verdict::kPromote) << "the hiccup left the window before it was confirmed";
  EXPECT_EQ(e.slos[0].breach_streak, 0);
}

// A new colour's first burst of 48 requests: p99 is its slowest sample. Two stragglers (2 of
// 48 over the threshold) are no evidence that 1 % are slow; a third is.
TEST(Evaluator, TwoStragglersInASmallWindowAreNoLatencyBreach) {
  auto spec = latency_slo();
  spec.min_samples = 40;
  Evaluator ev(config_of({spec}));
  core::Nanos now = 0;
  const auto request = [&](std::int64_t latency) {
    now += 5 * kNanosPerMilli;
    ev.add(Sample{kLatency, latency, now});
  };
  request(180 * kNanosPerMilli);
  for (int i = 0; i < 45; ++i) request(4 * kNanosPerMilli);
  request(90 * kNanosPerMilli);
  Evaluation e;
  for (int i = 0; i < 4; ++i) e = ev.evaluate(now + i * 250 * kNanosPerMilli);
  ASSERT_EQ(e.slos.size(), 1u);
  EXPECT_GT(e.slos[0].value, 0.05) << "p99 of 47 samples is the slowest";
  EXPECT_TRUE(e.slos[0].ok);
  EXPECT_EQ(e.verdict, Verdict::kPromote);

  request(120 * kNanosPerMilli);  // a third slow one in the window
  for (int i = 0; i < 3; ++i) e = ev.evaluate(now + (4 + i) * 250 * kNanosPerMilli);
  EXPECT_FALSE(e.slos[0].ok);
  EXPECT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_TRUE(mentions(e, "latency p99 ="));
}

TEST(Evaluator, SustainedBreachRollsBackAndLatchesUntilReset) {
  Evaluator ev(config_of({latency_slo()}));
  Driver d{ev};
  d.feed(kLatency, 10 * kNanosPerSecond, 1000, [](core::Nanos) { return 1 * kNanosPerMilli; });
  EXPECT_EQ(ev.evaluate(d.now).verdict, Verdict::kPromote);
  Evaluation e;
  for (int i = 0; i < 3; ++i) {
    d.feed(kLatency, d.now + 250 * kNanosPerMilli, 1000,
           [](core::Nanos) { return 120 * kNanosPerMilli; });
    e = ev.evaluate(d.now);
  }
  EXPECT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_TRUE(e.latched);
  EXPECT_TRUE(mentions(e, "latency p99 ="));
  EXPECT_TRUE(mentions(e, "> 50.0 ms over 10 s"));
  // Healthy again for a minute: still rollback.
  d.feed(kLatency, d.now + 60 * kNanosPerSecond, 1000,
         [](core::Nanos) { return 1 * kNanosPerMilli; });
  e = ev.evaluate(d.now);
  EXPECT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_FALSE(e.changed);
  EXPECT_TRUE(mentions(e, "latched until reset"));
  EXPECT_TRUE(e.slos[0].ok) << "the SLO itself recovered; only the latch holds the verdict";

  ev.reset(d.now);
  e = ev.evaluate(d.now);
  EXPECT_EQ(e.verdict, Verdict::kHold);
  EXPECT_TRUE(e.changed);
  EXPECT_FALSE(e.latched);
  EXPECT_EQ(e.samples, 0u) << "a reset starts a fresh analysis";
  d.feed(kLatency, d.now + 1 * kNanosPerSecond, 1000,
         [](core::Nanos) { return 1 * kNanosPerMilli; });
  EXPECT_EQ(ev.evaluate(d.now).verdict, Verdict::kPromote);
}

TEST(Evaluator, BreachBelowMinSamplesHoldsInsteadOfRollingBack) {
  auto spec = latency_slo();
  spec.min_samples = 1000;
  Evaluator ev(config_of({spec}));
  for (int i = 0; i < 5; ++i) {
    ev.add(Sample{kLatency, 500 * kNanosPerMilli, i * 100 * kNanosPerMilli});
    EXPECT_EQ(ev.evaluate(i * 100 * kNanosPerMilli).verdict, Verdict::kHold);
  }
}

TEST(Evaluator, RatioSloComparesGoodOverTotal) {
  Evaluator ev(config_of({ratio_slo(0.98)}));
  for (int i = 0; i < 100; ++i) ev.add(Sample{kBatch, i < 97 ? 1 : 0, i * kNanosPerMilli});
  auto e = ev.evaluate(100 * kNanosPerMilli);
  EXPECT_FALSE(e.slos[0].ok);
  EXPECT_DOUBLE_EQ(e.slos[0].value, 0.97);
  EXPECT_DOUBLE_EQ(e.slos[0].objective, 0.98);
  EXPECT_TRUE(mentions(e, "batch_integrity = 97.00 % < 98.00 %"));
  EXPECT_TRUE(mentions(e, "3 bad of 100"));
  for (int i = 100; i < 300; ++i) ev.add(Sample{kBatch, 1, i * kNanosPerMilli});
  e = ev.evaluate(300 * kNanosPerMilli);
  EXPECT_TRUE(e.slos[0].ok);
  EXPECT_DOUBLE_EQ(e.slos[0].value, 297.0 / 300.0);
}

TEST(Evaluator, BurnRateIsErrorFractionOverBudget) {
  auto spec = ratio_slo(0.99);  // budget 1 %
  spec.burn_rate_alerts = {{60 * kNanosPerSecond, 5 * kNanosPerSecond, 14.4}};
  Evaluator ev(config_of({spec}));
  Driver d{ev};
  // 10 % errors for 60 s: 10x burn in both windows, below 14.4: not firing.
  d.feed(kBatch, 60 * kNanosPerSecond, 100,
         [](core::Nanos t) { return (t / (10 * kNanosPerMilli)) % 10 == 0 ? 0 : 1; });
  auto e = ev.evaluate(d.now - 1);
  ASSERT_EQ(e.burn_rates.size(), 1u);
  EXPECT_NEAR(e.burn_rates[0].long_rate, 10.0, 0.05);
  EXPECT_NEAR(e.burn_rates[0].short_rate, 10.0, 0.2);
  EXPECT_FALSE(e.burn_rates[0].firing);
  // 20 % errors for another 60 s: 20x ≥ 14.4 in both windows.
  d.feed(kBatch, 120 * kNanosPerSecond, 100,
         [](core::Nanos t) { return (t / (10 * kNanosPerMilli)) % 5 == 0 ? 0 : 1; });
  e = ev.evaluate(d.now - 1);
  EXPECT_NEAR(e.burn_rates[0].long_rate, 20.0, 0.1);
  EXPECT_TRUE(e.burn_rates[0].firing);
  EXPECT_TRUE(mentions(e, "burns its error budget at 20.0x over 60 s"));
}

TEST(Evaluator, BurnRateAlertNeedsLongAndShortWindow) {
  auto spec = ratio_slo(0.99);
  spec.burn_rate_alerts = {{60 * kNanosPerSecond, 5 * kNanosPerSecond, 14.4}};
  Evaluator ev(config_of({spec}));
  Driver d{ev};
  // 30 % errors for 30 s, then 30 s clean: the long window still burns, the short one is clean.
  d.feed(kBatch, 30 * kNanosPerSecond, 100,
         [](core::Nanos t) { return (t / (10 * kNanosPerMilli)) % 10 < 3 ? 0 : 1; });
  d.feed(kBatch, 60 * kNanosPerSecond, 100, [](core::Nanos) { return 1; });
  const auto e = ev.evaluate(d.now - 1);
  EXPECT_NEAR(e.burn_rates[0].long_rate, 15.0, 0.1);  // 15 % errors over 60 s, budget 1 %
  EXPECT_GT(e.burn_rates[0].long_rate, e.burn_rates[0].factor);
  EXPECT_EQ(e.burn_rates[0].short_rate, 0.0);
  EXPECT_FALSE(e.burn_rates[0].firing) << "a past incident that has stopped must not page";
}

TEST(Evaluator, LatencyBurnRateCountsEventsOverTheThreshold) {
  auto spec = latency_slo();  // p99 → budget 1 %
  Evaluator ev(config_of({spec}));
  Driver d{ev};
  // 5 % of requests slower than 50 ms → 5x burn.
  d.feed(kLatency, 60 * kNanosPerSecond, 1000, [](core::Nanos t) {
    return (t / kNanosPerMilli) % 20 == 0 ? 80 * kNanosPerMilli : 1 * kNanosPerMilli;
  });
  const auto e = ev.evaluate(d.now - 1);
  EXPECT_NEAR(e.burn_rates[0].long_rate, 5.0, 0.05);
  EXPECT_NEAR(e.burn_rates[0].short_rate, 5.0, 0.1);
}

TEST(Evaluator, LateAndUnknownSamplesAreIgnoredAndCounted) {
  Evaluator ev(config_of({latency_slo()}));
  ev.add(Sample{kLatency, 1, 1000 * kNanosPerSecond});
  ev.add(Sample{kLatency, 1, 1 * kNanosPerSecond});  // far older than any window
  ev.add(Sample{99, 1, 1000 * kNanosPerSecond});
  const auto e = ev.evaluate(1000 * kNanosPerSecond);
  EXPECT_EQ(e.late_samples, 1u);
  EXPECT_EQ(e.unknown_metric_samples, 1u);
  EXPECT_EQ(e.slos[0].total_samples, 1u);
}

TEST(Evaluator, SeveralSlosAllMustPass) {
  Evaluator ev(config_of({latency_slo(), ratio_slo()}));
  Driver d{ev};
  d.feed(kLatency, 2 * kNanosPerSecond, 1000, [](core::Nanos) { return kNanosPerMilli; });
  auto e = ev.evaluate(d.now);
  EXPECT_EQ(e.verdict, Verdict::kHold) << "batch integrity has no samples yet";
  EXPECT_EQ(e.samples, 0u);
  EXPECT_EQ(e.min_samples, 10u);
  for (int i = 0; i < 10; ++i) ev.add(Sample{kBatch, 1, d.now});
  EXPECT_EQ(ev.evaluate(d.now).verdict, Verdict::kPromote);
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 10; ++i) ev.add(Sample{kBatch, 0, d.now});
    e = ev.evaluate(d.now);
  }
  EXPECT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_TRUE(mentions(e, "batch_integrity"));
}

TEST(Evaluator, ValidateNamesTheProblem) {
  auto bad_quantile = latency_slo();
  bad_quantile.quantile = 1.0;
  auto bad_burn = latency_slo();
  bad_burn.burn_rate_alerts = {{5 * kNanosPerSecond, 60 * kNanosPerSecond, 14.4}};
  auto tiny_window = latency_slo();
  tiny_window.window = 1;
  auto unnamed = latency_slo();
  unnamed.name = "";
  EXPECT_FALSE(validate(config_of({})));
  EXPECT_NE(validate(config_of({bad_quantile})).error().message.find("quantile"),
            std::string::npos);
  EXPECT_NE(validate(config_of({bad_burn})).error().message.find("short window"),
            std::string::npos);
  EXPECT_NE(validate(config_of({tiny_window})).error().message.find("window"), std::string::npos);
  EXPECT_FALSE(validate(config_of({unnamed})));
  EXPECT_NE(validate(config_of({latency_slo(), latency_slo()})).error().message.find("twice"),
            std::string::npos);
  EXPECT_THROW(Evaluator(config_of({bad_quantile})), std::invalid_argument);
}

TEST(BurnRateSpec, ParsesAndFormatsTheWorkbookPairScaled) {
  auto parsed = parse_burn_rate_alerts("60s/5s@14.4,360s/30s@6");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, workbook_burn_rate_alerts(1.0 / 60));
  EXPECT_EQ(*parse_burn_rate_alerts("1h/5m@14.4,6h/30m@6"), workbook_burn_rate_alerts(1.0));
  EXPECT_EQ(format_burn_rate_alerts(workbook_burn_rate_alerts(1.0)), "1h/5m@14.4,6h/30m@6");
  EXPECT_EQ(*parse_duration("250ms"), 250 * kNanosPerMilli);
  for (const char* bad :
       {"", "60s5s@1", "5s/60s@2", "60s/5s@x", "60x/5s@1", "60s/5s@-1", "60s/5s@1,", "/5s@1"}) {
    EXPECT_FALSE(parse_burn_rate_alerts(bad)) << bad;
  }
  for (const char* bad : {"", "10", "s", "-5s", "0s", "1.5.5s", "100d"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

// The detection figure of issue #2: with the default deployment-analysis settings (p99 ≤ 50 ms
// over 10 s, burn alerts 60s/5s@14.4 and 360s/30s@6, evaluation every 250 ms, 3 consecutive
// breaches), at 1 k events/s, a release whose latency jumps to 120 ms is rolled back within 2 s
// of simulated time. (Simulated time: deterministic, not a timing assertion.)
TEST(Evaluator, DetectsALatencyRegressionWithinTwoSimulatedSeconds) {
  Evaluator ev(config_of({latency_slo()}));
  Driver d{ev};
  const core::Nanos interval = 250 * kNanosPerMilli;
  core::Nanos next_eval = interval;
  const core::Nanos breaks_at = 60 * kNanosPerSecond;
  core::Nanos detected_at = -1;
  const core::Nanos step = kNanosPerMilli;  // 1 k events/s
  for (; d.now < 120 * kNanosPerSecond && detected_at < 0; d.now += step) {
    const core::Nanos latency = d.now < breaks_at ? 2 * kNanosPerMilli : 120 * kNanosPerMilli;
    ev.add(Sample{kLatency, latency, d.now});
    if (d.now >= next_eval) {
      const auto e = ev.evaluate(d.now);
      if (d.now < breaks_at) {
        ASSERT_NE(e.verdict, Verdict::kRollback) << "false positive at " << d.now;
      }
      if (e.verdict == Verdict::kRollback) detected_at = d.now;
      next_eval += interval;
    }
  }
  ASSERT_GT(detected_at, 0);
  const double seconds = static_cast<double>(detected_at - breaks_at) / 1e9;
  RecordProperty("detection_seconds", std::to_string(seconds));
  EXPECT_LE(seconds, 2.0);
}

}  // namespace

namespace {

// Batch integrity: a count window over the last N finished batches, however long they took.
TEST(Evaluator, CountWindowJudgesTheLastNSamplesWhateverTheirAge) {
  SloSpec s = ratio_slo(0.98);
  s.window_count = 50;
  s.min_samples = 20;
  Evaluator ev(config_of({s}));
  core::Nanos now = 0;
  const auto batch = [&](bool intact) {
    now += 3600 * kNanosPerSecond;  // an hour apart: a time window would have forgotten them
    ev.add(Sample{kBatch, intact ? 1 : 0, now});
  };
  for (int i = 0; i < 19; ++i) batch(true);
  EXPECT_EQ(ev.evaluate(now).verdict, Verdict::kHold) << "below the minimum sample";
  batch(true);
  auto e = ev.evaluate(now);
  EXPECT_EQ(e.verdict, Verdict::kPromote);
  ASSERT_EQ(e.slos.size(), 1u);
  EXPECT_EQ(e.slos[0].window_samples, 20u);
  EXPECT_EQ(e.slos[0].window_count, 50u);
  // 1 bad of 50 = 98 %: still met.
  for (int i = 0; i < 29; ++i) batch(true);
  batch(false);
  e = ev.evaluate(now);
  EXPECT_EQ(e.verdict, Verdict::kPromote);
  EXPECT_DOUBLE_EQ(e.slos[0].value, 49.0 / 50);
  // A second bad one in the last 50: breached, confirmed after three evaluations.
  batch(false);
  EXPECT_EQ(ev.evaluate(now).verdict, Verdict::kHold);
  EXPECT_EQ(ev.evaluate(now).verdict, Verdict::kHold);
  e = ev.evaluate(now);
  EXPECT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_TRUE(mentions(e, "over the last 50 samples")) << e.reasons.front();
}

// What only the product knows (a standby's first differing journal sequence) is part of the
// rollback reason, and is forgotten at reset.
TEST(Evaluator, ADetailJoinsTheBreachReasonUntilReset) {
  SloSpec s = ratio_slo(0.999);
  s.name = "standby_digest";
  s.window_count = 100;
  s.min_samples = 1;
  EvaluatorConfig c = config_of({s});
  c.breach_evaluations = 1;
  Evaluator ev(c);
  ev.set_detail("no_such_slo", "ignored");
  ev.add(Sample{kBatch, 1, 1});
  ev.add(Sample{kBatch, 0, 2});
  ev.set_detail("standby_digest", "first differing sequence 1234");
  auto e = ev.evaluate(10);
  ASSERT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_TRUE(mentions(e, "(1 bad of 2): first differing sequence 1234")) << e.reasons.front();
  ev.reset(20);
  ev.add(Sample{kBatch, 0, 30});
  e = ev.evaluate(40);
  ASSERT_EQ(e.verdict, Verdict::kRollback);
  EXPECT_FALSE(mentions(e, "first differing sequence")) << e.reasons.front();
}

TEST(Evaluator, CountWindowSlidesOldBadSamplesOut) {
  SloSpec s = ratio_slo(0.9);
  s.window_count = 10;
  s.min_samples = 1;
  EvaluatorConfig c = config_of({s});
  c.breach_evaluations = 1;
  Evaluator ev(c);
  ev.add(Sample{kBatch, 0, 1});
  for (int i = 0; i < 9; ++i) ev.add(Sample{kBatch, 1, 2 + i});
  EXPECT_DOUBLE_EQ(ev.evaluate(100).slos[0].value, 0.9);
  ev.add(Sample{kBatch, 1, 20});
  EXPECT_DOUBLE_EQ(ev.evaluate(100).slos[0].value, 1.0) << "the bad one slid out";
}

TEST(Evaluator, CountWindowRefusesBurnRatesAndLatency) {
  SloSpec s = ratio_slo();
  s.window_count = 10;
  s.burn_rate_alerts = workbook_burn_rate_alerts(1.0 / 60);
  EXPECT_FALSE(validate(config_of({s})));
  SloSpec l = latency_slo();
  l.burn_rate_alerts.clear();
  l.window_count = 10;
  EXPECT_FALSE(validate(config_of({l})));
}

}  // namespace
