#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "core/fixed_point.hpp"
#include "core/huge_pages.hpp"
#include "core/result.hpp"
#include "core/strong_id.hpp"

namespace {

struct OrderTag {};
struct TradeTag {};
using OrderId = core::StrongId<OrderTag>;
using TradeId = core::StrongId<TradeTag>;
struct LotsTag {};
using Lots = core::Quantity<LotsTag>;

TEST(Decimal, ParsesAtScale) {
  EXPECT_EQ(core::parse_decimal("101.25", 2).value(), 10125);
  EXPECT_EQ(core::parse_decimal("101.2", 2).value(), 10120);
  EXPECT_EQ(core::parse_decimal("101", 2).value(), 10100);
  EXPECT_EQ(core::parse_decimal("-0.5", 2).value(), -50);
  EXPECT_EQ(core::parse_decimal("+7", 0).value(), 7);
  EXPECT_EQ(core::parse_decimal("1.2500", 2).value(), 125);  // trailing zeros beyond scale are fine
  EXPECT_EQ(core::parse_decimal(".5", 1).value(), 5);
}

TEST(Decimal, RejectsWithSpecificCodes) {
  EXPECT_EQ(core::parse_decimal("", 2).error().code, core::kDecimalEmpty);
  EXPECT_EQ(core::parse_decimal("1.2.3", 2).error().code, core::kDecimalBadCharacter);
  EXPECT_EQ(core::parse_decimal("12a", 2).error().code, core::kDecimalBadCharacter);
  EXPECT_EQ(core::parse_decimal("-", 2).error().code, core::kDecimalBadCharacter);
  EXPECT_EQ(core::parse_decimal("1.234", 2).error().code, core::kDecimalTooPrecise);
  EXPECT_EQ(core::parse_decimal("99999999999999999999", 0).error().code, core::kDecimalOutOfRange);
  EXPECT_EQ(core::parse_decimal("92233720368547758.08", 2).error().code, core::kDecimalOutOfRange);
}

TEST(Decimal, Int64ExtremesRoundTrip) {
  EXPECT_EQ(core::parse_decimal("9223372036854775807", 0).value(), INT64_MAX);
  EXPECT_EQ(core::parse_decimal("-9223372036854775808", 0).value(), INT64_MIN);
  EXPECT_EQ(core::format_decimal(INT64_MIN, 0), "-9223372036854775808");
}

TEST(Decimal, FormatsWithExactlyScaleDigits) {
  EXPECT_EQ(core::format_decimal(10125, 2), "101.25");
  EXPECT_EQ(core::format_decimal(5, 3), "0.005");
  EXPECT_EQ(core::format_decimal(-50, 2), "-0.50");
  EXPECT_EQ(core::format_decimal(42, 0), "42");
  for (std::int64_t v : {0LL, 1LL, -1LL, 123456789LL, -987654321LL}) {
    EXPECT_EQ(core::parse_decimal(core::format_decimal(v, 4), 4).value(), v);
  }
}

TEST(StrongId, ComparesAndSequencesWithoutMixingTypes) {
  core::IdSequence<OrderId> seq(41);
  const OrderId a = seq.next();
  const OrderId b = seq.next();
  EXPECT_EQ(a.value(), 42u);
  EXPECT_LT(a, b);
  EXPECT_EQ(seq.last_issued(), 43u);
  EXPECT_FALSE(static_cast<bool>(OrderId{}));
  static_assert(!std::is_convertible_v<OrderId, TradeId>);
  static_assert(!std::is_convertible_v<std::uint64_t, OrderId>);
  EXPECT_EQ(std::hash<OrderId>{}(a), std::hash<std::uint64_t>{}(42));
}

TEST(Quantity, ArithmeticStaysTyped) {
  Lots a(10), b(3);
  EXPECT_EQ((a - b).value(), 7);
  a += b;
  EXPECT_EQ(a.value(), 13);
  EXPECT_GT(a, b);
}

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  core::ManualClock clock(100, 5 * core::kNanosPerSecond);
  EXPECT_EQ(clock.monotonic_ns(), 100);
  clock.advance(50);
  EXPECT_EQ(clock.monotonic_ns(), 150);
  EXPECT_EQ(clock.wall_ns(), 5 * core::kNanosPerSecond + 50);
}

TEST(SystemClock, MonotonicNeverGoesBack) {
  const auto& c = core::SystemClock::instance();
  auto prev = c.monotonic_ns();
  for (int i = 0; i < 1000; ++i) {
    const auto now = c.monotonic_ns();
    EXPECT_GE(now, prev);
    prev = now;
  }
}

TEST(Iso8601, FormatsUtcWithMicroseconds) {
  char out[32];
  core::format_utc_iso8601(1'700'000'000'123'456'789LL, out);
  EXPECT_STREQ(out, "2023-11-14T22:13:20.123456Z");
  core::format_utc_iso8601(0, out);
  EXPECT_STREQ(out, "1970-01-01T00:00:00.000000Z");
}

