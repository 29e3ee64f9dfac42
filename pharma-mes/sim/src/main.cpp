// mes-sensor-sim: publishes environmental readings of the demo plant (rooms of grades A-D:
// temperature, humidity, differential pressure, particles) to the MQTT broker as
// plant/{room}/{sensor}/reading at QoS 1. Values wander around their set points with occasional
// excursions past the alert and action limits; one sensor stays silent (a data gap for the
// MES to find). `--rate=N` turns it into a load generator (N readings/s spread over the sensors,
// `--count` readings in all), which waits for every acknowledgement and prints a JSON summary.
#include <mqtt/async_client.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>

#include "config/config.hpp"
#include "mes/ingest/demo_plant.hpp"
#include "mes/ingest/reading_message.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

config::Schema make_schema() {
  config::Schema schema("mes-sensor-sim", "MES_SENSOR_SIM",
                        "environmental sensor readings of the demo plant, over MQTT");
  schema.add_string("mqtt.uri", "tcp://127.0.0.1:1883", "the broker")
      .add_string("mqtt.client_id", "mes-sensor-sim", "MQTT client id")
      .add_int("interval_ms", 1000, 10, 3'600'000, "time between readings of each sensor")
      .add_int("rate", 0, 0, 1'000'000, "load mode: readings per second over all sensors (0: off)")
      .add_int("count", 0, 0, 1'000'000'000, "stop after this many readings (0: run until SIGTERM)")
      .add_string("silent", mes::ingest::kDemoSilentSensor,
                  "comma-separated sensors that never publish (empty: none)")
      .add_double("excursion_probability", 0.002, 0, 1,
                  "chance per reading that an excursion starts")
      .add_int("seed", 1, 0, 1'000'000'000, "random seed (0: from the clock)")
      .add_int("max_inflight", 100, 1, 65'535, "unacknowledged publishes at most");
  return schema;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One sensor's value: a mean-reverting random walk, now and then pushed past its limits.
struct Signal {
  mes::ingest::DemoSensor def;
  double value = 0;
  int excursion_left = 0;
  double excursion_target = 0;

  double next(std::mt19937_64& rng, double excursion_probability) {
    std::normal_distribution<double> step(0.0, def.noise);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (excursion_left == 0 && u(rng) < excursion_probability) {
      excursion_left = 5 + static_cast<int>(u(rng) * 10);
      // Half of them reach the action limit, half stay between alert and action.
      const bool action = u(rng) < 0.5;
      const double high = action ? def.sensor.action_high * 1.05
                                 : (def.sensor.alert_high + def.sensor.action_high) / 2;
      excursion_target = high;
    }
    const double target = excursion_left > 0 ? excursion_target : def.setpoint;
    if (excursion_left > 0) --excursion_left;
    value += 0.3 * (target - value) + step(rng);
    if (def.sensor.kind == "PART05") value = std::max(0.0, value);
    return value;
  }
};

// Counts the broker's acknowledgements (one listener for every publish).
class AckCounter final : public mqtt::iaction_listener {
 public:
  std::atomic<std::int64_t> acked{0}, failed{0};
  void on_success(const mqtt::token&) override { acked.fetch_add(1); }
  void on_failure(const mqtt::token&) override { failed.fetch_add(1); }
};

}  // namespace

int main(int argc, char** argv) {
  const config::Schema schema = make_schema();
  const config::Values values = config::load_or_exit(schema, argc, argv);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  std::vector<std::string> silent;
  {
    const std::string list = values.get_string("silent");
    std::size_t start = 0;
    while (start <= list.size() && !list.empty()) {
      const std::size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) silent.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  }
  std::vector<Signal> signals;
  for (auto& d : mes::ingest::demo_sensors(0)) {
    if (std::find(silent.begin(), silent.end(), d.sensor.id) != silent.end()) continue;
    Signal s{d, d.setpoint, 0, 0};
    signals.push_back(std::move(s));
  }
  if (signals.empty()) {
    std::fprintf(stderr, "mes-sensor-sim: every sensor is silent\n");
    return 2;
  }
  const auto seed = values.get_int("seed");
  std::mt19937_64 rng(seed == 0 ? static_cast<std::uint64_t>(now_ms())
                                : static_cast<std::uint64_t>(seed));

  mqtt::async_client client(values.get_string("mqtt.uri"), values.get_string("mqtt.client_id"));
  AckCounter acks;
  std::atomic<std::int64_t>& acked = acks.acked;
  std::atomic<std::int64_t>& failed = acks.failed;
  const int max_inflight = static_cast<int>(values.get_int("max_inflight"));
  auto opts = mqtt::connect_options_builder()
                  .clean_session(true)
                  .max_inflight(max_inflight)
                  .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30))
                  .finalize();
  // Connect with backoff: the broker may still be starting.
  for (std::chrono::milliseconds backoff(100);;
       backoff = std::min(backoff * 2, std::chrono::milliseconds(5000))) {
    try {
      client.connect(opts)->wait();
      break;
    } catch (const mqtt::exception& e) {
      if (g_stop) return 1;
      std::fprintf(stderr, "mes-sensor-sim: broker not reachable (%s); retrying\n", e.what());
      std::this_thread::sleep_for(backoff);
    }
  }

  const std::int64_t rate = values.get_int("rate");
  const std::int64_t count = values.get_int("count");
  const double excursions = values.get_double("excursion_probability");
  const auto interval =
      rate > 0
          ? std::chrono::nanoseconds(1'000'000'000 / rate)
          : std::chrono::nanoseconds(std::chrono::milliseconds(values.get_int("interval_ms"))) /
                static_cast<long>(signals.size());
  std::fprintf(stderr, "mes-sensor-sim: %zu sensors to %s%s\n", signals.size(),
               values.get_string("mqtt.uri").c_str(), silent.empty() ? "" : ", some silent");

  std::int64_t published = 0;
  std::int64_t last_ts = 0;
  const auto started = std::chrono::steady_clock::now();
  auto next_at = started;
  std::size_t i = 0;
  bool publish_failing = false;
  while (!g_stop && (count == 0 || published < count)) {
    // Keep the unacknowledged publishes under the client's limit.
    while (published - acked.load() - failed.load() >= max_inflight && !g_stop) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    Signal& s = signals[i];
    i = (i + 1) % signals.size();
    // Distinct, increasing timestamps (a reading's time identifies it in tests).
    std::int64_t ts = std::max(now_ms(), last_ts + 1);
    last_ts = ts;
    const std::string topic = "plant/" + s.def.sensor.room + "/" + s.def.sensor.id + "/reading";
    auto msg = mqtt::make_message(
        topic, mes::ingest::encode_reading(std::round(s.next(rng, excursions) * 100) / 100,
                                           s.def.sensor.unit, ts));
    msg->set_qos(1);
    try {
      client.publish(msg, nullptr, acks);
    } catch (const mqtt::exception& e) {
      // The client's buffer is full or the broker is away: wait, and say so once a burst.
      if (!publish_failing) std::fprintf(stderr, "mes-sensor-sim: publish failed (%s)\n", e.what());
      publish_failing = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    publish_failing = false;
    ++published;
    next_at += interval;
    const auto now = std::chrono::steady_clock::now();
    if (next_at > now) {
      std::this_thread::sleep_until(next_at);
    } else if (now - next_at > std::chrono::seconds(1)) {
      next_at = now;  // fell behind by more than a second: do not burst to catch up
    }
  }
  // Every publish acknowledged by the broker (or failed) before we report.
  const auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (acked.load() + failed.load() < published &&
         std::chrono::steady_clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "{\"published\":%lld,\"acked\":%lld,\"failed\":%lld,\"seconds\":%.3f,\"rate\":%.0f}\n",
      static_cast<long long>(published), static_cast<long long>(acked.load()),
      static_cast<long long>(failed.load()), seconds, static_cast<double>(acked.load()) / seconds);
  std::fflush(stdout);
  try {
    client.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const mqtt::exception&) {
  }
  return failed.load() == 0 && acked.load() == published ? 0 : 1;
}
