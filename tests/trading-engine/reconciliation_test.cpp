// SOX control "completeness and accuracy": ledgers built from the same trades reconcile with no
// break; a missed, a doubled or an altered execution is named with the journal records behind
// it, and holdings that differ are named per account and symbol.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"
#include "trading/domain/reconciliation.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::testing;

// Runs a random flow through the engine; each command's events go to both ledgers, except where
// `tamper` says otherwise for the live one.
template <typename Tamper>
std::pair<Ledger, Ledger> run_flow(int commands, Tamper tamper) {
  MatchingEngine<OrderBook> engine(test_config());
  OrderFlow flow(5, {kAcme, 100'000, 5, 10, {kAlice, kBob, kCarol}, 1, 2000});
  Ledger journal, live;
  EventBuffer events;
  for (int i = 1; i <= commands; ++i) {
    events.clear();
    engine.apply(flow.next(), events);
    flow.observe(events);
    journal.on_events(static_cast<std::uint64_t>(i), events);
    tamper(static_cast<std::uint64_t>(i), events, live);
  }
  return {std::move(journal), std::move(live)};
}

TEST(Reconciliation, TheSameTradesReconcileWithoutABreak) {
  auto [journal, live] =
      run_flow(5000, [](std::uint64_t s, const auto& ev, Ledger& l) { l.on_events(s, ev); });
  ASSERT_GT(journal.trades(), 100u);
  EXPECT_TRUE(reconcile(journal, live).empty());
  std::int64_t net = 0;
  for (const auto& [key, h] : journal.holdings()) net += h.position;
  EXPECT_EQ(net, 0) << "every share bought was sold";
}

TEST(Reconciliation, AnInjectedBreakIsNamedWithItsRecords) {
  std::uint64_t skipped_sequence = 0, doubled_sequence = 0;
  auto [journal, live] = run_flow(5000, [&](std::uint64_t s, const auto& ev, Ledger& l) {
    const bool has_trade = std::any_of(
        ev.begin(), ev.end(), [](const Event& e) { return std::holds_alternative<Trade>(e); });
    if (has_trade && skipped_sequence == 0 && s > 1000) {
      skipped_sequence = s;  // the live side never saw this command's trades
      return;
    }
    l.on_events(s, ev);
    if (has_trade && doubled_sequence == 0 && s > 3000) {
      doubled_sequence = s;
      for (const Event& e : ev) {
        if (const auto* t = std::get_if<Trade>(&e)) {
          l.on_trade(s, *t);  // reported twice
          break;
        }
      }
    }
  });
  const auto breaks = reconcile(journal, live);
  const auto count = [&](const std::string& kind) {
    return std::count_if(breaks.begin(), breaks.end(),
                         [&](const Break& b) { return b.kind == kind; });
  };
  EXPECT_GE(count("missing_execution"), 2) << "both sides of the skipped trade";
  EXPECT_EQ(count("duplicate_execution"), 2) << "both sides of the doubled trade";
  EXPECT_GE(count("position"), 1);
  for (const Break& b : breaks) {
    if (b.kind == "missing_execution") {
      ASSERT_EQ(b.executions.size(), 1u);
      EXPECT_EQ(b.executions[0].sequence, skipped_sequence) << "named with its journal record";
    }
    if (b.kind == "duplicate_execution") {
      EXPECT_EQ(b.executions[0].sequence, doubled_sequence);
    }
    if (b.kind == "position") {
      EXPECT_NE(b.record, b.other);
      EXPECT_FALSE(b.executions.empty()) << "the records behind the position";
    }
  }
}

TEST(Reconciliation, ExecutionsAreComparedOverTheRangeBothSidesSawAndHoldingsSurviveASnapshot) {
  auto [journal, live] =
      run_flow(3000, [](std::uint64_t s, const auto& ev, Ledger& l) { l.on_events(s, ev); });
  // A restart: the live ledger's holdings come back from the snapshot, its executions start anew.
  std::vector<std::uint64_t> words;
  live.save_holdings([&](std::uint64_t v) { words.push_back(v); });
  Ledger restarted;
  std::size_t at = 0;
  ASSERT_TRUE(restarted.load_holdings([&](std::uint64_t& v) {
    if (at == words.size()) return false;
    v = words[at++];
    return true;
  }));
  restarted.start_executions(3001);
  EXPECT_TRUE(reconcile(journal, restarted).empty());
  Ledger altered = restarted;
  altered.add({3001, TradeId(999'999), kAlice, kAcme, Side::kBuy, Qty{10}, Price{1000}});
  const auto breaks = reconcile(journal, altered);
  ASSERT_EQ(breaks.size(), 3u);  // position, cash, an execution the record does not have
  EXPECT_EQ(breaks[2].kind, "extra_execution");
  EXPECT_EQ(breaks[2].executions[0].trade, TradeId(999'999));
}

}  // namespace
