// Leadership of a journal directory (one primary at a time, fenced by an epoch), the markers a
// primary journals (format 3), and recovery after a fenced primary's last write.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"
#include "test_support.hpp"
#include "trading/journal/follower.hpp"
#include "trading/journal/leadership.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/writer.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::journal;
using namespace trading::testing;
using Engine = MatchingEngine<OrderBook>;

OrderFlow make_flow() {
  return OrderFlow(5, {kAcme, 100'000, 5, 10, {kAlice, kBob, kCarol}, 1, 2000});
}

TEST(Leadership, ASecondPrimaryIsRefusedAndNamesTheHolder) {
  test_support::TempDir dir;
  auto first = Leadership::acquire(dir.path());
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ((*first)->epoch(), 1u);
  auto second = Leadership::acquire(dir.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, kNotLeader);
  EXPECT_NE(second.error().message.find("another primary holds the leadership"), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("epoch 1"), std::string::npos) << second.error().message;
  // The holder goes (a kill -9 closes its descriptors the same way): the next one gets epoch 2.
  first->reset();
  auto third = Leadership::acquire(dir.path());
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ((*third)->epoch(), 2u);
  EXPECT_TRUE((*third)->still_leader());
  EXPECT_EQ(*Leadership::current_epoch(dir.path()), 2u);
}

TEST(Leadership, WaitingForTheLeadershipEndsWhenTheHolderLetsGo) {
  test_support::TempDir dir;
  auto first = Leadership::acquire(dir.path());
  ASSERT_TRUE(first);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    first->reset();
  });
  auto second = Leadership::acquire(dir.path(), 5 * core::kNanosPerSecond);
  releaser.join();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*second)->epoch(), 2u);
}

// A primary paused while the operator forced a failover wakes up: its next commit fails (nothing
// of it is acknowledged) and stays failed; recovery keeps the new leader's records, not the bytes
// the fenced one wrote past where the new leader began.
TEST(Leadership, AFencedPrimaryCannotCommitAndRecoveryKeepsTheNewLeadersRecords) {
  test_support::TempDir dir;
  OrderFlow flow = make_flow();
  Engine expected(test_config());
  EventBuffer ev;
  auto old_leader = Leadership::acquire(dir.path());
  ASSERT_TRUE(old_leader);
  auto old_writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
  ASSERT_TRUE(old_writer);
  (*old_writer)->fence_with(old_leader->get());
  for (int i = 0; i < 10; ++i) {
    const Command c = flow.next();
    (*old_writer)->append(c);
    expected.apply(c, ev);
  }
  ASSERT_TRUE((*old_writer)->commit());

  auto new_leader = Leadership::take_over(dir.path());  // the old one still holds the lock
  ASSERT_TRUE(new_leader) << new_leader.error().message;
  EXPECT_EQ((*new_leader)->epoch(), 2u);
  EXPECT_FALSE((*new_leader)->holds_lock());
  auto fenced = (*old_leader)->still_leader();
  ASSERT_FALSE(fenced);
  EXPECT_NE(fenced.error().message.find("superseded by epoch 2"), std::string::npos);

  // The new leader starts at 11; the old one wakes and tries to write 11 and 12.
  auto new_writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 11);
  ASSERT_TRUE(new_writer);
  (*new_writer)->fence_with(new_leader->get());
  (*old_writer)->append(flow.next());
  (*old_writer)->append(flow.next());
  auto late = (*old_writer)->commit();
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, kNotLeader);
  EXPECT_FALSE((*old_writer)->commit()) << "a fenced writer stays failed";
  for (int i = 0; i < 5; ++i) {
    const Command c = flow.next();
    (*new_writer)->append(c);
    expected.apply(c, ev);
  }
  ASSERT_TRUE((*new_writer)->commit());
  new_writer->reset();
  old_writer->reset();

  Engine recovered(test_config());
  auto report = recover(recovered, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->next_sequence, 16u);
  EXPECT_EQ(recovered.digest(), expected.digest()) << "the new leader's records, none of the old";
}

// Recovery with records written past the next segment's start (a fenced primary's write that
// got through before it checked): the newer segment wins.
TEST(Leadership, RecoverySkipsWhatAFencedPrimaryWrotePastItsSuccessorsStart) {
  test_support::TempDir dir;
  OrderFlow flow = make_flow();
  Engine expected(test_config());
  EventBuffer ev;
  {
    auto old_writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(old_writer);
    for (int i = 0; i < 13; ++i) {
      const Command c = flow.next();
      (*old_writer)->append(c);
      if (i < 10) expected.apply(c, ev);  // 11..13 written after the successor began at 11
    }
    ASSERT_TRUE((*old_writer)->commit());
  }
  auto new_writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 11);
  ASSERT_TRUE(new_writer);
  OrderFlow other(99, {kAcme, 100'000, 5, 10, {kAlice, kBob}, 1, 2000});
  for (int i = 0; i < 4; ++i) {
    const Command c = other.next();
    (*new_writer)->append(c);
    expected.apply(c, ev);
  }
  ASSERT_TRUE((*new_writer)->commit());
  Engine recovered(test_config());
  auto report = recover(recovered, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->superseded_tails, 1u);
  EXPECT_EQ(report->next_sequence, 15u);
  EXPECT_EQ(recovered.digest(), expected.digest());
}

TEST(JournalMarker, MarkersRoundTripAndTheEngineIgnoresThem) {
  unsigned char buf[kMaxRecordSize];
  const Command c{1234, JournalMarker{MarkerKind::kSeal, 7, 0xfeedfacecafebeefULL}};
  const std::size_t n = encode_record(42, c, buf);
  ASSERT_EQ(n, kRecordHeaderSize + load_u32(buf) + kChainLinkSize);
  auto d = decode_payload(buf + kRecordHeaderSize, load_u32(buf));
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(std::holds_alternative<JournalMarker>(d->command.body));
  const auto& m = std::get<JournalMarker>(d->command.body);
  EXPECT_EQ(m.kind, MarkerKind::kSeal);
  EXPECT_EQ(m.epoch, 7u);
  EXPECT_EQ(m.digest, 0xfeedfacecafebeefULL);
  // A version 2 segment cannot hold one: such a record is refused, never taken for a command.
  EXPECT_FALSE(decode_payload(buf + kRecordHeaderSize, load_u32(buf), 2));
  Engine engine(test_config());
  const auto before = engine.digest();
  EventBuffer ev;
  engine.apply(c, ev);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(engine.digest(), before);
}

}  // namespace
