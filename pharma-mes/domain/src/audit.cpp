#include "mes/domain/audit.hpp"

#include "mes/domain/store.hpp"

#include <algorithm>
#include <charconv>

namespace mes {
namespace {

void put_number(std::string& out, std::int64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 24 characters always fit an int64
  out.append(digits, end);
}

void put(std::string& out, std::string_view field) {
  put_number(out, static_cast<std::int64_t>(field.size()));
  out += ':';
  out += field;
  out += '|';
}

void put(std::string& out, std::int64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  put(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void canonical_into(std::string& out, const AuditEntry& e) {
  out.clear();
  // Version 2 adds the record hash, version 3 the terminal; entries without them keep the older
  // versions' bytes (old chains verify).
  out += !e.terminal.empty() ? "audit/3|" : e.record_hash.empty() ? "audit/1|" : "audit/2|";
  put(out, e.seq);
  put(out, e.at);
  put(out, e.actor);
  put(out, e.action);
  put(out, e.object_type);
  put(out, e.object_id);
  put(out, e.field);
  put(out, e.old_value);
  put(out, e.new_value);
  put(out, e.reason);
  put(out, e.prev_hash);
  if (!e.record_hash.empty() || !e.terminal.empty()) put(out, e.record_hash);
  if (!e.terminal.empty()) put(out, e.terminal);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string canonical(const AuditEntry& e) {
  std::string out;
  out.reserve(240 + e.old_value.size() + e.new_value.size() + e.reason.size());
  canonical_into(out, e);
  return out;
}

void link(AuditEntry& entry, const std::string& prev_hash) {
  entry.prev_hash = prev_hash;
  entry.hash = crypto::sha256_hex(canonical(entry));
}

std::string checkpoint_message(const Checkpoint& c) {
  std::string out = "checkpoint/1|";
  put(out, c.seq);
  put(out, c.root_hash);
  put(out, c.at);
  put(out, c.public_key);
  return out;
}

Checkpoint sign_checkpoint(std::int64_t seq, std::string root_hash, Millis at,
                           const crypto::SigningKey& key) {
  Checkpoint c{seq, std::move(root_hash), at, key.public_key_hex(), {}};
  c.signature = key.sign_hex(checkpoint_message(c));
  return c;
}

std::string checkpoint_line(const Checkpoint& c) {
  return std::to_string(c.seq) + " " + c.root_hash + " " + std::to_string(c.at) + " " +
         c.public_key + " " + c.signature;
}

std::optional<Checkpoint> parse_checkpoint_line(std::string_view line) {
  std::vector<std::string_view> parts;
  while (!line.empty()) {
    const auto space = line.find(' ');
    parts.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  if (parts.size() != 5) return std::nullopt;
  const auto seq = parse_int(parts[0]);
  const auto at = parse_int(parts[2]);
  if (!seq || !at || *seq < 1 || parts[1].size() != 64 || parts[3].size() != 64 ||
      parts[4].size() != 128) {
    return std::nullopt;
  }
  return Checkpoint{*seq, std::string(parts[1]), *at, std::string(parts[3]), std::string(parts[4])};
}

std::string_view to_string(ChainProblemKind kind) {
  switch (kind) {
    case ChainProblemKind::kAltered:
      return "altered";
    case ChainProblemKind::kMissing:
      return "missing";
    case ChainProblemKind::kReordered:
      return "reordered";
    case ChainProblemKind::kBrokenLink:
      return "broken_link";
    case ChainProblemKind::kCheckpointMismatch:
      return "checkpoint_mismatch";
    case ChainProblemKind::kCheckpointSignature:
      return "checkpoint_signature";
    case ChainProblemKind::kTruncated:
      return "truncated";
    case ChainProblemKind::kTimeReversed:
      return "time_reversed";
  }
  return "?";
}

ChainVerifier::ChainVerifier(std::vector<Checkpoint> checkpoints, std::string trusted_public_key)
    : checkpoints_(std::move(checkpoints)), trusted_key_(std::move(trusted_public_key)) {
  std::sort(checkpoints_.begin(), checkpoints_.end(),
            [](const Checkpoint& a, const Checkpoint& b) { return a.seq < b.seq; });
  for (const Checkpoint& c : checkpoints_) {
    const std::string& key = trusted_key_.empty() ? c.public_key : trusted_key_;
    if (key != c.public_key || !crypto::verify_hex(key, checkpoint_message(c), c.signature)) {
      fail(ChainProblemKind::kCheckpointSignature, c.seq,
           "checkpoint at entry " + std::to_string(c.seq) + " is not signed by the trusted key");
      break;
    }
  }
}

bool ChainVerifier::fail(ChainProblemKind kind, std::int64_t seq, std::string message) {
  if (!problem_) problem_ = ChainProblem{kind, seq, std::move(message)};
  return false;
}

bool ChainVerifier::feed(const AuditEntry& e) {
  if (problem_) return false;
  const std::int64_t expected = last_seq_ + 1;
  if (e.seq > expected) {
    return fail(ChainProblemKind::kMissing, expected,
                "entries " + std::to_string(expected) + ".." + std::to_string(e.seq - 1) +
                    " are missing (found " + std::to_string(e.seq) + " after " +
                    std::to_string(last_seq_) + ")");
  }
  if (e.seq < expected) {
    return fail(
        ChainProblemKind::kReordered, e.seq,
        "entry " + std::to_string(e.seq) + " appears after entry " + std::to_string(last_seq_));
  }
  if (e.prev_hash != last_hash_) {
    return fail(ChainProblemKind::kBrokenLink, e.seq,
                "entry " + std::to_string(e.seq) +
                    " does not link to the entry before it (an entry was replaced or moved)");
  }
  canonical_into(buffer_, e);  // reused: no allocation per entry once warm
  if (!crypto::sha256_hex_equals(buffer_, e.hash)) {
    return fail(ChainProblemKind::kAltered, e.seq,
                "entry " + std::to_string(e.seq) + " was altered (its hash does not match)");
  }
  // The store dates every entry at or after the one before it (server time, never behind the
  // chain head): an earlier time means a clock or a writer that did not go through it.
  if (e.at < last_at_) {
    return fail(ChainProblemKind::kTimeReversed, e.seq,
                "entry " + std::to_string(e.seq) + " is dated " + std::to_string(last_at_ - e.at) +
                    " ms before entry " + std::to_string(last_seq_));
  }
  last_seq_ = e.seq;
  last_at_ = e.at;
  last_hash_ = e.hash;
  ++checked_;
  if (!e.record_hash.empty()) {
    auto& proof = proofs_[{e.object_type, e.object_id}];
    proof.seq = e.seq;
    proof.record_hash = e.record_hash;
  }
  while (next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].seq == e.seq) {
    if (checkpoints_[next_checkpoint_].root_hash != e.hash) {
      return fail(ChainProblemKind::kCheckpointMismatch, e.seq,
                  "the chain at entry " + std::to_string(e.seq) +
                      " does not match the signed checkpoint (entries up to it were rewritten)");
    }
    ++matched_;
    ++next_checkpoint_;
  }
  return true;
}

bool ChainVerifier::finish() {
  if (problem_) return false;
  if (next_checkpoint_ < checkpoints_.size()) {
    const Checkpoint& c = checkpoints_[next_checkpoint_];
    return fail(ChainProblemKind::kTruncated, c.seq,
                "a signed checkpoint covers entry " + std::to_string(c.seq) +
                    " but the trail ends at " + std::to_string(last_seq_));
  }
  return true;
}

std::string record_hash(const Document& doc) {
  std::string out = "record/1|";
  out.reserve(96 + doc.body.size());
  put(out, doc.type);
  put(out, doc.id);
  put(out, doc.version);
  put(out, doc.parent);
  put(out, doc.state);
  put(out, doc.body);
  put(out, std::int64_t{doc.voided ? 1 : 0});
  put(out, doc.void_reason);
  return crypto::sha256_hex(out);
}

std::string readings_digest(const std::vector<Reading>& readings) {
  std::string out = "readings/1|";
  out.reserve(16 + readings.size() * 48);
  for (const Reading& r : readings) {
    put(out, r.at);
    char digits[32];  // shortest text that reads back as the same double
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.value);
    (void)ec;
    put(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
    put(out, r.flags);
    put(out, r.stored_at);
  }
  return crypto::sha256_hex(out);
}

bool is_runtime_record(std::string_view type) { return type == "sensor_state"; }

}  // namespace mes
