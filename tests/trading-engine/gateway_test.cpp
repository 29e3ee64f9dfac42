// Gateway: FIX requests to engine commands and engine events to FIX replies, with a real engine
// in between; replay through on_applied() rebuilds the gateway's state.
#include <gtest/gtest.h>

#include <set>

#include "trading/domain/matching_engine.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/gateway/gateway.hpp"

namespace {

using namespace trading;
using namespace trading::gateway;
using Kind = fix::Request::Kind;

EngineConfig engine_config() {
  EngineConfig c;
  c.instruments = {Instrument{"ACME", Price{5}, Qty{10}, Price{1000}, true, {}},
                   Instrument{"BETA", Price{1}, Qty{1}, Price{50}, true, {}}};
  c.accounts = {Account{AccountId(1), "ALICE", StpMode::kCancelResting, {}},
                Account{AccountId(2), "BOB", StpMode::kCancelResting, {}}};
  return c;
}

GatewayConfig gateway_config() {
  GatewayConfig g;
  g.instruments = engine_config().instruments;
  g.symbols = {VenueSymbol{2, "Acme Corp"}, VenueSymbol{2, "Beta Ltd"}};
  g.sessions = {SessionAccount{"ALICE", AccountId(1), false, {}},
                SessionAccount{"BOB", AccountId(2), false, {}}};
  return g;
}

class GatewayTest : public ::testing::Test, public DepthSource {
 protected:
  void depth(SymbolId s, Side side, std::size_t n, std::vector<Level>& out) const override {
    engine.book(s).depth(side, n, out);
  }

  // Sends a request through the gateway and (when it makes one) the engine.
  std::vector<Outbound> send(fix::Request r) {
    r.msg_seq_num = ++seq_num;
    std::vector<Outbound> out;
    auto t = gw.translate(r, ++now, *this, out);
    if (t.command) {
      events.clear();
      engine.apply(*t.command, events);
      journal.push_back({*t.command, t.annotation, events});
      gw.on_applied(journal.size(), *t.command, t.annotation, events, &out);
    }
    return out;
  }
  static fix::Request order(std::uint32_t session, std::string cl, char side, std::string price,
                            std::string qty, std::string symbol = "ACME") {
    fix::Request r;
    r.kind = Kind::kNewOrder;
    r.session = session;
    r.cl_ord_id = std::move(cl);
    r.symbol = std::move(symbol);
    r.side = side;
    r.ord_type = '2';
    r.price = std::move(price);
    r.quantity = std::move(qty);
    return r;
  }
  static fix::Request cancel(std::uint32_t session, std::string cl, std::string orig, char side) {
    fix::Request r;
    r.kind = Kind::kCancel;
    r.session = session;
    r.cl_ord_id = std::move(cl);
    r.orig_cl_ord_id = std::move(orig);
    r.symbol = "ACME";
    r.side = side;
    return r;
  }
  static fix::Request status_of(std::uint32_t session, std::string cl) {
    fix::Request r;
    r.kind = Kind::kStatus;
    r.session = session;
    r.cl_ord_id = std::move(cl);
    r.symbol = "ACME";
    r.side = '1';
    return r;
  }
  template <typename T>
  static std::vector<T> replies_of(const std::vector<Outbound>& out, std::uint32_t session) {
    std::vector<T> v;
    for (const auto& o : out) {
      if (o.session != session) continue;
      if (const auto* t = std::get_if<T>(&o.reply)) v.push_back(*t);
    }
    return v;
  }

