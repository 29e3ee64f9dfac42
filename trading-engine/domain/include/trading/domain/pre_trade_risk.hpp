// PreTradeRisk: the venue's per-account pre-trade controls (SEC 15c3-5 / MiFID RTS 6 style):
// the accounts and their limits (order size and notional, price collar, credit on open exposure,
// message throttle, restricted symbols), the account and venue kill switches, and today's ClOrdID
// numbers (a repeat is refused). The matching engine asks it before a new order or a replace
// reaches the book (one set of limit checks serves both) and tells it what rests, fills and
// leaves (the exposure it holds). Limits change at run time only through the journaled
// SetAccountLimits command, so replay reproduces every change. Deterministic (time comes in
// with the commands); not thread-safe: the engine thread owns it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "trading/domain/commands.hpp"
#include "trading/domain/events.hpp"
#include "trading/domain/instrument.hpp"
#include "trading/domain/order_index.hpp"
#include "trading/domain/resting_order.hpp"
#include "trading/domain/token_bucket.hpp"

namespace trading {

class PreTradeRisk {
 public:
  // expected_orders: the ClOrdID numbers of a day the table is sized for at start.
  explicit PreTradeRisk(std::vector<Account> accounts, std::size_t expected_orders = 0)
      : accounts_(std::move(accounts)) {
    client_keys_.reserve(expected_orders);
    std::sort(accounts_.begin(), accounts_.end(),
              [](const Account& a, const Account& b) { return a.id < b.id; });
    for (const auto& a : accounts_) {
      AccountState st;
      st.bucket = TokenBucket(a.limits.max_messages_per_second, a.limits.message_burst);
      state_.push_back(st);
    }
    rebuild_slots();
  }

  // Account by id: a direct table when ids are small (the usual case; looked up on every fill),
  // a binary search over the sorted accounts otherwise. nullptr when not configured.
  const Account* account(AccountId id) const {
    const std::int32_t slot = slot_of(id);
    return slot < 0 ? nullptr : &accounts_[static_cast<std::size_t>(slot)];
  }
  // The place of account `id` in accounts() (stable: accounts are only appended), or -1 when it
  // is not configured. A resting order keeps its account's (RestingOrder::account_slot).
  std::int32_t slot(AccountId id) const { return slot_of(id); }
  // The accounts sorted by id, with the limits in force now.
  const std::vector<Account>& accounts() const { return accounts_; }

  // A new order that passed the book's own checks (symbol, price, quantity, halts, bands):
  // kill switches, message rate, restricted symbol, repeated ClOrdID, then the limits. The
  // notional and the credit use `hold_price` (the limit price, or the reference for a market
  // order); the collar applies to limit orders around `collar_reference`. First failure wins.
  // `slot` is the order's account's (slot()): the account and its state are found by index, not
  // by address (which would cost a division by sizeof(Account)).
  [[gnu::always_inline]] bool check_new(const NewOrder& cmd, std::uint32_t slot, Price hold_price,
                                        Price collar_reference, core::Nanos now, RejectCode& code) {
    const Account& acct = accounts_[slot];
    AccountState& st = state_[slot];
    const RiskLimits& l = acct.limits;
    if (!check_switches_and_rate(st, now, code)) return false;
    if (!l.restricted_symbols.empty() &&
        std::find(l.restricted_symbols.begin(), l.restricted_symbols.end(), cmd.symbol) !=
            l.restricted_symbols.end()) {
      return fail(code, RejectCode::kRestrictedSymbol);
    }
    if (cmd.client_order_key != 0 &&
        client_keys_.find(OrderId(cmd.client_order_key)) != OrderIndex::kMissing) {
      return fail(code, RejectCode::kDuplicateClientOrderId);
    }
    const std::int64_t order_notional = notional(hold_price, cmd.qty);
    return check_limits(acct, cmd.qty, order_notional, cmd.type == OrderType::kLimit, cmd.price,
                        collar_reference, saturating_add(st.exposure, order_notional), code);
  }

  // A replace of resting order `o` to (price, qty), new_leaves of it open: kill switches,
  // message rate, then the same limits as a new order, the credit on the exposure it would leave.
  bool check_replace(const RestingOrder& o, Price price, Qty qty, Qty new_leaves,
                     Price collar_reference, core::Nanos now, RejectCode& code) {
    const Account& acct = accounts_[o.account_slot];
    AccountState& st = state_[o.account_slot];
    if (!check_switches_and_rate(st, now, code)) return false;
    const std::int64_t exposure_after =
        saturating_add(st.exposure - notional(o.price, o.leaves), notional(price, new_leaves));
    return check_limits(acct, qty, notional(price, qty), true, price, collar_reference,
                        exposure_after, code);
  }

