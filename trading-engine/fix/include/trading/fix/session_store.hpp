// MappedSessionStore: one FIX session's persistent state (next sender/target sequence numbers,
// creation time, every message sent, for resends) in two memory-mapped files, so that recording
// a sent message or a sequence number is a memory write, not a system call.
//
// Durability: every completed call survives a crash of the process (the kernel's page cache holds
// the mapped pages); nothing is fsynced, so a power loss can lose the latest updates, which FIX
// recovers from with a ResendRequest / SequenceReset-GapFill. QuickFIX's FileStore gives the same
// guarantee (fflush, no fsync) at four write(2) calls per order round trip.
//
// Files, for a store named N in directory D:
//   D/N.state     4 KiB: magic, version, creation time (ms since epoch), next sender, next target.
//   D/N.messages  a 64-byte header, then records {u32 sequence, u32 size, FIX bytes, pad to 8};
//                 the 8-byte record header is written last, in one store, so a record is either
//                 whole or absent after a crash; a zero header marks the end. Space is reserved
//                 with posix_fallocate before it is mapped: a full disk is an error from set(),
//                 never a SIGBUS.
// Opening validates both files; a torn or damaged tail of the message file (possible only after
// a power loss) is cut at the last whole record, reported by damaged_tail_offset().
//
// Plain C++14 (the QuickFIX island includes it). Not thread-safe: QuickFIX calls a store under
// its session's lock; one store object per session, one process per directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace trading {
namespace fix {

class MappedSessionStore {
 public:
  // Opens (creating if absent) the store `name` in `directory`. now_ms is the creation time of a
  // new store. Returns null with *error set when the files cannot be created, mapped or are not
  // store files (wrong magic or version).
  static std::unique_ptr<MappedSessionStore> open(const std::string& directory,
                                                  const std::string& name, std::int64_t now_ms,
                                                  std::string* error);
  ~MappedSessionStore();
  MappedSessionStore(const MappedSessionStore&) = delete;
  MappedSessionStore& operator=(const MappedSessionStore&) = delete;

  // Records the message sent with `sequence` (a later set of the same number replaces it).
  // False with *error when the file cannot grow (disk full) or the message is over 16 MiB.
  bool set(int sequence, const char* data, std::size_t size, std::string* error);
  // Appends the messages with begin <= sequence <= end that are stored, in sequence order.
  void get(int begin, int end, std::vector<std::string>& out) const;

  int next_sender() const;
  int next_target() const;
  void set_next_sender(int sequence);
  void set_next_target(int sequence);
  std::int64_t creation_time_ms() const;

  // Forgets every message, sequence numbers back to 1, creation time now_ms.
  bool reset(std::int64_t now_ms, std::string* error);

  std::size_t message_count() const { return index_.size(); }
  // Where opening cut a damaged tail of the message file (0: the file was whole).
  std::uint64_t damaged_tail_offset() const { return damaged_tail_offset_; }
  std::uint64_t bytes_used() const { return end_; }

 private:
  struct State;
  MappedSessionStore() = default;
  bool map_messages(std::uint64_t capacity, std::string* error);
  bool grow(std::uint64_t needed, std::string* error);
  bool load_messages(std::string* error);
  bool clear_from(std::uint64_t offset, std::string* error);
  void index_record(int sequence, std::uint64_t offset);

  int state_fd_ = -1;
  int messages_fd_ = -1;
  State* state_ = nullptr;
  char* messages_ = nullptr;
  std::uint64_t capacity_ = 0;  // bytes mapped (and reserved on disk)
  std::uint64_t end_ = 0;       // offset of the next record
  std::uint64_t damaged_tail_offset_ = 0;
  // (sequence, record offset), sorted by sequence; appends are the common case.
  std::vector<std::pair<int, std::uint64_t>> index_;
};

}  // namespace fix
}  // namespace trading
