// fix_load: the FIX load generator (QuickFIX initiator, C++14 like every QuickFIX user here).
//   --mode pingpong   one NewOrderSingle in flight: round trip to its ExecutionReport
//   --mode rate       open loop at --rate orders/s, at most --window in flight; latency counted
//                     from the *intended* send time, so a stall cannot hide (no coordinated
//                     omission)
//   --mode flood      as fast as the --window allows: throughput
//   --latencies FILE  also writes every latency (µs) in the order the answers came
//   --demo 1          with rate mode: a light, realistic flow for the demo (random sides, sizes
//                     and prices around 100 that cross and trade; ClOrdIDs unique per run)
//   --mode sessions   the traders of a deployment drill: --sessions CLIENT1,CLIENT2 at --rate
//                     orders/s each for --seconds (0: until SIGTERM), across the venue's
//                     cutovers, then every acknowledged order's status checked
//                     (fix_load_sessions.cpp; --store DIR for the sessions' FileStore)
// Targets: a running venue (--port), or a floor started in this process for comparison:
//   --floor echo      a plain TCP echo server: the same bytes as a NewOrderSingle, echoed back
//   --floor quickfix  a bare QuickFIX acceptor that answers each order with one ExecutionReport
// Prints a progress line every second and the result as one JSON object on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <quickfix/Application.h>
#include <quickfix/Message.h>
#include <quickfix/NullStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/ThreadedSocketAcceptor.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <random>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Waits for `deadline` (now_ns() time): sleeps while it is more than 30 µs away, then spins.
// The open loop used to spin through every gap, which took one of this machine's two cores
// from the system under test for the whole run (the venue's threads then waited for a core a
// scheduler tick at a time); latency still counts from the intended time, so a late wake-up
// shows in the figures of whatever is measured, floor or venue alike.
void sleep_until(std::int64_t deadline) {
  constexpr std::int64_t kSpinLast = 30'000;
  const std::int64_t now = now_ns();
  if (deadline - now > kSpinLast) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(deadline - now - kSpinLast));
  }
  while (now_ns() < deadline) {
  }
}

struct Options {
  std::string mode = "pingpong";
  std::string floor;  // "", "echo", "quickfix"
  std::string host = "127.0.0.1";
  int port = 9878;
  std::string sender = "CLIENT1", target = "VENUE";
  std::string dictionary;
  std::string symbol = "ACME";
  long orders = 20000;
  double rate = 10000;
  long window = 64;
  long warmup = 1000;
  bool demo = false;
  std::string latencies_out;  // --latencies FILE: every latency in µs, in the order answered
};

std::string arg(int argc, char** argv, const char* name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

struct Result {
  std::vector<std::int64_t> latencies;  // ns
  double seconds = 0;
  long completed = 0;
};

void print_json(const Options& o, const std::string& target, Result& r) {
  if (!o.latencies_out.empty()) {
    // In the order the answers came: where in the run the slow ones were.
    std::FILE* f = std::fopen(o.latencies_out.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "fix_load: --latencies %s: %s\n", o.latencies_out.c_str(),
                   std::strerror(errno));
    } else {
      for (const std::int64_t ns : r.latencies) {
        std::fprintf(f, "%.1f\n", static_cast<double>(ns) / 1000.0);
      }
      std::fclose(f);
    }
  }
  std::sort(r.latencies.begin(), r.latencies.end());
  const auto pct = [&](double q) -> double {
    if (r.latencies.empty()) return 0;
    const std::size_t i =
        std::min(r.latencies.size() - 1,
                 static_cast<std::size_t>(q * static_cast<double>(r.latencies.size())));
    return static_cast<double>(r.latencies[i]) / 1000.0;
  };
  std::printf(
      "{\"mode\":\"%s\",\"target\":\"%s\",\"orders\":%ld,\"window\":%ld,\"rate\":%.0f,"
      "\"seconds\":%.3f,\"throughput_per_s\":%.0f,\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,"
      "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}}\n",
      o.mode.c_str(), target.c_str(), r.completed, o.window, o.mode == "rate" ? o.rate : 0.0,
      r.seconds, r.seconds > 0 ? static_cast<double>(r.completed) / r.seconds : 0.0, pct(0.5),
      pct(0.9), pct(0.99), pct(0.999),
      r.latencies.empty() ? 0.0 : static_cast<double>(r.latencies.back()) / 1000.0);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// The bare QuickFIX floor: answers every NewOrderSingle with one ExecutionReport (New).
class FloorApp : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override {}
  void onLogout(const FIX::SessionID&) override {}
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message& m,
               const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue,
                                               FIX::UnsupportedMessageType) override {
    FIX::Message er;
    er.getHeader().setField(FIX::FIELD::MsgType, "8");
    er.setField(FIX::FIELD::OrderID, std::to_string(++ids_));
    er.setField(FIX::FIELD::ClOrdID, m.getField(FIX::FIELD::ClOrdID));
    er.setField(FIX::FIELD::ExecID, std::to_string(ids_));
    er.setField(FIX::FIELD::ExecType, "0");
    er.setField(FIX::FIELD::OrdStatus, "0");
    er.setField(FIX::FIELD::Symbol, m.getField(FIX::FIELD::Symbol));
    er.setField(FIX::FIELD::Side, m.getField(FIX::FIELD::Side));
    er.setField(FIX::FIELD::LeavesQty, m.getField(FIX::FIELD::OrderQty));
    er.setField(FIX::FIELD::CumQty, "0");
    er.setField(FIX::FIELD::AvgPx, "0");
    FIX::Session::sendToTarget(er, id);
  }

 private:
  std::atomic<long> ids_{0};
};

