// Limit-up/limit-down: bands around a moving reference, no trade outside the band, limit state
// -> halt -> automatic resume, all driven by command time.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"

namespace {

using namespace trading;
using namespace trading::testing;

constexpr core::Nanos kSecond = core::kNanosPerSecond;
constexpr core::Nanos kT0 = 1'000 * kSecond;

class PriceBandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config.instruments[0].bands.band_bps = 500;  // ACME: reference 1000, tick 5 -> [950, 1050]
    engine = std::make_unique<MatchingEngine<OrderBook>>(config);
  }
  const EventBuffer& run(Command c, core::Nanos t) {
    c.timestamp = t;
    events.clear();
    engine->apply(c, events);
    return events;
  }
  const EventBuffer& tick(core::Nanos t) { return run(Command{0, Tick{}}, t); }
  RejectCode rejected(Command c, core::Nanos t) {
    const auto before = engine->digest();
    const auto r = only<Rejected>(run(c, t));
    EXPECT_EQ(engine->digest(), before) << "a rejected command changes nothing";
    return r.empty() ? RejectCode{} : r[0].code;
  }

  EngineConfig config = test_config();
  std::unique_ptr<MatchingEngine<OrderBook>> engine;
  EventBuffer events;
};

TEST_F(PriceBandTest, BandAroundTheReferenceRoundedToTheTick) {
  const PriceBand& b = engine->band(kAcme);
  EXPECT_TRUE(b.enabled());
  EXPECT_EQ(b.reference(), Price{1000});
  EXPECT_EQ(b.lower(), Price{950});
  EXPECT_EQ(b.upper(), Price{1050});
  EXPECT_FALSE(engine->band(kBeta).enabled()) << "BETA has no band configured";
  EXPECT_TRUE(engine->band(kBeta).allows(Price{1'000'000'000}));
}

TEST_F(PriceBandTest, AggressiveOrdersOutsideTheBandAreRejectedPassiveOnesRest) {
  EXPECT_EQ(rejected(limit(1, kAlice, Side::kBuy, 1055, 10), kT0), RejectCode::kPriceOutsideBand);
  EXPECT_EQ(rejected(limit(2, kAlice, Side::kSell, 945, 10), kT0), RejectCode::kPriceOutsideBand);
  EXPECT_EQ(only<Accepted>(run(limit(3, kAlice, Side::kBuy, 900, 10), kT0)).size(), 1u)
      << "a buy below the band cannot trade outside it";
  EXPECT_EQ(only<Accepted>(run(limit(4, kAlice, Side::kSell, 1100, 10), kT0)).size(), 1u);
  EXPECT_EQ(only<Accepted>(run(limit(5, kAlice, Side::kBuy, 1050, 10), kT0)).size(), 1u)
      << "at the band is inside it";
  EXPECT_EQ(rejected(replace(4, kAlice, 945, 10), kT0), RejectCode::kPriceOutsideBand);
}

TEST_F(PriceBandTest, MarketOrderStopsAtTheBandAndTheRestIsCanceled) {
  run(limit(1, kBob, Side::kSell, 1000, 10), kT0);
  run(limit(2, kBob, Side::kSell, 1050, 10), kT0);
  run(limit(3, kBob, Side::kSell, 1100, 10), kT0);  // passive, above the band
  const auto& ev = run(market(4, kAlice, Side::kBuy, 30), kT0 + 1);
  const auto trades = only<Trade>(ev);
  ASSERT_EQ(trades.size(), 2u);
  EXPECT_EQ(trades[0].price, Price{1000});
  EXPECT_EQ(trades[1].price, Price{1050});
  const auto canceled = only<Canceled>(ev);
  ASSERT_EQ(canceled.size(), 1u);
  EXPECT_EQ(canceled[0].id, OrderId(4));
  EXPECT_EQ(canceled[0].canceled_qty, Qty{10});
  EXPECT_EQ(canceled[0].reason, CancelReason::kPriceBand);
  EXPECT_NE(engine->book(kAcme).find(OrderId(3)), nullptr) << "the order outside stays";
}

TEST_F(PriceBandTest, FokThatWouldNeedAPriceOutsideTheBandDoesNotTrade) {
  ASSERT_EQ(engine->band(kAcme).reference(), Price{1000}) << "the band is [950, 1050]";
  run(limit(1, kBob, Side::kSell, 1000, 10), kT0);
  run(limit(2, kBob, Side::kSell, 1100, 10), kT0);
  const auto& ev =
      run(Command{0, NewOrder{OrderId(3), kAlice, kAcme, Side::kBuy, OrderType::kMarket,
                              TimeInForce::kFok, Price{0}, Qty{20}, 0}},
          kT0 + 1);
  EXPECT_TRUE(only<Trade>(ev).empty());
  ASSERT_EQ(only<Canceled>(ev).size(), 1u);
  EXPECT_EQ(only<Canceled>(ev)[0].reason, CancelReason::kFokUnfillable);
}

TEST_F(PriceBandTest, FifteenSecondsAtTheBandHaltsForFiveMinutesThenResumes) {
  const auto& entered = run(limit(1, kAlice, Side::kBuy, 1050, 10), kT0);
  const auto band_events = only<PriceBandChanged>(entered);
  ASSERT_EQ(band_events.size(), 1u);
  EXPECT_TRUE(band_events[0].limit_state) << "best bid at the upper band";
  EXPECT_EQ(band_events[0].upper, Price{1050});

  EXPECT_TRUE(tick(kT0 + 15 * kSecond - 1).empty());
  EXPECT_FALSE(engine->halted(kAcme));
  const auto halted = only<Halted>(tick(kT0 + 15 * kSecond));
  ASSERT_EQ(halted.size(), 1u);
  EXPECT_EQ(halted[0].reason, HaltReason::kLimitUpLimitDown);
  EXPECT_TRUE(engine->halted(kAcme));

  EXPECT_EQ(rejected(limit(2, kBob, Side::kSell, 1000, 10), kT0 + 20 * kSecond),
            RejectCode::kSymbolHalted);
  EXPECT_EQ(rejected(replace(1, kAlice, 1000, 10), kT0 + 20 * kSecond), RejectCode::kSymbolHalted);
  EXPECT_EQ(only<Accepted>(run(limit(3, kBob, Side::kSell, 1000, 10, TimeInForce::kDay, kBeta),
                               kT0 + 20 * kSecond))
                .size(),
            1u)
      << "other symbols trade on";

  const core::Nanos resume_at = kT0 + 15 * kSecond + 300 * kSecond;
  EXPECT_TRUE(only<Resumed>(tick(resume_at - 1)).empty());
  const auto& resumed_events = tick(resume_at);
  const auto resumed = only<Resumed>(resumed_events);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason, HaltReason::kBandPauseEnded);
  EXPECT_FALSE(engine->halted(kAcme));
  ASSERT_EQ(only<PriceBandChanged>(resumed_events).size(), 1u)
      << "the bid still sits at the band: a new limit state starts";
  EXPECT_TRUE(only<PriceBandChanged>(resumed_events)[0].limit_state);
  EXPECT_EQ(only<Accepted>(run(limit(4, kBob, Side::kSell, 1050, 10), resume_at + 1)).size(), 1u);
}

TEST_F(PriceBandTest, CancelsAreAcceptedDuringTheBandHalt) {
  run(limit(1, kAlice, Side::kSell, 950, 10), kT0);  // best offer at the lower band
  tick(kT0 + 15 * kSecond);
  ASSERT_TRUE(engine->halted(kAcme));
  const auto canceled = only<Canceled>(run(cancel(1, kAlice), kT0 + 16 * kSecond));
  ASSERT_EQ(canceled.size(), 1u);
  EXPECT_EQ(canceled[0].reason, CancelReason::kRequested);
}

TEST_F(PriceBandTest, LeavingTheBandBeforeTheLimitStateEndsPreventsTheHalt) {
  run(limit(1, kAlice, Side::kBuy, 1050, 10), kT0);
  const auto& left = run(cancel(1, kAlice), kT0 + 10 * kSecond);
  ASSERT_EQ(only<PriceBandChanged>(left).size(), 1u);
  EXPECT_FALSE(only<PriceBandChanged>(left)[0].limit_state);
  EXPECT_TRUE(only<Halted>(tick(kT0 + 60 * kSecond)).empty());
  EXPECT_FALSE(engine->halted(kAcme));
}

TEST_F(PriceBandTest, ManualHaltAndBandHaltAreIndependent) {
  run(limit(1, kAlice, Side::kBuy, 1050, 10), kT0);
  tick(kT0 + 15 * kSecond);
  run(Command{0, TradingHalt{false, kAcme, true}}, kT0 + 20 * kSecond);
  tick(kT0 + 400 * kSecond);  // the band pause is over, the manual halt is not
  EXPECT_TRUE(engine->halted(kAcme));
  const auto resumed =
      only<Resumed>(run(Command{0, TradingHalt{false, kAcme, false}}, kT0 + 401 * kSecond));
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason, HaltReason::kManual);
  EXPECT_FALSE(engine->halted(kAcme));
}

TEST_F(PriceBandTest, ReferenceFollowsTheMeanTradePriceAndMovesTheBand) {
  // Trades at 1040 for a while: the reference moves once the window advances.
  std::uint64_t id = 1;
  for (int i = 0; i < 5; ++i) {
    run(limit(id++, kBob, Side::kSell, 1040, 10), kT0 + i * kSecond);
    run(limit(id++, kAlice, Side::kBuy, 1040, 10), kT0 + i * kSecond);
  }
  EXPECT_EQ(engine->band(kAcme).reference(), Price{1000}) << "moves only with the window";
  const auto moved = only<PriceBandChanged>(tick(kT0 + 10 * kSecond));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].reference, Price{1040});
  EXPECT_EQ(moved[0].lower, Price{990});   // 1040 - 52 = 988, up to the tick
  EXPECT_EQ(moved[0].upper, Price{1090});  // 1040 + 52 = 1092, down to the tick
  EXPECT_EQ(
      only<Accepted>(run(limit(id++, kAlice, Side::kBuy, 1085, 10), kT0 + 11 * kSecond)).size(),
      1u);

  // One trade at 1085 (against the bid above): the mean of the window is now
  // (5 x 1040 + 1085) / 6 = 1047, under 1 % from 1040, so the reference stays.
  ASSERT_EQ(only<Trade>(run(limit(id++, kBob, Side::kSell, 1045, 10), kT0 + 12 * kSecond)).size(),
            1u);
  EXPECT_TRUE(only<PriceBandChanged>(tick(kT0 + 20 * kSecond)).empty());
  // A window without trades keeps the last reference.
  EXPECT_TRUE(only<PriceBandChanged>(tick(kT0 + 400 * kSecond)).empty());
  EXPECT_EQ(engine->band(kAcme).reference(), Price{1040});
}

TEST_F(PriceBandTest, SameCommandsSameTimesSameEventsAndDigest) {
  MatchingEngine<OrderBook> other(config);
  EventBuffer a, b;
  std::uint64_t id = 1;
  for (int i = 0; i < 200; ++i) {
    const core::Nanos t = kT0 + i * kSecond;
    const Side side = i % 2 == 0 ? Side::kBuy : Side::kSell;
    Command c = limit(id++, i % 3 == 0 ? kAlice : kBob, side, 1000 + (i % 11) * 5, 10);
    c.timestamp = t;
    a.clear();
    b.clear();
    engine->apply(c, a);
    other.apply(c, b);
    ASSERT_EQ(a, b);
  }
  EXPECT_EQ(engine->digest(), other.digest());
}

}  // namespace
