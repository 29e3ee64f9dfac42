// SOX control "trade record integrity": the journal's hash chain and signed checkpoints.
// `journal verify` names the first record changed, removed, inserted or reordered — also when
// whoever changed it recomputed the CRC — and, through the signed checkpoints, a rewrite that
// recomputed every link; it answers consistently while a writer appends; recovery, a restart
// and a standby continue the chain where it ended.
#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "engine_test_support.hpp"
#include "test_support.hpp"
#include "trading/journal/checkpoint.hpp"
#include "trading/journal/crc32c.hpp"
#include "trading/journal/follower.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/verify.hpp"
#include "trading/journal/writer.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::journal;
using namespace trading::testing;
using Engine = MatchingEngine<OrderBook>;

const std::string kSeed(64, '7');  // a fixed Ed25519 seed (hex)
const std::string kOtherSeed(64, '3');

OrderFlow make_flow() {
  return OrderFlow(7, {kAcme, 100'000, 5, 10, {kAlice, kBob, kCarol}, 1, 2000});
}

// Writes `count` flow commands (sequences from 1), with a signed checkpoint every
// `checkpoint_every` records (0: none); returns the segment's path.
std::string write_journal(const std::string& dir, int count, int checkpoint_every = 0,
                          const std::string& seed = kSeed) {
  OrderFlow flow = make_flow();
  auto writer = JournalWriter::open(dir, SyncPolicy::kWrite, 1);
  EXPECT_TRUE(writer);
  auto signer = CheckpointSigner::open(dir, seed, false);
  EXPECT_TRUE(signer);
  for (int i = 1; i <= count; ++i) {
    (*writer)->append(flow.next(), "1|order-" + std::to_string(i));
    if (checkpoint_every > 0 && i % checkpoint_every == 0) {
      EXPECT_TRUE((*writer)->commit());
      EXPECT_TRUE((*signer)->append(static_cast<std::uint64_t>(i), (*writer)->chain_head(), 1, i,
                                    "interval"));
    }
  }
  EXPECT_TRUE((*writer)->commit());
  return (*writer)->segment_path();
}

// A segment as records: what a rewriter with the file, but not the key, works with.
struct RawRecord {
  std::vector<unsigned char> payload;
  ChainLink link{};
};
struct RawSegment {
  std::vector<unsigned char> header;
  std::vector<RawRecord> records;
};

RawSegment parse(const std::string& path) {
  const std::string bytes = test_support::read_file(path);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  RawSegment s;
  s.header.assign(p, p + kFileHeaderSize);
  std::size_t at = kFileHeaderSize;
  while (at < bytes.size()) {
    const std::uint32_t size = load_u32(p + at);
    RawRecord r;
    r.payload.assign(p + at + kRecordHeaderSize, p + at + kRecordHeaderSize + size);
    std::memcpy(r.link.data(), p + at + kRecordHeaderSize + size, kChainLinkSize);
    s.records.push_back(std::move(r));
    at += kRecordHeaderSize + size + kChainLinkSize;
  }
  return s;
}

// Writes the records back with correct CRCs (the rewriter recomputes them); with
// `relink_from` > 0 also every link from that record (1-based) on.
void write_back(const std::string& path, RawSegment s, std::size_t relink_from = 0) {
  if (relink_from > 0) {
    ChainLink chain = relink_from >= 2 ? s.records[relink_from - 2].link : ChainLink{};
    for (std::size_t i = relink_from - 1; i < s.records.size(); ++i) {
      chain = chain_link(chain, s.records[i].payload.data(), s.records[i].payload.size());
      s.records[i].link = chain;
    }
  }
  std::string out(s.header.begin(), s.header.end());
  for (const auto& r : s.records) {
    unsigned char head[kRecordHeaderSize];
    store_u32(head, static_cast<std::uint32_t>(r.payload.size()));
    std::vector<unsigned char> body(r.payload);
    body.insert(body.end(), r.link.begin(), r.link.end());
    store_u32(head + 4, crc32c(crc32c(0, head, 4), body.data(), body.size()));
    out.append(reinterpret_cast<const char*>(head), sizeof head);
    out.append(reinterpret_cast<const char*>(body.data()), body.size());
  }
  test_support::write_file(path, out);
}

void renumber(RawSegment& s) {
  for (std::size_t i = 0; i < s.records.size(); ++i) store_u64(s.records[i].payload.data(), i + 1);
}

std::string public_key(const std::string& seed) {
  if (sodium_init() < 0) return {};
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  std::vector<unsigned char> bin(32);
  sodium_hex2bin(bin.data(), bin.size(), seed.data(), seed.size(), nullptr, nullptr, nullptr);
  crypto_sign_seed_keypair(pk, sk, bin.data());
  std::string hex(64, '0');
  sodium_bin2hex(hex.data(), hex.size() + 1, pk, sizeof pk);
  return hex;
}

VerifyReport verify_pinned(const std::string& dir, const std::string& seed = kSeed) {
  VerifyOptions options;
  options.trusted_public_key = public_key(seed);
  return verify_journal(dir, options);
}

TEST(JournalChain, AnIntactJournalVerifiesWithItsHeadAndCheckpoints) {
  test_support::TempDir dir;
  write_journal(dir.path(), 500, 100);
  const auto r = verify_pinned(dir.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 500u);
  EXPECT_EQ(r.last_sequence, 500u);
  EXPECT_EQ(r.checkpoints, 5u);
  ASSERT_TRUE(r.last_checkpoint);
  EXPECT_EQ(r.last_checkpoint->sequence, 500u);
  EXPECT_EQ(r.chain_head, r.last_checkpoint->chain);
  EXPECT_EQ(r.records_after_last_checkpoint, 0u);
  EXPECT_NE(to_json(r).find("\"ok\":true"), std::string::npos);
}

TEST(JournalChain, AChangedRecordWithItsCrcRecomputedIsNamed) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 300, 100);
  RawSegment s = parse(segment);
  s.records[136].payload[30] ^= 0x01;  // record 137: one bit of its body
  write_back(segment, s);
  const auto r = verify_pinned(dir.path());
  ASSERT_FALSE(r.ok);
  ASSERT_TRUE(r.first_bad_sequence);
  EXPECT_EQ(*r.first_bad_sequence, 137u) << r.problem;
  EXPECT_NE(r.problem.find("record 137"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("does not follow the hash chain"), std::string::npos) << r.problem;
}

TEST(JournalChain, ARemovedRecordIsNamedWithOrWithoutRenumbering) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 300);
  RawSegment s = parse(segment);
  s.records.erase(s.records.begin() + 59);  // record 60
  write_back(segment, s);
  auto r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence.value_or(0), 60u) << r.problem;
  EXPECT_NE(r.problem.find("sequence 61 where 60 was expected"), std::string::npos) << r.problem;
  renumber(s);  // the rewriter also closes the gap
  write_back(segment, s);
  r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence.value_or(0), 60u) << r.problem;
}

