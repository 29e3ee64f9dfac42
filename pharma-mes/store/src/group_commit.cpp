#include "group_commit.hpp"

#include <vector>

namespace mes::store {

GroupCommitter::GroupCommitter(WriteBackend& backend, std::size_t max_group)
    : backend_(backend), max_group_(max_group == 0 ? 1 : max_group), thread_([this] { loop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

Result<void> GroupCommitter::run(const std::function<Result<void>(Transaction&)>& command) {
  Pending pending{&command, {}, false};
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return refuse(Code::kStorage, "the store is closing");
    queue_.push_back(&pending);
  }
  work_.notify_one();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return pending.done; });
  return std::move(pending.result);
}

std::uint64_t GroupCommitter::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

void GroupCommitter::loop() {
  std::vector<Pending*> group;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && group.size() < max_group_) {
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    const Result<void> begun = backend_.begin();
    for (Pending* p : group) {
      if (!begun) {
        p->result = begun;
        continue;
      }
      if (auto sp = backend_.savepoint(); !sp) {
        p->result = sp;
        continue;
      }
      Result<void> r;
      try {
        r = (*p->command)(backend_.begin_command());
      } catch (const std::exception& e) {
        r = refuse(Code::kStorage, std::string("command failed: ") + e.what());
      }
      if (r) r = backend_.release_savepoint();
      if (!r) {
        backend_.command_failed();  // back to the savepoint, in the database and in memory
      }
      p->result = std::move(r);
    }
    if (begun) {
      if (auto committed = backend_.commit(); !committed) {
        backend_.rollback();
        for (Pending* p : group) {
          if (p->result) p->result = committed;
        }
      }
    }
    {
      std::lock_guard lock(mutex_);
      ++commits_;
      for (Pending* p : group) p->done = true;
    }
    done_.notify_all();
    group.clear();
  }
}

}  // namespace mes::store
