#include "mes/ingest/mqtt_ingest.hpp"

#include <mqtt/async_client.h>
#include <chrono>
#include <thread>

#include "logging/logger.hpp"
#include "mes/ingest/reading_message.hpp"

namespace mes::ingest {
namespace {

// Counts a client's first acknowledged subscription (called on Paho's threads).
class SubscribedListener final : public mqtt::iaction_listener {
 public:
  SubscribedListener(std::atomic<int>& subscribed, std::string id)
      : subscribed_(subscribed), id_(std::move(id)) {}
  void on_success(const mqtt::token&) override {
    if (!counted_.exchange(true)) subscribed_.fetch_add(1);
  }
  void on_failure(const mqtt::token& token) override {
    logging::error("ingest", "MQTT subscribe refused",
                   {{"client", id_}, {"code", token.get_return_code()}});
  }

 private:
  std::atomic<int>& subscribed_;
  std::string id_;
  std::atomic<bool> counted_{false};
};

// Waits for every token up to one shared deadline (a gone broker must not cost the timeout once
// per client); failures are the caller's to ignore: it is closing anyway.
void wait_all(const std::vector<mqtt::token_ptr>& tokens,
              std::chrono::steady_clock::time_point deadline) {
  for (const auto& t : tokens) {
    try {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left > std::chrono::milliseconds(0)) {
        t->wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(left));
      }
    } catch (const mqtt::exception&) {
    }
  }
}

}  // namespace

struct MqttIngest::Client {
  std::unique_ptr<mqtt::async_client> paho;
  std::string id;
  bool was_connected = false;
  std::unique_ptr<SubscribedListener> subscribed;
};

MqttIngest::MqttIngest(ReadingSink& sink, MqttOptions options)
    : sink_(sink), options_(std::move(options)) {}

MqttIngest::~MqttIngest() { stop(); }

void MqttIngest::handle(const std::string& topic, const std::string& payload) {
  messages_.fetch_add(1, std::memory_order_relaxed);
  auto decoded = decode_reading(topic, payload);
  if (!decoded) {
    const auto& e = decoded.error();
    sink_.reject(sensor_of_topic(topic),
                 e.field == "topic" ? RejectReason::kBadTopic : RejectReason::kBadPayload,
                 e.message);
    return;
  }
  // Spooled before the callback returns (see the header); without a spool, stored before it
  // returns. Refusals are counted by the sink.
  if (!sink_.accept(decoded->reading)) (void)sink_.submit(std::move(decoded->reading));
}

std::unique_ptr<mqtt::async_client> MqttIngest::make_client(const std::string& id) {
  return options_.persist_dir.empty()
             ? std::make_unique<mqtt::async_client>(options_.uri, id)
             : std::make_unique<mqtt::async_client>(options_.uri, id, options_.persist_dir);
}