TEST(JournalChain, AnInsertedRecordIsNamed) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 200);
  RawSegment s = parse(segment);
  RawRecord forged = s.records[40];
  forged.payload[30] ^= 0x02;
  forged.link = s.records[39].link;                  // whatever it claims
  s.records.insert(s.records.begin() + 41, forged);  // becomes record 42
  renumber(s);
  write_back(segment, s);
  const auto r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence.value_or(0), 42u) << r.problem;
}

TEST(JournalChain, ReorderedRecordsAreNamed) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 200);
  RawSegment s = parse(segment);
  std::swap(s.records[99], s.records[100]);  // records 100 and 101
  write_back(segment, s);
  auto r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence.value_or(0), 100u) << r.problem;
  renumber(s);
  write_back(segment, s);
  r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence.value_or(0), 100u) << r.problem;
}

TEST(JournalChain, ARewriteThatRecomputedTheChainIsCaughtByTheSignedCheckpoint) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 400, 100);
  RawSegment s = parse(segment);
  s.records[249].payload[30] ^= 0x01;  // record 250, then every link from it recomputed
  write_back(segment, s, 250);
  const auto r = verify_pinned(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("differs from the signed checkpoint"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("from 201 to 300"), std::string::npos)
      << "named as the span between the checkpoints: " << r.problem;
  EXPECT_EQ(r.first_bad_sequence.value_or(0), 201u);
  // Without checkpoints, such a rewrite is invisible: why the key matters.
  std::filesystem::remove(dir.path() + "/" + kCheckpointFileName);
  EXPECT_TRUE(verify_journal(dir.path()).ok);
}

TEST(JournalChain, RecordsCutOffTheEndAreNamedByTheCheckpointThatCoveredThem) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 300, 100);
  RawSegment s = parse(segment);
  s.records.resize(250);
  write_back(segment, s);
  const auto r = verify_pinned(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("records 251 to 300 were removed"), std::string::npos) << r.problem;
}

TEST(JournalChain, CheckpointsSignedWithAnotherKeyFailWhenTheKeyIsPinned) {
  test_support::TempDir dir;
  const std::string segment = write_journal(dir.path(), 100, 50, kOtherSeed);
  auto r = verify_pinned(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("signed with another key"), std::string::npos) << r.problem;
  r = verify_journal(dir.path());  // unpinned: passes, and says why that proves less
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_NE(to_json(r).find("public key not pinned"), std::string::npos);
  // A checkpoint line whose signature was edited.
  std::string text = test_support::read_file(dir.path() + "/" + kCheckpointFileName);
  const auto at = text.find("\"sequence\":100");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 14, "\"sequence\":99 ");
  test_support::write_file(dir.path() + "/" + kCheckpointFileName, text);
  r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("does not verify"), std::string::npos) << r.problem;
}

