// The venue over real FIX sessions: the trading-engine binary as a child process and QuickFIX
// initiators over loopback (this file is C++14, like every QuickFIX user here). Logon, trading
// between two sessions, rejects of every kind with the session staying up, market data, and a
// kill -9 + restart that keeps orders, ids and sequence numbers.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/ThreadedSSLSocketInitiator.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "test_support.hpp"

#ifndef TRADING_ENGINE_BINARY
#error "TRADING_ENGINE_BINARY must be defined"
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Collects every message the initiator receives, per session.
class Client : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    logged_on_[id.getSenderCompID().getValue()] = true;
    changed_.notify_all();
  }
  void onLogout(const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    logged_on_[id.getSenderCompID().getValue()] = false;
    changed_.notify_all();
  }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message& m, const FIX::SessionID& id) throw(FIX::FieldNotFound,
                                                                        FIX::IncorrectDataFormat,
                                                                        FIX::IncorrectTagValue,
                                                                        FIX::RejectLogon) override {
    keep(m, id);
  }
  void fromApp(const FIX::Message& m,
               const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue,
                                               FIX::UnsupportedMessageType) override {
    keep(m, id);
  }

  bool wait_logged_on(const std::string& client, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [&] { return logged_on_[client]; });
  }
  bool wait_logged_out(const std::string& client, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [&] { return !logged_on_[client]; });
  }
  // The first received message of `client` matching `pred` (removed from the inbox).
  bool take(const std::string& client, const std::function<bool(const FIX::Message&)>& pred,
            FIX::Message& out, int timeout_ms = 5000) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      auto& box = inbox_[client];
      for (auto it = box.begin(); it != box.end(); ++it) {
        if (pred(*it)) {
          out = *it;
          box.erase(it);
          return true;
        }
      }
      if (changed_.wait_until(lock, until) == std::cv_status::timeout) return false;
    }
  }

 private:
  void keep(const FIX::Message& m, const FIX::SessionID& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string type = m.getHeader().getField(FIX::FIELD::MsgType);
    if (type == "0" || type == "1" || type == "A") return;
    inbox_[id.getSenderCompID().getValue()].push_back(m);
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, bool> logged_on_;
  std::map<std::string, std::deque<FIX::Message>> inbox_;
};

std::string field(const FIX::Message& m, int tag) {
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

std::function<bool(const FIX::Message&)> report_for(const std::string& cl_ord_id, char exec_type) {
  return [=](const FIX::Message& m) {
    return m.getHeader().getField(FIX::FIELD::MsgType) == "8" &&
           field(m, FIX::FIELD::ClOrdID) == cl_ord_id &&
           field(m, FIX::FIELD::ExecType) == std::string(1, exec_type);
  };
}
std::function<bool(const FIX::Message&)> of_type(const std::string& type) {
  return [=](const FIX::Message& m) { return m.getHeader().getField(FIX::FIELD::MsgType) == type; };
}

class Venue {
 public:
  explicit Venue(const test_support::TempDir& dir, std::vector<std::string> extra = {})
      : dir_(dir), extra_(std::move(extra)) {}
  // The first start takes free ports (port 0, reported in port files); a restart keeps them, as
  // a client's configuration would.
  void start() {
    std::remove(dir_.file("fix.port").c_str());
    std::remove(dir_.file("http.port").c_str());
    std::vector<std::string> argv = {TRADING_ENGINE_BINARY,
                                     "--fix.port=" + std::to_string(fix_port_),
                                     "--http.port=" + std::to_string(http_port_),
                                     "--fix.port_file=" + dir_.file("fix.port"),
                                     "--http.port_file=" + dir_.file("http.port"),
                                     "--journal.directory=" + dir_.file("journal"),
                                     "--fix.store_directory=" + dir_.file("venue-store"),
                                     "--guardrail.evidence_path=" + dir_.file("evidence.jsonl"),
                                     "--admin.token=secret",
                                     "--fix.log_directory=" + dir_.file("fix-log"),
                                     "--log.level=warn"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_.reset(new test_support::ChildProcess(argv, dir_.file("venue.log")));
    fix_port_ = test_support::wait_for_port_file(dir_.file("fix.port"), *process_);
    http_port_ = test_support::wait_for_port_file(dir_.file("http.port"), *process_);
    EXPECT_NE(fix_port_, 0) << log();
    EXPECT_NE(http_port_, 0) << log();
  }
  void kill9() {
    process_->signal(SIGKILL);
    process_->wait(5000);
  }
  int stop() {
    process_->signal(SIGTERM);
    return process_->wait(15000);
  }
  int fix_port() const { return fix_port_; }
  int http_port() const { return http_port_; }
  // The venue's log and, when the FIX log is on, the last messages of each session.
  std::string log() const {
    std::string out = test_support::read_file(dir_.file("venue.log"));
    for (const char* client : {"CLIENT1", "CLIENT2"}) {
      const std::string messages = test_support::read_file(
          dir_.file("fix-log/FIX.4.4-VENUE-" + std::string(client) + ".messages.current.log"));
      out += "\n--- " + std::string(client) + " messages (last 3000 bytes) ---\n" +
             messages.substr(messages.size() > 3000 ? messages.size() - 3000 : 0);
    }
    return out;
  }

 private:
  const test_support::TempDir& dir_;
  int fix_port_ = 0, http_port_ = 0;
  std::vector<std::string> extra_;
  std::unique_ptr<test_support::ChildProcess> process_;
};

class FixSessions {
 public:
  FixSessions(const test_support::TempDir& dir, int port, const std::string& ca_file = "",
              const std::vector<std::string>& comp_ids = {"CLIENT1", "CLIENT2"}) {
    FIX::Dictionary defaults;
    defaults.setString("ConnectionType", "initiator");
    defaults.setString("StartTime", "00:00:00");
    defaults.setString("EndTime", "00:00:00");
    defaults.setInt("HeartBtInt", 30);
    defaults.setInt("ReconnectInterval", 1);
    defaults.setString("SocketConnectHost", "127.0.0.1");
    defaults.setInt("SocketConnectPort", port);
    defaults.setBool("SocketNodelay", true);
    defaults.setBool("UseDataDictionary", true);
    defaults.setString("DataDictionary", TRADING_FIX_DICTIONARY);
    defaults.setString("FileStorePath", dir.file("client-store"));
    settings_.set(defaults);
    for (const auto& comp_id : comp_ids) {
      settings_.set(FIX::SessionID("FIX.4.4", comp_id, "VENUE"), FIX::Dictionary());
    }
    store_.reset(new FIX::FileStoreFactory(settings_));
    if (ca_file.empty()) {
      initiator_.reset(new FIX::SocketInitiator(client, *store_, settings_));
    } else {
      // TLS: the venue's certificate must verify against the given authority.
      FIX::Dictionary tls = settings_.get();
      tls.setString("SSLProtocol", "all -SSLv2 -SSLv3 -TLSv1 -TLSv1_1");
      tls.setString("CertificationAuthoritiesFile", ca_file);
      tls.setInt("CertificateVerifyLevel", 1);
      settings_.set(tls);
      initiator_.reset(new FIX::ThreadedSSLSocketInitiator(client, *store_, settings_));
    }
    initiator_->start();
  }
  ~FixSessions() {
    initiator_->stop(true);
    initiator_.reset();
  }
  bool send(const std::string& comp_id, FIX::Message m) {
    try {
      return FIX::Session::sendToTarget(m, FIX::SessionID("FIX.4.4", comp_id, "VENUE"));
    } catch (...) {
      return false;
    }
  }
  int next_sender_seq(const std::string& comp_id) {
    return FIX::Session::lookupSession(FIX::SessionID("FIX.4.4", comp_id, "VENUE"))
        ->getExpectedSenderNum();
  }
  Client client;

 private:
  FIX::SessionSettings settings_;
  std::unique_ptr<FIX::FileStoreFactory> store_;
  std::unique_ptr<FIX::Initiator> initiator_;
};

FIX::Message new_order(const std::string& cl_ord_id, char side, const std::string& price,
                       const std::string& qty, const std::string& symbol = "ACME") {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "D");
  m.setField(FIX::FIELD::ClOrdID, cl_ord_id);
  m.setField(FIX::FIELD::Symbol, symbol);
  m.setField(FIX::FIELD::Side, std::string(1, side));
  m.setField(FIX::TransactTime());
  m.setField(FIX::FIELD::OrderQty, qty);
  m.setField(FIX::FIELD::OrdType, "2");
  m.setField(FIX::FIELD::Price, price);
  m.setField(FIX::FIELD::TimeInForce, "1");  // GTC: survives into the next day
  return m;
}

FIX::Message cancel(const std::string& cl_ord_id, const std::string& orig, char side) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "F");
  m.setField(FIX::FIELD::OrigClOrdID, orig);
  m.setField(FIX::FIELD::ClOrdID, cl_ord_id);
  m.setField(FIX::FIELD::Symbol, "ACME");
  m.setField(FIX::FIELD::Side, std::string(1, side));
  m.setField(FIX::TransactTime());
  return m;
}

class FixVenueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    venue.reset(new Venue(dir));
    venue->start();
    sessions.reset(new FixSessions(dir, venue->fix_port()));
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue->log();
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT2", 20000)) << venue->log();
  }
  void TearDown() override {
    sessions.reset();
    if (venue) {
      EXPECT_EQ(venue->stop(), 0) << venue->log();
    }
  }
  FIX::Message expect(const std::string& client,
                      const std::function<bool(const FIX::Message&)>& pred,
                      const std::string& what) {
    FIX::Message m;
    EXPECT_TRUE(sessions->client.take(client, pred, m)) << what << "\n" << venue->log();
    return m;
  }

  test_support::TempDir dir;
  std::unique_ptr<Venue> venue;
  std::unique_ptr<FixSessions> sessions;
};

TEST_F(FixVenueTest, TwoSessionsTradeWithExecutionReportsOnBothSides) {
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A1", '1', "100.00", "100")));
  auto ack = expect("CLIENT1", report_for("A1", '0'), "A1 acknowledged");
  EXPECT_EQ(field(ack, FIX::FIELD::OrdStatus), "0");
  const std::string order_id = field(ack, FIX::FIELD::OrderID);
  EXPECT_FALSE(order_id.empty());

  ASSERT_TRUE(sessions->send("CLIENT2", new_order("B1", '2', "99.50", "60")));
  expect("CLIENT2", report_for("B1", '0'), "B1 acknowledged");
  auto sell_fill = expect("CLIENT2", report_for("B1", 'F'), "B1 filled");
  EXPECT_EQ(field(sell_fill, FIX::FIELD::LastPx), "100.00") << "the resting order's price";
  EXPECT_EQ(field(sell_fill, FIX::FIELD::LastQty), "60");
  EXPECT_EQ(field(sell_fill, FIX::FIELD::OrdStatus), "2");
  auto buy_fill = expect("CLIENT1", report_for("A1", 'F'), "A1 partially filled");
  EXPECT_EQ(field(buy_fill, FIX::FIELD::LeavesQty), "40");
  EXPECT_EQ(field(buy_fill, FIX::FIELD::CumQty), "60");
  EXPECT_EQ(field(buy_fill, FIX::FIELD::OrderID), order_id);
}

TEST_F(FixVenueTest, BadInputIsAnsweredAndTheSessionStaysUp) {
  // Domain rejects: ExecutionReport 8 with OrdRejReason and Text.
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("X1", '1', "100.005", "10")));
  auto r = expect("CLIENT1", report_for("X1", '8'), "price with too many decimals");
  EXPECT_FALSE(field(r, FIX::FIELD::Text).empty());
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("X2", '1', "100.00", "10", "NOPE")));
  r = expect("CLIENT1", report_for("X2", '8'), "unknown symbol");
  EXPECT_EQ(field(r, FIX::FIELD::OrdRejReason), "1");
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("X3", '1', "100.00", "-5")));
  expect("CLIENT1", report_for("X3", '8'), "negative quantity");
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("X4", '1', "100.00", "0")));
  expect("CLIENT1", report_for("X4", '8'), "zero quantity");
  // Cancel of an unknown order: OrderCancelReject.
  ASSERT_TRUE(sessions->send("CLIENT1", cancel("X5", "never-sent", '1')));
  r = expect("CLIENT1", of_type("9"), "cancel reject");
  EXPECT_EQ(field(r, FIX::FIELD::CxlRejReason), "1");
  // A valid FIX 4.4 message the venue does not offer: BusinessMessageReject, reason 3.
  FIX::Message list;
  list.getHeader().setField(FIX::FIELD::MsgType, "E");
  list.setField(FIX::FIELD::Text, "a list");
  ASSERT_TRUE(sessions->send("CLIENT1", list));
  r = expect("CLIENT1", of_type("j"), "business reject");
  EXPECT_EQ(field(r, FIX::FIELD::BusinessRejectReason), "3");
  // A required tag missing: session-level Reject.
  FIX::Message no_side = new_order("X6", '1', "100.00", "10");
  no_side.removeField(FIX::FIELD::Side);
  ASSERT_TRUE(sessions->send("CLIENT1", no_side));
  r = expect("CLIENT1", of_type("3"), "session reject");
  EXPECT_EQ(field(r, FIX::FIELD::SessionRejectReason), "1");
  // And the session still trades.
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("OK1", '1', "99.00", "10")));
  expect("CLIENT1", report_for("OK1", '0'), "a good order after all that");
}

