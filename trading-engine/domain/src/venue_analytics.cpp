#include "trading/domain/venue_analytics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <variant>

namespace trading {

namespace {

// The standard normal quantile by bisection on Φ(z) = erfc(-z/√2)/2 (exact to 1e-12).
double normal_quantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

VenueAnalytics::VenueAnalytics(AnalyticsConfig config) : config_(std::move(config)) {
  const std::size_t n = config_.symbols.size();
  config_.price_decimals.resize(n, 2);
  config_.position_limits.resize(config_.accounts.size(), 0);
  symbols_.resize(n);
  for (int d : config_.price_decimals) scales_.push_back(std::pow(10.0, -d));
  accounts_.resize(config_.accounts.size());
  for (auto& a : accounts_) a.books.resize(n);
  for (std::size_t i = 0; i < config_.accounts.size(); ++i) {
    account_index_.emplace_back(config_.accounts[i].id.value(), i);
  }
  std::sort(account_index_.begin(), account_index_.end());
  config_.var_window_samples = std::max<std::size_t>(config_.var_window_samples, 2);
  samples_.assign(config_.var_window_samples + 1, std::vector<double>(n, 0.0));
}

std::string_view VenueAnalytics::reject_reason(RejectCode code) {
  switch (code) {
    case RejectCode::kUnknownSymbol:
      return "unknown_symbol";
    case RejectCode::kUnknownAccount:
      return "unknown_account";
    case RejectCode::kNonPositiveQuantity:
      return "non_positive_quantity";
    case RejectCode::kNonPositivePrice:
      return "non_positive_price";
    case RejectCode::kPriceOffTick:
      return "price_off_tick";
    case RejectCode::kQuantityOffLot:
      return "quantity_off_lot";
    case RejectCode::kDuplicateOrderId:
      return "duplicate_order_id";
    case RejectCode::kUnknownOrder:
      return "unknown_order";
    case RejectCode::kNotOrderOwner:
      return "not_order_owner";
    case RejectCode::kReplaceBelowFilled:
      return "replace_below_filled";
    case RejectCode::kTradingDisabled:
      return "trading_disabled";
    case RejectCode::kMaxOrderQty:
      return "max_order_qty";
    case RejectCode::kMaxOrderNotional:
      return "max_order_notional";
    case RejectCode::kPriceCollar:
      return "price_collar";
    case RejectCode::kCreditLimit:
      return "credit_limit";
    case RejectCode::kThrottled:
      return "throttled";
    case RejectCode::kDuplicateClientOrderId:
      return "duplicate_client_order_id";
    case RejectCode::kRestrictedSymbol:
      return "restricted_symbol";
    case RejectCode::kAccountKilled:
      return "account_killed";
    case RejectCode::kVenueKilled:
      return "venue_killed";
    case RejectCode::kSymbolHalted:
      return "symbol_halted";
    case RejectCode::kVenueHalted:
      return "venue_halted";
    case RejectCode::kPriceOutsideBand:
      return "price_outside_band";
    case RejectCode::kPriceOutOfRange:
      return "price_out_of_range";
    case RejectCode::kQuantityOutOfRange:
      return "quantity_out_of_range";
    case RejectCode::kInvalidLimits:
      return "invalid_limits";
    case RejectCode::kDuplicateReference:
      return "duplicate_reference";
  }
  return "other";
}

VenueAnalytics::AccountState* VenueAnalytics::state(AccountId account) {
  const auto it = std::lower_bound(account_index_.begin(), account_index_.end(), account.value(),
                                   [](const std::pair<std::uint32_t, std::size_t>& e,
                                      std::uint32_t id) { return e.first < id; });
  return it != account_index_.end() && it->first == account.value() ? &accounts_[it->second]
                                                                    : nullptr;
}

void VenueAnalytics::on_events(const EventBuffer& events) {
  for (const Event& e : events) {
    if (const auto* t = std::get_if<Trade>(&e)) {
      if (t->symbol.value() >= symbols_.size()) continue;
      auto& s = symbols_[t->symbol.value()];
      ++s.trades;
      s.traded_qty += t->qty.value();
      s.traded_notional += static_cast<double>(t->price.value()) *
                           static_cast<double>(t->qty.value()) * scale(t->symbol);
      s.last_price = t->price.value();
      s.last_price_value = static_cast<double>(t->price.value()) * scale(t->symbol);
      fill(t->aggressor_account, t->symbol, t->aggressor_side, t->price.value(), t->qty.value());
      fill(t->resting_account, t->symbol, opposite(t->aggressor_side), t->price.value(),
           t->qty.value());
    } else if (const auto* top = std::get_if<TopOfBook>(&e)) {
      if (top->symbol.value() < symbols_.size())
        ++symbols_[top->symbol.value()].market_data_updates;
    } else if (const auto* r = std::get_if<Rejected>(&e)) {
      const auto code = static_cast<std::size_t>(r->code);
      if (code < rejects_.size()) ++rejects_[code];
    }
  }
}

// Average cost: a fill in the position's direction adds to its cost; one against it realises
// (fill price - average price) on the closed quantity, and any excess opens a new position at the
// fill price.
void VenueAnalytics::fill(AccountId account, SymbolId symbol, Side side, std::int64_t price,
                          std::int64_t qty) {
  AccountState* st = state(account);
  if (st == nullptr) return;
  Book& b = st->books[symbol.value()];
  const std::int64_t signed_qty = side == Side::kBuy ? qty : -qty;
  const auto p = static_cast<double>(price);
  if (b.position == 0 || (b.position > 0) == (signed_qty > 0)) {
    b.cost += p * static_cast<double>(signed_qty);
    b.position += signed_qty;
    return;
  }
  const std::int64_t closing = std::min(std::llabs(signed_qty), std::llabs(b.position));
  const double average = b.cost / static_cast<double>(b.position);
  const double direction = b.position > 0 ? 1.0 : -1.0;
  b.realised += static_cast<double>(closing) * (p - average) * direction;
  b.cost -= average * static_cast<double>(closing) * direction;
  b.position += signed_qty;
  if (b.position == 0) {
    b.cost = 0;
  } else if ((b.position > 0) == (signed_qty > 0)) {  // went through zero: the rest is new
    b.cost = p * static_cast<double>(b.position);
  }
}

void VenueAnalytics::set_account_state(AccountId account, std::int64_t open_exposure_units,
                                       bool killed) {
  if (AccountState* st = state(account)) {
    st->exposure_units = open_exposure_units;
    st->killed = killed;
  }
}

void VenueAnalytics::set_limits(AccountId account, const RiskLimits& limits) {
  for (auto& a : config_.accounts) {
    if (a.id == account) a.limits = limits;
  }
}

void VenueAnalytics::add_account(const Account& account) {
  if (state(account.id) != nullptr) return;
  config_.accounts.push_back(account);
  config_.position_limits.push_back(0);
  accounts_.emplace_back();
  accounts_.back().books.resize(symbols_.size());
  const std::pair<std::uint32_t, std::size_t> entry(account.id.value(), accounts_.size() - 1);
  account_index_.insert(std::upper_bound(account_index_.begin(), account_index_.end(), entry),
                        entry);
}

void VenueAnalytics::set_halted(SymbolId symbol, bool halted) {
  if (symbol.value() < symbols_.size()) symbols_[symbol.value()].halted = halted;
}

void VenueAnalytics::set_venue_state(bool halted, bool killed) {
  venue_halted_ = halted;
  venue_killed_ = killed;
}

void VenueAnalytics::sample_prices(double interval_seconds) {
  auto& row = samples_[next_sample_];
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    row[i] = static_cast<double>(symbols_[i].last_price);
  }
  next_sample_ = (next_sample_ + 1) % samples_.size();
  sample_count_ = std::min(sample_count_ + 1, samples_.size());
  if (interval_seconds > 0) sample_interval_ = interval_seconds;
}

std::size_t VenueAnalytics::var_returns() const {
  return sample_count_ == 0 ? 0 : sample_count_ - 1;
}

std::vector<double> VenueAnalytics::covariance(std::size_t& returns) const {
  const std::size_t n = symbols_.size();
  std::vector<double> cov(n * n, 0.0);
  returns = var_returns();
  if (returns == 0) return cov;
  // Oldest first: the ring's rows from next_sample_ - sample_count_.
  const std::size_t size = samples_.size();
  const std::size_t first = (next_sample_ + size - sample_count_) % size;
  std::vector<std::vector<double>> r(n, std::vector<double>(returns, 0.0));
  for (std::size_t k = 0; k < returns; ++k) {
    const auto& a = samples_[(first + k) % size];
    const auto& b = samples_[(first + k + 1) % size];
    for (std::size_t i = 0; i < n; ++i) {
      r[i][k] = a[i] > 0 && b[i] > 0 ? std::log(b[i] / a[i]) : 0.0;  // no price: no move
    }
  }
  std::vector<double> mean(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (double x : r[i]) mean[i] += x;
    mean[i] /= static_cast<double>(returns);
  }
  const double denominator = returns > 1 ? static_cast<double>(returns - 1) : 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i; j < n; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < returns; ++k) s += (r[i][k] - mean[i]) * (r[j][k] - mean[j]);
      cov[i * n + j] = cov[j * n + i] = s / denominator;
    }
  }
  return cov;
}

