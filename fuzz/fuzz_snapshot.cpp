// Fuzzes snapshot loading: arbitrary words (as if a snapshot passed its checksum but was written
// by something else) are loaded into an engine. Refusal with a reason is fine; a crash, or an
// engine that accepted the state and then misbehaves, is not.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "trading/domain/matching_engine.hpp"
#include "trading/domain/order_book.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trading;
  EngineConfig config;
  config.instruments = {Instrument{"A", Price{5}, Qty{10}, Price{1000}, true, {}}};
  config.instruments[0].bands.band_bps = 500;
  config.accounts = {Account{AccountId(1), "a", StpMode::kCancelResting, {}},
                     Account{AccountId(2), "b", StpMode::kCancelIncoming, {}}};
  MatchingEngine<OrderBook> engine(config);
  // Start from a real state so the fuzzer only has to mutate values: the input overwrites the
  // words of a saved state from the front.
  std::vector<std::uint64_t> words;
  engine.save_state([&](std::uint64_t v) { words.push_back(v); });
  const std::size_t n = size / 8;
  if (n > words.size()) words.resize(n);
  for (std::size_t i = 0; i < n; ++i) std::memcpy(&words[i], data + 8 * i, 8);
  if (size % 8 != 0) words.resize(n);  // odd sizes: the input also chooses the length
  std::size_t at = 0;
  const std::string problem = engine.load_state([&](std::uint64_t& v) {
    if (at >= words.size()) return false;
    v = words[at++];
    return true;
  });
  if (!problem.empty()) return 0;
  EventBuffer events;
  std::uint64_t id = engine.last_order_id().value() + 1;
  for (int i = 0; i < 8; ++i, ++id) {
    events.clear();
    engine.apply(Command{static_cast<core::Nanos>(i),
                         NewOrder{OrderId(id), AccountId(1 + (i & 1)), SymbolId(0),
                                  i % 2 == 0 ? Side::kBuy : Side::kSell, OrderType::kMarket,
                                  TimeInForce::kIoc, Price{0}, Qty{10}, 0, 0}},
                 events);
  }
  events.clear();
  engine.apply(Command{0, MassCancel{}}, events);
  (void)engine.digest();
  return 0;
}
