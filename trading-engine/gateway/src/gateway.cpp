#include "trading/gateway/gateway.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <type_traits>

#include "core/fixed_point.hpp"

namespace trading::gateway {
namespace {

constexpr std::size_t kMaxClOrdIdLength = 64;

char side_char(Side s) { return s == Side::kBuy ? '1' : '2'; }
char type_char(OrderType t) { return t == OrderType::kMarket ? '1' : '2'; }
char tif_char(TimeInForce t) {
  switch (t) {
    case TimeInForce::kDay:
      return '0';
    case TimeInForce::kGtc:
      return '1';
    case TimeInForce::kIoc:
      return '3';
    case TimeInForce::kFok:
      return '4';
  }
  return '0';
}

// The registry key of a ClOrdID: the account id, a separator, the ClOrdID bytes.
std::string account_cl_ord_key(AccountId account, std::string_view cl_ord_id) {
  std::string key = std::to_string(account.value());
  key += '\x1f';
  key.append(cl_ord_id);
  return key;
}

constexpr std::uint64_t kGatewayStateMagic = 0x3130304745544147ULL;  // "GATEG001"

std::string reason_text(RejectCode code) {
  return std::string(reject_text(code)) + " (code " + std::to_string(static_cast<int>(code)) + ")";
}

}  // namespace

std::string make_annotation(std::uint32_t session, std::string_view cl_ord_id) {
  std::string out = std::to_string(session);
  out += '|';
  out.append(cl_ord_id);
  return out;
}

bool parse_annotation(std::string_view text, std::uint32_t& session, std::string& cl_ord_id) {
  const auto bar = text.find('|');
  if (bar == std::string_view::npos) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + bar, session);
  if (ec != std::errc{} || end != text.data() + bar) return false;
  cl_ord_id.assign(text.substr(bar + 1));
  return true;
}

int ord_rej_reason(RejectCode code) {
  switch (code) {
    case RejectCode::kUnknownSymbol:
      return 1;
    case RejectCode::kTradingDisabled:
    case RejectCode::kSymbolHalted:
    case RejectCode::kVenueHalted:
      return 2;  // exchange closed
    case RejectCode::kMaxOrderQty:
    case RejectCode::kMaxOrderNotional:
    case RejectCode::kPriceCollar:
    case RejectCode::kCreditLimit:
    case RejectCode::kThrottled:
    case RejectCode::kPriceOutsideBand:
    case RejectCode::kAccountKilled:
    case RejectCode::kVenueKilled:
    case RejectCode::kRestrictedSymbol:
      return 3;  // order exceeds limit
    case RejectCode::kUnknownOrder:
      return 5;
    case RejectCode::kDuplicateOrderId:
    case RejectCode::kDuplicateClientOrderId:
      return 6;
    case RejectCode::kNonPositiveQuantity:
    case RejectCode::kQuantityOffLot:
    case RejectCode::kQuantityOutOfRange:
      return 13;  // incorrect quantity
    case RejectCode::kUnknownAccount:
      return 15;
    default:
      return 99;
  }
}

int cxl_rej_reason(RejectCode code) {
  switch (code) {
    case RejectCode::kUnknownOrder:
      return 1;
    case RejectCode::kDuplicateClientOrderId:
      return 6;
    default:
      return 99;
  }
}

Gateway::Gateway(GatewayConfig config) : config_(std::move(config)) {
  config_.symbols.resize(config_.instruments.size());
  depth_dirty_.assign(config_.instruments.size(), false);
  for (std::size_t i = 0; i < config_.instruments.size(); ++i) {
    symbols_by_name_.emplace(config_.instruments[i].symbol,
                             SymbolId(static_cast<std::uint32_t>(i)));
  }
  for (std::size_t i = 0; i < config_.sessions.size(); ++i) {
    if (config_.sessions[i].drop_copy) drop_copies_.push_back(static_cast<std::uint32_t>(i));
  }
  // Sized for the day up front: a table that doubles rehashes every entry at once, and these
  // grow together (one entry each per order), so the day's largest stall would land mid-session.
  orders_.reserve(config_.expected_orders);
  by_client_.reserve(config_.expected_orders);
  client_order_numbers_.reserve(config_.expected_orders);
  closed_.reserve(std::min(config_.expected_orders, config_.closed_orders_kept));
}

std::optional<SymbolId> Gateway::symbol_id(std::string_view name) const {
  auto it = symbols_by_name_.find(std::string(name));
  if (it == symbols_by_name_.end()) return std::nullopt;
  return it->second;
}

std::string Gateway::price_text(SymbolId symbol, Price price) const {
  return core::format_decimal(price.value(), config_.symbols[symbol.value()].price_decimals);
}

