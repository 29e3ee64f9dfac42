// Evidence bundle: a directory holding a hash-chained evidence log (evidence_log.hpp) and the
// files a deployment produced, sealed by manifest.json — the log's SHA-256, entry count and last
// hash, and every other file's SHA-256 — with manifest.sig, an Ed25519 signature of the
// manifest's exact bytes. verify_bundle() re-checks all of it: the chain, the manifest against
// the files, the signature (against the public key the auditor trusts, or the one in the
// manifest, whose fingerprint it then reports). Free functions; thread-safe across bundles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace guardrails::evidence {

// The hex Ed25519 seed in `path` (created at random, mode 0600, when missing). Refuses a file
// that others may read or that is not a 32-byte hex seed.
core::Result<std::string> load_or_create_seed(const std::string& path);
// The hex public key of a hex seed.
core::Result<std::string> public_key_of(const std::string& seed_hex);

// Writes DIR/manifest.json and DIR/manifest.sig for the log DIR/`log_name` and the `files` (names
// inside DIR). The log must verify.
core::Result<void> seal_bundle(const std::string& dir, const std::string& log_name,
                               const std::vector<std::string>& files, const std::string& seed_hex,
                               std::int64_t sealed_at_ns);

struct BundleReport {
  bool ok = false;
  std::string problem;     // the first thing that does not hold
  std::string public_key;  // the key the signature verified with
  std::uint64_t entries = 0;
};
BundleReport verify_bundle(const std::string& dir,
                           const std::optional<std::string>& trusted_public_key = std::nullopt);

}  // namespace guardrails::evidence
