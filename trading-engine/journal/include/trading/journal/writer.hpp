// JournalWriter: appends commands to journal segments (files `journal-<first sequence>.gvj` in
// one directory). append() encodes into an in-memory buffer; commit() makes everything appended
// since the last commit as durable as the sync policy says, with one system call for the batch:
//   kNone  - written when the buffer fills, on flush() and on close (a crash loses the buffer);
//   kWrite - write(2) at every commit: in the OS page cache, so a killed process loses nothing;
//   kFsync - write(2) + fdatasync(2) at every commit: survives power loss. One sync covers every
//            command appended meanwhile (group commit).
// Acknowledge a command only after the commit that covers it returned success. After an I/O
// error the writer refuses further commits (the caller stops taking orders).
// Each writer starts a new segment, so it never appends after an unknown tail. With fence_with()
// it also stops at once when another primary took the journal's leadership (leadership.hpp).
// Not thread-safe: the engine thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "trading/domain/commands.hpp"
#include "trading/journal/record.hpp"

namespace trading::journal {

class Leadership;

enum class SyncPolicy : std::uint8_t { kNone, kWrite, kFsync };

core::Result<SyncPolicy> parse_sync_policy(std::string_view text);
std::string_view to_string(SyncPolicy policy);

// The segment file name for a first sequence (zero-padded, so names sort by sequence).
std::string segment_file_name(std::uint64_t first_sequence);

class JournalWriter {
 public:
  struct Stats {
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;   // record bytes handed to the OS
    std::uint64_t writes = 0;  // write(2) calls
    std::uint64_t syncs = 0;   // fdatasync(2) calls
    core::Nanos last_sync_ns = 0;
    core::Nanos total_sync_ns = 0;
  };

  // Opens a new segment in `directory` (created if missing) whose first record will carry
  // `next_sequence` and chain after `chain_head` (the link of record next_sequence - 1, from
  // recovery or the follower; zeros for a new journal or one written before format 4).
  static core::Result<std::unique_ptr<JournalWriter>> open(const std::string& directory,
                                                           SyncPolicy policy,
                                                           std::uint64_t next_sequence,
                                                           const ChainLink& chain_head = {});
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Buffers one record (with the caller's annotation, see record.hpp); returns its sequence.
  std::uint64_t append(const Command& command, std::string_view annotation = {}) {
    if (buffer_.size() - used_ < kMaxRecordSize) grow();
    used_ += encode_record(next_sequence_, command, buffer_.data() + used_, annotation, chain_);
    ++stats_.records;
    return next_sequence_++;
  }
  // Makes the records appended so far durable per the policy (see above).
  core::Result<void> commit();
  // Writes (and with kFsync syncs) whatever is buffered, whatever the policy.
  core::Result<void> flush();
  // Flushes and continues in a new segment starting at next_sequence() (after a snapshot).
  core::Result<void> rotate();
  // Checks `leadership` (owned by the caller, outliving the writer) before and after every write:
  // once another primary raised the epoch, commits fail (kNotLeader) and stay failed, so nothing
  // written after the fence is acknowledged.
  void fence_with(const Leadership* leadership) { leadership_ = leadership; }

  std::uint64_t next_sequence() const { return next_sequence_; }
  // The link of the last record appended (committed or not).
  const ChainLink& chain_head() const { return chain_; }
  SyncPolicy policy() const { return policy_; }
  const Stats& stats() const { return stats_; }
  const std::string& segment_path() const { return path_; }

 private:
  JournalWriter(std::string directory, SyncPolicy policy, std::uint64_t next_sequence,
                const ChainLink& chain_head);
  core::Result<void> open_segment();
  core::Result<void> write_buffer(bool sync);
  void grow();

  std::string directory_;
  std::string path_;
  SyncPolicy policy_;
  std::uint64_t next_sequence_;
  ChainLink chain_;
  int fd_ = -1;
  bool failed_ = false;
  std::string failure_;
  const Leadership* leadership_ = nullptr;
  std::vector<unsigned char> buffer_;
  std::size_t used_ = 0;
  Stats stats_;
};

}  // namespace trading::journal
