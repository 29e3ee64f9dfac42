// Vocabulary of the venue's domain: strong ids, integer prices and quantities, sides, order types.
// Prices are integers in price units (the instrument's tick size is a multiple of one unit);
// quantities are integers in shares (the lot size is a multiple of one). Never a double.
// Plain values; thread-safe to copy.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/fixed_point.hpp"
#include "core/strong_id.hpp"

namespace trading {

using OrderId = core::StrongId<struct OrderTag, std::uint64_t>;
using TradeId = core::StrongId<struct TradeTag, std::uint64_t>;
using AccountId = core::StrongId<struct AccountTag, std::uint32_t>;
using SymbolId = core::StrongId<struct SymbolTag, std::uint32_t>;  // index into the instrument list
using SessionId = std::uint32_t;                                   // who sent it (FIX session)

using Price = core::Quantity<struct PriceTag>;
using Qty = core::Quantity<struct QtyTag>;

// Structural limits of every order, whatever the risk configuration: price x quantity and the
// sums the engine keeps (level totals, cumulative notional) always fit in 64 bits.
inline constexpr std::int64_t kMaxPrice = (std::int64_t{1} << 40) - 1;     // price units
inline constexpr std::int64_t kMaxQuantity = (std::int64_t{1} << 23) - 1;  // 8 388 607 shares

enum class Side : std::uint8_t { kBuy, kSell };
enum class OrderType : std::uint8_t { kLimit, kMarket };
enum class TimeInForce : std::uint8_t { kDay, kGtc, kIoc, kFok };

// Self-trade prevention: what happens when an order would trade with its own account.
enum class StpMode : std::uint8_t { kCancelResting, kCancelIncoming };

constexpr Side opposite(Side s) { return s == Side::kBuy ? Side::kSell : Side::kBuy; }

// True when a buy at `buy` and a sell at `sell` can trade.
constexpr bool crosses(Price buy, Price sell) { return buy >= sell; }

std::string_view to_string(Side s);
std::string_view to_string(TimeInForce t);

}  // namespace trading