// ---------------------------------------------------------------------------------------------
// The load-generating client.
class LoadClient : public FIX::Application {
 public:
  explicit LoadClient(long expected, bool demo = false)
      : sent_at_(static_cast<std::size_t>(expected) + 1, 0),
        demo_(demo),
        run_tag_(std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count())),
        rng_(static_cast<unsigned>(now_ns())) {}
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    session_ = id;
    logged_on_ = true;
    cv_.notify_all();
  }
  void onLogout(const FIX::SessionID&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    logged_on_ = false;
    cv_.notify_all();
  }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message& m,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    const std::int64_t t = now_ns();
    if (m.getHeader().getField(FIX::FIELD::MsgType) != "8") return;
    if (m.getField(FIX::FIELD::ExecType) != "0" && m.getField(FIX::FIELD::ExecType) != "8") return;
    const long id = std::atol(m.getField(FIX::FIELD::ClOrdID).c_str() + 1);
    std::lock_guard<std::mutex> lock(mutex_);
    if (id <= 0 || static_cast<std::size_t>(id) >= sent_at_.size()) return;
    if (m.getField(FIX::FIELD::ExecType) == "8") ++rejects_;
    latencies_.push_back(t - sent_at_[static_cast<std::size_t>(id)]);
    ++received_;
    cv_.notify_all();
  }

  bool wait_logon(int seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] { return logged_on_; });
  }
  // Waits until fewer than `window` are in flight; false on timeout.
  bool wait_window(long sent, long window) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return sent - received_ < window; });
  }
  bool wait_all(long sent) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return received_ >= sent; });
  }
  // `intended` is when the order should have gone out (rate mode), else now.
  bool send(long id, const std::string& symbol, std::int64_t intended) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sent_at_[static_cast<std::size_t>(id)] = intended;
    }
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "D");
    m.setField(FIX::FIELD::Symbol, symbol);
    if (demo_) {
      // Prices 99.50..100.50 in 5-cent steps: buys and sells overlap, so some trade at once.
      const bool buy = rng_() % 2 == 0;
      const unsigned step = static_cast<unsigned>(rng_() % 21);
      char price[16];
      std::snprintf(price, sizeof price, "%.2f", 99.50 + 0.05 * step);
      m.setField(FIX::FIELD::ClOrdID, "L" + std::to_string(id) + "-" + run_tag_);
      m.setField(FIX::FIELD::Side, buy ? "1" : "2");
      m.setField(FIX::TransactTime());
      m.setField(FIX::FIELD::OrderQty, std::to_string(1 + rng_() % 10));
      m.setField(FIX::FIELD::OrdType, "2");
      m.setField(FIX::FIELD::Price, price);
    } else {
      m.setField(FIX::FIELD::ClOrdID, "L" + std::to_string(id));
      const bool buy = id % 2 == 0;
      m.setField(FIX::FIELD::Side, buy ? "1" : "2");
      m.setField(FIX::TransactTime());
      m.setField(FIX::FIELD::OrderQty, "1");
      m.setField(FIX::FIELD::OrdType, "2");
      m.setField(FIX::FIELD::Price, buy ? "99.00" : "101.00");  // never crosses: every order rests
    }
    m.setField(FIX::FIELD::TimeInForce, "0");
    try {
      return FIX::Session::sendToTarget(m, session_);
    } catch (...) {
      return false;
    }
  }
  long received() {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }
  long rejects() {
    std::lock_guard<std::mutex> lock(mutex_);
    return rejects_;
  }
  std::vector<std::int64_t> take_latencies(std::size_t skip) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::int64_t> out;
    if (latencies_.size() > skip)
      out.assign(latencies_.begin() + static_cast<long>(skip), latencies_.end());
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  FIX::SessionID session_;
  bool logged_on_ = false;
  std::vector<std::int64_t> sent_at_;
  bool demo_ = false;
  std::string run_tag_;
  std::mt19937 rng_;
  std::vector<std::int64_t> latencies_;
  long received_ = 0;
  long rejects_ = 0;
};

