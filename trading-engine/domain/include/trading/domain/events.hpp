// Events: everything the engine says, appended to a caller-owned buffer (no callbacks while
// matching). Reject codes are stable numbers, documented one by one. Trivially copyable.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "trading/domain/types.hpp"

namespace trading {

enum class RejectCode : std::uint16_t {
  kUnknownSymbol = 1,            // symbol id not configured
  kUnknownAccount = 2,           // account not configured
  kNonPositiveQuantity = 3,      // quantity <= 0
  kNonPositivePrice = 4,         // limit price <= 0
  kPriceOffTick = 5,             // price not a multiple of the tick size
  kQuantityOffLot = 6,           // quantity not a multiple of the lot size
  kDuplicateOrderId = 7,         // order id not above every id seen
  kUnknownOrder = 8,             // cancel/replace of an order that is not resting
  kNotOrderOwner = 9,            // cancel/replace by another account
  kReplaceBelowFilled = 10,      // replace to a quantity <= what is already filled
  kTradingDisabled = 11,         // instrument configured with trading off
  kMaxOrderQty = 12,             // risk: quantity above the account's maximum
  kMaxOrderNotional = 13,        // risk: price x quantity above the account's maximum
  kPriceCollar = 14,             // risk: price too far from the last trade (or reference)
  kCreditLimit = 15,             // risk: open exposure would exceed the account's credit
  kThrottled = 16,               // risk: message rate above the account's limit
  kDuplicateClientOrderId = 17,  // risk: ClOrdID already used by this account today
  kRestrictedSymbol = 18,        // risk: the account may not trade this symbol
  kAccountKilled = 19,           // risk: the account's kill switch is engaged
  kVenueKilled = 20,             // risk: the venue-wide kill switch is engaged
  kSymbolHalted = 21,        // the symbol is halted: new orders and replaces wait for the resume
  kVenueHalted = 22,         // the whole venue is halted
  kPriceOutsideBand = 23,    // a buy above the upper band or a sell below the lower band (LULD)
  kPriceOutOfRange = 24,     // price above kMaxPrice
  kQuantityOutOfRange = 25,  // quantity above kMaxQuantity
  kInvalidLimits = 26,       // a limit change with a value that cannot be a limit
  kDuplicateReference = 27,  // an added account or session whose id or name already exists
};

std::string_view reject_text(RejectCode code);

enum class CancelReason : std::uint8_t {
  kRequested = 1,        // CancelOrder
  kMassCancel = 2,       // MassCancel
  kIocRemainder = 3,     // IOC remainder after matching
  kMarketRemainder = 4,  // market orders never rest
  kFokUnfillable = 5,    // FOK could not fill entirely: nothing traded
  kSelfTrade = 6,        // self-trade prevention
  kKillSwitch = 7,       // an engaged kill switch
  kPriceBand = 8,        // the rest could only trade outside the price band (LULD)
};

std::string_view to_string(CancelReason reason);

struct Accepted {
  OrderId id;
  AccountId account;
  SymbolId symbol;
  Side side;
  OrderType type;
  TimeInForce tif;
  Price price;
  Qty qty;
  friend bool operator==(const Accepted&, const Accepted&) = default;
};

struct Rejected {
  OrderId id;  // the command's order id (0 for mass cancel)
  RejectCode code;
  friend bool operator==(const Rejected&, const Rejected&) = default;
};

// One fill, reported for both sides. Average price = cum_notional / cum_qty.
// 16-byte aligned: the largest event, so an Event is 128 bytes (not 120) and an EventBuffer's
// n-th slot is a shift away, not a multiply (the engine pushes one to three events per command).
struct alignas(16) Trade {
  TradeId id;
  SymbolId symbol;
  Price price;  // the resting order's price
  Qty qty;
  Side aggressor_side;
  OrderId aggressor;
  OrderId resting;
  AccountId aggressor_account;
  AccountId resting_account;
  Qty aggressor_leaves, aggressor_cum;
  Qty resting_leaves, resting_cum;
  std::int64_t aggressor_cum_notional;  // sum of price*qty, price units x shares
  std::int64_t resting_cum_notional;
  friend bool operator==(const Trade&, const Trade&) = default;
};

struct Canceled {
  OrderId id;
  AccountId account;
  Qty canceled_qty;  // leaves at the moment of the cancel
  Qty cum_qty;
  CancelReason reason;
  friend bool operator==(const Canceled&, const Canceled&) = default;
};

struct Replaced {
  OrderId id;
  Price price;
  Qty qty;     // new total
  Qty leaves;  // new leaves
  bool kept_priority;
  friend bool operator==(const Replaced&, const Replaced&) = default;
};

struct Expired {
  OrderId id;
  AccountId account;
  Qty expired_qty;
  Qty cum_qty;
  friend bool operator==(const Expired&, const Expired&) = default;
};

struct TopOfBook {
  SymbolId symbol;
  Price bid{0};
  Qty bid_qty{0};  // 0: no bid
  Price ask{0};
  Qty ask_qty{0};  // 0: no ask
  friend bool operator==(const TopOfBook&, const TopOfBook&) = default;
};

enum class HaltReason : std::uint8_t {
  kManual = 1,            // an operator halted or resumed the symbol
  kVenueManual = 2,       // an operator halted or resumed the venue
  kLimitUpLimitDown = 3,  // the book stayed at its price band for the limit-state time
  kBandPauseEnded = 4,    // the limit-up/limit-down pause is over
};

// A symbol (or, with venue_wide, every symbol) stopped or resumed trading.
struct Halted {
  SymbolId symbol;
  bool venue_wide;
  HaltReason reason;
  friend bool operator==(const Halted&, const Halted&) = default;
};

struct Resumed {
  SymbolId symbol;
  bool venue_wide;
  HaltReason reason;
  friend bool operator==(const Resumed&, const Resumed&) = default;
};

// The price band moved (new reference) or the symbol entered or left the limit state.
struct PriceBandChanged {
  SymbolId symbol;
  Price reference;
  Price lower;
  Price upper;
  bool limit_state;  // the book is at the band; a halt follows if it stays there
  friend bool operator==(const PriceBandChanged&, const PriceBandChanged&) = default;
};

using Event = std::variant<Accepted, Rejected, Trade, Canceled, Replaced, Expired, TopOfBook,
                           Halted, Resumed, PriceBandChanged>;

}  // namespace trading
