// `pharma-mes serve`: the MES on HTTP (port 8090): the JSON API, probes, /metrics and the
// deployment guardrail, over the configured store. Started by scripts/run.sh.
#include "server.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "config/config.hpp"
#include "core/build_info.hpp"
#include "guardrails/export/prometheus_export.hpp"
#include "guardrails/status/routes.hpp"
#include "guardrails/status/settings.hpp"
#include "http/probes.hpp"
#include "http/settings.hpp"
#include "logging/logger.hpp"
#include "mes/api/api.hpp"
#include "mes/api/secret_spool.hpp"
#include "mes/ingest/mqtt_ingest.hpp"
#include "mes/store/open.hpp"
#include "mes/store/security.hpp"
#include "mes/web/assets.hpp"

namespace mes::app {
namespace {

inline constexpr guardrails::MetricId kApiOkMetric = 2;        // 1: not a server error, 0: 5xx
inline constexpr guardrails::MetricId kBatchIntactMetric = 3;  // per finished batch: 1 intact

config::Schema make_schema() {
  config::Schema schema("pharma-mes serve", "PHARMA_MES",
                        "the MES: batch execution under 21 CFR Part 11 (API, operator UI)");
  http::add_server_settings(schema, 8090);
  guardrails::add_guardrail_settings(schema, "pharma-mes", "data/evidence/pharma-mes.jsonl");
  schema.add_string("log.level", "info", "log level", {"debug", "info", "warn", "error", "off"})
      .add_int("shutdown.grace_ms", 5000, 0, 600'000, "time in-flight requests get on SIGTERM")
      .add_string("db.url", "sqlite://./data/mes.db", "sqlite://<path> or postgresql://...")
      .add_string("key.path", "data/mes-signing.key", "the server's Ed25519 seed (0600)")
      .add_int("session.idle_minutes", 15, 1, 24 * 60, "idle time that ends a session")
      .add_string("accounts.secret_spool", "",
                  "directory where the one-time secrets of accounts created or reset over the API "
                  "go, for the site's delivery agent to take to the user (empty: the API refuses "
                  "to create or reset accounts; use the console)")
      .add_string("http.trusted_proxies", "",
                  "the balancer's addresses (comma-separated; IPv4 prefixes like 10.0.0.0/8): "
                  "the login limit reads the client's address from their X-Forwarded-For")
      .add_int("passwords.max_age_days", 90, 0, 3650, "password aging (0: never)")
      .add_int("passwords.max_failed_logins", 5, 1, 100, "consecutive failures that lock")
      .add_int("monitoring.gap_check_seconds", 10, 1, 3600, "how often silent sensors are checked")
      .add_int("monitoring.seal_minutes", 10, 0, 24 * 60,
               "how often raw sensor readings are sealed into the audit chain (count and "
               "SHA-256 per sensor; `audit verify` recomputes them; 0: never)")
      .add_int("retention.default_years", 10, 1, 100,
               "years a record and its audit trail are kept from creation (211.180)")
      .add_string("retention.rules", "",
                  "years per record type over the default, e.g. batch=15,lot=12")
      .add_string("quality.capa_required_causes", "",
                  "deviation causes (comma-separated, e.g. out_of_limits) that close only naming "
                  "a CAPA that answers them")
      .add_int("monitoring.max_reading_ahead_seconds", 120, 0, 3600,
               "how far ahead of server time a sensor may date a reading; later ones are refused")
      .add_int("audit.verify_minutes", 15, 0, 24 * 60,
               "how often the running server verifies the audit chain and signatures (its "
               "result and age are on /metrics; 0: never, run `pharma-mes audit verify`)")
      .add_int("quality.deviation_due_days", 30, 1, 3650,
               "an open deviation older than this is past due (compliance figures)")
      .add_bool("mqtt.enabled", true, "take sensor readings from the MQTT broker")
      .add_string("mqtt.uri", "tcp://127.0.0.1:1883", "the MQTT broker")
      .add_string("mqtt.client_id", "pharma-mes-ingest", "client id prefix (sessions persist)")
      .add_int("mqtt.clients", 4, 1, 128, "subscribers in the shared subscription")
      .add_string("mqtt.share_group", "",
                  "the shared subscription's group; blue and green set the same one (empty: "
                  "mqtt.client_id)")
      .add_int("mqtt.ready_timeout_s", 30, 0, 3600,
               "/readyz waits this long for the MQTT subscription, then reports ready without it")
      .add_bool("mqtt.leave_on_stop", false,
                "on shutdown, leave the share group and take what the broker sent before "
                "stopping (blue/green: another colour goes on; off: readings wait at the broker "
                "for this instance's restart)")
      .add_string("mqtt.spool_dir", "data/mqtt-spool",
                  "spool of received, not yet stored readings (replayed at start-up)")
      .add_string("mqtt.persist_dir", "",
                  "Paho's file persistence of received messages (empty: off; the spool covers it)")
      .add_int("slo.batch_window", 50, 1, 100'000, "batch integrity: the last N finished batches")
      .add_int("slo.batch_min_samples", 20, 0, 100'000,
               "batch integrity: finished batches before any verdict")
      .add_double("slo.batch_objective", 0.98, 0.5, 0.99999, "batch integrity: intact fraction")
      .add_bool("slo.batch_gates_promotion", false,
                "batch integrity holds promotion until it has its samples (off: batches take "
                "hours, so it is watched after promotion instead)")
      .add_int("fault.api_latency_ms", 0, 0, 60'000,
               "FAULT INJECTION for drills: milliseconds added to every API request (0: off)")
      .add_double("fault.api_error_ratio", 0, 0, 1,
                  "FAULT INJECTION for drills: fraction of API requests answered 503 (0: off)")
      .add_bool("fault.batch_integrity", false,
                "FAULT INJECTION for drills: completing a step loses its second-person "
                "verification, so every batch this instance ends fails the integrity check");
  return schema;
}

// Request counts and a latency histogram, lock-free on the request path.
class HttpStats {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(int status, std::int64_t nanos) {
    const double s = static_cast<double>(nanos) / 1e9;
    std::size_t i = 0;
    while (i < kBuckets.size() && s > kBuckets[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(nanos), std::memory_order_relaxed);
    const std::size_t cls = static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1);
    by_class_[cls].fetch_add(1, std::memory_order_relaxed);
    if (status == 401) unauthenticated_.fetch_add(1, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, 13> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::array<std::atomic<std::uint64_t>, 5> by_class_{};
  std::atomic<std::uint64_t> unauthenticated_{0};
};

// The last audit chain verification the server ran (monitor thread writes, scrapes read).
struct AuditStatus {
  std::atomic<int> verified{-1};  // 1: verified, 0: a problem found, -1: not run yet
  std::atomic<std::int64_t> verified_at_ms{0};
  std::atomic<std::int64_t> entries{0};
};

// mes_* families, read at scrape time.
class MesCollectable final : public prometheus::Collectable {
 public:
  MesCollectable(Mes& mes, Store& store, const HttpStats& http, const api::ApiCounters& api,
                 const ingest::ReadingSink* sink, const ingest::MqttIngest* mqtt,
                 const api::ApiOptions& faults, const AuditStatus& audit, Millis deviation_due_ms)
      : mes_(mes),
        audit_(audit),
        deviation_due_ms_(deviation_due_ms),
        store_(store),
        http_(http),
        api_(api),
        sink_(sink),
        mqtt_(mqtt),
        fault_latency_ms_(static_cast<double>(faults.fault_added_latency_ms)),
        fault_error_ratio_(faults.fault_error_ratio),
        fault_batch_integrity_(faults.fault_batch_integrity ? 1.0 : 0.0) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const auto gauge = [&](const char* name, const char* help, double v,
                           prometheus::MetricType type = prometheus::MetricType::Gauge) {
      out.push_back(guardrails::value_family(name, help, type, "", {{"", v}}));
    };
    // The HTTP request duration histogram.
    prometheus::MetricFamily h{"mes_http_request_duration_seconds",
                               "API request duration",
                               prometheus::MetricType::Histogram,
                               {}};
    prometheus::ClientMetric hm;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < HttpStats::kBuckets.size(); ++i) {
      cumulative += http_.buckets_[i].load(std::memory_order_relaxed);
      hm.histogram.bucket.push_back({cumulative, HttpStats::kBuckets[i]});
    }
    cumulative += http_.buckets_.back().load(std::memory_order_relaxed);
    hm.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    hm.histogram.sample_count = cumulative;
    hm.histogram.sample_sum = static_cast<double>(http_.sum_ns_.load()) / 1e9;
    h.metric.push_back(hm);
    out.push_back(std::move(h));
    prometheus::MetricFamily requests{"mes_http_requests_total",
                                      "API requests by status class",
                                      prometheus::MetricType::Counter,
                                      {}};
    for (int c = 1; c <= 5; ++c) {
      prometheus::ClientMetric m;
      m.label.push_back({"code", std::to_string(c) + "xx"});
      m.counter.value =
          static_cast<double>(http_.by_class_[static_cast<std::size_t>(c - 1)].load());
      requests.metric.push_back(m);
    }
    out.push_back(std::move(requests));
    gauge("mes_http_unauthenticated_total", "Requests refused for want of a valid session",
          static_cast<double>(http_.unauthenticated_.load()), prometheus::MetricType::Counter);
    out.push_back(guardrails::value_family(
        "mes_fault_injection", "Fault injection settings in force (0: off); drills only",
        prometheus::MetricType::Gauge, "fault",
        {{"api_latency_ms", fault_latency_ms_},
         {"api_error_ratio", fault_error_ratio_},
         {"batch_integrity", fault_batch_integrity_}}));
    gauge("mes_fault_injected_total", "API requests refused by fault injection",
          static_cast<double>(api_.faults_injected.load()), prometheus::MetricType::Counter);
    const auto labelled = [&](const char* name, const char* help, prometheus::MetricType type,
                              const char* label,
                              const std::vector<std::pair<std::string, double>>& values) {
      out.push_back(guardrails::value_family(name, help, type, label, values));
    };
    const auto n = [](const std::atomic<std::uint64_t>& a) {
      return static_cast<double>(a.load(std::memory_order_relaxed));
    };
    labelled("mes_logins_total", "Login attempts by outcome", prometheus::MetricType::Counter,
             "outcome",
             {{"ok", n(api_.logins_ok)},
              {"failed", n(api_.logins_failed)},
              {"throttled", n(api_.logins_throttled)}});
    gauge("mes_account_lockouts_total", "Accounts locked by consecutive failed logins",
          n(api_.lockouts), prometheus::MetricType::Counter);
    const ingest::ReadingSink::Stats sink =
        sink_ != nullptr ? sink_->stats() : ingest::ReadingSink::Stats{};
    labelled("mes_sensor_readings_total", "Sensor readings stored, by transport",
             prometheus::MetricType::Counter, "source",
             {{"mqtt", static_cast<double>(sink.stored)}, {"http", n(api_.readings_stored)}});
    std::vector<std::pair<std::string, double>> rejects;
    for (std::size_t i = 0; i < ingest::kRejectReasons; ++i) {
      rejects.emplace_back(ingest::to_string(static_cast<ingest::RejectReason>(i)),
                           static_cast<double>(sink.rejected[i]));
    }
    rejects.emplace_back("http", n(api_.readings_rejected));
    labelled("mes_sensor_readings_rejected_total", "Sensor readings refused, by reason",
             prometheus::MetricType::Counter, "reason", rejects);
    gauge("mes_mqtt_clients_connected", "MQTT subscribers connected to the broker",
          mqtt_ != nullptr ? mqtt_->connected_clients() : 0);
    // Batch KPIs (cached: they read every terminal batch).
    std::lock_guard lock(cache_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - cached_at_ > std::chrono::seconds(10)) {
      if (auto k = mes_.kpis()) kpis_ = *k;
      if (auto p = mes_.plant_status(deviation_due_ms_)) plant_ = *p;
      batches_by_state_.clear();
      alarms_by_level_ = {{"alert", 0}, {"action", 0}, {"data_gap", 0}};
      (void)store_.read([&](Transaction& tx) -> Result<void> {
        for (const auto& b : tx.list("batch")) batches_by_state_[b.state] += 1;
        for (const auto& a : tx.list("alarm", "", "active")) {
          const auto body = nlohmann::json::parse(a.body, nullptr, false);
          if (body.is_object()) alarms_by_level_[body["data"].value("level", "")] += 1;
        }
        return {};
      });
      cached_at_ = now;
    }
    labelled("mes_batches", "Batches by ISA-88 state", prometheus::MetricType::Gauge, "state",
             {batches_by_state_.begin(), batches_by_state_.end()});
    labelled("mes_alarms_active", "Unacknowledged environmental alarms by level",
             prometheus::MetricType::Gauge, "level",
             {alarms_by_level_.begin(), alarms_by_level_.end()});
    gauge("mes_batches_terminal", "Batches that reached Complete, Stopped or Aborted",
          kpis_.terminal);
    gauge("mes_batches_not_intact", "Terminal batches whose record is not intact",
          kpis_.terminal - kpis_.intact);
    gauge("mes_batch_integrity_ratio", "Intact batches / terminal batches", kpis_.integrity);
    gauge("mes_right_first_time_ratio", "Complete batches without exceptions",
          kpis_.right_first_time_ratio);
    gauge("mes_yield_ratio", "Output / batch size of batches with a recorded output", kpis_.yield);
    gauge("mes_cycle_time_efficiency_ratio", "Standard / actual run time (held time excluded)",
          kpis_.cycle_time_efficiency);
    add_plant_status(out);
    return out;
  }

 private:
  // Compliance and monitoring figures: deviations, batches waiting for QA, locked accounts, the
  // audit chain's last verification, and each sensor against its limits (called under the lock).
  void add_plant_status(std::vector<prometheus::MetricFamily>& out) const {
    using prometheus::MetricType;
    const auto one = [&](const char* name, const char* help, double v) {
      out.push_back(guardrails::value_family(name, help, MetricType::Gauge, "", {{"", v}}));
    };
    one("mes_deviations_open", "Deviations not closed", plant_.deviations_open);
    one("mes_deviations_past_due", "Open deviations older than quality.deviation_due_days",
        plant_.deviations_past_due);
    out.push_back(guardrails::value_family(
        "mes_batches_awaiting", "Complete batches waiting for QA, by the step they wait for",
        MetricType::Gauge, "step",
        {{"review", static_cast<double>(plant_.batches_awaiting_review)},
         {"release", static_cast<double>(plant_.batches_awaiting_release)}}));
    one("mes_users_locked", "User accounts locked", plant_.users_locked);
    const int verified = audit_.verified.load(std::memory_order_acquire);
    if (verified >= 0) {
      one("mes_audit_chain_verified",
          "1 when the last verification of the audit chain and signatures found no problem",
          verified);
      one("mes_audit_chain_last_verification_timestamp_seconds",
          "When the server last verified the audit chain (Unix time)",
          static_cast<double>(audit_.verified_at_ms.load(std::memory_order_relaxed)) / 1000);
      one("mes_audit_chain_entries", "Audit entries the last verification walked",
          static_cast<double>(audit_.entries.load(std::memory_order_relaxed)));
    }
    prometheus::MetricFamily value{
        "mes_sensor_value", "Each sensor's latest reading, in its unit", MetricType::Gauge, {}};
    prometheus::MetricFamily limit{"mes_sensor_limit",
                                   "Each sensor's alert and action limits, in its unit",
                                   MetricType::Gauge,
                                   {}};
    prometheus::MetricFamily last{"mes_sensor_last_reading_timestamp_seconds",
                                  "When each sensor last read (Unix time, device clock)",
                                  MetricType::Gauge,
                                  {}};
    prometheus::MetricFamily gap{"mes_sensor_data_gap",
                                 "1 while the sensor is silent past twice its interval",
                                 MetricType::Gauge,
                                 {}};
    const auto add = [](prometheus::MetricFamily& f,
                        std::vector<prometheus::ClientMetric::Label> labels, double v) {
      prometheus::ClientMetric m;
      m.label = std::move(labels);
      m.gauge.value = v;
      f.metric.push_back(std::move(m));
    };
    for (const auto& s : plant_.sensors) {
      if (s.value) {
        add(value, {{"sensor", s.id}, {"room", s.room}, {"kind", s.kind}, {"unit", s.unit}},
            *s.value);
      }
      for (const auto& [name, v] : {std::pair<const char*, double>{"alert_low", s.alert_low},
                                    {"alert_high", s.alert_high},
                                    {"action_low", s.action_low},
                                    {"action_high", s.action_high}}) {
        add(limit, {{"sensor", s.id}, {"limit", name}}, v);
      }
      if (s.last_reading_at > 0) {
        add(last, {{"sensor", s.id}}, static_cast<double>(s.last_reading_at) / 1000);
      }
      add(gap, {{"sensor", s.id}}, s.gap_open ? 1 : 0);
    }
    for (auto* f : {&value, &limit, &last, &gap}) out.push_back(std::move(*f));
  }

  Mes& mes_;
  const AuditStatus& audit_;
  Millis deviation_due_ms_ = 0;
  Store& store_;
  const HttpStats& http_;
  const api::ApiCounters& api_;
  const ingest::ReadingSink* sink_;
  const ingest::MqttIngest* mqtt_;
  double fault_latency_ms_ = 0;
  double fault_error_ratio_ = 0;
  double fault_batch_integrity_ = 0;
  mutable std::mutex cache_mutex_;
  mutable std::map<std::string, double> batches_by_state_, alarms_by_level_;
  mutable std::chrono::steady_clock::time_point cached_at_{};
  mutable Mes::Kpis kpis_;
  mutable Mes::PlantStatus plant_;
};

}  // namespace

int run_server(int argc, char** argv) {
  const config::Schema schema = make_schema();
  const config::Values values = config::load_or_exit(schema, argc, argv);
  logging::Level level{};
  logging::parse_level(values.get_string("log.level"), level);
  logging::set_level(level);

  const std::string url = values.get_string("db.url");
  if (url.rfind("sqlite://", 0) == 0) {
    const std::filesystem::path file = url.substr(9);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  }
  const std::filesystem::path key_path = values.get_string("key.path");
  if (key_path.has_parent_path()) std::filesystem::create_directories(key_path.parent_path());
  store::StoreOptions store_options;
  // One warm reader connection per I/O thread: a new colour's first requests (the ones its
  // guardrail judges before promotion) do not each wait for a connection to be set up.
  store_options.warm_readers =
      static_cast<std::size_t>(std::max(1, http::server_options_from(values).io_threads));
  auto store = store::open_store(url, store_options);
  if (!store) {
    std::fprintf(stderr, "pharma-mes: %s\n", store.error().message.c_str());
    return 2;
  }
  auto key = store::load_or_create_signing_key(key_path.string());
  if (!key) {
    std::fprintf(stderr, "pharma-mes: %s\n", key.error().message.c_str());
    return 2;
  }
  MesConfig config;
  config.passwords.max_age_days = static_cast<int>(values.get_int("passwords.max_age_days"));
  config.passwords.max_failed_logins =
      static_cast<int>(values.get_int("passwords.max_failed_logins"));
  config.signing_idle_timeout = values.get_int("session.idle_minutes") * 60'000;
  config.max_reading_ahead = values.get_int("monitoring.max_reading_ahead_seconds") * 1000;
  config.retention_default_years = static_cast<int>(values.get_int("retention.default_years"));
  {
    std::stringstream rules(values.get_string("retention.rules"));
    for (std::string rule; std::getline(rules, rule, ',');) {
      const auto eq = rule.find('=');
      const int years = eq == std::string::npos ? 0 : std::atoi(rule.c_str() + eq + 1);
      if (years < 1 || years > 100) {
        std::fprintf(stderr, "pharma-mes: retention.rules: '%s' is not type=years (1-100)\n",
                     rule.c_str());
        return 2;
      }
      config.retention_years[rule.substr(0, eq)] = years;
    }
  }
  {
    std::stringstream causes(values.get_string("quality.capa_required_causes"));
    for (std::string cause; std::getline(causes, cause, ',');) {
      if (!cause.empty()) config.capa_required_causes.push_back(cause);
    }
  }
  const Millis process_started_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
  config.instance = values.get_string("guardrail.colour") + " " +
                    std::string(core::build_info::kVersion) + " pid " + std::to_string(::getpid()) +
                    " at " + std::to_string(process_started_at);
  config.fault_drop_verification = values.get_bool("fault.batch_integrity");
  store::Argon2idHasher hasher;
  Mes mes(**store, hasher, *key, config);

  auto gconfig = guardrails::guardrail_config_from(values);
  if (!gconfig) {
    std::fprintf(stderr, "pharma-mes: %s\n", gconfig.error().message.c_str());
    return 2;
  }
  {
    guardrails::slo::SloSpec errors;
    errors.name = "api_errors";
    errors.kind = guardrails::slo::SloKind::kRatio;
    errors.metric = kApiOkMetric;
    errors.min_good_ratio = 0.99;
    errors.window = gconfig->evaluator.slos.front().window;
    errors.burn_rate_alerts = gconfig->evaluator.slos.front().burn_rate_alerts;
    errors.min_samples = gconfig->evaluator.slos.front().min_samples;
    gconfig->evaluator.slos.push_back(errors);
    // Batch integrity over the last N batches this version finished (a count window).
    guardrails::slo::SloSpec batches;
    batches.name = "batch_integrity";
    batches.kind = guardrails::slo::SloKind::kRatio;
    batches.metric = kBatchIntactMetric;
    batches.min_good_ratio = values.get_double("slo.batch_objective");
    batches.window = errors.window;
    batches.window_count = static_cast<std::uint64_t>(values.get_int("slo.batch_window"));
    batches.min_samples = static_cast<std::uint64_t>(values.get_int("slo.batch_min_samples"));
    batches.gates_promotion = values.get_bool("slo.batch_gates_promotion");
    gconfig->evaluator.slos.push_back(batches);
  }
  // The deployment controller's switches, rollbacks and promotions: change events on the audit
  // trail, beside the start-up entry and every verdict change.
  gconfig->on_controller_event = [&mes](const guardrails::ControllerEvent& e) -> std::string {
    auto r = mes.record_system_event("deployment-controller", "deployment_" + e.event, "", e.detail,
                                     "deployment " + e.deployment +
                                         (e.who.empty() ? "" : " by " + e.who) +
                                         " (reported from " + e.remote + ")");
    return r ? std::string() : r.error().message;
  };
  auto created = guardrails::Guardrail::create(std::move(*gconfig));
  if (!created) {
    std::fprintf(stderr, "pharma-mes: %s\n", created.error().message.c_str());
    return 2;
  }
  guardrails::Guardrail& guardrail = **created;

  HttpStats http_stats;
  const auto clock = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  api::ApiOptions api_options;
  api_options.session_idle_timeout = values.get_int("session.idle_minutes") * 60'000;
  if (const std::string spool_dir = values.get_string("accounts.secret_spool");
      !spool_dir.empty()) {
    api_options.deliver_secret = [spool = api::SecretSpool(spool_dir), clock](
                                     const std::string& user, const std::string& secret,
                                     const std::string& why) -> Result<void> {
      auto delivered = spool.deliver(user, secret, why, clock());
      if (!delivered) return tl::unexpected(delivered.error());
      logging::info("pharma-mes", "one-time secret spooled for the user's channel",
                    {{"user", user}, {"why", why}});
      return {};
    };
  }
  {
    std::stringstream proxies(values.get_string("http.trusted_proxies"));
    std::string proxy;
    while (std::getline(proxies, proxy, ',')) {
      if (proxy.empty()) continue;
      if (const std::string problem = http::trusted_proxy_problem(proxy); !problem.empty()) {
        std::fprintf(stderr, "pharma-mes: http.trusted_proxies: %s\n", problem.c_str());
        return 2;
      }
      api_options.trusted_proxies.push_back(proxy);
    }
  }
  api_options.fault_added_latency_ms = values.get_int("fault.api_latency_ms");
  api_options.fault_error_ratio = values.get_double("fault.api_error_ratio");
  api_options.fault_batch_integrity = config.fault_drop_verification;
  if (api_options.fault_added_latency_ms > 0 || api_options.fault_error_ratio > 0 ||
      api_options.fault_batch_integrity) {
    logging::warn("pharma-mes", "FAULT INJECTION IS ON: this instance is a bad release on purpose",
                  {{"fault.api_latency_ms", api_options.fault_added_latency_ms},
                   {"fault.api_error_ratio", api_options.fault_error_ratio},
                   {"fault.batch_integrity", api_options.fault_batch_integrity}});
  }
  api_options.on_request = [&](const std::string&, int status, std::int64_t nanos,
                               bool checks_password) {
    http_stats.observe(status, nanos);
    const core::Nanos now = core::monotonic_now_ns();
    // Argon2id makes a password check slow on purpose: not the latency users wait for.
    if (!checks_password) guardrail.record(guardrails::kLatencyMetric, nanos, now);
    guardrail.record(kApiOkMetric, status >= 500 ? 0 : 1, now);
  };
  api::Api api(mes, **store, clock, api::random_token, api_options);
  // Sensor readings from the MQTT broker (started after the start-up audit entry).
  std::unique_ptr<ingest::ReadingSink> sink;
  std::unique_ptr<ingest::MqttIngest> mqtt;
  if (values.get_bool("mqtt.enabled")) {
    ingest::ReadingSink::Options sink_options;
    sink_options.spool_dir = values.get_string("mqtt.spool_dir");
    sink = std::make_unique<ingest::ReadingSink>(mes, clock, sink_options);
    ingest::MqttOptions mqtt_options;
    mqtt_options.uri = values.get_string("mqtt.uri");
    mqtt_options.client_id = values.get_string("mqtt.client_id");
    mqtt_options.clients = static_cast<int>(values.get_int("mqtt.clients"));
    mqtt_options.share_group = values.get_string("mqtt.share_group");
    mqtt_options.leave_on_stop = values.get_bool("mqtt.leave_on_stop");
    mqtt_options.persist_dir = values.get_string("mqtt.persist_dir");
    if (!mqtt_options.persist_dir.empty()) {
      std::filesystem::create_directories(mqtt_options.persist_dir);
    }
    mqtt = std::make_unique<ingest::MqttIngest>(*sink, mqtt_options);
  }

  AuditStatus audit_status;
  http::Router router;
  std::atomic<const http::Server*> server_ptr{nullptr};
  const auto mqtt_ready_by = std::chrono::steady_clock::now() +
                             std::chrono::seconds(values.get_int("mqtt.ready_timeout_s"));
  http::mount_probe_routes(
      router,
      [&server_ptr, &mqtt, &mqtt_ready_by]() -> std::string {
        const auto* s = server_ptr.load();
        if (s != nullptr && s->draining()) return "draining";
        // Not before the sensor subscription is in place (a colour taking over from another
        // must not leave readings without a subscriber), unless the broker keeps it waiting
        // past mqtt.ready_timeout_s: then the plant floor is served without sensors.
        if (mqtt && !mqtt->subscribed() && std::chrono::steady_clock::now() < mqtt_ready_by) {
          return "waiting for the MQTT subscription";
        }
        return "";
      },
      {{"store", [&] {
          auto r = (*store)->read([](Transaction&) -> Result<void> { return {}; });
          return std::make_pair(static_cast<bool>(r), r ? std::string("open") : r.error().message);
        }}});
  guardrails::mount_guardrail_routes(router, guardrail);
  guardrails::mount_metrics_route(
      router, {std::make_shared<guardrails::GuardrailCollectable>(guardrail),
               std::make_shared<MesCollectable>(
                   mes, **store, http_stats, api.counters(), sink.get(), mqtt.get(), api_options,
                   audit_status, values.get_int("quality.deviation_due_days") * 86'400'000)});
  api.add_routes(router);
  web::mount_web_ui(router);  // the operator UI at /

  http::Server server(http::server_options_from(values), std::move(router));
  server_ptr = &server;
  guardrail.start();
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "pharma-mes: %s\n", started.error().message.c_str());
    guardrail.stop();
    return 2;
  }
  // Change control: which build with which configuration handles the batches from now on.
  const auto& gc = guardrail.config();
  if (auto r = mes.record_system_event("pharma-mes", "startup", "",
                                       "version " + gc.version + " (" + gc.git_sha + ")",
                                       "config digest " + gc.config_digest);
      !r) {
    logging::error("pharma-mes", "cannot write the start-up audit entry",
                   {{"error", r.error().message}});
    server.stop(std::chrono::milliseconds(0));
    guardrail.stop();
    return 1;
  }
  const Millis started_at = clock();
  if (mqtt) mqtt->start();
  logging::info("pharma-mes", "serving",
                {{"http_port", server.port()}, {"store", url.substr(0, url.find('?'))}});

