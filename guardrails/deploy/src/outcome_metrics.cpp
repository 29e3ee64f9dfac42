#include "guardrails/deploy/outcome_metrics.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace guardrails::deploy {

namespace {

constexpr const char* kOutcomes[] = {"promoted", "rolled_back_pre_promotion",
                                     "rolled_back_post_promotion", "aborted"};

std::string label_outcome(std::string_view outcome) {
  std::string out = sanitize_label_value(outcome);
  for (char& c : out) c = c == '-' ? '_' : c;
  return out;
}

// One sample line: name{k="v",...} value. False when it is not one.
bool parse_sample(std::string_view line, std::string& name,
                  std::map<std::string, std::string>& labels, double& value) {
  labels.clear();
  const auto space = line.rfind(' ');
  if (space == std::string_view::npos) return false;
  const std::string number(line.substr(space + 1));
  char* end = nullptr;
  value = std::strtod(number.c_str(), &end);
  if (end == number.c_str() || *end != '\0' || !std::isfinite(value)) return false;
  std::string_view head = line.substr(0, space);
  const auto brace = head.find('{');
  name = std::string(head.substr(0, brace));
  if (brace == std::string_view::npos) return true;
  if (head.back() != '}') return false;
  std::string_view rest = head.substr(brace + 1, head.size() - brace - 2);
  while (!rest.empty()) {
    const auto eq = rest.find("=\"");
    if (eq == std::string_view::npos) return false;
    const auto close = rest.find('"', eq + 2);
    if (close == std::string_view::npos) return false;
    labels[std::string(rest.substr(0, eq))] = std::string(rest.substr(eq + 2, close - eq - 2));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
  }
  return true;
}

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

std::string sanitize_label_value(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, 64)) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                    c == '+' || c == ':' || c == '-';
    out += ok ? c : '_';
  }
  return out;
}

DeploymentMetrics DeploymentMetrics::parse(std::string_view text) {
  DeploymentMetrics m;
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line[0] == '#' || !parse_sample(line, name, labels, value)) continue;
    if (name.rfind("guardctl_", 0) != 0 || labels.count("app") == 0) continue;
    // Someone may have edited the file: every value read is kept to the label alphabet.
    for (auto& [key, v] : labels) v = sanitize_label_value(v);
    const auto app = labels.find("app");
    AppState& s = m.apps_[app->second];
    DeploymentRecord& last = s.last;
    last.app = app->second;
    if (name == "guardctl_deployments_total" && labels.count("outcome") != 0) {
      s.outcomes[labels["outcome"]] = value;
    } else if (name == "guardctl_deployment_detect_seconds_sum") {
      s.detect_sum = value;
    } else if (name == "guardctl_deployment_detect_seconds_count") {
      s.detect_count = value;
    } else if (name == "guardctl_deployment_recover_seconds_sum") {
      s.recover_sum = value;
    } else if (name == "guardctl_deployment_recover_seconds_count") {
      s.recover_count = value;
    } else if (name == "guardctl_deployment_last_timestamp_seconds") {
      last.finished_at_seconds = value;
      s.has_last = true;
    } else if (name == "guardctl_deployment_last_outcome" && value == 1) {
      last.outcome = labels["outcome"];
    } else if (name == "guardctl_deployment_last_risk_class" && value == 1) {
      last.risk_class = labels["risk_class"];
    } else if (name == "guardctl_deployment_serving_info" && value == 1) {
      last.serving_colour = labels["colour"];
      last.serving_version = labels["version"];
    } else if (name == "guardctl_deployment_last_detect_seconds") {
      last.detect_seconds = value;
    } else if (name == "guardctl_deployment_last_recover_seconds") {
      last.recover_seconds = value;
    }
  }
  return m;
}

void DeploymentMetrics::add(const DeploymentRecord& record) {
  const std::string app = sanitize_label_value(record.app);
  AppState& s = apps_[app];
  DeploymentRecord r = record;
  r.app = app;
  r.outcome = label_outcome(record.outcome);
  r.risk_class = sanitize_label_value(record.risk_class);
  r.serving_colour = sanitize_label_value(record.serving_colour);
  r.serving_version = sanitize_label_value(record.serving_version);
  s.outcomes[r.outcome] += 1;
  if (r.detect_seconds) {
    s.detect_sum += *r.detect_seconds;
    s.detect_count += 1;
  }
  if (r.recover_seconds) {
    s.recover_sum += *r.recover_seconds;
    s.recover_count += 1;
  }
  s.last = r;
  s.has_last = true;
}

