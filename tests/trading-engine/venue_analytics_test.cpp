// VenueAnalytics: volume and notional per symbol, positions and P&L by the average-cost method
// (adds, partial closes, flips through zero, shorts), rejects by reason, and the parametric VaR
// against a hand computation of the variance-covariance formula.
#include <cmath>

#include <gtest/gtest.h>

#include "trading/domain/venue_analytics.hpp"

namespace {

using namespace trading;

AnalyticsConfig two_symbols() {
  AnalyticsConfig c;
  c.symbols = {"ACME", "BETA"};
  c.price_decimals = {2, 2};
  Account alice{AccountId(1), "ALICE", StpMode::kCancelResting, {}};
  alice.limits.credit_limit = 1'000'000;  // 10 000.00
  Account bob{AccountId(2), "BOB", StpMode::kCancelResting, {}};
  c.accounts = {alice, bob};
  c.position_limits = {500, 0};
  c.min_var_returns = 3;
  c.trading_day_seconds = 100;
  return c;
}

// ALICE's order (aggressor) trades with BOB's resting order.
Event trade(SymbolId symbol, Side alice_side, std::int64_t price, std::int64_t qty) {
  Trade t{};
  t.symbol = symbol;
  t.price = Price(price);
  t.qty = Qty(qty);
  t.aggressor_side = alice_side;
  t.aggressor_account = AccountId(1);
  t.resting_account = AccountId(2);
  return t;
}

TEST(VenueAnalytics, CountsVolumeNotionalAndMarketData) {
  VenueAnalytics a(two_symbols());
  a.on_events({trade(SymbolId(0), Side::kBuy, 10'000, 10), TopOfBook{SymbolId(0)},
               trade(SymbolId(0), Side::kSell, 10'050, 4), TopOfBook{SymbolId(1)}});
  const auto& acme = a.symbols()[0];
  EXPECT_EQ(acme.trades, 2u);
  EXPECT_EQ(acme.traded_qty, 14);
  EXPECT_DOUBLE_EQ(acme.traded_notional, 100.0 * 10 + 100.5 * 4);
  EXPECT_EQ(acme.last_price, 10'050);
  EXPECT_DOUBLE_EQ(acme.last_price_value, 100.5);
  EXPECT_EQ(acme.market_data_updates, 1u);
  EXPECT_EQ(a.symbols()[1].market_data_updates, 1u);
  EXPECT_EQ(a.symbols()[1].trades, 0u);
}

TEST(VenueAnalytics, AverageCostPnlThroughAddsPartialClosesAndAFlip) {
  VenueAnalytics a(two_symbols());
  // ALICE buys 10 @ 100, 10 @ 102 (average 101), sells 5 @ 105 (realises 5 x 4 = 20),
  // sells 25 @ 99 (closes 15 at 101 → -30, opens short 10 @ 99).
  a.on_events(
      {trade(SymbolId(0), Side::kBuy, 10'000, 10), trade(SymbolId(0), Side::kBuy, 10'200, 10),
       trade(SymbolId(0), Side::kSell, 10'500, 5), trade(SymbolId(0), Side::kSell, 9'900, 25)});
  const auto accounts = a.accounts();
  const auto& alice = accounts[0];
  EXPECT_EQ(alice.positions[0].position, -10);
  EXPECT_NEAR(alice.positions[0].realised_pnl, 20.0 - 30.0, 1e-9);
  // Short 10 opened at 99, marked at the last price 99: nothing unrealised yet.
  EXPECT_NEAR(alice.positions[0].unrealised_pnl, 0.0, 1e-9);
  EXPECT_NEAR(alice.positions[0].market_value, -990.0, 1e-9);
  // BOB took the other side of every fill: his P&L is ALICE's, negated (a zero-sum venue).
  const auto& bob = accounts[1];
  EXPECT_EQ(bob.positions[0].position, 10);
  EXPECT_NEAR(bob.realised_pnl + alice.realised_pnl, 0.0, 1e-9);
  // The price moves to 97 (a trade between them of 1 lot): ALICE's short gains 2 per share.
  a.on_events({trade(SymbolId(0), Side::kBuy, 9'700, 1)});
  const auto after = a.accounts();
  EXPECT_EQ(after[0].positions[0].position, -9);
  EXPECT_NEAR(after[0].realised_pnl, -10.0 + 2.0, 1e-9);  // bought 1 back at 97 against 99
  EXPECT_NEAR(after[0].unrealised_pnl, 9 * 2.0, 1e-9);
  EXPECT_NEAR(after[0].unrealised_pnl + after[1].unrealised_pnl, 0.0, 1e-9);
  EXPECT_EQ(after[0].largest_position, 9);
  EXPECT_EQ(after[0].position_limit, 500);
}

TEST(VenueAnalytics, RejectsByReasonAndEngineState) {
  VenueAnalytics a(two_symbols());
  a.on_events({Rejected{OrderId(1), RejectCode::kCreditLimit},
               Rejected{OrderId(2), RejectCode::kCreditLimit},
               Rejected{OrderId(3), RejectCode::kSymbolHalted}});
  EXPECT_EQ(a.rejects()[static_cast<std::size_t>(RejectCode::kCreditLimit)], 2u);
  EXPECT_EQ(a.rejects()[static_cast<std::size_t>(RejectCode::kSymbolHalted)], 1u);
  EXPECT_EQ(VenueAnalytics::reject_reason(RejectCode::kCreditLimit), "credit_limit");
  a.set_account_state(AccountId(1), 250'000, true);
  a.set_halted(SymbolId(1), true);
  a.set_venue_state(false, true);
  const auto accounts = a.accounts();
  EXPECT_NEAR(accounts[0].open_order_exposure, 2'500.0, 1e-9);
  EXPECT_NEAR(accounts[0].credit_limit, 10'000.0, 1e-9);
  EXPECT_EQ(accounts[1].credit_limit, 0.0) << "no limit configured";
  EXPECT_TRUE(accounts[0].killed);
  EXPECT_TRUE(a.symbols()[1].halted);
  EXPECT_TRUE(a.venue_killed());
}

TEST(VenueAnalytics, ParametricVarMatchesTheVarianceCovarianceFormula) {
  VenueAnalytics a(two_symbols());
  // ALICE long 10 ACME; prices sampled 100, 101, 99, 100.5 (one-second samples).
  const std::int64_t prices[] = {10'000, 10'100, 9'900, 10'050};
  a.on_events({trade(SymbolId(0), Side::kBuy, prices[0], 10)});
  a.sample_prices(1.0);
  EXPECT_FALSE(a.accounts()[0].value_at_risk.has_value()) << "no returns yet";
  for (int i = 1; i < 4; ++i) {
    a.on_events({trade(SymbolId(0), Side::kBuy, prices[i], 0)});
    a.sample_prices(1.0);
  }
  ASSERT_EQ(a.var_returns(), 3u);
  double r[3], mean = 0;
  for (int i = 0; i < 3; ++i) {
    r[i] = std::log(static_cast<double>(prices[i + 1]) / static_cast<double>(prices[i]));
    mean += r[i] / 3;
  }
  double variance = 0;
  for (double x : r) variance += (x - mean) * (x - mean) / 2;
  const double value = 10 * 100.5;  // marked at the last price
  const double expected = 2.326347874 * std::sqrt(value * value * variance * 100.0);
  const auto accounts = a.accounts();
  ASSERT_TRUE(accounts[0].value_at_risk.has_value());
  EXPECT_NEAR(*accounts[0].value_at_risk, expected, expected * 1e-6);
  // BOB is short the same 10: the same risk.
  EXPECT_NEAR(*accounts[1].value_at_risk, expected, expected * 1e-6);
}

TEST(VenueAnalytics, VarWindowKeepsOnlyTheLatestSamples) {
  auto config = two_symbols();
  config.var_window_samples = 4;
  VenueAnalytics a(config);
  a.on_events({trade(SymbolId(0), Side::kBuy, 10'000, 10)});
  for (int i = 0; i < 20; ++i) a.sample_prices(1.0);
  EXPECT_EQ(a.var_returns(), 4u);
  // A flat price: no volatility, no VaR.
  EXPECT_NEAR(*a.accounts()[0].value_at_risk, 0.0, 1e-12);
}

}  // namespace
