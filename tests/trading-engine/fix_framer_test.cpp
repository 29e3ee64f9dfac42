// FixFramer: whole messages out of a byte stream, garbage skipped, bounds enforced.
#include "trading/fix/framer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using trading::fix::FixFramer;
using Status = FixFramer::Status;

std::string soh(std::string text) {
  for (char& c : text) {
    if (c == '|') c = '\x01';
  }
  return text;
}

const std::string kHeartbeat = soh("8=FIX.4.4|9=5|35=0|10=163|");
const std::string kLogon = soh("8=FIX.4.4|9=10|35=A|34=1|10=001|");

TEST(FixFramer, HandsOutWholeMessagesWhateverTheReads) {
  const std::string stream = kHeartbeat + kLogon;
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    FixFramer framer;
    std::string out;
    framer.append(stream.data(), cut);
    std::vector<std::string> got;
    while (framer.next(out, 4096) == Status::kMessage) got.push_back(out);
    framer.append(stream.data() + cut, stream.size() - cut);
    while (framer.next(out, 4096) == Status::kMessage) got.push_back(out);
    ASSERT_EQ(got.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(got[0], kHeartbeat);
    EXPECT_EQ(got[1], kLogon);
    EXPECT_EQ(framer.buffered(), 0u);
  }
}

TEST(FixFramer, SkipsBytesBeforeAMessageAndCountsThem) {
  FixFramer framer;
  const std::string stream = "hello" + kHeartbeat + "\x01\x01" + kLogon;
  framer.append(stream.data(), stream.size());
  std::string out;
  ASSERT_EQ(framer.next(out, 4096), Status::kMessage);
  EXPECT_EQ(out, kHeartbeat);
  ASSERT_EQ(framer.next(out, 4096), Status::kMessage);
  EXPECT_EQ(out, kLogon);
  EXPECT_EQ(framer.discarded_bytes(), 7u);
}

TEST(FixFramer, AHugeBodyLengthIsRefusedBeforeAnyBodyArrives) {
  FixFramer framer;
  const std::string start = soh("8=FIX.4.4|9=400000000|35=A|");
  framer.append(start.data(), start.size());
  std::string out;
  EXPECT_EQ(framer.next(out, 4096), Status::kTooLarge);
  const std::string endless = soh("8=FIX.4.4|9=99999999999999|");
  FixFramer other;
  other.append(endless.data(), endless.size());
  EXPECT_EQ(other.next(out, 4096), Status::kTooLarge) << "too many digits";
}

TEST(FixFramer, AMissingTrailerIsWaitedForOnlyUpToTheBound) {
  FixFramer framer;
  std::string message = soh("8=FIX.4.4|9=5|35=0|");
  framer.append(message.data(), message.size());
  std::string out;
  EXPECT_EQ(framer.next(out, 64), Status::kNeedMore);
  const std::string filler(65, 'x');
  framer.append(filler.data(), filler.size());
  EXPECT_EQ(framer.next(out, 64), Status::kTooLarge);
}

TEST(FixFramer, AWrongBodyLengthStillYieldsAMessageForTheSessionToDrop) {
  // Too short: the trailer is found after the declared end (QuickFIX then sees the wrong
  // BodyLength and ignores the garbled message, as FIX says).
  FixFramer framer;
  const std::string wrong = soh("8=FIX.4.4|9=2|35=0|10=163|");
  framer.append(wrong.data(), wrong.size());
  std::string out;
  ASSERT_EQ(framer.next(out, 4096), Status::kMessage);
  EXPECT_EQ(out, wrong);
  const std::string bad_length = soh("8=FIX.4.4|9=x|35=0|10=163|") + kHeartbeat;
  FixFramer other;
  other.append(bad_length.data(), bad_length.size());
  ASSERT_EQ(other.next(out, 4096), Status::kMessage);
  EXPECT_EQ(out, kHeartbeat) << "a non-numeric BodyLength is skipped as garbage";
}

}  // namespace
