// Guardrail speed (issue #2). Every figure is read as a ratio against a baseline measured in the
// same binary and run: record() against prometheus-cpp Histogram::Observe; drain+aggregate in
// samples/s; the window quantile query; detection time against the 3-minute baseline.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <random>
#include <thread>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "guardrails/metrics/metric_sink.hpp"
#include "guardrails/slo/evaluator.hpp"
#include "guardrails/status/guardrail.hpp"

#include "counting_allocator.hpp"

namespace {

using namespace guardrails;
using core::kNanosPerMilli;
using core::kNanosPerSecond;

// One drain thread per benchmark run (started by thread 0), as the guardrail has.
template <typename Sink>
class Drainer {
 public:
  explicit Drainer(Sink& sink)
      : sink_(sink), thread_([this] {
          std::vector<Sample> buf(4096);
          while (!stop_.load(std::memory_order_relaxed)) {
            // As the guardrail thread does: drain until empty, then nap (100 µs here, 1 ms there:
            // this loop produces ~100x faster than any real hot path).
            if (sink_.drain(buf) == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
          }
        }) {}
  ~Drainer() {
    stop_ = true;
    thread_.join();
  }

 private:
  Sink& sink_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

prometheus::Histogram& shared_histogram() {
  static auto registry = std::make_shared<prometheus::Registry>();
  static auto& family =
      prometheus::BuildHistogram().Name("bench_latency_seconds").Help("h").Register(*registry);
  static auto& histogram =
      family.Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.001, 0.01, 0.05, 0.1, 1});
  return histogram;
}

void BM_PrometheusHistogramObserve(benchmark::State& state) {
  auto& h = shared_histogram();
  double v = 0.001;
  for (auto _ : state) {
    h.Observe(v);
    v += 1e-9;
  }
  state.SetItemsProcessed(state.iterations());
}
// Fixed iteration counts for the record/observe comparison: same work for every variant.
constexpr std::int64_t kRecordIterations = 3'000'000;
BENCHMARK(BM_PrometheusHistogramObserve)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Iterations(kRecordIterations);

template <typename Sink>
void BM_Record(benchmark::State& state) {
  static std::atomic<Sink*> sink{nullptr};
  static Drainer<Sink>* drainer = nullptr;
  static std::atomic<int> finished{0};
  if (state.thread_index() == 0) {
    // Room for every sample of the run (3 M per thread), so the figure is the accept path.
    // (The ConcurrentQueue sizes one shared pool at 4x this.)
    const std::size_t capacity =
        std::is_same_v<Sink, metrics::MpmcMetricSink> ? (1u << 21) : (1u << 22);
    sink = new Sink(metrics::SinkOptions{capacity, 8});
    drainer = new Drainer<Sink>(*sink);
  }
  // Other threads wait until thread 0 set up (Google Benchmark starts them together).
  while (sink.load() == nullptr) std::this_thread::yield();
  Sink& s = *sink.load();
  s.record(1, 0, 0);  // warm-up: registers this thread's producer
  const auto allocations_before = bench::allocations_on_this_thread();
  std::int64_t ts = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.record(1, 1'000'000, ++ts));
  }
  const auto allocations = bench::allocations_on_this_thread() - allocations_before;
  state.counters["allocs_per_op"] =
      benchmark::Counter(static_cast<double>(allocations) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
  // Fraction of calls that took the drop path: the figure is the accept path when this is ~0.
  state.counters["dropped_ratio"] = benchmark::Counter(
      static_cast<double>(s.dropped()) / static_cast<double>(state.iterations() * state.threads()),
      benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());
  finished.fetch_add(1);
  if (state.thread_index() == 0) {
    // Tear down only after every thread has read its counters from the sink.
    while (finished.load() < state.threads()) std::this_thread::yield();
    delete drainer;
    delete sink.exchange(nullptr);
    drainer = nullptr;
    finished = 0;
  }
}
BENCHMARK_TEMPLATE(BM_Record, metrics::RingMetricSink)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Iterations(kRecordIterations);
BENCHMARK_TEMPLATE(BM_Record, metrics::SpscMetricSink)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Iterations(kRecordIterations);
BENCHMARK_TEMPLATE(BM_Record, metrics::MpmcMetricSink)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Iterations(kRecordIterations);

