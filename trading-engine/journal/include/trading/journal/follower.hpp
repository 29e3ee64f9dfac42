// JournalFollower: reads a journal directory while its writer (the primary, another process)
// extends it, for a standby that applies every command to its own engine. poll() hands over
// each record that is completely written, once, in sequence order across segments. Where
// recovery would see a torn tail, the follower sees a record not yet written: it waits for it,
// and never changes a file (the directory belongs to the primary). A segment's tail is given up
// only when the writer has moved on: a later segment that starts exactly where the records end
// (after a crash, recovery cut the tail and a new writer began there). Corruption in the middle,
// a sequence gap or a segment of a format version this build cannot read stops it with an error
// that names the file, the offset and, for versions, which ones this build reads.
//
// Why the journal files and not a network stream: the primary's acknowledgement already waits for
// the journal write, so following the files costs the primary nothing and the standby sees
// exactly the bytes recovery would replay (on Kubernetes both pods mount the ReadWriteMany
// volume). Files are read with pread(2), never mapped: the primary's recovery may cut a torn tail
// while the standby looks. Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "trading/journal/record.hpp"

namespace trading::journal {

class JournalFollower {
 public:
  // Follows `directory` from the record with `next_sequence` on (the one after what the standby
  // recovered: RecoveryReport::next_sequence).
  // `chain_head` is the link of record next_sequence - 1 (RecoveryReport::chain_head).
  JournalFollower(std::string directory, std::uint64_t next_sequence,
                  const ChainLink& chain_head = {});
  ~JournalFollower();
  JournalFollower(const JournalFollower&) = delete;
  JournalFollower& operator=(const JournalFollower&) = delete;

  // Hands each record complete now to `on_record` (at most `max_records`); returns how many.
  core::Result<std::size_t> poll(const std::function<void(const DecodedRecord&)>& on_record,
                                 std::size_t max_records = SIZE_MAX);

  std::uint64_t next_sequence() const { return next_sequence_; }
  // The segment being read and the byte offset after its last record handed over.
  const std::string& segment() const { return path_; }
  std::uint64_t offset() const { return offset_; }
  // The timestamp of the last record handed over (the command's time; 0 before the first).
  core::Nanos last_timestamp() const { return last_timestamp_; }
  // The link of record next_sequence() - 1: where a standby taking over continues the chain.
  const ChainLink& chain_head() const { return chain_head_; }

 private:
  core::Result<bool> open_segment_for(std::uint64_t sequence);
  core::Result<void> read_more();
  void close_segment();
  core::Error corrupt(const std::string& what) const;

  std::string directory_;
  std::uint64_t next_sequence_;
  std::string path_;
  int fd_ = -1;
  bool header_read_ = false;
  std::uint32_t format_version_ = kFormatVersion;
  std::uint64_t offset_ = 0;  // file offset of buffer_[consumed_]
  std::vector<unsigned char> buffer_;
  std::size_t consumed_ = 0;
  core::Nanos last_timestamp_ = 0;
  ChainLink chain_head_{};
};

// Whether this build can read (recover or follow) a journal directory: each segment's format
// version and the first problem, "" when it reads them all. Reads the segment headers only
// (`trading-engine journal compat DIR`, a deployment's pre-flight). Thread-safe.
struct JournalCompatibility {
  std::vector<std::pair<std::string, std::uint32_t>> segments;  // file name, format version
  std::string problem;
};
JournalCompatibility check_compatibility(const std::string& directory);

}  // namespace trading::journal
