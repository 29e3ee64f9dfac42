// DivisibilityCheck: "is n a multiple of d?" without a division, for the tick and lot checks on
// every order (a 64-bit idiv costs tens of cycles). Precomputed once per instrument:
// d = 2^k * m with m odd; n (>= 0) is a multiple of d iff n * m^-1 mod 2^64, rotated right by k
// bits, is <= (2^64 - 1) / d (Granlund & Montgomery; Hacker's Delight 10-17: the rotation brings
// any of the low k bits that are set to the top, past the limit). A multiply, a rotate and a
// compare. Plain value; pure.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace trading {

class DivisibilityCheck {
 public:
  constexpr DivisibilityCheck() = default;
  constexpr explicit DivisibilityCheck(std::uint64_t divisor) {
    shift_ = std::countr_zero(divisor);
    const std::uint64_t odd = divisor >> shift_;
    // Newton's iteration for the inverse of an odd number modulo 2^64: the seed `odd` is correct
    // to 3 bits and each step doubles that (3, 6, 12, 24, 48, 96).
    std::uint64_t inv = odd;
    for (int i = 0; i < 5; ++i) inv *= 2 - odd * inv;
    inverse_ = inv;
    limit_ = std::numeric_limits<std::uint64_t>::max() / divisor;
  }

  // n must be >= 0.
  constexpr bool divides(std::int64_t n) const {
    return std::rotr(static_cast<std::uint64_t>(n) * inverse_, shift_) <= limit_;
  }

 private:
  int shift_ = 0;
  std::uint64_t inverse_ = 1;
  std::uint64_t limit_ = std::numeric_limits<std::uint64_t>::max();
};

}  // namespace trading