  struct Journaled {
    Command command;
    std::string annotation;
    EventBuffer events;
  };
  MatchingEngine<OrderBook> engine{engine_config()};
  Gateway gw{gateway_config()};
  EventBuffer events;
  std::vector<Journaled> journal;
  core::Nanos now = 1'000;
  int seq_num = 0;
};

TEST_F(GatewayTest, NewOrderIsAcknowledgedWithTheVenuesOrderId) {
  const auto out = send(order(0, "A1", '1', "10.00", "100"));
  const auto ers = replies_of<fix::ExecutionReport>(out, 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, '0');
  EXPECT_EQ(ers[0].ord_status, '0');
  EXPECT_EQ(ers[0].order_id, "1");
  EXPECT_EQ(ers[0].cl_ord_id, "A1");
  EXPECT_EQ(ers[0].price, "10.00");
  EXPECT_EQ(ers[0].leaves_qty, "100");
  EXPECT_EQ(ers[0].cum_qty, "0");
  EXPECT_EQ(ers[0].account, "ALICE");
}

// ExecIDs of reports that are not journaled (gateway rejects, status answers) must be unique for
// the venue's lifetime: not only within one run, but after a sequence reset (same session, same
// MsgSeqNum again) and after a restart (a new gateway with the next start number).
TEST_F(GatewayTest, ExecIdsOfRejectsAndStatusAnswersNeverRepeat) {
  std::set<std::string> seen;
  const auto collect = [&](Gateway& g, int& seq) {
    for (fix::Request r : {order(0, "X1", '1', "1.00", "10", "NOPE"), status_of(0, "none")}) {
      r.msg_seq_num = ++seq;
      std::vector<Outbound> out;
      (void)g.translate(r, ++now, *this, out);
      for (const auto& er : replies_of<fix::ExecutionReport>(out, 0)) {
        EXPECT_TRUE(seen.insert(er.exec_id).second) << er.exec_id << " repeats";
      }
    }
  };
  gw.set_incarnation(1);
  int seq = 0;
  collect(gw, seq);
  seq = 0;  // the session starts again at 1 (ResetSeqNumFlag)
  collect(gw, seq);
  Gateway restarted{gateway_config()};
  restarted.set_incarnation(2);
  seq = 0;
  collect(restarted, seq);
  EXPECT_EQ(seen.size(), 6u);
}

TEST_F(GatewayTest, TwoSessionsTradeAndBothGetFills) {
  send(order(0, "A1", '1', "10.00", "100"));
  const auto out = send(order(1, "B1", '2', "9.95", "60"));
  const auto alice = replies_of<fix::ExecutionReport>(out, 0);
  const auto bob = replies_of<fix::ExecutionReport>(out, 1);
  ASSERT_EQ(alice.size(), 1u);
  ASSERT_EQ(bob.size(), 2u);  // New, then the fill
  EXPECT_EQ(alice[0].exec_type, 'F');
  EXPECT_EQ(alice[0].ord_status, '1');
  EXPECT_EQ(alice[0].last_px, "10.00") << "the resting order's price";
  EXPECT_EQ(alice[0].last_qty, "60");
  EXPECT_EQ(alice[0].leaves_qty, "40");
  EXPECT_EQ(alice[0].avg_px, "10.000000");
  EXPECT_EQ(bob[1].ord_status, '2');
  EXPECT_EQ(bob[1].cum_qty, "60");
  EXPECT_NE(alice[0].exec_id, bob[1].exec_id);
  EXPECT_EQ(alice[0].trade_id, bob[1].trade_id);
  EXPECT_EQ(gw.open_orders(), 1u) << "the filled order is no longer open";
}

TEST_F(GatewayTest, CancelAndReplaceByClOrdIdChain) {
  send(order(0, "A1", '1', "10.00", "100"));
  fix::Request rep = order(0, "A2", '1', "10.05", "50");
  rep.kind = Kind::kReplace;
  rep.orig_cl_ord_id = "A1";
  auto out = send(rep);
  auto ers = replies_of<fix::ExecutionReport>(out, 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, '5');
  EXPECT_EQ(ers[0].cl_ord_id, "A2");
  EXPECT_EQ(ers[0].orig_cl_ord_id, "A1");
  EXPECT_EQ(ers[0].price, "10.05");

  out = send(cancel(0, "A3", "A1", '1'));
  auto rejects = replies_of<fix::OrderCancelReject>(out, 0);
  ASSERT_EQ(rejects.size(), 1u) << "A1 was replaced by A2";
  EXPECT_EQ(rejects[0].reason, 1);

  out = send(cancel(0, "A4", "A2", '1'));
  ers = replies_of<fix::ExecutionReport>(out, 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, '4');
  EXPECT_EQ(ers[0].cl_ord_id, "A4");
  EXPECT_EQ(ers[0].orig_cl_ord_id, "A2");
  EXPECT_EQ(gw.open_orders(), 0u);
}

TEST_F(GatewayTest, BadOrdersGetSpecificRejects) {
  struct Case {
    fix::Request r;
    int reason;
    std::string text;
  };
  fix::Request wrong_account = order(0, "X3", '1', "10.00", "10");
  wrong_account.account = "BOB";
  const std::vector<Case> cases = {
      {order(0, "X1", '1', "10.001", "10"), 99, "at most 2 decimals"},
      {order(0, "X2", '1', "10.00", "10", "NOPE"), 1, "unknown symbol NOPE"},
      {wrong_account, 15, "not this session's account"},
      {order(0, "X4", '1', "10.00", "15"), 13, "lot size"},
      {order(0, "X5", '1', "10.02", "10"), 99, "tick size"},
      {order(0, "X6", '1', "10.00", "1.5"), 13, "whole shares"},
      {order(0, std::string(65, 'C'), '1', "10.00", "10"), 99, "1 to 64 characters"},
  };
  for (const auto& c : cases) {
    const auto ers = replies_of<fix::ExecutionReport>(send(c.r), 0);
    ASSERT_EQ(ers.size(), 1u) << c.text;
    EXPECT_EQ(ers[0].exec_type, '8');
    EXPECT_EQ(ers[0].ord_rej_reason, c.reason) << c.text << ": " << ers[0].text;
    EXPECT_NE(ers[0].text.find(c.text), std::string::npos) << ers[0].text;
  }
}

TEST_F(GatewayTest, MassCancelReportsEachOrderAndACount) {
  send(order(0, "A1", '1', "10.00", "10"));
  send(order(0, "A2", '1', "9.95", "10"));
  send(order(0, "A3", '1', "5.00", "10", "BETA"));
  send(order(1, "B1", '1', "9.90", "10"));
  fix::Request q;
  q.kind = Kind::kMassCancel;
  q.session = 0;
  q.cl_ord_id = "M1";
  q.mass_cancel_type = '1';
  q.symbol = "ACME";
  const auto out = send(q);
  EXPECT_EQ(replies_of<fix::ExecutionReport>(out, 0).size(), 2u);
  EXPECT_TRUE(replies_of<fix::ExecutionReport>(out, 1).empty()) << "only the sender's orders";
  const auto reports = replies_of<fix::MassCancelReport>(out, 0);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].response, '1');
  EXPECT_EQ(reports[0].affected, 2);
  EXPECT_EQ(gw.open_orders(), 2u);
}

