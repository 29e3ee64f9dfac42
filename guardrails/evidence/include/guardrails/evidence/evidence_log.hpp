// EvidenceLog: the guardrail's forensic record of deployment decisions. An append-only JSON-lines
// file; each line is {"data","hash","prev","seq","ts","type"} with keys sorted, where `prev` is the
// previous line's hash (64 zeros for the first) and `hash` is the SHA-256 of the line's canonical
// JSON without the `hash` key. Any changed byte, removed or reordered line breaks the chain, and
// verify() names the first entry that fails. Appends are fdatasync'd before append() returns.
// open() refuses a file whose chain is broken, and append() refuses when the file changed under
// it — unless it was opened shared: then several processes may append to the one file (both
// colours of a service), each append taking an exclusive flock(2) and first taking in, verified,
// what the others appended. Thread-safe (appends are serialised).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace guardrails::evidence {

enum ErrorCode : int {
  kIoError = 1,      // cannot open, read, write or sync the file
  kBrokenChain = 2,  // the existing file does not verify; nothing will be appended
  kFileChanged = 3,  // the file changed behind the log's back since it was opened
};

struct VerifyReport {
  bool ok = true;
  std::uint64_t entries = 0;          // entries that verified
  std::uint64_t first_bad_entry = 0;  // 1-based line number of the first failure (0 when ok)
  std::string problem;                // what is wrong with it
  std::string last_hash;              // hash of the last good entry
};

// Verifies the chain in `content` (the whole file). Pure.
VerifyReport verify_content(std::string_view content);
// Verifies `content` as the continuation of a chain of `entries_before` entries ending in
// `last_hash_before` (the whole file: 0 and 64 zeros); with `parsed`, also hands back each entry.
VerifyReport verify_content(std::string_view content, std::uint64_t entries_before,
                            const std::string& last_hash_before,
                            std::vector<nlohmann::json>* parsed);
inline const std::string kGenesisHash(64, '0');
// Reads and verifies a file. A missing file is an error (problem says so), an empty one is ok.
VerifyReport verify_file(const std::string& path);

// Hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

class EvidenceLog {
 public:
  // Opens or creates `path`, verifying the existing chain first.
  // Creates the file (and its directory) when missing.
  static core::Result<std::unique_ptr<EvidenceLog>> open(const std::string& path,
                                                         bool shared = false);
  ~EvidenceLog();

  // Appends one entry and syncs it to disk. Returns the entry's hash.
  core::Result<std::string> append(std::string_view type, const nlohmann::json& data,
                                   core::Nanos wall_ns);

  std::uint64_t entries() const;
  const std::string& path() const { return path_; }

 private:
  EvidenceLog(std::string path, int fd, std::uint64_t entries, std::string last_hash,
              std::uint64_t size, bool shared);
  core::Result<void> take_in_others_locked();  // shared: what other processes appended

  std::string path_;
  mutable std::mutex mutex_;
  int fd_;
  std::uint64_t entries_;  // guarded by mutex_
  std::string last_hash_;  // guarded by mutex_
  std::uint64_t size_;     // bytes we believe the file has; guarded by mutex_
  bool shared_;
};

}  // namespace guardrails::evidence
