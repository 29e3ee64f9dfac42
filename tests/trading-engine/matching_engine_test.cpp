// Scenario tests of the matching engine, run against both books (typed tests).
#include <gtest/gtest.h>

#include <random>

#include "engine_test_support.hpp"
#include "trading/domain/state_digest.hpp"

namespace {

using namespace trading;
using namespace trading::testing;

template <typename Book>
class EngineTest : public ::testing::Test {
 protected:
  MatchingEngine<Book> engine{test_config()};
  EventBuffer events;

  const EventBuffer& run(const Command& c) {
    events.clear();
    engine.apply(c, events);
    return events;
  }
  std::vector<Level> depth(Side side, SymbolId sym = kAcme) {
    std::vector<Level> out;
    engine.book(sym).depth(side, 10, out);
    return out;
  }
};
using Books = ::testing::Types<OrderBook, NaiveOrderBook>;
TYPED_TEST_SUITE(EngineTest, Books);

TYPED_TEST(EngineTest, RestingOrdersBuildTheBookAndTopOfBook) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 100));
  this->run(limit(2, kAlice, Side::kBuy, 1005, 50));
  const auto& ev = this->run(limit(3, kBob, Side::kSell, 1020, 70));
  ASSERT_EQ(only<Accepted>(ev).size(), 1u);
  const auto tops = only<TopOfBook>(ev);
  ASSERT_EQ(tops.size(), 1u);
  EXPECT_EQ(tops[0].bid, Price{1005});
  EXPECT_EQ(tops[0].bid_qty, Qty{50});
  EXPECT_EQ(tops[0].ask, Price{1020});
  EXPECT_EQ(this->depth(Side::kBuy),
            (std::vector<Level>{{Price{1005}, Qty{50}, 1}, {Price{1000}, Qty{100}, 1}}));
}

TYPED_TEST(EngineTest, PartialFillAtTheRestingPriceLeavesTheRemainderResting) {
  this->run(limit(1, kAlice, Side::kSell, 1000, 100));
  const auto& ev = this->run(limit(2, kBob, Side::kBuy, 1010, 30));
  const auto trades = only<Trade>(ev);
  ASSERT_EQ(trades.size(), 1u);
  EXPECT_EQ(trades[0].price, Price{1000}) << "trade prints at the resting order's price";
  EXPECT_EQ(trades[0].qty, Qty{30});
  EXPECT_EQ(trades[0].resting_leaves, Qty{70});
  EXPECT_EQ(trades[0].resting_cum, Qty{30});
  EXPECT_EQ(trades[0].aggressor_leaves, Qty{0});
  EXPECT_EQ(trades[0].aggressor_cum_notional, 30'000);
  EXPECT_EQ(this->depth(Side::kSell), (std::vector<Level>{{Price{1000}, Qty{70}, 1}}));
  EXPECT_TRUE(this->depth(Side::kBuy).empty());
}

TYPED_TEST(EngineTest, AggressiveOrderSweepsLevelsInPriceThenTimeOrder) {
  this->run(limit(1, kAlice, Side::kSell, 1010, 10));
  this->run(limit(2, kAlice, Side::kSell, 1000, 10));
  this->run(limit(3, kBob, Side::kSell, 1000, 10));
  this->run(limit(4, kAlice, Side::kSell, 1005, 10));
  const auto trades = only<Trade>(this->run(limit(5, kCarol, Side::kBuy, 1010, 40)));
  ASSERT_EQ(trades.size(), 4u);
  EXPECT_EQ(trades[0].resting, OrderId(2));
  EXPECT_EQ(trades[1].resting, OrderId(3));
  EXPECT_EQ(trades[2].resting, OrderId(4));
  EXPECT_EQ(trades[3].resting, OrderId(1));
  EXPECT_EQ(trades[3].aggressor_cum, Qty{40});
  EXPECT_EQ(trades[3].aggressor_cum_notional, 10 * (1000 + 1000 + 1005 + 1010));
  EXPECT_EQ(trades[0].id, TradeId(1));
  EXPECT_EQ(trades[3].id, TradeId(4));
}

TYPED_TEST(EngineTest, MarketOrdersNeverRest) {
  this->run(limit(1, kAlice, Side::kSell, 1000, 20));
  const auto& ev = this->run(market(2, kBob, Side::kBuy, 50));
  EXPECT_EQ(only<Trade>(ev).size(), 1u);
  const auto c = only<Canceled>(ev);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].reason, CancelReason::kMarketRemainder);
  EXPECT_EQ(c[0].canceled_qty, Qty{30});
  EXPECT_TRUE(this->depth(Side::kBuy).empty());
  const auto empty_book = this->run(market(3, kBob, Side::kSell, 10));
  EXPECT_EQ(only<Canceled>(empty_book).at(0).canceled_qty, Qty{10});
}

