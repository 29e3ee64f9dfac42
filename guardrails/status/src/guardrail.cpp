#include "guardrails/status/guardrail.hpp"

#include <nlohmann/json.hpp>

#include "core/build_info.hpp"
#include "logging/logger.hpp"

namespace guardrails {

namespace {

constexpr std::size_t kDrainBatch = 4096;

nlohmann::json slos_json(const slo::Evaluation& ev) {
  nlohmann::json slos = nlohmann::json::array();
  for (const auto& s : ev.slos) {
    slos.push_back({{"name", s.name},
                    {"kind", s.kind == slo::SloKind::kLatency ? "latency" : "ratio"},
                    {"objective", s.objective},
                    {"value", s.has_value ? nlohmann::json(s.value) : nlohmann::json(nullptr)},
                    {"window_s", s.window_s},
                    {"window_count", s.window_count},
                    {"ok", s.ok},
                    {"window_samples", s.window_samples},
                    {"samples", s.total_samples},
                    {"min_samples", s.min_samples},
                    {"breach_streak", s.breach_streak},
                    {"gates_promotion", s.gates_promotion}});
  }
  return slos;
}

}  // namespace

std::string status_json(const Snapshot& snap) {
  const auto& ev = snap.evaluation;
  nlohmann::json burn = nlohmann::json::array();
  for (const auto& b : ev.burn_rates) {
    burn.push_back({{"slo", b.slo},
                    {"long_window_s", b.long_window_s},
                    {"short_window_s", b.short_window_s},
                    {"factor", b.factor},
                    {"long_rate", b.long_rate},
                    {"short_rate", b.short_rate},
                    {"firing", b.firing}});
  }
  char ts[32];
  core::format_utc_iso8601(snap.evaluated_at_wall, ts);
  nlohmann::json data = {{"app", snap.app},
                         {"version", snap.version},
                         {"git_sha", snap.git_sha},
                         {"colour", snap.colour},
                         {"verdict", std::string(slo::to_string(ev.verdict))},
                         {"reasons", ev.reasons},
                         {"latched", ev.latched},
                         {"samples", ev.samples},
                         {"min_samples", ev.min_samples},
                         {"slos", slos_json(ev)},
                         {"burn_rates", burn},
                         {"evaluated_at", ts},
                         {"evaluations", snap.evaluations},
                         {"samples_dropped", snap.samples_dropped},
                         {"evidence_entries", snap.evidence_entries},
                         {"evidence_ok", snap.evidence_errors == 0}};
  return nlohmann::json{{"data", std::move(data)}}.dump();
}

core::Result<std::unique_ptr<Guardrail>> Guardrail::create(GuardrailConfig config,
                                                           const core::Clock& clock) {
  if (auto ok = slo::validate(config.evaluator); !ok) {
    return core::fail(1, "guardrail: " + ok.error().message);
  }
  if (config.evaluation_interval <= 0)
    return core::fail(1, "guardrail: evaluation interval must be > 0");
  if (config.version.empty()) config.version = core::build_info::kVersion;
  if (config.git_sha.empty()) config.git_sha = core::build_info::kGitSha;
  std::unique_ptr<evidence::EvidenceLog> log;
  if (!config.evidence_path.empty()) {
    auto opened = evidence::EvidenceLog::open(config.evidence_path);
    if (!opened) return core::fail(2, "guardrail: " + opened.error().message);
    log = std::move(*opened);
  }
  return std::unique_ptr<Guardrail>(new Guardrail(std::move(config), clock, std::move(log)));
}

Guardrail::Guardrail(GuardrailConfig config, const core::Clock& clock,
                     std::unique_ptr<evidence::EvidenceLog> log)
    : config_(std::move(config)),
      clock_(clock),
      sink_(config_.sink),
      evidence_(std::move(log)),
      evaluator_(config_.evaluator),
      buffer_(kDrainBatch) {
  std::lock_guard lock(mutex_);
  evaluate_locked(clock_.monotonic_ns());
}

Guardrail::~Guardrail() { stop(); }

void Guardrail::append_evidence(std::string_view type, const nlohmann::json& data) {
  if (!evidence_) return;
  auto r = evidence_->append(type, data, clock_.wall_ns());
  if (!r) {
    ++evidence_errors_;
    evidence_problem_ = r.error().message;
    logging::error("guardrail", "evidence append failed",
                   {{"type", type}, {"error", r.error().message}});
  }
}

void Guardrail::start() {
  if (started_.exchange(true)) return;
  {
    std::lock_guard lock(mutex_);
    nlohmann::json slos = nlohmann::json::array();
    for (const auto& s : config_.evaluator.slos) {
      slos.push_back({{"name", s.name},
                      {"kind", s.kind == slo::SloKind::kLatency ? "latency" : "ratio"},
                      {"window_s", s.window_count > 0 ? 0.0 : static_cast<double>(s.window) / 1e9},
                      {"window_count", s.window_count},
                      {"objective", s.kind == slo::SloKind::kLatency
                                        ? static_cast<double>(s.threshold_ns) / 1e9
                                        : s.min_good_ratio},
                      {"burn_rate_alerts", slo::format_burn_rate_alerts(s.burn_rate_alerts)},
                      {"min_samples", s.min_samples}});
    }
    append_evidence("startup", {{"app", config_.app},
                                {"version", config_.version},
                                {"git_sha", config_.git_sha},
                                {"colour", config_.colour},
                                {"config_digest", config_.config_digest},
                                {"breach_evaluations", config_.evaluator.breach_evaluations},
                                {"slos", slos}});
    evaluate_locked(clock_.monotonic_ns());
  }
  {
    std::lock_guard lock(run_mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  logging::info("guardrail", "started",
                {{"app", config_.app}, {"version", config_.version}, {"colour", config_.colour}});
}

void Guardrail::stop() {
  if (!started_.exchange(false)) return;
  {
    std::lock_guard lock(run_mutex_);
    stopping_ = true;
  }
  run_cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mutex_);
  drain_once();
  evaluate_locked(clock_.monotonic_ns());
  append_evidence("shutdown",
                  {{"verdict", std::string(slo::to_string(snapshot()->evaluation.verdict))},
                   {"samples_drained", drained_},
                   {"samples_dropped", sink_.dropped()}});
  logging::info("guardrail", "stopped",
                {{"verdict", slo::to_string(snapshot()->evaluation.verdict)}});
}

void Guardrail::drain_once() {
  for (;;) {
    const std::size_t n = sink_.drain(buffer_);
    if (n == 0) return;
    evaluator_.add(std::span<const Sample>(buffer_.data(), n));
    drained_ += n;
    if (n < buffer_.size()) return;
  }
}

void Guardrail::evaluate_locked(core::Nanos now) {
  auto snap = std::make_shared<Snapshot>();
  snap->evaluation = evaluator_.evaluate(now);
  ++evaluations_;
  snap->app = config_.app;
  snap->version = config_.version;
  snap->git_sha = config_.git_sha;
  snap->colour = config_.colour;
  snap->evaluated_at_wall = clock_.wall_ns();
  snap->evaluations = evaluations_;
  snap->samples_drained = drained_;
  snap->samples_dropped = sink_.dropped();
  for (std::size_t i = 0; i < config_.evaluator.slos.size(); ++i) {
    const auto* h = evaluator_.cumulative_latency(i);
    snap->latency.push_back(h ? std::make_shared<const slo::LogLinearHistogram>(*h) : nullptr);
  }
  const auto& ev = snap->evaluation;
  if (ev.changed) {
    const auto current = snapshot();
    const auto previous = current ? current->evaluation.verdict : slo::Verdict::kHold;
    logging::info("guardrail", "verdict changed",
                  {{"from", slo::to_string(previous)},
                   {"to", slo::to_string(ev.verdict)},
                   {"reason", ev.reasons.empty() ? std::string() : ev.reasons.front()}});
    append_evidence("verdict", {{"from", std::string(slo::to_string(previous))},
                                {"to", std::string(slo::to_string(ev.verdict))},
                                {"reasons", ev.reasons},
                                {"samples", ev.samples},
                                {"slos", slos_json(ev)}});
  }
  snap->evidence_entries = evidence_ ? evidence_->entries() : 0;
  snap->evidence_errors = evidence_errors_;
  snap->evidence_problem = evidence_problem_;
  snap->status_body = status_json(*snap);
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(snap);
}

void Guardrail::run() {
  core::Nanos next_evaluation = clock_.monotonic_ns() + config_.evaluation_interval;
  for (;;) {
    std::size_t drained_now = 0;
    {
      std::lock_guard lock(mutex_);
      const auto before = drained_;
      drain_once();
      drained_now = drained_ - before;
      const core::Nanos now = clock_.monotonic_ns();
      if (now >= next_evaluation) {
        evaluate_locked(now);
        next_evaluation = now + config_.evaluation_interval;
      }
    }
    if (drained_now > 0) continue;  // keep draining while samples flow
    std::unique_lock lock(run_mutex_);
    // Idle: nap briefly. 1 ms bounds the queueing delay a sample sees before evaluation.
    run_cv_.wait_for(lock, std::chrono::milliseconds(1), [this] { return stopping_; });
    if (stopping_) return;
  }
}

void Guardrail::evaluate_now() {
  std::lock_guard lock(mutex_);
  drain_once();
  evaluate_locked(clock_.monotonic_ns());
}

std::shared_ptr<const Snapshot> Guardrail::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void Guardrail::set_slo_detail(const std::string& slo_name, std::string detail) {
  std::lock_guard lock(mutex_);
  evaluator_.set_detail(slo_name, std::move(detail));
}

void Guardrail::reset(const std::string& who, const std::string& reason) {
  std::lock_guard lock(mutex_);
  const auto current = snapshot();
  const auto previous = current ? current->evaluation.verdict : slo::Verdict::kHold;
  drain_once();
  evaluator_.reset(clock_.monotonic_ns());
  append_evidence("reset", {{"who", who},
                            {"reason", reason},
                            {"previous_verdict", std::string(slo::to_string(previous))}});
  logging::info("guardrail", "reset",
                {{"who", who}, {"previous_verdict", slo::to_string(previous)}});
  evaluate_locked(clock_.monotonic_ns());
}

std::string Guardrail::controller_event(const ControllerEvent& e) {
  {
    std::lock_guard lock(mutex_);
    append_evidence("controller_event", {{"deployment", e.deployment},
                                         {"event", e.event},
                                         {"detail", e.detail},
                                         {"who", e.who},
                                         {"from", e.remote}});
  }
  logging::info("guardrail", "controller event",
                {{"deployment", e.deployment}, {"event", e.event}, {"who", e.who}});
  return config_.on_controller_event ? config_.on_controller_event(e) : std::string();
}

}  // namespace guardrails