TEST_F(GatewayTest, MarketDataSnapshotThenTopOfBookUpdates) {
  send(order(0, "A1", '1', "10.00", "100"));
  send(order(0, "A2", '1', "9.95", "50"));
  fix::Request v;
  v.kind = Kind::kMarketData;
  v.session = 1;
  v.md_req_id = "MD1";
  v.subscription_type = '1';
  v.market_depth = 1;
  v.md_entry_types = {'0', '1'};
  v.symbols = {"ACME"};
  auto out = send(v);
  auto snaps = replies_of<fix::MarketDataSnapshot>(out, 1);
  ASSERT_EQ(snaps.size(), 1u);
  ASSERT_EQ(snaps[0].entries.size(), 1u) << "depth 1, no offers";
  EXPECT_EQ(snaps[0].entries[0].price, "10.00");
  EXPECT_EQ(snaps[0].entries[0].size, "100");

  out = send(order(0, "A3", '2', "10.10", "30"));
  auto updates = replies_of<fix::MarketDataIncremental>(out, 1);
  ASSERT_EQ(updates.size(), 1u);
  ASSERT_EQ(updates[0].entries.size(), 2u);
  EXPECT_EQ(updates[0].entries[1].type, '1');
  EXPECT_EQ(updates[0].entries[1].price, "10.10");

  fix::Request bad = v;
  bad.md_req_id = "MD2";
  bad.symbols = {"NOPE"};
  const auto rejects = replies_of<fix::MarketDataReject>(send(bad), 1);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].reason, '0');
  fix::Request dup = v;
  EXPECT_EQ(replies_of<fix::MarketDataReject>(send(dup), 1).at(0).reason, '1');
}

