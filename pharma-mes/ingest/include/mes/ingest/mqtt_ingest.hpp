// MqttIngest: sensor readings from the plant's MQTT broker (Eclipse Paho C++) into a
// ReadingSink. Subscribes `plant/+/+/reading` at QoS 1 with persistent sessions (clean session
// off, fixed client ids), so readings published while the MES is down wait at the broker.
// Paho sends a QoS 1 PUBACK as a message arrives, before the application sees it
// (eclipse-paho/paho.mqtt.c#522). So that a crash after the PUBACK loses nothing, the arrival
// callback returns only once the reading is in the sink's spool file (ReadingSink::accept: a
// write(), which a killed process does not undo), and the sink commits the spool in batches and
// replays what is left of it at the next start. Without a spool the callback waits for the
// commit (ReadingSink::submit), and Paho's own file persistence (persist_dir) can keep a message
// until the callback returns. What remains is the instant between Paho's PUBACK and that write
// (neither is fsync'd: a power cut is not covered), and at-least-once delivery: a reading
// committed just before a crash can arrive twice.
// Several clients share one subscription ($share/<client_id>/...) so that one broken connection
// does not stop the readings; they add little throughput, since Paho C delivers the messages of
// every client in the process on one receive thread (benchmarks/README.md, MQTT sensor ingest). The
// broker goes on sharing messages with an offline member of the group, so after start-up the ids
// above `clients` (up to kMaxClients, left by an earlier configuration with more clients) are
// adopted: drained, unsubscribed and disconnected. Connects with backoff until the broker answers,
// then Paho reconnects automatically (1 s doubling to 30 s).
// Blue/green: both colours join one share group (share_group) under their own client ids, so
// the broker spreads the readings over both and each reading reaches one of them. The colour
// being drained leaves the group on stop (leave_on_stop): it unsubscribes, takes what the
// broker had already sent it until it is quiet, and only then disconnects — the caller then
// commits its spool — so nothing waits in a session nobody will resume. A single instance keeps
// its subscription on stop instead, so readings wait at the broker while it restarts.
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mes/ingest/reading_sink.hpp"

namespace mqtt {
class async_client;
}

namespace mes::ingest {

inline constexpr int kMaxClients = 128;

struct MqttOptions {
  std::string uri = "tcp://127.0.0.1:1883";
  std::string client_id = "pharma-mes-ingest";  // client i is "<client_id>-<i>"
  // The shared subscription's group ($share/<group>/topic); empty: client_id, and no group at
  // all for a single client.
  std::string share_group;
  bool leave_on_stop = false;  // unsubscribe and drain on stop (see above)
  std::string topic = "plant/+/+/reading";
  int clients = 4;
  int keepalive_seconds = 30;
  std::string persist_dir;  // Paho's file persistence of received messages; empty: in memory
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
  // True once every client's subscription has been acknowledged by the broker (since start):
  // before that, a colour that takes over from another would leave readings without a
  // subscriber, which the broker drops.
  bool subscribed() const { return subscribed_.load() >= options_.clients; }
  std::uint64_t messages() const { return messages_.load(std::memory_order_relaxed); }

 private:
  struct Client;
  void handle(const std::string& topic, const std::string& payload);
  void adopt_orphans(const std::string& filter);
  std::string filter() const;
  void leave_group();
  std::unique_ptr<mqtt::async_client> make_client(const std::string& id);
  ReadingSink& sink_;
  MqttOptions options_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::atomic<int> connected_{0};
  std::atomic<int> subscribed_{0};  // clients whose first subscription was acknowledged
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<bool> stopping_{false};
  std::thread connector_;
};

}  // namespace mes::ingest
