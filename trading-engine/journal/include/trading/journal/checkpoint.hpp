// Signed checkpoints of the journal's hash chain (record.hpp): what pins the chain against a
// rewrite that recomputes every link. Each is one JSON line appended to
// DIR/checkpoints.jsonl (one write(2) per line, O_APPEND):
//   {"sequence":S,"chain":"<link of record S, hex>","epoch":E,"time_ns":T,"reason":"interval",
//    "public_key":"<Ed25519, hex>","signature":"<hex>"}
// The signature (Ed25519) covers checkpoint_message(): the format tag, sequence, chain, epoch,
// time and reason. The signing key is the venue's (`journal.signing_key`, a hex seed kept
// outside the journal directory); whoever can only write the directory cannot sign.
// CheckpointSigner: not thread-safe (the engine thread owns it). The free functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "trading/journal/record.hpp"

namespace trading::journal {

inline constexpr const char* kCheckpointFileName = "checkpoints.jsonl";

struct Checkpoint {
  std::uint64_t sequence = 0;
  ChainLink chain{};
  std::uint64_t epoch = 0;
  core::Nanos time_ns = 0;
  std::string reason;      // interval, shutdown, handover
  std::string public_key;  // hex
  std::string signature;   // hex
  std::uint64_t line = 0;  // where it was read (1-based), for reports
};

// The exact bytes a checkpoint's signature covers.
std::string checkpoint_message(const Checkpoint& checkpoint);
// Whether the signature verifies with `public_key_hex` (the checkpoint's own key when empty).
bool checkpoint_signature_valid(const Checkpoint& checkpoint,
                                const std::string& public_key_hex = {});

// Whether `text` is an Ed25519 public key in hex (64 hex digits): what --public-key takes.
bool is_public_key_hex(std::string_view text);

// Every complete line of DIR/checkpoints.jsonl, in file order (an unfinished last line, being
// written, is left out; no file: none). A line that is not a checkpoint is an error naming it.
core::Result<std::vector<Checkpoint>> read_checkpoints(const std::string& directory);

class CheckpointSigner {
 public:
  // From a 32-byte Ed25519 seed in hex; appends to DIR/checkpoints.jsonl.
  static core::Result<std::unique_ptr<CheckpointSigner>> open(const std::string& directory,
                                                              const std::string& seed_hex,
                                                              bool sync);
  ~CheckpointSigner();
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  // Signs and appends a checkpoint of the chain through `sequence` (already written).
  core::Result<void> append(std::uint64_t sequence, const ChainLink& chain, std::uint64_t epoch,
                            core::Nanos time_ns, const std::string& reason);
  const std::string& public_key() const { return public_key_hex_; }
  std::uint64_t written() const { return written_; }
  std::uint64_t last_sequence() const { return last_sequence_; }

 private:
  CheckpointSigner() = default;
  std::string path_;
  int fd_ = -1;
  bool sync_ = false;
  std::array<unsigned char, 64> secret_key_{};
  std::string public_key_hex_;
  std::uint64_t written_ = 0;
  std::uint64_t last_sequence_ = 0;
};

}  // namespace trading::journal
