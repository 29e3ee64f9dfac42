// OrderFlow: a seeded, deterministic synthetic order flow for tests and benchmarks: about 45 %
// adds, 40 % cancels, 10 % aggressive orders (a quarter of them market), 5 % replaces, with
// prices clustered near a slowly drifting mid. Header-only; not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "trading/domain/commands.hpp"

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
    const std::int64_t price = side == Side::kBuy ? o_.mid - offset : o_.mid + offset;
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
      live_[i] = live_.back();
      live_.pop_back();
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
    if (track && type == OrderType::kLimit && tif != TimeInForce::kIoc)
      live_.push_back(Live{id, acct, price, q});
    return Command{
        now(), NewOrder{OrderId(id), acct, o_.symbol, side, type, tif, Price{price}, Qty{q}, 0}};
  }

  std::int64_t qty() { return (1 + static_cast<std::int64_t>(skewed(20))) * o_.lot; }
  core::Nanos now() { return static_cast<core::Nanos>(count_) * 1000; }

  // splitmix64
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
};

}  // namespace trading::testing
