#include "mes/ingest/reading_sink.hpp"

#include <algorithm>
#include <vector>

#include "logging/logger.hpp"

namespace mes::ingest {

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::kBadTopic:
      return "bad_topic";
    case RejectReason::kBadPayload:
      return "bad_payload";
    case RejectReason::kUnknownSensor:
      return "unknown_sensor";
    case RejectReason::kWrongUnit:
      return "wrong_unit";
  }
  return "bad_payload";
}

bool RejectLogLimiter::should_log(const std::string& sensor, Millis now,
                                  std::uint64_t& suppressed) {
  if (entries_.size() >= max_sensors_ && entries_.find(sensor) == entries_.end()) {
    // Forget sensors not refused for a period (random names must not grow the map for ever).
    std::erase_if(entries_, [&](const auto& e) { return now - e.second.last >= period_; });
    if (entries_.size() >= max_sensors_) {
      suppressed = 0;
      return false;  // a flood of new names: counted by the caller, not logged
    }
  }
  auto [it, inserted] = entries_.try_emplace(sensor);
  Entry& e = it->second;
  if (!inserted && now - e.last < period_) {
    ++e.suppressed;
    return false;
  }
  suppressed = e.suppressed;
  e.suppressed = 0;
  e.last = now;
  return true;
}

ReadingSink::ReadingSink(Mes& mes, std::function<Millis()> clock, Options options)
    : mes_(mes), clock_(std::move(clock)), options_(options), thread_([this] { loop(); }) {}

ReadingSink::~ReadingSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

Result<void> ReadingSink::submit(Mes::SensorReading reading) {
  received_.fetch_add(1, std::memory_order_relaxed);
  Pending pending{std::move(reading), {}, false};
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return refuse(Code::kStorage, "the reading sink is stopping");
    queue_.push_back(&pending);
  }
  work_.notify_one();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return pending.done; });
  return std::move(pending.result);
}

void ReadingSink::reject(std::string_view sensor, RejectReason reason, const std::string& message) {
  count_and_log(std::string(sensor), reason, message);
}

void ReadingSink::count_and_log(const std::string& sensor, RejectReason reason,
                                const std::string& message) {
  rejected_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t suppressed = 0;
  bool log = false;
  {
    std::lock_guard lock(log_mutex_);
    log =
        limiter_.should_log(sensor.empty() ? std::string("(none)") : sensor, clock_(), suppressed);
  }
  if (log) {
    logging::warn("ingest", "sensor reading refused",
                  {{"sensor", sensor},
                   {"reason", std::string(to_string(reason))},
                   {"error", message},
                   {"suppressed_since_last_log", static_cast<std::int64_t>(suppressed)}});
  }
}

ReadingSink::Stats ReadingSink::stats() const {
  Stats s;
  s.received = received_.load(std::memory_order_relaxed);
  s.stored = stored_.load(std::memory_order_relaxed);
  s.alarms = alarms_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.storage_retries = retries_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kRejectReasons; ++i) {
    s.rejected[i] = rejected_[i].load(std::memory_order_relaxed);
  }
  return s;
}

void ReadingSink::loop() {
  std::vector<Pending*> group;
  std::vector<Mes::SensorReading> readings;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      group.clear();
      while (!queue_.empty() && group.size() < options_.max_batch) {
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    readings.clear();
    for (const Pending* p : group) readings.push_back(p->reading);
    Millis backoff = options_.retry_min_ms;
    Result<Mes::ReadingsOutcome> outcome = mes_.record_readings(readings);
    while (!outcome && outcome.error().code == Code::kStorage) {
      // Keep the readings (their submitters still wait) and try again, unless we are stopping.
      {
        std::unique_lock lock(mutex_);
        if (work_.wait_for(lock, std::chrono::milliseconds(backoff), [&] { return stopping_; })) {
          break;
        }
      }
      retries_.fetch_add(1, std::memory_order_relaxed);
      logging::warn("ingest", "storing readings failed; retrying",
                    {{"error", outcome.error().message}, {"readings", readings.size()}});
      backoff = std::min(backoff * 2, options_.retry_max_ms);
      outcome = mes_.record_readings(readings);
    }
    std::vector<Result<void>> results(group.size());
    if (!outcome) {
      for (auto& r : results) r = tl::unexpected(outcome.error());
    } else {
      batches_.fetch_add(1, std::memory_order_relaxed);
      stored_.fetch_add(outcome->stored, std::memory_order_relaxed);
      alarms_.fetch_add(outcome->alarms, std::memory_order_relaxed);
      for (const auto& rejected : outcome->rejected) {
        const Pending* p = group[rejected.index];
        const RejectReason reason = rejected.code == Code::kUnknownDevice
                                        ? RejectReason::kUnknownSensor
                                    : p->reading.unit.empty() ? RejectReason::kBadPayload
                                                              : RejectReason::kWrongUnit;
        count_and_log(p->reading.sensor_id, reason, rejected.message);
        results[rejected.index] = refuse(rejected.code, rejected.message);
      }
    }
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < group.size(); ++i) {
        group[i]->result = std::move(results[i]);
        group[i]->done = true;
      }
    }
    done_.notify_all();
  }
}

}  // namespace mes::ingest
