// NaiveOrderBook: the reference book — std::map of price to std::list of orders plus a hash map
// from id to position. Obviously correct, allocation-heavy, slow: the oracle of the differential
// test and the baseline of the benchmark. Same interface as OrderBook. Not thread-safe.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <unordered_map>
#include <vector>

#include "trading/domain/resting_order.hpp"

namespace trading {

class NaiveOrderBook {
 public:
  void insert(const RestingOrder& order) {
    LevelOrders& level = order.side == Side::kBuy ? bids_[order.price] : asks_[order.price];
    level.orders.push_back(order);
    level.qty += order.leaves;
    index_[order.id] = {order.side, order.price, std::prev(level.orders.end())};
  }

  RestingOrder* find(OrderId id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &*it->second.position;
  }

  // Removes an order find() returned (the fast book needs no second look-up for it).
  void erase(const RestingOrder& order) { erase(order.id); }
  void erase(OrderId id) {
    auto it = index_.find(id);
    if (it == index_.end()) return;
    const auto [side, price, position] = it->second;
    if (side == Side::kBuy) {
      erase_from(bids_, price, position);
    } else {
      erase_from(asks_, price, position);
    }
    index_.erase(it);
  }

  bool empty(Side side) const { return side == Side::kBuy ? bids_.empty() : asks_.empty(); }

  // The best price of `side`. The side must not be empty.
  Price best_price(Side side) const {
    return side == Side::kBuy ? bids_.begin()->first : asks_.begin()->first;
  }
  // The oldest order at the best price of `side`. The side must not be empty.
  RestingOrder& front(Side side) {
    return side == Side::kBuy ? bids_.begin()->second.orders.front()
                              : asks_.begin()->second.orders.front();
  }

  // Orders of `side` in priority order, until `visit` returns false.
  template <typename Visit>
  void for_each_order(Side side, Visit&& visit) {
    const auto walk = [&](auto& levels) {
      for (auto& [price, level] : levels) {
        for (auto& o : level.orders) {
          if (!visit(o)) return;
        }
      }
    };
    if (side == Side::kBuy) {
      walk(bids_);
    } else {
      walk(asks_);
    }
  }
  // Every order of `side`, in the same order as for_each_order (OrderBook's reads ahead).
  template <typename Visit>
  void visit_all(Side side, Visit&& visit) {
    for_each_order(side, [&](const RestingOrder& o) {
      visit(o);
      return true;
    });
  }

  // Up to `n` levels of `side`, best first.
  void depth(Side side, std::size_t n, std::vector<Level>& out) const {
    out.clear();
    const auto walk = [&](const auto& levels) {
      for (const auto& [price, level] : levels) {
        if (out.size() == n) return;
        out.push_back(Level{price, level.qty, static_cast<std::uint32_t>(level.orders.size())});
      }
    };
    if (side == Side::kBuy) {
      walk(bids_);
    } else {
      walk(asks_);
    }
  }

  Level best_level(Side side) const {
    const auto best = [](const auto& levels) {
      if (levels.empty()) return Level{};
      const auto& [price, level] = *levels.begin();
      return Level{price, level.qty, static_cast<std::uint32_t>(level.orders.size())};
    };
    return side == Side::kBuy ? best(bids_) : best(asks_);
  }

  // Fills the front order of `side` by `qty` at `price`; removes it when nothing is left.
  RestingOrder fill_front(Side side, Qty qty, Price price) {
    RestingOrder& o = front(side);
    (side == Side::kBuy ? bids_.begin()->second : asks_.begin()->second).qty -= qty;
    o.leaves -= qty;
    o.cum_notional += price.value() * qty.value();
    const RestingOrder after = o;
    if (o.leaves.value() == 0) erase(o.id);
    return after;
  }

  void reduce(OrderId id, Qty new_qty, Qty new_leaves) {
    if (RestingOrder* o = find(id)) {
      (o->side == Side::kBuy ? bids_[o->price] : asks_[o->price]).qty -= o->leaves - new_leaves;
      o->qty = new_qty;
      o->leaves = new_leaves;
    }
  }

  std::size_t order_count() const { return index_.size(); }

 private:
  using Orders = std::list<RestingOrder>;
  struct LevelOrders {
    Orders orders;
    Qty qty{0};  // sum of leaves
  };
  struct Position {
    Side side;
    Price price;
    Orders::iterator position;
  };
  template <typename Levels>
  static void erase_from(Levels& levels, Price price, Orders::iterator position) {
    auto level = levels.find(price);
    level->second.qty -= position->leaves;
    level->second.orders.erase(position);
    if (level->second.orders.empty()) levels.erase(level);
  }

  std::map<Price, LevelOrders, std::greater<>> bids_;  // best (highest) first
  std::map<Price, LevelOrders, std::less<>> asks_;     // best (lowest) first
  std::unordered_map<OrderId, Position> index_;
};

}  // namespace trading
