// MappedSessionStore, the venue's FIX session store: sequence numbers and sent messages survive
// a reopen and a SIGKILL, the file grows, reset forgets, a damaged tail is cut, a foreign or
// locked file is refused.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "trading/fix/session_store.hpp"

namespace {

using trading::fix::MappedSessionStore;

// A framed FIX message with a correct BodyLength and CheckSum.
std::string fix_message(int sequence, const std::string& text) {
  const std::string body =
      "35=8\x01"
      "34=" +
      std::to_string(sequence) +
      "\x01"
      "58=" +
      text + "\x01";
  std::string m =
      "8=FIX.4.4\x01"
      "9=" +
      std::to_string(body.size()) + "\x01" + body;
  unsigned sum = 0;
  for (const char c : m) sum += static_cast<unsigned char>(c);
  char trailer[16];
  std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
  return m + trailer;
}

std::unique_ptr<MappedSessionStore> open_store(const std::string& dir, std::int64_t now = 1000) {
  std::string error;
  auto store = MappedSessionStore::open(dir, "FIX.4.4-VENUE-CLIENT1", now, &error);
  EXPECT_TRUE(store) << error;
  return store;
}

void put(MappedSessionStore& store, int sequence, const std::string& message) {
  std::string error;
  ASSERT_TRUE(store.set(sequence, message.data(), message.size(), &error)) << error;
}

std::vector<std::string> get(const MappedSessionStore& store, int begin, int end) {
  std::vector<std::string> out;
  store.get(begin, end, out);
  return out;
}

TEST(SessionStore, NewStoreStartsAtOneAndEverythingSurvivesAReopen) {
  test_support::TempDir dir;
  {
    auto store = open_store(dir.path(), 1234);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->next_sender(), 1);
    EXPECT_EQ(store->next_target(), 1);
    EXPECT_EQ(store->creation_time_ms(), 1234);
    for (int s = 1; s <= 4; ++s) put(*store, s, fix_message(s, "order " + std::to_string(s)));
    store->set_next_sender(5);
    store->set_next_target(7);
  }
  auto store = open_store(dir.path(), 9999);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->next_sender(), 5);
  EXPECT_EQ(store->next_target(), 7);
  EXPECT_EQ(store->creation_time_ms(), 1234);  // the original, not the reopen time
  const auto all = get(*store, 1, 4);
  ASSERT_EQ(all.size(), 4u);
  for (int s = 1; s <= 4; ++s) {
    EXPECT_EQ(all[static_cast<std::size_t>(s - 1)], fix_message(s, "order " + std::to_string(s)));
  }
  EXPECT_EQ(store->damaged_tail_offset(), 0u);
}

TEST(SessionStore, GetReturnsTheRangeInOrderAndARewriteReplaces) {
  test_support::TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    for (int s = 1; s <= 10; ++s) put(*store, s, fix_message(s, "a"));
    const auto some = get(*store, 3, 5);
    ASSERT_EQ(some.size(), 3u);
    EXPECT_EQ(some[0], fix_message(3, "a"));
    EXPECT_EQ(some[2], fix_message(5, "a"));
    EXPECT_TRUE(get(*store, 11, 20).empty());
    EXPECT_EQ(get(*store, 8, 1000).size(), 3u);
    put(*store, 4, fix_message(4, "replaced"));
    put(*store, 20, fix_message(20, "after a gap"));
    put(*store, 15, fix_message(15, "inserted out of order"));
    EXPECT_EQ(get(*store, 4, 4), std::vector<std::string>{fix_message(4, "replaced")});
    EXPECT_EQ(store->message_count(), 12u);
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(get(*store, 4, 4), std::vector<std::string>{fix_message(4, "replaced")});
  const auto tail = get(*store, 10, 30);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[1], fix_message(15, "inserted out of order"));
  EXPECT_EQ(tail[2], fix_message(20, "after a gap"));
}

TEST(SessionStore, GrowsPastItsFirstReservation) {
  test_support::TempDir dir;
  const std::string padding(300, 'x');
  const int count = 40'000;  // ~14 MB: past the first 4 MiB and two growths
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    for (int s = 1; s <= count; ++s) put(*store, s, fix_message(s, padding));
    store->set_next_sender(count + 1);
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->message_count(), static_cast<std::size_t>(count));
  EXPECT_EQ(store->next_sender(), count + 1);
  const auto all = get(*store, 1, count);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(count));
  EXPECT_EQ(all[0], fix_message(1, padding));
  EXPECT_EQ(all[count - 1], fix_message(count, padding));
}

TEST(SessionStore, ResetForgetsMessagesAndNumbers) {
  test_support::TempDir dir;
  {
    auto store = open_store(dir.path(), 1000);
    ASSERT_TRUE(store);
    for (int s = 1; s <= 100; ++s) put(*store, s, fix_message(s, "before"));
    store->set_next_sender(101);
    store->set_next_target(55);
    std::string error;
    ASSERT_TRUE(store->reset(2000, &error)) << error;
    EXPECT_EQ(store->next_sender(), 1);
    EXPECT_EQ(store->next_target(), 1);
    EXPECT_EQ(store->creation_time_ms(), 2000);
    EXPECT_TRUE(get(*store, 1, 100).empty());
    put(*store, 1, fix_message(1, "after"));
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->creation_time_ms(), 2000);
  EXPECT_EQ(get(*store, 1, 100), std::vector<std::string>{fix_message(1, "after")});
  EXPECT_EQ(store->damaged_tail_offset(), 0u);
}