Result run_fix(const Options& o, int port) {
  const long total = o.orders + o.warmup;
  LoadClient client(total, o.demo);
  FIX::SessionSettings settings;
  FIX::Dictionary d;
  d.setString("ConnectionType", "initiator");
  d.setString("StartTime", "00:00:00");
  d.setString("EndTime", "00:00:00");
  d.setInt("HeartBtInt", 30);
  d.setInt("ReconnectInterval", 1);
  d.setString("SocketConnectHost", o.host);
  d.setInt("SocketConnectPort", port);
  d.setBool("SocketNodelay", true);
  d.setBool("ResetOnLogon", true);
  d.setBool("UseDataDictionary", true);
  d.setString("DataDictionary", o.dictionary);
  settings.set(d);
  settings.set(FIX::SessionID("FIX.4.4", o.sender, o.target), FIX::Dictionary());
  FIX::MemoryStoreFactory store;
  FIX::SocketInitiator initiator(client, store, settings);
  initiator.start();
  Result r;
  if (!client.wait_logon(20)) {
    std::fprintf(stderr, "fix_load: no logon to %s:%d as %s\n", o.host.c_str(), port,
                 o.sender.c_str());
    initiator.stop(true);
    return r;
  }
  std::atomic<bool> done{false};
  long sent = 0;
  std::thread progress([&] {
    long last = 0;
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const long now = client.received();
      std::fprintf(stderr, "fix_load %s: %ld/%ld answered, %ld/s, %ld rejected\n", o.mode.c_str(),
                   now, total, now - last, client.rejects());
      last = now;
    }
  });
  const std::int64_t period = static_cast<std::int64_t>(1e9 / std::max(1.0, o.rate));
  std::int64_t start = 0;
  const std::int64_t first = now_ns();
  for (long id = 1; id <= total; ++id) {
    if (id == o.warmup + 1) start = now_ns();
    std::int64_t intended = now_ns();
    if (o.mode == "pingpong") {
      if (!client.wait_window(sent, 1)) break;
      intended = now_ns();
    } else if (o.mode == "rate") {
      intended = first + (id - 1) * period;
      sleep_until(intended);
      if (!client.wait_window(sent, o.window)) break;
    } else {
      if (!client.wait_window(sent, o.window)) break;
      intended = now_ns();
    }
    if (!client.send(id, o.symbol, intended)) break;
    ++sent;
  }
  client.wait_all(sent);
  const std::int64_t end = now_ns();
  done = true;
  progress.join();
  r.latencies = client.take_latencies(static_cast<std::size_t>(o.warmup));
  r.completed = static_cast<long>(r.latencies.size());
  r.seconds = static_cast<double>(end - start) / 1e9;
  initiator.stop(true);
  return r;
}

// ---------------------------------------------------------------------------------------------
// The network floor: the same bytes as an order, echoed by a plain TCP server (pingpong only).
Result run_echo(const Options& o) {
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
  ::listen(server, 1);
  std::thread echo([server] {
    const int c = ::accept(server, nullptr, nullptr);
    int yes = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      if (::write(c, buf, static_cast<std::size_t>(n)) != n) break;
    }
    ::close(c);
  });
  const int c = ::socket(AF_INET, SOCK_STREAM, 0);
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const std::string order =
      "8=FIX.4.4\x01"
      "9=125\x01"
      "35=D\x01"
      "34=1\x01"
      "49=CLIENT1\x01"
      "52=20261127-12:00:00.000\x01"
      "56=VENUE\x01"
      "11=L1\x01"
      "38=1\x01"
      "40=2\x01"
      "44=99.00\x01"
      "54=1\x01"
      "55=ACME\x01"
      "59=0\x01"
      "60=20261127-12:00:00\x01"
      "10=000\x01";
  Result r;
  char buf[4096];
  std::int64_t start = 0;
  for (long i = 0; i < o.orders + o.warmup; ++i) {
    if (i == o.warmup) start = now_ns();
    const std::int64_t t0 = now_ns();
    if (::write(c, order.data(), order.size()) != static_cast<ssize_t>(order.size())) break;
    std::size_t got = 0;
    while (got < order.size()) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (i >= o.warmup) r.latencies.push_back(now_ns() - t0);
  }
  r.seconds = static_cast<double>(now_ns() - start) / 1e9;
  r.completed = static_cast<long>(r.latencies.size());
  ::shutdown(c, SHUT_RDWR);
  ::close(c);
  echo.join();
  ::close(server);
  return r;
}

}  // namespace

