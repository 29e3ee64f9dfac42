// OrderTable (id -> node through pages of recent ids, an overflow hash for the rest) against a
// std::unordered_map on the patterns a book meets: rising ids with random removals, a book whose
// ids are interleaved with many others', ids inserted again or out of order, jumps past the ring.
// Also the memory bound: a page is kept only while it is one of the two newest or dense.
#include <gtest/gtest.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "trading/domain/order_table.hpp"

namespace {

using trading::OrderId;
using trading::OrderTable;

// Drives a table and a reference map with the same operations and checks they agree.
class Checked {
 public:
  void insert(std::uint64_t id, std::uint32_t node) {
    ASSERT_EQ(reference_.count(id), 0u);
    table_.insert(OrderId(id), node);
    reference_[id] = node;
    ids_.push_back(id);
  }
  // Erases the k-th live id (swap-with-last order), by turns with erase() and with erase_held()
  // (the book's, for an id it knows is held), so both are checked against the reference.
  void erase_at(std::size_t k) {
    const std::uint64_t id = ids_[k];
    if (++erases_ % 2 == 0) {
      table_.erase(OrderId(id));
    } else {
      table_.erase_held(OrderId(id));
    }
    reference_.erase(id);
    ids_[k] = ids_.back();
    ids_.pop_back();
    ASSERT_EQ(table_.find(OrderId(id)), OrderTable::kMissing) << id;
  }
  void verify() const {
    ASSERT_EQ(table_.size(), reference_.size());
    for (const auto& [id, node] : reference_) ASSERT_EQ(table_.find(OrderId(id)), node) << id;
  }
  // Pages beyond the two newest hold at least kMinLive ids each.
  void verify_memory_bound() const {
    EXPECT_LE(table_.pages_in_use(),
              2 + (table_.size() - table_.overflow_size()) / OrderTable::kMinLive);
  }
  std::size_t live() const { return ids_.size(); }
  std::uint64_t id_at(std::size_t k) const { return ids_[k]; }
  const OrderTable& table() const { return table_; }
  OrderTable& table() { return table_; }

 private:
  OrderTable table_;
  std::unordered_map<std::uint64_t, std::uint32_t> reference_;
  std::vector<std::uint64_t> ids_;
  std::uint64_t erases_ = 0;
};

struct Random {
  std::uint64_t state;
  std::uint64_t below(std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  }
};

TEST(OrderTable, RisingIdsWithRandomRemovalsAgreeWithAMap) {
  Checked t;
  Random r{7};
  std::uint64_t next = 1;
  for (int i = 0; i < 300'000; ++i) {
    if (t.live() < 2'000 || r.below(100) < 45) {
      t.insert(next, static_cast<std::uint32_t>(next % 100'000));
      ++next;
    } else {
      t.erase_at(static_cast<std::size_t>(r.below(t.live())));
    }
    if (i % 50'000 == 0) t.verify();
  }
  t.verify();
  t.verify_memory_bound();
  EXPECT_GT(t.table().overflow_size(), 0u) << "old survivors went to the overflow";
  EXPECT_LT(t.table().overflow_size(), t.live() / 2) << "most recent ids stay in pages";
}

TEST(OrderTable, ABookWhoseIdsAreInterleavedWithManyOthersKeepsFewPages) {
  // One book of a venue with 1 000 symbols: every 1 000th id is this book's.
  Checked t;
  Random r{3};
  for (std::uint64_t id = 1'000; id <= 40'000'000; id += 1'000) {
    t.insert(id, static_cast<std::uint32_t>(id / 1'000));
    if (t.live() > 500) t.erase_at(static_cast<std::size_t>(r.below(t.live())));
  }
  t.verify();
  t.verify_memory_bound();
  EXPECT_LE(t.table().pages_in_use(), 2u) << "sparse pages go to the overflow";
}

TEST(OrderTable, IdsInsertedAgainOrOutOfOrderAreFound) {
  Checked t;
  Random r{11};
  // Out of order, as a snapshot restores them (by price, not by id), spread over many pages.
  std::vector<std::uint64_t> ids;
  for (std::uint64_t id = 1; id <= 20'000; ++id) ids.push_back(id * 7);
  for (std::size_t i = ids.size() - 1; i > 0; --i) {
    std::swap(ids[i], ids[static_cast<std::size_t>(r.below(i + 1))]);
  }
  for (std::uint64_t id : ids) t.insert(id, static_cast<std::uint32_t>(id));
  t.verify();
  // Removed and inserted again (a replace that moves an order), old and new alike.
  for (int i = 0; i < 20'000; ++i) {
    const std::size_t k = static_cast<std::size_t>(r.below(t.live()));
    const std::uint64_t id = t.id_at(k);
    t.erase_at(k);
    t.insert(id, static_cast<std::uint32_t>(id + 1));
  }
  t.verify();
  t.verify_memory_bound();
}

TEST(OrderTable, IdsFarApartAndPastTheRingAreFound) {
  Checked t;
  const std::uint64_t ring_ids = OrderTable::kRingPages * OrderTable::kPageIds;
  std::uint64_t id = 1;
  for (int i = 0; i < 2'000; ++i) {
    for (int k = 0; k < 40; ++k) t.insert(id + static_cast<std::uint64_t>(k), 5);
    id += ring_ids / 3 + 17;  // a few pages per ring turn, so slots are reused by newer pages
  }
  t.verify();
  t.verify_memory_bound();
  // Only the batches still inside the ring keep pages (each batch may straddle two): the older
  // ones left for the overflow as the ring moved on, freeing their slots for newer pages.
  EXPECT_LE(t.table().pages_in_use(), 8u);
  EXPECT_GE(t.table().size() - t.table().overflow_size(), 40u) << "the newest batch is in a page";
  // Erasing an id not held changes nothing.
  t.table().erase(OrderId(100));
  t.table().erase(OrderId(id + 12'345'678));
  t.verify();
  // A lone id far ahead, then the old ones again.
  t.insert(std::uint64_t{1} << 40, 9);
  t.verify();
  while (t.live() > 0) t.erase_at(t.live() - 1);
  t.verify();
  EXPECT_EQ(t.table().pages_in_use(), 0u);
}

TEST(OrderTable, AReservedTableDoesNotGrowBeforeItsSize) {
  OrderTable table;
  table.reserve(100'000);
  const std::size_t room = table.memory_bytes();
  for (std::uint64_t id = 1; id <= 100'000; ++id) table.insert(OrderId(id), 1);
  EXPECT_EQ(table.memory_bytes(), room);
  EXPECT_EQ(table.size(), 100'000u);
}

}  // namespace
