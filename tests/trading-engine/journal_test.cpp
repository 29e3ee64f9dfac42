// The journal: CRC32C, the record codec, writer sync policies, torn tail vs corrupt middle,
// replay to an equal digest, snapshots + tail replay, and a killed writer losing nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine_test_support.hpp"
#include "test_support.hpp"
#include "trading/journal/crc32c.hpp"
#include "trading/journal/reader.hpp"
#include "trading/journal/record.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/snapshot.hpp"
#include "trading/journal/writer.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::journal;
using namespace trading::testing;
using Engine = MatchingEngine<OrderBook>;

std::vector<unsigned char> encoded(std::uint64_t seq, const Command& c) {
  std::vector<unsigned char> out(kMaxRecordSize);
  out.resize(encode_record(seq, c, out.data()));
  return out;
}

// The payload size of an encoded record (its first field): the link follows the payload.
std::size_t payload_size(const std::vector<unsigned char>& record) {
  return load_u32(record.data());
}

// Every kind of command, with values at the edges of their ranges.
AddAccount added_account() {
  AddAccount a{AccountId(0xFFFFFFFFu), StpMode::kCancelIncoming, {}};
  a.name.assign("SIXTEEN-CHARS-XX");
  return a;
}
AddSession added_session() {
  AddSession s{AccountId(12), {}};
  s.client_comp_id.assign("A-COMP.ID_OF-THIRTY-TWO-CHARS-XX");
  return s;
}

std::vector<Command> every_kind() {
  return {
      Command{-5, NewOrder{OrderId(~0ULL), AccountId(~0u), SymbolId(7), Side::kSell,
                           OrderType::kMarket, TimeInForce::kFok, Price{INT64_MIN}, Qty{INT64_MAX},
                           0xFFFFFFFFu, 0x0123456789ABCDEFULL}},
      Command{1, CancelOrder{OrderId(3), AccountId(4), SymbolId(5)}},
      Command{2, ReplaceOrder{OrderId(3), AccountId(4), SymbolId(5), Price{-1}, Qty{9}}},
      Command{3, MassCancel{MassCancelScope::kSymbol, AccountId(1), SymbolId(2)}},
      Command{4, EndOfDay{}},
      Command{5, KillSwitch{true, AccountId(9), false}},
      Command{6, TradingHalt{false, SymbolId(1), true}},
      Command{7, Tick{}},
      Command{8, SetAccountLimits{AccountId(3), SetAccountLimits::kAllFields, Qty{INT64_MAX},
                                  INT64_MIN, 12345, -7, 0xFFFFFFFFu, 9}},
      Command{9, added_account()},
      Command{10, added_session()},
  };
}

std::uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

TEST(Crc32c, KnownVectorsAndHardwareEqualsTable) {
  const char* text = "123456789";
  EXPECT_EQ(crc32c(0, text, 9), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(crc32c_portable(0, text, 9), 0xE3069283u);
  unsigned char zeros[32] = {};
  EXPECT_EQ(crc32c(0, zeros, 32), 0x8A9136AAu);  // RFC 3720 B.4
  std::vector<unsigned char> buf(300);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i * 131 + 7);
  for (std::size_t n = 0; n <= buf.size(); n += 7) {
    ASSERT_EQ(crc32c(0, buf.data(), n), crc32c_portable(0, buf.data(), n)) << n;
    ASSERT_EQ(crc32c(crc32c(0, buf.data(), n / 2), buf.data() + n / 2, n - n / 2),
              crc32c(0, buf.data(), n))
        << "extending a CRC equals computing it at once";
  }
}

TEST(JournalRecord, EveryCommandKindRoundTrips) {
  std::uint64_t seq = 41;
  for (const Command& c : every_kind()) {
    const auto bytes = encoded(seq, c);
    ASSERT_LE(bytes.size(), kMaxRecordSize);
    ASSERT_EQ(bytes.size(), kRecordHeaderSize + payload_size(bytes) + kChainLinkSize);
    auto decoded = decode_payload(bytes.data() + kRecordHeaderSize, payload_size(bytes));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->sequence, seq);
    EXPECT_EQ(decoded->command.body.index(), c.body.index());
    EXPECT_EQ(encoded(seq, decoded->command), bytes) << "re-encoding gives the same bytes";
    ++seq;
  }
}

