// Integer quantities for money and amounts: never a double for a price (DESIGN.md §5).
// Quantity<Tag> is a strong int64 (ticks, lots, milligrams) with the arithmetic that makes sense;
// parse_decimal / format_decimal convert "101.25" <-> 10125 at a fixed number of decimals.
// Value types; pure functions; thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace core {

template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(std::int64_t value) : value_(value) {}
  constexpr std::int64_t value() const { return value_; }

  friend constexpr auto operator<=>(Quantity, Quantity) = default;
  friend constexpr Quantity operator+(Quantity a, Quantity b) {
    return Quantity(a.value_ + b.value_);
  }
  friend constexpr Quantity operator-(Quantity a, Quantity b) {
    return Quantity(a.value_ - b.value_);
  }
  constexpr Quantity& operator+=(Quantity other) {
    value_ += other.value_;
    return *this;
  }
  constexpr Quantity& operator-=(Quantity other) {
    value_ -= other.value_;
    return *this;
  }

 private:
  std::int64_t value_ = 0;
};

// Error codes of the decimal helpers.
enum DecimalError : int {
  kDecimalEmpty = 1,         // nothing to parse
  kDecimalBadCharacter = 2,  // not [+-]digits[.digits]
  kDecimalTooPrecise = 3,    // more fractional digits than the scale allows (non-zero ones)
  kDecimalOutOfRange = 4,    // does not fit in int64 at this scale
};

// Parses a plain decimal ("-12.5", "3", "0.010") into an integer count of 10^-scale units.
// Trailing zeros beyond the scale are accepted; significant digits beyond it are an error,
// never a silent rounding. scale is 0..18.
Result<std::int64_t> parse_decimal(std::string_view text, int scale);

// Formats units of 10^-scale as a decimal with exactly `scale` fractional digits.
std::string format_decimal(std::int64_t units, int scale);

}  // namespace core
