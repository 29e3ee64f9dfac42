// The audit trail (21 CFR 11.10(e)) and its tamper evidence (11.10(c)): every entry says who,
// when (server UTC), what (object, field, old and new value) and why, and is hash-chained
// (SHA-256 over the previous entry's hash and this entry's canonical bytes). Checkpoints (sequence,
// root hash, time) are signed with Ed25519 so an auditor can keep one outside the database;
// ChainVerifier walks the trail and names the first entry that was altered, removed or
// reordered, dated before its predecessor, or the checkpoint that does not match. Value types;
// ChainVerifier is not thread-safe (one per walk).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mes/domain/accounts.hpp"
#include "mes/domain/crypto.hpp"

namespace mes {

inline const std::string kGenesisHash(64, '0');

struct AuditEntry {
  std::int64_t seq = 0;  // 1, 2, 3, ... with no gaps
  Millis at = 0;
  std::string actor;        // user id, or "system"
  std::string action;       // create, modify, void, command, refused, login, sign, ...
  std::string object_type;  // batch, user, master_recipe, lot, ...
  std::string object_id;
  std::string field;  // the field changed, or empty
  std::string old_value, new_value;
  std::string reason;
  std::string prev_hash;  // hash of entry seq - 1 (kGenesisHash for the first)
  std::string hash;       // sha256(canonical(entry)), hex
  // sha256 of the whole record version this write produced (record_hash(Document) in store.hpp:
  // data, workflow state, version, voided), or empty for entries that write no record. Chained
  // with the entry, it proves the record's current stored content (11.10(a), ALCOA Original).
  std::string record_hash;
  // The terminal (workstation) the entry was made from (11.10(e), Annex 11 §12: from where):
  // what the client names (sanitised), else "ip:<address>"; "console" for the CLI; empty for
  // the system. Chained with the entry when present (canonical "audit/3").
  std::string terminal = {};

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

// Unambiguous bytes of every field but `hash` (length-prefixed).
std::string canonical(const AuditEntry& entry);
// Sets entry.prev_hash and entry.hash.
void link(AuditEntry& entry, const std::string& prev_hash);

struct Checkpoint {
  std::int64_t seq = 0;   // the last entry it covers
  std::string root_hash;  // that entry's hash
  Millis at = 0;
  std::string public_key;  // hex Ed25519 key that signed it
  std::string signature;   // hex

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string checkpoint_message(const Checkpoint& checkpoint);
Checkpoint sign_checkpoint(std::int64_t seq, std::string root_hash, Millis at,
                           const crypto::SigningKey& key);
// One line an auditor can keep: "seq root at public_key signature"; and back.
std::string checkpoint_line(const Checkpoint& checkpoint);
std::optional<Checkpoint> parse_checkpoint_line(std::string_view line);

enum class ChainProblemKind {
  kAltered,              // the entry's bytes do not give its hash
  kMissing,              // a gap in the sequence
  kReordered,            // a sequence number out of order or repeated
  kBrokenLink,           // prev_hash is not the previous entry's hash
  kCheckpointMismatch,   // the chain at a checkpoint's sequence has another root
  kCheckpointSignature,  // a checkpoint not signed by the trusted key
  kTruncated,            // a checkpoint covers entries that are gone
  kTimeReversed,         // an entry dated before the entry it follows
};
std::string_view to_string(ChainProblemKind kind);

struct ChainProblem {
  ChainProblemKind kind = ChainProblemKind::kAltered;
  std::int64_t seq = 0;  // the entry (or checkpoint) at fault
  std::string message;
};

class ChainVerifier {
 public:
  // checkpoints in any order; trusted_public_key (hex) empty = each checkpoint's own key.
  explicit ChainVerifier(std::vector<Checkpoint> checkpoints = {},
                         std::string trusted_public_key = {});
  // Entries in the order the store returns them (ascending seq). False at the first problem;
  // later calls change nothing.
  bool feed(const AuditEntry& entry);
  // After the last entry: checkpoints beyond the end are truncation.
  bool finish();
  const std::optional<ChainProblem>& problem() const { return problem_; }
  std::int64_t entries_checked() const { return checked_; }
  std::int64_t last_seq() const { return last_seq_; }
  const std::string& root() const { return last_hash_; }
  std::size_t checkpoints_matched() const { return matched_; }
  std::size_t checkpoints_total() const { return checkpoints_.size(); }
  // The latest record hash the verified chain holds for each record ("type/id" below), with the
  // entry that carries it.
  struct RecordProof {
    std::int64_t seq = 0;
    std::string record_hash;
  };
  const std::map<std::pair<std::string, std::string>, RecordProof>& record_proofs() const {
    return proofs_;
  }

 private:
  bool fail(ChainProblemKind kind, std::int64_t seq, std::string message);
  std::vector<Checkpoint> checkpoints_;  // sorted by seq
  std::size_t next_checkpoint_ = 0;
  std::size_t matched_ = 0;
  std::string trusted_key_;
  std::int64_t last_seq_ = 0;
  Millis last_at_ = 0;
  std::string last_hash_ = kGenesisHash;
  std::int64_t checked_ = 0;
  std::optional<ChainProblem> problem_;
  std::map<std::pair<std::string, std::string>, RecordProof> proofs_;
  std::string buffer_;
};

}  // namespace mes
