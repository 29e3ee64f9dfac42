#include "trading/domain/order_book.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <type_traits>

namespace trading {

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

std::uint32_t OrderBook::grow(const RestingOrder& order) {
  const auto n = static_cast<std::uint32_t>(nodes_.size());
  nodes_.push_back(Node{order, kNil, kNil, kNil, n});
  // The pool is used from its start: the huge page after the one its end just entered is made
  // resident in the background, before an order needs it (see core/huge_pages.hpp).
  core::populate_ahead(nodes_.data(), n * sizeof(Node), (n + 1) * sizeof(Node),
                       nodes_.capacity() * sizeof(Node));
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

std::uint32_t OrderBook::add_level(Side side, Price price) {
  auto& lv = ladder(side);
  bool found = false;
  const std::size_t at = locate(side, price, found);
  const std::uint32_t l = allocate_level(price);
  if (at == lv.size()) {  // the new best
    if (!lv.empty()) level_pool_[lv.back().level].best = false;
    level_pool_[l].best = true;
  }
  lv.insert(lv.begin() + static_cast<std::ptrdiff_t>(at), Rung{price, l});
  level_index_.insert(OrderId(level_key(side, price)), l);
  return l;
}

void OrderBook::remove_level(Side side, std::uint32_t l) {
  LevelNode& level = level_pool_[l];
  auto& lv = ladder(side);
  bool found = false;
  const std::size_t at = locate(side, level.price, found);
  lv.erase(lv.begin() + static_cast<std::ptrdiff_t>(at));
  if (level.best) {
    level.best = false;
    if (!lv.empty()) level_pool_[lv.back().level].best = true;
  }
  level_index_.erase(OrderId(level_key(side, level.price)));
  level.head = free_levels_;
  free_levels_ = l;
}

void OrderBook::unlink(std::uint32_t n) {
  Node& node = nodes_[n];
  const std::uint32_t l = node.level;
  LevelNode& level = level_pool_[l];
  if (level.best) ++top_changes_;
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
  if (level.count == 0) [[unlikely]] {
    remove_level(node.order.side, l);
  }
  index_.erase_held(node.order.id);
  node.next = free_;
  free_ = n;
}

void OrderBook::erase(OrderId id) {
  const std::uint32_t n = index_.find(id);
  if (n != OrderTable::kMissing) unlink(n);
}

void OrderBook::reduce(OrderId id, Qty new_qty, Qty new_leaves) {
  const std::uint32_t n = index_.find(id);
  if (n == OrderTable::kMissing) return;
  RestingOrder& o = nodes_[n].order;
  if (level_pool_[nodes_[n].level].best) ++top_changes_;
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
