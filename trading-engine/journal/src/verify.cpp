#include "trading/journal/verify.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "trading/journal/reader.hpp"
#include "trading/journal/snapshot.hpp"

namespace trading::journal {
namespace {

std::string file_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

}  // namespace

VerifyReport verify_journal(const std::string& directory, const VerifyOptions& options) {
  VerifyReport r;
  r.key_pinned = options.trusted_public_key.has_value();
  const auto fail = [&r](std::string problem) {
    if (r.problem.empty()) r.problem = std::move(problem);
  };
  // Checkpoints first: whatever they cover was written before they were.
  auto checkpoints = read_checkpoints(directory);
  if (!checkpoints) {
    fail(checkpoints.error().message);
    checkpoints = std::vector<Checkpoint>{};
  }
  std::vector<Checkpoint> pending = *checkpoints;
  std::stable_sort(pending.begin(), pending.end(), [](const Checkpoint& a, const Checkpoint& b) {
    return a.sequence < b.sequence;
  });
  for (const auto& c : pending) {
    const std::string key = options.trusted_public_key.value_or("");
    if (!checkpoint_signature_valid(c, key)) {
      fail("checkpoint on line " + std::to_string(c.line) + " (sequence " +
           std::to_string(c.sequence) + ") " +
           (r.key_pinned && c.public_key != key ? "is signed with another key than the pinned one"
                                                : "has a signature that does not verify"));
    } else if (r.public_key.empty()) {
      r.public_key = r.key_pinned ? key : c.public_key;
    } else if (!r.key_pinned && c.public_key != r.public_key) {
      fail("checkpoint on line " + std::to_string(c.line) +
           " is signed with another key than the "
           "checkpoints before it");
    }
  }
  r.checkpoints = pending.size();
  std::size_t next_checkpoint = 0;
  std::uint64_t last_matching_checkpoint = 0;

  const auto segments = list_segments(directory);
  r.segments = segments.size();
  ChainLink computed{};  // the chain recomputed from the first record, never taken from the files
  ChainLink stored{};    // the link stored with the previous record
  bool chained = false;  // the previous record carried a link
  std::uint64_t expected = 0;
  DecodedRecord record;
  for (std::size_t i = 0; i < segments.size() && r.problem.empty(); ++i) {
    const std::string& path = segments[i].second;
    auto reader = SegmentReader::open(path);
    const bool last_segment = i + 1 == segments.size();
    if (!reader) {
      if (last_segment && reader.error().code == kShortHeader) {
        r.unfinished_tail = true;  // its header is being written
        break;
      }
      fail(reader.error().message);
      break;
    }
    if (i == 0) {
      r.first_sequence = reader->first_sequence();
      expected = reader->first_sequence();
      if (reader->first_sequence() != 1) {
        fail("the journal starts at sequence " + std::to_string(reader->first_sequence()) +
             ": records 1 to " + std::to_string(reader->first_sequence() - 1) + " are missing");
        break;
      }
    }
    if (reader->first_sequence() > expected) {
      r.first_bad_sequence = expected;
      r.bad_file = file_name(path);
      fail("records " + std::to_string(expected) + " to " +
           std::to_string(reader->first_sequence() - 1) + " are missing: " + file_name(path) +
           " starts at " + std::to_string(reader->first_sequence()));
      break;
    }
    const bool v4 = reader->format_version() >= kFirstChainedFormatVersion;
    if (v4) {
      // The anchor is the link of the record before this segment (zeros when that record was
      // unchained or there is none); rewinding to a superseded point uses it.
      const ChainLink before = chained ? stored : ChainLink{};
      if (reader->anchor() != before) {
        r.first_bad_sequence = reader->first_sequence();
        r.bad_file = file_name(path);
        fail(file_name(path) + ": its chain anchor does not match the link of record " +
             std::to_string(reader->first_sequence() - 1) +
             " (a segment was replaced, removed or reordered)");
        break;
      }
      stored = before;
    }
    const std::uint64_t superseded_from =
        last_segment ? UINT64_MAX : static_cast<std::uint64_t>(segments[i + 1].first);
    ChainLink segment_computed = computed;
    while (true) {
      const std::uint64_t offset = reader->offset();
      auto more = reader->next(record);
      if (!more) {
        r.bad_file = file_name(path);
        r.bad_offset = offset;
        r.first_bad_sequence = expected;
        fail(more.error().message);
        break;
      }
      if (!*more) break;
      if (record.sequence >= superseded_from) {
        // A fenced primary's last write, superseded by the next segment: not part of the chain.
        std::uint64_t n = 1;
        while (true) {
          auto again = reader->next(record);
          if (!again || !*again) break;
          ++n;
        }
        r.superseded_records += n;
        break;
      }
      if (v4) {
        const ChainLink link =
            chain_link(stored, reader->last_payload(), reader->last_payload_size());
        segment_computed =
            chain_link(segment_computed, reader->last_payload(), reader->last_payload_size());
        if (link != record.link && r.problem.empty()) {
          r.first_bad_sequence = record.sequence;
          r.bad_file = file_name(path);
          r.bad_offset = offset;
          fail("record " + std::to_string(record.sequence) + " (" + file_name(path) +
               " at byte offset " + std::to_string(offset) +
               ") does not follow the hash chain: it, or the record before it, was changed, "
               "inserted, removed or reordered after it was written");
        }
        stored = record.link;
        chained = true;
      } else {
        ++r.unchained_records;
        stored = ChainLink{};
        segment_computed = ChainLink{};
        chained = false;
      }
      if (const auto* m = std::get_if<JournalMarker>(&record.command.body);
          m != nullptr && m->kind == MarkerKind::kStart) {
        r.starts.push_back({record.sequence, record.command.timestamp, record.annotation});
      }
      ++r.records;
      r.last_sequence = record.sequence;
      expected = record.sequence + 1;
      // Checkpoints at this sequence: the recomputed chain must be the signed one.
      while (next_checkpoint < pending.size() &&
             pending[next_checkpoint].sequence <= record.sequence) {
        const Checkpoint& c = pending[next_checkpoint++];
        if (c.sequence < record.sequence) continue;  // in a superseded or skipped span
        if (c.chain != segment_computed && r.problem.empty()) {
          r.first_bad_sequence = last_matching_checkpoint + 1;
          r.bad_file = file_name(path);
          fail("the chain through record " + std::to_string(c.sequence) +
               " differs from the signed checkpoint on line " + std::to_string(c.line) +
               ": a record from " + std::to_string(last_matching_checkpoint + 1) + " to " +
               std::to_string(c.sequence) + " was rewritten and the links after it recomputed");
        } else {
          last_matching_checkpoint = c.sequence;
          r.last_checkpoint = c;
        }
      }
    }
    computed = segment_computed;
    if (reader->torn_tail()) {
      // The last segment's is being written (or is a crash's torn tail, which recovery cuts);
      // an earlier one's shows as missing records when the next segment opens.
      if (last_segment) r.unfinished_tail = true;
    }
  }
  r.chain_head = stored;
  if (r.problem.empty() && next_checkpoint < pending.size()) {
    const Checkpoint& c = pending[next_checkpoint];
    r.first_bad_sequence = r.last_sequence + 1;
    fail("the signed checkpoint on line " + std::to_string(c.line) + " covers records up to " +
         std::to_string(c.sequence) + " but the journal ends at " +
         std::to_string(r.last_sequence) + ": records " + std::to_string(r.last_sequence + 1) +
         " to " + std::to_string(c.sequence) + " were removed");
  }
  r.records_after_last_checkpoint =
      r.last_sequence - (r.last_checkpoint ? r.last_checkpoint->sequence : r.first_sequence - 1);
  if (segments.empty()) fail("no journal segments in " + directory);
  r.ok = r.problem.empty();
  return r;
}

std::string to_json(const VerifyReport& r) {
  nlohmann::json starts = nlohmann::json::array();
  const std::size_t from = r.starts.size() > 20 ? r.starts.size() - 20 : 0;
  for (std::size_t i = from; i < r.starts.size(); ++i) {
    starts.push_back({{"sequence", r.starts[i].sequence},
                      {"time_ns", r.starts[i].time_ns},
                      {"build", r.starts[i].annotation}});
  }
  nlohmann::json j = {{"ok", r.ok},
                      {"problem", r.problem},
                      {"segments", r.segments},
                      {"records", r.records},
                      {"first_sequence", r.first_sequence},
                      {"last_sequence", r.last_sequence},
                      {"chain_head", to_hex(r.chain_head)},
                      {"unchained_records", r.unchained_records},
                      {"superseded_records", r.superseded_records},
                      {"checkpoints", r.checkpoints},
                      {"records_after_last_checkpoint", r.records_after_last_checkpoint},
                      {"key_pinned", r.key_pinned},
                      {"public_key", r.public_key},
                      {"unfinished_tail", r.unfinished_tail},
                      {"starts", starts}};
  if (r.first_bad_sequence) {
    j["first_bad_sequence"] = *r.first_bad_sequence;
    j["bad_file"] = r.bad_file;
    j["bad_offset"] = r.bad_offset;
  }
  if (r.last_checkpoint) {
    j["last_checkpoint"] = {{"sequence", r.last_checkpoint->sequence},
                            {"chain", to_hex(r.last_checkpoint->chain)},
                            {"time_ns", r.last_checkpoint->time_ns},
                            {"reason", r.last_checkpoint->reason},
                            {"epoch", r.last_checkpoint->epoch}};
  }
  if (!r.key_pinned && r.checkpoints > 0) {
    j["warning"] =
        "public key not pinned (--public-key): the checkpoints were checked against the key they "
        "name, which a rewrite signed with another key would also pass";
  }
  return j.dump();
}

}  // namespace trading::journal
