// Linking this (the bench_counting_allocator object library) replaces the global operator
// new/delete with versions that count allocations per thread, so "zero allocations per call" is
// measured rather than assumed. Only the calling thread's count is read: other threads' work
// (drain threads, the benchmark framework) does not leak into a figure.
#pragma once

#include <cstdint>

namespace bench {
std::uint64_t allocations_on_this_thread();
}  // namespace bench
