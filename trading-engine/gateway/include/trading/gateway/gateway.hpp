// Gateway: translates between FIX (fix::Request in, fix::* replies out) and the engine (Command
// in, Event out). It holds what the engine does not know: which session and ClOrdID each order
// came with, the order's FIX view for reports and status requests (type, time in force, price,
// quantities, average price), market data subscriptions and the order id sequence.
// Pure: no I/O, threads or clocks (time comes in). The engine thread owns it; not thread-safe.
// Restart: feed every journaled command with its annotation and events to on_applied() with
// replies == nullptr and the gateway is back in the same state (ids, ClOrdIDs, subscriptions
// are not journaled: clients subscribe again after logon). The ClOrdIDs used today are also
// saved with snapshots (save_state/load_state), because the duplicate check needs all of them.
//
// Duplicate ClOrdIDs: the gateway gives each distinct (account, ClOrdID) of the trading day its
// own number, exactly (a string map, no hash), and the engine refuses a NewOrder whose number it
// has seen today. Two different ClOrdIDs never share a number, so no order is wrongly rejected.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "trading/domain/commands.hpp"
#include "trading/domain/event_buffer.hpp"
#include "trading/domain/events.hpp"
#include "trading/domain/instrument.hpp"
#include "trading/domain/resting_order.hpp"
#include "trading/fix/messages.hpp"

namespace trading::gateway {

struct VenueSymbol {
  int price_decimals = 2;  // FIX prices are decimals; price units = price x 10^decimals
  std::string description;
};

struct SessionAccount {
  std::string account_name;  // FIX Account (tag 1) the session trades for
  AccountId account;
  // A drop copy session trades nothing (its order entry is refused) and receives a copy of
  // every journaled ExecutionReport of the accounts it covers (by name; empty: every account),
  // through its own FIX session: sequence numbers, the store and resends after a disconnect
  // like any session.
  bool drop_copy = false;
  std::vector<std::string> covers;
};

struct GatewayConfig {
  std::vector<Instrument> instruments;   // as configured in the engine (SymbolId = index)
  std::vector<VenueSymbol> symbols;      // parallel to instruments
  std::vector<SessionAccount> sessions;  // by FIX session index
  std::size_t max_market_depth = 10;
  // Closed (filled, canceled, expired) orders remembered for status requests and resends,
  // oldest forgotten first.
  std::size_t closed_orders_kept = 100'000;
  // Orders of a trading day the tables are sized for at start (no rehash before this many).
  std::size_t expected_orders = 0;
};

using Reply = std::variant<fix::ExecutionReport, fix::OrderCancelReject, fix::MassCancelReport,
                           fix::MarketDataSnapshot, fix::MarketDataIncremental,
                           fix::MarketDataReject, fix::SecurityList>;

struct Outbound {
  std::uint32_t session = 0;
  Reply reply;
};

// Where snapshots read the book from (the engine, behind this interface so the gateway stays
// independent of the book type).
class DepthSource {
 public:
  virtual ~DepthSource() = default;
  virtual void depth(SymbolId symbol, Side side, std::size_t levels,
                     std::vector<Level>& out) const = 0;
};

class Gateway {
 public:
  explicit Gateway(GatewayConfig config);

  struct Translation {
    std::optional<Command> command;  // for the journal and the engine, when there is one
    std::string annotation;          // journal it with the command
  };
  // Validates and translates one request. Requests that need no engine (rejects found here,
  // status, market data, security lists) are answered through `replies` at once.
  Translation translate(const fix::Request& request, core::Nanos now, const DepthSource& books,
                        std::vector<Outbound>& replies);

  // After the engine applied `command` (journal `sequence`, with its annotation): the reports
  // for its events, appended to *replies; replies == nullptr while replaying the journal.
  void on_applied(std::uint64_t sequence, const Command& command, std::string_view annotation,
                  const EventBuffer& events, std::vector<Outbound>* replies);

  // After a batch of commands: incremental refreshes for the subscriptions deeper than the top
  // of book whose symbol a command of the batch touched (levels diffed against what the
  // subscriber last got: Delete, then New and Change entries by price). Cheap when there are
  // none.
  void publish_depth(const DepthSource& books, std::vector<Outbound>& replies);

  // A session added at run time (AddSession applied): FIX session index sessions().size().
  void add_session(SessionAccount session) { config_.sessions.push_back(std::move(session)); }

  // A session logged out: its market data subscriptions end.
  void on_session(std::uint32_t session, bool logged_on);

