// EventBuffer: the engine's event list behaves as the std::vector<Event> it replaces (order,
// contents, growth past any capacity, copies and moves independent of the original).
#include "trading/domain/event_buffer.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <variant>
#include <vector>

namespace trading {
namespace {

Event trade(std::uint64_t id) {
  Trade t{};
  t.id = TradeId(id);
  t.price = Price{100 + static_cast<std::int64_t>(id)};
  t.qty = Qty{static_cast<std::int64_t>(id)};
  return t;
}

TEST(EventBuffer, KeepsEveryAlternativeInOrderAcrossGrowth) {
  EventBuffer buffer;
  std::vector<Event> expected;
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    switch (i % 4) {
      case 0:
        buffer.push_back(Accepted{OrderId(i), AccountId(1), SymbolId(0), Side::kBuy,
                                  OrderType::kLimit, TimeInForce::kDay, Price{10}, Qty{5}});
        expected.push_back(Accepted{OrderId(i), AccountId(1), SymbolId(0), Side::kBuy,
                                    OrderType::kLimit, TimeInForce::kDay, Price{10}, Qty{5}});
        break;
      case 1:
        buffer.push_back(Rejected{OrderId(i), RejectCode::kUnknownOrder});
        expected.push_back(Rejected{OrderId(i), RejectCode::kUnknownOrder});
        break;
      case 2:
        buffer.push_back(trade(i));  // a whole Event
        expected.push_back(trade(i));
        break;
      default:
        buffer.emplace_back(std::in_place_type<TopOfBook>,
                            TopOfBook{SymbolId(0), Price{9}, Qty{1}, Price{11}, Qty{2}});
        expected.push_back(TopOfBook{SymbolId(0), Price{9}, Qty{1}, Price{11}, Qty{2}});
    }
  }
  ASSERT_EQ(buffer.size(), expected.size());
  EXPECT_GE(buffer.capacity(), buffer.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(buffer[i], expected[i]) << i;
  EXPECT_EQ(buffer.front(), expected.front());
  EXPECT_EQ(buffer.back(), expected.back());
  std::size_t visited = 0;
  for (const Event& e : buffer) EXPECT_EQ(e, expected[visited++]);
  EXPECT_EQ(visited, expected.size());
}

TEST(EventBuffer, ClearKeepsTheRoomAndCopiesAreIndependent) {
  EventBuffer a;
  a.reserve(64);
  const Event* storage = a.data();
  for (std::uint64_t i = 0; i < 64; ++i) a.push_back(trade(i));
  EXPECT_EQ(a.data(), storage) << "no growth within the reserved room";
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.capacity(), 64u);
  a.push_back(trade(7));

  EventBuffer copy = a;
  copy.push_back(trade(8));
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(copy.size(), 2u);
  EXPECT_NE(copy, a);
  copy.truncate(1);
  EXPECT_EQ(copy, a);

  EventBuffer moved = std::move(copy);
  EXPECT_EQ(moved, a);
  EventBuffer assigned;
  assigned = moved;
  const EventBuffer& same = assigned;
  assigned = same;  // self-assignment keeps the events
  EXPECT_EQ(assigned, a);
  assigned.append(a.begin(), a.end());
  EXPECT_EQ(assigned.size(), 2u);
  EXPECT_EQ(assigned[1], a[0]);
  EXPECT_EQ((EventBuffer{trade(1), trade(2)}), (EventBuffer{trade(1), trade(2)}));
}

TEST(EventBuffer, PushingOneOfItsOwnEventsWhileGrowingCopiesItFirst) {
  EventBuffer buffer;
  buffer.push_back(trade(1));
  while (buffer.size() < buffer.capacity()) buffer.push_back(trade(buffer.size() + 1));
  const std::size_t full = buffer.size();
  buffer.push_back(buffer[0]);                   // a whole event, at capacity
  buffer.push_back(std::get<Trade>(buffer[1]));  // an alternative inside one
  while (buffer.size() < buffer.capacity()) buffer.push_back(trade(99));
  const std::size_t before = buffer.size();
  buffer.append(buffer.begin(), buffer.begin() + 2);  // a range of its own, growing
  EXPECT_EQ(buffer[full], trade(1));
  EXPECT_EQ(buffer[full + 1], trade(2));
  EXPECT_EQ(buffer[before], trade(1));
  EXPECT_EQ(buffer[before + 1], trade(2));
}

}  // namespace
}  // namespace trading
