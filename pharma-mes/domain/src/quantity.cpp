#include "mes/domain/quantity.hpp"

#include <cmath>

namespace mes {

std::optional<Quantity> Quantity::of_micros(std::int64_t micros) {
  if (micros < -kMaxMicros || micros > kMaxMicros) return std::nullopt;
  return Quantity(micros);
}

std::optional<Quantity> Quantity::parse(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::int64_t whole_part = 0, fraction = 0;
  int whole_digits = 0, fraction_digits = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++whole_digits) {
    if (whole_digits >= 10) return std::nullopt;
    whole_part = whole_part * 10 + (text[i] - '0');
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++fraction_digits) {
      if (fraction_digits >= 6) return std::nullopt;
      fraction = fraction * 10 + (text[i] - '0');
    }
  }
  if (i != text.size() || whole_digits + fraction_digits == 0) return std::nullopt;
  for (int d = fraction_digits; d < 6; ++d) fraction *= 10;
  const std::int64_t micros = whole_part * kMicrosPerUnit + fraction;
  return of_micros(negative ? -micros : micros);
}

std::optional<Quantity> Quantity::nearest(double value) {
  if (!std::isfinite(value)) return std::nullopt;
  const double scaled = std::round(value * static_cast<double>(kMicrosPerUnit));
  if (std::fabs(scaled) > static_cast<double>(kMaxMicros)) return std::nullopt;
  return Quantity(static_cast<std::int64_t>(scaled));
}

std::optional<Quantity> Quantity::exactly(double value) {
  auto q = nearest(value);
  // Both sides are the double nearest to the same decimal exactly when value is that decimal:
  // micros (< 2^53) and 1e6 are exact, and IEEE division rounds correctly.
  if (!q || q->to_double() != value) return std::nullopt;
  return q;
}

double Quantity::to_double() const {
  return static_cast<double>(micros_) / static_cast<double>(kMicrosPerUnit);
}

std::string Quantity::text() const {
  const std::uint64_t magnitude =
      micros_ < 0 ? static_cast<std::uint64_t>(-micros_) : static_cast<std::uint64_t>(micros_);
  std::string out = micros_ < 0 ? "-" : "";
  out += std::to_string(magnitude / kMicrosPerUnit);
  std::uint64_t fraction = magnitude % kMicrosPerUnit;
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 6 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

}  // namespace mes
