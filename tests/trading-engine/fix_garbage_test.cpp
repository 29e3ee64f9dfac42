// Garbage on the wire: a raw TCP FIX client (no QuickFIX, so it can send anything) against the
// trading-engine binary. Bad checksum, wrong BodyLength, wrong field types, unknown MsgType, a
// missing required tag, a flood past the account's throttle: each answered as FIX 4.4 says, and
// the session and another session keep trading.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace {

using Fields = std::multimap<int, std::string>;
constexpr char kSoh = '\x01';

std::string utc_now() {
  const auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H:%M:%S", &tm);
  return buf;
}

// A FIX message from "tag=value|tag=value" body fields, with correct BodyLength and CheckSum
// unless told otherwise.
std::string frame(const std::string& body, int body_length_delta = 0, int checksum_delta = 0) {
  std::string b = body + "|";  // every field ends with SOH, the last body field too
  for (char& c : b) {
    if (c == '|') c = kSoh;
  }
  std::string msg = "8=FIX.4.4" + std::string(1, kSoh) +
                    "9=" + std::to_string(static_cast<int>(b.size()) + body_length_delta) + kSoh +
                    b;
  unsigned sum = 0;
  for (const char c : msg) sum += static_cast<unsigned char>(c);
  char trailer[16];
  std::snprintf(trailer, sizeof trailer, "10=%03u",
                (sum + static_cast<unsigned>(checksum_delta)) % 256);
  return msg + trailer + kSoh;
}

class RawSession {
 public:
  RawSession(int port, std::string comp_id) : comp_id_(std::move(comp_id)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 100; ++i) {
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        connected_ = true;
        break;
      }
      ::close(fd_);
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawSession() { ::close(fd_); }
  bool connected() const { return connected_; }

  // Sends body fields after the standard header (MsgType first); returns the seq num used.
  int send(const std::string& type, const std::string& fields, int body_length_delta = 0,
           int checksum_delta = 0) {
    const int seq = next_seq_++;
    send_raw(frame("35=" + type + "|34=" + std::to_string(seq) + "|49=" + comp_id_ +
                       "|52=" + utc_now() + "|56=VENUE" + (fields.empty() ? "" : "|" + fields),
                   body_length_delta, checksum_delta));
    return seq;
  }
  void send_raw(const std::string& bytes) { (void)!::write(fd_, bytes.data(), bytes.size()); }

  // The next message whose MsgType is `type` (others are kept in order but skipped); answers
  // ResendRequests with a gap fill so the session goes on.
  bool receive(const std::string& type, Fields& out, int timeout_ms = 5000) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
      Fields m;
      while (next_message(m)) {
        const auto t = m.find(35);
        if (t == m.end()) continue;
        if (t->second == "2") {
          // ResendRequest for what the venue dropped: a gap fill from BeginSeqNo up to our last
          // message (which the venue holds back until the gap is filled).
          const std::string begin = m.find(7)->second;
          send_raw(frame("35=4|34=" + begin + "|43=Y|49=" + comp_id_ + "|52=" + utc_now() +
                         "|56=VENUE|122=" + utc_now() +
                         "|123=Y|36=" + std::to_string(next_seq_ - 1)));
          ++resend_requests_;
        }
        if (t->second == type) {
          out = m;
          return true;
        }
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[8192];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return false;
        buffer_.append(buf, static_cast<std::size_t>(n));
      }
    }
    return false;
  }
  int resend_requests() const { return resend_requests_; }

 private:
  bool next_message(Fields& out) {
    const auto end = buffer_.find(std::string(1, kSoh) + "10=");
    if (end == std::string::npos) return false;
    const auto stop = buffer_.find(kSoh, end + 4);
    if (stop == std::string::npos) return false;
    const std::string msg = buffer_.substr(0, stop + 1);
    buffer_.erase(0, stop + 1);
    out.clear();
    std::size_t i = 0;
    while (i < msg.size()) {
      const auto eq = msg.find('=', i);
      const auto soh = msg.find(kSoh, i);
      if (eq == std::string::npos || soh == std::string::npos) break;
      out.emplace(std::atoi(msg.substr(i, eq - i).c_str()), msg.substr(eq + 1, soh - eq - 1));
      i = soh + 1;
    }
    return true;
  }
  std::string comp_id_;
  int fd_ = -1;
  bool connected_ = false;
  int next_seq_ = 1;
  int resend_requests_ = 0;
  std::string buffer_;
};

