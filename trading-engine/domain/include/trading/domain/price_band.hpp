// PriceBand: the limit-up/limit-down state of one instrument. Keeps the mean trade price over a
// sliding window (a ring of time buckets advanced by the engine's timers, so recording a trade is
// two additions), the reference price and the band around it, and the limit-state and pause
// timers. Time comes from the commands, so replay gives the same bands. All time and price
// arithmetic saturates: absurd timestamps or prices (from a bad journal or snapshot) give odd
// bands, never overflow. Plain value; not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "core/clock.hpp"
#include "trading/domain/instrument.hpp"

namespace trading {

class PriceBand {
 public:
  static constexpr core::Nanos kNever = std::numeric_limits<core::Nanos>::max();
  static constexpr std::size_t kBuckets = 30;

  PriceBand() = default;  // disabled: every price allowed
  PriceBand(const PriceBandRules& rules, Price reference, Price tick)
      : rules_(rules), tick_(tick.value() > 0 ? tick.value() : 1) {
    rules_.limit_state = std::max<core::Nanos>(rules_.limit_state, 0);
    rules_.pause = std::max<core::Nanos>(rules_.pause, 0);
    rules_.reference_window = std::max<core::Nanos>(rules_.reference_window, 0);
    rules_.reference_move_bps = std::max(rules_.reference_move_bps, 0);
    rules_.band_bps = std::min(rules_.band_bps, 10'000);  // at most 100 %
    bucket_ns_ = rules_.reference_window / static_cast<core::Nanos>(kBuckets);
    if (bucket_ns_ <= 0) bucket_ns_ = 1;
    if (enabled()) set_reference(reference);
  }

  bool enabled() const { return rules_.band_bps > 0; }
  const PriceBandRules& rules() const { return rules_; }
  Price reference() const { return reference_; }
  Price lower() const { return Price{lower_}; }
  Price upper() const { return Price{upper_}; }
  bool allows(Price p) const { return p.value() >= lower_ && p.value() <= upper_; }
  // A buy above the upper band or a sell below the lower band could only trade outside it.
  bool aggressive_outside(Side side, Price p) const {
    return side == Side::kBuy ? p.value() > upper_ : p.value() < lower_;
  }
  // The book is at the band: best bid at or above the upper band, or best offer at or below
  // the lower band (qty 0 = empty side).
  bool at_band(Price bid, Qty bid_qty, Price ask, Qty ask_qty) const {
    return enabled() && ((bid_qty.value() > 0 && bid.value() >= upper_) ||
                         (ask_qty.value() > 0 && ask.value() <= lower_));
  }

  void record_trade(Price p, core::Nanos now) {
    if (!enabled()) return;
    if (bucket_start_ == kNever) bucket_start_ = now;  // the window starts with its first trade
    sum_[current_] = add_sat(sum_[current_], p.value());
    ++count_[current_];
    total_sum_ = add_sat(total_sum_, p.value());
    ++total_count_;
  }

  static std::int64_t add_sat(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (!__builtin_add_overflow(a, b, &r)) return r;
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }

  // When the window next needs advancing (kNever while it holds no trades).
  core::Nanos next_rotation() const {
    return bucket_start_ == kNever ? kNever : add_sat(bucket_start_, bucket_ns_);
  }
  // Moves the window to `now`; true when the reference (and so the band) moved.
  bool advance(core::Nanos now) {
    if (bucket_start_ == kNever || now < next_rotation()) return false;
    core::Nanos elapsed = 0;
    const bool far = __builtin_sub_overflow(now, bucket_start_, &elapsed) ||
                     elapsed / bucket_ns_ >= static_cast<core::Nanos>(kBuckets);
    if (far) {  // the whole window has passed
      sum_.fill(0);
      count_.fill(0);
      total_sum_ = 0;
      total_count_ = 0;
      bucket_start_ = now;
    } else {
      const core::Nanos steps = elapsed / bucket_ns_;
      for (core::Nanos i = 0; i < steps; ++i) {
        current_ = (current_ + 1) % kBuckets;
        total_sum_ = add_sat(total_sum_, -sum_[current_]);
        total_count_ -= count_[current_];
        sum_[current_] = 0;
        count_[current_] = 0;
      }
      bucket_start_ += steps * bucket_ns_;
    }
    if (total_count_ == 0) {
      bucket_start_ = kNever;  // nothing traded for a whole window: keep the reference
      return false;
    }
    const std::int64_t mean = total_sum_ / static_cast<std::int64_t>(total_count_);
    const std::int64_t ref = reference_.value();
    std::int64_t move = 0, lhs = 0, rhs = 0;
    const bool huge = __builtin_sub_overflow(std::max(mean, ref), std::min(mean, ref), &move) ||
                      __builtin_mul_overflow(move, std::int64_t{10'000}, &lhs);
    const bool huge_ref =
        __builtin_mul_overflow(ref, std::int64_t{rules_.reference_move_bps}, &rhs);
    if (ref > 0 && !huge && (huge_ref || lhs < rhs)) return false;
    set_reference(Price{mean});
    return true;
  }

  // Limit state and band pause, driven by the engine.
  core::Nanos limit_since = kNever;  // at the band since, or kNever
  core::Nanos pause_until = kNever;  // band halt in force until, or kNever
  core::Nanos next_deadline() const {
    core::Nanos d = next_rotation();
    if (limit_since != kNever) d = std::min(d, limit_deadline());
    if (pause_until != kNever) d = std::min(d, pause_until);
    return d;
  }

  // When the current limit state turns into a halt.
  core::Nanos limit_deadline() const { return add_sat(limit_since, rules_.limit_state); }

  // Everything that is state, for the engine digest and snapshots.
  // After loading state from outside: indices in range, totals consistent.
  bool valid() const {
    if (current_ >= kBuckets || lower_ > upper_ || total_count_ > (1ULL << 62)) return false;
    std::uint64_t sum = 0, count = 0;  // unsigned: wraps instead of overflowing on bad input
    for (std::size_t i = 0; i < kBuckets; ++i) {
      sum += static_cast<std::uint64_t>(sum_[i]);
      count += count_[i];
    }
    return sum == static_cast<std::uint64_t>(total_sum_) && count == total_count_;
  }

  // Calls v(field&) for every field.
  template <typename Visit>
  void visit_state(Visit&& v) {
    v(reference_);
    v(lower_);
    v(upper_);
    v(limit_since);
    v(pause_until);
    v(bucket_start_);
    v(current_);
    v(total_sum_);
    v(total_count_);
    for (std::size_t i = 0; i < kBuckets; ++i) {
      v(sum_[i]);
      v(count_[i]);
    }
  }

 private:
  void set_reference(Price reference) {
    // Round to the tick; a zero reference leaves the band open until trades set one.
    reference_ = Price{add_sat(reference.value(), tick_ / 2) / tick_ * tick_};
    const std::int64_t ref = reference_.value();
    if (ref <= 0) {
      lower_ = 0;
      upper_ = std::numeric_limits<std::int64_t>::max();
      return;
    }
    const std::int64_t half =
        ref / 10'000 * rules_.band_bps + ref % 10'000 * rules_.band_bps / 10'000;  // no overflow
    upper_ = add_sat(ref, half) / tick_ * tick_;
    lower_ = std::max(tick_, add_sat(ref - half, tick_ - 1) / tick_ * tick_);
  }

  PriceBandRules rules_{};
  std::int64_t tick_ = 1;
  core::Nanos bucket_ns_ = 1;
  Price reference_{0};
  std::int64_t lower_ = 0;
  std::int64_t upper_ = std::numeric_limits<std::int64_t>::max();
  core::Nanos bucket_start_ = kNever;
  std::size_t current_ = 0;
  std::int64_t total_sum_ = 0;
  std::uint64_t total_count_ = 0;
  std::array<std::int64_t, kBuckets> sum_{};
  std::array<std::uint64_t, kBuckets> count_{};
};

}  // namespace trading
