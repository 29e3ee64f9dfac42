// VenueAnalytics: the business figures of the venue, computed from the engine's events — traded
// volume and notional per symbol, market data updates, rejects by reason, and per account and
// symbol the position, realised and mark-to-market P&L (average-cost method), plus a one-day
// parametric value at risk of each account's positions from recent trade-price volatility.
//
// VaR method (variance-covariance, documented in trading-engine/fix/README.md "Risk figures"):
// every sample_prices() call (the venue calls it once a second) records each symbol's last trade
// price; the log returns between consecutive samples over the last `var_window_samples` give a
// covariance matrix per sample interval, scaled to one trading day by the square-root-of-time rule
// (trading_day_seconds / interval). An account's VaR at `var_confidence` is
// z * sqrt(v' Σ_day v), v its positions' market values at the last prices. It needs at least
// `min_var_returns` returns; before that it is not known (nullopt).
//
// Money is in the instrument's currency (price units / 10^decimals); a pure domain type: no
// clock, no I/O. Not thread-safe: one thread applies events (the venue's engine thread) and the
// venue guards reads with its own lock.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trading/domain/event_buffer.hpp"
#include "trading/domain/events.hpp"
#include "trading/domain/instrument.hpp"

namespace trading {

struct AnalyticsConfig {
  std::vector<std::string> symbols;           // SymbolId = index
  std::vector<int> price_decimals;            // per symbol: price units = price x 10^decimals
  std::vector<Account> accounts;              // id, name and limits
  std::vector<std::int64_t> position_limits;  // per account, shares per symbol (0: none)
  double trading_day_seconds = 23'400;        // 6.5 h
  double var_confidence = 0.99;
  std::size_t var_window_samples = 600;  // 10 min of one-second samples
  std::size_t min_var_returns = 30;
};

class VenueAnalytics {
 public:
  // Reject reasons counted: the engine's codes (1..kRejectCodes-1).
  static constexpr std::size_t kRejectCodes = 28;

  struct SymbolFigures {
    std::uint64_t trades = 0;
    std::int64_t traded_qty = 0;            // shares
    double traded_notional = 0;             // currency
    std::uint64_t market_data_updates = 0;  // top-of-book changes published
    std::int64_t last_price = 0;            // price units, 0: no trade yet
    double last_price_value = 0;            // the same in the instrument's currency
    bool halted = false;
  };

  struct PositionFigures {
    std::int64_t position = 0;  // shares, signed (short < 0)
    double realised_pnl = 0;    // currency
    double unrealised_pnl = 0;  // currency, at the last trade price
    double market_value = 0;    // position x last price, currency
  };

  struct AccountFigures {
    std::string name;
    std::vector<PositionFigures> positions;  // per symbol
    double realised_pnl = 0, unrealised_pnl = 0;
    double gross_market_value = 0;        // sum of |market value|
    double open_order_exposure = 0;       // currency: leaves x price of its resting orders
    double credit_limit = 0;              // currency, 0: no limit
    std::int64_t position_limit = 0;      // shares per symbol, 0: none
    std::int64_t largest_position = 0;    // max |position| over symbols
    std::optional<double> value_at_risk;  // one day, var_confidence, currency
    bool killed = false;
  };

  explicit VenueAnalytics(AnalyticsConfig config);

  // Every event the engine produced for one command (Trades, TopOfBooks and Rejects count).
  void on_events(const EventBuffer& events);
  // Engine state the events do not carry, set after each batch by the engine thread.
  void set_account_state(AccountId account, std::int64_t open_exposure_units, bool killed);
  void set_halted(SymbolId symbol, bool halted);
  // The account's limits in force after a run-time change (the credit and position figures).
  void set_limits(AccountId account, const RiskLimits& limits);
  // An account added at run time (no position limit); ignored when its id is already known.
  void add_account(const Account& account);
  void set_venue_state(bool halted, bool killed);
  // Records every symbol's last trade price (one sample of the volatility window).
  void sample_prices(double interval_seconds);

  const std::vector<SymbolFigures>& symbols() const { return symbols_; }
  const AnalyticsConfig& config() const { return config_; }
  std::vector<AccountFigures> accounts() const;
  // Rejects by engine code (index: the RejectCode number).
  const std::array<std::uint64_t, kRejectCodes>& rejects() const { return rejects_; }
  bool venue_halted() const { return venue_halted_; }
  bool venue_killed() const { return venue_killed_; }
  std::size_t var_returns() const;  // returns in the volatility window now

  // Snake-case reason label of a reject code ("credit_limit").
  static std::string_view reject_reason(RejectCode code);

 private:
  struct Book {  // one account in one symbol (average-cost accounting, price units x shares)
    std::int64_t position = 0;
    double cost = 0;  // signed cost of the open position
    double realised = 0;
  };
  struct AccountState {
    std::vector<Book> books;  // per symbol
    std::int64_t exposure_units = 0;
    bool killed = false;
  };
  void fill(AccountId account, SymbolId symbol, Side side, std::int64_t price, std::int64_t qty);
  AccountState* state(AccountId account);
  double scale(SymbolId symbol) const { return scales_[symbol.value()]; }
  // Covariance per sample interval of the symbols' log returns (row-major, n x n).
  std::vector<double> covariance(std::size_t& returns) const;

  AnalyticsConfig config_;
  std::vector<double> scales_;  // 10^-decimals
  std::vector<SymbolFigures> symbols_;
  std::vector<AccountState> accounts_;  // same order as config_.accounts
  std::vector<std::pair<std::uint32_t, std::size_t>> account_index_;  // (id, index), by id
  std::array<std::uint64_t, kRejectCodes> rejects_{};
  bool venue_halted_ = false, venue_killed_ = false;
  // Price samples: a ring of var_window_samples + 1 rows of one price per symbol (0: none yet).
  std::vector<std::vector<double>> samples_;
  std::size_t next_sample_ = 0, sample_count_ = 0;
  double sample_interval_ = 1;
};

}  // namespace trading
