// RestingOrder: what a book keeps per order. Both book implementations store exactly this, so
// the engine's matching logic is shared and the naive book can serve as the fast one's oracle.
#pragma once

#include <cstdint>

#include "trading/domain/types.hpp"

namespace trading {

// The first 40 bytes are laid out like NewOrder's (id, account, then a 4-byte field where NewOrder
// has the symbol, side at 16, tif at 18, price at 24, qty at 32; asserted where the engine relies
// on it), so that an accepted order is built with one block copy and four stores
// (MatchingEngine::resting_from).
struct RestingOrder {
  OrderId id;
  AccountId account;
  // The account's place in the engine's risk table (PreTradeRisk::slot), set when the order is
  // accepted, so holding, releasing and filling its exposure need no account lookup. Stable:
  // accounts are only ever appended. Not part of the order as the venue reports it.
  std::uint32_t account_slot = 0;
  Side side = Side::kBuy;
  std::uint8_t unused = 0;  // (NewOrder's order type: a resting order is a limit order)
  TimeInForce tif = TimeInForce::kDay;
  SessionId owner = 0;
  Price price{0};
  Qty qty{0};     // total ordered (changes on replace)
  Qty leaves{0};  // still open
  std::int64_t cum_notional = 0;

  // Filled so far: what is ordered and no longer open (not stored: a replace sets qty and
  // leaves together, a fill lowers leaves).
  Qty cum() const { return qty - leaves; }
};

// One price level of depth.
struct Level {
  Price price{0};
  Qty qty{0};
  std::uint32_t orders = 0;
  friend bool operator==(const Level&, const Level&) = default;
};

}  // namespace trading
