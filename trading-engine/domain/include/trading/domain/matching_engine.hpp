// MatchingEngine<Book>: the venue's deterministic core. apply(command) validates, matches with
// price-time priority (trades print at the resting order's price), handles limit/market orders,
// Day/GTC/IOC/FOK, cancel, replace (quantity down keeps priority; price change or quantity up
// loses it and may trade), mass cancel, end-of-day expiry and self-trade prevention, and appends
// its events to a caller-owned buffer. The matching logic is written once and instantiated with
// the fast OrderBook and the NaiveOrderBook (the differential test's oracle).
// Time and ids come in with the commands, so replay reproduces the same events and digest.
// Not thread-safe: one engine thread owns it (DESIGN.md: one writer).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "trading/domain/commands.hpp"
#include "trading/domain/divisibility.hpp"
#include "trading/domain/events.hpp"
#include "trading/domain/instrument.hpp"
#include "trading/domain/resting_order.hpp"

namespace trading {

struct EngineConfig {
  std::vector<Instrument> instruments;  // SymbolId = index
  std::vector<Account> accounts;
};

template <typename Book>
class MatchingEngine {
 public:
  explicit MatchingEngine(EngineConfig config)
      : config_(std::move(config)), books_(config_.instruments.size()) {
    tops_.resize(config_.instruments.size());
    for (std::size_t i = 0; i < tops_.size(); ++i)
      tops_[i].symbol = SymbolId(static_cast<std::uint32_t>(i));
    std::sort(config_.accounts.begin(), config_.accounts.end(),
              [](const Account& a, const Account& b) { return a.id < b.id; });
    for (const auto& i : config_.instruments) {
      if (i.tick_size.value() <= 0 || i.lot_size.value() <= 0) {
        throw std::invalid_argument("instrument " + i.symbol + ": tick and lot size must be > 0");
      }
      ticks_.emplace_back(static_cast<std::uint64_t>(i.tick_size.value()));
      lots_.emplace_back(static_cast<std::uint64_t>(i.lot_size.value()));
    }
  }

  void apply(const Command& command, std::vector<Event>& out) {
    std::visit([&](const auto& body) { on(body, out); }, command.body);
  }

  const Book& book(SymbolId symbol) const { return books_[symbol.value()]; }
  Book& book(SymbolId symbol) { return books_[symbol.value()]; }
  const EngineConfig& config() const { return config_; }
  OrderId last_order_id() const { return last_order_id_; }
  TradeId last_trade_id() const { return TradeId(trade_seq_); }

  // FNV-1a over every resting order in priority order and the id counters: equal digests mean
  // equal state (replay checks, "a rejected command changes nothing").
  std::uint64_t digest() {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    const auto mix = [&h](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
      }
    };
    mix(last_order_id_.value());
    mix(trade_seq_);
    for (auto& b : books_) {
      for (Side side : {Side::kBuy, Side::kSell}) {
        b.for_each_order(side, [&](const RestingOrder& o) {
          mix(o.id.value());
          mix(o.account.value());
          mix(static_cast<std::uint64_t>(o.side));
          mix(static_cast<std::uint64_t>(o.tif));
          mix(static_cast<std::uint64_t>(o.price.value()));
          mix(static_cast<std::uint64_t>(o.qty.value()));
          mix(static_cast<std::uint64_t>(o.leaves.value()));
          mix(static_cast<std::uint64_t>(o.cum.value()));
          mix(static_cast<std::uint64_t>(o.cum_notional));
          return true;
        });
        mix(0xffffffffffffffffULL);  // side separator
      }
    }
    return h;
  }

 private:
  const Account* account(AccountId id) const {
    auto it = std::lower_bound(config_.accounts.begin(), config_.accounts.end(), id,
                               [](const Account& a, AccountId v) { return a.id < v; });
    return it != config_.accounts.end() && it->id == id ? &*it : nullptr;
  }

  bool valid_symbol(SymbolId s) const { return s.value() < config_.instruments.size(); }

  // Price and quantity checks shared by new orders and replaces.
  bool check_price_qty(SymbolId symbol, bool has_price, Price price, Qty qty,
                       RejectCode& code) const {
    if (qty.value() <= 0) {
      code = RejectCode::kNonPositiveQuantity;
      return false;
    }
    if (!lots_[symbol.value()].divides(qty.value())) {
      code = RejectCode::kQuantityOffLot;
      return false;
    }
    if (has_price) {
      if (price.value() <= 0) {
        code = RejectCode::kNonPositivePrice;
        return false;
      }
      if (!ticks_[symbol.value()].divides(price.value())) {
        code = RejectCode::kPriceOffTick;
        return false;
      }
    }
    return true;
  }

