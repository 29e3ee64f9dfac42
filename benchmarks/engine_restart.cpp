// Restart time of the venue (issue #3): journals a synthetic day (a book filled to --resting
// orders, then flow up to --commands journaled commands, a snapshot every --snapshot-every),
// then restarts from the directory: snapshot + tail, and the whole journal without snapshots,
// each twice: with a cold page cache (the directory's files written back and dropped from the
// cache with posix_fadvise, as after a reboot or on a new machine) and then warm (what the
// first restart left in the cache, as after a process crash). Prints the times, the rates, the
// snapshot size and the memory per resting order, and checks that every restart reaches the
// live engine's digest (exit 1 if not).
//   engine_restart --resting 1000000 --commands 10000000 --snapshot-every 2500000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "page_cache.hpp"
#include "trading/domain/matching_engine.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/snapshot.hpp"
#include "trading/journal/writer.hpp"
#include "trading/testing/order_flow.hpp"

namespace {

using namespace trading;
using namespace trading::journal;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

EngineConfig config() {
  EngineConfig c;
  c.instruments = {Instrument{"ACME", Price{5}, Qty{10}, Price{100'000}, true, {}}};
  for (std::uint32_t a = 1; a <= 8; ++a)
    c.accounts.push_back(Account{AccountId(a), "acct", StpMode::kCancelResting, {}});
  return c;
}

std::uint64_t flag(int argc, char** argv, std::string_view name, std::uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t resting = flag(argc, argv, "--resting", 100'000);
  const std::uint64_t commands = flag(argc, argv, "--commands", 1'000'000);
  const std::uint64_t snapshot_every = flag(argc, argv, "--snapshot-every", commands / 4 + 1);
  const std::string dir = (std::filesystem::temp_directory_path() / "gv-engine-restart").string();
  std::filesystem::remove_all(dir);

  // A journaled day.
  MatchingEngine<OrderBook> live(config());
  testing::OrderFlow::Options options;
  options.target_resting = resting;
  for (std::uint32_t a = 1; a <= 8; ++a) options.accounts.push_back(AccountId(a));
  testing::OrderFlow flow(3, options);
  EventBuffer events;
  auto writer = JournalWriter::open(dir, SyncPolicy::kWrite, 1);
  if (!writer) {
    std::fprintf(stderr, "%s\n", writer.error().message.c_str());
    return 1;
  }
  const auto day_start = Clock::now();
  double snapshot_seconds = 0;
  std::uint64_t snapshots = 0;
  for (std::uint64_t i = 1; i <= commands; ++i) {
    const Command c = i <= resting ? flow.passive_add() : flow.next();
    (*writer)->append(c);
    events.clear();
    live.apply(c, events);
    flow.observe(events);
    if (i % 256 == 0 && !(*writer)->commit()) return 1;
    if (i % snapshot_every == 0) {
      if (!(*writer)->commit()) return 1;
      const auto s = Clock::now();
      if (!write_snapshot(live, dir, i) || !(*writer)->rotate()) return 1;
      snapshot_seconds += seconds_since(s);
      ++snapshots;
    }
  }
  if (!(*writer)->commit()) return 1;
  writer->reset();
  const double day_seconds = seconds_since(day_start);
  const auto& book = live.book(SymbolId(0));
  std::uintmax_t journal_bytes = 0, snapshot_bytes = 0;
  for (const auto& [seq, path] : list_segments(dir))
    journal_bytes += std::filesystem::file_size(path);
  const auto snaps = list_snapshots(dir);
  if (!snaps.empty()) snapshot_bytes = std::filesystem::file_size(snaps.front().second);

  std::printf(
      "journaled %llu commands (%llu resting at the end) in %.2f s; journal %.1f MB, "
      "%llu snapshots (%.2f s total, newest %.1f MB)\n",
      static_cast<unsigned long long>(commands),
      static_cast<unsigned long long>(book.order_count()), day_seconds,
      static_cast<double>(journal_bytes) / 1e6, static_cast<unsigned long long>(snapshots),
      snapshot_seconds, static_cast<double>(snapshot_bytes) / 1e6);
  std::printf("memory per resting order: %.0f bytes (book pools, ladders and index)\n",
              static_cast<double>(book.memory_bytes()) / static_cast<double>(book.order_count()));

  bool ok = true;
  for (const bool use_snapshots : {true, false}) {
    for (const bool cold : {true, false}) {
      if (cold) bench::evict_from_page_cache(dir);
      MatchingEngine<OrderBook> restarted(config());
      RecoveryOptions ro;
      ro.use_snapshots = use_snapshots;
      const auto start = Clock::now();
      auto report = recover(restarted, dir, ro);
      const double took = seconds_since(start);
      if (!report) {
        std::fprintf(stderr, "recovery failed: %s\n", report.error().message.c_str());
        return 1;
      }
      const bool equal = restarted.digest() == live.digest();
      ok = ok && equal;
      std::printf(
          "restart %-22s %-11s %.3f s: %s%llu records replayed (%.2f M records/s overall), "
          "digest %s\n",
          use_snapshots ? "(snapshot + tail):" : "(whole journal):",
          cold ? "cold cache:" : "warm cache:", took,
          report->snapshot_sequence ? "snapshot loaded, then " : "",
          static_cast<unsigned long long>(report->records_replayed),
          took > 0 ? static_cast<double>(report->records_replayed) / took / 1e6 : 0.0,
          equal ? "equal" : "DIFFERENT");
    }
  }
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
