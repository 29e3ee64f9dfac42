// Differential test: the fast book against the naive reference book on seeded random streams,
// comparing every event of every command, with invariant checks along the way.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::testing;

std::vector<RestingOrder> orders_of(auto& book, Side side) {
  std::vector<RestingOrder> out;
  book.for_each_order(side, [&](const RestingOrder& o) {
    out.push_back(o);
    return true;
  });
  return out;
}

bool same(const RestingOrder& a, const RestingOrder& b) {
  return a.id == b.id && a.account == b.account && a.side == b.side && a.tif == b.tif &&
         a.price == b.price && a.qty == b.qty && a.leaves == b.leaves && a.cum() == b.cum() &&
         a.cum_notional == b.cum_notional;
}

// Invariants of one book side: price-time order, level sums, per-order quantity conservation.
void check_side(OrderBook& book, Side side) {
  const auto orders = orders_of(book, side);
  std::vector<Level> levels;
  book.depth(side, 1'000'000, levels);
  std::size_t li = 0;
  Qty level_sum{0};
  std::uint32_t level_count = 0;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const auto& o = orders[i];
    ASSERT_GT(o.leaves.value(), 0);
    ASSERT_EQ((o.leaves + o.cum()).value(), o.qty.value()) << "quantity conserved";
    if (i > 0 && orders[i - 1].price != o.price) {
      ASSERT_TRUE(side == Side::kBuy ? orders[i - 1].price > o.price
                                     : orders[i - 1].price < o.price)
          << "levels in price order";
      ASSERT_EQ(levels[li].qty, level_sum);
      ASSERT_EQ(levels[li].orders, level_count);
      ++li;
      level_sum = Qty{0};
      level_count = 0;
    }
    ASSERT_LT(li, levels.size());
    ASSERT_EQ(levels[li].price, o.price);
    level_sum += o.leaves;
    ++level_count;
  }
  if (!orders.empty()) {
    ASSERT_EQ(levels[li].qty, level_sum);
    ASSERT_EQ(li + 1, levels.size());
  } else {
    ASSERT_TRUE(levels.empty());
  }
}

struct StreamStats {
  std::uint64_t trades = 0, rejects = 0, halts = 0, band_cancels = 0;
};