TYPED_TEST(EngineTest, IocRemainderIsCanceled) {
  this->run(limit(1, kAlice, Side::kSell, 1000, 20));
  const auto& ev = this->run(limit(2, kBob, Side::kBuy, 1000, 50, TimeInForce::kIoc));
  EXPECT_EQ(only<Trade>(ev).at(0).qty, Qty{20});
  EXPECT_EQ(only<Canceled>(ev).at(0).reason, CancelReason::kIocRemainder);
  EXPECT_TRUE(this->depth(Side::kBuy).empty());
}

TYPED_TEST(EngineTest, FokFillsFullyOrNotAtAll) {
  this->run(limit(1, kAlice, Side::kSell, 1000, 20));
  this->run(limit(2, kAlice, Side::kSell, 1005, 20));
  const auto& none = this->run(limit(3, kBob, Side::kBuy, 1005, 50, TimeInForce::kFok));
  EXPECT_TRUE(only<Trade>(none).empty()) << "checked before any trade";
  EXPECT_EQ(only<Canceled>(none).at(0).reason, CancelReason::kFokUnfillable);
  EXPECT_EQ(this->depth(Side::kSell).size(), 2u);
  const auto& all = this->run(limit(4, kBob, Side::kBuy, 1005, 40, TimeInForce::kFok));
  EXPECT_EQ(only<Trade>(all).size(), 2u);
  EXPECT_TRUE(only<Canceled>(all).empty());
  EXPECT_TRUE(this->depth(Side::kSell).empty());
}

TYPED_TEST(EngineTest, CancelRemovesAndOnlyTheOwnerMayCancel) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 20));
  EXPECT_EQ(only<Rejected>(this->run(cancel(1, kBob))).at(0).code, RejectCode::kNotOrderOwner);
  EXPECT_EQ(only<Rejected>(this->run(cancel(99, kAlice))).at(0).code, RejectCode::kUnknownOrder);
  const auto& ev = this->run(cancel(1, kAlice));
  EXPECT_EQ(only<Canceled>(ev).at(0).reason, CancelReason::kRequested);
  EXPECT_TRUE(this->depth(Side::kBuy).empty());
  EXPECT_EQ(only<Rejected>(this->run(cancel(1, kAlice))).at(0).code, RejectCode::kUnknownOrder);
}

TYPED_TEST(EngineTest, ReplaceQuantityDownKeepsPriority) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 50));
  this->run(limit(2, kBob, Side::kBuy, 1000, 50));
  const auto& ev = this->run(replace(1, kAlice, 1000, 30));
  ASSERT_EQ(only<Replaced>(ev).size(), 1u);
  EXPECT_TRUE(only<Replaced>(ev)[0].kept_priority);
  const auto trades = only<Trade>(this->run(limit(3, kCarol, Side::kSell, 1000, 10)));
  EXPECT_EQ(trades.at(0).resting, OrderId(1));
  EXPECT_EQ(this->depth(Side::kBuy).at(0).qty, Qty{70});
}

TYPED_TEST(EngineTest, ReplaceQuantityUpOrPriceChangeLosesPriority) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 50));
  this->run(limit(2, kBob, Side::kBuy, 1000, 50));
  EXPECT_FALSE(only<Replaced>(this->run(replace(1, kAlice, 1000, 60))).at(0).kept_priority);
  EXPECT_EQ(only<Trade>(this->run(limit(3, kCarol, Side::kSell, 1000, 10))).at(0).resting,
            OrderId(2));
}

TYPED_TEST(EngineTest, ReplaceThatCrossesTrades) {
  this->run(limit(1, kAlice, Side::kSell, 1010, 50));
  this->run(limit(2, kBob, Side::kBuy, 1000, 20));
  const auto& ev = this->run(replace(2, kBob, 1010, 20));
  const auto trades = only<Trade>(ev);
  ASSERT_EQ(trades.size(), 1u);
  EXPECT_EQ(trades[0].aggressor, OrderId(2));
  EXPECT_EQ(trades[0].price, Price{1010});
  EXPECT_TRUE(this->depth(Side::kBuy).empty());
}