TEST_F(FixVenueTest, MarketDataSnapshotAndIncrementalUpdates) {
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A1", '1', "100.00", "100")));
  expect("CLIENT1", report_for("A1", '0'), "A1");
  FIX::Message v;
  v.getHeader().setField(FIX::FIELD::MsgType, "V");
  v.setField(FIX::FIELD::MDReqID, "MD1");
  v.setField(FIX::FIELD::SubscriptionRequestType, "1");
  v.setField(FIX::FIELD::MarketDepth, "1");
  v.setField(FIX::FIELD::NoMDEntryTypes, "2");
  for (const char* t : {"0", "1"}) {
    FIX::Group g(FIX::FIELD::NoMDEntryTypes, FIX::FIELD::MDEntryType);
    g.setField(FIX::FIELD::MDEntryType, t);
    v.addGroup(g);
  }
  FIX::Group sym(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
  sym.setField(FIX::FIELD::Symbol, "ACME");
  v.addGroup(sym);
  ASSERT_TRUE(sessions->send("CLIENT2", v));
  auto snap = expect("CLIENT2", of_type("W"), "snapshot");
  EXPECT_EQ(field(snap, FIX::FIELD::Symbol), "ACME");
  EXPECT_EQ(field(snap, FIX::FIELD::NoMDEntries), "1");
  // A second subscription, five levels deep.
  v.setField(FIX::FIELD::MDReqID, "MD5");
  v.setField(FIX::FIELD::MarketDepth, "5");
  ASSERT_TRUE(sessions->send("CLIENT2", v));
  expect("CLIENT2", of_type("W"), "depth-5 snapshot");
  const auto for_request = [](const std::string& id) {
    return [id](const FIX::Message& m) {
      return m.getHeader().getField(FIX::FIELD::MsgType) == "X" &&
             field(m, FIX::FIELD::MDReqID) == id;
    };
  };
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A2", '1', "100.01", "5")));
  auto inc = expect("CLIENT2", for_request("MD1"), "top-of-book refresh after a new best bid");
  EXPECT_EQ(field(inc, FIX::FIELD::NoMDEntries), "2");
  auto deep = expect("CLIENT2", for_request("MD5"), "depth refresh: the new level");
  EXPECT_EQ(field(deep, FIX::FIELD::NoMDEntries), "1");
  // A level below the top: only the deep subscription hears of it.
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A3", '1', "99.50", "10")));
  expect("CLIENT1", report_for("A3", '0'), "A3");
  deep = expect("CLIENT2", for_request("MD5"), "depth refresh: a level below the top");
  EXPECT_EQ(field(deep, FIX::FIELD::NoMDEntries), "1");
  FIX::Message none;
  EXPECT_FALSE(sessions->client.take("CLIENT2", for_request("MD1"), none, 300))
      << "the top of book did not change";
}

// curl against the venue's HTTP port: {status code as text, body}.
std::pair<std::string, std::string> http(int port, const std::string& method,
                                         const std::string& path, const std::string& token,
                                         const std::string& body = "") {
  const auto r = test_support::http_request(port, method, path, token, body);
  return {std::to_string(r.first), r.second};
}

TEST_F(FixVenueTest, AdminApiNeedsTheTokenAndHaltsAndResumesTrading) {
  const int port = venue->http_port();
  EXPECT_EQ(http(port, "POST", "/admin/v1/halt", "", R"({"symbol":"ACME"})").first, "401");
  EXPECT_EQ(http(port, "POST", "/admin/v1/halt", "wrong", R"({"symbol":"ACME"})").first, "401");
  EXPECT_EQ(http(port, "GET", "/admin/v1/sessions", "").first, "401");
  EXPECT_EQ(http(port, "GET", "/livez", "").first, "200") << "probes stay open";
  EXPECT_EQ(http(port, "GET", "/readyz", "").first, "200");
  EXPECT_EQ(http(port, "POST", "/admin/v1/halt", "secret", "not json").first, "400");
  EXPECT_EQ(
      http(port, "POST", "/admin/v1/halt", "secret", R"({"symbol":"NOPE","reason":"test halt"})")
          .first,
      "404");

  EXPECT_EQ(
      http(port, "POST", "/admin/v1/halt", "secret", R"({"symbol":"ACME","reason":"test halt"})")
          .first,
      "200");
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("H1", '1', "100.00", "10")));
  auto r = expect("CLIENT1", report_for("H1", '8'), "rejected while halted");
  EXPECT_EQ(field(r, FIX::FIELD::OrdRejReason), "2");
  EXPECT_EQ(
      http(port, "POST", "/admin/v1/resume", "secret", R"({"symbol":"ACME","reason":"test halt"})")
          .first,
      "200");
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("H2", '1', "100.00", "10")));
  expect("CLIENT1", report_for("H2", '0'), "accepted after the resume");

  const auto book = http(port, "GET", "/admin/v1/book/ACME?depth=3", "secret");
  EXPECT_EQ(book.first, "200");
  EXPECT_NE(book.second.find(R"("bids":[{"price":"100.00","qty":10,"orders":1}])"),
            std::string::npos)
      << book.second;
  const auto list = http(port, "GET", "/admin/v1/sessions", "secret");
  EXPECT_NE(list.second.find(R"("client_comp_id":"CLIENT1")"), std::string::npos) << list.second;
  EXPECT_NE(list.second.find(R"("logged_on":true)"), std::string::npos);

  // Kill switch on ALICE: her order is canceled, new ones are refused.
  const auto kill = http(port, "POST", "/admin/v1/kill-switch", "secret",
                         R"({"account":"ALICE","engaged":true,"reason":"test kill"})");
  EXPECT_EQ(kill.first, "200");
  EXPECT_NE(kill.second.find(R"("canceled_orders":1)"), std::string::npos) << kill.second;
  expect("CLIENT1", report_for("H2", '4'), "canceled by the kill switch");
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("H3", '1', "100.00", "10")));
  r = expect("CLIENT1", report_for("H3", '8'), "refused under the kill switch");
  EXPECT_EQ(field(r, FIX::FIELD::OrdRejReason), "3");

  const auto metrics = http(port, "GET", "/metrics", "");
  EXPECT_EQ(metrics.first, "200");
  EXPECT_NE(metrics.second.find("trading_orders_total{result=\"accepted\"}"), std::string::npos);
  EXPECT_NE(metrics.second.find("trading_sessions_connected 2"), std::string::npos);
}