// The venue's dictionary installed with this binary (../share/guarded-venue/trading-engine/ from
// its directory), else the copy CMake puts beside it in the build tree: never a source path.
std::string default_dictionary() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string dir = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("./x");
  dir = dir.substr(0, dir.rfind('/'));
  const std::string installed = dir + "/../share/guarded-venue/trading-engine/FIX44-venue.xml";
  return ::access(installed.c_str(), R_OK) == 0 ? installed : dir + "/FIX44-venue.xml";
}

int run_sessions(const std::string& host, int port, const std::string& dictionary,
                 const std::string& session_list, double rate, double seconds,
                 const std::string& store_dir);

int main(int argc, char** argv) {
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // sleeps end when asked (sleep_until)
  Options o;
  o.mode = arg(argc, argv, "--mode", o.mode);
  if (o.mode == "sessions") {
    return run_sessions(arg(argc, argv, "--host", o.host),
                        std::atoi(arg(argc, argv, "--port", std::to_string(o.port)).c_str()),
                        arg(argc, argv, "--dictionary", default_dictionary()),
                        arg(argc, argv, "--sessions", "CLIENT1,CLIENT2"),
                        std::atof(arg(argc, argv, "--rate", "100").c_str()),
                        std::atof(arg(argc, argv, "--seconds", "0").c_str()),
                        arg(argc, argv, "--store", "fix-load-store"));
  }
  o.floor = arg(argc, argv, "--floor", o.floor);
  o.host = arg(argc, argv, "--host", o.host);
  o.port = std::atoi(arg(argc, argv, "--port", std::to_string(o.port)).c_str());
  o.sender = arg(argc, argv, "--sender", o.sender);
  o.target = arg(argc, argv, "--target", o.target);
  o.symbol = arg(argc, argv, "--symbol", o.symbol);
  o.dictionary = arg(argc, argv, "--dictionary", default_dictionary());
  o.orders = std::atol(arg(argc, argv, "--orders", std::to_string(o.orders)).c_str());
  o.rate = std::atof(arg(argc, argv, "--rate", "10000").c_str());
  o.window = std::atol(arg(argc, argv, "--window", std::to_string(o.window)).c_str());
  o.warmup = std::atol(arg(argc, argv, "--warmup", std::to_string(o.warmup)).c_str());
  o.demo = arg(argc, argv, "--demo", "0") == "1";
  o.latencies_out = arg(argc, argv, "--latencies", "");
  if (!o.latencies_out.empty()) {
    // Before the run, not after it: a path that cannot be written is said at once.
    std::FILE* f = std::fopen(o.latencies_out.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "fix_load: --latencies %s: %s\n", o.latencies_out.c_str(),
                   std::strerror(errno));
      return 2;
    }
    std::fclose(f);
  }
  if (o.mode != "pingpong" && o.mode != "rate" && o.mode != "flood") {
    std::fprintf(stderr, "fix_load: --mode must be pingpong, rate, flood or sessions\n");
    return 2;
  }
  if (o.orders <= 0 || o.window <= 0 || o.rate <= 0 || o.warmup < 0) {
    std::fprintf(stderr, "fix_load: --orders, --window and --rate must be > 0\n");
    return 2;
  }
  if (o.floor == "echo") {
    Result r = run_echo(o);
    print_json(o, "echo-floor", r);
    return 0;
  }
  if (o.floor == "quickfix") {
    FloorApp app;
    FIX::SessionSettings settings;
    FIX::Dictionary d;
    d.setString("ConnectionType", "acceptor");
    d.setString("StartTime", "00:00:00");
    d.setString("EndTime", "00:00:00");
    d.setInt("SocketAcceptPort", o.port);
    d.setBool("SocketNodelay", true);
    d.setBool("SocketReuseAddress", true);
    d.setBool("UseDataDictionary", true);
    d.setString("DataDictionary", o.dictionary);
    settings.set(d);
    settings.set(FIX::SessionID("FIX.4.4", o.target, o.sender), FIX::Dictionary());
    FIX::MemoryStoreFactory store;
    std::unique_ptr<FIX::ThreadedSocketAcceptor> acceptor(
        new FIX::ThreadedSocketAcceptor(app, store, settings));
    acceptor->start();
    Result r = run_fix(o, o.port);
    acceptor->stop(true);
    acceptor.reset();
    print_json(o, "quickfix-floor", r);
    return r.completed > 0 ? 0 : 1;
  }
  Result r = run_fix(o, o.port);
  print_json(o, "venue", r);
  return r.completed > 0 ? 0 : 1;
}
