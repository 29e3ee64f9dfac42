// OrderFlow: a seeded, deterministic synthetic order flow for tests and benchmarks: about 45 %
// adds, 40 % cancels, 10 % aggressive orders (a quarter of them market), 5 % replaces, with
// prices clustered near a slowly drifting mid. Fed the engine's events (observe), it knows which
// of its orders are still live, so cancels and replaces target live orders and the book holds
// its target depth. Header-only; not thread-safe.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <variant>
#include <vector>

#include "trading/domain/commands.hpp"
#include "trading/domain/event_buffer.hpp"
#include "trading/domain/events.hpp"

namespace trading::testing {

class OrderFlow {
 public:
  struct Options {
    SymbolId symbol{0};
    std::int64_t mid = 100'000;  // price units
    std::int64_t tick = 5;
    std::int64_t lot = 10;
    std::vector<AccountId> accounts;
    std::uint64_t first_order_id = 1;
    std::size_t target_resting = 1000;  // adds and cancels balance around this many live orders
  };

  OrderFlow(std::uint64_t seed, Options options)
      : state_(seed), o_(std::move(options)), next_id_(o_.first_order_id) {}

  // A passive order (never crosses): for filling a book to a given depth.
  Command passive_add() {
    const Side side = bit() ? Side::kBuy : Side::kSell;
    const std::int64_t offset = (1 + static_cast<std::int64_t>(skewed(40))) * o_.tick;
    std::int64_t price = side == Side::kBuy ? o_.mid - offset : o_.mid + offset;
    // With observed tops, stay on the passive side of the real touch (the mid drifts, the book
    // may not have followed).
    if (side == Side::kBuy && best_ask_ > 0 && price >= best_ask_) price = best_ask_ - o_.tick;
    if (side == Side::kSell && best_bid_ > 0 && price <= best_bid_) price = best_bid_ + o_.tick;
    if (price <= 0) price = o_.tick;
    return add(side, OrderType::kLimit, bit() ? TimeInForce::kDay : TimeInForce::kGtc, price,
               qty());
  }

  Command next() {
    if (++count_ % 1000 == 0) o_.mid += (bit() ? 1 : -1) * o_.tick;  // slow drift
    // 45 % adds / 40 % cancels on average; the split leans to hold the book near its target.
    const std::uint64_t add_share = live_.size() < o_.target_resting ? 50 : 40;
    const std::uint64_t r = below(100);
    if (r < add_share || live_.empty()) return passive_add();
    if (r < 85) {  // cancel a random live order (it may have traded meanwhile: then a reject)
      const std::size_t i = static_cast<std::size_t>(below(live_.size()));
      const Live l = live_[i];
      remove_at(i);
      return Command{now(), CancelOrder{OrderId(l.id), l.account, o_.symbol}};
    }
    if (r < 95) {  // aggressive: crosses a few ticks into the book
      const Side side = bit() ? Side::kBuy : Side::kSell;
      if (below(4) == 0) return add(side, OrderType::kMarket, TimeInForce::kIoc, 0, qty(), false);
      const std::int64_t through = (1 + static_cast<std::int64_t>(skewed(3))) * o_.tick;
      const std::int64_t price = side == Side::kBuy ? o_.mid + through : o_.mid - through;
      return add(side, OrderType::kLimit, below(3) == 0 ? TimeInForce::kIoc : TimeInForce::kDay,
                 price, qty(), false);
    }
    // replace: quantity down (keeps priority) or a new price near the old one
    const Live& l = live_[static_cast<std::size_t>(below(live_.size()))];
    const bool down = bit();
    const std::int64_t new_qty =
        down ? std::max<std::int64_t>(o_.lot, (l.qty / 2 / o_.lot) * o_.lot) : l.qty;
    const std::int64_t new_price = down ? l.price : l.price + (bit() ? o_.tick : -o_.tick);
    return Command{
        now(), ReplaceOrder{OrderId(l.id), l.account, o_.symbol, Price{new_price}, Qty{new_qty}}};
  }

  std::size_t live_count() const { return live_.size(); }

  // Learns from the engine's events which orders filled, were canceled or changed, so later
  // cancels and replaces target live orders. Optional: without it the flow guesses.
  void observe(const EventBuffer& events) {
    for (const auto& e : events) {
      if (const auto* t = std::get_if<Trade>(&e)) {
        if (t->resting_leaves.value() == 0) remove_id(t->resting.value());
        if (t->aggressor_leaves.value() == 0) remove_id(t->aggressor.value());
      } else if (const auto* c = std::get_if<Canceled>(&e)) {
        remove_id(c->id.value());
      } else if (const auto* x = std::get_if<Expired>(&e)) {
        remove_id(x->id.value());
      } else if (const auto* top = std::get_if<TopOfBook>(&e)) {
        best_bid_ = top->bid_qty.value() > 0 ? top->bid.value() : 0;
        best_ask_ = top->ask_qty.value() > 0 ? top->ask.value() : 0;
      } else if (const auto* r = std::get_if<Replaced>(&e)) {
        auto it = where_.find(r->id.value());
        if (it != where_.end()) {
          live_[it->second].price = r->price.value();
          live_[it->second].qty = r->qty.value();
        }
      }
    }
  }

 private:
  struct Live {
    std::uint64_t id;
    AccountId account;
    std::int64_t price;
    std::int64_t qty;
  };

  Command add(Side side, OrderType type, TimeInForce tif, std::int64_t price, std::int64_t q,
              bool track = true) {
    const std::uint64_t id = next_id_++;
    const AccountId acct = o_.accounts[static_cast<std::size_t>(below(o_.accounts.size()))];
    if (track && type == OrderType::kLimit && tif != TimeInForce::kIoc) {
      where_[id] = live_.size();
      live_.push_back(Live{id, acct, price, q});
    }
    return Command{
        now(), NewOrder{OrderId(id), acct, o_.symbol, side, type, tif, Price{price}, Qty{q}, 0}};
  }

  std::int64_t qty() { return (1 + static_cast<std::int64_t>(skewed(20))) * o_.lot; }
  core::Nanos now() { return static_cast<core::Nanos>(count_) * 1000; }

  // splitmix64
  void remove_at(std::size_t i) {
    where_.erase(live_[i].id);
    if (i + 1 != live_.size()) {
      live_[i] = live_.back();
      where_[live_[i].id] = i;
    }
    live_.pop_back();
  }
  void remove_id(std::uint64_t id) {
    auto it = where_.find(id);
    if (it != where_.end()) remove_at(it->second);
  }

  std::uint64_t rand() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return rand() % n; }
  bool bit() { return (rand() & 1) != 0; }
  // Mostly small values, sometimes up to n: prices cluster near the touch.
  std::uint64_t skewed(std::uint64_t n) {
    return below(4) != 0 ? below(std::min<std::uint64_t>(n, 4)) : below(n);
  }

  std::uint64_t state_;
  Options o_;
  std::uint64_t next_id_;
  std::uint64_t count_ = 0;
  std::vector<Live> live_;
  std::unordered_map<std::uint64_t, std::size_t> where_;  // id -> index in live_
  std::int64_t best_bid_ = 0;                             // observed touch; 0 = unknown or empty
  std::int64_t best_ask_ = 0;
};

}  // namespace trading::testing
