// VenueConfig: instruments, accounts and FIX sessions of the venue, from a TOML file
// (--venue.file) or the embedded demo list. Plain values.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "trading/domain/matching_engine.hpp"
#include "trading/fix/acceptor.hpp"
#include "trading/gateway/gateway.hpp"

namespace trading::app {

struct VenueConfig {
  EngineConfig engine;
  gateway::GatewayConfig gateway;
  std::vector<fix::SessionConfig> sessions;
  // Per account of engine.accounts: the largest position (shares, either side, per symbol) risk
  // watches it against (a monitored limit: the figures and alerts show it; 0: none).
  std::vector<std::int64_t> position_limits;
};

// The demo venue: ACME, BETA, GAMMA; accounts ALICE and BOB; sessions CLIENT1 -> ALICE and
// CLIENT2 -> BOB, both to VENUE.
VenueConfig demo_venue();

// Reads a venue file:
//   [[instrument]] symbol, decimals, tick, lot, reference, band_bps, description, trading
//   [[account]]    name, id, stp ("cancel_resting"|"cancel_incoming"), max_order_qty,
//                  max_order_notional, price_collar_bps, credit_limit, messages_per_second,
//                  message_burst, position_limit
//   [[session]]    venue_comp_id, client_comp_id, account
// Prices (tick, reference) are decimal strings in the instrument's currency.
core::Result<VenueConfig> load_venue(const std::string& path);

}  // namespace trading::app
