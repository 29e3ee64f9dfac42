// OrderBook: the fast book of one instrument. Orders live in a pool of nodes (no allocation per
// order once the pool has grown), linked in time order inside their price level; levels live in a
// pool too (stable indices, so an order knows its level without a search) and each side keeps a
// vector of (price, level) sorted so the best price is at the back (activity near the touch
// moves little memory); an OrderTable finds an order by id, an open-addressing map a level by
// price. Same interface as NaiveOrderBook, which is its test oracle and benchmark baseline.
// Move-only. Not thread-safe: the engine thread owns it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/huge_pages.hpp"
#include "trading/domain/order_index.hpp"
#include "trading/domain/order_table.hpp"
#include "trading/domain/resting_order.hpp"

namespace trading {

class OrderBook {
 public:
  OrderBook();

  // Room for `orders` resting at once without growing: the node pool's and the index's storage
  // are taken now (address space; the pages are touched as orders come), so the book never
  // copies its pool or rehashes its index mid-session before that many.
  void reserve(std::size_t orders);

  // Inline: the engine's new-order handler is its one hot caller, and a call there cost more
  // (saved registers, the call) than the insert's own fast path.
  [[gnu::always_inline]] void insert(const RestingOrder& order) {
    const std::uint32_t n = allocate(order);
    std::uint32_t l = level_index_.find(OrderId(level_key(order.side, order.price)));
    if (l == OrderIndex::kMissing) [[unlikely]] {
      l = add_level(order.side, order.price);
    }
    LevelNode& level = level_pool_[l];
    nodes_[n].level = l;
    nodes_[n].prev = level.tail;
    if (level.tail != kNil) {
      nodes_[level.tail].next = n;
    } else {
      level.head = n;
    }
    level.tail = n;
    level.qty += order.leaves;
    ++level.count;
    if (level.best) ++top_changes_;
    index_.insert(order.id, n);
  }
  RestingOrder* find(OrderId id) {
    const std::uint32_t n = index_.find(id);
    if (n == OrderTable::kMissing) return nullptr;
    RestingOrder* order = &nodes_[n].order;
    if (order == nullptr) __builtin_unreachable();  // so a caller's null test is the kMissing one
    return order;
  }
  void erase(OrderId id);
  // Removes an order that find() or front() returned, without looking its id up again.
  void erase(const RestingOrder& order) {
    // The order is the first member of its node, which knows its own index.
    static_assert(std::is_standard_layout_v<Node> && offsetof(Node, order) == 0);
    unlink(reinterpret_cast<const Node*>(&order)->self);
  }

  bool empty(Side side) const { return ladder(side).empty(); }
  // The best price of `side` (from its ladder, without reaching the level or an order). The side
  // must not be empty.
  Price best_price(Side side) const { return ladder(side).back().price; }
  RestingOrder& front(Side side) {
    return nodes_[level_pool_[ladder(side).back().level].head].order;
  }

  // Asks for the order behind the front one of `side` (a sweep's next fill, and the node an
  // unlink of the front writes), so that its cache miss overlaps the front order's fill.
  // The prefetch helpers are always_inline: GCC drops an out-of-line call to a const function
  // whose only effect is a prefetch (the call then compiles to nothing).
  [[gnu::always_inline]] void prefetch_after_front(Side side) const {
    const std::uint32_t next = nodes_[level_pool_[ladder(side).back().level].head].next;
    if (next != kNil) __builtin_prefetch(&nodes_[next]);
  }
  // Asks for the two orders beside `order` in its level (found by find()): erasing it writes
  // both, so their cache misses can overlap the checks before the erase.
  [[gnu::always_inline]] void prefetch_neighbours(const RestingOrder& order) const {
    const auto& node = reinterpret_cast<const Node&>(order);
    if (node.prev != kNil) __builtin_prefetch(&nodes_[node.prev]);
    if (node.next != kNil) __builtin_prefetch(&nodes_[node.next]);
  }
  // Fills the front order of `side` by `qty` at `price`; removes it when nothing is left.
  // Returns the order as it is after the fill.
  // Inline, so that the matching loop reads the fields it needs rather than a 56-byte copy.
  [[gnu::always_inline]] RestingOrder fill_front(Side side, Qty qty, Price price) {
    LevelNode& level = level_pool_[ladder(side).back().level];
    ++top_changes_;
    const std::uint32_t n = level.head;
    RestingOrder& o = nodes_[n].order;
    o.leaves -= qty;
    o.cum_notional += price.value() * qty.value();
    level.qty -= qty;
    const RestingOrder after = o;
    if (o.leaves.value() == 0) unlink(n);
    return after;
  }
  // Lowers an order's quantity in place (keeps time priority). new_leaves > 0.
  void reduce(OrderId id, Qty new_qty, Qty new_leaves);

  template <typename Visit>
  void for_each_order(Side side, Visit&& visit) {
    const auto& lv = ladder(side);
    for (auto rung = lv.rbegin(); rung != lv.rend(); ++rung) {
      for (std::uint32_t n = level_pool_[rung->level].head; n != kNil; n = nodes_[n].next) {
        if (!visit(nodes_[n].order)) return;
      }
    }
  }

