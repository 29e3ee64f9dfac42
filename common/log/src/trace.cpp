#include "logging/trace.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace logging {

namespace {

thread_local const TraceContext* t_current = nullptr;

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

template <std::size_t N>
void random_hex(std::array<char, N>& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::array<unsigned char, N / 2> bytes{};
  do {
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
      if (n > 0) got += static_cast<std::size_t>(n);
    }
  } while (std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; }));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

// 64-bit FNV-1a with a seed, then a murmur-style finaliser (not cryptographic: the ids are
// labels, not secrets).
std::uint64_t hash64(std::string_view key, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL ^ seed;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

bool TraceContext::has_parent() const { return !all_zero(parent()); }

std::string TraceContext::traceparent() const {
  std::string out = "00-";
  out.append(trace()).append("-").append(span()).append(sampled ? "-01" : "-00");
  return out;
}

std::optional<TraceContext> parse_traceparent(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55; a later version may
  // append "-..." fields.
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  const std::string_view version = h.substr(0, 2), trace = h.substr(3, 32), span = h.substr(36, 16),
                         flags = h.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(span) ||
      !lower_hex(flags) || all_zero(trace) || all_zero(span)) {
    return std::nullopt;
  }
  if (version == "00" ? h.size() != 55 : (h.size() > 55 && h[55] != '-')) return std::nullopt;
  TraceContext c;
  std::memcpy(c.trace_id.data(), trace.data(), 32);
  std::memcpy(c.span_id.data(), span.data(), 16);
  c.parent_id.fill('0');
  const int f = (flags[1] >= 'a' ? flags[1] - 'a' + 10 : flags[1] - '0');
  c.sampled = (f & 1) != 0;
  return c;
}

TraceContext start_span(const std::optional<TraceContext>& caller) {
  TraceContext c;
  if (caller) {
    c.trace_id = caller->trace_id;
    c.parent_id = caller->span_id;
    c.sampled = caller->sampled;
  } else {
    random_hex(c.trace_id);
    c.parent_id.fill('0');
  }
  random_hex(c.span_id);
  return c;
}

std::array<char, 32> derived_trace_id(std::string_view key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::uint64_t halves[2] = {hash64(key, 0x7472616365ULL), hash64(key, 0x6669785f6964ULL)};
  std::array<char, 32> out{};
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 16; ++i) {
      out[static_cast<std::size_t>(h * 16 + i)] = kDigits[(halves[h] >> (60 - 4 * i)) & 0xf];
    }
  }
  if (all_zero({out.data(), out.size()})) out[31] = '1';
  return out;
}

const TraceContext* current_span() { return t_current; }

ScopedSpan::ScopedSpan(const TraceContext& span) : span_(span), previous_(t_current) {
  t_current = &span_;
}

ScopedSpan::~ScopedSpan() { t_current = previous_; }

}  // namespace logging