  void on(const NewOrder& cmd, std::vector<Event>& out) {
    RejectCode code{};
    if (!valid_symbol(cmd.symbol)) return reject(cmd.id, RejectCode::kUnknownSymbol, out);
    const Account* acct = account(cmd.account);
    if (acct == nullptr) return reject(cmd.id, RejectCode::kUnknownAccount, out);
    if (cmd.id <= last_order_id_) return reject(cmd.id, RejectCode::kDuplicateOrderId, out);
    const Instrument& inst = config_.instruments[cmd.symbol.value()];
    if (!check_price_qty(cmd.symbol, cmd.type == OrderType::kLimit, cmd.price, cmd.qty, code)) {
      return reject(cmd.id, code, out);
    }
    if (!inst.trading_enabled) return reject(cmd.id, RejectCode::kTradingDisabled, out);

    last_order_id_ = cmd.id;
    out.push_back(
        Accepted{cmd.id, cmd.account, cmd.symbol, cmd.side, cmd.type, cmd.tif, cmd.price, cmd.qty});
    RestingOrder incoming{cmd.id,  cmd.account, cmd.side, cmd.tif, cmd.price,
                          cmd.qty, cmd.qty,     Qty{0},   0,       cmd.owner};
    Book& b = books_[cmd.symbol.value()];
    const bool is_market = cmd.type == OrderType::kMarket;

    if (cmd.tif == TimeInForce::kFok && !fok_fillable(b, incoming, is_market, acct->stp)) {
      out.push_back(Canceled{cmd.id, cmd.account, cmd.qty, Qty{0}, CancelReason::kFokUnfillable});
      return;
    }
    const bool canceled = match(b, cmd.symbol, incoming, is_market, acct->stp, out);
    if (!canceled && incoming.leaves.value() > 0) {
      if (is_market) {
        out.push_back(Canceled{incoming.id, incoming.account, incoming.leaves, incoming.cum,
                               CancelReason::kMarketRemainder});
      } else if (cmd.tif == TimeInForce::kIoc || cmd.tif == TimeInForce::kFok) {
        out.push_back(Canceled{incoming.id, incoming.account, incoming.leaves, incoming.cum,
                               CancelReason::kIocRemainder});
      } else {
        b.insert(incoming);
      }
    }
    publish_top(cmd.symbol, out);
  }

  void on(const CancelOrder& cmd, std::vector<Event>& out) {
    if (!valid_symbol(cmd.symbol)) return reject(cmd.id, RejectCode::kUnknownSymbol, out);
    Book& b = books_[cmd.symbol.value()];
    const RestingOrder* o = b.find(cmd.id);
    if (o == nullptr) return reject(cmd.id, RejectCode::kUnknownOrder, out);
    if (o->account != cmd.account) return reject(cmd.id, RejectCode::kNotOrderOwner, out);
    out.push_back(Canceled{o->id, o->account, o->leaves, o->cum, CancelReason::kRequested});
    b.erase(cmd.id);
    publish_top(cmd.symbol, out);
  }

  void on(const ReplaceOrder& cmd, std::vector<Event>& out) {
    if (!valid_symbol(cmd.symbol)) return reject(cmd.id, RejectCode::kUnknownSymbol, out);
    Book& b = books_[cmd.symbol.value()];
    RestingOrder* o = b.find(cmd.id);
    if (o == nullptr) return reject(cmd.id, RejectCode::kUnknownOrder, out);
    if (o->account != cmd.account) return reject(cmd.id, RejectCode::kNotOrderOwner, out);
    RejectCode code{};
    if (!check_price_qty(cmd.symbol, true, cmd.price, cmd.qty, code)) {
      return reject(cmd.id, code, out);
    }
    if (cmd.qty <= o->cum) return reject(cmd.id, RejectCode::kReplaceBelowFilled, out);
    const Qty new_leaves = cmd.qty - o->cum;
    if (cmd.price == o->price && cmd.qty <= o->qty) {
      // Quantity down (or unchanged) at the same price keeps time priority.
      b.reduce(cmd.id, cmd.qty, new_leaves);
      out.push_back(Replaced{cmd.id, cmd.price, cmd.qty, new_leaves, true});
      publish_top(cmd.symbol, out);
      return;
    }
    // Price change or quantity up: the order goes to the back of its (new) level, trading first
    // if the new price crosses.
    RestingOrder moved = *o;
    b.erase(cmd.id);
    moved.price = cmd.price;
    moved.qty = cmd.qty;
    moved.leaves = new_leaves;
    out.push_back(Replaced{cmd.id, cmd.price, cmd.qty, new_leaves, false});
    const Account* acct = account(moved.account);
    const bool canceled =
        match(b, cmd.symbol, moved, false, acct ? acct->stp : StpMode::kCancelResting, out);
    if (!canceled && moved.leaves.value() > 0) b.insert(moved);
    publish_top(cmd.symbol, out);
  }