TEST(JournalRecord, AnnotationsRoundTripAndAreBounded) {
  const Command c = every_kind()[1];
  std::vector<unsigned char> out(kMaxRecordSize);
  out.resize(encode_record(9, c, out.data(), "session 3: ClOrdID ABC-17"));
  auto decoded = decode_payload(out.data() + kRecordHeaderSize, payload_size(out));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->annotation, "session 3: ClOrdID ABC-17");
  const std::string huge(500, 'x');
  std::vector<unsigned char> big(kMaxRecordSize);
  big.resize(encode_record(9, every_kind()[0], big.data(), huge));
  ASSERT_LE(big.size(), kMaxRecordSize);
  decoded = decode_payload(big.data() + kRecordHeaderSize, payload_size(big));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->annotation.size(), kMaxAnnotationSize);
}

TEST(JournalRecord, PayloadsThatDoNotFitTheirKindAreErrors) {
  auto bytes = encoded(1, every_kind()[0]);
  unsigned char* payload = bytes.data() + kRecordHeaderSize;
  const std::size_t size = payload_size(bytes);
  EXPECT_FALSE(decode_payload(payload, size - 1)) << "short";
  std::vector<unsigned char> longer(payload, payload + size);
  longer.push_back(0);
  EXPECT_FALSE(decode_payload(longer.data(), longer.size())) << "long";
  auto bad_kind = longer;
  bad_kind[16] = 99;
  EXPECT_FALSE(decode_payload(bad_kind.data(), size));
  auto bad_side = std::vector<unsigned char>(payload, payload + size);
  bad_side[17 + 16] = 2;  // side after kind(1) + id(8) + account(4) + symbol(4)
  const auto r = decode_payload(bad_side.data(), size);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kBadPayload);
}

TEST(JournalRecord, AnAddedNameThatIsNotCanonicalIsRefused) {
  for (const Command& c : {Command{1, added_account()}, Command{2, added_session()}}) {
    const auto bytes = encoded(1, c);
    const unsigned char* payload = bytes.data() + kRecordHeaderSize;
    const std::size_t size = payload_size(bytes);
    // The name's bytes follow kind(1) and the account id(4) (and the STP byte of an account).
    const std::size_t name = 17 + 4 + (std::holds_alternative<AddAccount>(c.body) ? 1 : 0);
    for (const int bad : {0x20, 0x00, 0x0a, 0x80}) {  // space, a hole, newline, non-ASCII
      std::vector<unsigned char> damaged(payload, payload + size);
      damaged[name + 1] = static_cast<unsigned char>(bad);  // a hole or a character not allowed
      EXPECT_FALSE(decode_payload(damaged.data(), size)) << bad;
    }
    std::vector<unsigned char> empty(payload, payload + size);
    empty[name] = 0;
    EXPECT_FALSE(decode_payload(empty.data(), size)) << "an empty name";
  }
}

TEST(JournalRecord, HeaderChecksVersionAndMagic) {
  unsigned char h[kFileHeaderSize];
  encode_file_header(77, h);
  ASSERT_EQ(decode_file_header(h, sizeof h).value().first_sequence, 77u);
  EXPECT_EQ(decode_file_header(h, sizeof h).value().format_version, kFormatVersion);
  auto with_version = [&](std::uint32_t version) {
    // Versions 1-3 have the 32-byte header (no chain anchor), version 4 on the 64-byte one.
    unsigned char v[kFileHeaderSize];
    std::memcpy(v, h, sizeof h);
    store_u32(v + 8, version);
    const std::size_t size = version >= 4 ? kFileHeaderSize : kFileHeaderSizeV3;
    store_u32(v + 12, static_cast<std::uint32_t>(size));
    store_u32(v + size - 4, crc32c(0, v, size - 4));
    return decode_file_header(v, size);
  };
  EXPECT_EQ(with_version(1).value().format_version, 1u) << "version 1 is still read";
  EXPECT_EQ(with_version(3).value().size, kFileHeaderSizeV3);
  const auto short_header = decode_file_header(h, kFileHeaderSizeV3 + 8);
  ASSERT_FALSE(short_header) << "a version 4 header cut short is being written";
  EXPECT_EQ(short_header.error().code, kShortHeader);
  const auto r = with_version(kFormatVersion + 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("version " + std::to_string(kFormatVersion + 1)),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("reads versions 1 to"), std::string::npos) << r.error().message;
  EXPECT_FALSE(with_version(0));
  h[0] = 'X';
  EXPECT_FALSE(decode_file_header(h, sizeof h));
}