// Depth-N incremental refresh: after each batch the subscriber gets the levels that changed
// within its depth (Delete, then New / Change by price) and nothing for changes below it.
TEST_F(GatewayTest, DepthSubscriptionGetsLevelChangesWithinItsDepth) {
  send(order(0, "B1", '1', "10.00", "100"));
  send(order(0, "B2", '1', "9.95", "50"));
  send(order(0, "B3", '1', "9.90", "20"));
  fix::Request v;
  v.kind = Kind::kMarketData;
  v.session = 1;
  v.md_req_id = "D3";
  v.subscription_type = '1';
  v.market_depth = 3;
  v.md_entry_types = {'0', '1'};
  v.symbols = {"ACME"};
  auto snaps = replies_of<fix::MarketDataSnapshot>(send(v), 1);
  ASSERT_EQ(snaps.size(), 1u);
  ASSERT_EQ(snaps[0].entries.size(), 3u);
  EXPECT_EQ(snaps[0].entries[2].price, "9.90");
  EXPECT_EQ(snaps[0].entries[2].position, 3);

  const auto step = [&](fix::Request r) {
    auto out = send(std::move(r));
    gw.publish_depth(*this, out);
    return replies_of<fix::MarketDataIncremental>(out, 1);
  };
  const auto text = [](const fix::MarketDataIncremental& md) {
    std::string t;
    for (const auto& e : md.entries) {
      t += std::string(1, e.update_action) + e.type + "@" + e.price + "x" + e.size + "#" +
           std::to_string(e.position) + " ";
    }
    return t;
  };
  // Below the depth: nothing to say.
  EXPECT_TRUE(step(order(0, "B4", '1', "9.85", "10")).empty());
  // A better bid pushes 9.90 out of the top 3.
  auto u = step(order(0, "B5", '1', "10.05", "40"));
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].md_req_id, "D3");
  EXPECT_EQ(text(u[0]), "20@9.90x#0 00@10.05x40#1 ");
  // More quantity at a level is a Change.
  u = step(order(0, "B6", '1', "10.00", "10"));
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(text(u[0]), "10@10.00x110#2 ");
  // An offer on the other side is New there.
  u = step(order(0, "S1", '2', "10.20", "70"));
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(text(u[0]), "01@10.20x70#1 ");
  // Canceling the best bid brings 9.90 back into view.
  u = step(cancel(0, "B5-C", "B5", '1'));
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(text(u[0]), "20@10.05x#0 00@9.90x20#3 ");
  // Another account sells 30 at 10.00: a trade entry, then the level's Change.
  auto out = send(order(1, "S2", '2', "10.00", "30"));
  gw.publish_depth(*this, out);
  const auto mds = replies_of<fix::MarketDataIncremental>(out, 1);
  ASSERT_EQ(mds.size(), 2u) << "a trade print (with B1, first at 10.00) and a depth update";
  EXPECT_EQ(mds[0].entries[0].type, '2');
  EXPECT_EQ(text(mds.back()), "10@10.00x80#1 ");
  // Unsubscribed: no more updates.
  fix::Request off = v;
  off.subscription_type = '2';
  send(off);
  EXPECT_TRUE(step(order(0, "B7", '1', "10.01", "10")).empty());
}