std::string get(const Fields& f, int tag) {
  const auto it = f.find(tag);
  return it == f.end() ? std::string() : it->second;
}

std::string order(const std::string& cl, const std::string& qty = "10",
                  const std::string& price = "100.00") {
  return "11=" + cl + "|55=ACME|54=1|60=" + utc_now() + "|38=" + qty + "|40=2|44=" + price;
}

class FixGarbageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::write_file(dir.file("venue.toml"), R"(
[[instrument]]
symbol = "ACME"
decimals = 2
tick = "0.01"
lot = 1
reference = "100.00"

[[account]]
name = "ALICE"
id = 1
messages_per_second = 20
message_burst = 20

[[account]]
name = "BOB"
id = 2

[[session]]
client_comp_id = "CLIENT1"
account = "ALICE"

[[session]]
client_comp_id = "CLIENT2"
account = "BOB"
)");
    port = test_support::free_port();
    http_port = test_support::free_port();
    venue = std::make_unique<test_support::ChildProcess>(
        std::vector<std::string>{TRADING_ENGINE_BINARY, "--fix.port=" + std::to_string(port),
                                 "--http.port=" + std::to_string(http_port),
                                 "--fix.max_in_flight=8", "--admin.token=secret",
                                 "--venue.file=" + dir.file("venue.toml"),
                                 "--journal.directory=" + dir.file("journal"),
                                 "--fix.store_directory=", "--log.level=warn",
                                 "--fix.log_directory=" + dir.file("fix-log"),
                                 "--guardrail.evidence_path=" + dir.file("evidence.jsonl")},
        dir.file("venue.log"));
  }
  void TearDown() override {
    venue->signal(SIGTERM);
    EXPECT_EQ(venue->wait(15000), 0) << test_support::read_file(dir.file("venue.log"));
  }
  void logon(RawSession& s) {
    ASSERT_TRUE(s.connected());
    s.send("A", "98=0|108=30|141=Y");
    Fields f;
    ASSERT_TRUE(s.receive("A", f)) << "logon answered\n" << fix_log();
  }

  std::string fix_log() const {
    std::string out;
    for (const char* client : {"CLIENT1", "CLIENT2"}) {
      for (const char* kind : {"event", "messages"}) {
        out += test_support::read_file(
            dir.file("fix-log/FIX.4.4-VENUE-" + std::string(client) + "." + kind + ".current.log"));
      }
    }
    return out + test_support::read_file(dir.file("venue.log"));
  }

  test_support::TempDir dir;
  int port = 0;
  int http_port = 0;
  std::unique_ptr<test_support::ChildProcess> venue;
};

