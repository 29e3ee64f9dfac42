#include "guardrails/metrics/metric_sink.hpp"

namespace guardrails::metrics {

namespace detail {
std::uint64_t next_sink_id() {
  static std::atomic<std::uint64_t> next{1};  // 0 marks an empty cache entry
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

namespace {
// The ConcurrentQueue's block pool is shared by all producers and sized up front (4 producers'
// worth): try_enqueue never allocates; it fails, and the sample is counted as dropped, when the
// pool is exhausted.
constexpr std::size_t kSharedCapacityFactor = 4;
}  // namespace

MpmcMetricSink::MpmcMetricSink(SinkOptions options)
    : options_(options),
      id_(detail::next_sink_id()),
      queue_(options.capacity_per_producer * kSharedCapacityFactor, options.max_producers, 0) {}

moodycamel::ProducerToken* MpmcMetricSink::register_producer() {
  std::lock_guard lock(register_mutex_);
  if (tokens_.size() >= options_.max_producers) return nullptr;
  tokens_.push_back(std::make_unique<moodycamel::ProducerToken>(queue_));
  auto* token = tokens_.back().get();
  producer_count_.store(tokens_.size(), std::memory_order_release);
  detail::tls_producer_cache.put(id_, token);
  return token;
}

std::size_t MpmcMetricSink::drain(std::span<Sample> out) {
  return queue_.try_dequeue_bulk(out.data(), out.size());
}

}  // namespace guardrails::metrics
