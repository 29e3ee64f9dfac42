#include "core/clock.hpp"

#include <cstdio>
#include <ctime>

namespace core {

namespace {
Nanos read(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}
}  // namespace

Nanos monotonic_now_ns() { return read(CLOCK_MONOTONIC); }

Nanos SystemClock::monotonic_ns() const { return read(CLOCK_MONOTONIC); }
Nanos SystemClock::wall_ns() const { return read(CLOCK_REALTIME); }

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

void format_utc_iso8601(Nanos wall_ns, char (&out)[32]) {
  Nanos seconds = wall_ns / kNanosPerSecond;
  Nanos micros = (wall_ns % kNanosPerSecond) / kNanosPerMicro;
  if (micros < 0) {
    seconds -= 1;
    micros += 1'000'000;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const auto u = [](int v, int mod) {
    return static_cast<unsigned>(v) % static_cast<unsigned>(mod);
  };
  std::snprintf(out, sizeof out, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", u(tm.tm_year + 1900, 10000),
                u(tm.tm_mon + 1, 100), u(tm.tm_mday, 100), u(tm.tm_hour, 100), u(tm.tm_min, 100),
                u(tm.tm_sec, 100), static_cast<unsigned>(micros % 1000000));
}

}  // namespace core
