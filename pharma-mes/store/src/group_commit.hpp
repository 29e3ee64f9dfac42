// GroupCommitter: the one writer thread of a store. Callers hand it a command and block; the
// writer takes every command waiting (up to max_group), runs each inside its own savepoint of one
// database transaction, commits once, then wakes the callers with their own result. A command
// that fails is rolled back to its savepoint alone; a failed commit fails every command of the
// group. Nothing is acknowledged before the commit that holds it. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "mes/domain/store.hpp"

namespace mes::store {

class WriteBackend {
 public:
  virtual ~WriteBackend() = default;
  virtual Result<void> begin() = 0;      // BEGIN; remembers the chain head
  virtual Result<void> savepoint() = 0;  // SAVEPOINT; remembers the chain head
  virtual Result<void> release_savepoint() = 0;
  // ROLLBACK TO + RELEASE the savepoint; the chain head back to the savepoint's.
  virtual void command_failed() = 0;
  virtual Result<void> commit() = 0;
  virtual void rollback() = 0;  // ROLLBACK; the chain head back to begin()'s
  // The transaction view handed to a command (now() fixed per command).
  virtual Transaction& begin_command() = 0;
};

class GroupCommitter {
 public:
  GroupCommitter(WriteBackend& backend, std::size_t max_group);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  Result<void> run(const std::function<Result<void>(Transaction&)>& command);
  std::uint64_t commits() const;

 private:
  struct Pending {
    const std::function<Result<void>(Transaction&)>* command;
    Result<void> result;
    bool done = false;
  };
  void loop();

  WriteBackend& backend_;
  std::size_t max_group_;
  mutable std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::uint64_t commits_ = 0;
  std::thread thread_;
};

}  // namespace mes::store
