#include "trading/domain/order_book.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <type_traits>

namespace trading {

void OrderIndex::rehash(std::size_t capacity) {
  ZeroedArray<Entry> old = std::move(entries_);
  entries_ = ZeroedArray<Entry>(capacity);
  mask_ = capacity - 1;
  shift_ = 64 - std::countr_zero(capacity);
  size_ = 0;
  for (const auto& e : old) {
    if (e.key != 0) insert(OrderId(e.key), e.node);
  }
}

void OrderIndex::reserve(std::size_t entries) {
  if (2 * entries > entries_.size()) rehash(std::bit_ceil(2 * entries));
}

void OrderIndex::clear() {
  entries_ = ZeroedArray<Entry>(entries_.size());  // fresh zero pages, not a pass over the old
  size_ = 0;
}

std::uint32_t OrderIndex::find(OrderId id) const {
  for (std::size_t i = slot_of(id.value());; i = (i + 1) & mask_) {
    const Entry& e = entries_[i];
    if (e.key == id.value()) return e.node;
    if (e.key == 0) return kMissing;
  }
}

void OrderIndex::insert(OrderId id, std::uint32_t node) {
  if (2 * (size_ + 1) > entries_.size()) rehash(entries_.size() * 2);
  std::size_t i = slot_of(id.value());
  while (entries_[i].key != 0 && entries_[i].key != id.value()) i = (i + 1) & mask_;
  if (entries_[i].key == 0) ++size_;
  entries_[i] = Entry{id.value(), node};
}

void OrderIndex::erase(OrderId id) {
  std::size_t i = slot_of(id.value());
  while (entries_[i].key != id.value()) {
    if (entries_[i].key == 0) return;
    i = (i + 1) & mask_;
  }
  // Backward-shift deletion: move later entries of the probe chain into the hole.
  std::size_t hole = i;
  for (std::size_t j = (hole + 1) & mask_; entries_[j].key != 0; j = (j + 1) & mask_) {
    const std::size_t home = slot_of(entries_[j].key);
    // Entry j may fill the hole when its home is not in (hole, j] (cyclically).
    const bool home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_between) {
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  entries_[hole] = Entry{};
  --size_;
}

OrderBook::OrderBook() {
  nodes_.reserve(1024);
  level_pool_.reserve(512);
  bids_.reserve(256);
  asks_.reserve(256);
}

void OrderBook::reserve(std::size_t orders) {
  nodes_.reserve(orders);
  index_.reserve(orders);
}

std::size_t OrderBook::locate(Side side, Price price, bool& found) const {
  const auto& lv = ladder(side);
  // Most activity is at or near the touch, i.e. near the back: look there first.
  const auto better = [side](Price a, Price b) { return side == Side::kBuy ? a > b : a < b; };
  std::size_t i = lv.size();
  for (int steps = 0; steps < 8 && i > 0; ++steps) {
    const Price p = lv[i - 1].price;
    if (p == price) {
      found = true;
      return i - 1;
    }
    if (better(price, p)) {
      found = false;
      return i;
    }
    --i;
  }
  // Every rung from i on is better than `price`: binary-search [0, i) (ordered worst..best)
  // for the first rung that is not worse than `price`.
  const auto it = std::lower_bound(lv.begin(), lv.begin() + static_cast<std::ptrdiff_t>(i), price,
                                   [&](const Rung& r, Price p) { return better(p, r.price); });
  const auto pos = static_cast<std::size_t>(it - lv.begin());
  found = pos < lv.size() && lv[pos].price == price;
  return pos;
}

std::uint32_t OrderBook::allocate(const RestingOrder& order) {
  std::uint32_t n;
  if (free_ != kNil) {
    n = free_;
    free_ = nodes_[n].next;
    nodes_[n] = Node{order, kNil, kNil, kNil};
  } else {
    n = static_cast<std::uint32_t>(nodes_.size());
    nodes_.push_back(Node{order, kNil, kNil, kNil});
  }
  return n;
}

std::uint32_t OrderBook::allocate_level(Price price) {
  std::uint32_t l;
  if (free_levels_ != kNil) {
    l = free_levels_;
    free_levels_ = level_pool_[l].head;
    level_pool_[l] = LevelNode{price, Qty{0}, 0, kNil, kNil};
  } else {
    l = static_cast<std::uint32_t>(level_pool_.size());
    level_pool_.push_back(LevelNode{price, Qty{0}, 0, kNil, kNil});
  }
  return l;
}

void OrderBook::insert(const RestingOrder& order) {
  const std::uint32_t n = allocate(order);
  auto& lv = ladder(order.side);
  const std::uint64_t key = level_key(order.side, order.price);
  std::uint32_t l = level_index_.find(OrderId(key));
  if (l == OrderIndex::kMissing) {
    // A new price: the only case that searches the ladder (most orders join a level).
    bool found = false;
    const std::size_t at = locate(order.side, order.price, found);
    l = allocate_level(order.price);
    lv.insert(lv.begin() + static_cast<std::ptrdiff_t>(at), Rung{order.price, l});
    level_index_.insert(OrderId(key), l);
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
  if (lv.back().level == l) ++top_changes_;
  index_.insert(order.id, n);
}

RestingOrder* OrderBook::find(OrderId id) {
  const std::uint32_t n = index_.find(id);
  return n == OrderIndex::kMissing ? nullptr : &nodes_[n].order;
}

void OrderBook::unlink(std::uint32_t n) {
  Node& node = nodes_[n];
  const std::uint32_t l = node.level;
  LevelNode& level = level_pool_[l];
  if (ladder(node.order.side).back().level == l) ++top_changes_;
  if (node.prev != kNil) {
    nodes_[node.prev].next = node.next;
  } else {
    level.head = node.next;
  }
  if (node.next != kNil) {
    nodes_[node.next].prev = node.prev;
  } else {
    level.tail = node.prev;
  }
  level.qty -= node.order.leaves;
  --level.count;
  if (level.count == 0) {
    // The only search on a removal: taking an emptied level off its side's ladder.
    auto& lv = ladder(node.order.side);
    bool found = false;
    const std::size_t at = locate(node.order.side, level.price, found);
    lv.erase(lv.begin() + static_cast<std::ptrdiff_t>(at));
    level_index_.erase(OrderId(level_key(node.order.side, level.price)));
    level.head = free_levels_;
    free_levels_ = l;
  }
  index_.erase(node.order.id);
  node.next = free_;
  free_ = n;
}

void OrderBook::erase(OrderId id) {
  const std::uint32_t n = index_.find(id);
  if (n != OrderIndex::kMissing) unlink(n);
}

void OrderBook::erase(const RestingOrder& order) {
  // The order is the first member of its node: the node's index follows from its address.
  static_assert(std::is_standard_layout_v<Node> && offsetof(Node, order) == 0);
  const auto* node = reinterpret_cast<const Node*>(&order);
  unlink(static_cast<std::uint32_t>(node - nodes_.data()));
}

RestingOrder OrderBook::fill_front(Side side, Qty qty, Price price) {
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

void OrderBook::reduce(OrderId id, Qty new_qty, Qty new_leaves) {
  const std::uint32_t n = index_.find(id);
  if (n == OrderIndex::kMissing) return;
  RestingOrder& o = nodes_[n].order;
  if (ladder(o.side).back().level == nodes_[n].level) ++top_changes_;
  level_pool_[nodes_[n].level].qty -= o.leaves - new_leaves;
  o.qty = new_qty;
  o.leaves = new_leaves;
}

void OrderBook::depth(Side side, std::size_t n, std::vector<Level>& out) const {
  out.clear();
  const auto& lv = ladder(side);
  for (auto it = lv.rbegin(); it != lv.rend() && out.size() < n; ++it) {
    const LevelNode& l = level_pool_[it->level];
    out.push_back(Level{l.price, l.qty, l.count});
  }
}

}  // namespace trading