TEST_F(GatewayTest, SecurityListAndStatus) {
  fix::Request x;
  x.kind = Kind::kSecurityList;
  x.session = 0;
  x.security_req_id = "S1";
  x.security_list_request_type = 4;
  auto list = replies_of<fix::SecurityList>(send(x), 0);
  ASSERT_EQ(list.size(), 1u);
  ASSERT_EQ(list[0].securities.size(), 2u);
  EXPECT_EQ(list[0].securities[0].min_price_increment, "0.05");
  EXPECT_EQ(list[0].securities[0].round_lot, "10");

  send(order(0, "A1", '1', "10.00", "100"));
  fix::Request h = status_of(0, "A1");
  auto ers = replies_of<fix::ExecutionReport>(send(h), 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, 'I');
  EXPECT_EQ(ers[0].ord_status, '0');
  h.cl_ord_id = "ZZ";
  ers = replies_of<fix::ExecutionReport>(send(h), 0);
  EXPECT_EQ(ers.at(0).ord_status, '8');
}

TEST_F(GatewayTest, ResentOrderThatIsAlreadyOpenGetsItsStatusNotAReject) {
  send(order(0, "A1", '1', "10.00", "100"));
  fix::Request resent = order(0, "A1", '1', "10.00", "100");
  resent.poss_dup = true;
  auto ers = replies_of<fix::ExecutionReport>(send(resent), 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, 'I');
  EXPECT_EQ(ers[0].order_id, "1");
  EXPECT_EQ(gw.open_orders(), 1u) << "no second order";
  // Without PossDup the same ClOrdID is a duplicate: the engine refuses it.
  ers = replies_of<fix::ExecutionReport>(send(order(0, "A1", '1', "10.00", "100")), 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, '8');
  EXPECT_EQ(ers[0].ord_rej_reason, 6);
}

TEST_F(GatewayTest, StatusOfAFilledOrCanceledOrderIsRemembered) {
  send(order(0, "A1", '1', "10.00", "100"));
  send(order(1, "B1", '2', "10.00", "100"));  // fills A1
  send(order(0, "A2", '1', "9.00", "10"));
  send(cancel(0, "A3", "A2", '1'));
  fix::Request h = status_of(0, "A1");
  auto ers = replies_of<fix::ExecutionReport>(send(h), 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].ord_status, '2');
  EXPECT_EQ(ers[0].cum_qty, "100");
  EXPECT_EQ(ers[0].leaves_qty, "0");
  h.cl_ord_id = "A2";
  ers = replies_of<fix::ExecutionReport>(send(h), 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].ord_status, '4');
  // A resend of the filled order is answered with its status, not traded again.
  fix::Request resent = order(0, "A1", '1', "10.00", "100");
  resent.poss_dup = true;
  ers = replies_of<fix::ExecutionReport>(send(resent), 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].exec_type, 'I');
  EXPECT_EQ(ers[0].ord_status, '2');
}

TEST_F(GatewayTest, OnlyTheConfiguredNumberOfClosedOrdersIsKept) {
  GatewayConfig config = gateway_config();
  config.closed_orders_kept = 2;
  gw = Gateway(config);
  for (const char* id : {"C1", "C2", "C3"}) {
    send(order(0, id, '1', "9.00", "10"));
    send(cancel(0, std::string(id) + "x", id, '1'));
  }
  fix::Request h = status_of(0, "C1");
  EXPECT_EQ(replies_of<fix::ExecutionReport>(send(h), 0).at(0).ord_status, '8') << "forgotten";
  h.cl_ord_id = "C3";
  EXPECT_EQ(replies_of<fix::ExecutionReport>(send(h), 0).at(0).ord_status, '4');
}