// A version 1 record's ClOrdID key (a hash) becomes the key version 1 engines used, marked with
// the top bit, so it never equals one of the gateway's numbers; version 2 keys stay as written.
TEST(JournalRecord, VersionOneClOrdIdKeysAreReadAsTheirOwnKind) {
  Command c = every_kind()[0];
  auto& order = std::get<NewOrder>(c.body);
  order.client_order_key = 12345;
  const auto bytes = encoded(5, c);
  const unsigned char* payload = bytes.data() + kRecordHeaderSize;
  const std::size_t size = payload_size(bytes);
  const auto v2 = decode_payload(payload, size);
  ASSERT_TRUE(v2);
  EXPECT_EQ(std::get<NewOrder>(v2->command.body).client_order_key, 12345u);
  const auto v1 = decode_payload(payload, size, 1);
  ASSERT_TRUE(v1);
  const std::uint64_t legacy =
      (12345u ^ (std::uint64_t{order.account.value()} * 0x9E3779B97F4A7C15ULL)) |
      (std::uint64_t{1} << 63);
  EXPECT_EQ(std::get<NewOrder>(v1->command.body).client_order_key, legacy);
}

// Journals `count` flow commands through an engine, committing every `batch`; returns the
// digest and the events of every command.
struct Journaled {
  std::uint64_t digest = 0;
  std::vector<EventBuffer> events;
};

Journaled journal_flow(Engine& engine, JournalWriter& writer, OrderFlow& flow, int count,
                       int batch = 16) {
  Journaled out;
  EventBuffer ev;
  for (int i = 0; i < count; ++i) {
    const Command c = flow.next();
    writer.append(c);
    ev.clear();
    engine.apply(c, ev);
    out.events.push_back(ev);
    if ((i + 1) % batch == 0) {
      EXPECT_TRUE(writer.commit());
    }
  }
  EXPECT_TRUE(writer.commit());
  out.digest = engine.digest();
  return out;
}

// Journals `count` flow commands into a fresh segment of `dir`; returns its path ("" on error).
std::string journal_segment(const test_support::TempDir& dir, Engine& live, OrderFlow& flow,
                            int count) {
  auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
  EXPECT_TRUE(writer);
  if (!writer) return {};
  journal_flow(live, **writer, flow, count);
  return (*writer)->segment_path();
}

