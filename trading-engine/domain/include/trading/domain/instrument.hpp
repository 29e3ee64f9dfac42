// Instrument and account reference data the engine is configured with. Plain values.
#pragma once

#include <string>

#include "trading/domain/types.hpp"

namespace trading {

struct Instrument {
  std::string symbol;
  Price tick_size{1};        // every price is a multiple of this
  Qty lot_size{1};           // every quantity is a multiple of this
  Price reference_price{0};  // for collars and bands (issue #3 risk/halts)
  bool trading_enabled = true;
};

struct Account {
  AccountId id;
  std::string name;
  StpMode stp = StpMode::kCancelResting;
};

}  // namespace trading
