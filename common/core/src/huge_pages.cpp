#include "core/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace core {
namespace {

std::size_t rounded(std::size_t bytes) {
  return (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
}

}  // namespace

void* map_huge(std::size_t bytes) {
  if (bytes > std::numeric_limits<std::size_t>::max() / 2) return nullptr;
  const std::size_t size = rounded(bytes);
  // Map a huge page more than asked, then cut the unaligned head and the tail off: the kernel
  // backs only 2 MB-aligned spans with huge pages.
  const std::size_t span = size + kHugePageBytes;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t end = start + span;
  if (end > aligned + size) ::munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  void* block = reinterpret_cast<void*>(aligned);
  ::madvise(block, size, MADV_HUGEPAGE);  // a hint: refused where THP is off, and that is fine
  return block;
}

void unmap_huge(void* block, std::size_t bytes) {
  if (block != nullptr) ::munmap(block, rounded(bytes));
}

}  // namespace core
