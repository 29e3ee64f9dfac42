// The QuickFIX island: the only translation unit that includes QuickFIX (compiled as C++14, see
// DESIGN.md). Turns validated application messages into fix::Request and fix::* replies into
// FIX messages.
#include "trading/fix/acceptor.hpp"

#include "trading/fix/session_store.hpp"

#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/NullStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionFactory.h>
#include <quickfix/SessionSettings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "socket_acceptor.hpp"

namespace trading {
namespace fix {
namespace {

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string field_or_empty(const FIX::FieldMap& map, int tag) {
  return map.isSetField(tag) ? map.getField(tag) : std::string();
}
char char_or_zero(const FIX::FieldMap& map, int tag) {
  if (!map.isSetField(tag)) return 0;
  const std::string& v = map.getField(tag);
  return v.size() == 1 ? v[0] : 0;
}
void set_if(FIX::FieldMap& map, int tag, const std::string& value) {
  if (!value.empty()) map.setField(tag, value);
}
void set_char(FIX::FieldMap& map, int tag, char value) {
  if (value != 0) map.setField(tag, std::string(1, value));
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// QuickFIX's store interface over MappedSessionStore (see session_store.hpp).
class MappedStore final : public FIX::MessageStore {
 public:
  explicit MappedStore(std::unique_ptr<MappedSessionStore> store) : store_(std::move(store)) {}

  bool set(int sequence, const std::string& message) throw(FIX::IOException) override {
    std::string error;
    if (!store_->set(sequence, message.data(), message.size(), &error)) {
      throw FIX::IOException(error);
    }
    return true;
  }
  void get(int begin, int end, std::vector<std::string>& out) const
      throw(FIX::IOException) override {
    store_->get(begin, end, out);
  }
  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override {
    return store_->next_sender();
  }
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override {
    return store_->next_target();
  }
  void setNextSenderMsgSeqNum(int value) throw(FIX::IOException) override {
    store_->set_next_sender(value);
  }
  void setNextTargetMsgSeqNum(int value) throw(FIX::IOException) override {
    store_->set_next_target(value);
  }
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
    store_->set_next_sender(store_->next_sender() + 1);
  }
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
    store_->set_next_target(store_->next_target() + 1);
  }
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
    const std::int64_t ms = store_->creation_time_ms();
    return FIX::UtcTimeStamp(static_cast<time_t>(ms / 1000), static_cast<int>(ms % 1000));
  }
  void reset() throw(FIX::IOException) override {
    std::string error;
    if (!store_->reset(wall_clock_ms(), &error)) throw FIX::IOException(error);
  }
  void refresh() throw(FIX::IOException) override {}  // this process is the only writer

 private:
  std::unique_ptr<MappedSessionStore> store_;
};

class MappedStoreFactory final : public FIX::MessageStoreFactory {
 public:
  explicit MappedStoreFactory(std::string directory) : directory_(std::move(directory)) {}
  FIX::MessageStore* create(const FIX::SessionID& id) override {
    // FIX.4.4-VENUE-CLIENT1, with anything but letters, digits, '.' and '-' made '_'.
    std::string name = id.getBeginString().getString() + "-" + id.getSenderCompID().getString() +
                       "-" + id.getTargetCompID().getString();
    for (char& c : name) {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-';
      if (!plain) c = '_';
    }
    std::string error;
    auto store = MappedSessionStore::open(directory_, name, wall_clock_ms(), &error);
    if (!store) throw FIX::ConfigError(error);
    return new MappedStore(std::move(store));
  }
  void destroy(FIX::MessageStore* store) override { delete store; }

 private:
  std::string directory_;
};

// A session's store whose incoming sequence number reaches the disk only once the venue has
// handled the messages before it. QuickFIX counts a message as consumed when fromApp returns,
// but with the engine thread the order is journaled later: a crash in between used to leave the
// store expecting the next number, so the consumed order was never re-requested. QuickFIX sees
// the live number; the inner store keeps the handled one; after a crash the client is asked to
// resend the difference (PossDupFlag=Y; orders the journal has are answered with their status).
// Thread-safety: one mutex; QuickFIX calls it under its session lock, the venue from the engine.
class DeferredTargetStore final : public FIX::MessageStore {
 public:
  DeferredTargetStore(FIX::MessageStoreFactory& factory, FIX::MessageStore* inner)
      : factory_(factory), inner_(inner) {
    next_target_ = durable_ = inner_->getNextTargetMsgSeqNum();
  }
  ~DeferredTargetStore() override { factory_.destroy(inner_); }