  // A cancel counts against the message rate (cancels stay allowed under a kill switch).
  bool take_message(const RestingOrder& o, core::Nanos now) {
    return state_[o.account_slot].bucket.take(now);
  }

  // Today's ClOrdID numbers: an accepted order's is remembered; a new day forgets them all.
  void remember_client_key(std::uint64_t key) {
    if (key != 0) client_keys_.insert(OrderId(key), 0);
  }
  void new_day() { client_keys_.clear(); }

  // Exposure held by resting orders (leaves x price), released as they fill or leave.
  [[gnu::always_inline]] void hold(const RestingOrder& o) {
    add_exposure(o.account_slot, notional(o.price, o.leaves));
  }
  [[gnu::always_inline]] void release(const RestingOrder& o) {
    add_exposure(o.account_slot, -notional(o.price, o.leaves));
  }
  // `qty` of resting order `o` traded at `price`.
  void filled(const RestingOrder& o, Price price, Qty qty) {
    add_exposure(o.account_slot, -notional(price, qty));
  }
  std::int64_t exposure(AccountId id) const {
    const Account* a = account(id);
    return a == nullptr ? 0 : state_[index_of(*a)].exposure;
  }

  // Kill switches. set_kill returns false for an unknown account.
  bool set_kill(const KillSwitch& cmd) {
    if (cmd.venue_wide) {
      venue_killed_ = cmd.engaged;
      return true;
    }
    const Account* a = account(cmd.account);
    if (a == nullptr) return false;
    state_of(*a).killed = cmd.engaged;
    return true;
  }
  bool venue_killed() const { return venue_killed_; }
  bool account_killed(AccountId id) const {
    const Account* a = account(id);
    return a != nullptr && state_[index_of(*a)].killed;
  }

  // An account added at run time (AddAccount): false when its id is not above every account's
  // or its name is taken. It starts with `account.limits` and no exposure.
  bool add_account(const Account& account) {
    if (!accounts_.empty() && !(accounts_.back().id < account.id)) return false;
    for (const auto& a : accounts_) {
      if (a.name == account.name) return false;
    }
    accounts_.push_back(account);
    AccountState st;
    st.bucket = TokenBucket(account.limits.max_messages_per_second, account.limits.message_burst);
    state_.push_back(st);
    rebuild_slots();
    return true;
  }

  // A run-time limit change (SetAccountLimits): kUnknownAccount, kInvalidLimits (a negative
  // or zero size/notional/credit, a collar outside 0..10 000 bps, a rate without a burst), or
  // true. A changed throttle starts with a full bucket.
  bool set_limits(const SetAccountLimits& cmd, RejectCode& code) {
    const Account* found = account(cmd.account);
    if (found == nullptr) return fail(code, RejectCode::kUnknownAccount);
    if (!valid(cmd)) return fail(code, RejectCode::kInvalidLimits);
    Account& a = accounts_[index_of(*found)];
    RiskLimits& l = a.limits;
    if (cmd.fields & SetAccountLimits::kMaxOrderQty) l.max_order_qty = cmd.max_order_qty;
    if (cmd.fields & SetAccountLimits::kMaxOrderNotional) {
      l.max_order_notional = cmd.max_order_notional;
    }
    if (cmd.fields & SetAccountLimits::kCreditLimit) l.credit_limit = cmd.credit_limit;
    if (cmd.fields & SetAccountLimits::kPriceCollar) l.price_collar_bps = cmd.price_collar_bps;
    if (cmd.fields & SetAccountLimits::kThrottle) {
      l.max_messages_per_second = cmd.max_messages_per_second;
      l.message_burst = cmd.message_burst;
      state_of(a).bucket = TokenBucket(l.max_messages_per_second, l.message_burst);
    }
    return true;
  }
  static bool valid(const SetAccountLimits& c) {
    if (c.fields == 0 || c.fields > SetAccountLimits::kAllFields) return false;
    if ((c.fields & SetAccountLimits::kMaxOrderQty) && c.max_order_qty.value() <= 0) return false;
    if ((c.fields & SetAccountLimits::kMaxOrderNotional) && c.max_order_notional <= 0) {
      return false;
    }
    if ((c.fields & SetAccountLimits::kCreditLimit) && c.credit_limit <= 0) return false;
    if ((c.fields & SetAccountLimits::kPriceCollar) &&
        (c.price_collar_bps < 0 || c.price_collar_bps > 10'000)) {
      return false;
    }
    if ((c.fields & SetAccountLimits::kThrottle) &&
        (c.max_messages_per_second > 0) != (c.message_burst > 0)) {
      return false;
    }
    return true;
  }

  // Snapshot and digest support: every changing piece in a fixed order. `put`/`get` take
  // std::uint64_t. State version 2 added the limits; version 1 snapshots keep the configured ones.
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
    for (std::size_t i = 0; i < state_.size(); ++i) {
      AccountState& st = state_[i];
      put(static_cast<std::uint64_t>(st.exposure));
      put(st.killed ? 1 : 0);
      st.bucket.visit_state(put_any);
      visit_limits(accounts_[i].limits, put_any);
    }
    put(client_keys_.size());
    client_keys_.for_each([&](OrderId key, std::uint32_t) { put(key.value()); });
  }

