#include "trading/domain/order_index.hpp"

#include <bit>

namespace trading {

void OrderIndex::rehash(std::size_t capacity) {
  ZeroedArray<Entry> old = std::move(entries_);
  entries_ = ZeroedArray<Entry>(capacity);
  mask_ = capacity - 1;
  shift_ = 64 - std::countr_zero(capacity);
  size_ = 0;
  for (const auto& e : old) {
    if (e.key != 0) insert(OrderId(e.key), e.node);
  }
}

void OrderIndex::reserve(std::size_t entries) {
  if (2 * entries > entries_.size()) rehash(std::bit_ceil(2 * entries));
}

void OrderIndex::clear() {
  entries_ = ZeroedArray<Entry>(entries_.size());  // fresh zero pages, not a pass over the old
  size_ = 0;
}

void OrderIndex::insert(OrderId id, std::uint32_t node) {
  if (2 * (size_ + 1) > entries_.size()) rehash(entries_.size() * 2);
  std::size_t i = slot_of(id.value());
  while (entries_[i].key != 0 && entries_[i].key != id.value()) i = (i + 1) & mask_;
  if (entries_[i].key == 0) ++size_;
  entries_[i] = Entry{id.value(), node};
}

void OrderIndex::erase(OrderId id) {
  std::size_t i = slot_of(id.value());
  while (entries_[i].key != id.value()) {
    if (entries_[i].key == 0) return;
    i = (i + 1) & mask_;
  }
  // Backward-shift deletion: move later entries of the probe chain into the hole.
  std::size_t hole = i;
  for (std::size_t j = (hole + 1) & mask_; entries_[j].key != 0; j = (j + 1) & mask_) {
    const std::size_t home = slot_of(entries_[j].key);
    // Entry j may fill the hole when its home is not in (hole, j] (cyclically).
    const bool home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_between) {
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  entries_[hole] = Entry{};
  --size_;
}

}  // namespace trading
