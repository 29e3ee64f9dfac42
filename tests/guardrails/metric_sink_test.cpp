#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "guardrails/metrics/metric_sink.hpp"

namespace {

using guardrails::Sample;
using guardrails::metrics::MpmcMetricSink;
using guardrails::metrics::RingMetricSink;
using guardrails::metrics::SinkOptions;
using guardrails::metrics::SpscMetricSink;

template <typename Sink>
class MetricSinkTest : public ::testing::Test {};
using SinkTypes = ::testing::Types<RingMetricSink, SpscMetricSink, MpmcMetricSink>;
TYPED_TEST_SUITE(MetricSinkTest, SinkTypes);

template <typename Sink>
std::vector<Sample> drain_all(Sink& sink) {
  std::vector<Sample> out, buf(1000);
  for (;;) {
    const auto n = sink.drain(buf);
    if (n == 0) return out;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

TYPED_TEST(MetricSinkTest, RecordedSamplesComeOutOfDrainInOrder) {
  TypeParam sink(SinkOptions{1024, 4});
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(sink.record(7, i, 1000 + i));
  const auto out = drain_all(sink);
  ASSERT_EQ(out.size(), 500u);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(out[static_cast<std::size_t>(i)].metric, 7u);
    EXPECT_EQ(out[static_cast<std::size_t>(i)].value, i);
    EXPECT_EQ(out[static_cast<std::size_t>(i)].timestamp, 1000 + i);
  }
  EXPECT_EQ(sink.dropped(), 0u);
}

TYPED_TEST(MetricSinkTest, FullQueueDropsAndCountsWithoutBlocking) {
  // Nobody drains (a stalled guardrail thread): the producer must never wait.
  TypeParam sink(SinkOptions{1024, 2});
  std::size_t accepted = 0;
  for (int i = 0; i < 100'000; ++i) accepted += sink.record(1, i, i) ? 1u : 0u;
  EXPECT_GE(accepted, 1024u);
  EXPECT_EQ(sink.dropped(), 100'000u - accepted);
  const auto out = drain_all(sink);
  EXPECT_EQ(out.size(), accepted);
  // Space is back after draining.
  EXPECT_TRUE(sink.record(1, 1, 1));
}

TYPED_TEST(MetricSinkTest, ProducersBeyondTheLimitAreDroppedAndCounted) {
  TypeParam sink(SinkOptions{1024, 1});
  ASSERT_TRUE(sink.record(1, 1, 1));  // this thread takes the only producer slot
  bool other = true;
  std::thread([&] { other = sink.record(1, 2, 2); }).join();
  EXPECT_FALSE(other);
  EXPECT_EQ(sink.dropped(), 1u);
  EXPECT_EQ(sink.producers(), 1u);
}

TYPED_TEST(MetricSinkTest, TwoSinksOnOneThreadStayApart) {
  TypeParam a(SinkOptions{1024, 2}), b(SinkOptions{1024, 2});
  for (int i = 0; i < 10; ++i) {
    a.record(1, i, i);
    b.record(2, i, i);
  }
  const auto from_a = drain_all(a);
  const auto from_b = drain_all(b);
  ASSERT_EQ(from_a.size(), 10u);
  ASSERT_EQ(from_b.size(), 10u);
  for (const auto& s : from_a) EXPECT_EQ(s.metric, 1u);
  for (const auto& s : from_b) EXPECT_EQ(s.metric, 2u);
}

// Producers and the drain thread at once (run under TSan in CI): nothing lost or duplicated,
// and each producer's samples arrive in the order it recorded them.
TYPED_TEST(MetricSinkTest, ConcurrentProducersAndDrainLoseNothing) {
#if defined(__SANITIZE_THREAD__)
  // moodycamel's queues synchronise through standalone fences, which ThreadSanitizer does not
  // model (it reports false races in them); the default sink, SpscRing, uses acquire/release on
  // its indices and is checked here.
  if (!std::is_same_v<TypeParam, RingMetricSink>)
    GTEST_SKIP() << "TSan cannot model moodycamel fences";
#endif
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50'000;
  TypeParam sink(SinkOptions{4096, 8});
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  std::atomic<std::uint64_t> dropped_by_producers{0};
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        // Spin on a full queue only in this test, to count every sample exactly.
        while (!sink.record(static_cast<guardrails::MetricId>(p), i, 0)) {
          dropped_by_producers.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      }
      done.fetch_add(1);
    });
  }
  std::map<guardrails::MetricId, std::int64_t> next;
  std::vector<Sample> buf(512);
  std::size_t total = 0;
  bool ordered = true;
  while (done.load() < kProducers || total < static_cast<std::size_t>(kProducers * kPerProducer)) {
    const auto n = sink.drain(buf);
    for (std::size_t i = 0; i < n; ++i) {
      ordered = ordered && buf[i].value == next[buf[i].metric];
      next[buf[i].metric] = buf[i].value + 1;
    }
    total += n;
    if (n == 0) std::this_thread::yield();
  }
  for (auto& t : producers) t.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(total, static_cast<std::size_t>(kProducers * kPerProducer));
  EXPECT_EQ(sink.dropped(), dropped_by_producers.load());
  for (int p = 0; p < kProducers; ++p)
    EXPECT_EQ(next[static_cast<guardrails::MetricId>(p)], kPerProducer);
}

}  // namespace
