// MatchingEngine<Book>: the venue's deterministic core. apply(command) validates, matches with
// price-time priority (trades print at the resting order's price), handles limit/market orders,
// Day/GTC/IOC/FOK, cancel, replace (quantity down keeps priority; price change or quantity up
// loses it and may trade), mass cancel, end-of-day expiry, self-trade prevention, manual trading
// halts and limit-up/limit-down price bands with automatic halts, and appends its events to a
// caller-owned buffer. Pre-trade risk (limits, kill switches, throttles, repeated ClOrdIDs, and
// their run-time changes) is PreTradeRisk's (pre_trade_risk.hpp): the engine asks it before an
// order or a replace reaches the book. The matching logic is written once and instantiated with
// the fast OrderBook and the NaiveOrderBook (the differential test's oracle).
// Time and ids come in with the commands, so replay reproduces the same events and digest.
// Not thread-safe: one engine thread owns it (DESIGN.md: one writer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "trading/domain/commands.hpp"
#include "trading/domain/divisibility.hpp"
#include "trading/domain/event_buffer.hpp"
#include "trading/domain/events.hpp"
#include "trading/domain/instrument.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/domain/pre_trade_risk.hpp"
#include "trading/domain/price_band.hpp"
#include "trading/domain/resting_order.hpp"
#include "trading/domain/state_digest.hpp"

namespace trading {

struct EngineConfig {
  std::vector<Instrument> instruments;  // SymbolId = index
  std::vector<Account> accounts;
  // Orders of a trading day the ClOrdID table and each book are sized for at start (no rehash or
  // pool copy before this many).
  std::size_t expected_orders = 0;
};

template <typename Book>
class MatchingEngine {
 private:
  // What every order checks about its symbol (from config_.instruments).
  struct SymbolRules {
    DivisibilityCheck tick;
    DivisibilityCheck lot;
    Price reference_price;  // until the first trade
    bool trading_enabled;
  };
  static constexpr std::uint8_t kManualHalt = 1;
  static constexpr std::uint8_t kBandHalt = 2;
  // Everything the engine keeps about one instrument, side by side: an order reaches its rules,
  // halt, book, band and top through one address (separate vectors cost a base pointer load and
  // an index computation each, ~5 % of a command).
  struct Symbol {
    Symbol(const Instrument& i, SymbolId id)
        : rules{DivisibilityCheck(static_cast<std::uint64_t>(i.tick_size.value())),
                DivisibilityCheck(static_cast<std::uint64_t>(i.lot_size.value())),
                i.reference_price, i.trading_enabled},
          band(i.bands, i.reference_price, i.tick_size) {
      top.symbol = id;
    }
    SymbolId id() const { return top.symbol; }
    SymbolRules rules;
    std::uint8_t halted = 0;     // kManualHalt | kBandHalt bits in force
    Price last_trade{0};         // 0 before the first trade
    std::uint64_t top_seen = 0;  // the book's top_changes() when last published
    TopOfBook top;
    Book book;
    PriceBand band;
  };

 public:
  explicit MatchingEngine(EngineConfig config)
      : config_(std::move(config)), risk_(config_.accounts, config_.expected_orders) {
    std::sort(config_.accounts.begin(), config_.accounts.end(),
              [](const Account& a, const Account& b) { return a.id < b.id; });
    symbols_.reserve(config_.instruments.size());
    for (const auto& i : config_.instruments) {
      if (i.tick_size.value() <= 0 || i.lot_size.value() <= 0) {
        throw std::invalid_argument("instrument " + i.symbol + ": tick and lot size must be > 0");
      }
      symbols_.emplace_back(i, SymbolId(static_cast<std::uint32_t>(symbols_.size())));
    }
    symbol_count_ = static_cast<std::uint32_t>(symbols_.size());
    if constexpr (requires(Book & b) { b.reserve(std::size_t{1}); }) {
      // Any one book may hold the day's orders (a hot symbol): each reserves room for all of
      // them, address space only until used.
      if (config_.expected_orders > 0) {
        for (auto& s : symbols_) s.book.reserve(config_.expected_orders);
      }
    }
  }

  void apply(const Command& command, EventBuffer& out) {
    if (std::holds_alternative<JournalMarker>(command.body)) return;  // about the journal only
    now_ = command.timestamp;
    // A band's timer is due, or a command moved one (the next deadline is then worked out here,
    // when it is next needed): out of line, so the common path is a compare and a jump.
    if (now_ >= next_deadline_) [[unlikely]] {
      return apply_after_timers(command, out);
    }
    dispatch(command, out);
  }

  const Book& book(SymbolId symbol) const { return symbols_[symbol.value()].book; }
  Book& book(SymbolId symbol) { return symbols_[symbol.value()].book; }
  // The configuration the engine was built with (the limits in force: risk().accounts()).
  const EngineConfig& config() const { return config_; }
  const PreTradeRisk& risk() const { return risk_; }
  OrderId last_order_id() const { return last_order_id_; }
  // Open exposure of an account: sum of leaves x price over its resting orders.
  std::int64_t exposure(AccountId id) const { return risk_.exposure(id); }
  TradeId last_trade_id() const { return TradeId(trade_seq_); }
  const PriceBand& band(SymbolId symbol) const { return symbols_[symbol.value()].band; }
  bool halted(SymbolId symbol) const {
    return venue_halted_ || symbols_[symbol.value()].halted != 0;
  }
  bool venue_halted() const { return venue_halted_; }
  bool venue_killed() const { return risk_.venue_killed(); }
  bool account_killed(AccountId id) const { return risk_.account_killed(id); }

