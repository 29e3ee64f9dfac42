// MES store throughput on a real database (issue #5): audited commands committed durably by one
// writer and by 8 concurrent writers (group commit), sensor readings stored in batches, and audit
// chain verification. Each command is what a parameter entry costs: read the step record, write
// it back, two audit entries.
//   mes_store_bench [--url sqlite:///tmp/x.db | postgresql://...] [--commands N] [--readings N]
// Prints one JSON line per measurement. The database at --url is used as is (give a fresh one).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "mes/store/open.hpp"

namespace {

using namespace mes;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<void> parameter_entry(Transaction& tx, const std::string& id, int value) {
  auto doc = tx.get("step", id);
  Document d = doc ? *doc : Document{"step", id, 0, "B-1", "Running", "{}", false, {}};
  const std::string old = d.body;
  d.body = R"({"temperature":)" + std::to_string(value) + "}";
  if (auto r = tx.put(d); !r) return r;
  AuditEntry e;
  e.actor = "op1";
  e.action = "modify";
  e.object_type = "step";
  e.object_id = id;
  e.field = "temperature";
  e.old_value = old;
  e.new_value = d.body;
  e.reason = "entry";
  if (auto r = tx.append_audit(e); !r) return r;
  AuditEntry v = e;
  v.action = "verify";
  v.field.clear();
  return tx.append_audit(v);
}

int run_writers(Store& store, int threads, int commands, const char* label) {
  std::atomic<int> failures{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = t; i < commands; i += threads) {
        const std::string id = std::string(label) + "-" + std::to_string(i % 500);
        if (!store.transact([&](Transaction& tx) { return parameter_entry(tx, id, i); })) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  const double s = seconds_since(start);
  std::printf(
      "{\"measure\":\"audited_commands\",\"writers\":%d,\"commands\":%d,\"seconds\":%.3f,"
      "\"per_second\":%.0f,\"failures\":%d}\n",
      threads, commands, s, commands / s, failures.load());
  std::fflush(stdout);
  return failures.load();
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int commands = 4000, readings = 200'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--url") == 0) url = argv[i + 1];
    if (std::strcmp(argv[i], "--commands") == 0) commands = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--readings") == 0) readings = std::atoi(argv[i + 1]);
  }
  std::string temp;
  if (url.empty()) {
    temp = (std::filesystem::temp_directory_path() / ("mes-bench-" + std::to_string(::getpid())))
               .string();
    std::filesystem::create_directories(temp);
    url = "sqlite://" + temp + "/mes.db";
  }
  auto opened = store::open_store(url);
  if (!opened) {
    std::fprintf(stderr, "mes_store_bench: %s\n", opened.error().message.c_str());
    return 2;
  }
  Store& store = **opened;
  int failures = run_writers(store, 1, commands, "one");
  failures += run_writers(store, 8, commands * 4, "eight");

  // Readings: batches of 1 000 per command.
  const auto start = Clock::now();
  for (int done = 0; done < readings; done += 1000) {
    std::vector<Reading> batch;
    for (int k = 0; k < 1000; ++k) {
      batch.push_back(Reading{"TT-" + std::to_string(k % 40),
                              1'700'000'000'000 + done + k,
                              20.0 + (k % 7) * 0.1,
                              {},
                              0});
    }
    if (!store.transact([&](Transaction& tx) { return tx.add_readings(batch); })) ++failures;
  }
  const double rs = seconds_since(start);
  std::printf(
      "{\"measure\":\"readings_batched\",\"readings\":%d,\"seconds\":%.3f,"
      "\"per_second\":%.0f}\n",
      readings, rs, readings / rs);

  // The chain check alone (hashing and links) on entries already in memory.
  std::vector<AuditEntry> in_memory;
  (void)store.walk_audit(1, [&](const AuditEntry& e) {
    in_memory.push_back(e);
    return true;
  });
  const auto mstart = Clock::now();
  ChainVerifier memory_verifier;
  for (const auto& e : in_memory) memory_verifier.feed(e);
  const double ms = seconds_since(mstart);
  std::printf(
      "{\"measure\":\"audit_verify_in_memory\",\"entries\":%zu,\"seconds\":%.3f,"
      "\"per_second\":%.0f,\"ok\":%s}\n",
      in_memory.size(), ms, static_cast<double>(in_memory.size()) / ms,
      memory_verifier.problem() ? "false" : "true");

  // Reading the trail alone, to tell storage cost from hashing cost.
  const auto wstart = Clock::now();
  std::int64_t walked_entries = 0;
  (void)store.walk_audit(1, [&](const AuditEntry&) {
    ++walked_entries;
    return true;
  });
  const double ws = seconds_since(wstart);
  std::printf(
      "{\"measure\":\"audit_walk_only\",\"entries\":%lld,\"seconds\":%.3f,"
      "\"per_second\":%.0f}\n",
      static_cast<long long>(walked_entries), ws, static_cast<double>(walked_entries) / ws);

  // Verification of the whole chain.
  const auto vstart = Clock::now();
  ChainVerifier verifier;
  auto walked = store.feed_audit(1, verifier);  // read and hash on two threads
  verifier.finish();
  const double vs = seconds_since(vstart);
  std::printf(
      "{\"measure\":\"audit_verify\",\"entries\":%lld,\"seconds\":%.3f,"
      "\"per_second\":%.0f,\"ok\":%s}\n",
      static_cast<long long>(verifier.entries_checked()), vs,
      static_cast<double>(verifier.entries_checked()) / vs,
      walked && !verifier.problem() ? "true" : "false");
  opened->reset();
  if (!temp.empty()) std::filesystem::remove_all(temp);
  return failures == 0 && walked && !verifier.problem() ? 0 : 1;
}
