// DeploymentMetrics: the deployment controller's outcomes as Prometheus series, kept in a
// node-exporter textfile (`guardctl deploy --metrics-file`). Why a textfile: a deployment is a
// short-lived batch job, and its outcome must outlive both colours (whose in-process metrics
// restart with them); the textfile collector is Prometheus's convention for batch jobs, and
// node-exporter serves it on every host without another daemon. Each run reads the file it
// wrote last (counters carry on), adds its deployment, and writes it back atomically.
//
// Series (label app = the guardrails' app name):
//   guardctl_deployments_total{app,outcome}             counter: promoted,
//   rolled_back_pre_promotion,
//                                                        rolled_back_post_promotion, aborted
//   guardctl_deployment_detect_seconds_{sum,count}{app}  rollbacks: the new release's first traffic
//                                                        (or its analysis) to the rollback decision
//   guardctl_deployment_recover_seconds_{sum,count}{app} rollbacks: the decision to traffic back
//   guardctl_deployment_last_*{app,...}                  the last deployment: its finish time,
//                                                        outcome, risk class, serving colour and
//                                                        version, detect and recover times
// Pure (no I/O); not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace guardrails::deploy {

struct DeploymentRecord {
  std::string app;
  std::string outcome;     // deploy::to_string(Outcome): promoted, rolled_back_..., aborted
  std::string risk_class;  // Low, Medium, High, Critical
  std::string serving_colour, serving_version;  // who holds the traffic afterwards
  double finished_at_seconds = 0;               // Unix time
  std::optional<double> detect_seconds, recover_seconds;
};

class DeploymentMetrics {
 public:
  // Reads a file this class rendered (other lines are ignored; an empty text is a fresh start).
  static DeploymentMetrics parse(std::string_view text);
  void add(const DeploymentRecord& record);
  std::string render() const;

  struct AppState {
    std::map<std::string, double> outcomes;  // outcome -> count
    double detect_sum = 0, detect_count = 0, recover_sum = 0, recover_count = 0;
    DeploymentRecord last;
    bool has_last = false;
  };
  const std::map<std::string, AppState>& apps() const { return apps_; }

 private:
  std::map<std::string, AppState> apps_;
};

// A label value kept to letters, digits and ._+:- (at most 64 characters).
std::string sanitize_label_value(std::string_view value);

}  // namespace guardrails::deploy