OrderFlow make_flow(std::uint64_t seed = 11) {
  return OrderFlow(seed, {kAcme, 100'000, 5, 10, {kAlice, kBob, kCarol}, 1, 2000});
}

TEST(Journal, ReplayReproducesEveryEventAndTheDigest) {
  test_support::TempDir dir;
  Engine live(test_config());
  OrderFlow flow = make_flow();
  Journaled run;
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer) << writer.error().message;
    run = journal_flow(live, **writer, flow, 50'000);
  }
  Engine replayed(test_config());
  std::size_t i = 0;
  std::vector<RecoveryProgress> progress;
  RecoveryOptions options;
  options.progress_every = 10'000;
  options.progress = [&](const RecoveryProgress& p) { progress.push_back(p); };
  options.on_record = [&](const DecodedRecord& r, const EventBuffer& ev) {
    ASSERT_EQ(r.sequence, i + 1);
    ASSERT_EQ(ev, run.events[i]) << "command " << i;
    ++i;
  };
  auto report = recover(replayed, dir.path(), options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records_replayed, 50'000u);
  EXPECT_EQ(report->next_sequence, 50'001u);
  EXPECT_FALSE(report->torn_tail);
  EXPECT_EQ(replayed.digest(), run.digest);
  ASSERT_EQ(progress.size(), 6u) << "every 10 000 records and once at the end";
  EXPECT_EQ(progress.back().bytes_read, progress.back().bytes_total);
}

TEST(Journal, TornTailIsReportedCutAndTheJournalContinues) {
  test_support::TempDir dir;
  Engine live(test_config());
  OrderFlow flow = make_flow();
  const std::string segment = journal_segment(dir, live, flow, 1000);
  ASSERT_FALSE(segment.empty());
  const std::uint64_t full = file_size(segment);
  std::filesystem::resize_file(segment, full - 5);  // the last record cut short by a crash

  Engine first(test_config());
  auto report = recover(first, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records_replayed, 999u);
  ASSERT_TRUE(report->torn_tail);
  EXPECT_EQ(report->torn_segment, segment);
  EXPECT_EQ(report->torn_tail->bytes, full - 5 - report->torn_tail->offset);
  EXPECT_EQ(file_size(segment), report->torn_tail->offset) << "cut at the last good record";

  // Zeros after the last record (a file extended but never written) are a torn tail too.
  append_bytes(segment, std::string(100, '\0'));
  Engine second(test_config());
  report = recover(second, dir.path());
  ASSERT_TRUE(report);
  EXPECT_EQ(report->records_replayed, 999u);
  ASSERT_TRUE(report->torn_tail);
  EXPECT_EQ(report->torn_tail->reason, "zero-filled tail");
  EXPECT_EQ(second.digest(), first.digest());

  // The journal goes on in a new segment from the next sequence.
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, report->next_sequence);
    ASSERT_TRUE(writer);
    journal_flow(second, **writer, flow, 100);
  }
  Engine third(test_config());
  report = recover(third, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records_replayed, 1099u);
  EXPECT_EQ(report->segments, 2u);
  EXPECT_EQ(third.digest(), second.digest());
}

TEST(Journal, CorruptRecordInTheMiddleStopsWithItsOffset) {
  test_support::TempDir dir;
  Engine live(test_config());
  OrderFlow flow = make_flow();
  const std::string segment = journal_segment(dir, live, flow, 100);
  ASSERT_FALSE(segment.empty());
  // Find the offset of record 50 by walking the frames.
  std::string bytes = test_support::read_file(segment);
  std::size_t offset = kFileHeaderSize;
  for (int i = 1; i < 50; ++i) {
    offset += kRecordHeaderSize + kChainLinkSize +
              load_u32(reinterpret_cast<const unsigned char*>(bytes.data()) + offset);
  }
  bytes[offset + kRecordHeaderSize + 3] ^= 0x40;  // one flipped bit in record 50's payload
  test_support::write_file(segment, bytes);

  Engine replayed(test_config());
  auto report = recover(replayed, dir.path());
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, kCorruptRecord);
  EXPECT_NE(report.error().message.find("byte offset " + std::to_string(offset)), std::string::npos)
      << report.error().message;
  EXPECT_EQ(file_size(segment), bytes.size()) << "nothing is cut on corruption";
}

