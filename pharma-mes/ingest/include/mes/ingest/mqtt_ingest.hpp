// MqttIngest: sensor readings from the plant's MQTT broker (Eclipse Paho C++) into a
// ReadingSink. Subscribes `plant/+/+/reading` at QoS 1 with persistent sessions (clean session
// off, fixed client ids), so readings published while the MES is down wait at the broker.
// Paho sends a QoS 1 PUBACK as a message arrives, before the application sees it
// (eclipse-paho/paho.mqtt.c#522); each client therefore stores a message before it reads the
// next (the arrival callback blocks on ReadingSink::submit), which bounds what a crash can lose
// to the one message per client between its PUBACK and its commit. Throughput comes from several
// clients in one shared subscription ($share/<group>/...), whose messages the sink commits
// together. Connects with backoff until the broker answers, then Paho reconnects automatically
// (1 s doubling to 30 s). Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mes/ingest/reading_sink.hpp"

namespace mes::ingest {

struct MqttOptions {
  std::string uri = "tcp://127.0.0.1:1883";
  std::string client_id = "pharma-mes-ingest";  // client i is "<client_id>-<i>"
  std::string topic = "plant/+/+/reading";
  std::string share_group = "pharma-mes";  // used when clients > 1
  int clients = 32;
  int keepalive_seconds = 30;
};

class MqttIngest {
 public:
  MqttIngest(ReadingSink& sink, MqttOptions options);
  ~MqttIngest();  // stop()
  MqttIngest(const MqttIngest&) = delete;
  MqttIngest& operator=(const MqttIngest&) = delete;

  // Starts connecting in the background (returns at once).
  void start();
  // Disconnects every client (the broker keeps their sessions).
  void stop();
  int connected_clients() const { return connected_.load(); }
  std::uint64_t messages() const { return messages_.load(std::memory_order_relaxed); }

 private:
  struct Client;
  void handle(const std::string& topic, const std::string& payload);
  ReadingSink& sink_;
  MqttOptions options_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::atomic<int> connected_{0};
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<bool> stopping_{false};
  std::thread connector_;
};

}  // namespace mes::ingest