TYPED_TEST(EngineTest, ReplaceToNoMoreThanFilledIsRejected) {
  this->run(limit(1, kAlice, Side::kSell, 1000, 50));
  this->run(limit(2, kBob, Side::kBuy, 1000, 30));
  EXPECT_EQ(only<Rejected>(this->run(replace(1, kAlice, 1000, 30))).at(0).code,
            RejectCode::kReplaceBelowFilled);
  const auto ok = only<Replaced>(this->run(replace(1, kAlice, 1000, 40)));
  EXPECT_EQ(ok.at(0).leaves, Qty{10});
}

TYPED_TEST(EngineTest, SelfTradePreventionCancelsRestingOrIncoming) {
  this->run(limit(1, kAlice, Side::kSell, 1000, 10));
  this->run(limit(2, kBob, Side::kSell, 1000, 10));
  // Alice (cancel resting): her own resting order is canceled, then she trades with Bob.
  const auto& ev = this->run(limit(3, kAlice, Side::kBuy, 1000, 10));
  EXPECT_EQ(only<Canceled>(ev).at(0).id, OrderId(1));
  EXPECT_EQ(only<Canceled>(ev).at(0).reason, CancelReason::kSelfTrade);
  EXPECT_EQ(only<Trade>(ev).at(0).resting, OrderId(2));
  // Carol (cancel incoming): her incoming order is canceled, her resting one stays.
  this->run(limit(4, kCarol, Side::kSell, 1000, 10));
  const auto& ev2 = this->run(limit(5, kCarol, Side::kBuy, 1000, 10));
  EXPECT_EQ(only<Canceled>(ev2).at(0).id, OrderId(5));
  EXPECT_TRUE(only<Trade>(ev2).empty());
  EXPECT_EQ(this->depth(Side::kSell).at(0).orders, 1u);
}

TYPED_TEST(EngineTest, MassCancelByAccountSymbolOrAll) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 10));
  this->run(limit(2, kBob, Side::kBuy, 995, 10));
  this->run(limit(3, kAlice, Side::kSell, 50, 10, TimeInForce::kDay, kBeta));
  auto ev = this->run(Command{0, MassCancel{MassCancelScope::kAccount, kAlice, SymbolId{}}});
  EXPECT_EQ(only<Canceled>(ev).size(), 2u);
  EXPECT_EQ(this->depth(Side::kBuy).size(), 1u);
  this->run(limit(4, kAlice, Side::kSell, 50, 10, TimeInForce::kDay, kBeta));
  ev = this->run(Command{0, MassCancel{MassCancelScope::kSymbol, AccountId{}, kBeta}});
  EXPECT_EQ(only<Canceled>(ev).size(), 1u);
  // A trader's mass cancel by security: only their orders on that symbol.
  this->run(limit(5, kAlice, Side::kBuy, 995, 10));
  this->run(limit(6, kAlice, Side::kSell, 50, 10, TimeInForce::kDay, kBeta));
  ev = this->run(Command{0, MassCancel{MassCancelScope::kAccountSymbol, kAlice, kAcme}});
  ASSERT_EQ(only<Canceled>(ev).size(), 1u);
  EXPECT_EQ(only<Canceled>(ev)[0].id, OrderId(5));
  ev = this->run(Command{0, MassCancel{MassCancelScope::kAll, AccountId{}, SymbolId{}}});
  EXPECT_EQ(only<Canceled>(ev).size(), 2u) << "bob's ACME order and alice's BETA order";
  EXPECT_EQ(only<Canceled>(ev)[0].reason, CancelReason::kMassCancel);
  EXPECT_EQ(only<Rejected>(this->run(Command{
                               0, MassCancel{MassCancelScope::kSymbol, AccountId{}, SymbolId{9}}}))
                .at(0)
                .code,
            RejectCode::kUnknownSymbol);
}