  // Snapshot support. save_state calls put(std::uint64_t) for every piece of state (resting
  // orders in priority order, counters, halts, bands, account risk state, today's ClOrdID keys);
  // load_state reads the same sequence with get(std::uint64_t&) -> bool into a freshly built
  // engine with the same configuration, and returns an empty string or what did not fit.
  // Version 2 added the accounts' limits in force (run-time changes), version 3 the accounts and
  // sessions added at run time; versions 1 and 2 are still read.
  static constexpr std::uint64_t kStateVersion = 3;

  template <typename Put>
  void save_state(Put&& put) {
    const auto put_any = [&put](const auto& v) {
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_integral_v<V>) {
        put(static_cast<std::uint64_t>(v));
      } else {
        put(static_cast<std::uint64_t>(v.value()));
      }
    };
    put(kStateVersion);
    put(symbols_.size());
    put(config_.accounts.size());
    for (const auto& a : config_.accounts) put(a.id.value());
    const auto& accounts = risk_.accounts();
    put(accounts.size() - config_.accounts.size());
    for (std::size_t i = config_.accounts.size(); i < accounts.size(); ++i) {
      AddAccount added{accounts[i].id, accounts[i].stp, {}};
      added.name.assign(accounts[i].name);
      put(added.id.value());
      put(static_cast<std::uint64_t>(added.stp));
      put_name(added.name, put);
    }
    put(added_sessions_.size());
    for (const auto& session : added_sessions_) {
      put(session.account.value());
      put_name(session.client_comp_id, put);
    }
    put(last_order_id_.value());
    put(trade_seq_);
    put(static_cast<std::uint64_t>(now_));
    put((risk_.venue_killed() ? 1u : 0u) | (venue_halted_ ? 2u : 0u));
    for (std::size_t i = 0; i < symbols_.size(); ++i) {
      put_any(symbols_[i].last_trade);
      put(symbols_[i].halted);
      symbols_[i].band.visit_state(put_any);
      for (Side side : {Side::kBuy, Side::kSell}) {
        symbols_[i].book.visit_all(side, [&](const RestingOrder& o) {
          put(1);  // another order follows
          put(o.id.value());
          put(o.account.value());
          put(static_cast<std::uint64_t>(o.side));
          put(static_cast<std::uint64_t>(o.tif));
          put_any(o.price);
          put_any(o.qty);
          put_any(o.leaves);
          put_any(o.cum());
          put(static_cast<std::uint64_t>(o.cum_notional));
          put(o.owner);
        });
        put(0);  // end of side
      }
    }
    risk_.save_state(put);
  }

  template <typename Get>
  std::string load_state(Get&& get) {
    std::uint64_t v = 0;
    const auto next = [&]() -> bool { return get(v); };
    const auto get_into = [&](auto& field) -> bool {
      if (!get(v)) return false;
      using F = std::decay_t<decltype(field)>;
      if constexpr (std::is_same_v<F, bool>) {
        field = v != 0;
      } else if constexpr (requires { typename F::rep_type; }) {
        field = F(static_cast<typename F::rep_type>(v));
      } else if constexpr (std::is_integral_v<F>) {
        field = static_cast<F>(v);
      } else {
        field = F{static_cast<std::int64_t>(v)};
      }
      return true;
    };
    if (!next() || v == 0 || v > kStateVersion) return "snapshot state version not supported";
    const std::uint64_t state_version = v;
    if (!next() || v != symbols_.size()) return "snapshot has a different number of instruments";
    if (!next() || v != config_.accounts.size()) {
      return "snapshot has a different number of accounts";
    }
    for (const auto& a : config_.accounts) {
      if (!next() || v != a.id.value()) return "snapshot has different account ids";
    }
    if (state_version >= 3) {
      if (!next() || v > kMaxAddedReferences) return "snapshot added accounts invalid";
      for (std::uint64_t n = v, i = 0; i < n; ++i) {
        AddAccount added;
        std::uint64_t stp = 0;
        if (!get_into(added.id) || !get(stp) || stp > 1 || !get_name(added.name, get)) {
          return "snapshot added account invalid";
        }
        added.stp = static_cast<StpMode>(stp);
        if (!add_account(added)) return "snapshot added account invalid";
      }
      if (!next() || v > kMaxAddedReferences) return "snapshot added sessions invalid";
      for (std::uint64_t n = v, i = 0; i < n; ++i) {
        AddSession added;
        if (!get_into(added.account) || !get_name(added.client_comp_id, get) ||
            add_session(added) != RejectCode{}) {
          return "snapshot added session invalid";
        }
      }
    }
    if (!next()) return "snapshot truncated";
    last_order_id_ = OrderId(v);
    if (!next()) return "snapshot truncated";
    trade_seq_ = v;
    if (!next()) return "snapshot truncated";
    now_ = static_cast<core::Nanos>(v);
    if (!next() || v > 3) return "snapshot venue flags invalid";
    risk_.set_venue_killed((v & 1u) != 0);
    venue_halted_ = (v & 2u) != 0;
    for (std::size_t i = 0; i < symbols_.size(); ++i) {
      if (!get_into(symbols_[i].last_trade)) return "snapshot truncated";
      if (!next() || v > 3) return "snapshot halt flags invalid";
      symbols_[i].halted = static_cast<std::uint8_t>(v);
      bool ok = true;
      symbols_[i].band.visit_state([&](auto& field) { ok = ok && get_into(field); });
      if (!ok) return "snapshot truncated";
      if (!symbols_[i].band.valid()) return "snapshot price band state invalid";
      for (Side side : {Side::kBuy, Side::kSell}) {
        while (true) {
          if (!next()) return "snapshot truncated";
          if (v == 0) break;
          RestingOrder o;
          Qty cum{0};  // stored for the check below: the order keeps qty and leaves
          std::uint64_t raw_side = 0, raw_tif = 0, notional = 0;
          if (!get_into(o.id) || !get_into(o.account) || !get(raw_side) || !get(raw_tif) ||
              !get_into(o.price) || !get_into(o.qty) || !get_into(o.leaves) || !get_into(cum) ||
              !get(notional) || !get_into(o.owner)) {
            return "snapshot truncated";
          }
          if (raw_side != static_cast<std::uint64_t>(side) || raw_tif > 3) {
            return "snapshot order has an invalid side or time in force";
          }
          o.side = side;
          o.tif = static_cast<TimeInForce>(raw_tif);
          o.cum_notional = static_cast<std::int64_t>(notional);
          const auto in_range = [](std::int64_t x, std::int64_t max) { return x >= 0 && x <= max; };
          const std::int32_t account_slot = risk_.slot(o.account);
          if (o.id.value() == 0 || o.leaves.value() <= 0 || o.price.value() <= 0 ||
              !in_range(o.price.value(), kMaxPrice) || !in_range(o.qty.value(), kMaxQuantity) ||
              !in_range(cum.value(), kMaxQuantity) || !in_range(o.leaves.value(), kMaxQuantity) ||
              !in_range(o.cum_notional, kMaxPrice * kMaxQuantity) || o.leaves + cum != o.qty ||
              account_slot < 0 || symbols_[i].book.find(o.id) != nullptr) {
            return "snapshot order " + std::to_string(o.id.value()) + " is not a valid order";
          }
          o.account_slot = static_cast<std::uint32_t>(account_slot);
          symbols_[i].book.insert(o);
        }
      }
      const Level bid = symbols_[i].book.best_level(Side::kBuy);
      const Level ask = symbols_[i].book.best_level(Side::kSell);
      symbols_[i].top = TopOfBook{SymbolId(static_cast<std::uint32_t>(i)), bid.price, bid.qty,
                                  ask.price, ask.qty};
      if constexpr (requires { symbols_[i].book.top_changes(); })
        symbols_[i].top_seen = symbols_[i].book.top_changes();
    }
    if (auto risk = risk_.load_state(get, state_version); !risk.empty()) return risk;
    if (get(v)) return "snapshot has data after the engine state";
    recompute_deadline();
    return {};
  }