TEST_F(FixVenueTest, KillNineAndRestartKeepsOrdersIdsAndSequenceNumbers) {
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A1", '1', "100.00", "100")));
  auto ack = expect("CLIENT1", report_for("A1", '0'), "A1 acknowledged");
  const std::string order_id = field(ack, FIX::FIELD::OrderID);
  ASSERT_TRUE(sessions->send("CLIENT2", new_order("B1", '2', "100.00", "30")));
  expect("CLIENT1", report_for("A1", 'F'), "A1 partial fill");
  for (int round = 0; round < 3; ++round) {
    const int seq_before = sessions->next_sender_seq("CLIENT1");
    venue->kill9();
    venue->start();
    // The initiator reconnects on its own; wait until the venue answers again.
    FIX::Message status;
    status.getHeader().setField(FIX::FIELD::MsgType, "H");
    status.setField(FIX::FIELD::ClOrdID, "A1");
    status.setField(FIX::FIELD::Symbol, "ACME");
    status.setField(FIX::FIELD::Side, "1");
    bool answered = false;
    FIX::Message report;
    for (int attempt = 0; attempt < 40 && !answered; ++attempt) {
      if (sessions->send("CLIENT1", status)) {
        answered = sessions->client.take(
            "CLIENT1", [](const FIX::Message& m) { return field(m, FIX::FIELD::ExecType) == "I"; },
            report, 500);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
    ASSERT_TRUE(answered) << "round " << round << "\n" << venue->log();
    EXPECT_EQ(field(report, FIX::FIELD::OrderID), order_id) << "same OrderID after restart";
    EXPECT_EQ(field(report, FIX::FIELD::CumQty), "30") << "the fill was not lost or doubled";
    EXPECT_EQ(field(report, FIX::FIELD::LeavesQty), "70");
    EXPECT_GE(sessions->next_sender_seq("CLIENT1"), seq_before)
        << "sequence numbers continue (no reset)";
  }
  ASSERT_TRUE(sessions->send("CLIENT1", cancel("A1-C", "A1", '1')));
  auto canceled = expect("CLIENT1", report_for("A1-C", '4'), "cancel after the restarts");
  EXPECT_EQ(field(canceled, FIX::FIELD::OrderID), order_id);
  EXPECT_EQ(field(canceled, FIX::FIELD::OrigClOrdID), "A1");
}

// A standby (venue.role=standby) on the primary's journal: it follows the trading as it happens
// and across a kill -9 and restart of the primary, to the same sequence and the same state
// digest; it is not ready (its FIX acceptor stays closed), says so, shows its progress in
// /metrics and refuses commands.
TEST_F(FixVenueTest, AStandbyFollowsThePrimaryToTheSameBook) {
  std::remove(dir.file("standby-http.port").c_str());
  test_support::ChildProcess standby(
      {TRADING_ENGINE_BINARY, "--venue.role=standby", "--fix.port=0", "--http.port=0",
       "--http.port_file=" + dir.file("standby-http.port"),
       "--journal.directory=" + dir.file("journal"),
       "--fix.store_directory=" + dir.file("standby-store"),
       "--guardrail.evidence_path=" + dir.file("standby-evidence.jsonl"), "--admin.token=secret",
       "--log.level=warn"},
      dir.file("standby.log"));
  const int standby_port = test_support::wait_for_port_file(dir.file("standby-http.port"), standby);
  ASSERT_NE(standby_port, 0) << test_support::read_file(dir.file("standby.log"));
  const auto state = [](int port) { return http(port, "GET", "/admin/v1/state", "secret").second; };
  const auto same_state = [&] {
    std::string primary, follower;
    for (int i = 0; i < 200; ++i) {
      primary = state(venue->http_port());
      follower = state(standby_port);
      if (primary.find("\"sequence\"") != std::string::npos &&
          primary.substr(primary.find("\"sequence\"")) ==
              follower.substr(follower.find("\"sequence\"") == std::string::npos
                                  ? 0
                                  : follower.find("\"sequence\""))) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "primary " << primary << " standby " << follower << "\n"
                  << test_support::read_file(dir.file("standby.log"));
    return false;
  };
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(sessions->send("CLIENT1", new_order("S" + n, '1', "100.00", "10")));
    expect("CLIENT1", report_for("S" + n, '0'), "S" + n + " acknowledged");
  }
  ASSERT_TRUE(sessions->send("CLIENT2", new_order("T1", '2', "100.00", "55")));
  expect("CLIENT2", report_for("T1", 'F'), "T1 filled");
  EXPECT_TRUE(same_state());
  const auto ready = http(standby_port, "GET", "/readyz", "");
  EXPECT_EQ(ready.first, "503");
  EXPECT_NE(ready.second.find("standby: following the journal"), std::string::npos) << ready.second;
  EXPECT_NE(http(standby_port, "GET", "/metrics", "").second.find("trading_standby_following 1"),
            std::string::npos);
  const auto refused =
      http(standby_port, "POST", "/admin/v1/halt", "secret", R"({"reason":"test cutover"})");
  EXPECT_EQ(refused.first, "409") << refused.second;

  // The primary is killed and restarts (its recovery cuts whatever it was writing): the standby
  // goes on in the new segment.
  venue->kill9();
  venue->start();
  bool answered = false;
  for (int attempt = 0; attempt < 80 && !answered; ++attempt) {
    if (sessions->send("CLIENT1", new_order("S-after", '1', "99.00", "5"))) {
      FIX::Message ack;
      answered = sessions->client.take("CLIENT1", report_for("S-after", '0'), ack, 500);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  ASSERT_TRUE(answered) << venue->log();
  EXPECT_TRUE(same_state());
  standby.signal(SIGTERM);
  EXPECT_EQ(standby.wait(15000), 0) << test_support::read_file(dir.file("standby.log"));
}

// A blue/green cutover of the venue and its rollback, with real sessions on one FIX port: blue
// (the primary) hands over, green (a standby on the same journal and session stores) takes over;
// the clients are logged out with a Text saying to reconnect, log on again to green and carry on
// without a sequence reset; green answers for blue's orders, and back on blue every order and
// fill green handled is there. The standby's digest analysis says promote before the cutover.
class FixVenueCutoverTest : public FixVenueTest {
 protected:
  void SetUp() override {
    venue.reset(new Venue(dir, {"--journal.digest_interval_ms=100", "--log.level=info"}));
    venue->start();
    sessions.reset(new FixSessions(dir, venue->fix_port()));
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue->log();
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT2", 20000)) << venue->log();
  }
  std::unique_ptr<test_support::ChildProcess> start_standby(const std::vector<std::string>& extra) {
    std::remove(dir.file("standby-http.port").c_str());
    std::vector<std::string> argv = {
        TRADING_ENGINE_BINARY,
        "--venue.role=standby",
        "--fix.port=" + std::to_string(venue->fix_port()),
        "--http.port=0",
        "--http.port_file=" + dir.file("standby-http.port"),
        "--journal.directory=" + dir.file("journal"),
        "--fix.store_directory=" + dir.file("venue-store"),
        "--journal.digest_interval_ms=100",
        "--guardrail.evidence_path=" + dir.file("standby-evidence.jsonl"),
        "--admin.token=secret",
        "--log.level=info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::unique_ptr<test_support::ChildProcess> p(
        new test_support::ChildProcess(argv, dir.file("standby.log")));
    standby_http = test_support::wait_for_port_file(dir.file("standby-http.port"), *p);
    EXPECT_NE(standby_http, 0) << test_support::read_file(dir.file("standby.log"));
    return p;
  }
  std::string verdict(int port) {
    const auto status = http(port, "GET", "/guardrail/v1/status", "").second;
    const auto at = status.find("\"verdict\":\"");
    return at == std::string::npos ? status
                                   : status.substr(at + 11, status.find('"', at + 11) - at - 11);
  }
  bool wait_verdict(int port, const std::string& want, std::string& status) {
    for (int i = 0; i < 200; ++i) {
      if (verdict(port) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    status = http(port, "GET", "/guardrail/v1/status", "").second;
    return false;
  }
  // Both clients were logged out (with the reconnect Text) and are logged on again.
  void expect_reconnected(const std::string& who) {
    for (const char* c : {"CLIENT1", "CLIENT2"}) {
      FIX::Message logout;
      ASSERT_TRUE(sessions->client.take(c, of_type("5"), logout, 10000)) << who << " " << c;
      EXPECT_NE(field(logout, FIX::FIELD::Text).find("log on again, sequence numbers continue"),
                std::string::npos)
          << field(logout, FIX::FIELD::Text) << "\n"
          << logout.toString() << "\n"
          << test_support::read_file(dir.file("fix-log/FIX.4.4-VENUE-CLIENT1.event.current.log"))
          << "\n"
          << test_support::read_file(dir.file("standby.log")) << "\n--- blue ---\n"
          << venue->log();
      ASSERT_TRUE(sessions->client.wait_logged_on(c, 20000))
          << who << " " << c << "\n"
          << test_support::read_file(dir.file("standby.log")) << "\n--- blue ---\n"
          << venue->log();
    }
  }
  FIX::Message status_of(const std::string& client, const std::string& cl_ord_id, char side) {
    FIX::Message status;
    status.getHeader().setField(FIX::FIELD::MsgType, "H");
    status.setField(FIX::FIELD::ClOrdID, cl_ord_id);
    status.setField(FIX::FIELD::Symbol, "ACME");
    status.setField(FIX::FIELD::Side, std::string(1, side));
    FIX::Message report;
    for (int attempt = 0; attempt < 40; ++attempt) {
      if (sessions->send(client, status) && sessions->client.take(
                                                client,
                                                [&](const FIX::Message& m) {
                                                  return field(m, FIX::FIELD::ExecType) == "I" &&
                                                         field(m, FIX::FIELD::ClOrdID) == cl_ord_id;
                                                },
                                                report, 500)) {
        return report;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no status for " << cl_ord_id << "\n" << venue->log();
    return report;
  }
  std::string state(int port) {
    const auto s = http(port, "GET", "/admin/v1/state", "secret").second;
    const auto at = s.find("\"digest\"");
    return at == std::string::npos ? s : s.substr(at, 28);
  }
  int standby_http = 0;
};

TEST_F(FixVenueCutoverTest, ACutoverToTheStandbyAndBackKeepsOrdersFillsAndSequenceNumbers) {
  auto green = start_standby({});
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A1", '1', "100.00", "100")));
  const std::string order_id =
      field(expect("CLIENT1", report_for("A1", '0'), "A1 acked"), FIX::FIELD::OrderID);
  ASSERT_TRUE(sessions->send("CLIENT2", new_order("B1", '2', "100.00", "30")));
  expect("CLIENT1", report_for("A1", 'F'), "A1 partly filled");
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A2", '1', "99.00", "10")));
  expect("CLIENT1", report_for("A2", '0'), "A2 resting");

  // Green's pre-promotion analysis: its digests agree with blue's.
  std::string status;
  ASSERT_TRUE(wait_verdict(standby_http, "promote", status)) << status;
  const int blue_http = venue->http_port();
  const int seq1 = sessions->next_sender_seq("CLIENT1");

  const auto handed =
      http(blue_http, "POST", "/admin/v1/handover", "secret", R"({"reason":"test cutover"})");
  ASSERT_EQ(handed.first, "200") << handed.second << venue->log();
  EXPECT_NE(handed.second.find("\"sealed_sequence\""), std::string::npos) << handed.second;
  const auto taken =
      http(standby_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"test cutover"})");
  ASSERT_EQ(taken.first, "200") << taken.second << test_support::read_file(dir.file("standby.log"));
  EXPECT_NE(taken.second.find("\"sealed\":true"), std::string::npos) << taken.second;
  EXPECT_NE(taken.second.find("\"epoch\":2"), std::string::npos) << taken.second;
  EXPECT_EQ(http(standby_http, "GET", "/readyz", "").first, "200");
  EXPECT_EQ(http(blue_http, "GET", "/readyz", "").first, "503") << "blue is green's standby now";
  expect_reconnected("to green");

  // Green answers for blue's order, sequence numbers went on, the resting book is blue's.
  auto report = status_of("CLIENT1", "A1", '1');
  EXPECT_EQ(field(report, FIX::FIELD::OrderID), order_id);
  EXPECT_EQ(field(report, FIX::FIELD::CumQty), "30");
  EXPECT_GT(sessions->next_sender_seq("CLIENT1"), seq1) << "no sequence reset";
  ASSERT_TRUE(sessions->send("CLIENT2", new_order("B2", '2', "100.00", "70")));
  auto filled = expect("CLIENT1", report_for("A1", 'F'), "A1 filled on green");
  EXPECT_EQ(field(filled, FIX::FIELD::CumQty), "100");
  EXPECT_EQ(field(filled, FIX::FIELD::OrdStatus), "2");
  EXPECT_EQ(state(blue_http), state(standby_http)) << "blue follows green";

  // Rollback: the same handover the other way; green's fill is on blue.
  const int seq2 = sessions->next_sender_seq("CLIENT1");
  ASSERT_EQ(
      http(standby_http, "POST", "/admin/v1/handover", "secret", R"({"reason":"test cutover"})")
          .first,
      "200");
  const auto back =
      http(blue_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"test cutover"})");
  ASSERT_EQ(back.first, "200") << back.second << venue->log();
  EXPECT_NE(back.second.find("\"epoch\":3"), std::string::npos) << back.second;
  expect_reconnected("back to blue");
  report = status_of("CLIENT1", "A1", '1');
  EXPECT_EQ(field(report, FIX::FIELD::CumQty), "100") << "green's fill, once";
  EXPECT_GT(sessions->next_sender_seq("CLIENT1"), seq2);
  report = status_of("CLIENT1", "A2", '1');
  EXPECT_EQ(field(report, FIX::FIELD::OrdStatus), "0") << "A2 still resting";
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A3", '1', "98.00", "5")));
  expect("CLIENT1", report_for("A3", '0'), "blue takes orders again");
  EXPECT_EQ(state(blue_http), state(standby_http));
  green->signal(SIGTERM);
  EXPECT_EQ(green->wait(15000), 0) << test_support::read_file(dir.file("standby.log"));
}

// A green that computes another book (fault.matching) is caught before it gets any traffic: its
// digest analysis says rollback with the first differing sequence, and it refuses to take over.
TEST_F(FixVenueCutoverTest, AStandbyThatComputesAnotherBookIsRolledBackAndRefusesToTakeOver) {
  auto green = start_standby({"--fault.matching=true"});
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A1", '1', "100.00", "100")));
  expect("CLIENT1", report_for("A1", '0'), "A1 acked");
  std::string status;
  ASSERT_TRUE(wait_verdict(standby_http, "rollback", status)) << status;
  status = http(standby_http, "GET", "/guardrail/v1/status", "").second;
  EXPECT_NE(status.find("first differing sequence"), std::string::npos) << status;
  EXPECT_EQ(http(standby_http, "POST", "/admin/v1/takeover", "", "{}").first, "401");
  EXPECT_EQ(http(standby_http, "POST", "/admin/v1/takeover", "secret",
                 R"({"force":"yes","reason":"test"})")
                .first,
            "400");
  EXPECT_EQ(http(standby_http, "POST", "/admin/v1/handover", "secret", "[1]").first, "400");
  EXPECT_EQ(
      http(standby_http, "POST", "/admin/v1/handover", "secret", R"({"reason":"test cutover"})")
          .first,
      "409")
      << "only the primary hands over";
  const auto refused =
      http(standby_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"test cutover"})");
  EXPECT_EQ(refused.first, "409") << refused.second;
  EXPECT_NE(refused.second.find("must not take over"), std::string::npos) << refused.second;
  EXPECT_NE(http(standby_http, "GET", "/metrics", "")
                .second.find("trading_fault_injection{fault=\"matching\"} 1"),
            std::string::npos);
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A2", '1', "100.00", "1")));
  expect("CLIENT1", report_for("A2", '0'), "blue still trading");
  green->signal(SIGTERM);
  EXPECT_EQ(green->wait(15000), 0) << test_support::read_file(dir.file("standby.log"));
}

// kill -9 at every step of a cutover (fault.crash_at ends the process there, as kill -9 would):
// whichever side dies, the survivor takes over (or keeps) the leadership, every acknowledged order
// and fill is there exactly once, the clients carry on without a sequence reset, and a second
// primary on the journal is refused.
class FixVenueCutoverCrashTest : public FixVenueCutoverTest,
                                 public ::testing::WithParamInterface<const char*> {
 protected:
  bool blue_crashes() const { return std::string(GetParam()).rfind("handover:", 0) == 0; }
  void SetUp() override {
    std::vector<std::string> extra = {"--journal.digest_interval_ms=100", "--log.level=info"};
    if (blue_crashes()) extra.push_back(std::string("--fault.crash_at=") + GetParam());
    venue.reset(new Venue(dir, extra));
    venue->start();
    sessions.reset(new FixSessions(dir, venue->fix_port()));
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue->log();
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT2", 20000)) << venue->log();
  }
};

TEST_P(FixVenueCutoverCrashTest, NoAcknowledgedOrderIsLostOrDoubledAndOnePrimaryRemains) {
  auto green = start_standby(
      blue_crashes() ? std::vector<std::string>{}
                     : std::vector<std::string>{std::string("--fault.crash_at=") + GetParam()});
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("A1", '1', "100.00", "100")));
  const std::string order_id =
      field(expect("CLIENT1", report_for("A1", '0'), "A1 acked"), FIX::FIELD::OrderID);
  ASSERT_TRUE(sessions->send("CLIENT2", new_order("B1", '2', "100.00", "30")));
  expect("CLIENT1", report_for("A1", 'F'), "A1 partly filled");
  std::string status;
  ASSERT_TRUE(wait_verdict(standby_http, "promote", status)) << status;
  const int seq = sessions->next_sender_seq("CLIENT1");
  const int blue_http = venue->http_port();

  const auto handed =
      http(blue_http, "POST", "/admin/v1/handover", "secret", R"({"reason":"test cutover"})");
  int primary_http = 0;
  if (blue_crashes()) {
    EXPECT_NE(handed.first, "200") << "blue died during its handover";
    EXPECT_EQ(venue->stop(), 137) << venue->log();  // already gone: its exit status
    venue.reset();
    const auto taken =
        http(standby_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"test cutover"})");
    ASSERT_EQ(taken.first, "200") << taken.second;
    EXPECT_EQ(taken.second.find("\"sealed\":true") != std::string::npos,
              std::string(GetParam()) == "handover:sealed")
        << taken.second;
    primary_http = standby_http;
  } else {
    ASSERT_EQ(handed.first, "200") << handed.second;
    const auto taken =
        http(standby_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"test cutover"})");
    EXPECT_NE(taken.first, "200") << "green died during its takeover";
    EXPECT_EQ(green->wait(15000), 137) << test_support::read_file(dir.file("standby.log"));
    const auto back =
        http(blue_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"test cutover"})");
    ASSERT_EQ(back.first, "200") << back.second << venue->log();
    primary_http = blue_http;
  }
  // The clients reconnect to the survivor, without a reset; A1 is there once, with its fill.
  for (const char* c : {"CLIENT1", "CLIENT2"}) {
    ASSERT_TRUE(sessions->client.wait_logged_on(c, 20000)) << c;
  }
  auto report = status_of("CLIENT1", "A1", '1');
  EXPECT_EQ(field(report, FIX::FIELD::OrderID), order_id);
  EXPECT_EQ(field(report, FIX::FIELD::CumQty), "30");
  EXPECT_GT(sessions->next_sender_seq("CLIENT1"), seq) << "no sequence reset";
  ASSERT_TRUE(sessions->send("CLIENT2", new_order("B2", '2', "100.00", "70")));
  auto filled = expect("CLIENT1", report_for("A1", 'F'), "A1 filled by the survivor");
  EXPECT_EQ(field(filled, FIX::FIELD::CumQty), "100");

  // At most one primary: another one started on the journal is refused.
  test_support::ChildProcess second(
      {TRADING_ENGINE_BINARY, "--fix.port=0", "--http.port=0",
       "--journal.directory=" + dir.file("journal"),
       "--fix.store_directory=" + dir.file("second-store"),
       "--guardrail.evidence_path=" + dir.file("second-evidence.jsonl"), "--log.level=warn"},
      dir.file("second.log"));
  EXPECT_EQ(second.wait(15000), 1);
  EXPECT_NE(test_support::read_file(dir.file("second.log")).find("another primary holds"),
            std::string::npos)
      << test_support::read_file(dir.file("second.log"));
  EXPECT_EQ(http(primary_http, "GET", "/readyz", "").first, "200");
  if (blue_crashes()) {
    green->signal(SIGTERM);
    EXPECT_EQ(green->wait(15000), 0) << test_support::read_file(dir.file("standby.log"));
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStep, FixVenueCutoverCrashTest,
                         ::testing::Values("handover:held", "handover:logged_out",
                                           "handover:sealed", "takeover:leader", "takeover:writer"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string name = param.param;
                           for (char& c : name) c = c == ':' ? '_' : c;
                           return name;
                         });

// Snapshots every two commands: a restart loads the newest snapshot and replays only the tail,
// and still knows every ClOrdID used today, also those journaled before that snapshot.
class FixVenueSnapshotTest : public FixVenueTest {
 protected:
  void SetUp() override {
    venue.reset(new Venue(dir, {"--journal.snapshot_every=2", "--log.level=info"}));
    venue->start();
    sessions.reset(new FixSessions(dir, venue->fix_port()));
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue->log();
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT2", 20000)) << venue->log();
  }
};

TEST_F(FixVenueSnapshotTest, ADuplicateClOrdIdIsRefusedAfterARestartFromASnapshot) {
  for (const char* cl : {"S1", "S2", "S3", "S4", "S5"}) {
    ASSERT_TRUE(sessions->send("CLIENT1", new_order(cl, '1', "99.00", "1")));
    expect("CLIENT1", report_for(cl, '0'), std::string(cl) + " acknowledged");
  }
  sessions.reset();
  ASSERT_EQ(venue->stop(), 0) << venue->log();
  bool snapshot_found = false;
  if (DIR* journal = ::opendir(dir.file("journal").c_str())) {
    while (const dirent* entry = ::readdir(journal)) {
      const std::string name = entry->d_name;
      snapshot_found =
          snapshot_found || (name.size() > 4 && name.substr(name.size() - 4) == ".gvs");
    }
    ::closedir(journal);
  }
  ASSERT_TRUE(snapshot_found) << "the venue wrote snapshots";
  venue->start();
  sessions.reset(new FixSessions(dir, venue->fix_port()));
  ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue->log();
  const std::string log = venue->log();
  const auto recovered = log.find("recovered");
  ASSERT_NE(recovered, std::string::npos) << log;
  EXPECT_NE(log.substr(recovered, log.find('\n', recovered) - recovered).find(".gvs"),
            std::string::npos)
      << "the restart loaded a snapshot\n"
      << log;
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("S1", '1', "99.00", "1")));
  auto refused = expect("CLIENT1", report_for("S1", '8'), "S1 again is a duplicate");
  EXPECT_EQ(field(refused, FIX::FIELD::OrdRejReason), "6") << field(refused, FIX::FIELD::Text);
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("S6", '1', "99.00", "1")));
  expect("CLIENT1", report_for("S6", '0'), "a new ClOrdID is accepted");
}