TEST(JournalChain, ACheckpointWhoseNumbersAreNotNonNegativeIntegersIsRejectedByName) {
  test_support::TempDir dir;
  write_journal(dir.path(), 100, 50);
  const std::string path = dir.path() + "/" + kCheckpointFileName;
  const std::string original = test_support::read_file(path);
  ASSERT_TRUE(read_checkpoints(dir.path()));
  // A float beyond any integer (found by fuzz_sox_records: the cast was undefined behaviour),
  // a negative number, a fraction: each is named, none converted.
  for (const auto& [field, bad] : {std::pair<std::string, std::string>{"epoch", "2e30"},
                                   {"epoch", "1999999999999999999999999999999"},
                                   {"sequence", "-50"},
                                   {"time_ns", "1.5"},
                                   {"time_ns", "18446744073709551615"}}) {
    std::string text = original;
    const auto at = text.find("\"" + field + "\":");
    ASSERT_NE(at, std::string::npos) << field;
    const auto value_at = at + field.size() + 3;
    text.replace(value_at, text.find_first_of(",}", value_at) - value_at, bad);
    test_support::write_file(path, text);
    const auto read = read_checkpoints(dir.path());
    ASSERT_FALSE(read) << field << "=" << bad;
    EXPECT_NE(read.error().message.find("line 1: sequence, epoch and time_ns must be"),
              std::string::npos)
        << read.error().message;
    const auto r = verify_journal(dir.path());
    EXPECT_FALSE(r.ok) << field << "=" << bad;
  }
}

TEST(JournalChain, VerifyingWhileAWriterAppendsIsConsistentUpToTheLastCompleteRecord) {
  test_support::TempDir dir;
  std::atomic<bool> done{false};
  std::thread writer_thread([&] {
    OrderFlow flow = make_flow();
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    auto signer = CheckpointSigner::open(dir.path(), kSeed, false);
    for (int i = 1; i <= 20'000; ++i) {
      (*writer)->append(flow.next());
      if (i % 7 == 0) (void)(*writer)->commit();
      if (i % 1000 == 0) {
        (void)(*writer)->commit();
        (void)(*signer)->append(static_cast<std::uint64_t>(i), (*writer)->chain_head(), 1, i,
                                "interval");
      }
    }
    (void)(*writer)->commit();
    done = true;
  });
  std::uint64_t last = 0;
  int runs = 0;
  while (!done || runs == 0) {
    const auto r = verify_pinned(dir.path());
    if (r.segments > 0) {
      ASSERT_TRUE(r.ok) << r.problem;
      ASSERT_GE(r.last_sequence, last);
      last = r.last_sequence;
      ++runs;
    }
  }
  writer_thread.join();
  const auto r = verify_pinned(dir.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.last_sequence, 20'000u);
  EXPECT_GT(runs, 0);
  // Half a record at the end (being written): left out, not an error.
  const std::string segment = dir.path() + "/" + segment_file_name(1);
  std::string bytes = test_support::read_file(segment);
  bytes.append(std::string("\x30\x00\x00\x00\x01\x02", 6));
  test_support::write_file(segment, bytes);
  const auto torn = verify_pinned(dir.path());
  EXPECT_TRUE(torn.ok) << torn.problem;
  EXPECT_TRUE(torn.unfinished_tail);
  EXPECT_EQ(torn.last_sequence, 20'000u);
}

TEST(JournalChain, RecoveryARestartAndAStandbyContinueTheChain) {
  test_support::TempDir dir;
  OrderFlow flow = make_flow();
  Engine live(test_config());
  EventBuffer ev;
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    for (int i = 0; i < 300; ++i) {
      const Command c = flow.next();
      (*writer)->append(c);
      live.apply(c, ev);
    }
    ASSERT_TRUE((*writer)->commit());
  }
  // A restart: recovery hands the chain head to the next writer (a new segment).
  Engine restarted(test_config());
  auto report = recover(restarted, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  JournalFollower follower(dir.path(), report->next_sequence, report->chain_head);
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, report->next_sequence,
                                      report->chain_head);
    for (int i = 0; i < 200; ++i) (*writer)->append(flow.next());
    ASSERT_TRUE((*writer)->commit());
    ASSERT_TRUE(follower.poll([](const DecodedRecord&) {}));
    EXPECT_EQ(follower.chain_head(), (*writer)->chain_head())
        << "a standby taking over continues the same chain";
  }
  // A takeover by that standby: a third segment from its chain head.
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, follower.next_sequence(),
                                      follower.chain_head());
    for (int i = 0; i < 100; ++i) (*writer)->append(flow.next());
    ASSERT_TRUE((*writer)->commit());
  }
  auto r = verify_journal(dir.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.segments, 3u);
  EXPECT_EQ(r.records, 600u);
  // A writer that ignored the chain (started from zeros) is named at its segment.
  Engine again(test_config());
  report = recover(again, dir.path());
  ASSERT_TRUE(report);
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, report->next_sequence);
    (*writer)->append(flow.next());
    ASSERT_TRUE((*writer)->commit());
  }
  r = verify_journal(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("anchor does not match the link of record 600"), std::string::npos)
      << r.problem;
}

}  // namespace
