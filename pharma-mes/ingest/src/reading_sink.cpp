#include "mes/ingest/reading_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
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

namespace {

std::uint32_t fnv1a(const char* data, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 16777619u;
  }
  return h;
}

}  // namespace

std::string encode_spooled(const Mes::SensorReading& r) {
  std::string out = "R";
  out += static_cast<char>(std::min<std::size_t>(r.sensor_id.size(), 255));
  out.append(r.sensor_id, 0, 255);
  out += static_cast<char>(std::min<std::size_t>(r.unit.size(), 255));
  out.append(r.unit, 0, 255);
  char fixed[16];
  std::memcpy(fixed, &r.at, 8);
  std::memcpy(fixed + 8, &r.value, 8);
  out.append(fixed, 16);
  const std::uint32_t h = fnv1a(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(&h), 4);
  return out;
}

std::vector<Mes::SensorReading> decode_spool(const std::string& bytes) {
  std::vector<Mes::SensorReading> out;
  std::size_t at = 0;
  while (at + 2 <= bytes.size() && bytes[at] == 'R') {
    const std::size_t start = at;
    const std::size_t sensor_len = static_cast<unsigned char>(bytes[at + 1]);
    std::size_t p = at + 2 + sensor_len;
    if (p + 1 > bytes.size()) break;
    const std::size_t unit_len = static_cast<unsigned char>(bytes[p]);
    const std::size_t end = p + 1 + unit_len + 16 + 4;
    if (end > bytes.size()) break;
    std::uint32_t h = 0;
    std::memcpy(&h, bytes.data() + end - 4, 4);
    if (h != fnv1a(bytes.data() + start, end - 4 - start)) break;
    Mes::SensorReading r;
    r.sensor_id = bytes.substr(at + 2, sensor_len);
    r.unit = bytes.substr(p + 1, unit_len);
    std::memcpy(&r.at, bytes.data() + p + 1 + unit_len, 8);
    std::memcpy(&r.value, bytes.data() + p + 1 + unit_len + 8, 8);
    out.push_back(std::move(r));
    at = end;
  }
  return out;
}

namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  if (::lseek(fd, 0, SEEK_SET) < 0) return out;
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

ReadingSink::ReadingSink(Mes& mes, std::function<Millis()> clock, Options options)
    : mes_(mes), clock_(std::move(clock)), options_(std::move(options)) {
  if (!options_.spool_dir.empty()) open_spool();
  thread_ = std::thread([this] { loop(); });
}

ReadingSink::~ReadingSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  space_.notify_all();
  thread_.join();
  for (int fd : spool_fd_) {
    if (fd >= 0) ::close(fd);
  }
}

void ReadingSink::open_spool() {
  std::error_code ec;
  std::filesystem::create_directories(options_.spool_dir, ec);
  for (int i = 0; i < 2; ++i) {
    const std::string path = options_.spool_dir + "/readings-" + std::to_string(i) + ".spool";
    spool_fd_[i] = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (spool_fd_[i] < 0) {
      logging::error("ingest", "cannot open the reading spool; readings are stored one by one",
                     {{"path", path}, {"error", std::string(std::strerror(errno))}});
      for (int& fd : spool_fd_) {
        if (fd >= 0) ::close(fd);
        fd = -1;
      }
      return;
    }
  }
  // What a crash left behind goes first.
  for (int i = 0; i < 2; ++i) {
    const auto left = decode_spool(read_all(spool_fd_[i]));
    for (std::size_t from = 0; from < left.size(); from += options_.max_batch) {
      const std::vector<Mes::SensorReading> chunk(
          left.begin() + static_cast<std::ptrdiff_t>(from),
          left.begin() +
              static_cast<std::ptrdiff_t>(std::min(left.size(), from + options_.max_batch)));
      auto r = store_with_retry(chunk);
      if (!r) {
        logging::error("ingest", "cannot store the spooled readings; they stay in the spool",
                       {{"error", r.error().message}});
        for (int& fd : spool_fd_) {
          ::close(fd);
          fd = -1;
        }
        return;
      }
      count_refusals(chunk, *r, 0);
    }
    replayed_ += left.size();
    if (::ftruncate(spool_fd_[i], 0) != 0) {
      logging::warn("ingest", "cannot empty a spool file",
                    {{"error", std::string(std::strerror(errno))}});
    }
  }
  if (replayed_ > 0) {
    logging::info("ingest", "stored the readings spooled before a restart",
                  {{"readings", static_cast<std::int64_t>(replayed_)}});
  }
}

