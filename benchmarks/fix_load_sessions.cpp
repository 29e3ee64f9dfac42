// fix_load --mode sessions: the traders of a deployment drill. Several FIX sessions (QuickFIX
// initiators, one process) send limit orders open loop at --rate per session until --seconds
// pass (0: until SIGINT/SIGTERM), through whatever balancer is in front of the venue, and carry
// on across the venue's cutovers: a Logout from the venue, a reconnect (every second), a logon
// WITHOUT a sequence reset, and QuickFIX's own resend of what was sent meanwhile.
//
// At the end it asks the venue for the status of every order it acknowledged (OrderStatusRequest)
// and counts, as the drill's figures:
//   lost_orders      acknowledged (ExecType 0) but unknown to the venue now;
//   unacked          sent and never answered (after a 10 s wait at the end);
//   duplicate_fills  a fill ExecID received twice as new (not a PossDup resend), or more filled
//                    quantity received than the venue's CumQty for the order;
//   seq_resets       Logons with ResetSeqNumFlag=Y or SequenceReset-Reset (not GapFill) received;
//   client_gap_ms    for each cutover (the sessions' logouts within 2 s): last answer before
//                    it → first answer after it, the reconnect through the balancer included;
// and the order-to-answer latency from the intended send time (a cutover's pause included).
// C++14 like every QuickFIX user here. Prints progress on stderr, one JSON line on stdout.
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::atomic<int> g_stop{0};
extern "C" void on_stop_signal(int) { g_stop.store(1); }