  // Every order of `side`, in the same order as for_each_order, for walks over the whole side
  // (the state digest, the snapshot). A deep book's nodes are scattered, and following one
  // level's list is one cache miss after another: here the lists of eight levels are followed
  // side by side into a list of node indices (eight misses in flight), then the orders are
  // visited with those a few places ahead already asked for.
  template <typename Visit>
  void visit_all(Side side, Visit&& visit) {
    const auto& lv = ladder(side);
    std::size_t total = 0;
    for (const Rung& r : lv) total += level_pool_[r.level].count;
    walk_.resize(total);
    constexpr std::size_t kLanes = 8;
    std::size_t start = 0;
    for (std::size_t first = 0; first < lv.size(); first += kLanes) {
      const std::size_t lanes = std::min(kLanes, lv.size() - first);
      std::uint32_t cursor[kLanes];
      std::size_t at[kLanes], end[kLanes];
      for (std::size_t k = 0; k < lanes; ++k) {
        const LevelNode& level = level_pool_[lv[lv.size() - 1 - first - k].level];  // best first
        cursor[k] = level.head;
        at[k] = start;
        end[k] = start + level.count;
        start = end[k];
      }
      for (bool more = true; more;) {
        more = false;
        for (std::size_t k = 0; k < lanes; ++k) {
          if (cursor[k] == kNil || at[k] == end[k]) continue;
          walk_[at[k]++] = cursor[k];
          cursor[k] = nodes_[cursor[k]].next;
          more = true;
        }
      }
    }
    constexpr std::size_t kAhead = 8;
    for (std::size_t i = 0; i < total; ++i) {
      if (i + kAhead < total) {
        const auto* ahead = reinterpret_cast<const char*>(&nodes_[walk_[i + kAhead]]);
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + sizeof(Node) - 1);  // a node may straddle two lines
      }
      visit(static_cast<const RestingOrder&>(nodes_[walk_[i]].order));
    }
  }

  void depth(Side side, std::size_t n, std::vector<Level>& out) const;
  // The best level of `side` (qty 0 when the side is empty).
  Level best_level(Side side) const {
    const auto& lv = ladder(side);
    if (lv.empty()) return Level{};
    const LevelNode& l = level_pool_[lv.back().level];
    return Level{l.price, l.qty, l.count};
  }
  std::size_t order_count() const { return index_.size(); }
  // Moves on at least whenever the best level of either side may have changed (price, quantity
  // or count): equal values mean the top of book is as it was (the engine then skips it).
  std::uint64_t top_changes() const { return top_changes_; }
  // Heap bytes held by the book's pools, ladders and index (capacity, not just what is used).
  std::size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + level_pool_.capacity() * sizeof(LevelNode) +
           (bids_.capacity() + asks_.capacity()) * sizeof(Rung) + index_.memory_bytes() +
           level_index_.memory_bytes();
  }

 private:
  static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();

  struct Node {
    RestingOrder order;
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;
    std::uint32_t level = kNil;  // index in level_pool_
    // Its own index in nodes_ (set once when the pool grows; in what was padding), so an erase
    // by reference reads it rather than dividing its offset by sizeof(Node).
    std::uint32_t self = kNil;
  };
  static_assert(sizeof(Node) == sizeof(RestingOrder) + 16);
  struct LevelNode {
    Price price{0};
    Qty qty{0};
    std::uint32_t count = 0;
    std::uint32_t head = kNil;  // also the free-list link while unused
    std::uint32_t tail = kNil;
    // The best level of its side (its ladder's back): an insert or unlink there moves the top.
    // Kept by add_level and remove_level, the only places a ladder changes, so that the check
    // on every insert and unlink is one flag, not a look at the ladder.
    bool best = false;
  };
  struct Rung {
    Price price;
    std::uint32_t level;
  };

  std::vector<Rung>& ladder(Side side) { return side == Side::kBuy ? bids_ : asks_; }
  const std::vector<Rung>& ladder(Side side) const { return side == Side::kBuy ? bids_ : asks_; }
  // Position of `price` in the side's ladder, or where it would be inserted; `found` says which.
  std::size_t locate(Side side, Price price, bool& found) const;
  // A node holding `order` with no next: a free one, or a new one at the end of the pool. Its
  // prev and level are left for insert (its only caller) to set.
  std::uint32_t allocate(const RestingOrder& order) {
    if (free_ == kNil) [[unlikely]] {
      return grow(order);
    }
    const std::uint32_t n = free_;
    free_ = nodes_[n].next;
    nodes_[n].order = order;
    nodes_[n].next = kNil;
    return n;
  }
  [[gnu::noinline]] std::uint32_t grow(const RestingOrder& order);
  std::uint32_t allocate_level(Price price);
  // A level for a price the side does not have yet, and taking an emptied level off its side:
  // the only searches of the ladder. Out of line, so the common insert and unlink stay light.
  [[gnu::noinline]] std::uint32_t add_level(Side side, Price price);
  [[gnu::noinline]] void remove_level(Side side, std::uint32_t level);
  void unlink(std::uint32_t node);

  std::vector<Node, core::HugePageAllocator<Node>> nodes_;  // a deep book's on huge pages
  std::uint32_t free_ = kNil;                               // free list through Node::next
  std::vector<LevelNode> level_pool_;
  std::uint32_t free_levels_ = kNil;  // free list through LevelNode::head
  std::vector<Rung> bids_;            // ascending: best (highest) at the back
  std::vector<Rung> asks_;            // descending: best (lowest) at the back
  OrderTable index_;                  // order id -> node
  // (side, price) -> level: an order joining an existing level finds it without a search.
  static std::uint64_t level_key(Side side, Price price) {
    return static_cast<std::uint64_t>(price.value()) << 1 | (side == Side::kSell ? 1u : 0u);
  }
  OrderIndex level_index_;
  std::uint64_t top_changes_ = 0;
  std::vector<std::uint32_t> walk_;  // visit_all's node indices in priority order
};

}  // namespace trading