  // FNV-1a over every resting order in priority order and the id counters: equal digests mean
  // equal state (replay checks, "a rejected command changes nothing").
  std::uint64_t digest() {
    StateDigest state;
    const auto mix = [&state](std::uint64_t v) { state.mix(v); };
    mix(last_order_id_.value());
    mix(trade_seq_);
    for (auto& s : symbols_) {
      for (Side side : {Side::kBuy, Side::kSell}) {
        s.book.visit_all(side, [&](const RestingOrder& o) {
          mix(o.id.value());
          mix(o.account.value());
          mix(static_cast<std::uint64_t>(o.side));
          mix(static_cast<std::uint64_t>(o.tif));
          mix(static_cast<std::uint64_t>(o.price.value()));
          mix(static_cast<std::uint64_t>(o.qty.value()));
          mix(static_cast<std::uint64_t>(o.leaves.value()));
          mix(static_cast<std::uint64_t>(o.cum().value()));
          mix(static_cast<std::uint64_t>(o.cum_notional));
        });
        mix(0xffffffffffffffffULL);  // side separator
      }
    }
    for (std::size_t i = 0; i < symbols_.size(); ++i) {
      mix(static_cast<std::uint64_t>(symbols_[i].last_trade.value()));
      mix(symbols_[i].halted);
      symbols_[i].band.visit_state([&](auto v) {
        if constexpr (std::is_integral_v<decltype(v)>) {
          mix(static_cast<std::uint64_t>(v));
        } else {
          mix(static_cast<std::uint64_t>(v.value()));
        }
      });
    }
    // The same sequence as before limits changed at run time (a standby of this build agrees
    // with a primary of the previous one); limits only count once they differ from the config.
    risk_.mix_digest(mix, config_.accounts,
                     (risk_.venue_killed() ? 1u : 0u) | (venue_halted_ ? 2u : 0u));
    // Accounts and sessions added at run time (nothing mixed when there are none: the digest of
    // earlier builds).
    const auto& accounts = risk_.accounts();
    for (std::size_t i = config_.accounts.size(); i < accounts.size(); ++i) {
      const Account& a = accounts[i];
      AddAccount added{a.id, a.stp, {}};
      added.name.assign(a.name);
      mix(a.id.value());
      mix(static_cast<std::uint64_t>(a.stp));
      put_name(added.name, mix);
      mix(static_cast<std::uint64_t>(a.limits.max_order_qty.value()));
      mix(static_cast<std::uint64_t>(a.limits.max_order_notional));
      mix(static_cast<std::uint64_t>(a.limits.credit_limit));
      mix(static_cast<std::uint64_t>(a.limits.price_collar_bps));
      mix(a.limits.max_messages_per_second);
      mix(a.limits.message_burst);
    }
    for (const auto& session : added_sessions_) {
      mix(session.account.value());
      put_name(session.client_comp_id, mix);
    }
    return state.value();
  }

