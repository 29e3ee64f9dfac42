#include "guardrails/metrics/metric_sink.hpp"

namespace guardrails::metrics {

namespace detail {
ProducerCache& producer_cache() {
  thread_local ProducerCache cache;
  return cache;
}
std::uint64_t next_sink_id() {
  static std::atomic<std::uint64_t> next{1};  // 0 marks an empty cache entry
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

SpscMetricSink::SpscMetricSink(SinkOptions options)
    : options_(options),
      id_(detail::next_sink_id()),
      slots_(std::make_unique<std::atomic<Producer*>[]>(options.max_producers)) {
  for (std::size_t i = 0; i < options_.max_producers; ++i) slots_[i].store(nullptr);
}

SpscMetricSink::Producer* SpscMetricSink::register_producer() {
  std::lock_guard lock(register_mutex_);
  const std::size_t n = producer_count_.load(std::memory_order_relaxed);
  if (n >= options_.max_producers) return nullptr;  // dropped and counted by the caller
  owned_.push_back(std::make_unique<Producer>(options_.capacity_per_producer));
  Producer* p = owned_.back().get();
  slots_[n].store(p, std::memory_order_release);
  producer_count_.store(n + 1, std::memory_order_release);
  detail::producer_cache().put(id_, p);
  return p;
}

std::size_t SpscMetricSink::drain(std::span<Sample> out) {
  const std::size_t n = producer_count_.load(std::memory_order_acquire);
  if (n == 0) return 0;
  std::size_t taken = 0;
  for (std::size_t k = 0; k < n && taken < out.size(); ++k) {
    Producer* p = slots_[(drain_cursor_ + k) % n].load(std::memory_order_acquire);
    while (taken < out.size()) {
      // ReaderWriterQueue has no bulk dequeue; peek/pop is the cheap consumer path.
      Sample* front = p->queue.peek();
      if (front == nullptr) break;
      out[taken++] = *front;
      p->queue.pop();
    }
  }
  drain_cursor_ = (drain_cursor_ + 1) % n;
  return taken;
}

namespace {
constexpr std::size_t kSharedCapacityFactor = 4;
}  // namespace

MpmcMetricSink::MpmcMetricSink(SinkOptions options)
    : options_(options),
      id_(detail::next_sink_id()),
      // One shared block pool sized up front (4 producers' worth): try_enqueue never allocates,
      // it fails (and the sample is counted as dropped) when the pool is exhausted.
      queue_(options.capacity_per_producer * kSharedCapacityFactor, options.max_producers, 0) {}

moodycamel::ProducerToken* MpmcMetricSink::register_producer() {
  std::lock_guard lock(register_mutex_);
  if (tokens_.size() >= options_.max_producers) return nullptr;
  tokens_.push_back(std::make_unique<moodycamel::ProducerToken>(queue_));
  auto* token = tokens_.back().get();
  producer_count_.store(tokens_.size(), std::memory_order_release);
  detail::producer_cache().put(id_, token);
  return token;
}

std::size_t MpmcMetricSink::drain(std::span<Sample> out) {
  return queue_.try_dequeue_bulk(out.data(), out.size());
}

}  // namespace guardrails::metrics