slo::EvaluatorConfig default_config() {
  slo::EvaluatorConfig c;
  slo::SloSpec latency;
  latency.name = "latency";
  latency.metric = 1;
  latency.window = 10 * kNanosPerSecond;
  latency.burn_rate_alerts = slo::workbook_burn_rate_alerts(1.0 / 60);
  c.slos = {latency};
  return c;
}

std::vector<Sample> lognormal_samples(std::size_t n, core::Nanos start, core::Nanos step) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> ln(14.5, 0.8);  // ~2 ms median
  std::vector<Sample> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] =
        Sample{1, static_cast<std::int64_t>(ln(rng)), start + static_cast<core::Nanos>(i) * step};
  }
  return out;
}

// Aggregation alone: samples already drained, into the evaluator's windows.
void BM_EvaluatorAdd(benchmark::State& state) {
  slo::Evaluator ev(default_config());
  const auto samples = lognormal_samples(1 << 16, 0, 10'000);  // 100 k/s of event time
  core::Nanos shift = 0;
  std::vector<Sample> batch = samples;
  for (auto _ : state) {
    state.PauseTiming();
    shift += static_cast<core::Nanos>(samples.size()) * 10'000;
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].timestamp = samples[i].timestamp + shift;
    state.ResumeTiming();
    ev.add(batch);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(samples.size()));
}
BENCHMARK(BM_EvaluatorAdd);

