// LogLinearHistogram: counts of non-negative integer values (typically nanoseconds) in buckets
// that are linear inside each power of two (128 per octave, as in HdrHistogram). Any quantile is
// answered with a relative error ≤ 1/256 (< 0.4 %); values ≥ 2^44 (≈ 4.9 h in ns) share the top
// bucket. Fixed size (≈ 39 KiB), no allocation after construction. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace guardrails::slo {

class LogLinearHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits;  // 128
  static constexpr int kMaxExponent = 43;                             // values < 2^44
  static constexpr std::size_t kBucketCount =
      kSubBuckets + (kMaxExponent - kSubBucketBits + 1) * kSubBuckets;
  static constexpr std::size_t kOctaves =
      kMaxExponent - kSubBucketBits + 2;  // + the linear first range

  void record(std::uint64_t value, std::uint64_t count = 1) {
    const std::size_t i = bucket_index(value);
    counts_[i] += count;
    octave_counts_[octave_of(i)] += count;
    total_ += count;
    sum_ += value * count;
  }

  void add(const LogLinearHistogram& other);
  // Removes counts previously added (sliding windows). `other` must be a subset of *this.
  void subtract(const LogLinearHistogram& other);
  void clear();

  std::uint64_t count() const { return total_; }
  // Sum of recorded values (exact, modulo 2^64).
  std::uint64_t sum() const { return sum_; }

  // Nearest-rank quantile (q in [0, 1]); 0 when empty. The answer is the midpoint of the bucket
  // holding the rank-th smallest value.
  std::uint64_t quantile(double q) const;
  // How many recorded values fall in buckets whose upper edge is ≤ limit (Prometheus "le").
  std::uint64_t count_at_or_below(std::uint64_t limit) const;

  static std::size_t bucket_index(std::uint64_t value) {
    if (value < kSubBuckets) return static_cast<std::size_t>(value);
    int exponent = 63 - __builtin_clzll(value);
    if (exponent > kMaxExponent) return kBucketCount - 1;
    const int shift = exponent - kSubBucketBits;
    const auto sub = static_cast<std::size_t>((value >> shift) - kSubBuckets);
    return kSubBuckets + static_cast<std::size_t>(shift) * kSubBuckets + sub;
  }
  static std::uint64_t bucket_lower(std::size_t index);
  static std::uint64_t bucket_width(std::size_t index);
  static std::uint64_t bucket_midpoint(std::size_t index) {
    return bucket_lower(index) + (bucket_width(index) - 1) / 2;
  }

 private:
  static std::size_t octave_of(std::size_t index) { return index / kSubBuckets; }

  std::array<std::uint64_t, kBucketCount> counts_{};
  std::array<std::uint64_t, kOctaves> octave_counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace guardrails::slo