std::string field(const FIX::FieldMap& m, int tag) {
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

struct Order {
  std::int64_t intended = 0;
  std::int64_t answered = 0;  // 0: not yet
  bool accepted = false;
  long qty = 0;
  long filled_seen = 0;  // from distinct fill ExecIDs
  std::string session;
  char side = '1';
};

// Everything the sessions receive, under one lock (the rates are modest: a drill, not a bench).
class Traders : public FIX::Application {
 public:
  explicit Traders(std::string tag) : tag_(std::move(tag)) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    logged_on_[id.getSenderCompID().getValue()] = true;
    cv_.notify_all();
  }
  void onLogout(const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& on = logged_on_[id.getSenderCompID().getValue()];
    if (on) logouts_.push_back(mono_ns());
    on = false;
    cv_.notify_all();
  }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message& m,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {
    const std::string type = m.getHeader().getField(FIX::FIELD::MsgType);
    std::lock_guard<std::mutex> lock(mutex_);
    if (type == "A" && field(m, FIX::FIELD::ResetSeqNumFlag) == "Y") ++seq_resets_;
    if (type == "4" && field(m, FIX::FIELD::GapFillFlag) != "Y") ++seq_resets_;
  }
  void fromApp(const FIX::Message& m,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    if (m.getHeader().getField(FIX::FIELD::MsgType) != "8") return;
    const std::int64_t now = mono_ns();
    const std::string cl = field(m, FIX::FIELD::ClOrdID);
    const std::string exec_type = field(m, FIX::FIELD::ExecType);
    const bool poss_dup = field(m.getHeader(), FIX::FIELD::PossDupFlag) == "Y";
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = orders_.find(cl);
    if (it == orders_.end()) return;
    Order& o = it->second;
    if (exec_type == "I") {
      statuses_[cl] = m;
      cv_.notify_all();
      return;
    }
    if (o.answered == 0 && (exec_type == "0" || exec_type == "8")) {
      o.answered = now;
      o.accepted = exec_type == "0";
      latencies_.push_back(now - o.intended);
      answers_.push_back(now);
      ++answered_;
      cv_.notify_all();
    }
    if (exec_type == "F") {
      const std::string exec_id = field(m, FIX::FIELD::ExecID);
      if (!fill_ids_.insert(exec_id).second) {
        if (!poss_dup) ++duplicate_fills_;
        return;
      }
      o.filled_seen += std::atol(field(m, FIX::FIELD::LastQty).c_str());
      ++fills_;
    }
  }

  // Sends one new order on `session`; false when QuickFIX refused it outright.
  bool send(const std::string& session, long n, std::int64_t intended, std::mt19937& rng) {
    const bool buy = rng() % 2 == 0;
    const unsigned step = static_cast<unsigned>(rng() % 21);
    char price[16];
    std::snprintf(price, sizeof price, "%.2f", 99.50 + 0.05 * step);
    const long qty = 1 + static_cast<long>(rng() % 10);
    const std::string cl = session + "-" + std::to_string(n) + "-" + tag_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Order& o = orders_[cl];
      o.intended = intended;
      o.qty = qty;
      o.session = session;
      o.side = buy ? '1' : '2';
      ++sent_;
    }
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "D");
    m.setField(FIX::FIELD::ClOrdID, cl);
    m.setField(FIX::FIELD::Symbol, "ACME");
    m.setField(FIX::FIELD::Side, buy ? "1" : "2");
    m.setField(FIX::TransactTime());
    m.setField(FIX::FIELD::OrderQty, std::to_string(qty));
    m.setField(FIX::FIELD::OrdType, "2");
    m.setField(FIX::FIELD::Price, price);
    m.setField(FIX::FIELD::TimeInForce, "0");
    try {
      // Sent while logged out, QuickFIX keeps it in the session's store: the venue asks for it
      // after the next logon (ResendRequest) and gets it with PossDupFlag=Y.
      FIX::Session::sendToTarget(m, FIX::SessionID("FIX.4.4", session, "VENUE"));
      return true;
    } catch (...) {
      return false;
    }
  }

  bool wait_logged_on(const std::vector<std::string>& sessions, int seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] {
      for (const auto& s : sessions) {
        if (!logged_on_[s]) return false;
      }
      return true;
    });
  }
  void wait_answers(int seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(seconds), [&] { return answered_ >= sent_; });
  }
  long answered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return answered_;
  }

  // Asks for the status of every accepted order, `window` at a time; returns how many answered.
  long verify(int window) {
    std::vector<std::pair<std::string, Order>> accepted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& kv : orders_) {
        if (kv.second.accepted) accepted.push_back(kv);
      }
    }
    std::size_t next = 0;
    const std::int64_t deadline = mono_ns() + 120LL * 1000000000LL;
    while (next < accepted.size() && mono_ns() < deadline) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(200), [&] {
          return static_cast<long>(next) - static_cast<long>(statuses_.size()) < window;
        });
        if (static_cast<long>(next) - static_cast<long>(statuses_.size()) >= window) continue;
      }
      const auto& o = accepted[next++];
      FIX::Message h;
      h.getHeader().setField(FIX::FIELD::MsgType, "H");
      h.setField(FIX::FIELD::ClOrdID, o.first);
      h.setField(FIX::FIELD::Symbol, "ACME");
      h.setField(FIX::FIELD::Side, std::string(1, o.second.side));
      try {
        FIX::Session::sendToTarget(h, FIX::SessionID("FIX.4.4", o.second.session, "VENUE"));
      } catch (...) {
      }
    }
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(20),
                 [&] { return statuses_.size() >= accepted.size(); });
    for (const auto& kv : accepted) {
      auto st = statuses_.find(kv.first);
      if (st == statuses_.end()) {
        ++unverified_;
        continue;
      }
      if (field(st->second, FIX::FIELD::OrdStatus) == "8") {
        ++lost_;
        if (lost_examples_.size() < 5) lost_examples_.push_back(kv.first);
        continue;
      }
      const long cum = std::atol(field(st->second, FIX::FIELD::CumQty).c_str());
      if (orders_[kv.first].filled_seen > cum) ++duplicate_fills_;
    }
    return static_cast<long>(statuses_.size());
  }

  std::string json(double seconds, int sessions, double rate) {
    std::lock_guard<std::mutex> lock(mutex_);
    long unacked = 0;
    for (const auto& kv : orders_) unacked += kv.second.answered == 0 ? 1 : 0;
    // One episode per cutover: the sessions' logouts within 2 s of each other; its gap runs from
    // the last answer before the first logout to the first answer after the last one.
    std::vector<double> gaps;
    std::sort(answers_.begin(), answers_.end());
    std::vector<std::int64_t> logouts = logouts_;
    std::sort(logouts.begin(), logouts.end());
    for (std::size_t i = 0; i < logouts.size();) {
      std::size_t j = i;
      while (j + 1 < logouts.size() && logouts[j + 1] - logouts[j] < 2000000000LL) ++j;
      auto before = std::upper_bound(answers_.begin(), answers_.end(), logouts[i]);
      auto after = std::upper_bound(answers_.begin(), answers_.end(), logouts[j]);
      if (before != answers_.begin() && after != answers_.end()) {
        gaps.push_back(static_cast<double>(*after - *(before - 1)) / 1e6);
      }
      i = j + 1;
    }
    std::sort(latencies_.begin(), latencies_.end());
    const auto pct = [&](double q) -> double {
      if (latencies_.empty()) return 0;
      const std::size_t i =
          std::min(latencies_.size() - 1,
                   static_cast<std::size_t>(q * static_cast<double>(latencies_.size())));
      return static_cast<double>(latencies_[i]) / 1e6;
    };
    std::ostringstream out;
    out << R"({"mode":"sessions","sessions":)" << sessions << R"(,"rate_per_session":)" << rate
        << R"(,"seconds":)" << seconds << R"(,"sent":)" << sent_ << R"(,"answered":)" << answered_
        << R"(,"unacked":)" << unacked << R"(,"lost_orders":)" << lost_ << R"(,"unverified":)"
        << unverified_ << R"(,"fills":)" << fills_ << R"(,"duplicate_fills":)" << duplicate_fills_
        << R"(,"seq_resets":)" << seq_resets_ << R"(,"logouts":)" << logouts_.size()
        << R"(,"client_gap_ms":[)";
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      char b[32];
      std::snprintf(b, sizeof b, "%s%.1f", i == 0 ? "" : ",", gaps[i]);
      out << b;
    }
    char lat[200];
    std::snprintf(
        lat, sizeof lat,
        R"(],"latency_ms":{"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f},"lost_examples":[)",
        pct(0.5), pct(0.99), pct(0.999),
        latencies_.empty() ? 0.0 : static_cast<double>(latencies_.back()) / 1e6);
    out << lat;
    for (std::size_t i = 0; i < lost_examples_.size(); ++i) {
      out << (i == 0 ? "" : ",") << '"' << lost_examples_[i] << '"';
    }
    out << "]}";
    return out.str();
  }

 private:
  std::string tag_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, bool> logged_on_;
  std::map<std::string, Order> orders_;
  std::map<std::string, FIX::Message> statuses_;
  std::set<std::string> fill_ids_;
  std::vector<std::int64_t> latencies_, answers_, logouts_;
  long sent_ = 0, answered_ = 0, fills_ = 0, duplicate_fills_ = 0, seq_resets_ = 0;
  long lost_ = 0, unverified_ = 0;
  std::vector<std::string> lost_examples_;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

