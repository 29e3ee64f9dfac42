#include "guardrails/slo/log_linear_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace guardrails::slo {

std::uint64_t LogLinearHistogram::bucket_lower(std::size_t index) {
  if (index < kSubBuckets) return index;
  const std::size_t shift = (index - kSubBuckets) / kSubBuckets;
  const std::size_t sub = (index - kSubBuckets) % kSubBuckets;
  return (kSubBuckets + sub) << shift;
}

std::uint64_t LogLinearHistogram::bucket_width(std::size_t index) {
  if (index < kSubBuckets) return 1;
  return std::uint64_t{1} << ((index - kSubBuckets) / kSubBuckets);
}

void LogLinearHistogram::add(const LogLinearHistogram& other) {
  for (std::size_t o = 0; o < kOctaves; ++o) {
    if (other.octave_counts_[o] == 0) continue;  // most octaves are empty: skip them
    octave_counts_[o] += other.octave_counts_[o];
    for (std::size_t i = o * kSubBuckets; i < (o + 1) * kSubBuckets && i < kBucketCount; ++i) {
      counts_[i] += other.counts_[i];
    }
  }
  total_ += other.total_;
  sum_ += other.sum_;
}

void LogLinearHistogram::subtract(const LogLinearHistogram& other) {
  for (std::size_t o = 0; o < kOctaves; ++o) {
    if (other.octave_counts_[o] == 0) continue;
    octave_counts_[o] -= other.octave_counts_[o];
    for (std::size_t i = o * kSubBuckets; i < (o + 1) * kSubBuckets && i < kBucketCount; ++i) {
      counts_[i] -= other.counts_[i];
    }
  }
  total_ -= other.total_;
  sum_ -= other.sum_;
}

void LogLinearHistogram::clear() {
  if (total_ == 0) return;
  for (std::size_t o = 0; o < kOctaves; ++o) {
    if (octave_counts_[o] == 0) continue;
    for (std::size_t i = o * kSubBuckets; i < (o + 1) * kSubBuckets && i < kBucketCount; ++i)
      counts_[i] = 0;
    octave_counts_[o] = 0;
  }
  total_ = 0;
  sum_ = 0;
}

std::uint64_t LogLinearHistogram::quantile(double q) const {
  if (total_ == 0) return 0;
  if (!(q > 0)) q = 0;
  if (q > 1) q = 1;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
  if (rank == 0) rank = 1;
  // Walk octave totals first, then the buckets of the one octave that holds the rank.
  std::uint64_t seen = 0;
  for (std::size_t o = 0; o < kOctaves; ++o) {
    if (seen + octave_counts_[o] < rank) {
      seen += octave_counts_[o];
      continue;
    }
    for (std::size_t i = o * kSubBuckets; i < (o + 1) * kSubBuckets && i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= rank) return bucket_midpoint(i);
    }
  }
  return bucket_midpoint(kBucketCount - 1);
}

std::uint64_t LogLinearHistogram::count_at_or_below(std::uint64_t limit) const {
  std::uint64_t n = 0;
  for (std::size_t o = 0; o < kOctaves; ++o) {
    if (octave_counts_[o] == 0) continue;
    const std::size_t first = o * kSubBuckets;
    const std::size_t last = std::min((o + 1) * kSubBuckets, kBucketCount) - 1;
    if (bucket_lower(last) + bucket_width(last) - 1 <= limit) {  // whole octave below the limit
      n += octave_counts_[o];
      continue;
    }
    for (std::size_t i = first; i <= last; ++i) {
      if (bucket_lower(i) + bucket_width(i) - 1 > limit) return n;
      n += counts_[i];
    }
    return n;
  }
  return n;
}

}  // namespace guardrails::slo