TEST(Journal, SnapshotPlusTailReplayEqualsFullReplay) {
  test_support::TempDir dir;
  Engine live(test_config());
  OrderFlow flow = make_flow();
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    journal_flow(live, **writer, flow, 30'000);
    const std::uint64_t through = (*writer)->next_sequence() - 1;
    ASSERT_TRUE(write_snapshot(live, dir.path(), through));
    ASSERT_TRUE((*writer)->rotate());
    journal_flow(live, **writer, flow, 20'000);
  }
  const std::uint64_t expected = live.digest();

  Engine from_snapshot(test_config());
  auto report = recover(from_snapshot, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->snapshot_sequence);
  EXPECT_EQ(*report->snapshot_sequence, 30'000u);
  EXPECT_EQ(report->records_replayed, 20'000u);
  EXPECT_EQ(report->segments, 1u) << "the segment before the snapshot is not read";
  EXPECT_EQ(from_snapshot.digest(), expected);

  // Both continue identically: the snapshot restored the whole state, not just the books.
  Engine full(test_config());
  for (const auto& [seq, path] : list_snapshots(dir.path())) std::filesystem::remove(path);
  report = recover(full, dir.path());
  ASSERT_TRUE(report);
  EXPECT_EQ(report->records_replayed, 50'000u);
  EXPECT_EQ(full.digest(), expected);
  EventBuffer a, b;
  for (int i = 0; i < 5000; ++i) {
    const Command c = flow.next();
    a.clear();
    b.clear();
    from_snapshot.apply(c, a);
    full.apply(c, b);
    ASSERT_EQ(a, b) << i;
  }
}

TEST(Journal, DamagedSnapshotFallsBackToAnOlderOneOrTheJournal) {
  test_support::TempDir dir;
  Engine live(test_config());
  OrderFlow flow = make_flow();
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    journal_flow(live, **writer, flow, 5000);
    ASSERT_TRUE(write_snapshot(live, dir.path(), 5000));
    journal_flow(live, **writer, flow, 5000);
    auto newest = write_snapshot(live, dir.path(), 10'000);
    ASSERT_TRUE(newest);
    std::string bytes = test_support::read_file(*newest);
    bytes[bytes.size() / 2] ^= 1;
    test_support::write_file(*newest, bytes);
    journal_flow(live, **writer, flow, 1000);
  }
  Engine replayed(test_config());
  auto report = recover(replayed, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->snapshots_skipped.size(), 1u);
  EXPECT_NE(report->snapshots_skipped[0].find("payload checksum mismatch"), std::string::npos);
  EXPECT_EQ(*report->snapshot_sequence, 5000u);
  EXPECT_EQ(report->records_replayed, 6000u);
  EXPECT_EQ(replayed.digest(), live.digest());
}

TEST(Journal, SnapshotOfAnotherConfigurationIsRefusedWithAReason) {
  test_support::TempDir dir;
  Engine live(test_config());
  ASSERT_TRUE(write_snapshot(live, dir.path(), 0));
  EngineConfig other = test_config();
  other.instruments.pop_back();
  MatchingEngine<OrderBook> different(other);
  auto report = recover(different, dir.path());
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message.find("different number of instruments"), std::string::npos)
      << report.error().message;
}

TEST(Journal, MissingSegmentIsASequenceGap) {
  test_support::TempDir dir;
  Engine live(test_config());
  OrderFlow flow = make_flow();
  std::string middle;
  {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    ASSERT_TRUE(writer);
    journal_flow(live, **writer, flow, 100);
    ASSERT_TRUE((*writer)->rotate());
    middle = (*writer)->segment_path();
    journal_flow(live, **writer, flow, 100);
    ASSERT_TRUE((*writer)->rotate());
    journal_flow(live, **writer, flow, 100);
  }
  std::filesystem::remove(middle);
  Engine replayed(test_config());
  auto report = recover(replayed, dir.path());
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, kSequenceGap);
  EXPECT_NE(report.error().message.find("records are missing"), std::string::npos);
}

TEST(Journal, SyncPoliciesAndGroupCommit) {
  test_support::TempDir dir;
  auto fsync_writer = JournalWriter::open(dir.file("fsync"), SyncPolicy::kFsync, 1);
  ASSERT_TRUE(fsync_writer);
  JournalWriter& w = **fsync_writer;
  for (int i = 0; i < 100; ++i) w.append(Command{i, Tick{}});
  ASSERT_TRUE(w.commit());
  EXPECT_EQ(w.stats().syncs, 1u) << "one fdatasync covers the whole batch";
  EXPECT_EQ(w.stats().writes, 1u);
  ASSERT_TRUE(w.commit());
  EXPECT_EQ(w.stats().syncs, 1u) << "nothing new, nothing synced";
  EXPECT_EQ(file_size(w.segment_path()), kFileHeaderSize + w.stats().bytes);

  auto none_writer = JournalWriter::open(dir.file("none"), SyncPolicy::kNone, 1);
  ASSERT_TRUE(none_writer);
  (*none_writer)->append(Command{1, Tick{}});
  ASSERT_TRUE((*none_writer)->commit());
  EXPECT_EQ(file_size((*none_writer)->segment_path()), kFileHeaderSize) << "still buffered";
  ASSERT_TRUE((*none_writer)->flush());
  EXPECT_GT(file_size((*none_writer)->segment_path()), kFileHeaderSize);

  EXPECT_EQ(parse_sync_policy("fsync").value(), SyncPolicy::kFsync);
  EXPECT_FALSE(parse_sync_policy("always"));
}

TEST(Journal, KilledWriterLosesNoCommittedRecordInWriteMode) {
  test_support::TempDir dir;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto writer = JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1);
    if (!writer) _exit(3);
    for (int i = 0; i < 1000; ++i) {
      (*writer)->append(Command{i, Tick{}});
      if (!(*writer)->commit()) _exit(4);  // acknowledged from here on
    }
    (*writer)->append(Command{1000, Tick{}});  // appended, never committed
    raise(SIGKILL);                            // no destructor, no flush
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  Engine replayed(test_config());
  auto report = recover(replayed, dir.path());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records_replayed, 1000u);
  EXPECT_FALSE(report->torn_tail);
}