  template <typename Get>
  std::string load_state(Get&& get, std::uint64_t state_version) {
    std::uint64_t v = 0;
    bool ok = true;
    const auto get_into = [&](auto& field) {
      if (!ok || !get(v)) {
        ok = false;
        return;
      }
      using F = std::decay_t<decltype(field)>;
      if constexpr (std::is_same_v<F, bool>) {
        field = v != 0;
      } else if constexpr (std::is_integral_v<F>) {
        field = static_cast<F>(v);
      } else {
        field = F{static_cast<std::int64_t>(v)};
      }
    };
    for (std::size_t i = 0; i < state_.size(); ++i) {
      AccountState& st = state_[i];
      get_into(st.exposure);
      get_into(st.killed);
      std::int64_t tokens = 0;
      core::Nanos last = 0;
      get_into(tokens);
      get_into(last);
      RiskLimits& l = accounts_[i].limits;
      if (state_version >= 2) visit_limits(l, get_into);
      if (!ok) return "snapshot truncated";
      if (l.max_order_qty.value() <= 0 || l.price_collar_bps < 0) {
        return "snapshot limits invalid";
      }
      // The bucket of the limits in force, with the tokens it had.
      st.bucket = TokenBucket(l.max_messages_per_second, l.message_burst);
      int field = 0;
      st.bucket.visit_state([&](auto& f) { f = field++ == 0 ? tokens : last; });
    }
    if (!get(v)) return "snapshot truncated";
    const std::uint64_t keys = v;
    for (std::uint64_t k = 0; k < keys; ++k) {
      if (!get(v) || v == 0) return "snapshot client order keys invalid";
      client_keys_.insert(OrderId(v), 0);
    }
    return {};
  }

  // Mixes the risk state into the engine's digest: each account's exposure and kill switch,
  // `venue_flags` (the engine's), today's ClOrdID count, then the limits of each account whose
  // limits differ from `configured` (sorted by id, as built): a venue whose limits never changed
  // at run time has the digest earlier builds computed.
  template <typename Mix>
  void mix_digest(Mix&& mix, const std::vector<Account>& configured,
                  std::uint64_t venue_flags) const {
    for (const auto& st : state_) {
      mix(static_cast<std::uint64_t>(st.exposure));
      mix(st.killed ? 1 : 0);
    }
    mix(venue_flags);
    mix(client_keys_.size());
    for (std::size_t i = 0; i < accounts_.size() && i < configured.size(); ++i) {
      const RiskLimits& l = accounts_[i].limits;
      const RiskLimits& c = configured[i].limits;
      if (l.max_order_qty == c.max_order_qty && l.max_order_notional == c.max_order_notional &&
          l.credit_limit == c.credit_limit && l.price_collar_bps == c.price_collar_bps &&
          l.max_messages_per_second == c.max_messages_per_second &&
          l.message_burst == c.message_burst) {
        continue;
      }
      mix(accounts_[i].id.value());
      mix(static_cast<std::uint64_t>(l.max_order_qty.value()));
      mix(static_cast<std::uint64_t>(l.max_order_notional));
      mix(static_cast<std::uint64_t>(l.credit_limit));
      mix(static_cast<std::uint64_t>(l.price_collar_bps));
      mix(l.max_messages_per_second);
      mix(l.message_burst);
    }
  }
  void set_venue_killed(bool killed) { venue_killed_ = killed; }  // snapshot load

 private:
  struct AccountState {
    std::int64_t exposure = 0;  // sum of leaves x price of the account's resting orders
    TokenBucket bucket;
    bool killed = false;
  };

