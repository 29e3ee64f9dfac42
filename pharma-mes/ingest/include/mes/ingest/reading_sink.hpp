// ReadingSink: where every sensor reading goes, whatever carried it (MQTT, tests). One writer
// thread stores what has gathered in one Mes::record_readings call (alarms evaluated there).
// Two ways in:
//  - submit() returns only after the reading is committed or refused;
//  - accept() appends the reading to a spool file (two files used in turn; write(), no fsync: it
//    survives a killed process, not a power cut) and returns at once; the writer commits the
//    spooled readings in batches and empties a spool file once all of it is committed. At
//    construction the readings left in the spool files by a crash are stored first (at least
//    once: a batch committed just before the crash is stored again).
// A storage failure is retried with backoff while the sink runs (nothing is dropped). Refusals
// are counted by reason and logged at most once per sensor per minute. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mes/domain/service.hpp"

namespace mes::ingest {

// Why a reading was refused (a metric label each).
enum class RejectReason : std::uint8_t { kBadTopic, kBadPayload, kUnknownSensor, kWrongUnit };
inline constexpr std::size_t kRejectReasons = 4;
std::string_view to_string(RejectReason reason);

// Remembers when a sensor's refusal was last logged (at most once a minute each); bounded.
// Not thread-safe (ReadingSink guards it).
class RejectLogLimiter {
 public:
  explicit RejectLogLimiter(Millis period = 60'000, std::size_t max_sensors = 10'000)
      : period_(period), max_sensors_(max_sensors) {}
  // True when a refusal of `sensor` at `now` should be logged; otherwise counts it as
  // suppressed. `suppressed` receives how many were suppressed since the last logged one.
  bool should_log(const std::string& sensor, Millis now, std::uint64_t& suppressed);

 private:
  struct Entry {
    Millis last = 0;
    std::uint64_t suppressed = 0;
  };
  Millis period_;
  std::size_t max_sensors_;
  std::map<std::string, Entry> entries_;
};

// The spool's record format (exposed for tests): 'R', sensor length (1 byte), sensor, unit
// length (1 byte), unit, time (8 bytes), value (8), FNV-1a of all that (4). decode_spool() stops
// at the first record that does not check out (a torn tail).
std::string encode_spooled(const Mes::SensorReading& reading);
std::vector<Mes::SensorReading> decode_spool(const std::string& bytes);

class ReadingSink {
 public:
  struct Options {
    std::size_t max_batch = 4096;
    Millis retry_min_ms = 100, retry_max_ms = 5000;
    std::string spool_dir;              // accept() needs it; empty: submit() only
    std::size_t max_spooled = 200'000;  // accept() waits while this many are not yet stored
  };
  struct Stats {
    std::uint64_t received = 0, stored = 0, alarms = 0, batches = 0, storage_retries = 0;
    std::array<std::uint64_t, kRejectReasons> rejected{};
  };

  ReadingSink(Mes& mes, std::function<Millis()> clock, Options options);
  ReadingSink(Mes& mes, std::function<Millis()> clock) : ReadingSink(mes, std::move(clock), {}) {}
  ~ReadingSink();  // stores what was submitted, then stops
  ReadingSink(const ReadingSink&) = delete;
  ReadingSink& operator=(const ReadingSink&) = delete;

  // Stores one reading; blocks until it is committed (ok) or refused (the refusal).
  Result<void> submit(Mes::SensorReading reading);
  // Spools one reading and returns (see above); false if there is no spool or it cannot be
  // written (the caller then falls back to submit()).
  bool accept(const Mes::SensorReading& reading);
  // How many readings the spool files held at start-up (stored before anything else).
  std::size_t replayed() const { return replayed_; }
  // A message refused before it reached the store (topic, payload): counted and logged.
  void reject(std::string_view sensor, RejectReason reason, const std::string& message);
  Stats stats() const;

 private:
  struct Pending {
    Mes::SensorReading reading;
    Result<void> result;
    bool done = false;
  };
  void loop();
  void open_spool();
  Result<Mes::ReadingsOutcome> store_with_retry(const std::vector<Mes::SensorReading>& readings);
  void count_refusals(const std::vector<Mes::SensorReading>& readings,
                      const Mes::ReadingsOutcome& outcome, std::size_t first);
  void count_and_log(const std::string& sensor, RejectReason reason, const std::string& message);

  Mes& mes_;
  std::function<Millis()> clock_;
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::condition_variable space_;  // accept() waits here while the spool is full
  int spool_fd_[2] = {-1, -1};
  int active_spool_ = 0;
  std::vector<Mes::SensorReading> spooled_;  // in the active spool file, not yet stored
  std::size_t replayed_ = 0;
  std::mutex log_mutex_;
  RejectLogLimiter limiter_;
  std::atomic<std::uint64_t> received_{0}, stored_{0}, alarms_{0}, batches_{0}, retries_{0};
  std::array<std::atomic<std::uint64_t>, kRejectReasons> rejected_{};
  std::thread thread_;
};

}  // namespace mes::ingest