  bool set(int sequence, const std::string& message) throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_->set(sequence, message);
  }
  void get(int begin, int end, std::vector<std::string>& out) const
      throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_->get(begin, end, out);
  }
  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_->getNextSenderMsgSeqNum();
  }
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return next_target_;
  }
  void setNextSenderMsgSeqNum(int value) throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_->setNextSenderMsgSeqNum(value);
  }
  void setNextTargetMsgSeqNum(int value) throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    next_target_ = value;
    if (value < durable_) {  // a reset to a lower number is kept at once
      inner_->setNextTargetMsgSeqNum(value);
      durable_ = value;
      ++generation_;
    }
  }
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_->incrNextSenderMsgSeqNum();
  }
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++next_target_;
  }
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
    // QuickFIX asks on every message received (its session-time check); the time only changes
    // with a reset, and building the timestamp from the stored milliseconds cost ~1 k
    // instructions a message.
    std::lock_guard<std::mutex> lock(mutex_);
    if (!creation_time_known_) {
      creation_time_ = inner_->getCreationTime();
      creation_time_known_ = true;
    }
    return creation_time_;
  }
  void reset() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    creation_time_known_ = false;
    inner_->reset();
    next_target_ = durable_ = inner_->getNextTargetMsgSeqNum();
    cap_ = std::numeric_limits<int>::max();
    ++generation_;
  }
  void refresh() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    creation_time_known_ = false;
    inner_->refresh();
    next_target_ = durable_ = inner_->getNextTargetMsgSeqNum();
    cap_ = std::numeric_limits<int>::max();
    ++generation_;
  }

  // Changes whenever the numbering starts again (reset, lower sequence number): a message
  // received before must not move the durable number of the new numbering.
  std::uint64_t generation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return generation_;
  }
  // Message `sequence`, received in `generation`, was handled: so were all before it.
  void handled(int sequence, std::uint64_t generation) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation == generation_) persist(std::min(sequence + 1, next_target_));
  }
  // Message `sequence` was not handled (the venue stopped taking requests): the durable number
  // never reaches it, so the client is asked to resend it (after a reconnect, to whichever
  // venue then holds the session).
  void hold_from(int sequence) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (sequence < cap_) cap_ = sequence;
  }
  // Nothing of the session is in flight: everything QuickFIX counted was handled.
  void settle() {
    std::lock_guard<std::mutex> lock(mutex_);
    persist(next_target_);
  }

 private:
  void persist(int value) {
    if (value > cap_) value = cap_;
    if (value <= durable_) return;
    try {
      inner_->setNextTargetMsgSeqNum(value);
      durable_ = value;
    } catch (const std::exception&) {
      // The store cannot write: the number stays lower, which only means a longer resend.
    }
  }

  FIX::MessageStoreFactory& factory_;
  FIX::MessageStore* inner_;
  mutable std::mutex mutex_;
  int next_target_ = 1;                        // what QuickFIX sees
  int durable_ = 1;                            // what the inner store holds
  int cap_ = std::numeric_limits<int>::max();  // the first message not handled (hold_from)
  std::uint64_t generation_ = 0;
  // The inner store's creation time, once asked, until a reset (this file is C++14: no optional).
  mutable bool creation_time_known_ = false;
  mutable FIX::UtcTimeStamp creation_time_;
};

// Wraps another factory's stores in DeferredTargetStore and remembers them by session.
class DeferredTargetStoreFactory final : public FIX::MessageStoreFactory {
 public:
  explicit DeferredTargetStoreFactory(std::unique_ptr<FIX::MessageStoreFactory> inner)
      : inner_(std::move(inner)) {}
  FIX::MessageStore* create(const FIX::SessionID& id) override {
    auto* store = new DeferredTargetStore(*inner_, inner_->create(id));
    std::lock_guard<std::mutex> lock(mutex_);
    stores_[id] = store;
    return store;
  }
  void destroy(FIX::MessageStore* store) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = stores_.begin(); it != stores_.end(); ++it) {
      if (it->second == store) {
        stores_.erase(it);
        break;
      }
    }
    delete store;
  }
  DeferredTargetStore* find(const FIX::SessionID& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = stores_.find(id);
    return it == stores_.end() ? nullptr : it->second;
  }

 private:
  std::unique_ptr<FIX::MessageStoreFactory> inner_;
  std::mutex mutex_;
  std::map<FIX::SessionID, DeferredTargetStore*> stores_;
};

class NullLogFactory final : public FIX::LogFactory {
 public:
  FIX::Log* create() override { return new FIX::NullLog(); }
  FIX::Log* create(const FIX::SessionID&) override { return new FIX::NullLog(); }
  void destroy(FIX::Log* log) override { delete log; }
};

