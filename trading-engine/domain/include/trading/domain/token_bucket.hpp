// TokenBucket: a message-rate throttle with time passed in (deterministic on replay). Holds up to
// `burst` tokens, refilled at `rate_per_second`; each message takes one. Integer arithmetic in
// nano-tokens. Plain value; not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/clock.hpp"

namespace trading {

class TokenBucket {
 public:
  constexpr TokenBucket() = default;
  constexpr TokenBucket(std::uint32_t rate_per_second, std::uint32_t burst)
      : rate_(rate_per_second),
        capacity_(static_cast<std::int64_t>(burst) * kScale),
        tokens_(capacity_) {}

  bool enabled() const { return rate_ > 0; }

  // The changing part of the state (tokens and last refill time), for snapshots.
  template <typename Visit>
  void visit_state(Visit&& v) {
    v(tokens_);
    v(last_);
  }

  // Takes one token at time `now` (monotonic ns); false when none is left. The check for an
  // account without a rate limit is inline; the refill is not.
  bool take(core::Nanos now) { return !enabled() || take_enabled(now); }

 private:
  [[gnu::noinline]] bool take_enabled(core::Nanos now) {
    if (now > last_) {
      // Refill; cap the elapsed time first so the product cannot overflow.
      const std::int64_t elapsed = std::min<std::int64_t>(now - last_, capacity_ / rate_ + 1);
      tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
      last_ = now;
    }
    if (tokens_ < kScale) return false;
    tokens_ -= kScale;
    return true;
  }

  static constexpr std::int64_t kScale = 1'000'000'000;  // nano-tokens per token
  std::int64_t rate_ = 0;                                // nano-tokens per ns = tokens per s
  std::int64_t capacity_ = 0;
  std::int64_t tokens_ = 0;
  core::Nanos last_ = 0;
};

}  // namespace trading