TEST_F(GatewayTest, ReplayRebuildsOrdersIdsAndClOrdIds) {
  send(order(0, "A1", '1', "10.00", "100"));
  send(order(1, "B1", '2', "10.00", "40"));
  send(order(0, "A2", '1', "9.95", "10"));
  Gateway restarted(gateway_config());
  MatchingEngine<OrderBook> engine2(engine_config());
  std::uint64_t sequence = 0;
  for (const auto& j : journal) {
    EventBuffer ev;
    engine2.apply(j.command, ev);
    ASSERT_EQ(ev, j.events);
    restarted.on_applied(++sequence, j.command, j.annotation, ev, nullptr);
  }
  EXPECT_EQ(restarted.open_orders(), gw.open_orders());
  EXPECT_EQ(restarted.last_order_id(), gw.last_order_id());
  // The restarted gateway finds A1 by its ClOrdID and knows its fill.
  std::vector<Outbound> out;
  auto t = restarted.translate(cancel(0, "A9", "A1", '1'), 99, *this, out);
  ASSERT_TRUE(t.command.has_value());
  EventBuffer ev;
  engine2.apply(*t.command, ev);
  restarted.on_applied(++sequence, *t.command, t.annotation, ev, &out);
  const auto ers = replies_of<fix::ExecutionReport>(out, 0);
  ASSERT_EQ(ers.size(), 1u);
  EXPECT_EQ(ers[0].cum_qty, "40");
  EXPECT_EQ(ers[0].order_id, "1");
}

// Duplicate ClOrdIDs are found exactly: the same (account, ClOrdID) gets the same number, any
// other ClOrdID another one, whatever its hash; a snapshot of the gateway keeps them, and a new
// trading day forgets them.
TEST_F(GatewayTest, ClOrdIdNumbersAreExactAndSurviveSnapshots) {
  auto key_of = [](const Gateway::Translation& t) {
    return std::get<NewOrder>(t.command->body).client_order_key;
  };
  auto translate = [&](Gateway& g, const fix::Request& r) {
    std::vector<Outbound> out;
    return g.translate(r, ++now, *this, out);
  };
  std::set<std::uint64_t> keys;
  for (int i = 0; i < 1000; ++i) {
    keys.insert(key_of(translate(gw, order(0, "C" + std::to_string(i), '1', "10.00", "1"))));
  }
  EXPECT_EQ(keys.size(), 1000u) << "1000 ClOrdIDs, 1000 numbers";
  const auto alice_a1 = key_of(translate(gw, order(0, "A1", '1', "10.00", "1")));
  EXPECT_EQ(key_of(translate(gw, order(0, "A1", '1', "10.00", "1"))), alice_a1);
  const auto bob_a1 = key_of(translate(gw, order(1, "A1", '1', "10.00", "1")));
  EXPECT_NE(bob_a1, alice_a1) << "the same ClOrdID of another account is another order";
  EXPECT_EQ(keys.count(alice_a1) + keys.count(bob_a1), 0u);

  std::vector<std::uint64_t> words;
  gw.save_state([&](std::uint64_t v) { words.push_back(v); });
  Gateway restored(gateway_config());
  std::size_t at = 0;
  const std::string problem = restored.load_state([&](std::uint64_t& v) {
    if (at == words.size()) return false;
    v = words[at++];
    return true;
  });
  ASSERT_EQ(problem, "");
  EXPECT_EQ(at, words.size());
  EXPECT_EQ(restored.client_order_ids_today(), gw.client_order_ids_today());
  EXPECT_EQ(key_of(translate(restored, order(0, "A1", '1', "10.00", "1"))), alice_a1);
  EXPECT_EQ(key_of(translate(restored, order(1, "A1", '1', "10.00", "1"))), bob_a1);
  const auto fresh = key_of(translate(restored, order(0, "NEW", '1', "10.00", "1")));
  EXPECT_EQ(keys.count(fresh), 0u) << "numbers are never given twice, also after a restore";
  EXPECT_NE(fresh, alice_a1);
  EXPECT_NE(fresh, bob_a1);

  Gateway cut(gateway_config());
  at = 0;
  EXPECT_NE(cut.load_state([&](std::uint64_t& v) {
    if (at + 1 >= words.size()) return false;  // the last word is missing
    v = words[at++];
    return true;
  }),
            "");

  restored.on_applied(1, Command{now, EndOfDay{}}, "", {}, nullptr);
  EXPECT_EQ(restored.client_order_ids_today(), 0u) << "a new trading day";
}

