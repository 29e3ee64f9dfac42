// Quantity: an exact decimal amount of material (kg, L, units) as a whole number of millionths
// of its unit, so that lot balances and sums of weighings never drift as doubles do. At most
// 1e9 units either way. Its canonical text ("12.5", "0.000001", "-3") has no exponent and no
// trailing zeros; a record stores it as a JSON number that prints exactly that text (a double
// holds any such decimal of at most 15 digits and prints it back shortest-first). Value type.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mes {

class Quantity {
 public:
  static constexpr std::int64_t kMicrosPerUnit = 1'000'000;
  static constexpr std::int64_t kMaxMicros = 1'000'000'000 * kMicrosPerUnit;

  constexpr Quantity() = default;
  static constexpr Quantity whole(std::int32_t units) { return Quantity(units * kMicrosPerUnit); }
  // nullopt beyond ±kMaxMicros.
  static std::optional<Quantity> of_micros(std::int64_t micros);
  // "12.5", "-0.25", "7", "7.": at most six decimals, no exponent, no spaces.
  static std::optional<Quantity> parse(std::string_view text);
  // A double that is exactly a decimal of at most six places (as the JSON number 12.5 is read);
  // nullopt for NaN, infinities, out of range, or finer than a millionth.
  static std::optional<Quantity> exactly(double value);
  // The nearest millionth (for derived figures such as a tolerance band, and for values stored
  // by earlier versions as sums of doubles); nullopt for NaN, infinities or out of range.
  static std::optional<Quantity> nearest(double value);

  constexpr std::int64_t micros() const { return micros_; }
  double to_double() const;  // the nearest double: prints back as text()
  std::string text() const;
  constexpr bool positive() const { return micros_ > 0; }
  constexpr bool in_range() const { return micros_ >= -kMaxMicros && micros_ <= kMaxMicros; }

  // Sums and differences of in-range quantities cannot overflow; check in_range() when the
  // result is kept.
  friend constexpr Quantity operator+(Quantity a, Quantity b) {
    return Quantity(a.micros_ + b.micros_);
  }
  friend constexpr Quantity operator-(Quantity a, Quantity b) {
    return Quantity(a.micros_ - b.micros_);
  }
  friend constexpr auto operator<=>(Quantity, Quantity) = default;

 private:
  constexpr explicit Quantity(std::int64_t micros) : micros_(micros) {}
  std::int64_t micros_ = 0;
};

}  // namespace mes
