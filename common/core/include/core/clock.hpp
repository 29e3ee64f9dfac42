// Clock: where time comes from, so domain code takes time as an argument and tests control it.
// SystemClock reads the OS clocks; ManualClock only moves when a test advances it.
// Both are thread-safe (ManualClock uses atomics so a test thread can drive other threads).
#pragma once

#include <atomic>
#include <cstdint>

namespace core {

// Nanoseconds. Monotonic readings are only comparable with each other (durations);
// wall readings are nanoseconds since the Unix epoch (for logs, evidence, calendars).
using Nanos = std::int64_t;

inline constexpr Nanos kNanosPerMicro = 1'000;
inline constexpr Nanos kNanosPerMilli = 1'000'000;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Nanos monotonic_ns() const = 0;
  virtual Nanos wall_ns() const = 0;
};

class SystemClock final : public Clock {
 public:
  Nanos monotonic_ns() const override;
  Nanos wall_ns() const override;
  // The process-wide instance (stateless, so sharing it is free).
  static const SystemClock& instance();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Nanos monotonic_start = 0,
                       Nanos wall_start = 1'700'000'000 * kNanosPerSecond)
      : monotonic_(monotonic_start), wall_(wall_start) {}

  Nanos monotonic_ns() const override { return monotonic_.load(std::memory_order_acquire); }
  Nanos wall_ns() const override { return wall_.load(std::memory_order_acquire); }

  // Moves both clocks forward by `delta` (never backwards).
  void advance(Nanos delta) {
    monotonic_.fetch_add(delta, std::memory_order_acq_rel);
    wall_.fetch_add(delta, std::memory_order_acq_rel);
  }

 private:
  std::atomic<Nanos> monotonic_;
  std::atomic<Nanos> wall_;
};

// Fast monotonic reading for hot paths, without the virtual call.
Nanos monotonic_now_ns();

// "2026-11-27T16:04:24.123456Z" for a wall reading (UTC, microsecond precision).
void format_utc_iso8601(Nanos wall_ns, char (&out)[32]);

}  // namespace core
