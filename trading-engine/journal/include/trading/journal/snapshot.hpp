// Snapshots: the engine state after a given journal sequence, in `snapshot-<sequence>.gvs`.
// Layout: "GVSNAPSH" | u32 version | u32 reserved | u64 sequence | u64 payload size |
//         u32 crc32c(payload) | u32 crc32c(the 32 header bytes before it) | payload
// where the payload is the engine's save_state() words, little-endian u64 each.
// Written to a temporary file, synced and renamed, so a crash never leaves half a snapshot
// under the real name. Free functions; thread-safe as long as callers use different files.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "trading/journal/record.hpp"

namespace trading::journal {

inline constexpr std::size_t kSnapshotHeaderSize = 40;

std::string snapshot_file_name(std::uint64_t sequence);

// Files in `directory`: (sequence, path). Segments ascending by first sequence, snapshots
// newest first. A missing directory lists nothing.
std::vector<std::pair<std::uint64_t, std::string>> list_segments(const std::string& directory);
std::vector<std::pair<std::uint64_t, std::string>> list_snapshots(const std::string& directory);

// Writes a snapshot file from an already serialised payload; returns its path.
core::Result<std::string> write_snapshot_file(const std::string& directory, std::uint64_t sequence,
                                              const std::vector<unsigned char>& payload);

struct SnapshotFile {
  std::uint64_t sequence = 0;
  std::vector<unsigned char> payload;
};
// Reads and checks a snapshot file (header, both checksums).
core::Result<SnapshotFile> read_snapshot_file(const std::string& path);

// Serialises an engine (anything with save_state) into a payload and writes it.
template <typename Engine>
core::Result<std::string> write_snapshot(Engine& engine, const std::string& directory,
                                         std::uint64_t sequence) {
  std::vector<unsigned char> payload;
  engine.save_state([&payload](std::uint64_t v) {
    const std::size_t at = payload.size();
    payload.resize(at + 8);
    store_u64(payload.data() + at, v);
  });
  return write_snapshot_file(directory, sequence, payload);
}

// Loads a snapshot payload into a freshly built engine; an error says what did not fit.
template <typename Engine>
core::Result<void> load_snapshot(Engine& engine, const SnapshotFile& snapshot) {
  std::size_t at = 0;
  const auto& p = snapshot.payload;
  const std::string problem = engine.load_state([&](std::uint64_t& v) {
    if (p.size() - at < 8) return false;
    v = load_u64(p.data() + at);
    at += 8;
    return true;
  });
  if (!problem.empty()) return core::fail(kBadSnapshot, problem);
  return {};
}

}  // namespace trading::journal
