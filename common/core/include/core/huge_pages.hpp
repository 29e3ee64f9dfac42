// Storage for large pools on transparent huge pages. A deep order book's orders and its index
// are touched at scattered places: on 4 KB pages each touch of a new page is a page walk (a
// 100 k-order pool spans ~1 800 pages, more than the TLB holds); on 2 MB pages the same pool is
// four. The kernel is asked (madvise MADV_HUGEPAGE) and may decline: the memory works the same.
// Blocks under 2 MB are not worth a huge page and come from the heap.
// The first write to a huge page makes the kernel zero 2 MB (4-5 ms on this VM; tens of ms when
// it compacts memory to find one): a matching engine must not pay that between two orders. So
// each block is made resident ahead of use by one background thread (populate_async): a block
// of zeroed memory (an index, touched anywhere) as a whole, a growing pool (HugePageAllocator)
// a huge page ahead of its end (populate_ahead).
// Thread-safe: the functions may be called from any thread; the populating thread only asks the
// kernel to map pages and never reads or writes their contents.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>

namespace core {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// `bytes` (>= kHugePageBytes) of zero-filled memory, 2 MB-aligned, asked for on huge pages;
// nullptr when the address space is exhausted. Pages are touched (and zeroed) on first use.
void* map_huge(std::size_t bytes);
// Gives back a block from map_huge(bytes) (same `bytes`); a populate_async of it not yet done is
// dropped.
void unmap_huge(void* block, std::size_t bytes);

// Asks the background thread to make [block, block + bytes) resident (madvise
// MADV_POPULATE_WRITE, 2 MB at a time) and returns at once. The contents are not changed, so the
// memory may be in use meanwhile. Best effort: a kernel without MADV_POPULATE_WRITE (before
// Linux 5.14) faults the pages in on first use as before.
void populate_async(void* block, std::size_t bytes);
// Waits until every populate_async asked for so far is done (for tests and benchmarks).
void wait_populated();
// False once the kernel refused MADV_POPULATE_WRITE (memory is then faulted in on first use).
bool populate_supported();

// A pool used from its start (a vector's elements): when its used part grows from
// `used_before` to `used_after` bytes into another huge page, the next huge page is populated
// ahead (the pool's end reaches it ~2 MB of growth later). Inline test, out-of-line request.
inline void populate_ahead(void* block, std::size_t used_before, std::size_t used_after,
                           std::size_t capacity) {
  if (capacity < kHugePageBytes || used_after / kHugePageBytes == used_before / kHugePageBytes) {
    return;
  }
  const std::size_t next = (used_after / kHugePageBytes + 1) * kHugePageBytes;
  if (next < capacity) {
    populate_async(static_cast<char*>(block) + next, std::min(kHugePageBytes, capacity - next));
  }
}

// Zero-filled memory for `count` objects of `size` bytes: map_huge when it spans a huge page
// (populated as a whole in the background: such arrays are indexes, written anywhere from the
// first use), calloc otherwise. Free with release_zeroed(block, count, size). Throws
// std::bad_alloc.
inline void* allocate_zeroed(std::size_t count, std::size_t size) {
  if (count != 0 && size > std::numeric_limits<std::size_t>::max() / count) throw std::bad_alloc();
  const std::size_t bytes = count * size;
  if (bytes < kHugePageBytes) {
    void* block = std::calloc(count, size);
    if (block == nullptr) throw std::bad_alloc();
    return block;
  }
  void* block = map_huge(bytes);
  if (block == nullptr) throw std::bad_alloc();
  populate_async(block, bytes);
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

// A std::allocator whose blocks of 2 MB or more are map_huge'd (a book's order-node pool), their
// first two huge pages populated in the background (the user calls populate_ahead as the pool
// fills); smaller ones come from operator new.
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
    populate_async(block, std::min(n * sizeof(T), 2 * kHugePageBytes));
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
