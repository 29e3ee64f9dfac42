// Guardrail: the in-process deployment guard a product owns. Hot threads call record(); a drain
// thread moves samples from the lock-free sink into the SLO evaluator, evaluates on a fixed
// interval, publishes an immutable Snapshot for HTTP and /metrics, and appends every verdict
// change (and start-up, resets, shutdown) to the hash-chained evidence log.
// Thread-safety: record() from any thread (lock-free); snapshot() and reset() from any thread;
// start()/stop() from the owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "guardrails/evidence/evidence_log.hpp"
#include "guardrails/metrics/metric_sink.hpp"
#include "guardrails/slo/evaluator.hpp"

namespace guardrails {

// What the deployment controller (guardctl deploy, or a hook of Argo Rollouts) reports to a
// colour's guardrail: a switch, a rollback, a promotion. Validated by the route.
struct ControllerEvent {
  std::string deployment;  // the controller's id for the deployment (its evidence directory)
  std::string event;       // "change", "switched", "rolled_back", "promoted", "aborted", ...
  std::string detail;      // free text: to which colour, why
  std::string who;         // who deploys
  std::string remote;      // where the report came from
};

struct GuardrailConfig {
  std::string app = "app";
  std::string version;  // defaults to the build's version
  std::string git_sha;  // defaults to the build's git sha
  std::string colour = "blue";
  slo::EvaluatorConfig evaluator;
  core::Nanos evaluation_interval = 250 * core::kNanosPerMilli;
  std::string reset_token;    // empty: reset is refused (401) — configure one to enable it
  std::string evidence_path;  // empty: no evidence log (tests only; binaries always set one)
  std::string config_digest;  // SHA-256 of the binary's resolved settings, for the start-up entry
  metrics::SinkOptions sink;
  // Called for every controller event after it is in the evidence log (the MES writes it to its
  // audit trail as a change event). Returns "" when kept, else why not (the route answers 503).
  // Runs on an io thread: must be thread-safe.
  std::function<std::string(const ControllerEvent&)> on_controller_event;
};

// What the HTTP routes and /metrics read: one consistent evaluation plus counters.
struct Snapshot {
  std::string app, version, git_sha, colour;
  slo::Evaluation evaluation;
  core::Nanos evaluated_at_wall = 0;
  std::uint64_t evaluations = 0;
  std::uint64_t samples_drained = 0;  // since start, never reset
  std::uint64_t samples_dropped = 0;  // queue full: never evaluated
  std::uint64_t evidence_entries = 0;
  std::uint64_t evidence_errors = 0;
  std::string evidence_problem;  // the last evidence failure, if any
  // Cumulative latency histograms (one per latency SLO, by SLO index; null for ratio SLOs).
  std::vector<std::shared_ptr<const slo::LogLinearHistogram>> latency;
  // The body of GET /guardrail/v1/status, rendered once per evaluation instead of per request.
  std::string status_body;
};

class Guardrail {
 public:
  // Validates the SLOs and opens the evidence log (refusing a broken chain).
  static core::Result<std::unique_ptr<Guardrail>> create(
      GuardrailConfig config, const core::Clock& clock = core::SystemClock::instance());
  ~Guardrail();  // stop()s if needed
  Guardrail(const Guardrail&) = delete;
  Guardrail& operator=(const Guardrail&) = delete;

  // Hot path: lock-free, never blocks; false when the sample was dropped.
  bool record(MetricId metric, std::int64_t value, core::Nanos monotonic_ts) {
    return sink_.record(metric, value, monotonic_ts);
  }

  void start();  // writes the start-up evidence entry and starts the drain thread
  void stop();   // final drain and evaluation, shutdown evidence entry, joins

  std::shared_ptr<const Snapshot> snapshot() const;
  // Clears a latched rollback and starts a fresh analysis; `who` goes into the evidence.
  void reset(const std::string& who, const std::string& reason);
  // Adds what only the product knows to an SLO's breach reason (Evaluator::set_detail).
  void set_slo_detail(const std::string& slo_name, std::string detail);
  // Appends a controller event to the evidence log and hands it to on_controller_event; "" when
  // kept, else why not.
  std::string controller_event(const ControllerEvent& event);
  // Runs one drain + evaluation now (tests and the stop path).
  void evaluate_now();

  const GuardrailConfig& config() const { return config_; }

 private:
  Guardrail(GuardrailConfig config, const core::Clock& clock,
            std::unique_ptr<evidence::EvidenceLog> log);
  void run();
  void drain_once();
  void evaluate_locked(core::Nanos now);
  void append_evidence(std::string_view type, const nlohmann::json& data);

  GuardrailConfig config_;
  const core::Clock& clock_;
  metrics::MetricSink sink_;
  std::unique_ptr<evidence::EvidenceLog> evidence_;

  mutable std::mutex mutex_;  // guards evaluator_ and the counters below
  slo::Evaluator evaluator_;
  std::vector<Sample> buffer_;
  std::uint64_t evaluations_ = 0;
  std::uint64_t drained_ = 0;
  std::uint64_t evidence_errors_ = 0;
  std::string evidence_problem_;
  // The published snapshot, behind its own tiny lock so readers never wait for a drain. (Not
  // std::atomic<shared_ptr>: libstdc++ 12 implements it with a lock bit TSan cannot see.)
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;  // guarded by snapshot_mutex_

  std::mutex run_mutex_;
  std::condition_variable run_cv_;
  bool stopping_ = false;  // guarded by run_mutex_
  std::thread thread_;
  std::atomic<bool> started_{false};
};

// JSON of the status contract (DESIGN.md §4): {"data":{"app",..,"verdict",..,"slos":[..]}}.
std::string status_json(const Snapshot& snapshot);

}  // namespace guardrails