  OrderId last_order_id() const { return OrderId(last_order_id_); }
  void set_last_order_id(OrderId id) { last_order_id_ = std::max(last_order_id_, id.value()); }
  // ExecIDs of reports that are not journaled (gateway rejects, status answers) are
  // "<kind><incarnation>-<n>": unique for the venue's lifetime when every start of the venue
  // has its own incarnation number (the app keeps one in the journal directory). Journaled
  // reports use the journal sequence, which never repeats.
  void set_incarnation(std::uint64_t incarnation) { incarnation_ = incarnation; }
  std::size_t open_orders() const { return orders_.size(); }
  std::optional<SymbolId> symbol_id(std::string_view name) const;
  const GatewayConfig& config() const { return config_; }

  // Price units <-> FIX decimal text for a symbol.
  std::string price_text(SymbolId symbol, Price price) const;

  // The ClOrdIDs of the trading day for snapshots, as 64-bit words (the engine's format):
  // save_state(put) writes them; load_state(get) reads them back into a fresh gateway and
  // returns "" or what does not fit.
  void save_state(const std::function<void(std::uint64_t)>& put) const;
  std::string load_state(const std::function<bool(std::uint64_t&)>& get);
  std::size_t client_order_ids_today() const { return client_order_numbers_.size(); }

 private:
  std::string local_exec_id(char kind) const;
  struct OrderView {
    std::uint32_t session = 0;
    AccountId account;
    SymbolId symbol;
    Side side = Side::kBuy;
    OrderType type = OrderType::kLimit;
    TimeInForce tif = TimeInForce::kDay;
    Price price{0};
    Qty qty{0};
    Qty cum{0};
    std::int64_t cum_notional = 0;
    std::string cl_ord_id;
  };
  struct ClosedOrder {
    std::uint64_t order_id = 0;
    OrderView view;
    char final_status = '2';
  };
  struct Subscription {
    std::uint32_t session;
    std::string md_req_id;
    SymbolId symbol;
    std::size_t depth = 1;       // 1: top-of-book updates from TopOfBook events
    std::vector<Level> last[2];  // depth > 1: the levels last sent, bids then offers
  };

  // The drop copies of a journaled report to `owner` (a report to a drop copy is not copied).
  void copy_to_drop_copies(std::uint32_t owner, const fix::ExecutionReport& er,
                           std::vector<Outbound>& replies) const;
  void reject_order(const fix::Request& r, int reason, std::string text,
                    std::vector<Outbound>& replies) const;
  void reject_cancel(const fix::Request& r, int reason, std::string text,
                     std::vector<Outbound>& replies) const;
  void market_data(const fix::Request& r, const DepthSource& books, std::vector<Outbound>& replies);
  void security_list(const fix::Request& r, std::vector<Outbound>& replies) const;
  void count_depth_subscriptions();
  void status(const fix::Request& r, std::vector<Outbound>& replies) const;
  fix::ExecutionReport report_of(std::uint64_t order_id, const OrderView& o) const;
  void remember_closed(const std::string& key, std::uint64_t order_id, const OrderView& o,
                       char final_status);
  std::string client_key(std::uint32_t session, std::string_view cl_ord_id) const;
  std::uint64_t client_order_number(AccountId account, std::string_view cl_ord_id);

  GatewayConfig config_;
  std::unordered_map<std::string, SymbolId> symbols_by_name_;
  std::unordered_map<std::uint64_t, OrderView> orders_;       // open orders by OrderId
  std::unordered_map<std::string, std::uint64_t> by_client_;  // session + ClOrdID -> OrderId
  std::unordered_map<std::string, ClosedOrder> closed_;       // session + ClOrdID -> last state
  std::deque<std::string> closed_order_;                      // keys of closed_, oldest first
  std::vector<Subscription> subscriptions_;
  std::vector<std::uint32_t> drop_copies_;  // the drop copy sessions
  std::size_t depth_subscriptions_ = 0;     // subscriptions with depth > 1
  std::vector<bool> depth_dirty_;           // by symbol: touched since publish_depth()
  bool any_depth_dirty_ = false;
  // (account, ClOrdID) -> its number today (NewOrder::client_order_key); cleared at end of day.
  std::unordered_map<std::string, std::uint64_t> client_order_numbers_;
  std::uint64_t last_client_order_number_ = 0;  // never reused, also across days
  std::uint64_t last_order_id_ = 0;
  std::uint64_t incarnation_ = 0;
  mutable std::uint64_t local_exec_ids_ = 0;  // ExecIDs handed out by local_exec_id()
};

// The annotation journaled with a command: "<session>|<ClOrdID>".
std::string make_annotation(std::uint32_t session, std::string_view cl_ord_id);
bool parse_annotation(std::string_view text, std::uint32_t& session, std::string& cl_ord_id);

// FIX OrdRejReason (103) and CxlRejReason (102) for an engine reject code.
int ord_rej_reason(RejectCode code);
int cxl_rej_reason(RejectCode code);

}  // namespace trading::gateway