TEST_F(FixGarbageTest, EveryKindOfGarbageIsAnsweredAndTradingGoesOn) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RawSession alice(port, "CLIENT1");
  logon(alice);
  RawSession bob(port, "CLIENT2");
  logon(bob);
  Fields f;

  // Wrong type in a numeric field: Reject, SessionRejectReason 6 (incorrect data format).
  alice.send("D", order("G1", "abc"));
  ASSERT_TRUE(alice.receive("3", f));
  EXPECT_EQ(get(f, 373), "6") << get(f, 58);
  EXPECT_EQ(get(f, 371), "38");

  // Unknown MsgType: Reject, reason 11.
  alice.send("ZZ", "58=hello");
  ASSERT_TRUE(alice.receive("3", f));
  EXPECT_EQ(get(f, 373), "11");

  // Missing required tag (Symbol): Reject, reason 1, RefTagID 55.
  alice.send("D", "11=G3|54=1|60=" + utc_now() + "|38=10|40=2|44=100.00");
  ASSERT_TRUE(alice.receive("3", f));
  EXPECT_EQ(get(f, 373), "1");
  EXPECT_EQ(get(f, 371), "55");

  // A tag the venue does not define: Reject, reason 0 (invalid tag number).
  alice.send("D", order("G4") + "|9999=x");
  ASSERT_TRUE(alice.receive("3", f));
  EXPECT_EQ(get(f, 373), "0");

  // Bad checksum and wrong BodyLength: dropped (a BodyLength that is too long also swallows the
  // start of the next message, G7); the next good message shows a sequence gap, the venue asks
  // for a resend (answered with a gap fill), then trading goes on.
  alice.send("D", order("G5"), 0, 1);
  alice.send("D", order("G6"), 7, 0);
  alice.send("D", order("G7"));
  alice.send("D", order("G8"));
  ASSERT_TRUE(alice.receive("8", f)) << "G8 answered after the gap fill\n" << fix_log();
  EXPECT_EQ(get(f, 11), "G8");
  EXPECT_GE(alice.resend_requests(), 1);

  // A flood past the throttle (20/s, burst 20): rejected as exceeding the limit, not dropped.
  for (int i = 0; i < 60; ++i) alice.send("D", order("F" + std::to_string(i), "1", "90.00"));
  int accepted = 0, throttled = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(alice.receive("8", f)) << "every flooded order gets its report (" << i << ")";
    if (get(f, 150) == "0") ++accepted;
    if (get(f, 150) == "8" && get(f, 103) == "3" && get(f, 58).find("rate") != std::string::npos) {
      ++throttled;
    }
  }
  EXPECT_GT(throttled, 0) << "some orders hit the throttle";
  EXPECT_GT(accepted, 0);
  EXPECT_EQ(accepted + throttled, 60);

  // The other session was never affected, and the venue still trades with both.
  bob.send("D", "11=B1|55=ACME|54=2|60=" + utc_now() + "|38=5|40=2|44=90.00");
  ASSERT_TRUE(bob.receive("8", f));
  EXPECT_EQ(get(f, 11), "B1");
  EXPECT_EQ(get(f, 150), "0");
  ASSERT_TRUE(bob.receive("8", f));
  EXPECT_EQ(get(f, 150), "F") << "B1 trades against a flooded order of ALICE";
}

// In-flight bound: a client that floods without reading its replies has at most
// --fix.max_in_flight requests between its socket and the engine; the rest waits in its own
// socket buffers, and every order is answered in the end.
TEST_F(FixGarbageTest, AFloodIsHeldToTheInFlightBound) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RawSession bob(port, "CLIENT2");
  logon(bob);
  std::atomic<bool> stop{false};
  std::atomic<int> max_in_flight{0};
  std::atomic<int> samples{0};
  std::thread poller([&] {
    while (!stop.load()) {
      const auto r = test_support::run_command(
          {"/usr/bin/curl", "-s", "-H", "Authorization: Bearer secret",
           "http://127.0.0.1:" + std::to_string(http_port) + "/admin/v1/sessions"});
      const auto at = r.second.find(R"("client_comp_id":"CLIENT2")");
      const auto field = r.second.find(R"("in_flight":)", at == std::string::npos ? 0 : at);
      if (at != std::string::npos && field != std::string::npos) {
        const int v = std::atoi(r.second.c_str() + field + 12);
        int seen = max_in_flight.load();
        while (v > seen && !max_in_flight.compare_exchange_weak(seen, v)) {
        }
        ++samples;
      }
    }
  });
  constexpr int kOrders = 3000;
  for (int i = 0; i < kOrders; ++i) {
    bob.send("D",
             "11=P" + std::to_string(i) + "|55=ACME|54=2|60=" + utc_now() + "|38=1|40=2|44=105.00");
  }
  Fields f;
  int answered = 0;
  while (answered < kOrders && bob.receive("8", f, 20000)) ++answered;
  stop = true;
  poller.join();
  EXPECT_EQ(answered, kOrders) << "every flooded order is answered";
  EXPECT_GT(samples.load(), 0);
  EXPECT_LE(max_in_flight.load(), 8) << "never more than --fix.max_in_flight in flight";
  ::testing::Test::RecordProperty("max_in_flight_seen", max_in_flight.load());
}

}  // namespace
