// The lock-free path from hot threads to the guardrail. record() never blocks and never allocates
// once the calling thread is warmed up (its first record() registers it); when the queue is full
// the sample is dropped and counted. One consumer thread drains in bulk.
// Two interchangeable implementations, benchmarked against each other (benchmarks/README.md):
//   SpscMetricSink — one moodycamel ReaderWriterQueue per producer thread (no CAS on the hot path);
//   MpmcMetricSink — one moodycamel ConcurrentQueue with an explicit producer token per thread.
// Thread-safety: record() from any number of threads; drain() from one thread at a time.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>
#include <readerwriterqueue/readerwriterqueue.h>

#include "guardrails/slo/sample.hpp"

namespace guardrails::metrics {

struct SinkOptions {
  std::size_t capacity_per_producer = 65536;  // samples buffered per producer thread
  std::size_t max_producers = 64;             // threads beyond this have their samples dropped
};

namespace detail {
// A per-thread cache of "which producer slot do I use for sink #id": a few entries, so a thread
// that alternates between sinks (tests, two products in one process) stays on the fast path.
struct ProducerCache {
  static constexpr int kEntries = 4;
  std::array<std::uint64_t, kEntries> sink_ids{};
  std::array<void*, kEntries> producers{};
  int next = 0;

  void* find(std::uint64_t sink_id) const {
    for (int i = 0; i < kEntries; ++i) {
      if (sink_ids[static_cast<std::size_t>(i)] == sink_id) return producers[static_cast<std::size_t>(i)];
    }
    return nullptr;
  }
  void put(std::uint64_t sink_id, void* producer) {
    sink_ids[static_cast<std::size_t>(next)] = sink_id;
    producers[static_cast<std::size_t>(next)] = producer;
    next = (next + 1) % kEntries;
  }
};
ProducerCache& producer_cache();
std::uint64_t next_sink_id();
}  // namespace detail

class SpscMetricSink {
 public:
  explicit SpscMetricSink(SinkOptions options = {});
  SpscMetricSink(const SpscMetricSink&) = delete;
  SpscMetricSink& operator=(const SpscMetricSink&) = delete;

  // Hot path. Returns false when the sample was dropped (queue full or too many producers).
  bool record(MetricId metric, std::int64_t value, core::Nanos timestamp) {
    Producer* p = producer();
    if (p != nullptr && p->queue.try_enqueue(Sample{metric, value, timestamp})) return true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Moves up to out.size() samples into `out`; returns how many. Single consumer.
  std::size_t drain(std::span<Sample> out);
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t producers() const { return producer_count_.load(std::memory_order_acquire); }

 private:
  struct Producer {
    explicit Producer(std::size_t capacity) : queue(capacity) {}
    moodycamel::ReaderWriterQueue<Sample> queue;
  };
  Producer* producer() {
    auto& cache = detail::producer_cache();
    if (void* p = cache.find(id_)) return static_cast<Producer*>(p);
    return register_producer();
  }
  Producer* register_producer();

  SinkOptions options_;
  std::uint64_t id_;
  std::mutex register_mutex_;  // taken once per producer thread (warm-up), never on the hot path
  std::vector<std::unique_ptr<Producer>> owned_;
  std::unique_ptr<std::atomic<Producer*>[]> slots_;
  std::atomic<std::size_t> producer_count_{0};
  std::size_t drain_cursor_ = 0;  // round-robin start, so no producer starves
  std::atomic<std::uint64_t> dropped_{0};
};

class MpmcMetricSink {
 public:
  explicit MpmcMetricSink(SinkOptions options = {});
  MpmcMetricSink(const MpmcMetricSink&) = delete;
  MpmcMetricSink& operator=(const MpmcMetricSink&) = delete;

  bool record(MetricId metric, std::int64_t value, core::Nanos timestamp) {
    moodycamel::ProducerToken* token = producer();
    if (token != nullptr && queue_.try_enqueue(*token, Sample{metric, value, timestamp})) return true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  std::size_t drain(std::span<Sample> out);
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t producers() const { return producer_count_.load(std::memory_order_acquire); }

 private:
  moodycamel::ProducerToken* producer() {
    auto& cache = detail::producer_cache();
    if (void* p = cache.find(id_)) return static_cast<moodycamel::ProducerToken*>(p);
    return register_producer();
  }
  moodycamel::ProducerToken* register_producer();

  SinkOptions options_;
  std::uint64_t id_;
  moodycamel::ConcurrentQueue<Sample> queue_;
  std::mutex register_mutex_;
  std::vector<std::unique_ptr<moodycamel::ProducerToken>> tokens_;
  std::atomic<std::size_t> producer_count_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

// Chosen by measurement (benchmarks/README.md): the per-producer SPSC queues.
using MetricSink = SpscMetricSink;

}  // namespace guardrails::metrics