TEST(Journal, EmptySegmentFromAnEarlierRunIsReplaced) {
  test_support::TempDir dir;
  { ASSERT_TRUE(JournalWriter::open(dir.path(), SyncPolicy::kWrite, 1)); }
  Engine replayed(test_config());
  auto report = recover(replayed, dir.path());
  ASSERT_TRUE(report);
  EXPECT_EQ(report->next_sequence, 1u);
  auto again = JournalWriter::open(dir.path(), SyncPolicy::kWrite, report->next_sequence);
  ASSERT_TRUE(again) << again.error().message;
}

}  // namespace

namespace {

TEST(Snapshot, RestoresRiskHaltsBandsAndClientKeysNotJustBooks) {
  test_support::TempDir dir;
  EngineConfig config = test_config();
  config.instruments[0].bands.band_bps = 500;
  config.accounts[0].limits.max_messages_per_second = 10;
  config.accounts[0].limits.message_burst = 5;
  Engine live(config);
  EventBuffer ev;
  const core::Nanos t0 = 1'000 * core::kNanosPerSecond;
  auto run = [&](Engine& e, Command c, core::Nanos t) -> const EventBuffer& {
    c.timestamp = t;
    ev.clear();
    e.apply(c, ev);
    return ev;
  };
  Command keyed = limit(1, kAlice, Side::kBuy, 1050, 10);  // at the upper band: limit state
  std::get<NewOrder>(keyed.body).client_order_key = 4242;
  run(live, keyed, t0);
  run(live, limit(2, kBob, Side::kSell, 1100, 10), t0);
  run(live, Command{0, KillSwitch{false, kCarol, true}}, t0);
  run(live, Command{0, TradingHalt{false, kBeta, true}}, t0);
  ASSERT_TRUE(write_snapshot(live, dir.path(), 4));

  Engine restored(config);
  auto file = read_snapshot_file(dir.file(snapshot_file_name(4)));
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_TRUE(load_snapshot(restored, *file));
  EXPECT_EQ(restored.digest(), live.digest());

  Command again = limit(3, kAlice, Side::kBuy, 1000, 10);
  std::get<NewOrder>(again.body).client_order_key = 4242;
  EXPECT_EQ(only<Rejected>(run(restored, again, t0 + 1)).at(0).code,
            RejectCode::kDuplicateClientOrderId);
  EXPECT_EQ(
      only<Rejected>(run(restored, limit(4, kCarol, Side::kBuy, 1000, 10), t0 + 1)).at(0).code,
      RejectCode::kAccountKilled);
  EXPECT_EQ(only<Rejected>(
                run(restored, limit(5, kBob, Side::kBuy, 50, 1, TimeInForce::kDay, kBeta), t0 + 1))
                .at(0)
                .code,
            RejectCode::kSymbolHalted);
  // The limit state started before the snapshot; its timer still fires at t0 + 15 s.
  EXPECT_EQ(
      only<Halted>(run(restored, Command{0, Tick{}}, t0 + 15 * core::kNanosPerSecond)).at(0).reason,
      HaltReason::kLimitUpLimitDown);
}

// Feeds `words` to a fresh engine's load_state; returns its complaint ("" when accepted).
std::string load_words(const std::vector<std::uint64_t>& words) {
  Engine fresh(test_config());
  std::size_t at = 0;
  return fresh.load_state([&](std::uint64_t& v) {
    if (at >= words.size()) return false;
    v = words[at++];
    return true;
  });
}

TEST(Snapshot, TruncatedPayloadsAreRefused) {
  Engine engine(test_config());
  EventBuffer events;
  engine.apply(limit(1, kAlice, Side::kBuy, 1000, 10), events);
  std::vector<std::uint64_t> words;
  engine.save_state([&](std::uint64_t v) { words.push_back(v); });
  ASSERT_EQ(load_words(words), "");
  for (std::size_t cut = 0; cut < words.size(); ++cut) {
    EXPECT_FALSE(
        load_words({words.begin(), words.begin() + static_cast<std::ptrdiff_t>(cut)}).empty())
        << "truncated at word " << cut;
  }
}

TEST(Snapshot, DamagedPayloadsAreRefusedNotTrusted) {
  // Words that would pass a checksum (they are fed to load_state directly) but not the engine's
  // validation: each is refused with its reason, never loaded as a book.
  Engine engine(test_config());
  EventBuffer events;
  engine.apply(limit(7, kAlice, Side::kBuy, 1000, 10), events);
  engine.apply(limit(8, kBob, Side::kSell, 1010, 5), events);
  std::vector<std::uint64_t> words;
  engine.save_state([&](std::uint64_t v) { words.push_back(v); });
  ASSERT_EQ(load_words(words), "") << "the undamaged state loads";

  // The resting buy order: id, account, side, tif, price, qty, leaves, cum, notional, owner.
  std::size_t order = 0;
  for (std::size_t i = 0; i + 9 < words.size(); ++i) {
    if (words[i] == 7 && words[i + 1] == kAlice.value() && words[i + 4] == 1000) order = i;
  }
  ASSERT_NE(order, 0u) << "order 7 found in the state";
  struct Damage {
    const char* what;
    std::size_t offset;
    std::uint64_t value;
    const char* reason;
  };
  const Damage damages[] = {
      {"side", 2, 9, "invalid side or time in force"},
      {"time in force", 3, 9, "invalid side or time in force"},
      {"id 0", 0, 0, "is not a valid order"},
      {"unknown account", 1, 999, "is not a valid order"},
      {"price 0", 4, 0, "is not a valid order"},
      {"price beyond the maximum", 4, std::uint64_t{1} << 62, "is not a valid order"},
      {"leaves + cum != qty", 6, 11, "is not a valid order"},
      {"negative leaves", 6, static_cast<std::uint64_t>(-5), "is not a valid order"},
      {"negative notional", 8, static_cast<std::uint64_t>(-1), "is not a valid order"},
  };
  for (const auto& d : damages) {
    auto damaged = words;
    damaged[order + d.offset] = d.value;
    const std::string problem = load_words(damaged);
    EXPECT_NE(problem.find(d.reason), std::string::npos) << d.what << ": " << problem;
  }
  // The venue flags (after the version, counts, account ids, the counts of accounts and
  // sessions added at run time, and three counters).
  auto flags = words;
  flags[3 + test_config().accounts.size() + 2 + 3] = 7;
  EXPECT_EQ(load_words(flags), "snapshot venue flags invalid");
  // The same order twice on one side (a record is a non-zero marker and the ten fields).
  auto twice = words;
  twice.insert(twice.begin() + static_cast<std::ptrdiff_t>(order + 10),
               words.begin() + static_cast<std::ptrdiff_t>(order - 1),
               words.begin() + static_cast<std::ptrdiff_t>(order + 10));
  EXPECT_NE(load_words(twice).find("is not a valid order"), std::string::npos);
  // A huge client-key count, and data after the end.
  ASSERT_EQ(words.back(), 0u) << "no ClOrdID keys: the count is the last word";
  auto keys = words;
  keys.back() = std::uint64_t{1} << 40;
  EXPECT_EQ(load_words(keys), "snapshot client order keys invalid");
  auto longer = words;
  longer.push_back(42);
  EXPECT_EQ(load_words(longer), "snapshot has data after the engine state");
}

}  // namespace
