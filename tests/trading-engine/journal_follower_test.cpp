// The journal follower (a standby reading the primary's journal as it is written): records in
// order across segments, a record not yet completely written waited for (never cut), a tail the
// writer abandoned given up only when the next segment starts where it ends, corruption and an
// unreadable format version refused with their place, and a writer and a follower running at
// once (one thread each) ending with the same digest.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include "engine_test_support.hpp"
#include "test_support.hpp"
#include "trading/journal/crc32c.hpp"
#include "trading/journal/follower.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/writer.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::journal;
using namespace trading::testing;
using Engine = MatchingEngine<OrderBook>;

OrderFlow make_flow(std::uint64_t seed = 11) {
  return OrderFlow(seed, {kAcme, 100'000, 5, 10, {kAlice, kBob, kCarol}, 1, 2000});
}

// Everything the follower hands over now, applied to `standby`; the sequences seen.
std::vector<std::uint64_t> drain(JournalFollower& follower, Engine& standby) {
  std::vector<std::uint64_t> seen;
  EventBuffer ev;
  auto r = follower.poll([&](const DecodedRecord& d) {
    seen.push_back(d.sequence);
    ev.clear();
    standby.apply(d.command, ev);
  });
  EXPECT_TRUE(r) << r.error().message;
  return seen;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(JournalFollower, FollowsAWriterAcrossCommitsAndSegments) {
  test_support::TempDir dir;
  Engine primary(test_config()), standby(test_config());
  OrderFlow flow = make_flow();
  JournalFollower follower(dir.path(), 1);
  EXPECT_TRUE(drain(follower, standby).empty()) << "no segment yet: nothing, no error";
  auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
  ASSERT_TRUE(writer);
  EventBuffer ev;
  const auto journal = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const Command c = flow.next();
      (*writer)->append(c);
      primary.apply(c, ev);
    }
    ASSERT_TRUE((*writer)->commit());
  };
  EXPECT_TRUE(drain(follower, standby).empty()) << "a segment with its header only";
  journal(100);
  auto seen = drain(follower, standby);
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.front(), 1u);
  EXPECT_EQ(seen.back(), 100u);
  journal(50);
  ASSERT_TRUE((*writer)->rotate());  // a snapshot's new segment
  journal(50);
  seen = drain(follower, standby);
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.back(), 200u);
  EXPECT_EQ(follower.next_sequence(), 201u);
  EXPECT_EQ(standby.digest(), primary.digest()) << "the standby computes the primary's book";
  EXPECT_GT(follower.last_timestamp(), 0);
  EXPECT_TRUE(drain(follower, standby).empty());
}

TEST(JournalFollower, StartsWhereTheStandbyRecoveredTo) {
  test_support::TempDir dir;
  Engine primary(test_config());
  OrderFlow flow = make_flow();
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    EventBuffer ev;
    for (int i = 0; i < 300; ++i) {
      const Command c = flow.next();
      (*writer)->append(c);
      primary.apply(c, ev);
      if (i == 199) {
        ASSERT_TRUE((*writer)->rotate());
      }
    }
    ASSERT_TRUE((*writer)->commit());
  }
  // The standby recovered the first 250 (here: applied by hand), then follows from 251.
  Engine standby(test_config());
  RecoveryOptions options;
  options.cut_torn_tail = false;
  ASSERT_TRUE(recover(standby, dir.path(), options));
  Engine partial(test_config());
  JournalFollower from_start(dir.path(), 1);
  EventBuffer ev;
  ASSERT_TRUE(from_start.poll(
      [&](const DecodedRecord& d) {
        ev.clear();
        partial.apply(d.command, ev);
      },
      250));
  EXPECT_EQ(from_start.next_sequence(), 251u);
  JournalFollower follower(dir.path(), 251);
  const auto seen = drain(follower, partial);
  ASSERT_EQ(seen.size(), 50u);
  EXPECT_EQ(seen.front(), 251u);
  EXPECT_EQ(partial.digest(), primary.digest());
  EXPECT_EQ(standby.digest(), primary.digest());
}

// A record the writer has not finished is waited for, not cut; once complete it is handed over.
TEST(JournalFollower, ARecordNotYetWrittenIsWaitedForAndNeverCut) {
  test_support::TempDir dir;
  Engine primary(test_config()), standby(test_config());
  OrderFlow flow = make_flow();
  std::string segment;
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    EventBuffer ev;
    for (int i = 0; i < 10; ++i) {
      const Command c = flow.next();
      (*writer)->append(c);
      primary.apply(c, ev);
    }
    ASSERT_TRUE((*writer)->commit());
    segment = (*writer)->segment_path();
  }
  const std::string whole = read_bytes(segment);
  JournalFollower follower(dir.path(), 1);
  // The file as it was in the middle of writing the last record: 5 bytes short.
  write_bytes(segment, whole.substr(0, whole.size() - 5));
  EXPECT_EQ(drain(follower, standby).size(), 9u);
  EXPECT_EQ(std::filesystem::file_size(segment), whole.size() - 5) << "the follower cuts nothing";
  // Its bytes in place but the checksum's not yet right (the write still going on).
  std::string garbled = whole;
  garbled[garbled.size() - 1] = static_cast<char>(garbled.back() ^ 0x5A);
  write_bytes(segment, garbled);
  EXPECT_TRUE(drain(follower, standby).empty());
  write_bytes(segment, whole);
  const auto seen = drain(follower, standby);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.front(), 10u);
  EXPECT_EQ(standby.digest(), primary.digest());
}

