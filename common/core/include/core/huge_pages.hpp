// Storage for large pools on transparent huge pages. A deep order book's orders and its index
// are touched at scattered places: on 4 KB pages each touch of a new page is a page walk (a
// 100 k-order pool spans ~1 800 pages, more than the TLB holds); on 2 MB pages the same pool is
// four. The kernel is asked (madvise MADV_HUGEPAGE) and may decline: the memory works the same.
// Blocks under 2 MB are not worth a huge page and come from the heap.
// Thread-safe (no state of its own).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>

namespace core {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// `bytes` (>= kHugePageBytes) of zero-filled memory, 2 MB-aligned, asked for on huge pages;
// nullptr when the address space is exhausted. Pages are touched (and zeroed) on first use.
void* map_huge(std::size_t bytes);
// Gives back a block from map_huge(bytes) (same `bytes`).
void unmap_huge(void* block, std::size_t bytes);

// Zero-filled memory for `count` objects of `size` bytes: map_huge when it spans a huge page,
// calloc otherwise. Free with release_zeroed(block, count, size). Throws std::bad_alloc.
inline void* allocate_zeroed(std::size_t count, std::size_t size) {
  if (count != 0 && size > std::numeric_limits<std::size_t>::max() / count) throw std::bad_alloc();
  const std::size_t bytes = count * size;
  void* block = bytes >= kHugePageBytes ? map_huge(bytes) : std::calloc(count, size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}
inline void release_zeroed(void* block, std::size_t count, std::size_t size) {
  if (block == nullptr) return;
  if (count * size >= kHugePageBytes) {
    unmap_huge(block, count * size);
  } else {
    std::free(block);
  }
}

// A std::allocator whose blocks of 2 MB or more are map_huge'd (a book's order-node pool); smaller
// ones come from operator new.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: rebinding converts
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_alloc();
    if (n * sizeof(T) < kHugePageBytes) return static_cast<T*>(::operator new(n * sizeof(T)));
    void* block = map_huge(n * sizeof(T));
    if (block == nullptr) throw std::bad_alloc();
    return static_cast<T*>(block);
  }
  void deallocate(T* block, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePageBytes) {
      ::operator delete(block);
    } else {
      unmap_huge(block, n * sizeof(T));
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace core
