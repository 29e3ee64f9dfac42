// Journal and recovery speed (issue #3): record encoding, append + commit per sync policy and
// batch size (amortised per command), replay rate against the engine alone on the same
// commands, and the cost of the pre-trade risk checks.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>

#include "page_cache.hpp"
#include "trading/domain/matching_engine.hpp"
#include "trading/domain/naive_order_book.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/writer.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::journal;

EngineConfig config(bool with_limits = false) {
  EngineConfig c;
  c.instruments = {Instrument{"ACME", Price{5}, Qty{10}, Price{100'000}, true, {}}};
  for (std::uint32_t a = 1; a <= 8; ++a) {
    Account acct{AccountId(a), "acct", StpMode::kCancelResting, {}};
    if (with_limits) {
      acct.limits.max_order_qty = Qty{1'000'000};
      acct.limits.max_order_notional = 1'000'000'000'000;
      acct.limits.price_collar_bps = 1000;
      acct.limits.credit_limit = 4'000'000'000'000'000;
      acct.limits.max_messages_per_second = 1'000'000'000;
      acct.limits.message_burst = 1'000'000;
      acct.limits.restricted_symbols = {SymbolId(7)};
    }
    c.accounts.push_back(acct);
  }
  return c;
}

testing::OrderFlow::Options flow_options(std::size_t resting) {
  testing::OrderFlow::Options o;
  o.target_resting = resting;
  for (std::uint32_t a = 1; a <= 8; ++a) o.accounts.push_back(AccountId(a));
  return o;
}

// `resting` passive orders, then `count` flow commands, generated against a shadow engine so
// the flow knows its live orders.
std::vector<Command> make_commands(std::size_t resting, std::size_t count) {
  std::vector<Command> out;
  out.reserve(resting + count);
  MatchingEngine<OrderBook> shadow(config());
  testing::OrderFlow flow(7, flow_options(resting));
  EventBuffer events;
  for (std::size_t i = 0; i < resting + count; ++i) {
    out.push_back(i < resting ? flow.passive_add() : flow.next());
    events.clear();
    shadow.apply(out.back(), events);
    flow.observe(events);
  }
  return out;
}

std::string scratch_dir(const std::string& name) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("gv-journal-bench-" + name)).string();
  std::filesystem::remove_all(dir);
  return dir;
}

void BM_EncodeRecord(benchmark::State& state) {
  const auto commands = make_commands(0, 4096);
  unsigned char buffer[kMaxRecordSize];
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    bytes += encode_record(i, commands[i & 4095], buffer);
    benchmark::DoNotOptimize(buffer);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_record"] = static_cast<double>(bytes) / static_cast<double>(i);
}
BENCHMARK(BM_EncodeRecord);

// append() x batch, then commit(): time per command. Arg 0 = policy, arg 1 = batch size.
void BM_JournalAppendCommit(benchmark::State& state) {
  const auto policy = static_cast<SyncPolicy>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const auto commands = make_commands(0, 4096);
  const std::string dir = scratch_dir(std::string(to_string(policy)));
  auto writer = JournalWriter::open(dir, policy, 1);
  if (!writer) {
    state.SkipWithError(writer.error().message.c_str());
    return;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < batch; ++k) (*writer)->append(commands[(i++) & 4095]);
    if (!(*writer)->commit()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.counters["ns_per_command"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(batch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["syncs"] = static_cast<double>((*writer)->stats().syncs);
  writer->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_JournalAppendCommit)
    ->ArgNames({"policy", "batch"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({1, 16})
    ->Args({1, 256})
    ->Args({2, 1})
    ->Args({2, 256})
    ->UseRealTime();

// Engine alone on the journal's commands: the baseline for the replay rate.
void BM_ApplyOnly(benchmark::State& state) {
  const auto resting = static_cast<std::size_t>(state.range(0));
  const auto commands = make_commands(resting, 1'000'000);
  EventBuffer events;
  for (auto _ : state) {
    MatchingEngine<OrderBook> engine(config());
    for (const Command& c : commands) {
      events.clear();
      engine.apply(c, events);
    }
    benchmark::DoNotOptimize(engine.last_order_id());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(commands.size()));
}
BENCHMARK(BM_ApplyOnly)->Arg(1'000)->Arg(100'000)->Unit(benchmark::kMillisecond)->Iterations(3);

// Recovery from the journal alone (read, CRC, decode, apply) of the same commands. The second
// argument says where the journal is read from: 1 = cold (dropped from the page cache before
// each iteration: a restart after a reboot), 0 = warm (in the page cache: a restart after a
// process crash).
void BM_Replay(benchmark::State& state) {
  const auto resting = static_cast<std::size_t>(state.range(0));
  const bool cold = state.range(1) != 0;
  const auto commands = make_commands(resting, 1'000'000);
  const std::string dir = scratch_dir("replay");
  {
    auto writer = JournalWriter::open(dir, SyncPolicy::kWrite, 1);
    for (const Command& c : commands) (*writer)->append(c);
    (void)(*writer)->commit();
  }
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      bench::evict_from_page_cache(dir);
      state.ResumeTiming();
    }
    MatchingEngine<OrderBook> engine(config());
    auto report = recover(engine, dir);
    if (!report || report->records_replayed != commands.size()) {
      state.SkipWithError("replay failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(commands.size()));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Replay)
    ->ArgNames({"resting", "cold"})
    ->Args({1'000, 0})
    ->Args({1'000, 1})
    ->Args({100'000, 0})
    ->Args({100'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// Every pre-trade check runs and the last one (credit) rejects: validation + risk, no book.
void BM_RiskCheckRejectedAtTheLastLimit(benchmark::State& state) {
  EngineConfig c = config(true);
  c.accounts[0].limits.credit_limit = 1;  // any order exceeds it, after all other checks
  MatchingEngine<OrderBook> engine(c);
  EventBuffer events;
  std::uint64_t id = 1;
  for (auto _ : state) {
    events.clear();
    engine.apply(
        Command{static_cast<core::Nanos>(id),
                NewOrder{OrderId(id), AccountId(1), SymbolId(0), Side::kBuy, OrderType::kLimit,
                         TimeInForce::kDay, Price{100'000}, Qty{10}, 0, id}},
        events);
    ++id;
    benchmark::DoNotOptimize(events.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RiskCheckRejectedAtTheLastLimit);

// Mixed flow at 1 k resting with every limit configured (none binding) vs none: the difference
// is what the risk checks and exposure bookkeeping cost per command.
void BM_MixedFlowRisk(benchmark::State& state) {
  const bool limits = state.range(0) != 0;
  const auto commands = make_commands(1'000, 1'000'000);
  EventBuffer events;
  MatchingEngine<OrderBook> engine(config(limits));
  std::size_t i = 0;
  for (auto _ : state) {
    events.clear();
    engine.apply(commands[i++ % commands.size()], events);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MixedFlowRisk)->ArgName("limits")->Arg(0)->Arg(1)->Iterations(1'000'000);

}  // namespace

BENCHMARK_MAIN();
