// FixAcceptor: the venue's FIX 4.4 sessions, behind a QuickFIX-free interface (this header is
// C++14 and includes no QuickFIX). QuickFIX does the session layer (logon, heartbeats, sequence
// numbers, resend, validation against the venue's dictionary); this class turns each validated
// application message into a fix::Request for the Handler and sends the replies.
// Threads: the Handler is called from one thread per connection; the send calls are
// thread-safe and never block (the venue's own sockets, src/socket_acceptor.hpp): what the
// client's socket does not take at once waits in a bounded per-session queue, and a session whose
// queue overflows is logged out and disconnected with its resend store intact.
// Backpressure: at most max_in_flight requests per session are between on_request and
// complete(); the session's thread waits for a slot, so a flooding client is slowed at its own
// socket and other sessions are not affected.
// Guaranteed delivery across a crash: the incoming sequence number a session store keeps on disk
// only passes a message once complete() says it was handled (journaled and answered), so after
// a kill -9 the venue asks for a resend of every message it consumed but had not handled.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trading/fix/messages.hpp"

namespace trading {
namespace fix {

struct SessionConfig {
  std::string venue_comp_id;    // our SenderCompID
  std::string client_comp_id;   // theirs; a logon from any other CompID is refused
  std::string account;          // the account orders of this session trade for by default
  int reset_on_logon = -1;      // 1/0: this session's own choice; -1: AcceptorSettings'
  std::string dictionary_path;  // this session's dictionary; empty: AcceptorSettings'
};

struct AcceptorSettings {
  int port = 9878;
  std::string dictionary_path;  // the venue's FIX44 dictionary
  std::string store_directory;  // sequence numbers and sent messages; empty = in memory
  // "mapped" (MappedSessionStore: memory-mapped files, no system call per message) or "file"
  // (QuickFIX's FileStore: fflush per message). Both survive a process crash; neither fsyncs.
  std::string store_kind = "mapped";
  std::string log_directory;    // QuickFIX message logs; empty = none
  bool reset_on_logon = false;  // true: both sides start again at 1 on every logon
  std::vector<SessionConfig> sessions;
  std::size_t max_in_flight = 64;  // per session
  // TLS (QuickFIX's SSL acceptor): certificate and key in PEM; empty = plain TCP.
  std::string tls_certificate, tls_private_key;
  std::size_t max_outbound_bytes = 8u << 20;  // per session: queued replies before a disconnect
  int logon_timeout_ms = 10'000;              // from accept to a completed logon
  std::size_t max_connections = 64;           // connections at once, logged on or not
  // SO_SNDBUF of each connection (0: the kernel's, which grows to megabytes): with a fixed size
  // a client that stops reading reaches max_outbound_bytes after a known amount of data.
  std::size_t socket_send_buffer = 0;
  // Microseconds a connection's thread polls its socket without waiting before it sleeps (one
  // connection at a time; 0: never): with the engine on the session threads (inline), an order
  // that follows soon after the last finds the thread awake. Costs a core while it spins.
  int spin_us = 0;
  // Disconnects and refusals worth an operator's eye: (client CompID or "", what happened).
  std::function<void(const std::string&, const std::string&)> on_event;
};

struct ConnectionCounters {
  std::uint64_t accepted = 0, refused = 0, logon_timeouts = 0, oversize = 0;
  std::uint64_t overflow_disconnects = 0;
  std::uint64_t messages_sent = 0, socket_writes = 0;
};

struct SessionStatus {
  std::uint32_t index = 0;
  std::string venue_comp_id, client_comp_id;
  bool logged_on = false;
  int next_sender_seq = 0, next_target_seq = 0;
  std::uint64_t requests = 0;
  std::size_t in_flight = 0;
  std::size_t max_in_flight_seen = 0;  // high-water mark since start, taken where it is enforced
  std::size_t outbound_bytes = 0;      // replies queued because the client's socket is full
};

class Handler {
 public:
  virtual ~Handler() = default;
  // A validated application request. Must not throw; must eventually lead to
  // FixAcceptor::complete(request.session) (after the replies are sent).
  virtual void on_request(Request&& request) = 0;
  virtual void on_session(std::uint32_t session, bool logged_on) = 0;
  // Called on a connection's thread once it has delivered every message of one socket read,
  // before it waits for an in-flight slot, and before the connection closes: a handler that
  // holds this thread's requests back, to handle a read's requests together (one journal
  // commit, one socket write), handles them now. Must not throw.
  virtual void flush_requests() {}
};

class FixAcceptor {
 public:
  virtual ~FixAcceptor() = default;
  // Builds the acceptor (QuickFIX settings, stores, dictionary); an empty pointer and `error`
  // when the settings are wrong.
  static std::unique_ptr<FixAcceptor> create(const AcceptorSettings& settings, Handler& handler,
                                             std::string* error);
  virtual bool start(std::string* error) = 0;
  // Logs every session out with `logout_text` (waits up to `grace_seconds` for the logouts) and
  // stops.
  virtual void stop(int grace_seconds, const std::string& logout_text) = 0;
  // From now on application requests are not handled (sessions stay logged on): each one is
  // left for the client to resend after it logs on again, its number never kept as received.
  // A handover calls it, lets what is in flight finish, then stops.
  virtual void hold_requests() = 0;
  // Requests taken and not yet completed, over all sessions.
  virtual std::size_t in_flight() const = 0;

  // Each returns false when the session is not logged on (the message is not queued).
  virtual bool send(std::uint32_t session, const ExecutionReport& report) = 0;
  virtual bool send(std::uint32_t session, const OrderCancelReject& reject) = 0;
  virtual bool send(std::uint32_t session, const MassCancelReport& report) = 0;
  virtual bool send(std::uint32_t session, const MarketDataSnapshot& snapshot) = 0;
  virtual bool send(std::uint32_t session, const MarketDataIncremental& update) = 0;
  virtual bool send(std::uint32_t session, const MarketDataReject& reject) = 0;
  virtual bool send(std::uint32_t session, const SecurityList& list) = 0;
  // The sends this thread makes from begin_replies() to end_replies() go out together, one
  // socket write per connection at the end (a batch's reports no longer cost a system call
  // and a TCP segment each); begin/end nest. Nothing is sent out of order meanwhile.
  virtual void begin_replies() = 0;
  virtual void end_replies() = 0;
  // A request of `session` is fully handled (journaled and answered): frees its in-flight slot
  // and lets the session store keep its sequence number. Requests complete in the order they
  // were received, per session.
  virtual void complete(std::uint32_t session) = 0;
  // After the last request completed (shutdown): every session store keeps the numbers
  // QuickFIX holds in memory.
  virtual void persist_sequence_numbers() = 0;

  // The port the acceptor listens on (the chosen one when configured as 0).
  virtual int port() const = 0;
  virtual ConnectionCounters connection_counters() const = 0;

  // A session added at run time (approved by a second person): logons from its client CompID
  // are taken from now on, with its own store like a configured session. Its index (in
  // sessions() and the Handler's calls) is the next one. False and `error` when the client
  // CompID has a session already, too many were added, or its store cannot be opened.
  virtual bool add_session(const SessionConfig& session, std::uint32_t* index,
                           std::string* error) = 0;

  virtual std::vector<SessionStatus> sessions() const = 0;
  virtual bool any_logged_on() const = 0;
};

}  // namespace fix
}  // namespace trading
