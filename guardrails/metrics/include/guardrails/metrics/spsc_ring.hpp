// SpscRing<T>: a fixed-capacity single-producer single-consumer ring of trivially copyable T.
// Each side keeps a cached copy of the other side's index and reloads it only when the ring
// looks full (producer) or empty (consumer), so in steady state a push touches no cache line the
// consumer writes. The consumer takes items in bulk: one acquire load and one release store per
// drain call, however many items it moves. Allocates once, in the constructor.
// Thread-safety: exactly one producer thread and one consumer thread.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

namespace guardrails::metrics {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit SpscRing(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        mask_(capacity_ - 1),
        items_(std::make_unique<T[]>(capacity_)) {}

  bool try_push(const T& item) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ >= capacity_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ >= capacity_) return false;
    }
    items_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Moves up to out.size() items into `out`; returns how many.
  std::size_t drain(std::span<T> out) {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (cached_tail_ == head) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (cached_tail_ == head) return 0;
    }
    const auto available = static_cast<std::size_t>(cached_tail_ - head);
    const std::size_t n = available < out.size() ? available : out.size();
    for (std::size_t i = 0; i < n; ++i) out[i] = items_[(head + i) & mask_];
    head_.store(head + n, std::memory_order_release);
    return n;
  }

  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<T[]> items_;
  // Producer side and consumer side on separate cache lines.
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t cached_head_ = 0;  // producer's copy of head_
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::uint64_t cached_tail_ = 0;  // consumer's copy of tail_
};

}  // namespace guardrails::metrics