TYPED_TEST(EngineTest, EndOfDayExpiresDayOrdersOnly) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 10, TimeInForce::kDay));
  this->run(limit(2, kAlice, Side::kBuy, 995, 10, TimeInForce::kGtc));
  const auto ev = this->run(Command{0, EndOfDay{}});
  const auto expired = only<Expired>(ev);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, OrderId(1));
  EXPECT_EQ(this->depth(Side::kBuy).size(), 1u);
}

TYPED_TEST(EngineTest, BadInputGetsSpecificRejectsAndChangesNothing) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 10));
  const auto before = this->engine.digest();
  struct Case {
    Command cmd;
    RejectCode code;
  };
  const std::vector<Case> cases = {
      {limit(2, kAlice, Side::kBuy, 1000, 0), RejectCode::kNonPositiveQuantity},
      {limit(2, kAlice, Side::kBuy, 1000, -10), RejectCode::kNonPositiveQuantity},
      {limit(2, kAlice, Side::kBuy, 1000, 15), RejectCode::kQuantityOffLot},
      {limit(2, kAlice, Side::kBuy, 1002, 10), RejectCode::kPriceOffTick},
      {limit(2, kAlice, Side::kBuy, 0, 10), RejectCode::kNonPositivePrice},
      {limit(2, kAlice, Side::kBuy, kMaxPrice + 1, 10), RejectCode::kPriceOutOfRange},
      {limit(2, kAlice, Side::kBuy, 1000, (kMaxQuantity / 10 + 1) * 10),
       RejectCode::kQuantityOutOfRange},
      {replace(1, kAlice, 1000, INT64_MAX / 10 * 10), RejectCode::kQuantityOutOfRange},
      {limit(2, kAlice, Side::kBuy, 1000, 10, TimeInForce::kDay, SymbolId{7}),
       RejectCode::kUnknownSymbol},
      {limit(2, AccountId{42}, Side::kBuy, 1000, 10), RejectCode::kUnknownAccount},
      {limit(1, kAlice, Side::kBuy, 1000, 10), RejectCode::kDuplicateOrderId},
      {replace(1, kAlice, 1003, 10), RejectCode::kPriceOffTick},
      {replace(1, kAlice, 1000, 0), RejectCode::kNonPositiveQuantity},
      {replace(9, kAlice, 1000, 10), RejectCode::kUnknownOrder},
      {replace(1, kBob, 1000, 10), RejectCode::kNotOrderOwner},
      {cancel(1, kAlice, SymbolId{7}), RejectCode::kUnknownSymbol},
  };
  for (const auto& c : cases) {
    const auto& ev = this->run(c.cmd);
    ASSERT_EQ(ev.size(), 1u);
    const auto r = only<Rejected>(ev);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].code, c.code) << reject_text(c.code);
    EXPECT_FALSE(reject_text(r[0].code).empty());
    EXPECT_EQ(this->engine.digest(), before) << "a rejected command must not change state";
  }
}

// The digest travels in journal markers and a standby of another build compares it: its value
// for a given state is fixed for good. This state (resting orders on both symbols and sides, a
// partial fill, a replace, large and small numbers) has the value every earlier build computed.
TYPED_TEST(EngineTest, DigestOfAKnownStateKeepsItsValue) {
  this->run(limit(1, kAlice, Side::kBuy, 1000, 10));
  this->run(limit(2, kBob, Side::kBuy, 995, 30, TimeInForce::kGtc));
  this->run(limit(3, kCarol, Side::kSell, 1005, 20));
  this->run(limit(4, kBob, Side::kSell, 1000, 20));  // fills 1 (10), rests 10 at 1000
  this->run(replace(3, kCarol, 1010, 40));
  this->run(limit(5, kAlice, Side::kSell, 45, 7, TimeInForce::kDay, kBeta));
  this->run(limit(6, kBob, Side::kBuy, 40, 300000, TimeInForce::kGtc, kBeta));
  EXPECT_EQ(this->engine.digest(), 0x6156593b7bd8b980ULL);
}

TEST(Engine, DisabledInstrumentRejectsNewOrders) {
  auto cfg = test_config();
  cfg.instruments[0].trading_enabled = false;
  MatchingEngine<OrderBook> engine(cfg);
  EventBuffer ev;
  engine.apply(limit(1, kAlice, Side::kBuy, 1000, 10), ev);
  EXPECT_EQ(only<Rejected>(ev).at(0).code, RejectCode::kTradingDisabled);
}

}  // namespace

