// guardrail-sim: serves the guardrail contract on a synthetic workload. A generator thread
// records request latencies (base ± jitter, turning slow after --sim.degrade_after_s) and
// successes into the guardrail exactly as a product's hot path would.
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "config/config.hpp"
#include "guardrails/export/prometheus_export.hpp"
#include "guardrails/status/routes.hpp"
#include "guardrails/status/settings.hpp"
#include "http/probes.hpp"
#include "http/settings.hpp"
#include "logging/logger.hpp"

namespace {

constexpr guardrails::MetricId kSuccessMetric = 2;

config::Schema make_schema() {
  config::Schema schema("guardrail-sim", "GUARDRAIL_SIM",
                        "the deployment guardrail on a synthetic workload (demo and load target)");
  http::add_server_settings(schema, 8080);
  guardrails::add_guardrail_settings(schema, "guardrail-sim", "data/evidence/guardrail-sim.jsonl");
  schema.add_string("log.level", "info", "log level", {"debug", "info", "warn", "error", "off"})
      .add_int("shutdown.grace_ms", 5000, 0, 600'000, "time in-flight requests get after SIGTERM")
      .add_double("sim.rate", 1000, 0, 1'000'000, "synthetic requests per second (0: no workload)")
      .add_double("sim.base_latency_ms", 2, 0, 60'000, "typical latency of a healthy request")
      .add_double("sim.jitter_ms", 1, 0, 60'000, "uniform jitter added to each latency")
      .add_double("sim.degrade_after_s", 0, 0, 86'400,
                  "seconds after start when the release turns bad (0: never)")
      .add_double("sim.degraded_latency_ms", 120, 0, 600'000, "latency once degraded")
      .add_double("sim.error_ratio", 0, 0, 1, "fraction of failed requests")
      .add_double("sim.success_objective", 0.99, 0.5, 0.99999,
                  "objective of the success-ratio SLO");
  return schema;
}

}  // namespace

int main(int argc, char** argv) {
  http::block_shutdown_signals();  // before any thread: SIGTERM is only ever taken by sigwait
  const config::Schema schema = make_schema();
  const config::Values values = config::load_or_exit(schema, argc, argv);
  logging::Level level{};
  logging::parse_level(values.get_string("log.level"), level);
  logging::set_level(level);

  auto gconfig = guardrails::guardrail_config_from(values);
  if (!gconfig) {
    std::fprintf(stderr, "guardrail-sim: %s\n", gconfig.error().message.c_str());
    return 2;
  }
  guardrails::slo::SloSpec success;
  success.name = "success_ratio";
  success.kind = guardrails::slo::SloKind::kRatio;
  success.metric = kSuccessMetric;
  success.min_good_ratio = values.get_double("sim.success_objective");
  success.window = gconfig->evaluator.slos.front().window;
  success.burn_rate_alerts = gconfig->evaluator.slos.front().burn_rate_alerts;
  success.min_samples = gconfig->evaluator.slos.front().min_samples;
  gconfig->evaluator.slos.push_back(success);

  auto created = guardrails::Guardrail::create(std::move(*gconfig));
  if (!created) {
    std::fprintf(stderr, "guardrail-sim: %s\n", created.error().message.c_str());
    return 2;
  }
  guardrails::Guardrail& guardrail = **created;

  http::Router router;
  std::atomic<const http::Server*> server_ptr{nullptr};
  http::mount_probe_routes(router,
                           [&server_ptr]() -> std::string {
                             const auto* s = server_ptr.load();
                             return s != nullptr && s->draining() ? "draining" : "";
                           },
                           {{"evidence", [&guardrail] {
                               const auto snap = guardrail.snapshot();
                               return std::make_pair(snap->evidence_errors == 0,
                                                     snap->evidence_errors == 0
                                                         ? std::string("appending")
                                                         : snap->evidence_problem);
                             }}});
  guardrails::mount_guardrail_routes(router, guardrail);
  guardrails::mount_metrics_route(router,
                                  {std::make_shared<guardrails::GuardrailCollectable>(guardrail)});

  http::Server server(http::server_options_from(values), std::move(router));
  server_ptr = &server;
  guardrail.start();
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "guardrail-sim: %s\n", started.error().message.c_str());
    guardrail.stop();
    return 2;
  }

  // The synthetic workload.
  std::atomic<bool> stop{false};
  const double rate = values.get_double("sim.rate");
  std::thread workload([&] {
    if (rate <= 0) return;
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> jitter(0, values.get_double("sim.jitter_ms"));
    std::uniform_real_distribution<double> unit(0, 1);
    const double base = values.get_double("sim.base_latency_ms");
    const double degraded = values.get_double("sim.degraded_latency_ms");
    const double degrade_after = values.get_double("sim.degrade_after_s");
    const double error_ratio = values.get_double("sim.error_ratio");
    const auto period = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
    const core::Nanos start = core::monotonic_now_ns();
    auto next = std::chrono::steady_clock::now();
    bool announced = false;
    while (!stop.load(std::memory_order_relaxed)) {
      const core::Nanos now = core::monotonic_now_ns();
      const bool bad = degrade_after > 0 && static_cast<double>(now - start) / 1e9 >= degrade_after;
      if (bad && !announced) {
        logging::warn("sim", "release degraded", {{"latency_ms", degraded}});
        announced = true;
      }
      const double ms = (bad ? degraded : base) + jitter(rng);
      guardrail.record(guardrails::kLatencyMetric, static_cast<std::int64_t>(ms * 1e6), now);
      guardrail.record(kSuccessMetric, unit(rng) < error_ratio ? 0 : 1, now);
      next += period;
      std::this_thread::sleep_until(next);
    }
  });

  const int sig = http::wait_for_shutdown_signal();
  logging::info("guardrail-sim", "shutting down", {{"signal", sig}});
  stop = true;
  workload.join();
  server.stop(std::chrono::milliseconds(values.get_int("shutdown.grace_ms")));
  guardrail.stop();
  return 0;
}