// In-flight accounting of one session.
struct SessionSlot {
  SessionConfig config;
  FIX::SessionID id;
  DeferredTargetStore* store = nullptr;  // owned by its Session
  mutable std::mutex mutex;
  std::condition_variable freed;
  std::size_t in_flight = 0;
  std::size_t in_flight_high = 0;  // the most in flight at once since start
  // (MsgSeqNum, store generation) of the requests in flight, oldest first.
  std::deque<std::pair<int, std::uint64_t>> pending;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<bool> logged_on{false};
};

class QuickFixAcceptor final : public FixAcceptor, public FIX::Application {
 public:
  static constexpr std::uint32_t kMaxAddedSessions = 256;
  QuickFixAcceptor(const AcceptorSettings& settings, Handler& handler)
      : settings_(settings), handler_(handler) {}

  ~QuickFixAcceptor() override {
    stop(0, "venue shutting down");
    // After every connection thread was joined (stop), before the store and log factories go.
    for (FIX::Session* session : added_sessions_) session_factory_->destroy(session);
  }

  bool init(std::string* error) {
    try {
      FIX::Dictionary defaults;
      defaults.setString("ConnectionType", "acceptor");
      defaults.setInt("SocketAcceptPort", settings_.port);
      defaults.setString("StartTime", "00:00:00");
      defaults.setString("EndTime", "00:00:00");  // one session all day, every day
      defaults.setBool("UseDataDictionary", true);
      defaults.setString("DataDictionary", settings_.dictionary_path);
      defaults.setBool("ValidateUserDefinedFields", true);
      defaults.setBool("AllowUnknownMsgFields", false);
      defaults.setBool("ResetOnLogon", settings_.reset_on_logon);
      if (!settings_.store_directory.empty()) {
        defaults.setString("FileStorePath", settings_.store_directory);
      }
      if (!settings_.log_directory.empty()) {
        defaults.setString("FileLogPath", settings_.log_directory);
      }
      qf_settings_.set(defaults);
      // Room for the sessions added at run time: slots_ never reallocates, so a slot is read
      // without a lock once slot_count_ covers it.
      slots_.reserve(settings_.sessions.size() + kMaxAddedSessions);
      for (const auto& s : settings_.sessions) {
        const FIX::SessionID id = session_id(s);
        qf_settings_.set(id, session_dictionary(s));
        append_slot(s, id);
      }
      std::unique_ptr<FIX::MessageStoreFactory> inner;
      if (settings_.store_directory.empty()) {
        inner.reset(new FIX::MemoryStoreFactory());
      } else if (settings_.store_kind == "mapped") {
        inner.reset(new MappedStoreFactory(settings_.store_directory));
      } else if (settings_.store_kind != "file") {
        if (error != nullptr) {
          *error = "fix.store must be mapped or file, not '" + settings_.store_kind + "'";
        }
        return false;
      } else {
        // By path, not by settings: a session added at run time is not in a copy of them.
        inner.reset(new FIX::FileStoreFactory(settings_.store_directory));
      }
      store_.reset(new DeferredTargetStoreFactory(std::move(inner)));
      if (settings_.log_directory.empty()) {
        log_.reset(new NullLogFactory());
      } else {
        log_.reset(new FIX::FileLogFactory(settings_.log_directory));
      }
      SocketOptions options;
      options.port = settings_.port;
      options.tls_certificate = settings_.tls_certificate;
      options.tls_private_key = settings_.tls_private_key;
      options.max_outbound_bytes = settings_.max_outbound_bytes;
      options.logon_timeout_ms = settings_.logon_timeout_ms;
      options.max_connections = settings_.max_connections;
      options.socket_send_buffer = settings_.socket_send_buffer;
      options.spin_ns = static_cast<std::int64_t>(settings_.spin_us) * 1000;
      options.on_event = settings_.on_event;
      options.on_read_done = [this] { flush_handler(); };
      acceptor_.reset(new VenueSocketAcceptor(*this, *store_, qf_settings_, *log_, options));
      session_factory_.reset(new FIX::SessionFactory(*this, *store_, log_.get()));
      for (auto& slot : slots_) slot->store = store_->find(slot->id);
      return true;
    } catch (const std::exception& e) {
      if (error != nullptr) *error = std::string("FIX acceptor settings: ") + e.what();
      return false;
    }
  }

  bool start(std::string* error) override {
    try {
      acceptor_->start();
      return true;
    } catch (const std::exception& e) {
      if (error != nullptr) *error = std::string("FIX acceptor: ") + e.what();
      return false;
    }
  }