std::string DeploymentMetrics::render() const {
  std::string out;
  const auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("guardctl_deployments_total", "counter",
         "Blue/green deployments guardctl deploy finished, by outcome");
  for (const auto& [app, s] : apps_) {
    for (const char* o : kOutcomes) {
      const auto it = s.outcomes.find(o);
      out += fmt::format("guardctl_deployments_total{{app=\"{}\",outcome=\"{}\"}} {}\n", app, o,
                         number(it == s.outcomes.end() ? 0 : it->second));
    }
  }
  family("guardctl_deployment_detect_seconds", "summary",
         "Rollbacks: from the new release's first traffic (or its analysis) to the decision");
  for (const auto& [app, s] : apps_) {
    out += fmt::format("guardctl_deployment_detect_seconds_sum{{app=\"{}\"}} {}\n", app,
                       number(s.detect_sum));
    out += fmt::format("guardctl_deployment_detect_seconds_count{{app=\"{}\"}} {}\n", app,
                       number(s.detect_count));
  }
  family("guardctl_deployment_recover_seconds", "summary",
         "Rollbacks: from the decision to the users' traffic back on the previous release");
  for (const auto& [app, s] : apps_) {
    out += fmt::format("guardctl_deployment_recover_seconds_sum{{app=\"{}\"}} {}\n", app,
                       number(s.recover_sum));
    out += fmt::format("guardctl_deployment_recover_seconds_count{{app=\"{}\"}} {}\n", app,
                       number(s.recover_count));
  }
  family("guardctl_deployment_last_timestamp_seconds", "gauge",
         "When the last deployment finished (Unix time)");
  for (const auto& [app, s] : apps_) {
    if (s.has_last) {
      out += fmt::format("guardctl_deployment_last_timestamp_seconds{{app=\"{}\"}} {}\n", app,
                         number(s.last.finished_at_seconds));
    }
  }
  family("guardctl_deployment_last_outcome", "gauge", "The last deployment's outcome (1)");
  for (const auto& [app, s] : apps_) {
    if (s.has_last) {
      out += fmt::format("guardctl_deployment_last_outcome{{app=\"{}\",outcome=\"{}\"}} 1\n", app,
                         s.last.outcome);
    }
  }
  family("guardctl_deployment_last_risk_class", "gauge", "The risk class of the last change (1)");
  for (const auto& [app, s] : apps_) {
    if (s.has_last) {
      out += fmt::format("guardctl_deployment_last_risk_class{{app=\"{}\",risk_class=\"{}\"}} 1\n",
                         app, s.last.risk_class);
    }
  }
  family("guardctl_deployment_serving_info", "gauge",
         "The colour and version holding the traffic after the last deployment (1)");
  for (const auto& [app, s] : apps_) {
    if (s.has_last) {
      out += fmt::format(
          "guardctl_deployment_serving_info{{app=\"{}\",colour=\"{}\",version=\"{}\"}} 1\n", app,
          s.last.serving_colour, s.last.serving_version);
    }
  }
  family("guardctl_deployment_last_detect_seconds", "gauge", "The last rollback's time to detect");
  for (const auto& [app, s] : apps_) {
    if (s.has_last && s.last.detect_seconds) {
      out += fmt::format("guardctl_deployment_last_detect_seconds{{app=\"{}\"}} {}\n", app,
                         number(*s.last.detect_seconds));
    }
  }
  family("guardctl_deployment_last_recover_seconds", "gauge",
         "The last rollback's time to recover");
  for (const auto& [app, s] : apps_) {
    if (s.has_last && s.last.recover_seconds) {
      out += fmt::format("guardctl_deployment_last_recover_seconds{{app=\"{}\"}} {}\n", app,
                         number(*s.last.recover_seconds));
    }
  }
  return out;
}

}  // namespace guardrails::deploy
