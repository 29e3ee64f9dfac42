#include <charconv>
#include <cmath>

#include "guardrails/slo/slo_spec.hpp"

namespace guardrails::slo {

std::vector<BurnRateAlert> workbook_burn_rate_alerts(double scale) {
  const auto scaled = [scale](double seconds) {
    return static_cast<core::Nanos>(
        std::llround(seconds * scale * static_cast<double>(core::kNanosPerSecond)));
  };
  return {{scaled(3600), scaled(300), 14.4}, {scaled(6 * 3600), scaled(1800), 6.0}};
}

core::Result<core::Nanos> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.'))
    ++digits;
  double amount = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, amount);
  if (digits == 0 || ec != std::errc() || ptr != text.data() + digits) {
    return core::fail(
        1, "bad duration '" + std::string(text) + "' (expected e.g. 250ms, 10s, 5m, 1h)");
  }
  const std::string_view unit = text.substr(digits);
  double nanos_per_unit = 0;
  if (unit == "ms")
    nanos_per_unit = 1e6;
  else if (unit == "s")
    nanos_per_unit = 1e9;
  else if (unit == "m")
    nanos_per_unit = 60e9;
  else if (unit == "h")
    nanos_per_unit = 3600e9;
  else
    return core::fail(1, "bad duration unit in '" + std::string(text) + "' (use ms, s, m or h)");
  const double ns = amount * nanos_per_unit;
  // At least 1 ns once rounded (fuzz_burn_rate found "0.00000000005s", which rounded to 0).
  if (!(ns >= 1) || ns > 30.0 * 24 * 3600e9) {
    return core::fail(1, "duration out of range: '" + std::string(text) + "' (1 ns ≤ d ≤ 30 days)");
  }
  return static_cast<core::Nanos>(std::llround(ns));
}

core::Result<std::vector<BurnRateAlert>> parse_burn_rate_alerts(std::string_view text) {
  std::vector<BurnRateAlert> out;
  bool more = !text.empty();
  while (more) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    more = comma != std::string_view::npos;
    text = more ? text.substr(comma + 1) : std::string_view();
    if (part.empty()) return core::fail(1, "empty burn-rate alert in the list (stray comma?)");
    const auto slash = part.find('/');
    const auto at = part.find('@');
    if (slash == std::string_view::npos || at == std::string_view::npos || at < slash) {
      return core::fail(
          1, "bad burn-rate alert '" + std::string(part) + "' (expected LONG/SHORT@FACTOR)");
    }
    auto long_w = parse_duration(part.substr(0, slash));
    if (!long_w) return tl::unexpected(long_w.error());
    auto short_w = parse_duration(part.substr(slash + 1, at - slash - 1));
    if (!short_w) return tl::unexpected(short_w.error());
    double factor = 0;
    const auto f = part.substr(at + 1);
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), factor);
    if (ec != std::errc() || ptr != f.data() + f.size() || !(factor > 0)) {
      return core::fail(
          1, "bad burn-rate factor '" + std::string(f) + "' in '" + std::string(part) + "'");
    }
    if (*short_w >= *long_w) {
      return core::fail(1, "burn-rate short window must be shorter than the long one in '" +
                               std::string(part) + "'");
    }
    out.push_back({*long_w, *short_w, factor});
  }
  if (out.empty()) return core::fail(1, "no burn-rate alerts given");
  return out;
}

namespace {
std::string format_duration(core::Nanos ns) {
  if (ns % (3600 * core::kNanosPerSecond) == 0)
    return std::to_string(ns / (3600 * core::kNanosPerSecond)) + "h";
  if (ns % (60 * core::kNanosPerSecond) == 0)
    return std::to_string(ns / (60 * core::kNanosPerSecond)) + "m";
  if (ns % core::kNanosPerSecond == 0) return std::to_string(ns / core::kNanosPerSecond) + "s";
  return std::to_string(ns / core::kNanosPerMilli) + "ms";
}
}  // namespace

std::string format_burn_rate_alerts(const std::vector<BurnRateAlert>& alerts) {
  std::string out;
  for (const auto& a : alerts) {
    if (!out.empty()) out += ",";
    char factor[32];
    auto [end, ec] = std::to_chars(factor, factor + sizeof factor, a.factor);
    out += format_duration(a.long_window) + "/" + format_duration(a.short_window) + "@" +
           std::string(factor, ec == std::errc() ? end : factor);
  }
  return out;
}

}  // namespace guardrails::slo
