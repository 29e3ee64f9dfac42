// The hash-chained audit trail: links, and the verifier naming the first altered, missing or
// reordered entry, a rewritten prefix caught by a signed checkpoint, truncation, a forged
// checkpoint.
#include <gtest/gtest.h>

#include "mes/domain/audit.hpp"

namespace {

using namespace mes;

std::vector<AuditEntry> chain(int n) {
  std::vector<AuditEntry> out;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    AuditEntry e;
    e.seq = i;
    e.at = 1'700'000'000'000 + i;
    e.actor = i % 2 ? "op1" : "qa1";
    e.action = "modify";
    e.object_type = "batch";
    e.object_id = "B-" + std::to_string(i % 5);
    e.field = "state";
    e.old_value = "Running";
    e.new_value = "Held|with:separators";
    e.reason = "entry " + std::to_string(i);
    link(e, prev);
    prev = e.hash;
    out.push_back(e);
  }
  return out;
}

std::optional<ChainProblem> verify(const std::vector<AuditEntry>& entries,
                                   std::vector<Checkpoint> checkpoints = {}, std::string key = {}) {
  ChainVerifier v(std::move(checkpoints), std::move(key));
  for (const auto& e : entries) {
    if (!v.feed(e)) break;
  }
  v.finish();
  return v.problem();
}

TEST(AuditChain, AnIntactChainVerifies) {
  const auto entries = chain(100);
  ChainVerifier v;
  for (const auto& e : entries) ASSERT_TRUE(v.feed(e));
  EXPECT_TRUE(v.finish());
  EXPECT_EQ(v.entries_checked(), 100);
  EXPECT_EQ(v.root(), entries.back().hash);
  EXPECT_EQ(entries.front().prev_hash, kGenesisHash);
}

TEST(AuditChain, CanonicalBytesAreUnambiguous) {
  AuditEntry a, b;
  a.old_value = "x|";
  a.new_value = "y";
  b.old_value = "x";
  b.new_value = "|y";
  EXPECT_NE(canonical(a), canonical(b));
}

TEST(AuditChain, EachKindOfTamperingIsNamedAtItsEntry) {
  auto altered = chain(50);
  altered[20].new_value = "Running";
  auto p = verify(altered);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kAltered);
  EXPECT_EQ(p->seq, 21);

  auto removed = chain(50);
  removed.erase(removed.begin() + 30);
  p = verify(removed);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kMissing);
  EXPECT_EQ(p->seq, 31);

  auto swapped = chain(50);
  std::swap(swapped[10], swapped[11]);
  p = verify(swapped);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kMissing) << "12 seen where 11 was due";
  EXPECT_EQ(p->seq, 11);

  auto swapped_contents = chain(50);  // swap the rows but keep the sequence numbers in place
  std::swap(swapped_contents[10], swapped_contents[11]);
  std::swap(swapped_contents[10].seq, swapped_contents[11].seq);
  p = verify(swapped_contents);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->seq, 11);

  auto duplicated = chain(50);
  duplicated.insert(duplicated.begin() + 5, duplicated[4]);
  p = verify(duplicated);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kReordered);
  EXPECT_EQ(p->seq, 5);

  // An entry replaced by a well-formed one (rehashed) breaks the next link.
  auto rehashed = chain(50);
  rehashed[7].reason = "rewritten";
  link(rehashed[7], rehashed[6].hash);
  p = verify(rehashed);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kBrokenLink);
  EXPECT_EQ(p->seq, 9);
}

// ALCOA "Contemporaneous": the store dates every entry at or after the one before it, so a
// chain rebuilt with a back-dated entry (hashes all consistent) is still named.
TEST(AuditChain, AnEntryDatedBeforeItsPredecessorIsNamed) {
  auto entries = chain(30);
  entries[14].at = entries[13].at - 60'000;  // a minute before entry 14
  std::string prev = kGenesisHash;
  for (auto& e : entries) {  // a writer that rebuilt every hash: the links are intact
    link(e, prev);
    prev = e.hash;
  }
  auto p = verify(entries);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kTimeReversed);
  EXPECT_EQ(p->seq, 15);
  EXPECT_EQ(to_string(p->kind), "time_reversed");
  EXPECT_NE(p->message.find("before entry 14"), std::string::npos) << p->message;

  auto same_ms = chain(10);  // equal times (two commands within one millisecond) are fine
  same_ms[5].at = same_ms[4].at;
  prev = kGenesisHash;
  for (auto& e : same_ms) {
    link(e, prev);
    prev = e.hash;
  }
  EXPECT_FALSE(verify(same_ms));
}

TEST(AuditChain, SignedCheckpointsCatchARewrittenPrefixAndTruncation) {
  const auto key = crypto::SigningKey::from_seed(std::string(32, 's'));
  ASSERT_TRUE(key);
  auto entries = chain(60);
  const Checkpoint cp = sign_checkpoint(40, entries[39].hash, 1, *key);
  EXPECT_FALSE(verify(entries, {cp}, key->public_key_hex()));

  // Rewrite entry 10 and re-link everything after it: a consistent chain, but not the signed one.
  auto rewritten = entries;
  rewritten[9].new_value = "Complete";
  for (std::size_t i = 9; i < rewritten.size(); ++i) {
    link(rewritten[i], i == 0 ? kGenesisHash : rewritten[i - 1].hash);
  }
  auto p = verify(rewritten, {cp}, key->public_key_hex());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kCheckpointMismatch);
  EXPECT_EQ(p->seq, 40);

  // The tail cut off below the checkpoint.
  auto truncated = entries;
  truncated.resize(35);
  p = verify(truncated, {cp}, key->public_key_hex());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kTruncated);

  // A checkpoint forged with another key, or edited.
  const auto other = crypto::SigningKey::from_seed(std::string(32, 'o'));
  ASSERT_TRUE(other);
  const Checkpoint forged = sign_checkpoint(40, rewritten[39].hash, 1, *other);
  p = verify(rewritten, {forged}, key->public_key_hex());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kCheckpointSignature);
  Checkpoint edited = cp;
  edited.root_hash = rewritten[39].hash;
  p = verify(rewritten, {edited}, key->public_key_hex());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ChainProblemKind::kCheckpointSignature);
}

TEST(AuditChain, CheckpointLinesRoundTrip) {
  const auto key = crypto::SigningKey::from_seed(std::string(32, 'l'));
  ASSERT_TRUE(key);
  const Checkpoint cp = sign_checkpoint(7, std::string(64, 'a'), 1234, *key);
  EXPECT_EQ(parse_checkpoint_line(checkpoint_line(cp)), cp);
  EXPECT_FALSE(parse_checkpoint_line("7 abc 1234"));
  EXPECT_FALSE(parse_checkpoint_line(""));
}

TEST(Crypto, Sha256KnownAnswerAndHex) {
  EXPECT_EQ(crypto::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(crypto::to_hex("\x01\xff"), "01ff");
  EXPECT_EQ(crypto::from_hex("01FF"), std::string("\x01\xff"));
  EXPECT_FALSE(crypto::from_hex("0g"));
  EXPECT_FALSE(crypto::SigningKey::from_seed("short"));
}

}  // namespace