  // The sessions added at run time, in the order they were added (AddSession).
  const std::vector<AddSession>& added_sessions() const { return added_sessions_; }
  // Accounts or sessions a snapshot may hold beyond the configuration.
  static constexpr std::uint64_t kMaxAddedReferences = 1u << 16;

 private:
  const Account* account(AccountId id) const { return risk_.account(id); }

  bool valid_symbol(SymbolId s) const { return s.value() < symbol_count_; }

  // Price and quantity checks shared by new orders and replaces.
  static bool check_price_qty(const SymbolRules& rules, bool has_price, Price price, Qty qty,
                              RejectCode& code) {
    if (qty.value() <= 0) {
      code = RejectCode::kNonPositiveQuantity;
      return false;
    }
    if (qty.value() > kMaxQuantity) {
      code = RejectCode::kQuantityOutOfRange;
      return false;
    }
    if (!rules.lot.divides(qty.value())) {
      code = RejectCode::kQuantityOffLot;
      return false;
    }
    if (has_price) {
      if (price.value() <= 0) {
        code = RejectCode::kNonPositivePrice;
        return false;
      }
      if (price.value() > kMaxPrice) {
        code = RejectCode::kPriceOutOfRange;
        return false;
      }
      if (!rules.tick.divides(price.value())) {
        code = RejectCode::kPriceOffTick;
        return false;
      }
    }
    return true;
  }

  void on(const NewOrder& cmd, core::Nanos now, EventBuffer& out) {
    RejectCode code{};
    if (!valid_symbol(cmd.symbol)) return reject(cmd.id, RejectCode::kUnknownSymbol, out);
    Symbol& symbol = symbols_[cmd.symbol.value()];
    const std::int32_t account_slot = risk_.slot(cmd.account);
    if (account_slot < 0) return reject(cmd.id, RejectCode::kUnknownAccount, out);
    const Account* acct = &risk_.accounts()[static_cast<std::size_t>(account_slot)];
    if (cmd.id <= last_order_id_) return reject(cmd.id, RejectCode::kDuplicateOrderId, out);
    if (!check_price_qty(symbol.rules, cmd.type == OrderType::kLimit, cmd.price, cmd.qty, code)) {
      return reject(cmd.id, code, out);
    }
    if (!symbol.rules.trading_enabled) return reject(cmd.id, RejectCode::kTradingDisabled, out);
    if (venue_halted_) return reject(cmd.id, RejectCode::kVenueHalted, out);
    if (symbol.halted) return reject(cmd.id, RejectCode::kSymbolHalted, out);
    if (cmd.type == OrderType::kLimit && symbol.band.aggressive_outside(cmd.side, cmd.price)) {
      return reject(cmd.id, RejectCode::kPriceOutsideBand, out);
    }
    const Price reference = reference_price(symbol);
    if (!risk_.check_new(cmd, static_cast<std::uint32_t>(account_slot),
                         cmd.type == OrderType::kLimit ? cmd.price : reference, reference, now,
                         code)) {
      return reject(cmd.id, code, out);
    }
    risk_.remember_client_key(cmd.client_order_key);
    last_order_id_ = cmd.id;
    push_accepted(cmd, out);
    RestingOrder incoming = resting_from(cmd, static_cast<std::uint32_t>(account_slot));
    Book& b = symbol.book;
    const bool is_market = cmd.type == OrderType::kMarket;

    if (cmd.tif == TimeInForce::kFok && !fok_fillable(symbol, incoming, is_market, acct->stp)) {
      out.push_back(Canceled{cmd.id, cmd.account, cmd.qty, Qty{0}, CancelReason::kFokUnfillable});
      return;
    }
    const bool canceled = match(symbol, incoming, is_market, acct->stp, out);
    if (!canceled && incoming.leaves.value() > 0) {
      if (is_market) {
        out.push_back(Canceled{incoming.id, incoming.account, incoming.leaves, incoming.cum(),
                               CancelReason::kMarketRemainder});
      } else if (cmd.tif == TimeInForce::kIoc || cmd.tif == TimeInForce::kFok) {
        out.push_back(Canceled{incoming.id, incoming.account, incoming.leaves, incoming.cum(),
                               CancelReason::kIocRemainder});
      } else {
        b.insert(incoming);
        hold(incoming);
      }
    }
    publish_top(symbol, out);
  }

  void on(const CancelOrder& cmd, core::Nanos now, EventBuffer& out) {
    if (!valid_symbol(cmd.symbol)) return reject(cmd.id, RejectCode::kUnknownSymbol, out);
    Symbol& symbol = symbols_[cmd.symbol.value()];
    Book& b = symbol.book;
    const RestingOrder* o = b.find(cmd.id);
    if (o == nullptr) return reject(cmd.id, RejectCode::kUnknownOrder, out);
    if constexpr (requires { b.prefetch_neighbours(*o); }) b.prefetch_neighbours(*o);
    if (o->account != cmd.account) return reject(cmd.id, RejectCode::kNotOrderOwner, out);
    // Cancels stay allowed under a kill switch, but count against the message rate.
    if (!risk_.take_message(*o, now)) {
      return reject(cmd.id, RejectCode::kThrottled, out);
    }
    out.push_back(Canceled{o->id, o->account, o->leaves, o->cum(), CancelReason::kRequested});
    release(*o);
    b.erase(*o);
    publish_top(symbol, out);
  }

