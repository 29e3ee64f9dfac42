// Sample: one observation travelling from a hot thread to the evaluator. Trivially copyable,
// 24 bytes. `value` is a latency in nanoseconds for latency metrics, 1 (good) / 0 (bad) for ratios.
#pragma once

#include <cstdint>

#include "core/clock.hpp"

namespace guardrails {

using MetricId = std::uint32_t;

struct Sample {
  MetricId metric = 0;
  std::int64_t value = 0;
  core::Nanos timestamp = 0;  // monotonic nanoseconds
};

}  // namespace guardrails
