// Helpers for the engine tests: a two-instrument, three-account configuration and command makers.
#pragma once

#include <vector>

#include "trading/domain/matching_engine.hpp"
#include "trading/domain/naive_order_book.hpp"
#include "trading/domain/order_book.hpp"

namespace trading::testing {

inline constexpr SymbolId kAcme{0};
inline constexpr SymbolId kBeta{1};
inline constexpr AccountId kAlice{1};
inline constexpr AccountId kBob{2};
inline constexpr AccountId kCarol{3};  // STP: cancel incoming

inline EngineConfig test_config() {
  EngineConfig c;
  c.instruments = {Instrument{"ACME", Price{5}, Qty{10}, Price{1000}, true, {}},
                   Instrument{"BETA", Price{1}, Qty{1}, Price{50}, true, {}}};
  c.accounts = {Account{kAlice, "alice", StpMode::kCancelResting, {}},
                Account{kBob, "bob", StpMode::kCancelResting, {}},
                Account{kCarol, "carol", StpMode::kCancelIncoming, {}}};
  return c;
}

inline Command limit(std::uint64_t id, AccountId acct, Side side, std::int64_t price,
                     std::int64_t qty, TimeInForce tif = TimeInForce::kDay, SymbolId sym = kAcme) {
  return Command{
      static_cast<core::Nanos>(id),
      NewOrder{OrderId(id), acct, sym, side, OrderType::kLimit, tif, Price{price}, Qty{qty}, 0}};
}
inline Command market(std::uint64_t id, AccountId acct, Side side, std::int64_t qty,
                      SymbolId sym = kAcme) {
  return Command{static_cast<core::Nanos>(id),
                 NewOrder{OrderId(id), acct, sym, side, OrderType::kMarket, TimeInForce::kIoc,
                          Price{0}, Qty{qty}, 0}};
}
inline Command cancel(std::uint64_t id, AccountId acct, SymbolId sym = kAcme) {
  return Command{0, CancelOrder{OrderId(id), acct, sym}};
}
inline Command replace(std::uint64_t id, AccountId acct, std::int64_t price, std::int64_t qty,
                       SymbolId sym = kAcme) {
  return Command{0, ReplaceOrder{OrderId(id), acct, sym, Price{price}, Qty{qty}}};
}

template <typename T>
std::vector<T> only(const EventBuffer& events) {
  std::vector<T> out;
  for (const auto& e : events) {
    if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

}  // namespace trading::testing