// The engine refuses the second order with a ClOrdID, through the gateway's numbers.
TEST_F(GatewayTest, ASecondOrderWithTheSameClOrdIdIsRefused) {
  EXPECT_EQ(
      replies_of<fix::ExecutionReport>(send(order(0, "D1", '1', "10.00", "10")), 0).at(0).exec_type,
      '0');
  const auto second = replies_of<fix::ExecutionReport>(send(order(0, "D1", '1', "10.00", "10")), 0);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].exec_type, '8');
  EXPECT_EQ(second[0].ord_rej_reason, 6) << "duplicate order";
  EXPECT_EQ(
      replies_of<fix::ExecutionReport>(send(order(1, "D1", '1', "10.00", "10")), 1).at(0).exec_type,
      '0')
      << "BOB may use ALICE's ClOrdID";
}

}  // namespace

// SOX drop copy: a read-only session receives a copy of every journaled ExecutionReport of the
// accounts it covers, and its own order entry is refused with a reason.
namespace {
GatewayConfig with_drop_copy(std::vector<std::string> covers) {
  GatewayConfig g = gateway_config();
  SessionAccount copy;
  copy.drop_copy = true;
  copy.covers = std::move(covers);
  g.sessions.push_back(std::move(copy));  // session 2
  return g;
}
}  // namespace

TEST_F(GatewayTest, ADropCopyReceivesEveryReportOfTheAccountsItCoversAndCannotTrade) {
  gw = Gateway(with_drop_copy({"ALICE"}));
  auto out = send(order(0, "A1", '1', "10.00", "100"));  // ALICE
  ASSERT_EQ(replies_of<fix::ExecutionReport>(out, 0).size(), 1u);
  auto copies = replies_of<fix::ExecutionReport>(out, 2);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].exec_id, replies_of<fix::ExecutionReport>(out, 0)[0].exec_id)
      << "the same report, ExecID included";
  out = send(order(1, "B1", '2', "10.00", "40"));  // BOB sells into ALICE's bid: a trade
  copies = replies_of<fix::ExecutionReport>(out, 2);
  ASSERT_EQ(copies.size(), 1u) << "ALICE's fill only: BOB is not covered";
  EXPECT_EQ(copies[0].account, "ALICE");
  EXPECT_EQ(copies[0].exec_type, 'F');
  EXPECT_FALSE(copies[0].trade_id.empty());

  out = send(order(2, "X1", '1', "10.00", "1"));
  const auto refused = replies_of<fix::ExecutionReport>(out, 2);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].ord_status, '8');
  EXPECT_NE(refused[0].text.find("drop copy"), std::string::npos) << refused[0].text;
  EXPECT_TRUE(journal.size() == 2u) << "nothing from the drop copy reached the engine";
  out = send(cancel(2, "X2", "A1", '1'));
  ASSERT_EQ(replies_of<fix::OrderCancelReject>(out, 2).size(), 1u);

  gw = Gateway(with_drop_copy({}));  // covers every account
  out = send(order(1, "B2", '1', "9.00", "10"));
  copies = replies_of<fix::ExecutionReport>(out, 2);
  ASSERT_EQ(copies.size(), 1u) << "BOB's too";
  EXPECT_EQ(copies[0].account, "BOB");
}
