// ZeroedArray (a zero-filled fixed array) and OrderIndex (an open-addressing map from a 64-bit key
// to a 32-bit value): the building blocks of the books' and the risk check's lookups.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "core/huge_pages.hpp"
#include "trading/domain/types.hpp"

namespace trading {

// A fixed-size array of trivially copyable T, all zero bytes at first: a large one comes from
// fresh pages the kernel zeroes on first touch (huge pages from 2 MB, core::allocate_zeroed), so
// room reserved ahead costs address space, not memory or time, until used. Copyable. Not
// thread-safe.
template <typename T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(std::size_t size)
      : data_(size == 0 ? nullptr : static_cast<T*>(core::allocate_zeroed(size, sizeof(T)))),
        size_(size) {}
  ZeroedArray(const ZeroedArray& other) : ZeroedArray(other.size_) {
    if (size_ != 0) std::memcpy(data_, other.data_, size_ * sizeof(T));
  }
  ZeroedArray(ZeroedArray&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  ZeroedArray& operator=(ZeroedArray other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~ZeroedArray() { core::release_zeroed(data_, size_, sizeof(T)); }

  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return size_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Open-addressing hash map OrderId -> node index (linear probing, backward-shift deletion, no
// tombstones). Grows by doubling at 50 % load: allocation only while warming up, or never when
// reserve() was told how many entries to expect (the reserved room is untouched until used).
class OrderIndex {
 public:
  static constexpr std::uint32_t kMissing = std::numeric_limits<std::uint32_t>::max();

  OrderIndex() { rehash(1024); }
  [[gnu::always_inline]] std::uint32_t find(OrderId id) const {
    for (std::size_t i = slot_of(id.value());; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.key == id.value()) return e.node;
      if (e.key == 0) return kMissing;
    }
  }
  void insert(OrderId id, std::uint32_t node);
  void erase(OrderId id);
  // Room for `entries` without growing (the table doubles at half full otherwise).
  void reserve(std::size_t entries);
  // Empty, keeping its room.
  void clear();
  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return entries_.size() * sizeof(Entry); }
  // Calls visit(id, node) for every entry, in table order.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const auto& e : entries_) {
      if (e.key != 0) visit(OrderId(e.key), e.node);
    }
  }

 private:
  struct Entry {
    std::uint64_t key = 0;  // 0 = empty (order ids start at 1)
    std::uint32_t node = 0;
  };
  std::size_t slot_of(std::uint64_t key) const {
    // Fibonacci hashing: sequential ids spread over the table.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void rehash(std::size_t capacity);

  ZeroedArray<Entry> entries_;  // key 0 everywhere at first: all empty
  std::size_t mask_ = 0;
  int shift_ = 0;
  std::size_t size_ = 0;
};

}  // namespace trading
