// recover(): brings a freshly built engine to the state the journal directory describes. Loads
// the newest snapshot whose checksums verify (older ones are tried when a newer one is damaged),
// then replays every journaled command after it through the same engine, in sequence order,
// across segments. A torn tail is cut (and reported); corruption in the middle, a gap in the
// sequence or a snapshot that does not fit the configuration stops recovery with an error that
// names the file and offset. The caller then opens a JournalWriter at report.next_sequence.
// Not thread-safe: runs on the engine thread before it takes orders.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "trading/domain/event_buffer.hpp"
#include "trading/domain/events.hpp"
#include "trading/journal/reader.hpp"
#include "trading/journal/snapshot.hpp"

namespace trading::journal {

struct RecoveryProgress {
  std::uint64_t records = 0;      // replayed so far
  std::uint64_t bytes_read = 0;   // journal bytes read so far (after the snapshot)
  std::uint64_t bytes_total = 0;  // journal bytes to read
};

struct RecoveryOptions {
  // Called about every `progress_every` records and once at the end.
  std::function<void(const RecoveryProgress&)> progress;
  std::uint64_t progress_every = 1'000'000;
  // Called for each replayed command with its events (to rebuild gateway state); optional.
  std::function<void(const DecodedRecord&, const EventBuffer&)> on_record;
  bool cut_torn_tail = true;  // false: report it but leave the file as it is (read-only tools)
  bool use_snapshots = true;  // false: replay the whole journal (checks, measurements)
  // Stop after this record (reconciliation at a sequence); the rest is not read.
  std::uint64_t through = std::numeric_limits<std::uint64_t>::max();
};

struct RecoveryReport {
  std::optional<std::uint64_t> snapshot_sequence;  // the snapshot loaded, if any
  std::string snapshot_path;
  std::vector<std::string> snapshots_skipped;  // damaged snapshots, with the reason
  std::uint64_t records_replayed = 0;
  std::uint64_t segments = 0;
  std::optional<TornTail> torn_tail;
  // Segments whose last records reach past the first sequence of the next segment (a fenced
  // primary's last write): those records are skipped, the newer leader's win.
  std::uint64_t superseded_tails = 0;
  std::string torn_segment;
  std::uint64_t next_sequence = 1;  // for the JournalWriter
  ChainLink chain_head{};           // the link of record next_sequence - 1, for the JournalWriter
  core::Nanos elapsed_ns = 0;
};

template <typename Engine>
core::Result<RecoveryReport> recover(Engine& engine, const std::string& directory,
                                     const RecoveryOptions& options = {}) {
  const core::Nanos started = core::monotonic_now_ns();
  RecoveryReport report;
  std::uint64_t applied_through = 0;  // last sequence reflected in the engine

  for (const auto& [sequence, path] : options.use_snapshots
                                          ? list_snapshots(directory)
                                          : std::vector<std::pair<std::uint64_t, std::string>>{}) {
    auto snapshot = read_snapshot_file(path);
    if (!snapshot) {
      report.snapshots_skipped.push_back(snapshot.error().message);
      continue;
    }
    if (auto loaded = load_snapshot(engine, *snapshot); !loaded) {
      return core::fail(kBadSnapshot, "snapshot " + path + " does not fit this configuration (" +
                                          loaded.error().message +
                                          "); move it away to replay from the journal alone");
    }
    report.snapshot_sequence = snapshot->sequence;
    report.snapshot_path = path;
    applied_through = snapshot->sequence;
    break;
  }

  const auto segments = list_segments(directory);
  RecoveryProgress progress;
  std::size_t first_needed = 0;  // segments wholly covered by the snapshot are not read
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    if (segments[i + 1].first <= applied_through + 1) first_needed = i + 1;
  }
  for (std::size_t i = first_needed; i < segments.size(); ++i) {
    std::error_code ec;
    progress.bytes_total += std::filesystem::file_size(segments[i].second, ec);
  }

  EventBuffer events;
  DecodedRecord record;
  for (std::size_t i = first_needed; i < segments.size(); ++i) {
    if (applied_through >= options.through) break;
    std::error_code size_error;
    const auto file_size = std::filesystem::file_size(segments[i].second, size_error);
    auto reader = SegmentReader::open(segments[i].second);
    if (!size_error && i + 1 == segments.size() &&
        (file_size < kFileHeaderSizeV3 || (!reader && reader.error().code == kShortHeader))) {
      // The crash came while the newest segment's header was being written: no records in it.
      report.torn_tail = TornTail{0, file_size, "incomplete segment header"};
      report.torn_segment = segments[i].second;
      if (options.cut_torn_tail) std::filesystem::remove(segments[i].second, size_error);
      break;
    }
    if (!reader) return core::fail(reader.error());
    ++report.segments;
    if (reader->first_sequence() > applied_through + 1) {
      return core::fail(kSequenceGap, "journal " + segments[i].second + " starts at sequence " +
                                          std::to_string(reader->first_sequence()) + " but " +
                                          std::to_string(applied_through + 1) +
                                          " is the next one needed: records are missing");
    }
    std::uint64_t last_offset = 0;  // the header counts as read
    // A newer segment starting at or before a record supersedes it: only a fenced primary
    // (leadership.hpp) writes past where its successor began, and it acknowledged none of it.
    const std::uint64_t superseded_from =
        i + 1 < segments.size() ? segments[i + 1].first : std::numeric_limits<std::uint64_t>::max();
    report.chain_head = reader->anchor();
    while (true) {
      auto more = reader->next(record);
      if (!more) return core::fail(more.error());
      if (!*more) break;
      if (record.sequence >= superseded_from) {
        ++report.superseded_tails;
        break;
      }
      if (record.sequence > options.through) break;
      report.chain_head = record.link;
      if (record.sequence <= applied_through) continue;  // already in the snapshot
      events.clear();
      engine.apply(record.command, events);
      if (options.on_record) options.on_record(record, events);
      applied_through = record.sequence;
      ++report.records_replayed;
      if (options.progress && report.records_replayed % options.progress_every == 0) {
        progress.records = report.records_replayed;
        progress.bytes_read += reader->offset() - last_offset;
        last_offset = reader->offset();
        options.progress(progress);
      }
    }
    progress.bytes_read += reader->size() - last_offset;
    if (reader->torn_tail()) {
      report.torn_tail = reader->torn_tail();
      report.torn_segment = segments[i].second;
      if (options.cut_torn_tail) {
        if (auto cut = truncate_segment(segments[i].second, reader->torn_tail()->offset); !cut) {
          return core::fail(cut.error());
        }
      }
    }
  }
  report.next_sequence = applied_through + 1;
  if (options.progress) {
    progress.records = report.records_replayed;
    options.progress(progress);
  }
  report.elapsed_ns = core::monotonic_now_ns() - started;
  return report;
}

}  // namespace trading::journal