TEST(SessionStore, ADamagedTailIsCutAtTheLastWholeMessage) {
  test_support::TempDir dir;
  const std::string path = dir.file("FIX.4.4-VENUE-CLIENT1.messages");
  std::uint64_t third_at = 0;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    put(*store, 1, fix_message(1, "one"));
    put(*store, 2, fix_message(2, "two"));
    third_at = store->bytes_used();
    put(*store, 3, fix_message(3, "three"));
  }
  {  // a flipped byte inside the third message (what a power loss could leave)
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(third_at + 8 + 30));
    f.put('#');
  }
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->damaged_tail_offset(), third_at);
    EXPECT_EQ(get(*store, 1, 10).size(), 2u);
    put(*store, 3, fix_message(3, "three again"));
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->damaged_tail_offset(), 0u);
  const auto all = get(*store, 1, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2], fix_message(3, "three again"));
}

// Found by fuzz_session_store: whole messages lying beyond the log's end (a zero header, e.g. a
// header that never reached the disk) came back to life once a new message of the same length
// was written over the first of them, because nothing marked the new end of the log.
TEST(SessionStore, MessagesBeyondTheEndOfTheLogStayDeadAfterANewWrite) {
  test_support::TempDir dir;
  const std::string path = dir.file("FIX.4.4-VENUE-CLIENT1.messages");
  std::uint64_t first_at = 0;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    first_at = store->bytes_used();
    put(*store, 1, fix_message(1, "one"));
    put(*store, 2, fix_message(2, "two"));
    put(*store, 3, fix_message(3, "six"));
  }
  {  // the first header lost: the log is empty, two whole messages lie beyond its end
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(first_at));
    const char zero[8] = {};
    f.write(zero, sizeof zero);
  }
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    EXPECT_TRUE(get(*store, 1, 10).empty());
    put(*store, 1, fix_message(1, "uno"));  // the same length: ends where message 2 began
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  const auto all = get(*store, 1, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], fix_message(1, "uno"));
}

TEST(SessionStore, ForeignDamagedOrLockedFilesAreRefusedWithAReason) {
  test_support::TempDir dir;
  std::string error;
  test_support::write_file(dir.file("S.state"), "not a store");
  EXPECT_FALSE(MappedSessionStore::open(dir.path(), "S", 1, &error));
  EXPECT_NE(error.find("not a FIX session store"), std::string::npos) << error;

  test_support::write_file(dir.file("T.state"), std::string(4096, 'z'));
  EXPECT_FALSE(MappedSessionStore::open(dir.path(), "T", 1, &error));
  EXPECT_NE(error.find("not a FIX session store"), std::string::npos) << error;

  test_support::write_file(dir.file("U.messages"), std::string(100, 'q'));
  EXPECT_FALSE(MappedSessionStore::open(dir.path(), "U", 1, &error));
  EXPECT_NE(error.find("not a FIX message store"), std::string::npos) << error;

  auto first = open_store(dir.path());
  ASSERT_TRUE(first);
  error.clear();
  EXPECT_FALSE(MappedSessionStore::open(dir.path(), "FIX.4.4-VENUE-CLIENT1", 1, &error));
  EXPECT_NE(error.find("in use by another process"), std::string::npos) << error;

  EXPECT_FALSE(MappedSessionStore::open(dir.path() + "/missing", "X", 1, &error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST(SessionStore, BadMessagesAreRefusedAndChangeNothing) {
  test_support::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  std::string error;
  EXPECT_FALSE(store->set(0, "x", 1, &error));
  EXPECT_NE(error.find("not positive"), std::string::npos) << error;
  EXPECT_FALSE(store->set(1, "", 0, &error));
  EXPECT_NE(error.find("cannot be stored"), std::string::npos) << error;
  const std::string huge(17u << 20, 'h');
  EXPECT_FALSE(store->set(1, huge.data(), huge.size(), &error));
  EXPECT_EQ(store->message_count(), 0u);
}

// A writer killed with SIGKILL at an arbitrary moment: every message and sequence number it had
// finished writing is there after a reopen, byte for byte.
TEST(SessionStore, AKilledWriterLosesNothingItHadWritten) {
  test_support::TempDir dir;
  for (int round = 0; round < 3; ++round) {
    int report[2];
    ASSERT_EQ(pipe(report), 0);
    const int first = round * 1'000'000 + 1;
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(report[0]);
      std::string error;
      auto store = MappedSessionStore::open(dir.path(), "killed", 1, &error);
      if (!store) _exit(3);
      for (int s = first;; ++s) {
        const std::string m = fix_message(s, "round " + std::to_string(round));
        if (!store->set(s, m.data(), m.size(), &error)) _exit(4);
        store->set_next_sender(s + 1);
        if (s % 64 == 0 && write(report[1], &s, sizeof s) != static_cast<ssize_t>(sizeof s)) {
          _exit(5);
        }
      }
    }
    close(report[1]);
    int reported = 0;
    const int wanted = first + 20'000 + round * 7'777;
    while (reported < wanted) {
      ASSERT_EQ(read(report[0], &reported, sizeof reported), static_cast<ssize_t>(sizeof reported));
    }
    kill(child, SIGKILL);
    close(report[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    std::string error;
    auto store = MappedSessionStore::open(dir.path(), "killed", 1, &error);
    ASSERT_TRUE(store) << error;
    const int last = store->next_sender() - 1;
    EXPECT_GE(last, reported);
    const auto all = get(*store, first, last);
    ASSERT_EQ(all.size(), static_cast<std::size_t>(last - first + 1));
    for (int s = first; s <= last; s += 997) {
      EXPECT_EQ(all[static_cast<std::size_t>(s - first)],
                fix_message(s, "round " + std::to_string(round)));
    }
    EXPECT_EQ(all.back(), fix_message(last, "round " + std::to_string(round)));
  }
}

}  // namespace