// The guardrail thread's whole job per batch: drain the sink in bulk, then aggregate.
template <typename Sink>
void BM_DrainAndAggregate(benchmark::State& state) {
  Sink sink(metrics::SinkOptions{1 << 16, 4});
  slo::Evaluator ev(default_config());
  std::vector<Sample> buf(4096);
  const auto samples = lognormal_samples(4096, 0, 10'000);
  core::Nanos shift = 0;
  for (auto _ : state) {
    state.PauseTiming();
    shift += 4096 * 10'000;
    for (const auto& s : samples) sink.record(s.metric, s.value, s.timestamp + shift);
    state.ResumeTiming();
    std::size_t n = 0;
    while ((n = sink.drain(buf)) > 0) ev.add(std::span<const Sample>(buf.data(), n));
  }
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK_TEMPLATE(BM_DrainAndAggregate, metrics::RingMetricSink);
BENCHMARK_TEMPLATE(BM_DrainAndAggregate, metrics::SpscMetricSink);
BENCHMARK_TEMPLATE(BM_DrainAndAggregate, metrics::MpmcMetricSink);

// A p99 over a full 10 s window (10 k samples spread over many octaves).
void BM_WindowQuantileQuery(benchmark::State& state) {
  slo::LogLinearHistogram h;
  for (const auto& s : lognormal_samples(10'000, 0, kNanosPerMilli))
    h.record(static_cast<std::uint64_t>(s.value));
  double q = 0.99;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.quantile(q));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WindowQuantileQuery);

// One evaluation tick as the guardrail thread does it at 1 k events/s: the 250 samples of the
// last 250 ms are added and the verdict evaluated, so every iteration slides the window (old
// buckets leave it, the quantile and four burn-rate sums move). Starts with a full 400 s history.
void BM_Evaluate(benchmark::State& state) {
  slo::Evaluator ev(default_config());
  constexpr core::Nanos kTick = 250 * kNanosPerMilli;
  ev.add(lognormal_samples(400'000, 0, kNanosPerMilli));  // 400 s at 1 k/s
  core::Nanos now = 400 * kNanosPerSecond;
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> ln(14.5, 0.8);
  std::vector<Sample> tick(250);
  for (auto _ : state) {
    for (std::size_t i = 0; i < tick.size(); ++i) {
      tick[i] = Sample{1, static_cast<std::int64_t>(ln(rng)),
                       now + static_cast<core::Nanos>(i) * kNanosPerMilli};
    }
    now += kTick;
    ev.add(tick);
    benchmark::DoNotOptimize(ev.evaluate(now));
  }
  state.SetLabel("250 samples + 1 evaluation per iteration");
}
BENCHMARK(BM_Evaluate);

// The detection a deployment controller gets without this guardrail, measured on the same
// event stream: an Argo Rollouts AnalysisTemplate on Prometheus as commonly written
// (p99 over a 5 m range, interval 1 m, failureLimit 2: the third failed measurement aborts).
class AnalysisTemplateDetector {
 public:
  // Returns true when the analysis aborts the rollout.
  bool add(core::Nanos at, std::int64_t latency) {
    window_.emplace_back(at, latency);
    if (at < next_measurement_) return false;
    next_measurement_ += kInterval;
    while (!window_.empty() && window_.front().first <= at - kRange) window_.pop_front();
    std::vector<std::int64_t> values;
    values.reserve(window_.size());
    for (const auto& [t, v] : window_) values.push_back(v);
    const auto p99 = values.begin() + static_cast<std::ptrdiff_t>(values.size() * 99 / 100);
    std::nth_element(values.begin(), p99, values.end());
    if (*p99 > 50 * kNanosPerMilli) ++failures_;
    return failures_ > kFailureLimit;
  }

 private:
  static constexpr core::Nanos kRange = 300 * kNanosPerSecond;
  static constexpr core::Nanos kInterval = 60 * kNanosPerSecond;
  static constexpr int kFailureLimit = 2;
  std::deque<std::pair<core::Nanos, std::int64_t>> window_;
  core::Nanos next_measurement_ = kInterval;
  int failures_ = 0;
};

// Detection time, simulated: 1 k events/s, latency jumps from ~2 ms to 120 ms at t = 60 s.
// The guardrail (default deployment-analysis settings, evaluated every 250 ms) against the
// AnalysisTemplate above, both fed the same events in this run.
void BM_DetectionSimulated(benchmark::State& state) {
  double detection = 0, baseline = 0;
  for (auto _ : state) {
    slo::Evaluator ev(default_config());
    AnalysisTemplateDetector analysis;
    const core::Nanos breaks_at = 60 * kNanosPerSecond;
    core::Nanos next_eval = 250 * kNanosPerMilli;
    detection = baseline = 0;
    for (core::Nanos now = 0; now < 900 * kNanosPerSecond && (detection == 0 || baseline == 0);
         now += kNanosPerMilli) {
      const std::int64_t latency = now < breaks_at ? 2 * kNanosPerMilli : 120 * kNanosPerMilli;
      if (detection == 0) {
        ev.add(Sample{1, latency, now});
        if (now >= next_eval) {
          next_eval += 250 * kNanosPerMilli;
          if (ev.evaluate(now).verdict == slo::Verdict::kRollback) {
            detection = static_cast<double>(now - breaks_at) / 1e9;
          }
        }
      }
      if (baseline == 0 && analysis.add(now, latency)) {
        baseline = static_cast<double>(now - breaks_at) / 1e9;
      }
    }
  }
  state.counters["detection_s"] = detection;
  state.counters["analysis_template_s"] = baseline;
  state.counters["speedup"] = detection > 0 ? baseline / detection : 0;
}
BENCHMARK(BM_DetectionSimulated)->Iterations(1)->Unit(benchmark::kMillisecond);

// The body of GET /guardrail/v1/status.
void BM_StatusJson(benchmark::State& state) {
  auto g = Guardrail::create([] {
    GuardrailConfig c;
    c.evaluator = default_config();
    return c;
  }());
  auto& guardrail = **g;
  for (const auto& s : lognormal_samples(5000, core::monotonic_now_ns(), 1000)) {
    guardrail.record(s.metric, s.value, s.timestamp);
  }
  guardrail.evaluate_now();
  for (auto _ : state) benchmark::DoNotOptimize(status_json(*guardrail.snapshot()));
}
BENCHMARK(BM_StatusJson);

}  // namespace

BENCHMARK_MAIN();