// Runs one seeded stream through both engines; fills `stats` (ASSERTs need a void function).
void run_stream(std::uint64_t seed, int commands, int prefill,
                const EngineConfig& config = test_config(), StreamStats* stats_out = nullptr) {
  MatchingEngine<OrderBook> fast(config);
  MatchingEngine<NaiveOrderBook> naive(config);
  OrderFlow flow(seed, {kAcme, 100'000, 5, 10, {kAlice, kBob, kCarol}, 1});
  EventBuffer a, b;
  StreamStats local;
  StreamStats& stats = stats_out != nullptr ? *stats_out : local;
  std::uint64_t& trades = stats.trades;
  std::uint64_t& rejects = stats.rejects;
  for (int i = 0; i < commands; ++i) {
    const Command c = i < prefill ? flow.passive_add() : flow.next();
    a.clear();
    b.clear();
    fast.apply(c, a);
    naive.apply(c, b);
    ASSERT_EQ(a, b) << "seed " << seed << " command " << i;
    for (const auto& e : a) {
      trades += std::holds_alternative<Trade>(e) ? 1u : 0u;
      rejects += std::holds_alternative<Rejected>(e) ? 1u : 0u;
      stats.halts += std::holds_alternative<Halted>(e) ? 1u : 0u;
      const auto* cx = std::get_if<Canceled>(&e);
      stats.band_cancels += cx != nullptr && cx->reason == CancelReason::kPriceBand ? 1u : 0u;
    }
    const Level bid = fast.book(kAcme).best_level(Side::kBuy);
    const Level ask = fast.book(kAcme).best_level(Side::kSell);
    if (bid.qty.value() > 0 && ask.qty.value() > 0) {
      ASSERT_LT(bid.price, ask.price) << "crossed book at " << i;
    }
    // Every step: the touch and the order count agree; every 997 steps: the whole book.
    ASSERT_EQ(bid, naive.book(kAcme).best_level(Side::kBuy)) << "at " << i;
    ASSERT_EQ(ask, naive.book(kAcme).best_level(Side::kSell)) << "at " << i;
    ASSERT_EQ(fast.book(kAcme).order_count(), naive.book(kAcme).order_count()) << "at " << i;
    if (i % 997 == 0 || i == commands - 1) {
      for (Side side : {Side::kBuy, Side::kSell}) {
        check_side(fast.book(kAcme), side);
        const auto fo = orders_of(fast.book(kAcme), side);
        const auto no = orders_of(naive.book(kAcme), side);
        ASSERT_EQ(fo.size(), no.size());
        for (std::size_t k = 0; k < fo.size(); ++k)
          ASSERT_TRUE(same(fo[k], no[k])) << "order " << k << " at " << i;
      }
      ASSERT_EQ(fast.digest(), naive.digest());
      for (AccountId acct : {kAlice, kBob, kCarol}) {
        std::int64_t held = 0;
        for (Side side : {Side::kBuy, Side::kSell}) {
          for (const auto& o : orders_of(fast.book(kAcme), side)) {
            if (o.account == acct) held += o.price.value() * o.leaves.value();
          }
        }
        ASSERT_EQ(fast.exposure(acct), held) << "exposure = open leaves x price, at " << i;
        ASSERT_EQ(naive.exposure(acct), held);
      }
    }
  }
  EXPECT_GT(trades, static_cast<std::uint64_t>(commands) / 50)
      << "the stream must exercise matching";
  EXPECT_GT(fast.book(kAcme).order_count(), 0u);
  ::testing::Test::RecordProperty("trades", std::to_string(trades));
  ::testing::Test::RecordProperty("rejects", std::to_string(rejects));
}

TEST(OrderBookDifferential, FastBookMatchesNaiveBookOnAMillionCommands) {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) run_stream(seed, 250'000, 500);
}

TEST(OrderBookDifferential, DeepBookStream) { run_stream(99, 50'000, 20'000); }

TEST(OrderBookDifferential, ABookSizedForTheDayStillMatchesTheNaiveBook) {
  // The venue sizes each book and the ClOrdID table for the day's orders at start.
  EngineConfig config = test_config();
  config.expected_orders = 30'000;
  run_stream(5, 60'000, 20'000, config);
}

TEST(OrderBook, ABookReservedForNOrdersTakesNoMoreMemoryBeforeN) {
  OrderBook book;
  book.reserve(50'000);
  const std::size_t reserved = book.memory_bytes();
  for (std::uint64_t id = 1; id <= 50'000; ++id) {
    const Side side = id % 2 == 0 ? Side::kBuy : Side::kSell;
    const Price price(side == Side::kBuy ? 9'000 : 11'000);
    book.insert(RestingOrder{.id = OrderId(id),
                             .account = kAlice,
                             .side = side,
                             .price = price,
                             .qty = Qty{10},
                             .leaves = Qty{10}});
  }
  EXPECT_EQ(book.order_count(), 50'000u);
  EXPECT_EQ(book.memory_bytes(), reserved) << "no pool copy and no rehash before 50 000 orders";
  // An order found and erased by reference leaves the book as erasing it by id would.
  RestingOrder* o = book.find(OrderId(777));
  ASSERT_NE(o, nullptr);
  book.erase(*o);
  EXPECT_EQ(book.find(OrderId(777)), nullptr);
  EXPECT_EQ(book.order_count(), 49'999u);
  EXPECT_NE(book.find(OrderId(778)), nullptr);
}

// visit_all (eight levels' lists followed side by side, then read ahead) visits exactly what
// for_each_order does, in the same order: more levels than lanes, levels of uneven length, holes
// left by erased and filled orders, an empty side.
TEST(OrderBook, VisitAllSeesEveryOrderInPriorityOrder) {
  OrderBook book;
  std::uint64_t id = 0;
  for (int round = 0; round < 40; ++round) {
    for (int level = 0; level < 21; ++level) {
      if (round % (level % 5 + 1) != 0) continue;  // uneven levels
      const Price price(10'000 - 5 * level);
      book.insert(RestingOrder{.id = OrderId(++id),
                               .account = kAlice,
                               .side = Side::kBuy,
                               .price = price,
                               .qty = Qty{10},
                               .leaves = Qty{10}});
    }
  }
  for (std::uint64_t gone = 3; gone <= id; gone += 7) book.erase(OrderId(gone));
  (void)book.fill_front(Side::kBuy, Qty{10}, Price{10'000});
  const auto ids = [&](bool all) {
    std::vector<std::uint64_t> out;
    if (all) {
      book.visit_all(Side::kBuy, [&](const RestingOrder& o) { out.push_back(o.id.value()); });
    } else {
      book.for_each_order(Side::kBuy, [&](const RestingOrder& o) {
        out.push_back(o.id.value());
        return true;
      });
    }
    return out;
  };
  const auto expected = ids(false);
  ASSERT_GT(expected.size(), 200u);
  EXPECT_EQ(ids(true), expected);
  int sells = 0;
  book.visit_all(Side::kSell, [&](const RestingOrder&) { ++sells; });
  EXPECT_EQ(sells, 0);
}

TEST(OrderBookDifferential, WithPriceBandsAndAutomaticHalts) {
  // A narrow band with short timers (the flow advances 1 us per command), so the stream goes
  // through band cancels, limit states, halts and resumes many times.
  EngineConfig config = test_config();
  PriceBandRules& rules = config.instruments[0].bands;
  config.instruments[0].reference_price = Price{100'000};
  rules.band_bps = 3;  // +/- 30 price units = 6 ticks: the drifting mid reaches it
  rules.limit_state = 40'000;
  rules.pause = 200'000;
  rules.reference_window = 30'000'000;
  rules.reference_move_bps = 5;
  StreamStats stats;
  run_stream(5, 250'000, 500, config, &stats);
  EXPECT_GT(stats.halts, 0u) << "the stream must reach a band halt";
  EXPECT_GT(stats.band_cancels, 0u) << "the stream must hit the band";
  ::testing::Test::RecordProperty("halts", std::to_string(stats.halts));
}

TEST(OrderIndex, InsertFindEraseAgainstAReference) {
  OrderIndex index;
  std::vector<std::uint64_t> ids;
  std::uint64_t state = 7;
  for (int i = 0; i < 200'000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    if (ids.empty() || (state >> 33) % 3 != 0) {
      const std::uint64_t id = static_cast<std::uint64_t>(i) + 1u;
      index.insert(OrderId(id), static_cast<std::uint32_t>(id % 1'000'000u));
      ids.push_back(id);
    } else {
      const std::size_t k = (state >> 20) % ids.size();
      index.erase(OrderId(ids[k]));
      ASSERT_EQ(index.find(OrderId(ids[k])), OrderIndex::kMissing);
      ids[k] = ids.back();
      ids.pop_back();
    }
  }
  ASSERT_EQ(index.size(), ids.size());
  for (auto id : ids)
    ASSERT_EQ(index.find(OrderId(id)), static_cast<std::uint32_t>(id % 1'000'000u));
  // A copy holds the same entries; clear() empties it and keeps its room.
  const OrderIndex copy = index;
  for (auto id : ids)
    ASSERT_EQ(copy.find(OrderId(id)), static_cast<std::uint32_t>(id % 1'000'000u));
  const std::size_t room = index.memory_bytes();
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.memory_bytes(), room);
  for (auto id : ids) ASSERT_EQ(index.find(OrderId(id)), OrderIndex::kMissing);
  EXPECT_EQ(copy.size(), ids.size()) << "the copy is its own";
}

TEST(OrderIndex, AReservedIndexDoesNotGrowBeforeItsSize) {
  OrderIndex index;
  index.reserve(100'000);
  const std::size_t room = index.memory_bytes();
  for (std::uint64_t id = 1; id <= 100'000; ++id) index.insert(OrderId(id), 1);
  EXPECT_EQ(index.memory_bytes(), room);
  for (std::uint64_t id = 1; id <= 100'000; ++id) ASSERT_EQ(index.find(OrderId(id)), 1u);
}

}  // namespace
