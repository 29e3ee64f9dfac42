// Fuzzes the FIX -> domain translation: arbitrary field values (as QuickFIX would hand them over
// after validating only tags and types) go through Gateway::translate, the engine and the
// reports. Nothing may crash; every request gets an answer or a command.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "trading/domain/matching_engine.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/gateway/gateway.hpp"

namespace {

using namespace trading;

struct Books : gateway::DepthSource {
  MatchingEngine<OrderBook>* engine = nullptr;
  void depth(SymbolId s, Side side, std::size_t n, std::vector<Level>& out) const override {
    engine->book(s).depth(side, n, out);
  }
};

EngineConfig engine_config() {
  EngineConfig c;
  c.instruments = {Instrument{"ACME", Price{5}, Qty{10}, Price{1000}, true, {}},
                   Instrument{"BETA", Price{1}, Qty{1}, Price{50}, true, {}}};
  c.instruments[0].bands.band_bps = 500;
  c.accounts = {Account{AccountId(1), "ALICE", StpMode::kCancelResting, {}},
                Account{AccountId(2), "BOB", StpMode::kCancelIncoming, {}}};
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gateway::GatewayConfig gc;
  gc.instruments = engine_config().instruments;
  gc.symbols = {gateway::VenueSymbol{2, "A"}, gateway::VenueSymbol{0, "B"}};
  gc.sessions = {gateway::SessionAccount{"ALICE", AccountId(1), false, {}},
                 gateway::SessionAccount{"BOB", AccountId(2), false, {}}};
  gateway::Gateway gw(gc);
  MatchingEngine<OrderBook> engine(engine_config());
  Books books;
  books.engine = &engine;
  // Requests separated by '\n'; fields by '|': kind session clordid orig orderid account symbol
  // price qty side ordtype tif masstype mdreqid subtype depth
  std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t start = 0;
  std::uint64_t sequence = 0;
  EventBuffer events;
  std::vector<gateway::Outbound> out;
  int n = 0;
  while (start <= text.size() && n++ < 64) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::vector<std::string> f;
    std::size_t s = start;
    while (true) {
      const std::size_t bar = text.find('|', s);
      if (bar == std::string::npos || bar >= end) {
        f.push_back(text.substr(s, end - s));
        break;
      }
      f.push_back(text.substr(s, bar - s));
      s = bar + 1;
    }
    f.resize(16);
    start = end + 1;
    fix::Request r;
    r.kind = static_cast<fix::Request::Kind>(f[0].empty() ? 0 : (f[0][0] % 7));
    r.session = f[1].empty() ? 0 : static_cast<std::uint32_t>(f[1][0] % 3);  // 2 = unknown
    r.cl_ord_id = f[2];
    r.orig_cl_ord_id = f[3];
    r.order_id = f[4];
    r.account = f[5];
    r.symbol = f[6];
    r.price = f[7];
    r.quantity = f[8];
    r.side = f[9].empty() ? 0 : f[9][0];
    r.ord_type = f[10].empty() ? 0 : f[10][0];
    r.time_in_force = f[11].empty() ? 0 : f[11][0];
    r.mass_cancel_type = f[12].empty() ? 0 : f[12][0];
    r.md_req_id = f[13];
    r.subscription_type = f[14].empty() ? 0 : f[14][0];
    r.market_depth = f[15].empty() ? 0 : f[15][0] % 12;
    r.symbols = {r.symbol};
    r.md_entry_types = {'0', '1'};
    r.msg_seq_num = n;
    out.clear();
    auto t = gw.translate(r, n * 1'000'000'000LL, books, out);
    if (t.command) {
      events.clear();
      engine.apply(*t.command, events);
      gw.on_applied(++sequence, *t.command, t.annotation, events, &out);
    }
    gw.publish_depth(books, out);
  }
  (void)engine.digest();
  return 0;
}
