#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "guardrails/slo/log_linear_histogram.hpp"

namespace {

using guardrails::slo::LogLinearHistogram;

std::uint64_t exact_quantile(std::vector<std::uint64_t> values, double q) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  if (rank == 0) rank = 1;
  return values[rank - 1];
}

void expect_quantiles_within_1_percent(const std::vector<std::uint64_t>& values, const char* what) {
  LogLinearHistogram h;
  for (auto v : values) h.record(v);
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0}) {
    const double exact = static_cast<double>(exact_quantile(values, q));
    const double got = static_cast<double>(h.quantile(q));
    const double err = exact == 0 ? std::abs(got) : std::abs(got - exact) / exact;
    EXPECT_LE(err, 0.01) << what << " q=" << q << " exact=" << exact << " got=" << got;
  }
}

TEST(LogLinearHistogram, QuantilesWithinOnePercentOfExactSortedQuantiles) {
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> lognormal, uniform, exponential, bimodal;
  std::lognormal_distribution<double> ln(13.0, 1.2);  // ~ 0.4 ms median in ns, long tail
  std::uniform_int_distribution<std::uint64_t> un(0, 100'000'000);
  std::exponential_distribution<double> ex(1.0 / 2e6);
  std::bernoulli_distribution coin(0.97);
  for (int i = 0; i < 200'000; ++i) {
    lognormal.push_back(static_cast<std::uint64_t>(ln(rng)));
    uniform.push_back(un(rng));
    exponential.push_back(static_cast<std::uint64_t>(ex(rng)));
    bimodal.push_back(coin(rng) ? 1'000'000 + un(rng) % 1000 : 80'000'000 + un(rng) % 100'000);
  }
  expect_quantiles_within_1_percent(lognormal, "lognormal");
  expect_quantiles_within_1_percent(uniform, "uniform");
  expect_quantiles_within_1_percent(exponential, "exponential");
  expect_quantiles_within_1_percent(bimodal, "bimodal");
}

TEST(LogLinearHistogram, EveryBucketMidpointIsWithinQuarterPercent) {
  for (std::size_t i = 0; i < LogLinearHistogram::kBucketCount; ++i) {
    const auto lo = LogLinearHistogram::bucket_lower(i);
    const auto w = LogLinearHistogram::bucket_width(i);
    EXPECT_EQ(LogLinearHistogram::bucket_index(lo), i);
    EXPECT_EQ(LogLinearHistogram::bucket_index(lo + w - 1), i);
    if (lo > 0) {
      EXPECT_LE(static_cast<double>(w - 1) / 2 / static_cast<double>(lo), 1.0 / 256);
    }
  }
}

TEST(LogLinearHistogram, SmallValuesAreExactAndHugeValuesClamp) {
  LogLinearHistogram h;
  for (std::uint64_t v = 0; v < 128; ++v) h.record(v);
  EXPECT_EQ(h.quantile(0.5), 63u);
  EXPECT_EQ(h.quantile(1.0), 127u);
  h.record(UINT64_MAX);
  EXPECT_EQ(LogLinearHistogram::bucket_index(UINT64_MAX), LogLinearHistogram::kBucketCount - 1);
  EXPECT_GT(h.quantile(1.0), std::uint64_t{1} << 43);
}

TEST(LogLinearHistogram, EmptyAnswersZero) {
  LogLinearHistogram h;
  EXPECT_EQ(h.quantile(0.99), 0u);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.count_at_or_below(1000), 0u);
}

TEST(LogLinearHistogram, AddThenSubtractRestoresTheOriginal) {
  LogLinearHistogram a, b, sum;
  for (std::uint64_t v = 1; v < 100000; v += 37) a.record(v * 1000);
  for (std::uint64_t v = 1; v < 5000; v += 3) b.record(v * 77);
  sum.add(a);
  sum.add(b);
  EXPECT_EQ(sum.count(), a.count() + b.count());
  sum.subtract(b);
  EXPECT_EQ(sum.count(), a.count());
  EXPECT_EQ(sum.sum(), a.sum());
  for (double q : {0.1, 0.5, 0.99}) EXPECT_EQ(sum.quantile(q), a.quantile(q));
  sum.clear();
  EXPECT_EQ(sum.count(), 0u);
  EXPECT_EQ(sum.quantile(0.5), 0u);
}

TEST(LogLinearHistogram, CountAtOrBelowIsCumulative) {
  LogLinearHistogram h;
  for (int i = 0; i < 10; ++i) h.record(1'000);       // 1 µs
  for (int i = 0; i < 5; ++i) h.record(1'000'000);    // 1 ms
  for (int i = 0; i < 2; ++i) h.record(100'000'000);  // 100 ms
  EXPECT_EQ(h.count_at_or_below(999), 0u);
  EXPECT_EQ(h.count_at_or_below(2'000), 10u);
  EXPECT_EQ(h.count_at_or_below(2'000'000), 15u);
  EXPECT_EQ(h.count_at_or_below(50'000'000), 15u);
  EXPECT_EQ(h.count_at_or_below(200'000'000), 17u);
}

}  // namespace
