// Commands: the only inputs of the engine. Each carries its time and the ids it introduces, so
// replaying the same commands reproduces the same events bit for bit. Trivially copyable.
#pragma once

#include <array>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "trading/domain/types.hpp"

namespace trading {

struct NewOrder {
  OrderId id;  // assigned by the sequencer; must be greater than every id seen before
  AccountId account;
  SymbolId symbol;
  Side side = Side::kBuy;
  OrderType type = OrderType::kLimit;
  TimeInForce tif = TimeInForce::kDay;
  Price price{0};  // ignored for market orders
  Qty qty{0};
  SessionId owner = 0;
  // The number of the client's order id (account + FIX ClOrdID) for the duplicate check: the
  // same (account, ClOrdID) always gets the same number and different ones never share one
  // (the gateway assigns them); an order whose number was accepted earlier today is refused.
  // 0 = none.
  std::uint64_t client_order_key = 0;
};

struct CancelOrder {
  OrderId id;
  AccountId account;  // must own the order
  SymbolId symbol;    // the book to look in (FIX tag 55 is required on a cancel)
};

struct ReplaceOrder {
  OrderId id;
  AccountId account;
  SymbolId symbol;
  Price price{0};
  Qty qty{0};  // new total quantity (filled + leaves)
};

// kAccount: every order of the account; kSymbol: every order on the symbol (an operator's
// tool); kAll: everything; kAccountSymbol: the account's orders on one symbol (a trader's FIX
// OrderMassCancelRequest by security).
enum class MassCancelScope : std::uint8_t { kAccount, kSymbol, kAll, kAccountSymbol };

struct MassCancel {
  MassCancelScope scope = MassCancelScope::kAll;
  AccountId account;  // for kAccount, kAccountSymbol
  SymbolId symbol;    // for kSymbol, kAccountSymbol
};

// The configured session end: every Day order expires.
struct EndOfDay {};

// Kill switch: engaging cancels every open order in scope and blocks new orders until released.
struct KillSwitch {
  bool venue_wide = false;
  AccountId account;  // when not venue-wide
  bool engaged = true;
};

// Manual trading halt or resume, for one symbol or the whole venue.
struct TradingHalt {
  bool venue_wide = false;
  SymbolId symbol;   // when not venue-wide
  bool halt = true;  // false: resume
};

// A run-time change of one account's pre-trade limits (journal format 4). Each field marked in
// `fields` replaces that limit; the others stay. The admin API issues it once a second person
// approved the change (maker-checker); replay reproduces it like any command.
struct SetAccountLimits {
  enum Field : std::uint8_t {
    kMaxOrderQty = 1,
    kMaxOrderNotional = 2,
    kCreditLimit = 4,
    kPriceCollar = 8,
    kThrottle = 16,  // max_messages_per_second and message_burst together
    kAllFields = 31,
  };
  AccountId account;
  std::uint8_t fields = 0;
  Qty max_order_qty{0};
  std::int64_t max_order_notional = 0;
  std::int64_t credit_limit = 0;
  std::int32_t price_collar_bps = 0;
  std::uint32_t max_messages_per_second = 0;
  std::uint32_t message_burst = 0;
};

// Reference data added at run time once a second person approved it (maker-checker; journal
// format 4). Names are fixed-size, NUL-padded arrays so commands stay trivially copyable; 1 to
// kMaxNameLength characters of letters, digits, '.', '_' and '-'.
inline constexpr std::size_t kMaxAccountNameLength = 16;
inline constexpr std::size_t kMaxCompIdLength = 32;
template <std::size_t N>
struct FixedName {
  std::array<char, N> text{};
  std::string_view view() const {
    std::size_t n = 0;
    while (n < N && text[n] != 0) ++n;
    return {text.data(), n};
  }
  // False (and nothing stored) when `name` is empty, too long or has other characters.
  bool assign(std::string_view name) {
    if (!valid(name)) return false;
    text = {};
    for (std::size_t i = 0; i < name.size(); ++i) text[i] = name[i];
    return true;
  }
  static bool valid(std::string_view name) {
    if (name.empty() || name.size() > N) return false;
    for (char c : name) {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
      if (!plain) return false;
    }
    return true;
  }
  // A valid name with every byte after it NUL (what the journal reader accepts).
  bool canonical() const {
    const std::string_view name = view();
    if (!valid(name)) return false;
    for (std::size_t i = name.size(); i < N; ++i) {
      if (text[i] != 0) return false;
    }
    return true;
  }
};

// A new account, with unlimited limits until the SetAccountLimits that the same approval
// journals right after it; its id must be above every account id so far and its name new.
// Nothing can trade for it until a session is added for it (AddSession).
struct AddAccount {
  AccountId id;
  StpMode stp = StpMode::kCancelResting;
  FixedName<kMaxAccountNameLength> name;
};

// A new FIX session: the client's CompID (new) and the account its orders trade for.
struct AddSession {
  AccountId account;
  FixedName<kMaxCompIdLength> client_comp_id;
};

// Time passes: runs the engine's timers (band windows, limit states, pauses) when no order
// arrives. The service sends one periodically; it is journaled like every other command.
struct Tick {};

// A record about the journal itself, not a trading command: the engine ignores it (no event, no
// timer, no state). Every marker carries the writing primary's leadership epoch and the engine's
// state digest before it, which a standby following the journal compares with its own:
//   kStateDigest - written at intervals by the primary;
//   kLeader      - a primary took leadership with `epoch` and appends from here;
//   kSeal        - the primary with `epoch` handed over: it appends nothing after this record;
//   kStart       - a venue started writing (format 4): its record's annotation names the build,
//                  the configuration digest and the deployment evidence bundle, if any
//                  (change management: which build handled which trades).
enum class MarkerKind : std::uint8_t { kStateDigest = 1, kLeader = 2, kSeal = 3, kStart = 4 };
struct JournalMarker {
  MarkerKind kind = MarkerKind::kStateDigest;
  std::uint64_t epoch = 0;
  std::uint64_t digest = 0;
};

struct Command {
  core::Nanos timestamp = 0;
  std::variant<NewOrder, CancelOrder, ReplaceOrder, MassCancel, EndOfDay, KillSwitch, TradingHalt,
               Tick, JournalMarker, SetAccountLimits, AddAccount, AddSession>
      body;
};

}  // namespace trading
