// SegmentReader: reads one journal segment front to back (memory-mapped), checking every
// record's CRC and sequence. How the end of a segment is judged:
//   - a record that runs past the end of the file, or a bad CRC on the very last record, or
//     zero bytes to the end: a torn tail (a write cut short by a crash) - reported, not an
//     error; recovery cuts it off;
//   - a bad CRC or an impossible size with more data after it, a payload that does not decode,
//     or a sequence out of order: corruption - an error naming the file and byte offset.
// Never skips a record silently. Not thread-safe; one reader per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "trading/journal/record.hpp"

namespace trading::journal {

struct TornTail {
  std::uint64_t offset = 0;  // where the last good record ends (the file is cut here)
  std::uint64_t bytes = 0;   // bytes after it
  std::string reason;
};

class SegmentReader {
 public:
  static core::Result<SegmentReader> open(const std::string& path);
  SegmentReader(SegmentReader&& other) noexcept;
  SegmentReader& operator=(SegmentReader&& other) noexcept;
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;
  ~SegmentReader();

  // The next record into `out`: true; false at the end of the records (see torn_tail());
  // an error on corruption.
  core::Result<bool> next(DecodedRecord& out);

  const std::optional<TornTail>& torn_tail() const { return torn_tail_; }
  std::uint64_t first_sequence() const { return first_sequence_; }
  std::uint32_t format_version() const { return format_version_; }
  // The link before the first record (format 4; zeros before).
  const ChainLink& anchor() const { return anchor_; }
  std::uint64_t offset() const { return offset_; }  // end of the last good record
  // The payload bytes of the record next() returned last (valid while the reader lives).
  const unsigned char* last_payload() const { return last_payload_; }
  std::size_t last_payload_size() const { return last_payload_size_; }
  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  SegmentReader() = default;
  core::Result<bool> end_with_torn_tail(std::string reason);
  core::Error corrupt(const std::string& what) const;

  std::string path_;
  const unsigned char* data_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
  std::uint64_t first_sequence_ = 0;
  std::uint32_t format_version_ = kFormatVersion;
  ChainLink anchor_{};
  const unsigned char* last_payload_ = nullptr;
  std::size_t last_payload_size_ = 0;
  std::uint64_t expected_sequence_ = 0;
  std::optional<TornTail> torn_tail_;
};

// Cuts a segment at `offset` (after a torn tail) and syncs it.
core::Result<void> truncate_segment(const std::string& path, std::uint64_t offset);

}  // namespace trading::journal
