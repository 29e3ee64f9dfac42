// TimeSlots<Slot>: fixed-width time slots in a ring; the newest `size` slots are kept. Moving the
// head forward hands every slot that leaves the ring to an `expire` callback (which must reset
// it), so a window can keep a running aggregate. Private to the evaluator. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/clock.hpp"

namespace guardrails::slo::detail {

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

template <typename Slot>
class TimeSlots {
 public:
  TimeSlots(core::Nanos width, std::size_t size) : width_(width), slots_(size) {}

  // The slot holding time `ts` (advancing the head to it first), or nullptr when `ts` is older
  // than the oldest slot kept.
  template <typename Expire>
  Slot* slot_for(core::Nanos ts, Expire&& expire) {
    const std::int64_t slot = floor_div(ts, width_);
    advance(slot, expire);
    if (slot <= head_ - size()) return nullptr;
    return &slots_[index(slot)];
  }

  template <typename Expire>
  void advance_to(core::Nanos now, Expire&& expire) {
    advance(floor_div(now, width_), expire);
  }

  // Visits the slots covering the last `window` of time, newest (partial) slot first.
  template <typename Visit>
  void for_window(core::Nanos window, Visit&& visit) const {
    if (head_ == kNoSlot) return;
    const std::int64_t k = std::min<std::int64_t>((window + width_ - 1) / width_, size());
    for (std::int64_t i = 0; i < k; ++i) visit(slots_[index(head_ - i)]);
  }

  template <typename Reset>
  void clear(Reset&& reset) {
    for (auto& s : slots_) reset(s);
    head_ = kNoSlot;
  }

 private:
  static constexpr std::int64_t kNoSlot = std::numeric_limits<std::int64_t>::min();

  std::int64_t size() const { return static_cast<std::int64_t>(slots_.size()); }
  std::size_t index(std::int64_t slot) const {
    const std::int64_t m = slot % size();
    return static_cast<std::size_t>(m < 0 ? m + size() : m);
  }

  template <typename Expire>
  void advance(std::int64_t slot, Expire& expire) {
    if (head_ == kNoSlot) {
      head_ = slot;
      return;
    }
    if (slot <= head_) return;
    const std::int64_t steps = std::min<std::int64_t>(slot - head_, size());
    for (std::int64_t i = 1; i <= steps; ++i) expire(slots_[index(head_ + i)]);
    head_ = slot;
  }

  core::Nanos width_;
  std::vector<Slot> slots_;
  std::int64_t head_ = kNoSlot;
};

}  // namespace guardrails::slo::detail