// After a crash of the primary, recovery cut the torn tail and a new writer began a segment at
// the next sequence: the follower gives the old tail up only then.
TEST(JournalFollower, AnAbandonedTailIsGivenUpWhenTheNextSegmentStartsAfterIt) {
  test_support::TempDir dir;
  Engine primary(test_config()), standby(test_config());
  OrderFlow flow = make_flow();
  EventBuffer ev;
  std::string first_segment;
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    for (int i = 0; i < 20; ++i) {
      const Command c = flow.next();
      (*writer)->append(c);
      if (i < 19) primary.apply(c, ev);  // the 20th is lost in the crash
    }
    ASSERT_TRUE((*writer)->commit());
    first_segment = (*writer)->segment_path();
  }
  const std::string whole = read_bytes(first_segment);
  write_bytes(first_segment, whole.substr(0, whole.size() - 7));  // torn mid-record
  JournalFollower follower(dir.path(), 1);
  EXPECT_EQ(drain(follower, standby).size(), 19u);
  EXPECT_TRUE(drain(follower, standby).empty()) << "waits: the writer may finish it";
  // The primary restarts: the next writer begins at 20.
  auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 20);
  ASSERT_TRUE(writer);
  for (int i = 0; i < 5; ++i) {
    const Command c = flow.next();
    (*writer)->append(c);
    primary.apply(c, ev);
  }
  ASSERT_TRUE((*writer)->commit());
  const auto seen = drain(follower, standby);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen.front(), 20u);
  EXPECT_EQ(standby.digest(), primary.digest());
}

TEST(JournalFollower, CorruptionAndAnUnreadableVersionAreRefusedWithTheirPlace) {
  test_support::TempDir dir;
  Engine primary(test_config()), standby(test_config());
  OrderFlow flow = make_flow();
  std::string segment;
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    for (int i = 0; i < 10; ++i) (*writer)->append(flow.next());
    ASSERT_TRUE((*writer)->commit());
    segment = (*writer)->segment_path();
  }
  const std::string whole = read_bytes(segment);
  std::string damaged = whole;
  damaged[kFileHeaderSize + kRecordHeaderSize + 3] ^= 0x01;  // inside the first record
  write_bytes(segment, damaged);
  {
    JournalFollower follower(dir.path(), 1);
    auto r = follower.poll([](const DecodedRecord&) {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("checksum mismatch"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("byte offset " + std::to_string(kFileHeaderSize)),
              std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(check_compatibility(dir.path()).problem, "") << "a damaged record is no format issue";
  // A segment of a newer format version than this build reads (its header checksum right).
  std::string newer = whole;
  auto* bytes = reinterpret_cast<unsigned char*>(newer.data());
  store_u32(bytes + 8, 99);
  store_u32(bytes + kFileHeaderSize - 4, crc32c(0, bytes, kFileHeaderSize - 4));
  write_bytes(segment, newer);
  {
    JournalFollower follower(dir.path(), 1);
    auto r = follower.poll([](const DecodedRecord&) {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("journal format version 99 is not supported (this build "
                                     "reads versions 1 to 4)"),
              std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("cannot follow"), std::string::npos) << r.error().message;
  }
  const auto compat = check_compatibility(dir.path());
  ASSERT_EQ(compat.segments.size(), 1u);
  EXPECT_EQ(compat.segments[0].second, 99u);
  EXPECT_NE(compat.problem.find("format version 99 is not supported"), std::string::npos)
      << compat.problem;
  // The same through the binary, as a deployment's pre-flight runs it.
  auto [code, out] =
      test_support::run_command({TRADING_ENGINE_BINARY, "journal", "compat", dir.path()});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find(R"("compatible":false)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("format_version":99)"), std::string::npos) << out;
  write_bytes(segment, whole);
  std::tie(code, out) =
      test_support::run_command({TRADING_ENGINE_BINARY, "journal", "compat", dir.path()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find(R"("compatible":true)"), std::string::npos) << out;
  EXPECT_EQ(test_support::run_command({TRADING_ENGINE_BINARY, "journal", "compat"}).first, 2);
}

// A writer thread committing while a follower thread polls (under TSan too): every record once,
// in order, and the same book.
TEST(JournalFollower, AConcurrentWriterAndFollowerEndWithTheSameDigest) {
  test_support::TempDir dir;
  constexpr int kCommands = 20'000;
  Engine primary(test_config()), standby(test_config());
  std::atomic<bool> done{false};
  std::thread writer_thread([&] {
    OrderFlow flow = make_flow(5);
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    EventBuffer ev;
    for (int i = 0; i < kCommands; ++i) {
      const Command c = flow.next();
      (*writer)->append(c);
      ev.clear();
      primary.apply(c, ev);
      if (i % 37 == 0) {
        ASSERT_TRUE((*writer)->commit());
      }
      if (i == kCommands / 2) {
        ASSERT_TRUE((*writer)->rotate());
      }
    }
    ASSERT_TRUE((*writer)->commit());
    done = true;
  });
  JournalFollower follower(dir.path(), 1);
  std::uint64_t expected = 1;
  EventBuffer ev;
  bool in_order = true;
  for (int spins = 0; spins < 2'000'000 && follower.next_sequence() <= kCommands; ++spins) {
    auto r = follower.poll([&](const DecodedRecord& d) {
      in_order = in_order && d.sequence == expected;
      ++expected;
      ev.clear();
      standby.apply(d.command, ev);
    });
    ASSERT_TRUE(r) << r.error().message;
    if (*r == 0) std::this_thread::yield();
  }
  writer_thread.join();
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(in_order);
  EXPECT_EQ(follower.next_sequence(), static_cast<std::uint64_t>(kCommands) + 1);
  EXPECT_EQ(standby.digest(), primary.digest());
}

}  // namespace