int run_sessions(const std::string& host, int port, const std::string& dictionary,
                 const std::string& session_list, double rate, double seconds,
                 const std::string& store_dir) {
  const auto sessions = split(session_list);
  if (sessions.empty() || rate <= 0) {
    std::fprintf(stderr, "fix_load: --mode sessions needs --sessions A,B and --rate > 0\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  Traders traders(std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()));
  FIX::SessionSettings settings;
  FIX::Dictionary d;
  d.setString("ConnectionType", "initiator");
  d.setString("StartTime", "00:00:00");
  d.setString("EndTime", "00:00:00");
  d.setInt("HeartBtInt", 10);
  d.setInt("ReconnectInterval", 1);
  d.setString("SocketConnectHost", host);
  d.setInt("SocketConnectPort", port);
  d.setBool("SocketNodelay", true);
  d.setBool("ResetOnLogon", false);  // a cutover must not need a reset
  d.setBool("PersistMessages", true);
  d.setBool("UseDataDictionary", true);
  d.setString("DataDictionary", dictionary);
  d.setString("FileStorePath", store_dir);
  settings.set(d);
  for (const auto& s : sessions) settings.set(FIX::SessionID("FIX.4.4", s, "VENUE"), {});
  FIX::FileStoreFactory store(settings);
  FIX::SocketInitiator initiator(traders, store, settings);
  initiator.start();
  if (!traders.wait_logged_on(sessions, 20)) {
    std::fprintf(stderr, "fix_load: not every session logged on to %s:%d\n", host.c_str(), port);
    initiator.stop(true);
    return 1;
  }
  std::mt19937 rng(static_cast<unsigned>(mono_ns()));
  const std::int64_t period = static_cast<std::int64_t>(1e9 / rate);
  const std::int64_t start = mono_ns();
  const std::int64_t until =
      seconds > 0 ? start + static_cast<std::int64_t>(seconds * 1e9) : INT64_MAX;
  long n = 0;
  std::int64_t next_progress = start + 1000000000LL;
  long last_answered = 0;
  while (g_stop.load() == 0) {
    const std::int64_t intended = start + n * period;
    if (intended >= until) break;
    while (mono_ns() < intended && g_stop.load() == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    for (const auto& s : sessions) traders.send(s, n, intended, rng);
    ++n;
    if (mono_ns() >= next_progress) {
      next_progress += 1000000000LL;
      const long a = traders.answered();
      std::fprintf(stderr, "fix_load sessions: %ld answered, %ld/s\n", a, a - last_answered);
      last_answered = a;
    }
  }
  const double ran = static_cast<double>(mono_ns() - start) / 1e9;
  traders.wait_logged_on(sessions, 20);
  traders.wait_answers(10);
  traders.verify(64);
  initiator.stop(true);
  std::printf("%s\n", traders.json(ran, static_cast<int>(sessions.size()), rate).c_str());
  std::fflush(stdout);
  return 0;
}