namespace {

TEST(StateDigest, EqualsByteByByteFnv1aForWordsOfEveryWidth) {
  std::vector<std::uint64_t> words = {0,
                                      1,
                                      0xff,
                                      0x100,
                                      0xffffffffffffffffULL,
                                      0x8000000000000000ULL,
                                      0x0100000000000000ULL,
                                      0x00ff00ff00ff00ffULL};
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int width = 1; width <= 64; ++width) {
    for (int i = 0; i < 16; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      words.push_back(width == 64 ? x : x & ((std::uint64_t{1} << width) - 1));
    }
  }
  StateDigest fast;
  std::uint64_t reference = StateDigest::kOffsetBasis;
  for (const std::uint64_t w : words) {
    fast.mix(w);
    reference = StateDigest::mix_bytewise(reference, w);
    ASSERT_EQ(fast.value(), reference) << std::hex << w;
  }
}

TEST(DivisibilityCheck, AgreesWithTheModuloOperator) {
  for (std::uint64_t d :
       {1u, 2u, 3u, 5u, 6u, 7u, 10u, 12u, 25u, 64u, 100u, 125u, 1000u, 4096u, 999'983u}) {
    const trading::DivisibilityCheck check(d);
    for (std::int64_t n = 0; n < 20'000; ++n) {
      ASSERT_EQ(check.divides(n), n % static_cast<std::int64_t>(d) == 0) << n << " / " << d;
    }
    for (std::int64_t n :
         {INT64_MAX, INT64_MAX - 1,
          (INT64_MAX / static_cast<std::int64_t>(d)) * static_cast<std::int64_t>(d)}) {
      ASSERT_EQ(check.divides(n), n % static_cast<std::int64_t>(d) == 0) << n << " / " << d;
    }
  }
  // Divisors with many factors of two (the rotation), over the whole range of n: random values,
  // multiples, and a multiple plus each single low bit.
  std::mt19937_64 rng(7);
  for (std::uint64_t d : {std::uint64_t{1} << 20, std::uint64_t{3} << 20, std::uint64_t{5} << 33,
                          std::uint64_t{1} << 62, std::uint64_t{999'983} * 1024}) {
    const trading::DivisibilityCheck check(d);
    const auto sd = static_cast<std::int64_t>(d);
    for (int i = 0; i < 20'000; ++i) {
      const auto n = static_cast<std::int64_t>(rng() >> 1);
      ASSERT_EQ(check.divides(n), n % sd == 0) << n << " / " << d;
      const std::int64_t multiple = (n / sd) * sd;
      ASSERT_TRUE(check.divides(multiple)) << multiple << " / " << d;
      const std::uint64_t off =
          static_cast<std::uint64_t>(multiple) + (std::uint64_t{1} << (i % 62));
      if (off <= static_cast<std::uint64_t>(INT64_MAX)) {
        const auto n_off = static_cast<std::int64_t>(off);
        ASSERT_EQ(check.divides(n_off), n_off % sd == 0) << n_off << " / " << d;
      }
    }
  }
}

}  // namespace

namespace {

TEST(Engine, LargeAccountIdsUseTheSortedLookup) {
  auto cfg = trading::testing::test_config();
  cfg.accounts.push_back(
      trading::Account{trading::AccountId(5'000'000), "big", trading::StpMode::kCancelResting, {}});
  trading::MatchingEngine<trading::OrderBook> engine(cfg);
  trading::EventBuffer ev;
  engine.apply(
      trading::testing::limit(1, trading::AccountId(5'000'000), trading::Side::kBuy, 1000, 10), ev);
  EXPECT_EQ(trading::testing::only<trading::Accepted>(ev).size(), 1u);
  ev.clear();
  engine.apply(
      trading::testing::limit(2, trading::AccountId(4'999'999), trading::Side::kBuy, 1000, 10), ev);
  EXPECT_EQ(trading::testing::only<trading::Rejected>(ev).at(0).code,
            trading::RejectCode::kUnknownAccount);
  ev.clear();
  engine.apply(trading::testing::limit(3, trading::testing::kAlice, trading::Side::kSell, 1000, 10),
               ev);
  EXPECT_EQ(trading::testing::only<trading::Trade>(ev).size(), 1u);
  EXPECT_EQ(engine.exposure(trading::AccountId(5'000'000)), 0);
}

}  // namespace