std::string Gateway::client_key(std::uint32_t session, std::string_view cl_ord_id) const {
  std::string key = std::to_string(session);
  key += '\x1f';
  key.append(cl_ord_id);
  return key;
}

std::uint64_t Gateway::client_order_number(AccountId account, std::string_view cl_ord_id) {
  const auto [it, added] =
      client_order_numbers_.try_emplace(account_cl_ord_key(account, cl_ord_id), 0);
  if (added) it->second = ++last_client_order_number_;
  return it->second;
}

void Gateway::save_state(const std::function<void(std::uint64_t)>& put) const {
  put(kGatewayStateMagic);
  put(last_client_order_number_);
  put(client_order_numbers_.size());
  for (const auto& [key, number] : client_order_numbers_) {
    put(number);
    put(key.size());
    for (std::size_t at = 0; at < key.size(); at += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, key.data() + at, std::min<std::size_t>(8, key.size() - at));
      put(word);
    }
  }
}

std::string Gateway::load_state(const std::function<bool(std::uint64_t&)>& get) {
  std::uint64_t v = 0;
  if (!get(v) || v != kGatewayStateMagic) return "snapshot has no gateway state (ClOrdIDs)";
  if (!get(v)) return "snapshot truncated in the gateway state";
  last_client_order_number_ = std::max(last_client_order_number_, v);
  std::uint64_t count = 0;
  if (!get(count)) return "snapshot truncated in the gateway state";
  client_order_numbers_.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t number = 0, size = 0;
    if (!get(number) || !get(size) || size > (1u << 20)) {
      return "snapshot truncated in the gateway state";
    }
    std::string key(static_cast<std::size_t>(size), '\0');
    for (std::size_t at = 0; at < key.size(); at += 8) {
      if (!get(v)) return "snapshot truncated in the gateway state";
      std::memcpy(key.data() + at, &v, std::min<std::size_t>(8, key.size() - at));
    }
    if (number == 0 || number > last_client_order_number_) {
      return "snapshot has a ClOrdID number past the last one given";
    }
    client_order_numbers_.emplace(std::move(key), number);
  }
  return "";
}

std::string Gateway::local_exec_id(char kind) const {
  std::string id(1, kind);
  id += std::to_string(incarnation_);
  id += '-';
  id += std::to_string(++local_exec_ids_);
  return id;
}

void Gateway::reject_order(const fix::Request& r, int reason, std::string text,
                           std::vector<Outbound>& replies) const {
  fix::ExecutionReport er;
  er.order_id = "NONE";
  er.cl_ord_id = r.cl_ord_id;
  er.exec_id = local_exec_id('R');
  er.exec_type = '8';
  er.ord_status = '8';
  er.ord_rej_reason = reason;
  er.account = r.account;
  er.symbol = r.symbol;
  er.side = r.side != 0 ? r.side : '1';
  er.ord_type = r.ord_type;
  er.order_qty = r.quantity;
  er.price = r.price;
  er.time_in_force = r.time_in_force;
  er.text = std::move(text);
  replies.push_back({r.session, std::move(er)});
}

void Gateway::copy_to_drop_copies(std::uint32_t owner, const fix::ExecutionReport& er,
                                  std::vector<Outbound>& replies) const {
  if (owner < config_.sessions.size() && config_.sessions[owner].drop_copy) return;
  for (const std::uint32_t dc : drop_copies_) {
    const auto& covers = config_.sessions[dc].covers;
    if (covers.empty() || std::find(covers.begin(), covers.end(), er.account) != covers.end()) {
      replies.push_back({dc, er});
    }
  }
}

void Gateway::reject_cancel(const fix::Request& r, int reason, std::string text,
                            std::vector<Outbound>& replies) const {
  fix::OrderCancelReject rej;
  rej.order_id = r.order_id.empty() ? "NONE" : r.order_id;
  rej.cl_ord_id = r.cl_ord_id;
  rej.orig_cl_ord_id = r.orig_cl_ord_id;
  rej.account = r.account;
  rej.response_to = r.kind == fix::Request::Kind::kReplace ? '2' : '1';
  rej.reason = reason;
  rej.ord_status = '8';
  rej.text = std::move(text);
  replies.push_back({r.session, std::move(rej)});
}