std::vector<VenueAnalytics::AccountFigures> VenueAnalytics::accounts() const {
  const std::size_t n = symbols_.size();
  std::size_t returns = 0;
  const std::vector<double> cov = covariance(returns);
  const bool var_known = returns >= config_.min_var_returns;
  const double day_scale = config_.trading_day_seconds / sample_interval_;
  const double z = normal_quantile(config_.var_confidence);
  std::vector<AccountFigures> out;
  for (std::size_t a = 0; a < accounts_.size(); ++a) {
    const Account& account = config_.accounts[a];
    const AccountState& st = accounts_[a];
    AccountFigures f;
    f.name = account.name;
    f.killed = st.killed;
    f.position_limit = config_.position_limits[a];
    std::vector<double> values(n, 0.0);
    for (std::size_t s = 0; s < n; ++s) {
      const Book& b = st.books[s];
      const double sc = scales_[s];
      const auto last = static_cast<double>(symbols_[s].last_price);
      PositionFigures p;
      p.position = b.position;
      p.realised_pnl = b.realised * sc;
      p.market_value = static_cast<double>(b.position) * last * sc;
      p.unrealised_pnl = b.position == 0 ? 0.0 : p.market_value - b.cost * sc;
      values[s] = p.market_value;
      f.realised_pnl += p.realised_pnl;
      f.unrealised_pnl += p.unrealised_pnl;
      f.gross_market_value += std::abs(p.market_value);
      f.largest_position = std::max<std::int64_t>(f.largest_position, std::llabs(b.position));
      f.positions.push_back(p);
    }
    // Exposure is in price units of the symbols the orders are in; the venue's instruments
    // share their decimals in practice, so the first symbol's scale converts it.
    const double sc0 = scales_.empty() ? 1.0 : scales_[0];
    f.open_order_exposure = static_cast<double>(st.exposure_units) * sc0;
    f.credit_limit = account.limits.credit_limit == RiskLimits::kUnlimited
                         ? 0.0
                         : static_cast<double>(account.limits.credit_limit) * sc0;
    if (var_known) {
      double variance = 0;
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) variance += values[i] * cov[i * n + j] * values[j];
      }
      f.value_at_risk = z * std::sqrt(std::max(0.0, variance * day_scale));
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace trading
