// Reads the audit trail on the calling thread and verifies it on a second one, in batches, so
// that reading (database decoding) and hashing overlap. Stops both at the verifier's first
// problem. Used by the SQLite and PostgreSQL stores for Store::feed_audit().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "mes/domain/store.hpp"

namespace mes::store {

inline Result<void> pipelined_feed(
    const std::function<Result<void>(const std::function<bool(const AuditEntry&)>&)>& walk,
    ChainVerifier& verifier) {
  // Batches keep their entries between uses: assigning into them reuses the strings' capacity.
  struct Batch {
    std::vector<AuditEntry> entries = std::vector<AuditEntry>(4096);
    std::size_t count = 0;
  };
  constexpr std::size_t kBatches = 4;
  std::vector<Batch> batches(kBatches);
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Batch*> full, free_batches;
  for (auto& b : batches) free_batches.push_back(&b);
  bool done = false;
  std::atomic<bool> failed{false};
  std::thread checker([&] {
    while (true) {
      Batch* batch = nullptr;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !full.empty() || done; });
        if (full.empty()) return;
        batch = full.front();
        full.pop_front();
      }
      for (std::size_t i = 0; i < batch->count; ++i) {
        if (!failed.load(std::memory_order_relaxed) && !verifier.feed(batch->entries[i])) {
          failed = true;
        }
      }
      batch->count = 0;
      {
        std::lock_guard lock(mutex);
        free_batches.push_back(batch);
      }
      changed.notify_all();
    }
  });
  const auto take_free = [&] {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return !free_batches.empty(); });
    Batch* b = free_batches.front();
    free_batches.pop_front();
    return b;
  };
  const auto hand_over = [&](Batch* b) {
    {
      std::lock_guard lock(mutex);
      full.push_back(b);
    }
    changed.notify_all();
  };
  Batch* current = take_free();
  Result<void> r = walk([&](const AuditEntry& e) {
    if (failed.load(std::memory_order_relaxed)) return false;
    current->entries[current->count++] = e;
    if (current->count == current->entries.size()) {
      hand_over(current);
      current = take_free();
    }
    return true;
  });
  if (current->count > 0) hand_over(current);
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  changed.notify_all();
  checker.join();
  return r;
}

}  // namespace mes::store