  void stop(int grace_seconds, const std::string& logout_text) override {
    if (!acceptor_ || stopped_.exchange(true)) return;
    for (SessionSlot* slot : live_slots()) {
      std::lock_guard<std::mutex> lock(slot->mutex);
      slot->freed.notify_all();
    }
    try {
      if (grace_seconds > 0) {
        acceptor_->logout_connected(logout_text);  // the Logouts go out now, with the Text
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
        while (any_logged_on() && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
      // Every connection thread is joined: no send of ours ever blocks, and a connection waits
      // on its socket for at most a second.
      acceptor_->stop(true);
    } catch (...) {
    }
  }

  void hold_requests() override {
    holding_.store(true);
    for (SessionSlot* slot : live_slots()) {
      std::lock_guard<std::mutex> lock(slot->mutex);
      slot->freed.notify_all();
    }
  }

  std::size_t in_flight() const override {
    std::size_t n = 0;
    for (SessionSlot* slot : live_slots()) {
      std::lock_guard<std::mutex> lock(slot->mutex);
      n += slot->in_flight;
    }
    return n;
  }

  void persist_sequence_numbers() override {
    for (SessionSlot* slot : live_slots()) {
      std::lock_guard<std::mutex> lock(slot->mutex);
      if (slot->store != nullptr && slot->in_flight == 0) slot->store->settle();
    }
  }

  void begin_replies() override {
    if (acceptor_) acceptor_->begin_coalescing();
  }
  void end_replies() override {
    if (acceptor_) acceptor_->end_coalescing();
  }
  int port() const override { return acceptor_ ? acceptor_->port() : 0; }

  ConnectionCounters connection_counters() const override {
    ConnectionCounters out;
    if (!acceptor_) return out;
    const SocketCounters& c = acceptor_->counters();
    out.accepted = c.accepted.load();
    out.refused = c.refused.load();
    out.logon_timeouts = c.logon_timeouts.load();
    out.oversize = c.oversize.load();
    out.overflow_disconnects = c.overflow_disconnects.load();
    out.messages_sent = c.messages_sent.load();
    out.socket_writes = c.socket_writes.load();
    return out;
  }

  // --- FIX::Application ---
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& id) override { session_changed(id, true); }
  void onLogout(const FIX::SessionID& id) override { session_changed(id, false); }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}