  static bool fail(RejectCode& code, RejectCode c) {
    code = c;
    return false;
  }
  std::size_t index_of(const Account& a) const {
    return static_cast<std::size_t>(&a - accounts_.data());
  }
  AccountState& state_of(const Account& a) { return state_[index_of(a)]; }
  void rebuild_slots() {
    constexpr std::uint32_t kDirectTableLimit = 1u << 20;
    slots_.clear();
    if (!accounts_.empty() && accounts_.back().id.value() < kDirectTableLimit) {
      slots_.assign(accounts_.back().id.value() + 1u, -1);
      for (std::size_t i = 0; i < accounts_.size(); ++i) {
        slots_[accounts_[i].id.value()] = static_cast<std::int32_t>(i);
      }
    }
    slot_count_ = static_cast<std::uint32_t>(slots_.size());
  }
  // The index of account `id` in accounts_ and state_, or -1. The direct table answers in a
  // load (this runs for every order accepted or canceled); the search only for large ids.
  std::int32_t slot_of(AccountId id) const {
    if (id.value() < slot_count_) [[likely]]
      return slots_[id.value()];
    return slots_.empty() ? searched_slot_of(id) : -1;
  }
  [[gnu::noinline]] std::int32_t searched_slot_of(AccountId id) const {
    auto it = std::lower_bound(accounts_.begin(), accounts_.end(), id,
                               [](const Account& a, AccountId v) { return a.id < v; });
    return it != accounts_.end() && it->id == id ? static_cast<std::int32_t>(it - accounts_.begin())
                                                 : -1;
  }
  // `slot` is a resting order's account_slot (its order rests only after check_new found it).
  void add_exposure(std::uint32_t slot, std::int64_t delta) {
    auto& e = state_[slot].exposure;
    e = saturating_add(e, delta);
  }

  template <typename Visit>
  static void visit_limits(RiskLimits& l, Visit&& v) {
    v(l.max_order_qty);
    v(l.max_order_notional);
    v(l.credit_limit);
    v(l.price_collar_bps);
    v(l.max_messages_per_second);
    v(l.message_burst);
  }

  bool check_switches_and_rate(AccountState& st, core::Nanos now, RejectCode& code) {
    if (venue_killed_) return fail(code, RejectCode::kVenueKilled);
    if (st.killed) return fail(code, RejectCode::kAccountKilled);
    if (!st.bucket.take(now)) return fail(code, RejectCode::kThrottled);
    return true;
  }

  // The limits an order must meet, new or replaced, in a fixed order.
  bool check_limits(const Account& a, Qty qty, std::int64_t order_notional, bool has_price,
                    Price price, Price collar_reference, std::int64_t exposure_after,
                    RejectCode& code) const {
    const RiskLimits& l = a.limits;
    if (qty > l.max_order_qty) return fail(code, RejectCode::kMaxOrderQty);
    if (order_notional > l.max_order_notional) return fail(code, RejectCode::kMaxOrderNotional);
    if (has_price && !inside_collar(l, collar_reference, price)) {
      return fail(code, RejectCode::kPriceCollar);
    }
    if (exposure_after > l.credit_limit) return fail(code, RejectCode::kCreditLimit);
    return true;
  }

  static bool inside_collar(const RiskLimits& l, Price ref, Price price) {
    if (l.price_collar_bps <= 0 || ref.value() <= 0) return true;
    const std::int64_t distance =
        price.value() > ref.value() ? price.value() - ref.value() : ref.value() - price.value();
    // distance / ref <= bps / 10000, without division or overflow for sane prices
    std::int64_t lhs = 0, rhs = 0;
    if (__builtin_mul_overflow(distance, std::int64_t{10'000}, &lhs)) return false;
    if (__builtin_mul_overflow(ref.value(), static_cast<std::int64_t>(l.price_collar_bps), &rhs)) {
      return true;
    }
    return lhs <= rhs;
  }

 public:
  // Saturating price x quantity and sums: a limit check never sees a wrapped value.
  static std::int64_t notional(Price p, Qty q) {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(p.value(), q.value(), &r)) [[unlikely]] {
      return RiskLimits::kUnlimited;
    }
    return r;
  }
  static std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) {
      return b > 0 ? RiskLimits::kUnlimited : std::numeric_limits<std::int64_t>::min();
    }
    return r;
  }

 private:
  std::vector<Account> accounts_;    // sorted by id; the limits in force
  std::vector<AccountState> state_;  // parallel to accounts_
  std::vector<std::int32_t> slots_;  // account id -> index in accounts_, or -1
  std::uint32_t slot_count_ = 0;     // slots_.size()
  OrderIndex client_keys_;           // ClOrdID numbers accepted today
  bool venue_killed_ = false;
};

}  // namespace trading
