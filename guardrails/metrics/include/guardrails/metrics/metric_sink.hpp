// The lock-free path from hot threads to the guardrail. record() never blocks and never allocates
// once the calling thread is warmed up (its first record() registers it); when the queue is full
// the sample is dropped and counted. One consumer thread drains in bulk.
// Three interchangeable implementations, benchmarked against each other (benchmarks/README.md):
//   RingMetricSink — one SpscRing per producer thread (cached indices, bulk drain);
//   SpscMetricSink — one moodycamel ReaderWriterQueue per producer thread;
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

#include "guardrails/metrics/spsc_ring.hpp"
#include "guardrails/slo/sample.hpp"

namespace guardrails::metrics {

struct SinkOptions {
  std::size_t capacity_per_producer = 65536;  // samples buffered per producer thread
  std::size_t max_producers = 64;             // threads beyond this have their samples dropped
};

namespace detail {
// A per-thread cache of "which producer do I use for sink #id": a few entries, so a thread that
// alternates between sinks (tests, two products in one process) stays on the fast path.
struct ProducerCache {
  static constexpr std::size_t kEntries = 4;
  std::array<std::uint64_t, kEntries> sink_ids{};
  std::array<void*, kEntries> producers{};
  std::size_t next = 0;

  void* find(std::uint64_t sink_id) const {
    for (std::size_t i = 0; i < kEntries; ++i) {
      if (sink_ids[i] == sink_id) return producers[i];
    }
    return nullptr;
  }
  void put(std::uint64_t sink_id, void* producer) {
    sink_ids[next] = sink_id;
    producers[next] = producer;
    next = (next + 1) % kEntries;
  }
};
// Constant-initialised, so access is a plain TLS load (no init guard) on the hot path.
inline thread_local ProducerCache tls_producer_cache;
std::uint64_t next_sink_id();

// moodycamel::ReaderWriterQueue behind the SpscRing interface.
class RwqQueue {
 public:
  explicit RwqQueue(std::size_t capacity) : queue_(capacity) {}
  bool try_push(const Sample& s) { return queue_.try_enqueue(s); }
  std::size_t drain(std::span<Sample> out) {
    std::size_t n = 0;
    // ReaderWriterQueue has no bulk dequeue; peek/pop is its cheap consumer path.
    while (n < out.size()) {
      Sample* front = queue_.peek();
      if (front == nullptr) break;
      out[n++] = *front;
      queue_.pop();
    }
    return n;
  }

 private:
  moodycamel::ReaderWriterQueue<Sample> queue_;
};
}  // namespace detail

// One single-producer queue per producer thread; the drain visits them round-robin.
template <typename Queue>
class PerProducerSink {
 public:
  explicit PerProducerSink(SinkOptions options = {})
      : options_(options),
        id_(detail::next_sink_id()),
        slots_(std::make_unique<std::atomic<Producer*>[]>(options.max_producers)) {
    for (std::size_t i = 0; i < options_.max_producers; ++i) slots_[i].store(nullptr);
  }
  PerProducerSink(const PerProducerSink&) = delete;
  PerProducerSink& operator=(const PerProducerSink&) = delete;

  // Hot path. Returns false when the sample was dropped (queue full or too many producers).
  bool record(MetricId metric, std::int64_t value, core::Nanos timestamp) {
    Producer* p = producer();
    if (p == nullptr) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (p->queue.try_push(Sample{metric, value, timestamp})) return true;
    // Per-producer counter: only this thread writes it, so a flood of drops does not bounce a
    // shared cache line between producers.
    p->dropped.store(p->dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }

  // Moves up to out.size() samples into `out`; returns how many. Single consumer.
  std::size_t drain(std::span<Sample> out) {
    const std::size_t n = producer_count_.load(std::memory_order_acquire);
    if (n == 0) return 0;
    std::size_t taken = 0;
    for (std::size_t k = 0; k < n && taken < out.size(); ++k) {
      Producer* p = slots_[(drain_cursor_ + k) % n].load(std::memory_order_acquire);
      taken += p->queue.drain(out.subspan(taken));
    }
    drain_cursor_ = (drain_cursor_ + 1) % n;  // round-robin start, so no producer starves
    return taken;
  }

  std::uint64_t dropped() const {
    std::uint64_t total = dropped_.load(std::memory_order_relaxed);
    const std::size_t n = producer_count_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < n; ++i)
      total += slots_[i].load(std::memory_order_acquire)->dropped.load();
    return total;
  }
  std::size_t producers() const { return producer_count_.load(std::memory_order_acquire); }

 private:
  struct Producer {
    explicit Producer(std::size_t capacity) : queue(capacity) {}
    Queue queue;
    std::atomic<std::uint64_t> dropped{0};
  };

  Producer* producer() {
    auto& cache = detail::tls_producer_cache;
    if (void* p = cache.find(id_)) return static_cast<Producer*>(p);
    return register_producer();
  }

  Producer* register_producer() {
    std::lock_guard lock(register_mutex_);  // once per producer thread (warm-up), never hot
    const std::size_t n = producer_count_.load(std::memory_order_relaxed);
    if (n >= options_.max_producers) return nullptr;
    owned_.push_back(std::make_unique<Producer>(options_.capacity_per_producer));
    Producer* p = owned_.back().get();
    slots_[n].store(p, std::memory_order_release);
    producer_count_.store(n + 1, std::memory_order_release);
    detail::tls_producer_cache.put(id_, p);
    return p;
  }

  SinkOptions options_;
  std::uint64_t id_;
  std::mutex register_mutex_;
  std::vector<std::unique_ptr<Producer>> owned_;  // guarded by register_mutex_
  std::unique_ptr<std::atomic<Producer*>[]> slots_;
  std::atomic<std::size_t> producer_count_{0};
  std::size_t drain_cursor_ = 0;           // consumer only
  std::atomic<std::uint64_t> dropped_{0};  // producers beyond max_producers
};

using RingMetricSink = PerProducerSink<SpscRing<Sample>>;
using SpscMetricSink = PerProducerSink<detail::RwqQueue>;

class MpmcMetricSink {
 public:
  explicit MpmcMetricSink(SinkOptions options = {});
  MpmcMetricSink(const MpmcMetricSink&) = delete;
  MpmcMetricSink& operator=(const MpmcMetricSink&) = delete;

  bool record(MetricId metric, std::int64_t value, core::Nanos timestamp) {
    moodycamel::ProducerToken* token = producer();
    if (token != nullptr && queue_.try_enqueue(*token, Sample{metric, value, timestamp}))
      return true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  std::size_t drain(std::span<Sample> out);
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t producers() const { return producer_count_.load(std::memory_order_acquire); }

 private:
  moodycamel::ProducerToken* producer() {
    auto& cache = detail::tls_producer_cache;
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

// Chosen by measurement (benchmarks/README.md).
using MetricSink = RingMetricSink;

}  // namespace guardrails::metrics