  void fromApp(const FIX::Message& message,
               const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue,
                                               FIX::UnsupportedMessageType) override {
    const std::int64_t received = monotonic_ns();
    const std::uint32_t index = index_of(id);
    if (index == kNoSession) throw FIX::UnsupportedMessageType();
    const std::string& type = message.getHeader().getField(FIX::FIELD::MsgType);
    Request r;
    if (type == "D") {
      r.kind = Request::Kind::kNewOrder;
    } else if (type == "F") {
      r.kind = Request::Kind::kCancel;
    } else if (type == "G") {
      r.kind = Request::Kind::kReplace;
    } else if (type == "H") {
      r.kind = Request::Kind::kStatus;
    } else if (type == "q") {
      r.kind = Request::Kind::kMassCancel;
    } else if (type == "V") {
      r.kind = Request::Kind::kMarketData;
    } else if (type == "x") {
      r.kind = Request::Kind::kSecurityList;
    } else {
      // Valid FIX 4.4, declared in the dictionary, not offered by the venue: QuickFIX answers
      // with a BusinessMessageReject, reason 3 (unsupported message type).
      throw FIX::UnsupportedMessageType();
    }
    r.session = index;
    r.received_ns = received;
    r.msg_seq_num = std::atoi(message.getHeader().getField(FIX::FIELD::MsgSeqNum).c_str());
    r.poss_dup = message.getHeader().isSetField(FIX::FIELD::PossDupFlag) &&
                 message.getHeader().getField(FIX::FIELD::PossDupFlag) == "Y";
    // One pass over the body's fields (top level: a group's fields are not among them), not a
    // search per field: this runs for every order on the session's thread.
    const auto single = [](const std::string& v) { return v.size() == 1 ? v[0] : '\0'; };
    for (const FIX::FieldBase& f : message) {
      const std::string& v = f.getString();
      switch (f.getTag()) {
        case FIX::FIELD::ClOrdID:
          r.cl_ord_id = v;
          break;
        case FIX::FIELD::OrigClOrdID:
          r.orig_cl_ord_id = v;
          break;
        case FIX::FIELD::OrderID:
          r.order_id = v;
          break;
        case FIX::FIELD::Account:
          r.account = v;
          break;
        case FIX::FIELD::Symbol:
          r.symbol = v;
          break;
        case FIX::FIELD::Price:
          r.price = v;
          break;
        case FIX::FIELD::OrderQty:
          r.quantity = v;
          break;
        case FIX::FIELD::Side:
          r.side = single(v);
          break;
        case FIX::FIELD::OrdType:
          r.ord_type = single(v);
          break;
        case FIX::FIELD::TimeInForce:
          r.time_in_force = single(v);
          break;
        case FIX::FIELD::MassCancelRequestType:
          r.mass_cancel_type = single(v);
          break;
        case FIX::FIELD::OrdStatusReqID:
          r.ord_status_req_id = v;
          break;
        default:
          break;
      }
    }
    if (r.kind == Request::Kind::kMarketData) {
      r.md_req_id = field_or_empty(message, FIX::FIELD::MDReqID);
      r.subscription_type = char_or_zero(message, FIX::FIELD::SubscriptionRequestType);
      r.market_depth = std::atoi(field_or_empty(message, FIX::FIELD::MarketDepth).c_str());
      const int types = std::atoi(field_or_empty(message, FIX::FIELD::NoMDEntryTypes).c_str());
      FIX::Group type_group(FIX::FIELD::NoMDEntryTypes, FIX::FIELD::MDEntryType);
      for (int i = 1; i <= types && i <= 16; ++i) {
        message.getGroup(static_cast<unsigned>(i), type_group);
        r.md_entry_types.push_back(char_or_zero(type_group, FIX::FIELD::MDEntryType));
      }
      const int symbols = std::atoi(field_or_empty(message, FIX::FIELD::NoRelatedSym).c_str());
      FIX::Group symbol_group(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
      for (int i = 1; i <= symbols && i <= 256; ++i) {
        message.getGroup(static_cast<unsigned>(i), symbol_group);
        r.symbols.push_back(field_or_empty(symbol_group, FIX::FIELD::Symbol));
      }
    }
    if (r.kind == Request::Kind::kSecurityList) {
      r.security_req_id = field_or_empty(message, FIX::FIELD::SecurityReqID);
      r.security_list_request_type =
          std::atoi(field_or_empty(message, FIX::FIELD::SecurityListRequestType).c_str());
    }
    SessionSlot& slot = *slots_[r.session];
    if (!acquire(slot, r.msg_seq_num)) return;  // stopping
    slot.requests.fetch_add(1, std::memory_order_relaxed);
    try {
      handler_.on_request(std::move(r));
    } catch (...) {
      complete(index);  // the handler promised not to throw; never let it reach QuickFIX
    }
  }

  // --- sending ---
  bool send(std::uint32_t session, const ExecutionReport& er) override {
    // Every field appended in ascending tag order, the order QuickFIX keeps a body in: each one
    // goes at the end of the field vector (setting them in any other order inserted in the
    // middle, moving the fields after it: about a sixth of the venue's instructions per order).
    // The bytes on the wire are the same.
    FIX::Message m = make("8");
    const auto add = [&m](int tag, const std::string& value) {
      if (!value.empty()) m.setField(FIX::FieldBase(tag, value), false);
    };
    const auto put = [&m](int tag, const std::string& value) {  // required: set even if empty
      m.setField(FIX::FieldBase(tag, value), false);
    };
    const auto add_char = [&add](int tag, char value) {
      if (value != 0) add(tag, std::string(1, value));
    };
    add(FIX::FIELD::Account, er.account);                 // 1
    put(FIX::FIELD::AvgPx, er.avg_px);                    // 6
    add(FIX::FIELD::ClOrdID, er.cl_ord_id);               // 11
    put(FIX::FIELD::CumQty, er.cum_qty);                  // 14
    put(FIX::FIELD::ExecID, er.exec_id);                  // 17
    add(FIX::FIELD::LastPx, er.last_px);                  // 31
    add(FIX::FIELD::LastQty, er.last_qty);                // 32
    put(FIX::FIELD::OrderID, er.order_id);                // 37
    add(FIX::FIELD::OrderQty, er.order_qty);              // 38
    add_char(FIX::FIELD::OrdStatus, er.ord_status);       // 39
    add_char(FIX::FIELD::OrdType, er.ord_type);           // 40
    add(FIX::FIELD::OrigClOrdID, er.orig_cl_ord_id);      // 41
    add(FIX::FIELD::Price, er.price);                     // 44
    add_char(FIX::FIELD::Side, er.side);                  // 54
    put(FIX::FIELD::Symbol, er.symbol);                   // 55
    add(FIX::FIELD::Text, er.text);                       // 58
    add_char(FIX::FIELD::TimeInForce, er.time_in_force);  // 59
    m.setField(FIX::TransactTime(3), false);              // 60, milliseconds like SendingTime
    if (er.ord_rej_reason >= 0) {
      add(FIX::FIELD::OrdRejReason, std::to_string(er.ord_rej_reason));  // 103
    }
    add_char(FIX::FIELD::ExecType, er.exec_type);           // 150
    put(FIX::FIELD::LeavesQty, er.leaves_qty);              // 151
    add(FIX::FIELD::OrdStatusReqID, er.ord_status_req_id);  // 790
    add(FIX::FIELD::TrdMatchID, er.trade_id);               // 880
    return deliver(session, m);
  }

  bool send(std::uint32_t session, const OrderCancelReject& r) override {
    FIX::Message m = make("9");
    m.setField(FIX::FIELD::OrderID, r.order_id);
    m.setField(FIX::FIELD::ClOrdID, r.cl_ord_id);
    m.setField(FIX::FIELD::OrigClOrdID, r.orig_cl_ord_id);
    set_char(m, FIX::FIELD::OrdStatus, r.ord_status);
    set_if(m, FIX::FIELD::Account, r.account);
    set_char(m, FIX::FIELD::CxlRejResponseTo, r.response_to);
    m.setField(FIX::FIELD::CxlRejReason, std::to_string(r.reason));
    set_if(m, FIX::FIELD::Text, r.text);
    return deliver(session, m);
  }

  bool send(std::uint32_t session, const MassCancelReport& r) override {
    FIX::Message m = make("r");
    set_if(m, FIX::FIELD::ClOrdID, r.cl_ord_id);
    m.setField(FIX::FIELD::OrderID, r.order_id);
    set_char(m, FIX::FIELD::MassCancelRequestType, r.request_type);
    set_char(m, FIX::FIELD::MassCancelResponse, r.response);
    if (r.reject_reason >= 0) {
      m.setField(FIX::FIELD::MassCancelRejectReason, std::to_string(r.reject_reason));
    }
    m.setField(FIX::FIELD::TotalAffectedOrders, std::to_string(r.affected));
    set_if(m, FIX::FIELD::Account, r.account);
    set_if(m, FIX::FIELD::Symbol, r.symbol);
    set_if(m, FIX::FIELD::Text, r.text);
    return deliver(session, m);
  }

  static void add_entries(FIX::Message& m, const std::vector<MarketDataEntry>& entries,
                          bool incremental) {
    m.setField(FIX::FIELD::NoMDEntries, std::to_string(entries.size()));
    for (const auto& e : entries) {
      FIX::Group g(FIX::FIELD::NoMDEntries,
                   incremental ? FIX::FIELD::MDUpdateAction : FIX::FIELD::MDEntryType);
      if (incremental) set_char(g, FIX::FIELD::MDUpdateAction, e.update_action);
      set_char(g, FIX::FIELD::MDEntryType, e.type);
      if (incremental) set_if(g, FIX::FIELD::Symbol, e.symbol);
      set_if(g, FIX::FIELD::MDEntryPx, e.price);
      set_if(g, FIX::FIELD::MDEntrySize, e.size);
      if (e.position > 0) g.setField(FIX::FIELD::MDEntryPositionNo, std::to_string(e.position));
      if (e.orders >= 0) g.setField(FIX::FIELD::NumberOfOrders, std::to_string(e.orders));
      if (incremental) set_if(g, FIX::FIELD::TrdMatchID, e.trade_id);
      m.addGroup(g);
    }
  }

  bool send(std::uint32_t session, const MarketDataSnapshot& s) override {
    FIX::Message m = make("W");
    set_if(m, FIX::FIELD::MDReqID, s.md_req_id);
    m.setField(FIX::FIELD::Symbol, s.symbol);
    add_entries(m, s.entries, false);
    return deliver(session, m);
  }

  bool send(std::uint32_t session, const MarketDataIncremental& u) override {
    FIX::Message m = make("X");
    set_if(m, FIX::FIELD::MDReqID, u.md_req_id);
    add_entries(m, u.entries, true);
    return deliver(session, m);
  }

  bool send(std::uint32_t session, const MarketDataReject& r) override {
    FIX::Message m = make("Y");
    m.setField(FIX::FIELD::MDReqID, r.md_req_id);
    if (r.has_reason) set_char(m, FIX::FIELD::MDReqRejReason, r.reason);
    set_if(m, FIX::FIELD::Text, r.text);
    return deliver(session, m);
  }

  bool send(std::uint32_t session, const SecurityList& l) override {
    FIX::Message m = make("y");
    m.setField(FIX::FIELD::SecurityReqID, l.security_req_id);
    m.setField(FIX::FIELD::SecurityResponseID, l.security_response_id);
    m.setField(FIX::FIELD::SecurityRequestResult, std::to_string(l.result));
    m.setField(FIX::FIELD::TotNoRelatedSym, std::to_string(l.securities.size()));
    if (!l.securities.empty()) {
      m.setField(FIX::FIELD::NoRelatedSym, std::to_string(l.securities.size()));
      for (const auto& s : l.securities) {
        FIX::Group g(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
        g.setField(FIX::FIELD::Symbol, s.symbol);
        set_if(g, FIX::FIELD::MinPriceIncrement, s.min_price_increment);
        set_if(g, FIX::FIELD::RoundLot, s.round_lot);
        set_if(g, FIX::FIELD::SecurityDesc, s.description);
        m.addGroup(g);
      }
    }
    return deliver(session, m);
  }

  void complete(std::uint32_t session) override {
    if (session >= slot_count_.load(std::memory_order_acquire)) return;
    SessionSlot& slot = *slots_[session];
    std::lock_guard<std::mutex> lock(slot.mutex);
    if (slot.in_flight > 0) --slot.in_flight;
    if (!slot.pending.empty()) {
      const auto done = slot.pending.front();
      slot.pending.pop_front();
      if (slot.store != nullptr) {
        // With nothing in flight every number QuickFIX counted was handled (a message is
        // counted only after it took its slot, under this lock).
        if (slot.in_flight == 0) {
          slot.store->settle();
        } else {
          slot.store->handled(done.first, done.second);
        }
      }
    }
    slot.freed.notify_one();
  }

  bool add_session(const SessionConfig& config, std::uint32_t* index, std::string* error) override {
    const FIX::SessionID id = session_id(config);
    std::lock_guard<std::mutex> lock(index_mutex_);
    const auto fail = [error](const std::string& why) {
      if (error != nullptr) *error = why;
      return false;
    };
    if (!acceptor_ || stopped_.load()) return fail("the FIX acceptor is stopped");
    if (slots_.size() >= slots_.capacity()) {
      return fail("no room for another session (" + std::to_string(kMaxAddedSessions) +
                  " added since start)");
    }
    for (const auto& slot : slots_) {
      if (slot->config.client_comp_id == config.client_comp_id) {
        return fail("a session for " + config.client_comp_id + " exists");
      }
    }
    try {
      qf_settings_.set(id, session_dictionary(config));
      FIX::Session* session = session_factory_->create(id, qf_settings_.get(id));
      added_sessions_.push_back(session);
    } catch (const std::exception& e) {
      return fail(std::string("cannot create the session: ") + e.what());
    }
    const std::uint32_t added = append_slot(config, id, store_->find(id));
    acceptor_->allow_session(id);  // logons for it are taken from now on
    if (index != nullptr) *index = added;
    return true;
  }

  std::vector<SessionStatus> sessions() const override {
    std::vector<SessionStatus> out;
    const std::uint32_t count = slot_count_.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < count; ++i) {
      const SessionSlot& slot = *slots_[i];
      SessionStatus s;
      s.index = i;
      s.venue_comp_id = slot.config.venue_comp_id;
      s.client_comp_id = slot.config.client_comp_id;
      s.logged_on = slot.logged_on.load();
      s.requests = slot.requests.load();
      FIX::Session* qs = FIX::Session::lookupSession(slot.id);
      if (qs != nullptr) {
        try {
          s.next_sender_seq = qs->getExpectedSenderNum();
          s.next_target_seq = qs->getExpectedTargetNum();
        } catch (...) {
        }
      }
      {
        std::lock_guard<std::mutex> lock(const_cast<SessionSlot&>(slot).mutex);
        s.in_flight = slot.in_flight;
        s.max_in_flight_seen = slot.in_flight_high;
      }
      if (acceptor_) s.outbound_bytes = acceptor_->outbound_bytes(slot.id);
      out.push_back(s);
    }
    return out;
  }

  bool any_logged_on() const override {
    for (SessionSlot* slot : live_slots()) {
      if (slot->logged_on.load()) return true;
    }
    return false;
  }

 private:
  static constexpr std::uint32_t kNoSession = ~0u;

  static FIX::SessionID session_id(const SessionConfig& s) {
    return FIX::SessionID("FIX.4.4", s.venue_comp_id, s.client_comp_id);
  }
  static FIX::Dictionary session_dictionary(const SessionConfig& s) {
    FIX::Dictionary d;
    if (s.reset_on_logon >= 0) d.setBool("ResetOnLogon", s.reset_on_logon == 1);
    if (!s.dictionary_path.empty()) d.setString("DataDictionary", s.dictionary_path);
    return d;
  }
  // Appends a slot and publishes it (index_mutex_ held, or before the acceptor runs).
  std::uint32_t append_slot(const SessionConfig& config, const FIX::SessionID& id,
                            DeferredTargetStore* store = nullptr) {
    std::unique_ptr<SessionSlot> slot(new SessionSlot);
    slot->config = config;
    slot->id = id;
    slot->store = store;
    const auto index = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::move(slot));
    index_[id] = index;
    slot_count_.store(index + 1, std::memory_order_release);
    return index;
  }
  std::uint32_t index_of(const FIX::SessionID& id) const {
    std::lock_guard<std::mutex> lock(index_mutex_);
    auto found = index_.find(id);
    return found == index_.end() ? kNoSession : found->second;
  }
  // The published slots (a snapshot of the count; slots are never removed).
  std::vector<SessionSlot*> live_slots() const {
    std::vector<SessionSlot*> out;
    const std::uint32_t count = slot_count_.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < count; ++i) out.push_back(slots_[i].get());
    return out;
  }

  static FIX::Message make(const char* type) {
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::BeginString, "FIX.4.4");
    m.getHeader().setField(FIX::FIELD::MsgType, type);
    return m;
  }

  bool deliver(std::uint32_t session, FIX::Message& m) {
    if (session >= slot_count_.load(std::memory_order_acquire)) return false;
    try {
      return FIX::Session::sendToTarget(m, slots_[session]->id);
    } catch (...) {
      return false;  // session not found / not logged on
    }
  }

  bool acquire(SessionSlot& slot, int msg_seq_num) {
    std::unique_lock<std::mutex> lock(slot.mutex);
    if (slot.in_flight >= settings_.max_in_flight) {
      // Requests this thread handed over may still be held by the handler, to be handled
      // together: waiting for them would wait on itself.
      lock.unlock();
      flush_handler();
      lock.lock();
    }
    while (slot.in_flight >= settings_.max_in_flight && !stopped_.load() && !holding_.load()) {
      slot.freed.wait_for(lock, std::chrono::milliseconds(200));
    }
    if (stopped_.load() || holding_.load()) {
      // Not handled: the client resends it once it is logged on again (a lower durable number).
      if (slot.store != nullptr) slot.store->hold_from(msg_seq_num);
      return false;
    }
    ++slot.in_flight;
    slot.in_flight_high = std::max(slot.in_flight_high, slot.in_flight);
    slot.pending.emplace_back(msg_seq_num, slot.store != nullptr ? slot.store->generation() : 0);
    return true;
  }

  void flush_handler() {
    try {
      handler_.flush_requests();
    } catch (...) {
    }
  }

  void session_changed(const FIX::SessionID& id, bool logged_on) {
    const std::uint32_t index = index_of(id);
    if (index == kNoSession) return;
    slots_[index]->logged_on.store(logged_on);
    try {
      handler_.on_session(index, logged_on);
    } catch (...) {
    }
  }

  AcceptorSettings settings_;
  Handler& handler_;
  FIX::SessionSettings qf_settings_;
  std::unique_ptr<DeferredTargetStoreFactory> store_;
  std::unique_ptr<FIX::LogFactory> log_;
  std::unique_ptr<VenueSocketAcceptor> acceptor_;         // destroyed before the factories
  std::unique_ptr<FIX::SessionFactory> session_factory_;  // sessions added at run time
  std::vector<FIX::Session*> added_sessions_;             // destroyed with the acceptor
  // Capacity reserved at init (never reallocates); slots below slot_count_ are complete.
  std::vector<std::unique_ptr<SessionSlot>> slots_;
  std::atomic<std::uint32_t> slot_count_{0};
  mutable std::mutex index_mutex_;  // index_, and add_session against itself
  std::map<FIX::SessionID, std::uint32_t> index_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> holding_{false};  // hold_requests(): requests are left for a resend
};

}  // namespace

std::unique_ptr<FixAcceptor> FixAcceptor::create(const AcceptorSettings& settings, Handler& handler,
                                                 std::string* error) {
  std::unique_ptr<QuickFixAcceptor> a(new QuickFixAcceptor(settings, handler));
  if (!a->init(error)) return nullptr;
  return std::unique_ptr<FixAcceptor>(a.release());
}

}  // namespace fix
}  // namespace trading
