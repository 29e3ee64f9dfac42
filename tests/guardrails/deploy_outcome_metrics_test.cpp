// DeploymentMetrics: the node-exporter textfile of guardctl deploy carries its counters across
// runs (parse what it rendered), keeps the last deployment's figures per app, and never lets a
// label value break the exposition format.
#include <gtest/gtest.h>

#include "guardrails/deploy/outcome_metrics.hpp"

namespace {

using guardrails::deploy::DeploymentMetrics;
using guardrails::deploy::DeploymentRecord;

DeploymentRecord record(std::string app, std::string outcome, double at) {
  DeploymentRecord r;
  r.app = std::move(app);
  r.outcome = std::move(outcome);
  r.risk_class = "Medium";
  r.serving_colour = "green";
  r.serving_version = "1.2.0";
  r.finished_at_seconds = at;
  return r;
}

TEST(DeploymentMetrics, CountsCarryOnAcrossRunsThroughTheFile) {
  DeploymentMetrics first;
  first.add(record("pharma-mes", "promoted", 100));
  auto rollback = record("pharma-mes", "rolled-back-post-promotion", 200);
  rollback.detect_seconds = 4.5;
  rollback.recover_seconds = 0.25;
  rollback.serving_colour = "blue";
  first.add(rollback);
  // The next run starts from the file the last one wrote.
  DeploymentMetrics second = DeploymentMetrics::parse(first.render());
  second.add(record("pharma-mes", "promoted", 300));
  second.add(record("trading-engine", "aborted", 310));
  const std::string text = second.render();
  EXPECT_NE(text.find("guardctl_deployments_total{app=\"pharma-mes\",outcome=\"promoted\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("guardctl_deployments_total{app=\"pharma-mes\",outcome=\"rolled_back_post_"
                      "promotion\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("guardctl_deployments_total{app=\"trading-engine\",outcome=\"aborted\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("guardctl_deployment_detect_seconds_sum{app=\"pharma-mes\"} 4.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("guardctl_deployment_recover_seconds_count{app=\"pharma-mes\"} 1\n"),
            std::string::npos);
  // The last deployment of pharma-mes was a promotion: no last detect time, green serves.
  EXPECT_EQ(text.find("guardctl_deployment_last_detect_seconds{app=\"pharma-mes\"}"),
            std::string::npos);
  EXPECT_NE(text.find("guardctl_deployment_serving_info{app=\"pharma-mes\",colour=\"green\","
                      "version=\"1.2.0\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("guardctl_deployment_last_timestamp_seconds{app=\"pharma-mes\"} 300\n"),
            std::string::npos);
  // Parsing the rendering gives the same rendering (nothing lost or doubled).
  EXPECT_EQ(DeploymentMetrics::parse(text).render(), text);
}

TEST(DeploymentMetrics, HostileLabelValuesAreSanitisedAndGarbageIgnored) {
  auto r = record("app\"} 1\nevil", "promoted", 1);
  r.serving_version = std::string(200, 'v') + "\n";
  DeploymentMetrics m = DeploymentMetrics::parse("garbage\n{oops} x\nguardctl_x{app=\"a\" 1\n");
  m.add(r);
  const std::string text = m.render();
  for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; ++at) {
    const std::size_t next = text.find('\n', at + 1);
    if (next == std::string::npos) break;
    const std::string line = text.substr(at + 1, next - at - 1);
    EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("guardctl_", 0) == 0) << line;
  }
  EXPECT_NE(text.find("app=\"app___1_evil\""), std::string::npos) << text;
  EXPECT_EQ(text.find(std::string(65, 'v')), std::string::npos);
}

}  // namespace