  void on(const ReplaceOrder& cmd, core::Nanos now, EventBuffer& out) {
    if (!valid_symbol(cmd.symbol)) return reject(cmd.id, RejectCode::kUnknownSymbol, out);
    Symbol& symbol = symbols_[cmd.symbol.value()];
    Book& b = symbol.book;
    RestingOrder* o = b.find(cmd.id);
    if (o == nullptr) return reject(cmd.id, RejectCode::kUnknownOrder, out);
    if (o->account != cmd.account) return reject(cmd.id, RejectCode::kNotOrderOwner, out);
    RejectCode code{};
    if (!check_price_qty(symbol.rules, true, cmd.price, cmd.qty, code)) {
      return reject(cmd.id, code, out);
    }
    if (cmd.qty <= o->cum()) return reject(cmd.id, RejectCode::kReplaceBelowFilled, out);
    const Qty new_leaves = cmd.qty - o->cum();
    if (venue_halted_) return reject(cmd.id, RejectCode::kVenueHalted, out);
    if (symbol.halted) return reject(cmd.id, RejectCode::kSymbolHalted, out);
    if (symbol.band.aggressive_outside(o->side, cmd.price)) {
      return reject(cmd.id, RejectCode::kPriceOutsideBand, out);
    }
    const Account& acct = risk_.accounts()[o->account_slot];
    if (!risk_.check_replace(*o, cmd.price, cmd.qty, new_leaves, reference_price(symbol), now,
                             code)) {
      return reject(cmd.id, code, out);
    }
    if (cmd.price == o->price && cmd.qty <= o->qty) {
      // Quantity down (or unchanged) at the same price keeps time priority.
      release(*o);
      b.reduce(cmd.id, cmd.qty, new_leaves);
      hold(*o);
      out.push_back(Replaced{cmd.id, cmd.price, cmd.qty, new_leaves, true});
      publish_top(symbol, out);
      return;
    }
    // Price change or quantity up: the order goes to the back of its (new) level, trading first
    // if the new price crosses.
    RestingOrder moved = *o;
    release(*o);
    b.erase(*o);
    moved.price = cmd.price;
    moved.qty = cmd.qty;
    moved.leaves = new_leaves;
    out.push_back(Replaced{cmd.id, cmd.price, cmd.qty, new_leaves, false});
    const bool canceled = match(symbol, moved, false, acct.stp, out);
    if (!canceled && moved.leaves.value() > 0) {
      b.insert(moved);
      hold(moved);
    }
    publish_top(symbol, out);
  }

  void on(const MassCancel& cmd, core::Nanos /*now*/, EventBuffer& out) {
    const bool by_symbol =
        cmd.scope == MassCancelScope::kSymbol || cmd.scope == MassCancelScope::kAccountSymbol;
    const bool by_account =
        cmd.scope == MassCancelScope::kAccount || cmd.scope == MassCancelScope::kAccountSymbol;
    if (by_symbol && !valid_symbol(cmd.symbol)) {
      return reject(OrderId{}, RejectCode::kUnknownSymbol, out);
    }
    if (by_account && account(cmd.account) == nullptr) {
      return reject(OrderId{}, RejectCode::kUnknownAccount, out);
    }
    for (std::uint32_t s = 0; s < symbols_.size(); ++s) {
      if (by_symbol && s != cmd.symbol.value()) continue;
      remove_where(
          SymbolId(s), out,
          [&](const RestingOrder& o) { return !by_account || o.account == cmd.account; },
          [](const RestingOrder& o) {
            return Event{Canceled{o.id, o.account, o.leaves, o.cum(), CancelReason::kMassCancel}};
          });
    }
  }

  void on(const EndOfDay&, core::Nanos /*now*/, EventBuffer& out) {
    risk_.new_day();  // a new trading day: ClOrdIDs may be reused
    for (std::uint32_t s = 0; s < symbols_.size(); ++s) {
      remove_where(
          SymbolId(s), out, [](const RestingOrder& o) { return o.tif == TimeInForce::kDay; },
          [](const RestingOrder& o) {
            return Event{Expired{o.id, o.account, o.leaves, o.cum()}};
          });
    }
  }