bool ReadingSink::accept(const Mes::SensorReading& reading) {
  received_.fetch_add(1, std::memory_order_relaxed);
  const std::string record = encode_spooled(reading);
  std::unique_lock lock(mutex_);
  if (spool_fd_[0] < 0 || stopping_) {
    received_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  space_.wait(lock, [&] { return stopping_ || spooled_.size() < options_.max_spooled; });
  const int fd = spool_fd_[active_spool_];
  if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size())) {
    logging::error("ingest", "cannot write the reading spool",
                   {{"error", std::string(std::strerror(errno))}});
    received_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  spooled_.push_back(reading);
  lock.unlock();
  work_.notify_one();
  return true;
}

Result<Mes::ReadingsOutcome> ReadingSink::store_with_retry(
    const std::vector<Mes::SensorReading>& readings) {
  Millis backoff = options_.retry_min_ms;
  Result<Mes::ReadingsOutcome> outcome = mes_.record_readings(readings);
  while (!outcome && outcome.error().code == Code::kStorage) {
    // Keep the readings and try again, unless we are stopping.
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
  if (outcome) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    stored_.fetch_add(outcome->stored, std::memory_order_relaxed);
    alarms_.fetch_add(outcome->alarms, std::memory_order_relaxed);
  }
  return outcome;
}

void ReadingSink::count_refusals(const std::vector<Mes::SensorReading>& readings,
                                 const Mes::ReadingsOutcome& outcome, std::size_t first) {
  for (const auto& rejected : outcome.rejected) {
    if (rejected.index < first) continue;
    const Mes::SensorReading& r = readings[rejected.index];
    const RejectReason reason = rejected.code == Code::kUnknownDevice ? RejectReason::kUnknownSensor
                                : r.unit.empty()                      ? RejectReason::kBadPayload
                                                                      : RejectReason::kWrongUnit;
    count_and_log(r.sensor_id, reason, rejected.message);
  }
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
  std::vector<Mes::SensorReading> readings, spooled;
  while (true) {
    int spool_to_empty = -1;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty() || !spooled_.empty(); });
      if (queue_.empty() && spooled_.empty()) return;  // stopping with nothing left
      group.clear();
      while (!queue_.empty() && group.size() < options_.max_batch) {
        group.push_back(queue_.front());
        queue_.pop_front();
      }
      // Everything spooled so far: its file is emptied once this batch is committed, and new
      // readings go to the other file meanwhile.
      spooled.clear();
      if (!spooled_.empty()) {
        spooled.swap(spooled_);
        spool_to_empty = active_spool_;
        active_spool_ ^= 1;
      }
    }
    space_.notify_all();
    readings.clear();
    for (const Pending* p : group) readings.push_back(p->reading);
    readings.insert(readings.end(), spooled.begin(), spooled.end());
    const Result<Mes::ReadingsOutcome> outcome = store_with_retry(readings);
    std::vector<Result<void>> results(group.size());
    if (!outcome) {
      for (auto& r : results) r = tl::unexpected(outcome.error());
      if (!spooled.empty()) {
        // Stopping while the store fails: the spool file keeps them for the next start.
        logging::error("ingest", "spooled readings not stored; they stay in the spool",
                       {{"readings", spooled.size()}, {"error", outcome.error().message}});
        spool_to_empty = -1;
      }
    } else {
      count_refusals(readings, *outcome, 0);
      for (const auto& rejected : outcome->rejected) {
        if (rejected.index < group.size()) {
          results[rejected.index] = refuse(rejected.code, rejected.message);
        }
      }
    }
    if (spool_to_empty >= 0 && ::ftruncate(spool_fd_[spool_to_empty], 0) != 0) {
      logging::warn("ingest", "cannot empty a spool file",
                    {{"error", std::string(std::strerror(errno))}});
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