  // Silent sensors are checked on a timer, and the guardrail's verdict watched.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread monitor([&] {
    std::string last_verdict = "hold";
    std::set<std::string> known;  // terminal batches already read (fed to the SLO, or too old)
    const auto gap_every = std::chrono::seconds(values.get_int("monitoring.gap_check_seconds"));
    auto next_gap_check = std::chrono::steady_clock::now() + gap_every;
    const auto seal_every = std::chrono::minutes(values.get_int("monitoring.seal_minutes"));
    auto next_seal = std::chrono::steady_clock::now() + seal_every;
    const auto verify_every = std::chrono::minutes(values.get_int("audit.verify_minutes"));
    // The first verification a few seconds after start-up, then every audit.verify_minutes.
    auto next_verify = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::unique_lock lock(stop_mutex);
    while (!stop_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      lock.unlock();
      if (std::chrono::steady_clock::now() >= next_gap_check) {
        next_gap_check += gap_every;
        if (auto gaps = mes.check_data_gaps(); gaps && *gaps > 0) {
          logging::warn("pharma-mes", "sensor data gaps", {{"sensors", *gaps}});
        }
      }
      if (seal_every.count() > 0 && std::chrono::steady_clock::now() >= next_seal) {
        next_seal = std::chrono::steady_clock::now() + seal_every;
        if (auto sealed = mes.seal_readings(); !sealed) {
          logging::error("pharma-mes", "sealing the sensor readings failed",
                         {{"error", sealed.error().message}});
        }
      }
      if (verify_every.count() > 0 && std::chrono::steady_clock::now() >= next_verify) {
        next_verify = std::chrono::steady_clock::now() + verify_every;
        if (auto report = mes.verify()) {
          audit_status.entries.store(report->entries, std::memory_order_relaxed);
          audit_status.verified_at_ms.store(clock(), std::memory_order_relaxed);
          audit_status.verified.store(report->ok() ? 1 : 0, std::memory_order_release);
          if (!report->ok()) {
            logging::error("pharma-mes", "the audit chain does not verify",
                           {{"problem", report->first_problem()}});
          }
        } else {
          logging::error("pharma-mes", "audit verification could not run",
                         {{"error", report.error().message}});
        }
      }
      // Every batch this version finished goes to the batch integrity SLO once.
      if (auto finished = mes.batch_integrity(started_at, known, config.instance)) {
        for (const auto& b : *finished) {
          known.insert(b.batch_id);
          if (!b.checked) continue;  // finished before this version started
          if (!b.software_fault.empty()) {
            logging::error("pharma-mes", "batch record not intact",
                           {{"batch", b.batch_id}, {"fault", b.software_fault}});
          }
          guardrail.record(kBatchIntactMetric, b.software_fault.empty() ? 1 : 0,
                           core::monotonic_now_ns());
        }
      }
      // Every guardrail verdict change goes on the audit trail as a change event.
      if (const auto snap = guardrail.snapshot()) {
        const std::string verdict(guardrails::slo::to_string(snap->evaluation.verdict));
        if (verdict != last_verdict) {
          std::string reasons;
          for (const auto& why : snap->evaluation.reasons) {
            reasons += (reasons.empty() ? "" : "; ") + why;
          }
          (void)mes.record_system_event("pharma-mes", "guardrail_verdict", last_verdict, verdict,
                                        reasons);
          last_verdict = verdict;
        }
      }
      lock.lock();
    }
  });

  const int sig = http::wait_for_shutdown_signal();
  logging::info("pharma-mes", "shutting down", {{"signal", sig}});
  server.stop(std::chrono::milliseconds(values.get_int("shutdown.grace_ms")));
  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stop_cv.notify_all();
  monitor.join();
  // The broker keeps the sessions, so readings wait there; or, with mqtt.leave_on_stop, this
  // colour leaves the share group after taking what was sent to it. Then the sink commits its
  // spool: nothing acknowledged is left behind.
  if (mqtt) mqtt->stop();
  const std::uint64_t mqtt_messages = mqtt ? mqtt->messages() : 0;
  mqtt.reset();
  if (sink) {
    const std::size_t replayed = sink->replayed();
    sink.reset();  // commits what is left
    logging::info("pharma-mes", "sensor ingest stopped",
                  {{"mqtt_messages", static_cast<std::int64_t>(mqtt_messages)},
                   {"replayed_from_spool", static_cast<std::int64_t>(replayed)}});
  }
  guardrail.stop();
  logging::info("pharma-mes", "stopped", {});
  return 0;
}

}  // namespace mes::app