void MqttIngest::adopt_orphans(const std::string& filter) {
  // Every candidate at once: each former member drains on its own receive thread, in parallel.
  std::atomic<std::uint64_t> received{0};
  std::vector<std::unique_ptr<mqtt::async_client>> orphans;
  std::vector<std::string> ids;
  try {
    std::vector<std::pair<std::unique_ptr<mqtt::async_client>, mqtt::token_ptr>> pending;
    for (int i = options_.clients; i < kMaxClients && !stopping_; ++i) {
      const std::string id = options_.client_id + "-" + std::to_string(i);
      auto paho = make_client(id);
      paho->set_message_callback([this, &received](mqtt::const_message_ptr msg) {
        received.fetch_add(1);
        handle(msg->get_topic(), msg->to_string());
      });
      auto token = paho->connect(mqtt::connect_options_builder()
                                     .clean_session(false)
                                     .connect_timeout(std::chrono::seconds(5))
                                     .finalize());
      pending.emplace_back(std::move(paho), std::move(token));
    }
    for (auto& [paho, token] : pending) {
      token->wait();
      if (token->get_connect_response().is_session_present()) {
        ids.push_back(paho->get_client_id());
        orphans.push_back(std::move(paho));
      } else {
        paho->disconnect()->wait();
      }
    }
    if (orphans.empty()) return;
    // Take what they hold until all are quiet, then leave the group for good.
    std::uint64_t seen = ~0ULL;
    while (!stopping_ && received.load() != seen) {
      seen = received.load();
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    for (auto& paho : orphans) {
      paho->unsubscribe(filter)->wait();
      paho->disconnect()->wait();
    }
    // (A session left by an earlier probe holds nothing: only one that held readings is news.)
    const logging::Fields fields = {{"clients", static_cast<std::int64_t>(ids.size())},
                                    {"readings", static_cast<std::int64_t>(received.load())}};
    if (received.load() > 0) {
      logging::warn("ingest", "adopted the MQTT sessions of former subscribers", fields);
    } else {
      logging::debug("ingest", "adopted the MQTT sessions of former subscribers", fields);
    }
  } catch (const mqtt::exception& e) {
    logging::warn("ingest", "could not check former subscribers' sessions", {{"error", e.what()}});
  }
}

std::string MqttIngest::filter() const {
  if (!options_.share_group.empty()) return "$share/" + options_.share_group + "/" + options_.topic;
  return options_.clients > 1 ? "$share/" + options_.client_id + "/" + options_.topic
                              : options_.topic;
}

void MqttIngest::start() {
  const std::string filter = this->filter();
  for (int i = 0; i < options_.clients; ++i) {
    auto c = std::make_unique<Client>();
    c->id = options_.client_id + "-" + std::to_string(i);
    c->paho = make_client(c->id);
    c->subscribed = std::make_unique<SubscribedListener>(subscribed_, c->id);
    mqtt::async_client* paho = c->paho.get();
    Client* raw = c.get();
    paho->set_message_callback(
        [this](mqtt::const_message_ptr msg) { handle(msg->get_topic(), msg->to_string()); });
    paho->set_connected_handler([this, paho, raw, filter](const std::string&) {
      connected_.fetch_add(1);
      raw->was_connected = true;
      // The broker keeps the subscription in the session; subscribing again is harmless and
      // covers a broker that lost its state.
      try {
        paho->subscribe(filter, 1, nullptr, *raw->subscribed);
      } catch (const mqtt::exception& e) {
        logging::error("ingest", "MQTT subscribe failed",
                       {{"client", raw->id}, {"error", e.what()}});
      }
    });
    paho->set_connection_lost_handler([this, raw](const std::string& cause) {
      connected_.fetch_sub(1);
      logging::warn("ingest", "MQTT connection lost; reconnecting",
                    {{"client", raw->id}, {"cause", cause}});
    });
    clients_.push_back(std::move(c));
  }
  connector_ = std::thread([this, filter] {
    // First connection of each client with backoff; after that Paho reconnects by itself.
    std::chrono::milliseconds backoff(100);
    bool logged = false;
    while (!stopping_) {
      bool all = true;
      for (auto& c : clients_) {
        if (c->was_connected || c->paho->is_connected()) continue;
        auto opts = mqtt::connect_options_builder()
                        .clean_session(false)
                        .keep_alive_interval(std::chrono::seconds(options_.keepalive_seconds))
                        .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30))
                        .connect_timeout(std::chrono::seconds(5))
                        .finalize();
        try {
          c->paho->connect(opts)->wait();
        } catch (const mqtt::exception& e) {
          all = false;
          if (!logged) {
            logging::warn("ingest", "MQTT broker not reachable; retrying with backoff",
                          {{"uri", options_.uri}, {"error", e.what()}});
            logged = true;
          }
          break;
        }
      }
      if (all) {
        logging::info("ingest", "MQTT ingest connected",
                      {{"uri", options_.uri}, {"clients", options_.clients}});
        if (filter.rfind("$share/", 0) == 0) adopt_orphans(filter);
        return;
      }
      for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stopping_;
           waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
    }
  });
}

void MqttIngest::leave_group() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<mqtt::token_ptr> tokens;
  for (auto& c : clients_) {
    try {
      if (c->paho->is_connected()) tokens.push_back(c->paho->unsubscribe(filter()));
    } catch (const mqtt::exception& e) {
      logging::warn("ingest", "MQTT unsubscribe failed", {{"client", c->id}, {"error", e.what()}});
    }
  }
  wait_all(tokens, deadline);
  // What the broker sent before it saw the unsubscribe is still arriving: take it until the
  // clients have been quiet for a moment.
  std::uint64_t seen = messages_.load();
  auto quiet_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline + std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::uint64_t now_seen = messages_.load();
    if (now_seen != seen) {
      seen = now_seen;
      quiet_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - quiet_since >= std::chrono::milliseconds(300)) {
      break;
    }
  }
  logging::info("ingest", "left the MQTT share group", {{"filter", filter()}});
}

void MqttIngest::stop() {
  if (stopping_.exchange(true)) return;
  if (connector_.joinable()) connector_.join();
  if (options_.leave_on_stop) leave_group();
  // All at once, then one shared deadline: a gone broker must not cost 5 s per client.
  std::vector<mqtt::token_ptr> tokens;
  for (auto& c : clients_) {
    try {
      if (c->paho->is_connected()) tokens.push_back(c->paho->disconnect());
    } catch (const mqtt::exception&) {
      // Closing anyway: the broker keeps the session.
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  wait_all(tokens, deadline);
}

}  // namespace mes::ingest