  void on(const MassCancel& cmd, std::vector<Event>& out) {
    if (cmd.scope == MassCancelScope::kSymbol && !valid_symbol(cmd.symbol)) {
      return reject(OrderId{}, RejectCode::kUnknownSymbol, out);
    }
    if (cmd.scope == MassCancelScope::kAccount && account(cmd.account) == nullptr) {
      return reject(OrderId{}, RejectCode::kUnknownAccount, out);
    }
    for (std::uint32_t s = 0; s < books_.size(); ++s) {
      if (cmd.scope == MassCancelScope::kSymbol && s != cmd.symbol.value()) continue;
      remove_where(
          SymbolId(s), out,
          [&](const RestingOrder& o) {
            return cmd.scope != MassCancelScope::kAccount || o.account == cmd.account;
          },
          [](const RestingOrder& o) {
            return Event{Canceled{o.id, o.account, o.leaves, o.cum, CancelReason::kMassCancel}};
          });
    }
  }

  void on(const EndOfDay&, std::vector<Event>& out) {
    for (std::uint32_t s = 0; s < books_.size(); ++s) {
      remove_where(
          SymbolId(s), out, [](const RestingOrder& o) { return o.tif == TimeInForce::kDay; },
          [](const RestingOrder& o) {
            return Event{Expired{o.id, o.account, o.leaves, o.cum}};
          });
    }
  }

  template <typename Pred, typename MakeEvent>
  void remove_where(SymbolId symbol, std::vector<Event>& out, Pred pred, MakeEvent make) {
    Book& b = books_[symbol.value()];
    scratch_.clear();
    for (Side side : {Side::kBuy, Side::kSell}) {
      b.for_each_order(side, [&](const RestingOrder& o) {
        if (pred(o)) scratch_.push_back(o);
        return true;
      });
    }
    if (scratch_.empty()) return;
    for (const auto& o : scratch_) {
      out.push_back(make(o));
      b.erase(o.id);
    }
    publish_top(symbol, out);
  }

  // Would a FOK order fill entirely? Checked before anything trades.
  bool fok_fillable(Book& b, const RestingOrder& in, bool is_market, StpMode stp) {
    std::int64_t available = 0;
    bool blocked = false;
    b.for_each_order(opposite(in.side), [&](const RestingOrder& r) {
      if (!is_market &&
          !(in.side == Side::kBuy ? crosses(in.price, r.price) : crosses(r.price, in.price))) {
        return false;
      }
      if (r.account == in.account) {
        if (stp == StpMode::kCancelIncoming) {
          blocked = true;  // the incoming order would be canceled part-way
          return false;
        }
        return true;  // would be canceled by STP, not traded
      }
      available += r.leaves.value();
      return available < in.leaves.value();
    });
    return !blocked && available >= in.leaves.value();
  }

  // Matches `in` against the opposite side. Returns true when STP canceled the incoming order.
  bool match(Book& b, SymbolId symbol, RestingOrder& in, bool is_market, StpMode stp,
             std::vector<Event>& out) {
    const Side other = opposite(in.side);
    while (in.leaves.value() > 0 && !b.empty(other)) {
      RestingOrder& r = b.front(other);
      if (!is_market &&
          !(in.side == Side::kBuy ? crosses(in.price, r.price) : crosses(r.price, in.price)))
        break;
      if (r.account == in.account) {
        if (stp == StpMode::kCancelIncoming) {
          out.push_back(Canceled{in.id, in.account, in.leaves, in.cum, CancelReason::kSelfTrade});
          in.leaves = Qty{0};
          return true;
        }
        out.push_back(Canceled{r.id, r.account, r.leaves, r.cum, CancelReason::kSelfTrade});
        b.erase(r.id);
        continue;
      }
      const Qty qty = std::min(in.leaves, r.leaves);
      const Price price = r.price;
      const RestingOrder after = b.fill_front(other, qty, price);
      in.leaves -= qty;
      in.cum += qty;
      in.cum_notional += price.value() * qty.value();
      out.push_back(Trade{TradeId(++trade_seq_), symbol, price, qty, in.side, in.id, after.id,
                          in.account, after.account, in.leaves, in.cum, after.leaves, after.cum,
                          in.cum_notional, after.cum_notional});
    }
    return false;
  }

  void reject(OrderId id, RejectCode code, std::vector<Event>& out) {
    out.push_back(Rejected{id, code});
  }

  void publish_top(SymbolId symbol, std::vector<Event>& out) {
    const Book& b = books_[symbol.value()];
    const Level bid = b.best_level(Side::kBuy);
    const Level ask = b.best_level(Side::kSell);
    TopOfBook top{symbol, bid.price, bid.qty, ask.price, ask.qty};
    if (top != tops_[symbol.value()]) {
      tops_[symbol.value()] = top;
      out.push_back(top);
    }
  }

  EngineConfig config_;
  std::vector<DivisibilityCheck> ticks_;  // by symbol
  std::vector<DivisibilityCheck> lots_;   // by symbol
  std::vector<Book> books_;
  std::vector<TopOfBook> tops_;
  std::vector<RestingOrder> scratch_;  // reused by mass cancel and expiry
  OrderId last_order_id_{};
  std::uint64_t trade_seq_ = 0;
};

}  // namespace trading
