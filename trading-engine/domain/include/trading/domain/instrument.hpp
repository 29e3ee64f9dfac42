// Instrument and account reference data the engine is configured with. Plain values.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "trading/domain/types.hpp"

namespace trading {

// Limit-up/limit-down rules of one instrument: trades may only print inside a band of
// +/- band_bps around a moving reference price (the mean trade price over the last
// reference_window, moved only when it shifts by reference_move_bps or more). A symbol whose
// best bid sits at the upper band (or best offer at the lower band) for limit_state is halted
// for pause, then resumes on its own.
struct PriceBandRules {
  std::int32_t band_bps = 0;  // half-width of the band; 0 = no bands
  core::Nanos limit_state = 15 * core::kNanosPerSecond;
  core::Nanos pause = 300 * core::kNanosPerSecond;
  core::Nanos reference_window = 300 * core::kNanosPerSecond;
  std::int32_t reference_move_bps = 100;
};

struct Instrument {
  std::string symbol;
  Price tick_size{1};        // every price is a multiple of this
  Qty lot_size{1};           // every quantity is a multiple of this
  Price reference_price{0};  // for collars and bands until the first trades
  bool trading_enabled = true;
  PriceBandRules bands;
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
