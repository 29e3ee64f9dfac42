// Sensor readings over MQTT: the message decoding, the refusal log limiter, and the whole path
// with real processes: a private Mosquitto broker, `pharma-mes serve` on SQLite with the demo
// plant, and the sensor simulator. The reliability test kills pharma-mes with SIGKILL twice
// during a running batch while readings flow, and checks that the batch is where it was, that
// every reading the broker acknowledged arrives (also those published during the outage), that
// refused messages are counted, and that the audit trail verifies.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mqtt/client.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "mes/ingest/reading_message.hpp"
#include "mes/ingest/reading_sink.hpp"
#include "mes/store/open.hpp"
#include "mes/store/security.hpp"
#include "test_support.hpp"

namespace {

using json = nlohmann::json;
using mes::Code;
using mes::ingest::decode_reading;

// ---- decoding ----

TEST(ReadingMessage, DecodesTopicAndPayload) {
  auto r = decode_reading("plant/room-a/A-TEMP/reading",
                          R"({"value":21.5,"unit":"C","ts":"2026-01-01T00:00:01.000Z"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->area, "room-a");
  EXPECT_EQ(r->reading.sensor_id, "A-TEMP");
  EXPECT_EQ(r->reading.unit, "C");
  EXPECT_DOUBLE_EQ(r->reading.value, 21.5);
  EXPECT_EQ(r->reading.at, 1'767'225'601'000);
  r = decode_reading("plant/room-a/A-TEMP/reading", R"({"value":3,"unit":"C","ts":1767225601000})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reading.at, 1'767'225'601'000) << "epoch milliseconds too";
  const auto round =
      decode_reading("plant/x/S1/reading", mes::ingest::encode_reading(1.25, "Pa", 5));
  ASSERT_TRUE(round);
  EXPECT_DOUBLE_EQ(round->reading.value, 1.25);
  EXPECT_EQ(round->reading.at, 5);
}

TEST(ReadingMessage, RefusesEachBadPartWithItsField) {
  const std::string good_payload = R"({"value":1,"unit":"C","ts":1})";
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"plant/a/S1", good_payload, "topic"},
      {"plant/a/S1/reading/extra", good_payload, "topic"},
      {"factory/a/S1/reading", good_payload, "topic"},
      {"plant//S1/reading", good_payload, "topic"},
      {"plant/a/S 1/reading", good_payload, "topic"},
      {"plant/a/S1/reading", "not json", "payload"},
      {"plant/a/S1/reading", "[1,2]", "payload"},
      {"plant/a/S1/reading", std::string(2000, ' '), "payload"},
      {"plant/a/S1/reading", R"({"unit":"C","ts":1})", "value"},
      {"plant/a/S1/reading", R"({"value":"1","unit":"C","ts":1})", "value"},
      {"plant/a/S1/reading", R"({"value":1e999,"unit":"C","ts":1})", "payload"},
      {"plant/a/S1/reading", R"({"value":1,"ts":1})", "unit"},
      {"plant/a/S1/reading", R"({"value":1,"unit":"","ts":1})", "unit"},
      {"plant/a/S1/reading", R"({"value":1,"unit":"C"})", "ts"},
      {"plant/a/S1/reading", R"({"value":1,"unit":"C","ts":"yesterday"})", "ts"},
      {"plant/a/S1/reading", R"({"value":1,"unit":"C","ts":-5})", "ts"},
      {"plant/a/S1/reading", R"({"value":1,"unit":"C","ts":1383676221202002})", "ts"},
  };
  for (const auto& [topic, payload, field] : cases) {
    auto r = decode_reading(topic, payload);
    ASSERT_FALSE(r) << topic << " " << payload;
    EXPECT_EQ(r.error().code, Code::kInvalid);
    EXPECT_EQ(r.error().field, field) << topic << " " << payload << ": " << r.error().message;
  }
  EXPECT_EQ(mes::ingest::sensor_of_topic("plant/a/S1/reading"), "S1");
  EXPECT_EQ(mes::ingest::sensor_of_topic("plant/a/S 1/reading"), "");
}

TEST(RejectLogLimiter, LogsEachSensorOnceAMinuteAndCountsTheRest) {
  mes::ingest::RejectLogLimiter limiter(60'000, 3);
  std::uint64_t suppressed = 0;
  EXPECT_TRUE(limiter.should_log("S1", 0, suppressed));
  EXPECT_FALSE(limiter.should_log("S1", 1'000, suppressed));
  EXPECT_FALSE(limiter.should_log("S1", 59'999, suppressed));
  EXPECT_TRUE(limiter.should_log("S2", 2'000, suppressed)) << "each sensor has its own minute";
  EXPECT_TRUE(limiter.should_log("S1", 60'000, suppressed));
  EXPECT_EQ(suppressed, 2u) << "the next log line says how many were left out";
  // Bounded: a flood of new names is counted, not logged, once the table is full of fresh ones.
  EXPECT_TRUE(limiter.should_log("S3", 60'000, suppressed));
  EXPECT_FALSE(limiter.should_log("S4", 60'001, suppressed));
  EXPECT_TRUE(limiter.should_log("S5", 200'000, suppressed)) << "stale entries are forgotten";
}

// ---- the reading spool ----

TEST(ReadingSpool, RecordsRoundTripAndATornTailEndsTheFile) {
  const std::vector<mes::Mes::SensorReading> readings = {{"A-TEMP", "C", 1'767'225'600'000, 21.25},
                                                         {"B-DP", "Pa", 1'767'225'600'001, -3.5}};
  std::string bytes;
  for (const auto& r : readings) bytes += mes::ingest::encode_spooled(r);
  auto back = mes::ingest::decode_spool(bytes);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].sensor_id, "B-DP");
  EXPECT_EQ(back[1].unit, "Pa");
  EXPECT_EQ(back[1].at, 1'767'225'600'001);
  EXPECT_DOUBLE_EQ(back[1].value, -3.5);
  // Cut anywhere inside the second record: the first survives, nothing else.
  const std::size_t first = mes::ingest::encode_spooled(readings[0]).size();
  for (std::size_t cut = first; cut < bytes.size(); ++cut) {
    EXPECT_EQ(mes::ingest::decode_spool(bytes.substr(0, cut)).size(), 1u) << cut;
  }
  // A flipped byte fails the checksum.
  std::string flipped = bytes;
  flipped[first + 5] ^= 0x01;
  EXPECT_EQ(mes::ingest::decode_spool(flipped).size(), 1u);
}

// What a crash left in the spool is stored when the sink starts, before anything else, and the
// spool is emptied; a torn last record is dropped (it was never acknowledged as spooled).
TEST(ReadingSpool, ASinkStoresWhatACrashLeftInTheSpool) {
  test_support::TempDir dir;
  const std::string db = "sqlite://" + dir.file("mes.db");
  auto seeded = test_support::run_command(
      {PHARMA_MES_BINARY, "--db", db, "--key", dir.file("key"), "demo", "seed"});
  ASSERT_EQ(seeded.first, 0) << seeded.second;
  std::string spool;
  for (int i = 0; i < 3; ++i) {
    spool += mes::ingest::encode_spooled({"A-TEMP", "C", 1'767'225'600'000 + i, 21.0 + i});
  }
  spool += mes::ingest::encode_spooled({"A-TEMP", "C", 1'767'225'600'009, 99}).substr(0, 7);
  std::filesystem::create_directories(dir.file("spool"));
  test_support::write_file(dir.file("spool/readings-1.spool"), spool);

  auto store = mes::store::open_store(db);
  ASSERT_TRUE(store) << store.error().message;
  auto key = mes::store::load_or_create_signing_key(dir.file("key"));
  ASSERT_TRUE(key);
  mes::store::Argon2idHasher hasher(mes::store::Argon2idHasher::minimal());
  mes::Mes mes(**store, hasher, *key);
  {
    mes::ingest::ReadingSink::Options options;
    options.spool_dir = dir.file("spool");
    mes::ingest::ReadingSink sink(
        mes, [] { return mes::Millis{1'767'225'700'000}; }, options);
    EXPECT_EQ(sink.replayed(), 3u);
    EXPECT_EQ(sink.stats().stored, 3u);
    EXPECT_TRUE(sink.accept({"A-TEMP", "C", 1'767'225'600'100, 21.5}));
  }  // the destructor stores what was accepted
  EXPECT_EQ(test_support::read_file(dir.file("spool/readings-0.spool")), "");
  EXPECT_EQ(test_support::read_file(dir.file("spool/readings-1.spool")), "");
  store->reset();
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("mes.db").c_str(), &handle), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(handle, "SELECT count(*) FROM readings", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 4);
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
}

// ---- the whole path with real processes ----

class SensorsOverMqtt : public ::testing::Test {
 protected:
  void SetUp() override {
    // Mosquitto cannot listen on port 0 and say which port it got: try free ports until one
    // binds (another test may take a port between our look and Mosquitto's bind).
    for (int attempt = 0; attempt < 10 && !broker_; ++attempt) {
      mqtt_port_ = test_support::free_port();
      test_support::write_file(dir.file("mosquitto.conf"),
                               "listener " + std::to_string(mqtt_port_) +
                                   " 127.0.0.1\nallow_anonymous true\npersistence false\n"
                                   "max_queued_messages 1000000\nmax_inflight_messages 100\n");
      broker_ = std::make_unique<test_support::ChildProcess>(
          std::vector<std::string>{"/usr/sbin/mosquitto", "-c", dir.file("mosquitto.conf")},
          dir.file("mosquitto.log"));
      if (!listening(mqtt_port_, *broker_)) broker_.reset();
    }
    ASSERT_TRUE(broker_) << test_support::read_file(dir.file("mosquitto.log"));
    auto seeded = test_support::run_command(
        {PHARMA_MES_BINARY, "--db", db(), "--key", dir.file("key"), "demo", "seed"});
    ASSERT_EQ(seeded.first, 0) << seeded.second;
    const std::regex line(R"(\n  (\S+)\t\S+\t(\S+)\t)");
    for (std::sregex_iterator it(seeded.second.begin(), seeded.second.end(), line), end; it != end;
         ++it) {
      passwords_[(*it)[1]] = (*it)[2];
    }
    ASSERT_EQ(passwords_.size(), 6u) << seeded.second;
    start_server();
  }
  void TearDown() override {
    server_.reset();
    broker_.reset();
  }

  std::string db() const { return "sqlite://" + dir.file("mes.db"); }
  std::string mqtt_uri() const { return "tcp://127.0.0.1:" + std::to_string(mqtt_port_); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port_) + path;
  }
  // True once something accepts TCP connections on the port while `child` runs.
  static bool listening(int port, test_support::ChildProcess& child) {
    for (int i = 0; i < 200 && child.wait(0) == -1; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(fd);
      if (ok) return child.wait(0) == -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  // On a fresh port each time (port 0, reported in a port file).
  void start_server() { start_colour("", {}, server_, http_port_); }
  // A pharma-mes process named `name` ("" for the default one) with its own spool, logs and
  // port, on the shared database and broker.
  void start_colour(const std::string& name, const std::vector<std::string>& extra,
                    std::unique_ptr<test_support::ChildProcess>& process, int& port) {
    const std::string port_file = dir.file(name + "http.port");
    std::remove(port_file.c_str());
    std::vector<std::string> args = {
        PHARMA_MES_BINARY,
        "serve",
        "--http.port=0",
        "--http.port_file=" + port_file,
        "--db.url=" + db(),
        "--key.path=" + dir.file("key"),
        "--mqtt.uri=" + mqtt_uri(),
        "--mqtt.clients=4",
        "--mqtt.spool_dir=" + dir.file(name + "spool"),
        "--guardrail.evidence_path=" + dir.file(name + "evidence.jsonl"),
        name.empty() ? "--log.level=warn" : "--log.level=info"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log = dir.file(
        name + "server" + (starts_[name]++ == 0 ? "" : std::to_string(starts_[name])) + ".log");
    process = std::make_unique<test_support::ChildProcess>(args, log);
    port = test_support::wait_for_port_file(port_file, *process);
    ASSERT_NE(port, 0) << test_support::read_file(log);
    const std::string ready = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(process->wait(0), -1) << "pharma-mes exited: " << test_support::read_file(log);
      if (curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", ready}).second == "200") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "server did not get ready: " << test_support::read_file(log);
  }
  static std::pair<int, std::string> curl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/curl");
    return test_support::run_command(args);
  }
  json call(const std::string& token, const std::string& method, const std::string& path,
            const json& body = nullptr) {
    std::vector<std::string> args = {"-s", "-X", method, "-H", "Authorization: Bearer " + token};
    if (!body.is_null()) {
      args.push_back("-d");
      args.push_back(body.dump());
    }
    args.push_back(url(path));
    const auto r = curl(args);
    return json::parse(r.second, nullptr, false);
  }
  std::string login(const std::string& user) {
    const auto r = curl({"-s", "-X", "POST", url("/api/v1/login"), "-d",
                         json{{"user_id", user}, {"password", passwords_[user]}}.dump()});
    return json::parse(r.second, nullptr, false)["data"].value("token", "");
  }
  // Distinct readings stored (sensor, time): a redelivered one counts once.
  long long distinct_readings() {
    sqlite3* handle = nullptr;
    long long n = -1;
    if (sqlite3_open_v2(dir.file("mes.db").c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
      sqlite3_busy_timeout(handle, 5000);
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(handle,
                             "SELECT count(*) FROM (SELECT DISTINCT sensor_id, at FROM readings)",
                             -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        n = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(handle);
    return n;
  }
  // Stops the simulator (it waits for its outstanding acknowledgements); the readings the
  // broker acknowledged.
  long long stop_sim(test_support::ChildProcess& sim) {
    sim.signal(SIGTERM);
    EXPECT_EQ(sim.wait(60'000), 0) << test_support::read_file(dir.file("sim.json"));
    const std::string text = test_support::read_file(dir.file("sim.json"));
    const auto at = text.find('{');
    if (at == std::string::npos) return -1;
    const json summary = json::parse(text.substr(at), nullptr, false);
    EXPECT_EQ(summary.value("failed", -1), 0) << text;
    return summary.value("acked", -1LL);
  }
  double metric(const std::string& name) {
    const auto text = curl({"-s", url("/metrics")}).second;
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  test_support::TempDir dir;
  int mqtt_port_ = 0, http_port_ = 0;
  std::map<std::string, std::string> passwords_;
  std::map<std::string, int> starts_;  // per name: the first start logs to <name>server.log
  std::unique_ptr<test_support::ChildProcess> broker_, server_;
};

TEST_F(SensorsOverMqtt, KillNineDuringARunningBatchLosesNoReadingAndNoCommand) {
  // A batch in progress, with an acknowledged weighing.
  const std::string sup = login("sup1"), op = login("op1");
  ASSERT_FALSE(sup.empty());
  ASSERT_EQ(call(sup, "POST", "/api/v1/batches",
                 {{"id", "B-K9"}, {"master", "PARA-500@1"}, {"size", 100}})["data"]["id"],
            "B-K9");
  ASSERT_EQ(
      call(op, "POST", "/api/v1/batches/B-K9/commands", {{"command", "Start"}})["data"]["state"],
      "Running");
  ASSERT_TRUE(call(op, "POST", "/api/v1/batches/B-K9/steps/1/start", {{"equipment", "R-101"}})
                  .contains("data"));
  const json weighed = call(op, "POST", "/api/v1/batches/B-K9/steps/1/weighings",
                            {{"material", "API-PARA"},
                             {"scale", "SC-1"},
                             {"lot", "L-PARA-0426"},
                             {"gross", 52.5},
                             {"tare", 2.5}});
  ASSERT_TRUE(weighed["data"].value("accepted", false)) << weighed.dump();

  // Readings flow at 1000/s from every sensor for the whole test (until SIGTERM: however slow
  // the build, the kills happen while readings are being published).
  test_support::ChildProcess sim(
      {MES_SENSOR_SIM_BINARY, "--mqtt.uri=" + mqtt_uri(), "--rate=1000", "--count=0", "--silent="},
      dir.file("sim.json"));
  // The test watches the readings on the broker itself, so each phase waits for what it needs
  // instead of sleeping: pharma-mes storing readings before each kill, and readings published
  // while it is down.
  mqtt::client observer(mqtt_uri(), "test-observer");
  mqtt::connect_options observer_options;
  observer_options.set_clean_session(true);
  observer.connect(observer_options);
  observer.start_consuming();
  observer.subscribe("plant/+/+/reading", 0);
  mqtt::const_message_ptr message;
  const auto published = [&](int n) {  // waits for n more readings on the broker
    int seen = 0;
    for (int i = 0; i < 3000 && seen < n; ++i) {
      if (observer.try_consume_message_for(&message, std::chrono::milliseconds(20))) ++seen;
    }
    return seen >= n;
  };
  for (int kill = 0; kill < 2; ++kill) {
    const long long before = distinct_readings();
    for (int i = 0; i < 600 && distinct_readings() < before + 300; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(distinct_readings(), before + 300) << "pharma-mes stores readings before the kill";
    server_->signal(SIGKILL);
    ASSERT_EQ(server_->wait(10'000), 128 + SIGKILL);
    while (observer.try_consume_message_for(&message, std::chrono::milliseconds(0))) {
    }
    ASSERT_TRUE(published(300)) << "readings published while pharma-mes is down";
    start_server();
  }
  observer.disconnect();
  const long long acked = stop_sim(sim);
  ASSERT_GT(acked, 900) << "the broker acknowledged readings";
  long long stored = 0;
  for (int i = 0; i < 600 && stored < acked; ++i) {
    stored = distinct_readings();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(stored, acked) << "every acknowledged reading arrives, also those published "
                              "while pharma-mes was down";

  // Refused messages are counted, not stored.
  {
    mqtt::client publisher(mqtt_uri(), "test-publisher");
    publisher.connect();
    publisher.publish(mqtt::make_message("plant/room-a/NO-SUCH/reading",
                                         mes::ingest::encode_reading(1, "C", 1), 1, false));
    publisher.publish(mqtt::make_message("plant/room-a/A-TEMP/reading", "{oops", 1, false));
    publisher.publish(mqtt::make_message("plant/room-a/A-TEMP/reading",
                                         mes::ingest::encode_reading(1, "F", 2), 1, false));
    publisher.publish(mqtt::make_message("plant/room-a/bad sensor!/reading", "{}", 1, false));
    publisher.disconnect();
  }
  double refused = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string text = curl({"-s", url("/metrics")}).second;
    refused = 0;
    for (const char* reason : {"unknown_sensor", "bad_payload", "wrong_unit", "bad_topic"}) {
      const std::string key =
          std::string("mes_sensor_readings_rejected_total{reason=\"") + reason + "\"} ";
      const auto at = text.find(key);
      if (at != std::string::npos && std::stod(text.substr(at + key.size())) == 1) refused += 1;
    }
    if (refused == 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(refused, 4) << "one refusal of each kind counted";
  EXPECT_EQ(distinct_readings(), acked) << "nothing refused was stored";

  // The batch is where it was, with its acknowledged weighing.
  const std::string op_again = login("op1");
  const json batch = call(op_again, "GET", "/api/v1/batches/B-K9");
  EXPECT_EQ(batch["data"].value("state", ""), "Running");
  EXPECT_EQ(batch["data"]["flow"].value("current_step", 0), 1);
  EXPECT_EQ(batch["data"]["steps"][0]["data"]["weighings"].size(), 1u);
  EXPECT_EQ(batch["data"]["steps"][0]["data"].value("equipment", ""), "R-101");

  // And the whole trail verifies.
  server_->signal(SIGTERM);
  EXPECT_EQ(server_->wait(15'000), 0);
  const auto verified = test_support::run_command(
      {PHARMA_MES_BINARY, "--db", db(), "--key", dir.file("key"), "audit", "verify"});
  EXPECT_EQ(verified.first, 0) << verified.second;
}

// Blue/green with sensors: blue and green share one subscription (one share group, their own
// client ids), each reading reaches one colour, and the colour being drained leaves the group
// after taking what the broker sent it and committing its spool. Readings flow the whole time
// through a promotion (blue drained) and a rollback (blue started again, green drained); every
// acknowledged reading is stored, by one colour or the other.
TEST_F(SensorsOverMqtt, BlueAndGreenShareTheSubscriptionAndADrainLosesNoReading) {
  server_->signal(SIGTERM);  // the fixture's default instance: replaced by colours that drain
  ASSERT_EQ(server_->wait(15'000), 0);
  // Blue keeps the default client ids (resuming the sessions the instance before it left in the
  // group); green has its own.
  const auto colour_args = [](const std::string& colour) {
    return std::vector<std::string>{
        "--guardrail.colour=" + colour,
        "--mqtt.client_id=" +
            std::string(colour == "blue" ? "pharma-mes-ingest" : "pharma-mes-green"),
        "--mqtt.share_group=pharma-mes-ingest", "--mqtt.leave_on_stop=true"};
  };
  std::unique_ptr<test_support::ChildProcess> blue, green;
  int blue_port = 0, green_port = 0;
  ASSERT_NO_FATAL_FAILURE(start_colour("blue-", colour_args("blue"), blue, blue_port));
  test_support::ChildProcess sim(
      {MES_SENSOR_SIM_BINARY, "--mqtt.uri=" + mqtt_uri(), "--rate=1000", "--count=0", "--silent="},
      dir.file("sim.json"));
  const auto wait_for_more = [&](long long n) {
    const long long before = distinct_readings();
    for (int i = 0; i < 1500 && distinct_readings() < before + n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return distinct_readings() >= before + n;
  };
  ASSERT_TRUE(wait_for_more(500)) << "blue stores readings";
  ASSERT_NO_FATAL_FAILURE(start_colour("green-", colour_args("green"), green, green_port));
  ASSERT_TRUE(wait_for_more(500)) << "both store readings";
  blue->signal(SIGTERM);  // promoted green: blue drains
  ASSERT_EQ(blue->wait(20'000), 0) << test_support::read_file(dir.file("blue-server.log"));
  ASSERT_TRUE(wait_for_more(500)) << "green alone stores readings";
  ASSERT_NO_FATAL_FAILURE(start_colour("blue-", colour_args("blue"), blue, blue_port));
  green->signal(SIGTERM);  // rolled back: green drains
  ASSERT_EQ(green->wait(20'000), 0) << test_support::read_file(dir.file("green-server.log"));
  ASSERT_TRUE(wait_for_more(300)) << "blue alone stores readings again";
  const long long acked = stop_sim(sim);
  ASSERT_GT(acked, 1500) << "the broker acknowledged readings";
  long long stored = 0;
  for (int i = 0; i < 600 && stored < acked; ++i) {
    stored = distinct_readings();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(stored, acked) << "every acknowledged reading is stored across both switches";
  blue->signal(SIGTERM);
  EXPECT_EQ(blue->wait(20'000), 0);
  const auto verified = test_support::run_command(
      {PHARMA_MES_BINARY, "--db", db(), "--key", dir.file("key"), "audit", "verify"});
  EXPECT_EQ(verified.first, 0) << "two processes on one database keep one chain: "
                               << verified.second;
}

}  // namespace
