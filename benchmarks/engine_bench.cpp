// Matching engine speed (issue #3): the fast OrderBook against the NaiveOrderBook baseline in the
// same binary, on the same synthetic flow (~45 % add, 40 % cancel, 10 % aggressive, 5 % replace,
// prices clustered near the touch), at 1 k and 100 k resting orders. Per-operation latency
// percentiles and heap allocations per operation are reported as counters.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "core/huge_pages.hpp"
#include "guardrails/slo/log_linear_histogram.hpp"
#include "trading/domain/matching_engine.hpp"
#include "trading/domain/naive_order_book.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/testing/order_flow.hpp"

#include "counting_allocator.hpp"

namespace {

using namespace trading;

// Commands per run: 1 M, or ENGINE_BENCH_OPS (the CI smoke run uses a few thousand under ASan).
std::int64_t ops_from_env() {
  const char* v = std::getenv("ENGINE_BENCH_OPS");
  const std::int64_t n = v != nullptr ? std::atoll(v) : 0;
  return n > 0 ? n : 1'000'000;
}
const std::int64_t kOps = ops_from_env();

EngineConfig config() {
  EngineConfig c;
  c.instruments = {Instrument{"ACME", Price{5}, Qty{10}, Price{100'000}, true, {}}};
  for (std::uint32_t a = 1; a <= 8; ++a)
    c.accounts.push_back(Account{AccountId(a), "acct", StpMode::kCancelResting, {}});
  return c;
}

testing::OrderFlow::Options flow_options(std::size_t resting) {
  testing::OrderFlow::Options o;
  o.target_resting = resting;
  for (std::uint32_t a = 1; a <= 8; ++a) o.accounts.push_back(AccountId(a));
  return o;
}

// One measured command. Not inlined, so that callgrind can count exactly the measured commands
// (--toggle-collect='*measured_apply*'), not the prefill or the flow's generation.
template <typename Book>
[[gnu::noinline]] void measured_apply(MatchingEngine<Book>& engine, const Command& c,
                                      EventBuffer& events) {
  engine.apply(c, events);
}

// kOps commands of the mixed flow on a book pre-filled to `resting` (arg 0). With `Timed`, each
// operation is also timed (two clock reads, ~40 ns, included in the percentiles).
template <typename Book, bool Timed>
void mixed_flow(benchmark::State& state) {
  const auto resting = static_cast<int>(state.range(0));
  EventBuffer events;
  events.reserve(1024);
  // The commands are generated up front against a shadow engine whose events the flow observes
  // (so cancels target live orders and the book holds its depth); the measured engine then
  // replays them and, being deterministic, sees exactly the same book.
  std::vector<Command> prefill;
  std::vector<Command> commands;
  commands.reserve(static_cast<std::size_t>(kOps));
  {
    MatchingEngine<NaiveOrderBook> shadow(config());
    testing::OrderFlow flow(42, flow_options(static_cast<std::size_t>(resting)));
    for (int i = 0; i < resting + static_cast<int>(kOps); ++i) {
      auto& list = i < resting ? prefill : commands;
      list.push_back(i < resting ? flow.passive_add() : flow.next());
      events.clear();
      shadow.apply(list.back(), events);
      flow.observe(events);
    }
  }
  MatchingEngine<Book> engine(config());
  for (const Command& c : prefill) {
    events.clear();
    engine.apply(c, events);
  }
  // Warm-up pass over a copy of the engine would double memory; instead the first 5 % of the
  // commands warm pools and the index, and allocations are counted over the rest.
  guardrails::slo::LogLinearHistogram latency;
  std::size_t i = 0;
  std::uint64_t allocations = 0;
  std::uint64_t trades = 0;
  const std::size_t warm = commands.size() / 20;
  for (auto _ : state) {
    const Command& c = commands[i];
    events.clear();
    const auto before_alloc = bench::allocations_on_this_thread();
    if constexpr (Timed) {
      const auto t0 = std::chrono::steady_clock::now();
      measured_apply(engine, c, events);
      const auto t1 = std::chrono::steady_clock::now();
      latency.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    } else {
      measured_apply(engine, c, events);
    }
    if (i >= warm) allocations += bench::allocations_on_this_thread() - before_alloc;
    trades += events.size();  // keeps the events observable
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  if constexpr (Timed) {
    state.counters["p50_ns"] = static_cast<double>(latency.quantile(0.5));
    state.counters["p99_ns"] = static_cast<double>(latency.quantile(0.99));
    state.counters["p999_ns"] = static_cast<double>(latency.quantile(0.999));
  }
  state.counters["allocs_per_op"] =
      static_cast<double>(allocations) / static_cast<double>(i - warm);
  state.counters["resting_end"] = static_cast<double>(engine.book(SymbolId(0)).order_count());
  state.counters["events"] = static_cast<double>(trades);
}

template <typename Book>
void BM_MixedFlow(benchmark::State& state) {
  mixed_flow<Book, false>(state);
}
template <typename Book>
void BM_MixedFlowLatency(benchmark::State& state) {
  mixed_flow<Book, true>(state);
}

// What the timed variant's two clock reads cost on their own, in the same histogram and the same
// run: its percentiles are the floor under BM_MixedFlowLatency's (which include the reads).
void BM_ClockReadsLatency(benchmark::State& state) {
  guardrails::slo::LogLinearHistogram latency;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::ClobberMemory();
    const auto t1 = std::chrono::steady_clock::now();
    latency.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
  }
  state.counters["p50_ns"] = static_cast<double>(latency.quantile(0.5));
  state.counters["p99_ns"] = static_cast<double>(latency.quantile(0.99));
  state.counters["p999_ns"] = static_cast<double>(latency.quantile(0.999));
}
BENCHMARK(BM_ClockReadsLatency)->Iterations(kOps);

// The state digest (FNV-1a over every resting order and the counters) of a book holding
// `resting` orders (arg 0), built by the mixed flow's passive adds: the venue computes it on the
// engine thread for each journal marker, so its time is a pause every order waits through.
void BM_Digest(benchmark::State& state) {
  const auto resting = static_cast<std::size_t>(state.range(0));
  MatchingEngine<OrderBook> engine(config());
  testing::OrderFlow flow(42, flow_options(resting));
  EventBuffer events;
  for (std::size_t i = 0; i < resting; ++i) {
    events.clear();
    engine.apply(flow.passive_add(), events);
    flow.observe(events);
  }
  std::uint64_t digest = 0;
  for (auto _ : state) {
    digest ^= engine.digest();
    benchmark::DoNotOptimize(digest);
  }
  state.counters["resting"] = static_cast<double>(engine.book(SymbolId(0)).order_count());
  state.counters["ns_per_order"] = benchmark::Counter(
      static_cast<double>(resting),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Digest)->Arg(1'000)->Arg(150'000)->Unit(benchmark::kMillisecond);

// A fresh engine sized for the day (expected_orders 500 k, as the venue's default) filled with
// `orders` (arg 0) resting orders, one every 10 µs (100 k/s: time for the background
// populating to keep ahead, as in a venue). Reports the slowest apply and the time spent in
// applies over 100 µs: the first write to a huge page of the node pool or an index used to cost
// 4-40 ms (the kernel zeroing 2 MB) once every ~29 k orders and on the first orders.
void BM_FreshBookFill(benchmark::State& state) {
  const auto orders = static_cast<std::uint64_t>(state.range(0));
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    EngineConfig c = config();
    c.expected_orders = 500'000;
    MatchingEngine<OrderBook> engine(c);
    core::wait_populated();  // as the venue does before its first order
    EventBuffer events;
    events.reserve(1024);
    std::int64_t slowest = 0, slow_total = 0;
    for (std::uint64_t i = 1; i <= orders; ++i) {
      NewOrder o;
      o.id = OrderId(i);
      o.account = AccountId(1 + i % 8);
      o.symbol = SymbolId(0);
      o.side = i % 2 == 0 ? Side::kBuy : Side::kSell;  // never crossing: every order rests
      o.price = Price(i % 2 == 0 ? 99'000 : 101'000);
      o.qty = Qty(10);
      o.client_order_key = i;
      events.clear();
      const auto start = Clock::now();
      engine.apply(Command{static_cast<core::Nanos>(i), o}, events);
      const auto end = Clock::now();
      const std::int64_t took = std::chrono::nanoseconds(end - start).count();
      slowest = std::max(slowest, took);
      if (took > 100'000) slow_total += took;
      while (Clock::now() - end < std::chrono::microseconds(10)) {
      }
    }
    state.counters["slowest_us"] = static_cast<double>(slowest) / 1e3;
    state.counters["slow_ms"] = static_cast<double>(slow_total) / 1e6;
  }
}
BENCHMARK(BM_FreshBookFill)->Arg(200'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Names say which book and how many resting orders: BM_MixedFlow<OrderBook>/1000 etc.
BENCHMARK_TEMPLATE(BM_MixedFlow, OrderBook)
    ->Arg(1'000)
    ->Arg(100'000)
    ->Iterations(kOps)
    ->Unit(benchmark::kNanosecond);
BENCHMARK_TEMPLATE(BM_MixedFlow, NaiveOrderBook)
    ->Arg(1'000)
    ->Arg(100'000)
    ->Iterations(kOps)
    ->Unit(benchmark::kNanosecond);
// 1 M resting: a book deeper than the TLB's reach on 4 KB pages (where huge pages tell). Not in
// the smoke test (its set-up is slow under the sanitizers).
BENCHMARK_TEMPLATE(BM_MixedFlowLatency, OrderBook)
    ->Arg(1'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Iterations(kOps);
BENCHMARK_TEMPLATE(BM_MixedFlowLatency, NaiveOrderBook)->Arg(1'000)->Arg(100'000)->Iterations(kOps);

}  // namespace

BENCHMARK_MAIN();
