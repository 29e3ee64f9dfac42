// Instrument and account reference data the engine is configured with. Plain values.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "trading/domain/types.hpp"

namespace trading {

struct Instrument {
  std::string symbol;
  Price tick_size{1};        // every price is a multiple of this
  Qty lot_size{1};           // every quantity is a multiple of this
  Price reference_price{0};  // for collars and bands (issue #3 risk/halts)
  bool trading_enabled = true;
};

// Pre-trade limits of one account (SEC 15c3-5 / MiFID RTS 6 style). Defaults: no limit.
struct RiskLimits {
  static constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();
  Qty max_order_qty{kUnlimited};
  std::int64_t max_order_notional = kUnlimited;  // price units x shares
  std::int32_t price_collar_bps = 0;  // max distance from the last trade (or reference), 0 = off
  std::int64_t credit_limit = kUnlimited;     // open exposure: sum of leaves x price of open orders
  std::uint32_t max_messages_per_second = 0;  // token bucket rate, 0 = off
  std::uint32_t message_burst = 0;            // token bucket size
  std::vector<SymbolId> restricted_symbols;
};

struct Account {
  AccountId id;
  std::string name;
  StpMode stp = StpMode::kCancelResting;
  RiskLimits limits;
};

}  // namespace trading
