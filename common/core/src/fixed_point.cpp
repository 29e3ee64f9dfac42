#include "core/fixed_point.hpp"

#include <limits>

namespace core {

Result<std::int64_t> parse_decimal(std::string_view text, int scale) {
  if (scale < 0 || scale > 18) return fail(kDecimalOutOfRange, "scale must be 0..18");
  if (text.empty()) return fail(kDecimalEmpty, "empty number");
  bool negative = false;
  std::size_t i = 0;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return fail(kDecimalBadCharacter, "sign without digits");

  // Accumulate as unsigned magnitude; limit is |INT64_MIN| for negatives.
  const std::uint64_t limit =
      negative ? std::uint64_t{1} << 63 : std::numeric_limits<std::int64_t>::max();
  std::uint64_t magnitude = 0;
  int fraction_digits = -1;  // -1: no '.' seen yet
  bool any_digit = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (fraction_digits >= 0) return fail(kDecimalBadCharacter, "more than one '.'");
      fraction_digits = 0;
      continue;
    }
    if (c < '0' || c > '9')
      return fail(kDecimalBadCharacter, std::string("unexpected character '") + c + "'");
    any_digit = true;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (fraction_digits >= 0) {
      if (fraction_digits == scale) {
        if (digit != 0)
          return fail(kDecimalTooPrecise, "more than " + std::to_string(scale) + " decimals");
        continue;
      }
      ++fraction_digits;
    }
    if (magnitude > (limit - digit) / 10) return fail(kDecimalOutOfRange, "number out of range");
    magnitude = magnitude * 10 + digit;
  }
  if (!any_digit) return fail(kDecimalBadCharacter, "no digits");
  for (int f = fraction_digits < 0 ? 0 : fraction_digits; f < scale; ++f) {
    if (magnitude > limit / 10) return fail(kDecimalOutOfRange, "number out of range");
    magnitude *= 10;
  }
  if (negative) return static_cast<std::int64_t>(0 - magnitude);
  return static_cast<std::int64_t>(magnitude);
}

std::string format_decimal(std::int64_t units, int scale) {
  const bool negative = units < 0;
  // Work in unsigned so INT64_MIN is representable.
  std::uint64_t magnitude =
      negative ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
  std::string digits = std::to_string(magnitude);
  if (scale > 0) {
    const auto s = static_cast<std::size_t>(scale);
    if (digits.size() <= s) digits.insert(0, s - digits.size() + 1, '0');
    digits.insert(digits.size() - s, 1, '.');
  }
  if (negative) digits.insert(0, 1, '-');
  return digits;
}

}  // namespace core
