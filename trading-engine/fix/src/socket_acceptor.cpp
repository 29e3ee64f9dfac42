#include "socket_acceptor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <quickfix/Session.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <thread>

#include "trading/fix/framer.hpp"

namespace trading {
namespace fix {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string tls_error_text() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

}  // namespace

// One accepted socket: its thread reads, frames, feeds the Session, keeps time and flushes.
// send()/disconnect() are the FIX::Responder side, called by QuickFIX from any thread (under
// the Session's lock); they never block.
class Connection final : public FIX::Responder {
 public:
  Connection(VenueSocketAcceptor& owner, int fd, std::set<FIX::SessionID> sessions)
      : owner_(owner), fd_(fd), sessions_(std::move(sessions)) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    accepted_ = SteadyClock::now();
  }
  ~Connection() override {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    ::close(fd_);
  }

  bool finished() const { return finished_.load(); }
  void set_thread(std::thread::id id) { thread_id_.store(id); }
  std::size_t outbound_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return outbound_bytes_;
  }
  void request_close() {
    closing_.store(true);
    wake();
  }
  // Runs the session's timers now instead of at the next second (a logout the venue started
  // goes out at once).
  void request_tick() {
    tick_requested_.store(true);
    wake();
  }
  // Logs the session out with `text` on this connection's own thread, then runs its timers (the
  // Logout goes out at once). QuickFIX's Session::logout disables the session before it stores
  // the reason: a timer run on this thread in between sent a Logout without the Text.
  void request_logout(const std::string& text) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      logout_text_ = text;
    }
    logout_requested_.store(true);
    wake();
  }

  void run() {
    if (owner_.tls() != nullptr && !start_tls()) {
      finish();
      return;
    }
    char buf[64 * 1024];
    auto next_tick = SteadyClock::now() + std::chrono::seconds(1);
    while (!closing_.load()) {
      pollfd fds[2];
      fds[0].fd = fd_;
      // A client being cut off is not read any more: what it sent after the cut is its to send
      // again after a reconnect (nothing of it was acknowledged), and the cut never waits on
      // how fast the venue can work through a flood still in the socket.
      fds[0].events = overflow_handled_ ? 0 : POLLIN;
      if (has_outbound()) fds[0].events |= POLLOUT;
      fds[0].revents = 0;
      fds[1].fd = wake_fd_;
      fds[1].events = POLLIN;
      fds[1].revents = 0;
      const auto now = SteadyClock::now();
      const int timeout = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count()));
      int ready = 0;
      if (owner_.options().spin_ns > 0 && timeout > 0 && owner_.take_spin()) {
        ready = spin_poll(fds);
        owner_.give_spin();
      }
      if (ready == 0) ready = ::poll(fds, 2, timeout);
      if (ready < 0 && errno != EINTR) {
        event(std::string("poll: ") + std::strerror(errno));
        break;
      }
      if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
        std::uint64_t drained = 0;
        (void)!::read(wake_fd_, &drained, sizeof drained);
      }
      if (ready > 0 && (fds[0].revents & POLLOUT) != 0 && !flush()) {
        event(std::string("send: ") + std::strerror(errno));
        break;
      }
      if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        if (overflow_handled_) break;  // gone while being cut off
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
          if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
          if (n < 0 && !closing_.load()) event(std::string("recv: ") + std::strerror(errno));
          break;  // peer closed or reset
        }
        const bool keep = received(buf, static_cast<std::size_t>(n));
        read_done();
        if (!keep) break;
      }
      if (overflowed_.load() && !overflow_handled_) start_overflow_logout();
      if (overflow_handled_ && (!has_outbound() || SteadyClock::now() >= linger_until_)) break;
      if (logout_requested_.exchange(false)) {
        std::string text;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          text = logout_text_;
        }
        if (session_ != nullptr && session_->isLoggedOn()) session_->logout(text);
        tick_requested_.store(true);
      }
      if (tick_requested_.exchange(false) || SteadyClock::now() >= next_tick) {
        next_tick = SteadyClock::now() + std::chrono::seconds(1);
        const bool keep = tick();
        read_done();
        if (!keep) break;
      }
    }
    read_done();
    finish();
  }

  void read_done() {
    if (owner_.options().on_read_done) owner_.options().on_read_done();
  }

  // Polls without waiting until something is ready or SocketOptions::spin_ns has passed, giving
  // the core to other threads between polls: poll()'s result (0: nothing within the spin).
  int spin_poll(pollfd* fds) {
    const auto until = SteadyClock::now() + std::chrono::nanoseconds(owner_.options().spin_ns);
    while (true) {
      const int ready = ::poll(fds, 2, 0);
      if (ready != 0 || SteadyClock::now() >= until) return ready;
      std::this_thread::yield();
    }
  }

  // --- FIX::Responder (any thread, under the Session's lock) ---
  bool send(const std::string& message) override {
    if (closing_.load()) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    if (overflowed_.load() && !logout_pass_) {
      return true;  // in the Session's store: delivered by a resend after the reconnect
    }
    owner_.mutable_counters().messages_sent.fetch_add(1, std::memory_order_relaxed);
    if (owner_.coalescing_on_this_thread()) {
      // Kept for one write at the end of the caller's batch (or once enough has gathered).
      if (pending_.empty()) VenueSocketAcceptor::note_pending(this);
      pending_ += message;
      if (pending_.size() < kCoalesceBytes) return true;
      return write_pending_locked();
    }
    if (!pending_.empty()) {
      // What an earlier batch left goes first: the stream keeps the sequence numbers' order.
      pending_ += message;
      return write_pending_locked();
    }
    return write_locked(message);
  }

  // Writes what send() gathered while its thread was coalescing. Any thread.
  bool flush_pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.empty() || closing_.load()) return true;
    return write_pending_locked();
  }

  void disconnect() override {
    closing_.store(true);
    ::shutdown(fd_, SHUT_RDWR);
    wake();
  }

 private:
  // A batch's reports gathered past this are written at once (bounds the wait of its first).
  static constexpr std::size_t kCoalesceBytes = 4 * 1024;

  bool write_pending_locked() {
    std::string chunk;
    chunk.swap(pending_);
    const bool written = write_locked(chunk);
    chunk.clear();
    if (pending_.empty()) pending_.swap(chunk);  // keeps the buffer's room for the next batch
    return written;
  }

  // Puts `message` on the wire or, when the socket is full, in the outbound queue for the
  // connection's thread. mutex_ held.
  bool write_locked(const std::string& message) {
    if (overflowed_.load() && !logout_pass_) return true;  // see send()
    std::string payload;
    const std::string* bytes = &message;
    if (ssl_ != nullptr) {
      if (SSL_write(ssl_, message.data(), static_cast<int>(message.size())) <= 0) {
        closing_.store(true);
        wake();
        return false;
      }
      drain_tls_output(payload);
      bytes = &payload;
    }
    std::size_t sent = 0;
    if (outbound_.empty()) {
      owner_.mutable_counters().socket_writes.fetch_add(1, std::memory_order_relaxed);
      const ssize_t n = ::send(fd_, bytes->data(), bytes->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        closing_.store(true);
        wake();
        return false;
      }
      sent = n > 0 ? static_cast<std::size_t>(n) : 0;
      if (sent == bytes->size()) return true;
    }
    // The socket is full: queue the rest for the connection's thread.
    outbound_.emplace_back(*bytes, sent);
    outbound_bytes_ += bytes->size() - sent;
    // The answer to a ResendRequest gets more room: QuickFIX writes it in one go (it has
    // already read all of it from the store into memory), and the client is reading then.
    const bool resending = answering_resend_ && std::this_thread::get_id() == thread_id_.load();
    const std::size_t bound = owner_.options().max_outbound_bytes * (resending ? 64 : 1);
    if (outbound_bytes_ > bound && !overflowed_.load()) {
      overflow_queued_ = outbound_bytes_;
      overflowed_.store(true);
      if (ssl_ == nullptr) {
        // Forget what has not started on the wire (all of it is in the store); the message
        // being written stays, so the stream never carries half a message before the Logout.
        while (outbound_.size() > 1) {
          outbound_bytes_ -= outbound_.back().first.size() - outbound_.back().second;
          outbound_.pop_back();
        }
      }
    }
    wake();
    return true;
  }

  void wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }

  bool has_outbound() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !outbound_.empty();
  }

  // MsgType (35) is the third field of every message: found within the first bytes.
  // A one-character MsgType ('\0' for a longer one or none): the session-level messages
  // (Heartbeat, TestRequest, ResendRequest, Reject, SequenceReset, Logout: 0-5, Logon: A) are
  // told apart with one look at the message.
  static char short_msg_type(const std::string& message) {
    const std::size_t at = message.find(
        "\x01"
        "35=");
    if (at == std::string::npos || at + 5 >= message.size() || message[at + 5] != '\x01') {
      return '\0';
    }
    return message[at + 4];
  }
  static bool is_session_message(char type) { return (type >= '0' && type <= '5') || type == 'A'; }

  // Writes what the socket takes now; false when the connection is broken.
  bool flush() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!outbound_.empty()) {
      auto& front = outbound_.front();
      owner_.mutable_counters().socket_writes.fetch_add(1, std::memory_order_relaxed);
      const ssize_t n = ::send(fd_, front.first.data() + front.second,
                               front.first.size() - front.second, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      front.second += static_cast<std::size_t>(n);
      outbound_bytes_ -= static_cast<std::size_t>(n);
      if (front.second < front.first.size()) return true;
      outbound_.pop_front();
    }
    return true;
  }

  bool start_tls() {
    ssl_ = SSL_new(owner_.tls());
    if (ssl_ == nullptr) return false;
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in, out);  // ssl_ owns both
    in_ = in;
    out_ = out;
    SSL_set_accept_state(ssl_);
    return true;
  }

  // Ciphertext the TLS engine produced (handshake records, encrypted messages). mutex_ held.
  void drain_tls_output(std::string& into) {
    char buf[16 * 1024];
    int n = 0;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0) into.append(buf, static_cast<std::size_t>(n));
  }

  // Bytes from the socket; false to close the connection.
  bool received(const char* data, std::size_t size) {
    if (ssl_ == nullptr) {
      framer_.append(data, size);
    } else {
      std::string plain, cipher;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        BIO_write(in_, data, static_cast<int>(size));
        char buf[16 * 1024];
        while (true) {
          const int n = SSL_read(ssl_, buf, sizeof buf);
          if (n > 0) {
            plain.append(buf, static_cast<std::size_t>(n));
            continue;
          }
          const int error = SSL_get_error(ssl_, n);
          if (error == SSL_ERROR_WANT_READ) break;
          if (error == SSL_ERROR_ZERO_RETURN) return false;
          event("TLS error: " + tls_error_text());
          return false;
        }
        drain_tls_output(cipher);
        if (!cipher.empty()) {
          outbound_.emplace_back(std::move(cipher), 0);
          outbound_bytes_ += outbound_.back().first.size();
        }
      }
      if (!flush()) return false;
      framer_.append(plain.data(), plain.size());
    }
    std::string message;
    while (true) {
      // The client stopped reading: take nothing more from it (see run()).
      if (overflowed_.load()) return true;
      const bool logged_on = session_ != nullptr && session_->isLoggedOn();
      const std::size_t bound =
          logged_on ? owner_.options().max_message : owner_.options().max_prelogon_message;
      const FixFramer::Status status = framer_.next(message, bound);
      if (status == FixFramer::Status::kNeedMore) return true;
      if (status == FixFramer::Status::kTooLarge) {
        owner_.mutable_counters().oversize.fetch_add(1);
        event(std::string("message larger than ") + std::to_string(bound) + " bytes" +
              (logged_on ? "" : " before logon") + ": disconnecting");
        return false;
      }
      if (!deliver(message)) return false;
    }
  }

  bool deliver(const std::string& message) {
    if (session_ == nullptr && !bind_session(message)) return false;
    // The requests read before a session-level message are handled (and answered) before it:
    // a Logout's reply never overtakes the reports of the orders sent ahead of it.
    const char type = short_msg_type(message);
    if (is_session_message(type)) read_done();
    try {
      answering_resend_ = type == '2';
      session_->next(message, FIX::UtcTimeStamp());
      answering_resend_ = false;
    } catch (const FIX::InvalidMessage&) {
      answering_resend_ = false;
      if (!session_->isLoggedOn()) return false;
    } catch (const std::exception& e) {
      answering_resend_ = false;
      event(std::string("error handling a message: ") + e.what());
      return false;
    }
    return !closing_.load();
  }

  // The first message names the session (reversed CompIDs); it must be a Logon for one of
  // this port's sessions that no other connection holds.
  bool bind_session(const std::string& message) {
    FIX::Message header;
    std::string type;
    if (header.setStringHeader(message) && header.getHeader().isSetField(FIX::FIELD::MsgType)) {
      type = header.getHeader().getField(FIX::FIELD::MsgType);
    }
    if (type != "A") {
      event("first message is not a Logon: disconnecting");
      return false;
    }
    FIX::Session* found = FIX::Session::lookupSession(message, true);
    if (found == nullptr || sessions_.count(found->getSessionID()) == 0) {
      owner_.log_event("Session not found for incoming message: logon refused");
      event("logon for an unknown session: disconnecting");
      return false;
    }
    const FIX::SessionID id = found->getSessionID();
    FIX::Session* registered = nullptr;
    // A previous connection of the same session may still be closing: give it a moment.
    for (int attempt = 0; attempt < 10 && registered == nullptr; ++attempt) {
      if (!FIX::Session::isSessionRegistered(id)) registered = FIX::Session::registerSession(id);
      if (registered == nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (registered == nullptr) {
      event("session " + id.toString() + " is already connected: disconnecting");
      return false;
    }
    session_ = registered;
    session_->setResponder(this);
    owner_.attach(id, this);
    return true;
  }

  // Once a second: the Session's timers (heartbeats, test requests, logout timeout) and the
  // logon deadline. False to close.
  bool tick() {
    const bool logged_on = session_ != nullptr && session_->isLoggedOn();
    if (!logged_on && !logged_on_once_ &&
        SteadyClock::now() - accepted_ >=
            std::chrono::milliseconds(owner_.options().logon_timeout_ms)) {
      owner_.mutable_counters().logon_timeouts.fetch_add(1);
      event("no logon within " + std::to_string(owner_.options().logon_timeout_ms) +
            " ms: disconnecting");
      return false;
    }
    logged_on_once_ = logged_on_once_ || logged_on;
    if (session_ != nullptr) {
      try {
        session_->next(FIX::UtcTimeStamp());
      } catch (const std::exception& e) {
        event(std::string("session timer: ") + e.what());
      }
    }
    return !closing_.load();
  }

  // The client stopped reading: a Logout with the reason goes behind what is already on the
  // wire; the connection closes once that is written or after a short linger.
  void start_overflow_logout() {
    overflow_handled_ = true;
    owner_.mutable_counters().overflow_disconnects.fetch_add(1);
    const std::string reason = "outbound queue over " +
                               std::to_string(owner_.options().max_outbound_bytes) +
                               " bytes: the client is not reading; disconnecting";
    std::size_t queued = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);  // written by the sending thread under it
      queued = overflow_queued_;
    }
    event(reason + " (" + std::to_string(queued) + " bytes queued)");
    if (session_ != nullptr && ssl_ == nullptr) {
      FIX::Message logout;
      logout.getHeader().setField(FIX::FIELD::MsgType, "5");
      logout.setField(FIX::FIELD::Text, reason);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        logout_pass_ = true;
      }
      try {
        session_->send(logout);
      } catch (...) {
      }
      std::lock_guard<std::mutex> lock(mutex_);
      logout_pass_ = false;
    }
    linger_until_ = SteadyClock::now() + std::chrono::seconds(2);
  }

  void event(const std::string& text) {
    if (session_ != nullptr) {
      session_->getLog()->onEvent(text);
    } else {
      owner_.log_event(text);
    }
    if (owner_.options().on_event) {
      owner_.options().on_event(session_ != nullptr
                                    ? session_->getSessionID().getTargetCompID().getString()
                                    : std::string(),
                                text);
    }
  }

  void finish() {
    closing_.store(true);
    if (session_ != nullptr) {
      const FIX::SessionID id = session_->getSessionID();
      try {
        session_->disconnect();  // clears the responder under the Session's lock; onLogout
      } catch (...) {
      }
      owner_.detach(id, this);
      FIX::Session::unregisterSession(id);
      session_ = nullptr;
    }
    ::shutdown(fd_, SHUT_RDWR);
    finished_.store(true);
  }

  VenueSocketAcceptor& owner_;
  const int fd_;
  const std::set<FIX::SessionID> sessions_;
  int wake_fd_ = -1;
  std::atomic<std::thread::id> thread_id_{};
  SteadyClock::time_point accepted_, linger_until_;
  std::atomic<bool> closing_{false}, overflowed_{false}, finished_{false};
  std::atomic<bool> tick_requested_{false};
  std::atomic<bool> logout_requested_{false};
  std::atomic<bool> answering_resend_{false};  // the thread is in Session::next for a 35=2

  // Connection thread only.
  FixFramer framer_;
  FIX::Session* session_ = nullptr;
  bool logged_on_once_ = false;
  bool overflow_handled_ = false;

  std::mutex mutex_;  // outbound_, outbound_bytes_, logout_pass_, logout_text_, the TLS engine
  std::string logout_text_;
  std::deque<std::pair<std::string, std::size_t>> outbound_;  // bytes, how many already sent
  std::size_t outbound_bytes_ = 0;
  std::string pending_;  // sent while coalescing, not yet written (before anything later)
  std::size_t overflow_queued_ = 0;
  bool logout_pass_ = false;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