fix::ExecutionReport Gateway::report_of(std::uint64_t order_id, const OrderView& o) const {
  fix::ExecutionReport er;
  er.order_id = std::to_string(order_id);
  er.cl_ord_id = o.cl_ord_id;
  er.account = config_.sessions.size() > o.session ? config_.sessions[o.session].account_name
                                                   : std::string();
  er.symbol = config_.instruments[o.symbol.value()].symbol;
  er.side = side_char(o.side);
  er.ord_type = type_char(o.type);
  er.time_in_force = tif_char(o.tif);
  er.order_qty = std::to_string(o.qty.value());
  if (o.type == OrderType::kLimit) er.price = price_text(o.symbol, o.price);
  er.cum_qty = std::to_string(o.cum.value());
  const std::int64_t leaves = std::max<std::int64_t>(0, o.qty.value() - o.cum.value());
  er.leaves_qty = std::to_string(leaves);
  // Average price with 4 more decimals than the price, without overflow.
  const int decimals = config_.symbols[o.symbol.value()].price_decimals;
  if (o.cum.value() > 0) {
    const std::int64_t whole = o.cum_notional / o.cum.value();
    const std::int64_t frac = o.cum_notional % o.cum.value() * 10'000 / o.cum.value();
    er.avg_px = core::format_decimal(whole * 10'000 + frac, decimals + 4);
  } else {
    er.avg_px = "0";
  }
  er.ord_status = o.cum.value() == 0 ? '0' : (leaves == 0 ? '2' : '1');
  return er;
}

Gateway::Translation Gateway::translate(const fix::Request& r, core::Nanos now,
                                        const DepthSource& books, std::vector<Outbound>& replies) {
  using Kind = fix::Request::Kind;
  Translation t;
  if (r.session >= config_.sessions.size()) return t;  // not a configured session
  const SessionAccount& acct = config_.sessions[r.session];
  switch (r.kind) {
    case Kind::kMarketData:
      market_data(r, books, replies);
      return t;
    case Kind::kSecurityList:
      security_list(r, replies);
      return t;
    case Kind::kStatus:
      status(r, replies);
      return t;
    default:
      break;
  }
  const bool is_order = r.kind == Kind::kNewOrder;
  const auto reject = [&](int reason, std::string text) {
    if (is_order) {
      reject_order(r, reason, std::move(text), replies);
    } else if (r.kind == Kind::kMassCancel) {
      fix::MassCancelReport rep;
      rep.cl_ord_id = r.cl_ord_id;
      rep.order_id = "NONE";
      rep.request_type = r.mass_cancel_type;
      rep.response = '0';
      rep.reject_reason = reason;
      rep.symbol = r.symbol;
      rep.account = r.account;
      rep.text = std::move(text);
      replies.push_back({r.session, std::move(rep)});
    } else {
      reject_cancel(r, reason, std::move(text), replies);
    }
    return t;
  };
  if (acct.drop_copy) {
    return reject(99,
                  "this is a drop copy session: it receives copies of execution reports "
                  "and cannot send orders, cancels or replaces");
  }
  if (r.cl_ord_id.empty() || r.cl_ord_id.size() > kMaxClOrdIdLength) {
    return reject(99, "ClOrdID must have 1 to 64 characters");
  }
  if (!r.account.empty() && r.account != acct.account_name) {
    return reject(is_order ? 15 : 99, "Account " + r.account + " is not this session's account");
  }
  std::optional<SymbolId> symbol;
  if (!r.symbol.empty()) {
    symbol = symbol_id(r.symbol);
    if (!symbol)
      return reject(is_order ? 1 : (r.kind == Kind::kMassCancel ? 1 : 99),
                    "unknown symbol " + r.symbol);
  }
  const int decimals = symbol ? config_.symbols[symbol->value()].price_decimals : 0;
  const auto price_of = [&](Price& out) -> bool {
    auto p = core::parse_decimal(r.price, decimals);
    if (!p) return false;
    out = Price{*p};
    return true;
  };
  const auto qty_of = [&](Qty& out) -> bool {
    auto q = core::parse_decimal(r.quantity, 0);
    if (!q) return false;
    out = Qty{*q};
    return true;
  };

  if (r.kind == Kind::kNewOrder) {
    // A resend (PossDupFlag=Y) of an order the venue already has, typically after a restart
    // that journaled the order but not the session's sequence number: answer with its status
    // instead of a duplicate-ClOrdID reject.
    const std::string key = client_key(r.session, r.cl_ord_id);
    if (r.poss_dup && (by_client_.count(key) != 0 || closed_.count(key) != 0)) {
      status(r, replies);
      return t;
    }
    NewOrder cmd;
    cmd.account = acct.account;
    cmd.symbol = *symbol;
    cmd.side = r.side == '2' ? Side::kSell : Side::kBuy;
    cmd.type = r.ord_type == '1' ? OrderType::kMarket : OrderType::kLimit;
    switch (r.time_in_force) {
      case '1':
        cmd.tif = TimeInForce::kGtc;
        break;
      case '3':
        cmd.tif = TimeInForce::kIoc;
        break;
      case '4':
        cmd.tif = TimeInForce::kFok;
        break;
      default:
        cmd.tif = TimeInForce::kDay;
    }
    if (cmd.type == OrderType::kMarket &&
        (cmd.tif == TimeInForce::kDay || cmd.tif == TimeInForce::kGtc)) {
      cmd.tif = TimeInForce::kIoc;  // market orders never rest
    }
    if (cmd.type == OrderType::kLimit) {
      if (r.price.empty()) return reject(99, "a limit order needs Price (44)");
      if (!price_of(cmd.price)) {
        return reject(99, "Price " + r.price + " is not a price with at most " +
                              std::to_string(decimals) + " decimals");
      }
    }
    if (!qty_of(cmd.qty)) return reject(13, "OrderQty " + r.quantity + " is not whole shares");
    cmd.id = OrderId(++last_order_id_);
    cmd.owner = r.session;
    cmd.client_order_key = client_order_number(acct.account, r.cl_ord_id);
    t.command = Command{now, cmd};
    t.annotation = make_annotation(r.session, r.cl_ord_id);
    return t;
  }

  if (r.kind == Kind::kMassCancel) {
    MassCancel cmd;
    cmd.account = acct.account;
    if (r.mass_cancel_type == '1') {
      if (!symbol) return reject(1, "a mass cancel by security needs Symbol (55)");
      cmd.scope = MassCancelScope::kAccountSymbol;
      cmd.symbol = *symbol;
    } else {
      cmd.scope = MassCancelScope::kAccount;
    }
    t.command = Command{now, cmd};
    t.annotation = make_annotation(r.session, r.cl_ord_id);
    return t;
  }

  // Cancel or replace: find the order by the client's OrigClOrdID in this session.
  auto found = by_client_.find(client_key(r.session, r.orig_cl_ord_id));
  if (found == by_client_.end()) {
    return reject(1, "unknown order: OrigClOrdID " + r.orig_cl_ord_id + " is not open");
  }
  const std::uint64_t order_id = found->second;
  const OrderView& o = orders_.at(order_id);
  if (!r.order_id.empty() && r.order_id != std::to_string(order_id)) {
    return reject(1, "OrderID " + r.order_id + " does not match OrigClOrdID");
  }
  if (symbol && *symbol != o.symbol) return reject(99, "Symbol does not match the order");
  if (r.side != side_char(o.side)) return reject(99, "Side does not match the order");
  if (by_client_.count(client_key(r.session, r.cl_ord_id)) != 0) {
    return reject(6, "ClOrdID " + r.cl_ord_id + " is already in use");
  }
  if (r.kind == Kind::kCancel) {
    t.command = Command{now, CancelOrder{OrderId(order_id), acct.account, o.symbol}};
  } else {
    if (r.ord_type != '2') return reject(99, "only limit orders can be replaced");
    ReplaceOrder cmd{OrderId(order_id), acct.account, o.symbol, Price{0}, Qty{0}};
    if (r.price.empty() || !price_of(cmd.price)) {
      return reject(99, "Price " + r.price + " is not a valid price for " + r.symbol);
    }
    if (!qty_of(cmd.qty)) return reject(99, "OrderQty " + r.quantity + " is not whole shares");
    t.command = Command{now, cmd};
  }
  t.annotation = make_annotation(r.session, r.cl_ord_id);
  return t;
}

void Gateway::on_applied(std::uint64_t sequence, const Command& command,
                         std::string_view annotation, const EventBuffer& events,
                         std::vector<Outbound>* replies) {
  std::uint32_t session = 0;
  std::string request_cl_ord_id;
  const bool annotated = parse_annotation(annotation, session, request_cl_ord_id);
  int k = 0;
  const auto exec_id = [&]() { return std::to_string(sequence) + "-" + std::to_string(++k); };
  // The message is moved once, into its place in `replies` (a report is sixteen strings).
  const auto send = [&]<typename Message>(std::uint32_t to, Message&& message) {
    static_assert(!std::is_same_v<std::remove_cvref_t<Message>, Reply>,
                  "pass the message itself: whether it is drop-copied depends on its type");
    if (replies == nullptr) return;
    if constexpr (std::is_same_v<std::remove_cvref_t<Message>, fix::ExecutionReport>) {
      if (!drop_copies_.empty()) copy_to_drop_copies(to, message, *replies);
    }
    replies->emplace_back(to, std::forward<Message>(message));
  };
  const NewOrder* new_order = std::get_if<NewOrder>(&command.body);
  const ReplaceOrder* replace = std::get_if<ReplaceOrder>(&command.body);
  const CancelOrder* cancel = std::get_if<CancelOrder>(&command.body);
  const MassCancel* mass = std::get_if<MassCancel>(&command.body);
  if (new_order != nullptr) {
    set_last_order_id(new_order->id);
    // Replaying the journal rebuilds the ClOrdID numbers the orders were given (live, translate()
    // already holds them). Records from journal format 1 carry a hash instead: kept as they
    // are, so a repeat of such a ClOrdID still meets the engine's key for it.
    if (annotated && new_order->client_order_key != 0) {
      client_order_numbers_.try_emplace(account_cl_ord_key(new_order->account, request_cl_ord_id),
                                        new_order->client_order_key);
      if (new_order->client_order_key < (std::uint64_t{1} << 63)) {
        last_client_order_number_ =
            std::max(last_client_order_number_, new_order->client_order_key);
      }
    }
  }
  if (std::holds_alternative<EndOfDay>(command.body)) {
    client_order_numbers_.clear();  // a new trading day: ClOrdIDs may be reused (as the engine)
  }
  if (replies != nullptr && depth_subscriptions_ > 0 && !events.empty()) {
    // Which books may have changed: the command's symbol, or every symbol for the commands
    // that reach across books (mass cancel, end of day, kill switch, halts, ticks).
    std::optional<SymbolId> only;
    if (new_order != nullptr) only = new_order->symbol;
    if (replace != nullptr) only = replace->symbol;
    if (cancel != nullptr) only = cancel->symbol;
    if (only && only->value() < depth_dirty_.size()) {
      depth_dirty_[only->value()] = true;
    } else {
      std::fill(depth_dirty_.begin(), depth_dirty_.end(), true);
    }
    any_depth_dirty_ = true;
  }
  int mass_affected = 0;
  const auto forget = [&](std::uint64_t id, char final_status) {
    auto it = orders_.find(id);
    if (it == orders_.end()) return;
    const std::string key = client_key(it->second.session, it->second.cl_ord_id);
    by_client_.erase(key);
    remember_closed(key, id, it->second, final_status);
    orders_.erase(it);
  };

  for (const Event& e : events) {
    if (const auto* a = std::get_if<Accepted>(&e)) {
      if (!annotated) continue;
      OrderView o;
      o.session = session;
      o.account = a->account;
      o.symbol = a->symbol;
      o.side = a->side;
      o.type = a->type;
      o.tif = a->tif;
      o.price = a->price;
      o.qty = a->qty;
      o.cl_ord_id = request_cl_ord_id;
      orders_[a->id.value()] = o;
      by_client_[client_key(session, request_cl_ord_id)] = a->id.value();
      auto er = report_of(a->id.value(), o);
      er.exec_id = exec_id();
      er.exec_type = '0';
      er.ord_status = '0';
      send(session, std::move(er));
    } else if (const auto* rej = std::get_if<Rejected>(&e)) {
      if (!annotated) continue;
      if (new_order != nullptr) {
        fix::ExecutionReport er;
        er.order_id = std::to_string(new_order->id.value());
        er.cl_ord_id = request_cl_ord_id;
        er.exec_id = exec_id();
        er.exec_type = '8';
        er.ord_status = '8';
        er.ord_rej_reason = ord_rej_reason(rej->code);
        er.account = session < config_.sessions.size() ? config_.sessions[session].account_name
                                                       : std::string();
        er.symbol = new_order->symbol.value() < config_.instruments.size()
                        ? config_.instruments[new_order->symbol.value()].symbol
                        : std::string();
        er.side = side_char(new_order->side);
        er.ord_type = type_char(new_order->type);
        er.time_in_force = tif_char(new_order->tif);
        er.order_qty = std::to_string(new_order->qty.value());
        if (new_order->type == OrderType::kLimit && !er.symbol.empty()) {
          er.price = price_text(new_order->symbol, new_order->price);
        }
        er.text = reason_text(rej->code);
        send(session, std::move(er));
      } else if (cancel != nullptr || replace != nullptr) {
        const std::uint64_t id = cancel != nullptr ? cancel->id.value() : replace->id.value();
        fix::OrderCancelReject r;
        r.order_id = std::to_string(id);
        r.cl_ord_id = request_cl_ord_id;
        auto it = orders_.find(id);
        r.orig_cl_ord_id = it != orders_.end() ? it->second.cl_ord_id : std::string();
        r.ord_status = it != orders_.end() ? report_of(id, it->second).ord_status : '8';
        r.response_to = cancel != nullptr ? '1' : '2';
        r.reason = cxl_rej_reason(rej->code);
        r.text = reason_text(rej->code);
        send(session, std::move(r));
      } else if (mass != nullptr) {
        fix::MassCancelReport rep;
        rep.cl_ord_id = request_cl_ord_id;
        rep.order_id = std::to_string(sequence);
        rep.request_type = mass->scope == MassCancelScope::kAccountSymbol ? '1' : '7';
        rep.response = '0';
        rep.reject_reason = rej->code == RejectCode::kUnknownSymbol ? 1 : 99;
        rep.text = reason_text(rej->code);
        send(session, std::move(rep));
      }
    } else if (const auto* tr = std::get_if<Trade>(&e)) {
      const auto fill = [&](std::uint64_t id, Qty cum, std::int64_t notional, Qty leaves) {
        auto it = orders_.find(id);
        if (it == orders_.end()) return;
        it->second.cum = cum;
        it->second.cum_notional = notional;
        it->second.qty = cum + leaves;
        auto er = report_of(id, it->second);
        er.exec_id = exec_id();
        er.exec_type = 'F';
        er.last_qty = std::to_string(tr->qty.value());
        er.last_px = price_text(tr->symbol, tr->price);
        er.trade_id = std::to_string(tr->id.value());
        send(it->second.session, std::move(er));
        if (leaves.value() == 0) forget(id, '2');
      };
      fill(tr->aggressor.value(), tr->aggressor_cum, tr->aggressor_cum_notional,
           tr->aggressor_leaves);
      fill(tr->resting.value(), tr->resting_cum, tr->resting_cum_notional, tr->resting_leaves);
      for (const auto& sub : subscriptions_) {
        if (sub.symbol != tr->symbol) continue;
        fix::MarketDataIncremental md;
        md.md_req_id = sub.md_req_id;
        fix::MarketDataEntry entry;
        entry.update_action = '0';
        entry.type = '2';
        entry.symbol = config_.instruments[tr->symbol.value()].symbol;
        entry.price = price_text(tr->symbol, tr->price);
        entry.size = std::to_string(tr->qty.value());
        entry.trade_id = std::to_string(tr->id.value());
        md.entries.push_back(std::move(entry));
        send(sub.session, std::move(md));
      }
    } else if (const auto* c = std::get_if<Canceled>(&e)) {
      auto it = orders_.find(c->id.value());
      if (it == orders_.end()) continue;
      auto er = report_of(c->id.value(), it->second);
      er.exec_id = exec_id();
      er.exec_type = '4';
      er.ord_status = '4';
      er.leaves_qty = "0";
      if (cancel != nullptr && cancel->id == c->id && annotated) {
        er.orig_cl_ord_id = it->second.cl_ord_id;
        er.cl_ord_id = request_cl_ord_id;
      } else {
        er.text = std::string(to_string(c->reason));
      }
      if (mass != nullptr) ++mass_affected;
      send(it->second.session, std::move(er));
      forget(c->id.value(), '4');
    } else if (const auto* rp = std::get_if<Replaced>(&e)) {
      auto it = orders_.find(rp->id.value());
      if (it == orders_.end() || !annotated) continue;
      OrderView& o = it->second;
      const std::string previous = o.cl_ord_id;
      by_client_.erase(client_key(o.session, previous));
      o.cl_ord_id = request_cl_ord_id;
      o.price = rp->price;
      o.qty = rp->qty;
      by_client_[client_key(o.session, o.cl_ord_id)] = rp->id.value();
      auto er = report_of(rp->id.value(), o);
      er.exec_id = exec_id();
      er.exec_type = '5';
      er.orig_cl_ord_id = previous;
      send(o.session, std::move(er));
    } else if (const auto* x = std::get_if<Expired>(&e)) {
      auto it = orders_.find(x->id.value());
      if (it == orders_.end()) continue;
      auto er = report_of(x->id.value(), it->second);
      er.exec_id = exec_id();
      er.exec_type = 'C';
      er.ord_status = 'C';
      er.leaves_qty = "0";
      send(it->second.session, std::move(er));
      forget(x->id.value(), 'C');
    } else if (const auto* top = std::get_if<TopOfBook>(&e)) {
      for (const auto& sub : subscriptions_) {
        if (sub.symbol != top->symbol || sub.depth > 1) continue;
        fix::MarketDataIncremental md;
        md.md_req_id = sub.md_req_id;
        const auto side_entry = [&](char type, Price p, Qty q) {
          fix::MarketDataEntry entry;
          entry.type = type;
          entry.symbol = config_.instruments[top->symbol.value()].symbol;
          entry.position = 1;
          if (q.value() > 0) {
            entry.update_action = '1';
            entry.price = price_text(top->symbol, p);
            entry.size = std::to_string(q.value());
          } else {
            entry.update_action = '2';
          }
          md.entries.push_back(std::move(entry));
        };
        side_entry('0', top->bid, top->bid_qty);
        side_entry('1', top->ask, top->ask_qty);
        send(sub.session, std::move(md));
      }
    }
  }
  // A mass cancel that was not rejected is reported, also when nothing was open.
  const bool mass_rejected = !events.empty() && std::holds_alternative<Rejected>(events.front());
  if (mass != nullptr && annotated && !mass_rejected) {
    fix::MassCancelReport rep;
    rep.cl_ord_id = request_cl_ord_id;
    rep.order_id = std::to_string(sequence);
    rep.request_type = mass->scope == MassCancelScope::kAccountSymbol ? '1' : '7';
    rep.response = rep.request_type;
    rep.affected = mass_affected;
    if (mass->scope == MassCancelScope::kAccountSymbol) {
      rep.symbol = config_.instruments[mass->symbol.value()].symbol;
    }
    send(session, std::move(rep));
  }
}

void Gateway::remember_closed(const std::string& key, std::uint64_t order_id, const OrderView& o,
                              char final_status) {
  if (config_.closed_orders_kept == 0) return;
  if (closed_.size() >= config_.closed_orders_kept && !closed_order_.empty()) {
    closed_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
  if (closed_.insert_or_assign(key, ClosedOrder{order_id, o, final_status}).second) {
    closed_order_.push_back(key);
  }
}

void Gateway::status(const fix::Request& r, std::vector<Outbound>& replies) const {
  const std::string key = client_key(r.session, r.cl_ord_id);
  auto found = by_client_.find(key);
  if (found == by_client_.end()) {
    if (auto closed = closed_.find(key); closed != closed_.end()) {
      auto er = report_of(closed->second.order_id, closed->second.view);
      er.ord_status = closed->second.final_status;
      er.leaves_qty = "0";
      er.ord_status_req_id = r.ord_status_req_id;
      er.exec_id = local_exec_id('S');
      er.exec_type = 'I';
      replies.push_back({r.session, std::move(er)});
      return;
    }
    fix::ExecutionReport er;
    er.order_id = r.order_id.empty() ? "NONE" : r.order_id;
    er.cl_ord_id = r.cl_ord_id;
    er.ord_status_req_id = r.ord_status_req_id;
    er.exec_id = local_exec_id('S');
    er.exec_type = 'I';
    er.ord_status = '8';
    er.symbol = r.symbol;
    er.side = r.side != 0 ? r.side : '1';
    er.text = "unknown order: no open order with this ClOrdID";
    replies.push_back({r.session, std::move(er)});
    return;
  }
  auto er = report_of(found->second, orders_.at(found->second));
  er.ord_status_req_id = r.ord_status_req_id;
  er.exec_id = local_exec_id('S');
  er.exec_type = 'I';
  replies.push_back({r.session, std::move(er)});
}

void Gateway::market_data(const fix::Request& r, const DepthSource& books,
                          std::vector<Outbound>& replies) {
  const auto reject = [&](char reason, std::string text) {
    fix::MarketDataReject rej;
    rej.md_req_id = r.md_req_id;
    rej.reason = reason;
    rej.has_reason = true;
    rej.text = std::move(text);
    replies.push_back({r.session, std::move(rej)});
  };
  if (r.subscription_type == '2') {  // unsubscribe
    const auto before = subscriptions_.size();
    std::erase_if(subscriptions_, [&](const Subscription& s) {
      return s.session == r.session && s.md_req_id == r.md_req_id;
    });
    if (subscriptions_.size() == before) reject('0', "no subscription with this MDReqID");
    count_depth_subscriptions();
    return;
  }
  for (char type : r.md_entry_types) {
    if (type != '0' && type != '1' && type != '2') return reject('8', "unsupported MDEntryType");
  }
  const std::size_t depth =
      r.market_depth <= 0 ? config_.max_market_depth : static_cast<std::size_t>(r.market_depth);
  if (depth > config_.max_market_depth) {
    return reject('5', "MarketDepth above " + std::to_string(config_.max_market_depth));
  }
  std::vector<SymbolId> ids;
  for (const auto& name : r.symbols) {
    auto id = symbol_id(name);
    if (!id) return reject('0', "unknown symbol " + name);
    ids.push_back(*id);
  }
  if (r.subscription_type == '1') {
    for (const auto& s : subscriptions_) {
      if (s.session == r.session && s.md_req_id == r.md_req_id) {
        return reject('1', "MDReqID already in use");
      }
    }
  }
  std::vector<Level> levels;
  for (SymbolId id : ids) {
    fix::MarketDataSnapshot snap;
    snap.md_req_id = r.md_req_id;
    snap.symbol = config_.instruments[id.value()].symbol;
    for (Side side : {Side::kBuy, Side::kSell}) {
      books.depth(id, side, depth, levels);
      int position = 0;
      for (const Level& l : levels) {
        fix::MarketDataEntry e;
        e.type = side == Side::kBuy ? '0' : '1';
        e.price = price_text(id, l.price);
        e.size = std::to_string(l.qty.value());
        e.position = ++position;
        e.orders = static_cast<int>(l.orders);
        snap.entries.push_back(std::move(e));
      }
    }
    replies.push_back({r.session, std::move(snap)});
    if (r.subscription_type == '1') {
      Subscription sub{r.session, r.md_req_id, id, depth, {}};
      if (depth > 1) {
        books.depth(id, Side::kBuy, depth, sub.last[0]);
        books.depth(id, Side::kSell, depth, sub.last[1]);
        ++depth_subscriptions_;
      }
      subscriptions_.push_back(std::move(sub));
    }
  }
}

void Gateway::publish_depth(const DepthSource& books, std::vector<Outbound>& replies) {
  if (!any_depth_dirty_) return;
  any_depth_dirty_ = false;
  std::vector<Level> now;
  for (Subscription& sub : subscriptions_) {
    if (sub.depth <= 1 || !depth_dirty_[sub.symbol.value()]) continue;
    fix::MarketDataIncremental md;
    md.md_req_id = sub.md_req_id;
    const std::string& symbol = config_.instruments[sub.symbol.value()].symbol;
    for (int i = 0; i < 2; ++i) {
      books.depth(sub.symbol, i == 0 ? Side::kBuy : Side::kSell, sub.depth, now);
      std::vector<Level>& before = sub.last[i];
      const auto find = [](const std::vector<Level>& levels, Price p) {
        return std::find_if(levels.begin(), levels.end(),
                            [&](const Level& l) { return l.price == p; });
      };
      const auto entry = [&](char action, const Level& l, int position) {
        fix::MarketDataEntry e;
        e.update_action = action;
        e.type = i == 0 ? '0' : '1';
        e.symbol = symbol;
        e.price = price_text(sub.symbol, l.price);
        if (action != '2') {
          e.size = std::to_string(l.qty.value());
          e.orders = static_cast<int>(l.orders);
          e.position = position;
        }
        md.entries.push_back(std::move(e));
      };
      // Deletes first, so a client that caps its book at the depth never overflows.
      for (const Level& l : before) {
        if (find(now, l.price) == now.end()) entry('2', l, 0);
      }
      int position = 0;
      for (const Level& l : now) {
        ++position;
        const auto old = find(before, l.price);
        if (old == before.end()) {
          entry('0', l, position);
        } else if (!(*old == l)) {
          entry('1', l, position);
        }
      }
      before.swap(now);
    }
    if (!md.entries.empty()) replies.push_back({sub.session, std::move(md)});
  }
  std::fill(depth_dirty_.begin(), depth_dirty_.end(), false);
}

void Gateway::security_list(const fix::Request& r, std::vector<Outbound>& replies) const {
  fix::SecurityList list;
  list.security_req_id = r.security_req_id;
  list.security_response_id =
      "SL-" + std::to_string(r.session) + "-" + std::to_string(r.msg_seq_num);
  for (std::size_t i = 0; i < config_.instruments.size(); ++i) {
    const Instrument& inst = config_.instruments[i];
    if (r.security_list_request_type == 0 && inst.symbol != r.symbol) continue;
    fix::SecurityListEntry e;
    e.symbol = inst.symbol;
    e.min_price_increment = price_text(SymbolId(static_cast<std::uint32_t>(i)), inst.tick_size);
    e.round_lot = std::to_string(inst.lot_size.value());
    e.description = config_.symbols[i].description;
    list.securities.push_back(std::move(e));
  }
  list.result = list.securities.empty() ? 2 : 0;
  replies.push_back({r.session, std::move(list)});
}

void Gateway::on_session(std::uint32_t session, bool logged_on) {
  if (!logged_on) {
    std::erase_if(subscriptions_, [&](const Subscription& s) { return s.session == session; });
    count_depth_subscriptions();
  }
}

void Gateway::count_depth_subscriptions() {
  depth_subscriptions_ =
      static_cast<std::size_t>(std::count_if(subscriptions_.begin(), subscriptions_.end(),
                                             [](const Subscription& s) { return s.depth > 1; }));
}

}  // namespace trading::gateway
