#include "trading/domain/reconciliation.hpp"

#include <algorithm>
#include <tuple>

namespace trading {

void Ledger::on_events(std::uint64_t sequence, const EventBuffer& events) {
  for (const Event& e : events) {
    if (const auto* t = std::get_if<Trade>(&e)) on_trade(sequence, *t);
  }
}

void Ledger::on_trade(std::uint64_t sequence, const Trade& t) {
  ++trades_;
  const AccountId buyer = t.aggressor_side == Side::kBuy ? t.aggressor_account : t.resting_account;
  const AccountId seller = t.aggressor_side == Side::kBuy ? t.resting_account : t.aggressor_account;
  add({sequence, t.id, buyer, t.symbol, Side::kBuy, t.qty, t.price});
  add({sequence, t.id, seller, t.symbol, Side::kSell, t.qty, t.price});
}

void Ledger::add(const Execution& x) {
  Holding& h = holdings_[{x.account.value(), x.symbol.value()}];
  const std::int64_t value = x.price.value() * x.qty.value();
  h.position += x.side == Side::kBuy ? x.qty.value() : -x.qty.value();
  h.cash += x.side == Side::kBuy ? -value : value;
  ++h.executions;
  if (x.sequence >= executions_from_) executions_.push_back(x);
}

void Ledger::start_executions(std::uint64_t from_sequence) {
  executions_from_ = from_sequence;
  std::erase_if(executions_, [&](const Execution& x) { return x.sequence < from_sequence; });
}

namespace {

// Executions ordered by (trade, side): the identity of an execution.
std::vector<Execution> sorted_from(const std::vector<Execution>& all, std::uint64_t from) {
  std::vector<Execution> out;
  for (const auto& x : all) {
    if (x.sequence >= from) out.push_back(x);
  }
  std::sort(out.begin(), out.end(), [](const Execution& a, const Execution& b) {
    return std::tie(a.trade, a.side, a.sequence) < std::tie(b.trade, b.side, b.sequence);
  });
  return out;
}

bool same_execution(const Execution& a, const Execution& b) {
  return a.trade == b.trade && a.side == b.side;
}

}  // namespace

std::vector<Break> reconcile(const Ledger& journal, const Ledger& other) {
  std::vector<Break> breaks;
  // Holdings: every account and symbol either side knows.
  std::map<Ledger::Key, std::pair<Holding, Holding>> both;
  for (const auto& [k, h] : journal.holdings()) both[k].first = h;
  for (const auto& [k, h] : other.holdings()) both[k].second = h;
  const std::uint64_t from = std::max(journal.executions_from(), other.executions_from());
  const auto records_of = [&](const Ledger::Key& k) {
    std::vector<Execution> out;
    for (const auto& x : journal.executions()) {
      if (x.sequence >= from && x.account.value() == k.first && x.symbol.value() == k.second) {
        out.push_back(x);
      }
    }
    return out;
  };
  for (const auto& [k, pair] : both) {
    const auto& [record, seen] = pair;
    const AccountId account(k.first);
    const SymbolId symbol(k.second);
    if (record.position != seen.position) {
      breaks.push_back(
          {"position", account, symbol, record.position, seen.position, records_of(k)});
    }
    if (record.cash != seen.cash) {
      breaks.push_back({"cash", account, symbol, record.cash, seen.cash, {}});
    }
  }
  // Executions: each exactly once on both sides.
  const auto a = sorted_from(journal.executions(), from);
  const auto b = sorted_from(other.executions(), from);
  const auto duplicates = [&](const std::vector<Execution>& list) {
    for (std::size_t i = 1; i < list.size(); ++i) {
      if (same_execution(list[i - 1], list[i])) {
        breaks.push_back(
            {"duplicate_execution", list[i].account, list[i].symbol, 1, 2, {list[i - 1], list[i]}});
      }
    }
  };
  duplicates(a);
  duplicates(b);
  std::size_t i = 0, j = 0;
  const auto less = [](const Execution& x, const Execution& y) {
    return std::tie(x.trade, x.side) < std::tie(y.trade, y.side);
  };
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && less(a[i], b[j]))) {
      breaks.push_back({"missing_execution", a[i].account, a[i].symbol, 1, 0, {a[i]}});
      ++i;
    } else if (i == a.size() || less(b[j], a[i])) {
      breaks.push_back({"extra_execution", b[j].account, b[j].symbol, 0, 1, {b[j]}});
      ++j;
    } else {
      if (!(a[i].account == b[j].account && a[i].qty == b[j].qty && a[i].price == b[j].price &&
            a[i].symbol == b[j].symbol)) {
        breaks.push_back({"different_execution",
                          a[i].account,
                          a[i].symbol,
                          a[i].qty.value(),
                          b[j].qty.value(),
                          {a[i], b[j]}});
      }
      ++i;
      ++j;
    }
  }
  return breaks;
}

}  // namespace trading