namespace {

SSL_CTX* make_tls_context(const SocketOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw FIX::ConfigError("TLS: " + tls_error_text());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, options.tls_certificate.c_str()) != 1) {
    const std::string error = tls_error_text();
    SSL_CTX_free(ctx);
    throw FIX::ConfigError("TLS certificate " + options.tls_certificate + ": " + error);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.tls_private_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    const std::string error = tls_error_text();
    SSL_CTX_free(ctx);
    throw FIX::ConfigError("TLS private key " + options.tls_private_key + ": " + error);
  }
  return ctx;
}

}  // namespace

VenueSocketAcceptor::VenueSocketAcceptor(FIX::Application& application,
                                         FIX::MessageStoreFactory& stores,
                                         const FIX::SessionSettings& settings,
                                         FIX::LogFactory& logs, SocketOptions options)
    : FIX::Acceptor(application, stores, settings, logs), options_(std::move(options)) {
  if (!options_.tls_certificate.empty()) tls_ = make_tls_context(options_);
}

VenueSocketAcceptor::~VenueSocketAcceptor() {
  stop(true);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

void VenueSocketAcceptor::onInitialize(const FIX::SessionSettings&) throw(FIX::RuntimeError) {
  if (listen_fd_ >= 0) return;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw FIX::RuntimeError(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(options_.port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    throw FIX::RuntimeError("Unable to listen on port " + std::to_string(options_.port) + " (" +
                            error + ")");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  bound_port_.store(ntohs(addr.sin_port));
  listen_fd_ = fd;
}

void VenueSocketAcceptor::onStart() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      reap(false);
      continue;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (options_.socket_send_buffer > 0) {
      const int size = static_cast<int>(options_.socket_send_buffer);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    reap(false);
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_.load() || connections_.size() >= options_.max_connections) {
      counters_.refused.fetch_add(1);
      ::close(fd);
      continue;
    }
    counters_.accepted.fetch_add(1);
    Running running;
    std::set<FIX::SessionID> sessions = getSessions();
    sessions.insert(added_.begin(), added_.end());
    running.connection = std::make_shared<Connection>(*this, fd, std::move(sessions));
    Connection* connection = running.connection.get();
    running.thread = std::thread([connection] {
      connection->set_thread(std::this_thread::get_id());
      connection->run();
    });
    connections_.push_back(std::move(running));
  }
}

namespace {
// The coalescing thread's state: for which acceptor, how deep in begin/end, and that acceptor's
// connections holding its bytes (another acceptor's connections write at once).
thread_local const VenueSocketAcceptor* t_coalescing_for = nullptr;
thread_local int t_coalescing_depth = 0;
thread_local std::vector<Connection*> t_pending;
}  // namespace

bool VenueSocketAcceptor::coalescing_on_this_thread() const {
  return t_coalescing_depth > 0 && t_coalescing_for == this;
}

void VenueSocketAcceptor::note_pending(Connection* connection) { t_pending.push_back(connection); }

void VenueSocketAcceptor::begin_coalescing() {
  if (t_coalescing_depth++ == 0) t_coalescing_for = this;
}

void VenueSocketAcceptor::end_coalescing() {
  if (t_coalescing_depth == 0 || --t_coalescing_depth > 0) return;
  t_coalescing_for = nullptr;
  if (t_pending.empty()) return;
  // Only connections still running are written to: one that ended meanwhile is gone, its
  // messages in the session store for the resend after the reconnect.
  std::lock_guard<std::mutex> lock(mutex_);
  for (Connection* pending : t_pending) {
    for (const auto& running : connections_) {
      if (running.connection.get() == pending) {
        running.connection->flush_pending();
        break;
      }
    }
  }
  t_pending.clear();
}

void VenueSocketAcceptor::allow_session(const FIX::SessionID& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  added_.insert(id);
}

// Joins the threads of finished connections (all of them, closed first, when `all`).
void VenueSocketAcceptor::reap(bool all) {
  std::vector<Running> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (all || it->connection->finished()) {
        done.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : done) r.connection->request_close();
  for (auto& r : done) r.thread.join();
}

void VenueSocketAcceptor::logout_connected(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& a : attached_) a.second->request_logout(text);
}

void VenueSocketAcceptor::onStop() {
  stopping_.store(true);
  reap(true);
}

void VenueSocketAcceptor::log_event(const std::string& text) {
  std::lock_guard<std::mutex> lock(log_mutex_);  // QuickFIX's logs are not thread-safe
  getLog()->onEvent(text);
}

void VenueSocketAcceptor::attach(const FIX::SessionID& id, Connection* connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  attached_.emplace_back(id, connection);
}

void VenueSocketAcceptor::detach(const FIX::SessionID& id, Connection* connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = attached_.begin(); it != attached_.end(); ++it) {
    if (it->first == id && it->second == connection) {
      attached_.erase(it);
      return;
    }
  }
}

std::size_t VenueSocketAcceptor::outbound_bytes(const FIX::SessionID& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& a : attached_) {
    if (a.first == id) return a.second->outbound_bytes();
  }
  return 0;
}

}  // namespace fix
}  // namespace trading
