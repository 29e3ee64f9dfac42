// The journal's binary format. A journal segment is a file header followed by records:
//
//   header v4 (64 bytes): "GVJOURNL" | u32 version | u32 header size | u64 first sequence |
//                         chain anchor (32 bytes: the link of the record before the first one,
//                         zeros when there is none) | u32 reserved | u32 crc32c(the 60 bytes
//                         before it)
//   header v1-3 (32):     "GVJOURNL" | u32 version | u32 header size | u64 first sequence |
//                         u32 reserved | u32 crc32c(the 28 bytes before it)
//   record v4:            u32 payload size | u32 crc32c(size field + payload + link) | payload |
//                         link (32 bytes)
//   record v1-3:          u32 payload size | u32 crc32c(size field + payload) | payload
//   payload:              u64 sequence | i64 timestamp | u8 kind | body (fixed layout per kind) |
//                         u8 annotation size | annotation bytes
// The link makes the records a hash chain: link(n) = SHA-256(link(n-1) | payload(n)), so a
// record changed, removed, inserted or reordered breaks every link after it, even when whoever
// changed it recomputed the CRC (which only guards against damage). A rewrite that recomputes the
// links too is caught by the signed checkpoints (checkpoint.hpp), which pin the chain head.
// The annotation is opaque to the journal: the gateway stores what it needs to rebuild its own
// state on replay (which session sent the command, the client's order id).
//
// Everything little-endian. Sequences are consecutive from the segment's first sequence.
// decode_payload validates every enum and the exact size, so a record that passes the CRC but
// was written by another version (or a bug) is an error, never a wrong command.
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "trading/domain/commands.hpp"

namespace trading::journal {

// Version 2: NewOrder's client_order_key is the gateway's exact ClOrdID number. Version 1 (read,
// never written) carried a hash of the ClOrdID there; decoding a version 1 record turns it into
// the key the engine then used (the hash mixed with the account) with the top bit set, so it
// can never equal a version 2 number.
// Version 3: adds journal markers (a state digest, a leadership epoch, a handover seal; see
// JournalMarker), which versions 1 and 2 cannot hold.
// Version 4: every record carries its hash-chain link, the segment header the chain anchor, and
// a start marker (kStart) records the build and configuration that wrote what follows.
inline constexpr std::uint32_t kFormatVersion = 4;
inline constexpr std::uint32_t kOldestReadableFormatVersion = 1;
inline constexpr std::uint32_t kFirstChainedFormatVersion = 4;
inline constexpr std::size_t kFileHeaderSizeV3 = 32;  // versions 1 to 3
inline constexpr std::size_t kFileHeaderSize = 64;    // the version written
inline constexpr std::size_t kRecordHeaderSize = 8;
inline constexpr std::size_t kChainLinkSize = 32;
inline constexpr std::size_t kMaxAnnotationSize = 120;
inline constexpr std::size_t kMaxPayloadSize = 192;  // largest command 61 + 1 + annotation
inline constexpr std::size_t kMaxRecordSize = kRecordHeaderSize + kMaxPayloadSize + kChainLinkSize;

// A record's hash-chain link (SHA-256); all zeros before the first chained record.
using ChainLink = std::array<unsigned char, kChainLinkSize>;
// link(n) = SHA-256(previous | payload).
ChainLink chain_link(const ChainLink& previous, const unsigned char* payload, std::size_t size);
std::string to_hex(const ChainLink& link);

// Error codes of journal and snapshot operations.
enum JournalError : int {
  kIoError = 1,
  kBadHeader = 2,
  kCorruptRecord = 3,
  kBadPayload = 4,
  kSequenceGap = 5,
  kBadSnapshot = 6,
  // 7 is kNotLeader (leadership.hpp): another primary took the journal over.
  kShortHeader = 8,
};

// Writes one framed record (the current format) at `dst` (room for kMaxRecordSize bytes) whose
// link follows `chain`, and advances `chain` to it; returns its size. An annotation longer than
// kMaxAnnotationSize is cut to that size.
std::size_t encode_record(std::uint64_t sequence, const Command& command, unsigned char* dst,
                          std::string_view annotation, ChainLink& chain);
// The same, chained after an all-zero link (tests, benchmarks, fuzzers).
std::size_t encode_record(std::uint64_t sequence, const Command& command, unsigned char* dst,
                          std::string_view annotation = {});

struct DecodedRecord {
  std::uint64_t sequence = 0;
  Command command;
  std::string annotation;
  ChainLink link{};  // as stored (format 4); zeros in older formats
};

// One framed record as found in a segment of `format_version`, before its payload is decoded.
enum class FrameStatus : std::uint8_t {
  kOk,
  kIncomplete,  // runs past the bytes available (not written yet, or a torn tail)
  kZeroFill,    // zeros to the end: nothing written there
  kBadSize,     // an impossible size, not zeros
  kBadCrc,
};
struct Frame {
  FrameStatus status = FrameStatus::kIncomplete;
  std::uint32_t payload_size = 0;
  std::size_t size = 0;  // the whole record
  const unsigned char* payload = nullptr;
  const unsigned char* link = nullptr;  // format 4, else nullptr
};
Frame parse_frame(const unsigned char* p, std::size_t available, std::uint32_t format_version);

// Decodes a payload whose CRC has been checked, written in `format_version` (its segment's).
core::Result<DecodedRecord> decode_payload(const unsigned char* payload, std::size_t size,
                                           std::uint32_t format_version = kFormatVersion);

struct SegmentHeader {
  std::uint64_t first_sequence = 0;
  std::uint32_t format_version = kFormatVersion;
  std::size_t size = kFileHeaderSize;
  ChainLink anchor{};  // the link before the first record (format 4)
};
// Writes a current-format header (kFileHeaderSize bytes).
void encode_file_header(std::uint64_t first_sequence, const ChainLink& anchor, unsigned char* dst);
inline void encode_file_header(std::uint64_t first_sequence, unsigned char* dst) {
  encode_file_header(first_sequence, ChainLink{}, dst);
}
// A segment's header, or an error naming what is wrong with it (a format version this build
// cannot read says which versions it reads). kShortHeader: fewer bytes than the header needs
// (a segment being created).
core::Result<SegmentHeader> decode_file_header(const unsigned char* src, std::size_t size);

// Little-endian loads and stores (the host is little-endian; checked at compile time).
static_assert(std::endian::native == std::endian::little, "journal format assumes little-endian");
inline void store_u32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
inline void store_u64(unsigned char* p, std::uint64_t v) { std::memcpy(p, &v, 8); }
inline std::uint32_t load_u32(const unsigned char* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t load_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace trading::journal
