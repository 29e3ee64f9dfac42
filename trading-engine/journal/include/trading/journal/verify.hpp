// verify_journal(): the auditor's check that the trade record was not rewritten. Reads the
// signed checkpoints first, then every segment, and checks, in sequence order:
//   - each record's CRC and sequence (removed or reordered records without renumbering);
//   - each record's hash-chain link against its predecessor's (a record changed, inserted,
//     removed or reordered, even with its CRC recomputed): the first record whose link does
//     not follow is named with its file and byte offset;
//   - each segment's anchor against the link of the record before it (a segment swapped);
//   - each checkpoint's signature (against the pinned public key when one is given) and its
//     chain head against the chain recomputed from the first record (a rewrite that recomputed
//     every link: named as the span between the last checkpoint that matched and this one);
//   - no checkpoint beyond the last record (records cut off the end).
// Safe while the venue writes: checkpoints are read before the records (a checkpoint is written
// after the records it covers), and an unfinished last record or checkpoint line is left out, so
// the answer is consistent up to the last complete record. Read-only; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trading/journal/checkpoint.hpp"
#include "trading/journal/record.hpp"

namespace trading::journal {

struct VerifyOptions {
  // The public key (hex) checkpoints must be signed with. Without it, each checkpoint is checked
  // against the key it names, which a rewriter with their own key would also pass: say so.
  std::optional<std::string> trusted_public_key;
};

struct StartRecord {  // a kStart marker: which build wrote from here on
  std::uint64_t sequence = 0;
  core::Nanos time_ns = 0;
  std::string annotation;  // build=..;config=..;evidence=..
};

struct VerifyReport {
  bool ok = false;
  std::string problem;  // the first thing that does not hold ("" when ok)
  std::optional<std::uint64_t> first_bad_sequence;
  std::string bad_file;
  std::uint64_t bad_offset = 0;
  std::uint64_t segments = 0;
  std::uint64_t records = 0;            // in sequence (superseded tails not counted)
  std::uint64_t unchained_records = 0;  // written before format 4 (no link to check)
  std::uint64_t superseded_records = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  ChainLink chain_head{};  // the link of last_sequence
  std::uint64_t checkpoints = 0;
  std::optional<Checkpoint> last_checkpoint;
  std::uint64_t records_after_last_checkpoint = 0;
  bool key_pinned = false;
  std::string public_key;        // the key the checkpoints verified with
  bool unfinished_tail = false;  // a last record still being written (left out)
  std::vector<StartRecord> starts;
};

VerifyReport verify_journal(const std::string& directory, const VerifyOptions& options = {});

// One JSON object (the `trading-engine journal verify` output).
std::string to_json(const VerifyReport& report);

}  // namespace trading::journal
