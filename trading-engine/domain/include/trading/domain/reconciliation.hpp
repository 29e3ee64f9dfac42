// Reconciliation (SOX completeness and accuracy): a Ledger keeps, per account and symbol, the
// position (shares, signed) and cash (price units x shares: a sale adds, a purchase subtracts)
// built from the engine's Trade events, each trade being two executions (the buyer's and the
// seller's). reconcile() compares a ledger rebuilt from the journal (the record) with another —
// the venue's live one, or what a drop copy reported — and lists every break with the records
// behind it: a position or cash that differs, an execution missing, one extra, one twice.
// The live ledger keeps the executions it saw since it started (or since the last end of day);
// holdings survive snapshots, executions are compared over the range both sides saw.
// Pure; not thread-safe (one owner).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "trading/domain/event_buffer.hpp"
#include "trading/domain/events.hpp"

namespace trading {

struct Execution {
  std::uint64_t sequence = 0;  // the journal record that produced it
  TradeId trade;
  AccountId account;
  SymbolId symbol;
  Side side = Side::kBuy;
  Qty qty{0};
  Price price{0};
  bool operator==(const Execution&) const = default;
};

struct Holding {
  std::int64_t position = 0;  // shares
  std::int64_t cash = 0;      // price units x shares
  std::uint64_t executions = 0;
  bool operator==(const Holding&) const = default;
};

class Ledger {
 public:
  // The Trade events of the command with journal `sequence` (other events are ignored).
  void on_events(std::uint64_t sequence, const EventBuffer& events);
  void on_trade(std::uint64_t sequence, const Trade& trade);
  void add(const Execution& execution);  // one side of a trade, as a drop copy reports it

  // Executions from here on are compared (those before are dropped); holdings stay (a new
  // trading day, a restart from a snapshot).
  void start_executions(std::uint64_t from_sequence);
  std::uint64_t executions_from() const { return executions_from_; }

  using Key = std::pair<std::uint32_t, std::uint32_t>;  // account, symbol
  const std::map<Key, Holding>& holdings() const { return holdings_; }
  const std::vector<Execution>& executions() const { return executions_; }
  std::uint64_t trades() const { return trades_; }

  // Snapshot support: the holdings as words (put/get std::uint64_t).
  template <typename Put>
  void save_holdings(Put&& put) const {
    put(holdings_.size());
    for (const auto& [key, h] : holdings_) {
      put(key.first);
      put(key.second);
      put(static_cast<std::uint64_t>(h.position));
      put(static_cast<std::uint64_t>(h.cash));
      put(h.executions);
    }
  }
  template <typename Get>
  bool load_holdings(Get&& get) {
    std::uint64_t n = 0, account = 0, symbol = 0, position = 0, cash = 0, executions = 0;
    if (!get(n) || n > (1u << 26)) return false;
    holdings_.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!get(account) || !get(symbol) || !get(position) || !get(cash) || !get(executions)) {
        return false;
      }
      holdings_[{static_cast<std::uint32_t>(account), static_cast<std::uint32_t>(symbol)}] =
          Holding{static_cast<std::int64_t>(position), static_cast<std::int64_t>(cash), executions};
    }
    return true;
  }

 private:
  std::map<Key, Holding> holdings_;
  std::vector<Execution> executions_;  // since executions_from_
  std::uint64_t executions_from_ = 0;
  std::uint64_t trades_ = 0;
};

struct Break {
  // position, cash, missing_execution (in the record, not the other side), extra_execution (the
  // other way), duplicate_execution (twice on one side), different_execution (same trade and
  // side, another account, symbol, quantity or price)
  std::string kind;
  AccountId account;
  SymbolId symbol;
  std::int64_t record = 0;            // the journal's figure (position, cash)
  std::int64_t other = 0;             // the other side's
  std::vector<Execution> executions;  // the records concerned
};

// Every break between the journal's ledger and `other`. Holdings are compared in full;
// executions over the sequences both saw (from the later of the two starts on).
std::vector<Break> reconcile(const Ledger& journal, const Ledger& other);

}  // namespace trading