TEST(FixVenueTls, LogonAndTradeOverTls) {
  test_support::TempDir dir;
  const auto made = test_support::run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=localhost", "-keyout", dir.file("venue.key"), "-out", dir.file("venue.pem")});
  ASSERT_EQ(made.first, 0) << made.second;
  Venue venue(dir, {"--fix.tls_certificate=" + dir.file("venue.pem"),
                    "--fix.tls_private_key=" + dir.file("venue.key")});
  venue.start();
  // QuickFIX's TLS initiator cannot stop while its reader waits on an open connection, so the
  // venue stops first (closing it) and the TLS client is destroyed after.
  std::unique_ptr<FixSessions> sessions(
      new FixSessions(dir, venue.fix_port(), dir.file("venue.pem")));
  ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue.log();
  ASSERT_TRUE(sessions->send("CLIENT1", new_order("T1", '1', "100.00", "10")));
  FIX::Message ack;
  EXPECT_TRUE(sessions->client.take("CLIENT1", report_for("T1", '0'), ack)) << venue.log();
  // A plain-TCP logon gets no FIX answer from the TLS acceptor (and does not keep it from
  // stopping). Raw socket: a second QuickFIX initiator with the same session ids in this process
  // would clash with the first in QuickFIX's global session registry.
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(venue.fix_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string logon =
        "8=FIX.4.4\x01"
        "9=63\x01"
        "35=A\x01"
        "34=1\x01"
        "49=CLIENT2\x01"
        "52=20261127-12:00:00\x01"
        "56=VENUE\x01"
        "98=0\x01"
        "108=30\x01"
        "10=000\x01";
    ASSERT_EQ(::write(fd, logon.data(), logon.size()), static_cast<ssize_t>(logon.size()));
    pollfd p{fd, POLLIN, 0};
    char buf[256];
    const bool readable = ::poll(&p, 1, 2000) > 0;
    const ssize_t n = readable ? ::read(fd, buf, sizeof buf) : 0;
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0).find("35=A"),
              std::string::npos)
        << "no plain FIX logon answer";
    ::close(fd);
  }
  EXPECT_EQ(venue.stop(), 0) << venue.log();
  sessions.reset();
}