TEST(Result, CarriesValueOrError) {
  core::Result<int> ok = 5;
  core::Result<int> bad = core::fail(7, "nope");
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(bad.error(), (core::Error{7, "nope"}));
}

TEST(HugePages, ALargeZeroedBlockIsAlignedToAHugePageZeroAndWritable) {
  const std::size_t count = 3 * (core::kHugePageBytes / sizeof(std::uint64_t)) + 5;  // not whole
  auto* block = static_cast<std::uint64_t*>(core::allocate_zeroed(count, sizeof(std::uint64_t)));
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block) % core::kHugePageBytes, 0u);
  EXPECT_EQ(block[0], 0u);
  EXPECT_EQ(block[count / 2], 0u);
  EXPECT_EQ(block[count - 1], 0u);
  block[count - 1] = 42;  // the last, partial huge page is mapped too
  EXPECT_EQ(block[count - 1], 42u);
  core::release_zeroed(block, count, sizeof(std::uint64_t));
}

TEST(HugePages, ASmallZeroedBlockComesFromTheHeapZeroed) {
  auto* block = static_cast<int*>(core::allocate_zeroed(100, sizeof(int)));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(block[i], 0);
  core::release_zeroed(block, 100, sizeof(int));
  EXPECT_THROW(core::allocate_zeroed(SIZE_MAX / 2, 4), std::bad_alloc);  // count * size overflows
}

TEST(HugePages, AVectorOnTheAllocatorKeepsItsContentsAcrossGrowthPastAHugePage) {
  std::vector<std::uint32_t, core::HugePageAllocator<std::uint32_t>> values;
  const std::uint32_t n = 2 * core::kHugePageBytes / sizeof(std::uint32_t);
  for (std::uint32_t i = 0; i < n; ++i) values.push_back(i * 7);
  // past 2 MB the block is a huge-page mapping, aligned to a huge page (malloc's never is)
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(values.data()) % core::kHugePageBytes, 0u);
  bool intact = true;
  for (std::uint32_t i = 0; i < n; ++i) intact = intact && values[i] == i * 7;
  EXPECT_TRUE(intact);
  values.clear();
  values.shrink_to_fit();
  EXPECT_EQ(values.capacity(), 0u);
}

// Pages of [block, block + bytes) the kernel has resident.
std::size_t resident_pages(void* block, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((bytes + page - 1) / page);
  if (::mincore(block, bytes, in_core.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : in_core) n += c & 1;
  return n;
}

TEST(HugePages, APopulatedBlockIsResidentWithItsContentsUnchanged) {
  const std::size_t bytes = 3 * core::kHugePageBytes;
  auto* block = static_cast<std::uint64_t*>(core::map_huge(bytes));
  ASSERT_NE(block, nullptr);
  const std::size_t words = bytes / sizeof(std::uint64_t);
  block[1] = 11;  // written before: the populating must not undo it
  core::populate_async(block, bytes);
  block[words - 1] = 22;  // written meanwhile
  core::wait_populated();
  if (!core::populate_supported()) GTEST_SKIP() << "kernel without MADV_POPULATE_WRITE";
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(resident_pages(block, bytes), bytes / page);
  EXPECT_EQ(block[0], 0u);
  EXPECT_EQ(block[1], 11u);
  EXPECT_EQ(block[words / 2], 0u);
  EXPECT_EQ(block[words - 1], 22u);
  core::unmap_huge(block, bytes);
}

TEST(HugePages, ABlockGivenBackBeforeItIsPopulatedIsDroppedFromTheQueue) {
  // Many blocks queued and unmapped at once: the background thread must neither fault on them
  // nor keep the process waiting for memory nobody has.
  for (int i = 0; i < 32; ++i) {
    const std::size_t bytes = 8 * core::kHugePageBytes;
    void* block = core::map_huge(bytes);
    ASSERT_NE(block, nullptr);
    core::populate_async(block, bytes);
    core::unmap_huge(block, bytes);
  }
  core::wait_populated();
  SUCCEED();
}

TEST(HugePages, AGrowingPoolIsPopulatedAHugePageAheadOfItsEnd) {
  const std::size_t bytes = 4 * core::kHugePageBytes;
  auto* block = static_cast<char*>(core::map_huge(bytes));
  ASSERT_NE(block, nullptr);
  // The end moves within the first huge page: nothing asked.
  core::populate_ahead(block, 100, 200, bytes);
  core::wait_populated();
  EXPECT_EQ(resident_pages(block + 2 * core::kHugePageBytes, core::kHugePageBytes), 0u);
  // It enters the second: the third is populated, the fourth not yet.
  core::populate_ahead(block, core::kHugePageBytes - 8, core::kHugePageBytes + 8, bytes);
  core::wait_populated();
  if (!core::populate_supported()) GTEST_SKIP() << "kernel without MADV_POPULATE_WRITE";
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(resident_pages(block + 2 * core::kHugePageBytes, core::kHugePageBytes),
            core::kHugePageBytes / page);
  EXPECT_EQ(resident_pages(block + 3 * core::kHugePageBytes, core::kHugePageBytes), 0u);
  core::unmap_huge(block, bytes);
}

}  // namespace
