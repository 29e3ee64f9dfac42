// VenueSocketAcceptor: QuickFIX's session layer (FIX::Acceptor, FIX::Session) over the venue's own
// sockets, replacing QuickFIX's ThreadedSocketAcceptor / ThreadedSSLSocketAcceptor, whose send()
// blocks the caller until a client reads (one client that stops reading stalled the engine
// thread and, through it, every session) and which neither time out a connection that never
// logs on nor bound what a peer can make them buffer.
// Here every connection has one thread that reads, frames (FixFramer, bounded), feeds its
// Session and flushes; a send from any other thread (the engine) never blocks: it writes what
// the socket takes now and queues the rest, up to a per-connection bound. A connection whose
// queue overflows is logged out with a reason and closed; the Session keeps every message in
// its store, so a resend after the reconnect delivers them. Optional TLS through OpenSSL
// memory BIOs (the handshake is bounded by the logon timeout).
// Private to the QuickFIX island (C++14). Thread-safety: see each member.
#pragma once

#include <quickfix/Acceptor.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace trading {
namespace fix {

struct SocketOptions {
  int port = 9878;  // 0: any free port (see VenueSocketAcceptor::port())
  std::string tls_certificate, tls_private_key;  // PEM; empty: plain TCP
  std::size_t max_outbound_bytes = 8u << 20;     // per connection, for sends of other threads
  int logon_timeout_ms = 10'000;                 // from accept to a completed logon
  std::size_t max_prelogon_message = 4096;       // BodyLength bound before logon
  std::size_t max_message = 1u << 20;            // BodyLength bound after logon
  std::size_t max_connections = 64;              // connections at once (each has a thread)
  std::size_t socket_send_buffer = 0;  // SO_SNDBUF of each connection; 0: the kernel default
  // Before a connection's thread sleeps in poll() it polls its socket without waiting for this
  // long (yielding the core between polls), so that a message arriving soon after the last one
  // finds the thread awake. One connection spins at a time. 0: never.
  std::int64_t spin_ns = 0;
  // Disconnects and refusals worth an operator's eye: (client CompID or "", what happened).
  // Called from connection threads.
  std::function<void(const std::string&, const std::string&)> on_event;
  // Called on a connection's thread after it fed its Session the messages of one socket read
  // (and the timers' run), and before the connection closes. May be empty.
  std::function<void()> on_read_done;
};

struct SocketCounters {
  std::atomic<std::uint64_t> accepted{0}, refused{0}, logon_timeouts{0}, oversize{0};
  std::atomic<std::uint64_t> overflow_disconnects{0};
  // Messages the sessions sent, and the send() calls that carried them (a batch's replies to
  // one connection share one).
  std::atomic<std::uint64_t> messages_sent{0}, socket_writes{0};
};

class Connection;

class VenueSocketAcceptor final : public FIX::Acceptor {
 public:
  // Throws FIX::ConfigError (bad settings, TLS files) like QuickFIX's acceptors.
  VenueSocketAcceptor(FIX::Application& application, FIX::MessageStoreFactory& stores,
                      const FIX::SessionSettings& settings, FIX::LogFactory& logs,
                      SocketOptions options);
  ~VenueSocketAcceptor() override;

  // The bound port once start() returned (useful with port 0). Any thread.
  int port() const { return bound_port_.load(); }
  const SocketCounters& counters() const { return counters_; }
  // Bytes queued for the session's connection (0 when none is connected). Any thread.
  std::size_t outbound_bytes(const FIX::SessionID& id);
  // A session created after start (its Session object exists, registered by QuickFIX): new
  // connections may log on for it. Any thread.
  void allow_session(const FIX::SessionID& id);
  // Every connected session is logged out with `text` (on its connection's thread, the Logout
  // sent at once). Any thread.
  void logout_connected(const std::string& text);

  // Sends on this thread between begin_coalescing() and end_coalescing() (nestable, on the
  // same acceptor) to this acceptor's connections gather per connection and are written at the
  // end, one write per connection instead of one per message (or earlier, once 4 KB have
  // gathered). Anything sent to that connection from another thread meanwhile goes out after
  // them, so the sequence numbers stay in order. The engine thread brackets a batch's replies
  // with it. Any thread, for itself.
  void begin_coalescing();
  void end_coalescing();
  bool coalescing_on_this_thread() const;
  static void note_pending(Connection* connection);

  // Connection callbacks (connection threads).
  const SocketOptions& options() const { return options_; }
  SocketCounters& mutable_counters() { return counters_; }
  // The one spinning connection's turn (SocketOptions::spin_ns): true when taken.
  bool take_spin() { return !spinning_.exchange(true, std::memory_order_acquire); }
  void give_spin() { spinning_.store(false, std::memory_order_release); }
  SSL_CTX* tls() const { return tls_; }
  // An event in the acceptor's own FIX log (connections that have no session yet).
  void log_event(const std::string& text);
  void attach(const FIX::SessionID& id, Connection* connection);
  void detach(const FIX::SessionID& id, Connection* connection);

 private:
  void onConfigure(const FIX::SessionSettings&) throw(FIX::ConfigError) override {}
  void onInitialize(const FIX::SessionSettings&) throw(FIX::RuntimeError) override;
  void onStart() override;
  bool onPoll(double) override { return false; }
  void onStop() override;
  void reap(bool all);

  SocketOptions options_;
  SSL_CTX* tls_ = nullptr;
  int listen_fd_ = -1;
  std::atomic<int> bound_port_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> spinning_{false};  // a connection is spinning on its socket
  SocketCounters counters_;
  struct Running {
    std::shared_ptr<Connection> connection;
    std::thread thread;
  };
  std::mutex log_mutex_;  // getLog()
  std::mutex mutex_;      // connections_, attached_, added_
  std::vector<Running> connections_;
  std::vector<std::pair<FIX::SessionID, Connection*>> attached_;
  std::set<FIX::SessionID> added_;  // sessions allowed after start (allow_session)
};

}  // namespace fix
}  // namespace trading