TEST_F(FixVenueTest, KillNineUnderLoadLosesNoAcknowledgedOrder) {
  // A stream of resting orders; the venue is killed while they flow. Every order whose New
  // report arrived must be there after the restart with the same OrderID; repeated.
  int next = 0;
  std::map<std::string, std::string> acknowledged;  // ClOrdID -> OrderID
  const auto is_new_report = [](const FIX::Message& x) {
    return x.getHeader().getField(FIX::FIELD::MsgType) == "8" &&
           field(x, FIX::FIELD::ExecType) == "0";
  };
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> stop{false};
    std::thread sender([&] {
      while (!stop.load()) {
        const std::string id = "S" + std::to_string(next++);
        if (!sessions->send("CLIENT1", new_order(id, '1', "90.00", "1"))) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
    // The kill must come while orders flow: wait for the first acknowledgement (after a restart,
    // a sanitizer build on a busy machine can take longer than the flow below to log on again).
    FIX::Message m;
    if (sessions->client.take("CLIENT1", is_new_report, m, 15'000)) {
      acknowledged[field(m, FIX::FIELD::ClOrdID)] = field(m, FIX::FIELD::OrderID);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    venue->kill9();
    stop = true;
    sender.join();
    while (sessions->client.take("CLIENT1", is_new_report, m, 300)) {
      acknowledged[field(m, FIX::FIELD::ClOrdID)] = field(m, FIX::FIELD::OrderID);
    }
    venue->start();
    ASSERT_GT(acknowledged.size(), 0u);
    // Ask for every acknowledged order (the initiator reconnects on its own).
    std::size_t found = 0;
    for (const auto& entry : acknowledged) {
      const std::string& cl_ord_id = entry.first;
      const std::string& order_id = entry.second;
      FIX::Message status;
      status.getHeader().setField(FIX::FIELD::MsgType, "H");
      status.setField(FIX::FIELD::ClOrdID, cl_ord_id);
      status.setField(FIX::FIELD::Symbol, "ACME");
      status.setField(FIX::FIELD::Side, "1");
      FIX::Message report;
      bool answered = false;
      for (int attempt = 0; attempt < 60 && !answered; ++attempt) {
        if (sessions->send("CLIENT1", status)) {
          answered = sessions->client.take(
              "CLIENT1",
              [&](const FIX::Message& x) {
                return field(x, FIX::FIELD::ExecType) == "I" &&
                       field(x, FIX::FIELD::ClOrdID) == cl_ord_id;
              },
              report, 1000);
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
      }
      ASSERT_TRUE(answered) << cl_ord_id << "\n" << venue->log();
      EXPECT_EQ(field(report, FIX::FIELD::OrdStatus), "0") << cl_ord_id << " is open";
      EXPECT_EQ(field(report, FIX::FIELD::OrderID), order_id) << cl_ord_id;
      found += field(report, FIX::FIELD::OrderID) == order_id ? 1u : 0u;
    }
    EXPECT_EQ(found, acknowledged.size()) << "round " << round;
  }
}

// FIX's guaranteed delivery across a crash: the venue is killed in the middle of a pipelined
// flood, several times. Every order the client sent is afterwards answered (New, Rejected, or
// the status of an order the journal already had, for a resend): none is consumed silently.
// Before the fix the session store counted a message as received before the engine journaled
// it, so after the crash the venue never asked for those orders again.
TEST_F(FixVenueTest, KillNineMidFloodLeavesNoOrderUnanswered) {
  std::set<std::string> sent, answered;
  int next = 0;
  const auto collect = [&](int timeout_ms) {
    FIX::Message m;
    while (sessions->client.take("CLIENT1", of_type("8"), m, timeout_ms)) {
      const std::string type = field(m, FIX::FIELD::ExecType);
      if (type == "0" || type == "8" || type == "I") answered.insert(field(m, FIX::FIELD::ClOrdID));
    }
  };
  for (int round = 0; round < 5; ++round) {
    std::atomic<bool> stop{false};
    std::mutex sent_mutex;
    std::thread sender([&] {
      while (!stop.load()) {
        const std::string id = "K" + std::to_string(next++);
        if (!sessions->send("CLIENT1", new_order(id, '1', "80.00", "1"))) break;
        std::lock_guard<std::mutex> lock(sent_mutex);
        sent.insert(id);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 100 * round));
    venue->kill9();
    stop = true;
    sender.join();
    venue->start();
    ASSERT_TRUE(sessions->client.wait_logged_on("CLIENT1", 20000)) << venue->log();
    // Drain until every sent order is answered (or nothing more arrives for a while).
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < until) {
      collect(500);
      bool all = true;
      for (const auto& id : sent) all = all && answered.count(id) != 0;
      if (all) break;
    }
    std::vector<std::string> silent;
    for (const auto& id : sent) {
      if (answered.count(id) == 0) silent.push_back(id);
    }
    ASSERT_TRUE(silent.empty()) << silent.size() << " of " << sent.size()
                                << " orders never answered after round " << round
                                << ", first: " << silent.front() << "\n"
                                << venue->log();
  }
  ::testing::Test::RecordProperty("orders", static_cast<int>(sent.size()));
}

// SOX drop copy, with QuickFIX initiators: DROPCOPY (the demo venue file's, covering ALICE and
// BOB) receives a copy of every ExecutionReport of both accounts, cannot trade, and after a
// disconnect gets what it missed by the FIX resend like any session.
TEST(FixVenueDropCopy, ADropCopyGetsEveryReportCannotTradeAndCatchesUpAfterADisconnect) {
  test_support::TempDir dir;
  Venue venue(dir, {"--venue.file=" + std::string(TRADING_VENUE_FILE)});
  venue.start();
  FixSessions sessions(dir, venue.fix_port(), "", {"CLIENT1", "CLIENT2", "DROPCOPY"});
  for (const char* c : {"CLIENT1", "CLIENT2", "DROPCOPY"}) {
    ASSERT_TRUE(sessions.client.wait_logged_on(c, 20000)) << c << venue.log();
  }
  const auto expect = [&](const std::string& client,
                          const std::function<bool(const FIX::Message&)>& pred,
                          const std::string& what) {
    FIX::Message m;
    EXPECT_TRUE(sessions.client.take(client, pred, m)) << what << "\n" << venue.log();
    return m;
  };
  ASSERT_TRUE(sessions.send("CLIENT1", new_order("DA1", '1', "100.00", "100")));
  const auto own = expect("CLIENT1", report_for("DA1", '0'), "ALICE's ack");
  const auto copy = expect("DROPCOPY", report_for("DA1", '0'), "the copy of ALICE's ack");
  EXPECT_EQ(field(copy, FIX::FIELD::ExecID), field(own, FIX::FIELD::ExecID));
  EXPECT_EQ(field(copy, FIX::FIELD::Account), "ALICE");
  ASSERT_TRUE(sessions.send("CLIENT2", new_order("DB1", '2', "100.00", "40")));
  expect("DROPCOPY", report_for("DB1", 'F'), "BOB's fill copied");
  expect("DROPCOPY", report_for("DA1", 'F'), "ALICE's fill copied");

  // Read-only: an order from the drop copy is refused with the reason.
  ASSERT_TRUE(sessions.send("DROPCOPY", new_order("X1", '1', "100.00", "1")));
  const auto refused = expect("DROPCOPY", report_for("X1", '8'), "the drop copy's order refused");
  EXPECT_NE(field(refused, FIX::FIELD::Text).find("drop copy"), std::string::npos);

  // An outage: what happened meanwhile comes with the resend once it logs on again.
  FIX::Session* dc = FIX::Session::lookupSession(FIX::SessionID("FIX.4.4", "DROPCOPY", "VENUE"));
  ASSERT_NE(dc, nullptr);
  dc->logout("drop copy maintenance");
  ASSERT_TRUE(sessions.client.wait_logged_out("DROPCOPY", 10000));
  ASSERT_TRUE(sessions.send("CLIENT1", new_order("DA2", '1', "99.00", "10")));
  expect("CLIENT1", report_for("DA2", '0'), "ALICE's second ack");
  dc->logon();
  ASSERT_TRUE(sessions.client.wait_logged_on("DROPCOPY", 20000)) << venue.log();
  const auto resent = expect("DROPCOPY", report_for("DA2", '0'), "the missed copy, resent");
  EXPECT_EQ(resent.getHeader().isSetField(FIX::FIELD::PossDupFlag)
                ? resent.getHeader().getField(FIX::FIELD::PossDupFlag)
                : std::string(),
            "Y");
  // Reconciliation: the drop copy was sent every execution of its accounts exactly once.
  const auto reconciled = http(venue.http_port(), "GET", "/admin/v1/reconciliation", "secret");
  EXPECT_EQ(reconciled.first, "200") << reconciled.second;
  EXPECT_NE(reconciled.second.find(R"("ok":true)"), std::string::npos) << reconciled.second;
  EXPECT_NE(reconciled.second.find(R"("session":"DROPCOPY")"), std::string::npos)
      << reconciled.second;
  EXPECT_NE(reconciled.second.find(R"("executions":2)"), std::string::npos)
      << "both sides of the one trade: " << reconciled.second;
  EXPECT_EQ(venue.stop(), 0) << venue.log();
}

// The string value of "key" in a JSON answer ("" when absent): enough for the ids and names here.
std::string json_string(const std::string& body, const std::string& key) {
  const std::string marker = "\"" + key + "\":\"";
  const auto at = body.find(marker);
  if (at == std::string::npos) return std::string();
  const auto from = at + marker.size();
  return body.substr(from, body.find('"', from) - from);
}

// Maker-checker adds an account and a FIX session to the running venue: the new client logs on
// at once, trades under the new account's limits, and both survive a restart (journaled).
TEST(FixVenueAddedSession, AnApprovedAccountAndSessionTradeAtOnceAndSurviveARestart) {
  test_support::TempDir dir;
  const std::string admin_log = dir.file("journal/admin-log.jsonl");
  const auto add_user = [&](const std::string& name, const std::string& role) {
    const auto r = test_support::run_command({TRADING_ENGINE_BINARY, "admin", "user", "add", name,
                                              "--role", role, "--by", "it.admin", "--reason",
                                              "joined the desk", "--log", admin_log});
    EXPECT_EQ(r.first, 0) << r.second;
    return json_string(r.second, "token");
  };
  const std::string olga = add_user("olga", "operations");
  const std::string rick = add_user("rick", "risk_officer");
  Venue venue(dir);
  venue.start();
  const int port = venue.http_port();
  const auto propose = [&](const std::string& change, const std::string& params) {
    const auto r = http(port, "POST", "/admin/v1/proposals", olga,
                        R"({"change":")" + change + R"(","params":)" + params +
                            R"(,"reason":"onboarding ticket 7"})");
    EXPECT_EQ(r.first, "201") << r.second;
    return json_string(r.second, "id");
  };
  const auto approve = [&](const std::string& id, const std::string& token) {
    return http(port, "POST", "/admin/v1/proposals/" + id + "/approve", token,
                R"({"reason":"KYC and limits checked"})");
  };
  const std::string account = propose(
      "add_account", R"({"account":"DANA","max_order_qty":500,"max_order_notional":10000000,)"
                     R"("credit_limit":50000000})");
  const std::string add_carol_session =
      R"({"change":"add_session","params":{"client_comp_id":"CLIENT3","account":"DANA"},)"
      R"("reason":"onboarding ticket 7"})";
  auto r = http(port, "POST", "/admin/v1/proposals", olga, add_carol_session);
  EXPECT_EQ(r.first, "404") << "DANA does not exist before her approval: " << r.second;
  r = approve(account, olga);
  EXPECT_EQ(r.first, "403") << r.second;
  EXPECT_EQ(json_string(r.second, "code"), "self_approval");
  r = approve(account, rick);
  ASSERT_EQ(r.first, "200") << r.second;
  EXPECT_NE(r.second.find(R"("max_order_qty":500)"), std::string::npos) << r.second;
  const std::string session =
      propose("add_session", R"({"client_comp_id":"CLIENT3","account":"DANA"})");
  r = approve(session, rick);
  ASSERT_EQ(r.first, "200") << r.second << venue.log();
  EXPECT_EQ(json_string(r.second, "status"), "executed") << r.second;
  EXPECT_NE(r.second.find(R"(\"session\":\"CLIENT3\")"), std::string::npos) << r.second;
  r = http(port, "POST", "/admin/v1/proposals", olga, add_carol_session);
  EXPECT_EQ(r.first, "409") << "a session for CLIENT3 exists: " << r.second;

  {
    FixSessions sessions(dir, venue.fix_port(), "", {"CLIENT1", "CLIENT3"});
    ASSERT_TRUE(sessions.client.wait_logged_on("CLIENT3", 20000)) << venue.log();
    ASSERT_TRUE(sessions.client.wait_logged_on("CLIENT1", 20000)) << venue.log();
    FIX::Message m;
    ASSERT_TRUE(sessions.send("CLIENT3", new_order("C1", '1', "100.00", "100")));
    ASSERT_TRUE(sessions.client.take("CLIENT3", report_for("C1", '0'), m)) << venue.log();
    EXPECT_EQ(field(m, FIX::FIELD::Account), "DANA");
    ASSERT_TRUE(sessions.send("CLIENT1", new_order("A1", '2', "100.00", "40")));
    EXPECT_TRUE(sessions.client.take("CLIENT3", report_for("C1", 'F'), m)) << venue.log();
    // DANA's own limits apply: 600 is above her maximum order quantity.
    ASSERT_TRUE(sessions.send("CLIENT3", new_order("C2", '1', "100.00", "600")));
    ASSERT_TRUE(sessions.client.take("CLIENT3", report_for("C2", '8'), m)) << venue.log();
  }
  EXPECT_EQ(venue.stop(), 0) << venue.log();
  venue.start();  // the journal brings DANA and CLIENT3 back
  {
    FixSessions sessions(dir, venue.fix_port(), "", {"CLIENT3"});
    ASSERT_TRUE(sessions.client.wait_logged_on("CLIENT3", 20000)) << venue.log();
    FIX::Message m;
    ASSERT_TRUE(sessions.send("CLIENT3", new_order("C3", '1', "99.00", "10")));
    EXPECT_TRUE(sessions.client.take("CLIENT3", report_for("C3", '0'), m)) << venue.log();
  }
  const auto limits = http(venue.http_port(), "GET", "/admin/v1/limits", olga);
  EXPECT_NE(limits.second.find(R"("account":"DANA")"), std::string::npos) << limits.second;
  EXPECT_EQ(venue.stop(), 0) << venue.log();
}

// Blue adds an account and a session (maker-checker); green, its standby, applies both from the
// journal, agrees on the digest, and after the cutover the new client logs on to green and trades.
class FixVenueAddedSessionCutoverTest : public FixVenueCutoverTest {
 protected:
  void SetUp() override {
    for (const auto& user :
         {std::make_pair("olga", "operations"), std::make_pair("rick", "risk_officer")}) {
      const auto r = test_support::run_command({TRADING_ENGINE_BINARY, "admin", "user", "add",
                                                user.first, "--role", user.second, "--by",
                                                "it.admin", "--reason", "joined the desk", "--log",
                                                dir.file("journal/admin-log.jsonl")});
      ASSERT_EQ(r.first, 0) << r.second;
      tokens[user.first] = json_string(r.second, "token");
    }
    FixVenueCutoverTest::SetUp();
  }
  // Proposed by olga, approved by rick, on the venue at `port`.
  void add(int port, const std::string& change, const std::string& params) {
    const auto p =
        http(port, "POST", "/admin/v1/proposals", tokens["olga"],
             R"({"change":")" + change + R"(","params":)" + params + R"(,"reason":"onboarding"})");
    ASSERT_EQ(p.first, "201") << p.second;
    const auto a =
        http(port, "POST", "/admin/v1/proposals/" + json_string(p.second, "id") + "/approve",
             tokens["rick"], R"({"reason":"checked"})");
    ASSERT_EQ(a.first, "200") << a.second << venue->log();
  }
  std::map<std::string, std::string> tokens;
};

TEST_F(FixVenueAddedSessionCutoverTest, AnAccountAndSessionAddedOnBlueTradeOnGreenAfterCutover) {
  auto green = start_standby({});
  const int blue_http = venue->http_port();
  add(blue_http, "add_account",
      R"({"account":"DANA","max_order_qty":500,"max_order_notional":10000000,)"
      R"("credit_limit":50000000})");
  add(blue_http, "add_session", R"({"client_comp_id":"CLIENT3","account":"DANA"})");
  std::string status;
  ASSERT_TRUE(wait_verdict(standby_http, "promote", status)) << "digests agree: " << status;
  EXPECT_EQ(state(blue_http), state(standby_http));
  ASSERT_EQ(
      http(blue_http, "POST", "/admin/v1/handover", "secret", R"({"reason":"cutover"})").first,
      "200");
  const auto taken =
      http(standby_http, "POST", "/admin/v1/takeover", "secret", R"({"reason":"cutover"})");
  ASSERT_EQ(taken.first, "200") << taken.second << test_support::read_file(dir.file("standby.log"));
  expect_reconnected("to green");
  FixSessions added(dir, venue->fix_port(), "", {"CLIENT3"});
  ASSERT_TRUE(added.client.wait_logged_on("CLIENT3", 20000))
      << test_support::read_file(dir.file("standby.log"));
  FIX::Message m;
  ASSERT_TRUE(added.send("CLIENT3", new_order("D1", '1', "100.00", "100")));
  ASSERT_TRUE(added.client.take("CLIENT3", report_for("D1", '0'), m))
      << test_support::read_file(dir.file("standby.log"));
  EXPECT_EQ(field(m, FIX::FIELD::Account), "DANA");
  green->signal(SIGTERM);
  EXPECT_EQ(green->wait(15000), 0) << test_support::read_file(dir.file("standby.log"));
}

}  // namespace
