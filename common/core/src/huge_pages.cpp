#include "core/huge_pages.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older headers lack it
#endif

namespace core {
namespace {

std::size_t rounded(std::size_t bytes) {
  return (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
}

// The background thread of populate_async: a queue of address ranges, taken 2 MB at a time so
// that a block given back meanwhile (forget) stops being populated within one huge page.
// Thread-safety: one mutex over the queue; the thread is started on the first request and
// lives until the process ends (never destroyed: a block may be given back during static
// destruction).
class Populator {
 public:
  void add(std::uintptr_t begin, std::uintptr_t end) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (unsupported_ || begin >= end) return;
    if (!started_) {
      started_ = true;
      std::thread([this] { run(); }).detach();
    }
    queue_.push_back({begin, end});
    ready_.notify_one();
  }

  // Drops what is queued inside [begin, end) (the block is about to be unmapped).
  void forget(std::uintptr_t begin, std::uintptr_t end) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::deque<Range> kept;
    for (const Range& r : queue_) {
      if (r.end <= begin || r.begin >= end) {
        kept.push_back(r);
        continue;
      }
      if (r.begin < begin) kept.push_back({r.begin, begin});
      if (r.end > end) kept.push_back({end, r.end});
    }
    queue_.swap(kept);
    if (queue_.empty() && !busy_) idle_.notify_all();
  }

  bool supported() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !unsupported_;
  }

  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
  }

 private:
  struct Range {
    std::uintptr_t begin, end;
  };

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ready_.wait(lock, [this] { return !queue_.empty(); });
      Range& front = queue_.front();
      const std::uintptr_t begin = front.begin;
      const std::uintptr_t end =
          std::min(front.end, (begin & ~(kHugePageBytes - 1)) + kHugePageBytes);
      front.begin = end;
      if (front.begin >= front.end) queue_.pop_front();
      busy_ = true;
      lock.unlock();
      // Faults the range in as a write would (huge pages where the kernel gives them), without
      // touching the contents. ENOMEM: the block was unmapped meanwhile; nothing to do.
      const int result =
          ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
      const bool unsupported = result != 0 && errno == EINVAL;
      lock.lock();
      busy_ = false;
      if (unsupported) {
        unsupported_ = true;  // an older kernel: first use faults the pages in, as before
        queue_.clear();
      }
      if (queue_.empty()) idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_, idle_;
  std::deque<Range> queue_;
  bool started_ = false, busy_ = false, unsupported_ = false;
};

Populator& populator() {
  static Populator* instance = new Populator();  // never destroyed, see Populator
  return *instance;
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
  if (block == nullptr) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(block);
  populator().forget(begin, begin + rounded(bytes));
  ::munmap(block, rounded(bytes));
}

void populate_async(void* block, std::size_t bytes) {
  const auto begin = reinterpret_cast<std::uintptr_t>(block);
  populator().add(begin, begin + bytes);
}

void wait_populated() { populator().wait(); }

bool populate_supported() { return populator().supported(); }

}  // namespace core
