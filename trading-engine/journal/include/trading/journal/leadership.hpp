// Leadership: which process may append to a journal directory (the venue's primary).
//
// Two mechanisms, one for each way things go wrong:
//   - an exclusive flock(2) on DIR/leader.lock marks the holder. The kernel drops it when the
//     process ends, kill -9 included, so a crashed primary never blocks its successor, and a
//     second process started as primary on the same directory is refused while the first lives;
//   - a fencing epoch in DIR/epoch that every new leader raises (written in place and fsynced)
//     before it appends. The JournalWriter compares it with its own before and after every write
//     and fails the commit when it was raised: a primary that was paused while another one took
//     over (take_over() raises the epoch even while the lock is held: the operator's forced
//     failover of a hung primary) appends at most the batch it was writing when it woke, and
//     acknowledges nothing of it. Recovery prefers the newer leader's segment over such bytes.
//
// DIR/leader.lock also holds the holder's pid and epoch as text, for the refusal message.
// Thread-safety: still_leader() may be called from any thread; the rest from the owner.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace trading::journal {

inline constexpr int kNotLeader = 7;               // error code: another process holds leadership
inline constexpr std::size_t kEpochFileSize = 32;  // DIR/epoch: decimal, space padded, newline

class Leadership {
 public:
  // Takes leadership of `directory` if no other process holds it, waiting up to `wait` for it
  // (0: try once). Raises the epoch. Error kNotLeader names the holder's pid and epoch.
  static core::Result<std::unique_ptr<Leadership>> acquire(const std::string& directory,
                                                           core::Nanos wait = 0);
  // Forced failover: raises the epoch even while another (hung) process holds the lock, which
  // fences it off at its next write; takes the lock as well once that process is gone.
  static core::Result<std::unique_ptr<Leadership>> take_over(const std::string& directory);
  ~Leadership();  // releases the lock (the epoch stays)
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  std::uint64_t epoch() const { return epoch_; }
  bool holds_lock() const { return lock_fd_ >= 0; }
  // The epoch on disk is still ours. An error (unreadable epoch file) counts as no.
  core::Result<void> still_leader() const;
  // The epoch in `directory` now (0 when none was ever taken).
  static core::Result<std::uint64_t> current_epoch(const std::string& directory);

 private:
  Leadership(std::string directory, int lock_fd, int epoch_fd, std::uint64_t epoch)
      : directory_(std::move(directory)), lock_fd_(lock_fd), epoch_fd_(epoch_fd), epoch_(epoch) {}
  static core::Result<std::unique_ptr<Leadership>> raise_epoch(const std::string& directory,
                                                               int lock_fd);

  std::string directory_;
  int lock_fd_ = -1;
  int epoch_fd_ = -1;
  std::uint64_t epoch_ = 0;
  char epoch_text_[kEpochFileSize] = {};      // the epoch file's bytes as this leader wrote them
  const volatile char* epoch_map_ = nullptr;  // DIR/epoch, mapped shared and read-only
};

}  // namespace trading::journal