  template <typename Pred, typename MakeEvent>
  void remove_where(SymbolId symbol, EventBuffer& out, Pred pred, MakeEvent make) {
    Symbol& sym = symbols_[symbol.value()];
    Book& b = sym.book;
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
      release(o);
      b.erase(o.id);
    }
    publish_top(sym, out);
  }

  // Can incoming order `in` trade with a resting order at `resting`? A market order always can.
  static bool reaches(const RestingOrder& in, bool is_market, Price resting) {
    return is_market ||
           (in.side == Side::kBuy ? crosses(in.price, resting) : crosses(resting, in.price));
  }

  // Would a FOK order fill entirely? Checked before anything trades.
  bool fok_fillable(Symbol& symbol, const RestingOrder& in, bool is_market, StpMode stp) {
    Book& b = symbol.book;
    const PriceBand& band = symbol.band;
    std::int64_t available = 0;
    bool blocked = false;
    b.for_each_order(opposite(in.side), [&](const RestingOrder& r) {
      if (!reaches(in, is_market, r.price)) return false;
      if (!band.allows(r.price)) {
        blocked = true;  // matching would stop at the band and cancel the rest
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
  // Most orders do not reach the other side: that check is inline, the matching loop is not.
  [[gnu::always_inline]] bool match(Symbol& symbol, RestingOrder& in, bool is_market, StpMode stp,
                                    EventBuffer& out) {
    const Side other = opposite(in.side);
    Book& b = symbol.book;
    if (b.empty(other) || !reaches(in, is_market, b.best_price(other))) return false;
    return match_loop(symbol, in, is_market, stp, out);
  }
  [[gnu::noinline]] bool match_loop(Symbol& symbol, RestingOrder& in, bool is_market, StpMode stp,
                                    EventBuffer& out) {
    const Side other = opposite(in.side);
    Book& b = symbol.book;
    PriceBand& band = symbol.band;
    while (in.leaves.value() > 0 && !b.empty(other)) {
      RestingOrder& r = b.front(other);
      if constexpr (requires { b.prefetch_after_front(other); }) b.prefetch_after_front(other);
      if (!reaches(in, is_market, r.price)) break;
      if (!band.allows(r.price)) {
        // Limit up / limit down: no trade prints outside the band; the rest is canceled (it
        // could only trade there, and resting it would cross the book).
        out.push_back(Canceled{in.id, in.account, in.leaves, in.cum(), CancelReason::kPriceBand});
        in.leaves = Qty{0};
        return true;
      }
      if (r.account == in.account) {
        if (stp == StpMode::kCancelIncoming) {
          out.push_back(Canceled{in.id, in.account, in.leaves, in.cum(), CancelReason::kSelfTrade});
          in.leaves = Qty{0};
          return true;
        }
        out.push_back(Canceled{r.id, r.account, r.leaves, r.cum(), CancelReason::kSelfTrade});
        release(r);
        b.erase(r);
        continue;
      }
      const Qty qty = std::min(in.leaves, r.leaves);
      const Price price = r.price;
      risk_.filled(r, price, qty);  // the filled part's hold
      symbol.last_trade = price;
      if (band.enabled()) {
        if (band.next_rotation() == PriceBand::kNever) timers_moved();
        band.record_trade(price, now_);
      }
      const RestingOrder after = b.fill_front(other, qty, price);
      in.leaves -= qty;
      in.cum_notional += price.value() * qty.value();
      out.push_back(Trade{TradeId(++trade_seq_), symbol.id(), price, qty, in.side, in.id, after.id,
                          in.account, after.account, in.leaves, in.cum(), after.leaves, after.cum(),
                          in.cum_notional, after.cum_notional});
    }
    return false;
  }

  void on(const KillSwitch& cmd, core::Nanos /*now*/, EventBuffer& out) {
    if (!risk_.set_kill(cmd)) return reject(OrderId{}, RejectCode::kUnknownAccount, out);
    if (!cmd.engaged) return;
    for (std::uint32_t s = 0; s < symbols_.size(); ++s) {
      remove_where(
          SymbolId(s), out,
          [&](const RestingOrder& o) { return cmd.venue_wide || o.account == cmd.account; },
          [](const RestingOrder& o) {
            return Event{Canceled{o.id, o.account, o.leaves, o.cum(), CancelReason::kKillSwitch}};
          });
    }
  }

  void on(const TradingHalt& cmd, core::Nanos /*now*/, EventBuffer& out) {
    if (cmd.venue_wide) {
      if (venue_halted_ == cmd.halt) return;  // already in that state: nothing happens
      venue_halted_ = cmd.halt;
      if (cmd.halt) {
        out.push_back(Halted{SymbolId{}, true, HaltReason::kVenueManual});
      } else {
        out.push_back(Resumed{SymbolId{}, true, HaltReason::kVenueManual});
      }
      for (std::uint32_t i = 0; i < symbols_.size(); ++i) update_limit_state(SymbolId(i), out);
      return;
    }
    if (!valid_symbol(cmd.symbol)) return reject(OrderId{}, RejectCode::kUnknownSymbol, out);
    std::uint8_t& halted = symbols_[cmd.symbol.value()].halted;
    if (((halted & kManualHalt) != 0) == cmd.halt) return;
    halted = static_cast<std::uint8_t>(cmd.halt ? halted | kManualHalt : halted & ~kManualHalt);
    if (cmd.halt) {
      out.push_back(Halted{cmd.symbol, false, HaltReason::kManual});
    } else {
      out.push_back(Resumed{cmd.symbol, false, HaltReason::kManual});
    }
    update_limit_state(cmd.symbol, out);
  }

  void on(const JournalMarker&, core::Nanos /*now*/, EventBuffer& /*out*/) {}
  void on(const SetAccountLimits& cmd, core::Nanos /*now*/, EventBuffer& out) {
    RejectCode code{};
    if (!risk_.set_limits(cmd, code)) reject(OrderId{}, code, out);
  }
  void on(const AddAccount& cmd, core::Nanos /*now*/, EventBuffer& out) {
    if (!add_account(cmd)) reject(OrderId{}, RejectCode::kDuplicateReference, out);
  }
  void on(const AddSession& cmd, core::Nanos /*now*/, EventBuffer& out) {
    if (const RejectCode code = add_session(cmd); code != RejectCode{}) {
      reject(OrderId{}, code, out);
    }
  }
  bool add_account(const AddAccount& cmd) {
    if (!cmd.name.canonical() || cmd.id.value() == 0 ||
        risk_.accounts().size() - config_.accounts.size() >= kMaxAddedReferences) {
      return false;
    }
    Account account;
    account.id = cmd.id;
    account.name = std::string(cmd.name.view());
    account.stp = cmd.stp;
    return risk_.add_account(account);
  }
  RejectCode add_session(const AddSession& cmd) {
    if (risk_.account(cmd.account) == nullptr) return RejectCode::kUnknownAccount;
    if (!cmd.client_comp_id.canonical() || added_sessions_.size() >= kMaxAddedReferences) {
      return RejectCode::kDuplicateReference;
    }
    for (const auto& s : added_sessions_) {
      if (s.client_comp_id.view() == cmd.client_comp_id.view()) {
        return RejectCode::kDuplicateReference;
      }
    }
    added_sessions_.push_back(cmd);
    return RejectCode{};
  }
  // A name as whole 64-bit words, little-endian (snapshots and the digest).
  template <std::size_t N, typename Put>
  static void put_name(const FixedName<N>& name, Put&& put) {
    static_assert(N % 8 == 0);
    for (std::size_t w = 0; w < N / 8; ++w) {
      std::uint64_t word = 0;
      for (std::size_t b = 0; b < 8; ++b) {
        word |= static_cast<std::uint64_t>(static_cast<unsigned char>(name.text[w * 8 + b]))
                << (8 * b);
      }
      put(word);
    }
  }
  template <std::size_t N, typename Get>
  static bool get_name(FixedName<N>& name, Get&& get) {
    for (std::size_t w = 0; w < N / 8; ++w) {
      std::uint64_t word = 0;
      if (!get(word)) return false;
      for (std::size_t b = 0; b < 8; ++b) {
        name.text[w * 8 + b] = static_cast<char>((word >> (8 * b)) & 0xff);
      }
    }
    return name.canonical();
  }

  void on(const Tick&, core::Nanos /*now*/, EventBuffer& /*out*/) {
    // Nothing but time passing: apply() has already run the timers that were due.
  }

  // Limit state: the book is at its band (and the symbol trades). Entering starts the
  // limit-state timer; leaving stops it. Both are announced with the band.
  void update_limit_state(SymbolId s, EventBuffer& out) {
    PriceBand& band = symbols_[s.value()].band;
    if (!band.enabled()) return;
    const TopOfBook& t = symbols_[s.value()].top;
    const bool at = !venue_halted_ && symbols_[s.value()].halted == 0 &&
                    band.at_band(t.bid, t.bid_qty, t.ask, t.ask_qty);
    if (at == (band.limit_since != PriceBand::kNever)) return;
    band.limit_since = at ? now_ : PriceBand::kNever;
    timers_moved();
    out.push_back(PriceBandChanged{s, band.reference(), band.lower(), band.upper(), at});
  }

  // Band windows, limit-state expiry (-> halt) and pause expiry (-> resume), for every symbol
  // whose deadline has come. Runs before the command that brings the time.
  [[gnu::noinline]] void run_timers(EventBuffer& out) {
    for (std::uint32_t i = 0; i < symbols_.size(); ++i) {
      PriceBand& band = symbols_[i].band;
      if (!band.enabled() || band.next_deadline() > now_) continue;
      const SymbolId s(i);
      if (band.limit_since != PriceBand::kNever && now_ >= band.limit_deadline()) {
        band.pause_until = PriceBand::add_sat(band.limit_deadline(), band.rules().pause);
        band.limit_since = PriceBand::kNever;
        symbols_[i].halted = static_cast<std::uint8_t>(symbols_[i].halted | kBandHalt);
        out.push_back(Halted{s, false, HaltReason::kLimitUpLimitDown});
      }
      if (band.pause_until != PriceBand::kNever && now_ >= band.pause_until) {
        band.pause_until = PriceBand::kNever;
        symbols_[i].halted = static_cast<std::uint8_t>(symbols_[i].halted & ~kBandHalt);
        out.push_back(Resumed{s, false, HaltReason::kBandPauseEnded});
        update_limit_state(s, out);
      }
      if (band.advance(now_)) {
        out.push_back(PriceBandChanged{s, band.reference(), band.lower(), band.upper(),
                                       band.limit_since != PriceBand::kNever});
        update_limit_state(s, out);
      }
    }
    recompute_deadline();
  }

  [[gnu::noinline]] void apply_after_timers(const Command& command, EventBuffer& out) {
    if (timers_changed_) recompute_deadline();
    if (now_ >= next_deadline_) run_timers(out);
    dispatch(command, out);
  }
  // The three order commands (nearly every command) are dispatched directly, the rest through
  // std::visit (a jump to a thunk that calls the handler).
  [[gnu::always_inline]] void dispatch(const Command& command, EventBuffer& out) {
    if (const auto* o = std::get_if<NewOrder>(&command.body)) {
      on(*o, command.timestamp, out);
    } else if (const auto* c = std::get_if<CancelOrder>(&command.body)) {
      on(*c, command.timestamp, out);
    } else if (const auto* r = std::get_if<ReplaceOrder>(&command.body)) {
      on(*r, command.timestamp, out);
    } else {
      std::visit([&](const auto& body) { on(body, command.timestamp, out); }, command.body);
    }
  }
  void timers_moved() {
    timers_changed_ = true;
    next_deadline_ = std::numeric_limits<core::Nanos>::min();
  }
  [[gnu::noinline]] void recompute_deadline() {
    timers_changed_ = false;
    next_deadline_ = PriceBand::kNever;
    for (const auto& s : symbols_) {
      const PriceBand& band = s.band;
      if (band.enabled()) next_deadline_ = std::min(next_deadline_, band.next_deadline());
    }
  }

  [[gnu::always_inline]] void hold(const RestingOrder& o) { risk_.hold(o); }
  [[gnu::always_inline]] void release(const RestingOrder& o) { risk_.release(o); }

  // Collar reference: the last trade, or the instrument's reference price before any trade.
  static Price reference_price(const Symbol& s) {
    return s.last_trade.value() > 0 ? s.last_trade : s.rules.reference_price;
  }
  void reject(OrderId id, RejectCode code, EventBuffer& out) { out.push_back(Rejected{id, code}); }
  // An order's Accepted event. Its fields are the first ones of NewOrder, at the same offsets
  // (asserted), so it is copied into the buffer as one 40-byte block rather than field by field
  // (the compiler packs the three one-byte fields through registers otherwise, and builds the
  // event on the stack first).
  static void push_accepted(const NewOrder& cmd, EventBuffer& out) {
    static_assert(std::is_trivially_copyable_v<Accepted> && sizeof(Accepted) <= sizeof(NewOrder));
    static_assert(offsetof(Accepted, id) == offsetof(NewOrder, id) &&
                  offsetof(Accepted, account) == offsetof(NewOrder, account) &&
                  offsetof(Accepted, symbol) == offsetof(NewOrder, symbol) &&
                  offsetof(Accepted, side) == offsetof(NewOrder, side) &&
                  offsetof(Accepted, type) == offsetof(NewOrder, type) &&
                  offsetof(Accepted, tif) == offsetof(NewOrder, tif) &&
                  offsetof(Accepted, price) == offsetof(NewOrder, price) &&
                  offsetof(Accepted, qty) == offsetof(NewOrder, qty) &&
                  sizeof(Accepted) == offsetof(NewOrder, qty) + sizeof(Qty));
    out.push_back_bytes<Accepted>(&cmd);
  }
  // The order an accepted NewOrder rests as (before it trades): RestingOrder's first 40 bytes are
  // NewOrder's (asserted), copied as a block, then the fields that differ are set.
  static RestingOrder resting_from(const NewOrder& cmd, std::uint32_t account_slot) {
    static_assert(std::is_trivially_copyable_v<RestingOrder>);
    static_assert(offsetof(RestingOrder, id) == offsetof(NewOrder, id) &&
                  offsetof(RestingOrder, account) == offsetof(NewOrder, account) &&
                  offsetof(RestingOrder, account_slot) == offsetof(NewOrder, symbol) &&
                  offsetof(RestingOrder, side) == offsetof(NewOrder, side) &&
                  offsetof(RestingOrder, unused) == offsetof(NewOrder, type) &&
                  offsetof(RestingOrder, tif) == offsetof(NewOrder, tif) &&
                  offsetof(RestingOrder, price) == offsetof(NewOrder, price) &&
                  offsetof(RestingOrder, qty) == offsetof(NewOrder, qty) &&
                  offsetof(RestingOrder, leaves) == offsetof(NewOrder, qty) + sizeof(Qty));
    RestingOrder o;
    std::memcpy(static_cast<void*>(&o), &cmd, offsetof(RestingOrder, leaves));
    o.account_slot = account_slot;
    o.unused = 0;
    o.owner = cmd.owner;
    o.leaves = cmd.qty;
    o.cum_notional = 0;
    return o;
  }

  // Runs after every command: the check that the top may have moved is inline, the rest not.
  [[gnu::always_inline]] void publish_top(Symbol& symbol, EventBuffer& out) {
    const Book& b = symbol.book;
    if constexpr (requires { b.top_changes(); }) {
      // A book that says when its top may have moved: most commands leave it as it was.
      if (b.top_changes() == symbol.top_seen) return;
      symbol.top_seen = b.top_changes();
    }
    publish_changed_top(symbol, out);
  }
  [[gnu::noinline]] void publish_changed_top(Symbol& symbol, EventBuffer& out) {
    // Field by field (no temporary aggregate).
    const Book& b = symbol.book;
    const Level bid = b.best_level(Side::kBuy);
    const Level ask = b.best_level(Side::kSell);
    TopOfBook& top = symbol.top;
    if (bid.price != top.bid || bid.qty != top.bid_qty || ask.price != top.ask ||
        ask.qty != top.ask_qty) {
      top.bid = bid.price;
      top.bid_qty = bid.qty;
      top.ask = ask.price;
      top.ask_qty = ask.qty;
      out.emplace_back(std::in_place_type<TopOfBook>, top);
      if (symbol.band.enabled()) update_limit_state(symbol.id(), out);
    }
  }

  EngineConfig config_;
  std::vector<Symbol> symbols_;  // by SymbolId
  // symbols_.size(), kept: the vector's size is a division by sizeof(Symbol) on every order.
  std::uint32_t symbol_count_ = 0;
  std::vector<RestingOrder> scratch_;       // reused by mass cancel and expiry
  PreTradeRisk risk_;                       // accounts, limits, kill switches, today's ClOrdIDs
  std::vector<AddSession> added_sessions_;  // sessions added at run time, in order
  bool venue_halted_ = false;
  core::Nanos now_ = 0;  // the current command's time
  core::Nanos next_deadline_ = PriceBand::kNever;
  // A command moved a band's timer: the next deadline is worked out again before the next command
  // (next_deadline_ is set to the past meanwhile, so apply() checks one thing).
  bool timers_changed_ = false;
  OrderId last_order_id_{};
  std::uint64_t trade_seq_ = 0;
};

}  // namespace trading
