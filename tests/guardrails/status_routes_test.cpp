// The guardrail HTTP contract over real loopback: what Argo Rollouts and Flagger see.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "guardrails/evidence/evidence_log.hpp"
#include "guardrails/export/prometheus_export.hpp"
#include "guardrails/status/routes.hpp"
#include "guardrails/status/settings.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "logging/logger.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using core::kNanosPerMilli;
using core::kNanosPerSecond;

class GuardrailHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logging::set_level(logging::Level::kError);
    start_with("s3cret-token");
  }

  void start_with(const std::string& token) {
    if (server) server->stop(1s);
    server.reset();
    guardrail.reset();
    guardrails::GuardrailConfig c;
    c.app = "trading-engine";
    c.version = "9.9.9";
    c.git_sha = "abc123";
    c.colour = "green";
    c.reset_token = token;
    c.evidence_path = dir.file("evidence-" + std::to_string(++instance) + ".jsonl");
    c.sink.capacity_per_producer = 4096;
    guardrails::slo::SloSpec latency;
    latency.name = "latency";
    latency.metric = guardrails::kLatencyMetric;
    latency.window = 10 * kNanosPerSecond;
    latency.burn_rate_alerts = guardrails::slo::workbook_burn_rate_alerts(1.0 / 60);
    latency.min_samples = 100;
    c.evaluator.slos = {latency};
    evidence_path = c.evidence_path;
    auto g = guardrails::Guardrail::create(c, clock);
    ASSERT_TRUE(g) << g.error().message;
    guardrail = std::move(*g);
    guardrail->start();
    http::Router router;
    guardrails::mount_guardrail_routes(router, *guardrail);
    guardrails::mount_metrics_route(
        router, {std::make_shared<guardrails::GuardrailCollectable>(*guardrail)});
    http::ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<http::Server>(o, std::move(router));
    ASSERT_TRUE(server->start());
    client = std::make_unique<http::Client>("127.0.0.1", server->port());
  }

  void TearDown() override {
    if (server) server->stop(1s);
    if (guardrail) guardrail->stop();
  }

  // Records `n` latencies of `ms` over `seconds` of manual time, then evaluates.
  void traffic(int n, double ms, double seconds = 1.0) {
    const auto step = static_cast<core::Nanos>(seconds * 1e9 / n);
    for (int i = 0; i < n; ++i) {
      clock.advance(step);
      ASSERT_TRUE(guardrail->record(guardrails::kLatencyMetric, static_cast<std::int64_t>(ms * 1e6),
                                    clock.monotonic_ns()));
    }
    guardrail->evaluate_now();
  }
  void go_promote() { traffic(200, 2); }
  void go_rollback() {
    go_promote();
    for (int i = 0; i < 3; ++i) traffic(250, 150, 0.25);
  }

  nlohmann::json status() {
    auto r = client->request("GET", "/guardrail/v1/status");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-type"), "application/json");
    return nlohmann::json::parse(r->body);
  }
  http::ClientResponse post(const std::string& path, const std::string& body = "",
                            std::vector<http::Header> headers = {}) {
    auto r = client->request("POST", path, body, headers);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  test_support::TempDir dir;
  int instance = 0;
  std::string evidence_path;
  core::ManualClock clock{1'000 * kNanosPerSecond};
  std::unique_ptr<guardrails::Guardrail> guardrail;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::Client> client;
};

TEST_F(GuardrailHttpTest, StatusIsAlways200WithTheVerdictWhereArgoReadsIt) {
  auto s = status();
  ASSERT_TRUE(s.contains("data"));
  const auto& d = s["data"];
  EXPECT_EQ(d["verdict"], "hold");  // $.data.verdict
  EXPECT_EQ(d["app"], "trading-engine");
  EXPECT_EQ(d["version"], "9.9.9");
  EXPECT_EQ(d["git_sha"], "abc123");
  EXPECT_EQ(d["colour"], "green");
  EXPECT_EQ(d["samples"], 0);
  EXPECT_EQ(d["min_samples"], 100);
  EXPECT_TRUE(d["reasons"].is_array());
  ASSERT_EQ(d["slos"].size(), 1u);
  for (const char* key : {"name", "objective", "value", "window_s", "ok"})
    EXPECT_TRUE(d["slos"][0].contains(key)) << key;

  go_promote();
  s = status();
  EXPECT_EQ(s["data"]["verdict"], "promote");
  EXPECT_EQ(s["data"]["samples"], 200);
  EXPECT_DOUBLE_EQ(s["data"]["slos"][0]["objective"].get<double>(), 0.05);
  EXPECT_NEAR(s["data"]["slos"][0]["value"].get<double>(), 0.002, 0.00002);
  EXPECT_EQ(s["data"]["slos"][0]["window_s"], 10.0);

  go_rollback();
  s = status();
  EXPECT_EQ(s["data"]["verdict"], "rollback");
  EXPECT_EQ(s["data"]["latched"], true);
  EXPECT_FALSE(s["data"]["slos"][0]["ok"].get<bool>());
}

TEST_F(GuardrailHttpTest, FlaggerWebhookStatusCodesFollowTheVerdict) {
  const std::string body =
      R"({"name":"engine","namespace":"venue","phase":"Progressing","checksum":"x","metadata":{}})";
  auto held = post("/guardrail/v1/flagger", body);
  EXPECT_EQ(held.status, 412);
  const auto j = nlohmann::json::parse(held.body);
  EXPECT_EQ(j["error"]["code"], "hold");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("collecting samples"), std::string::npos);
  EXPECT_EQ(post("/guardrail/v1/flagger/rollback", body).status, 412)
      << "hold is not a reason to roll back";

  go_promote();
  EXPECT_EQ(post("/guardrail/v1/flagger", body).status, 200);
  EXPECT_EQ(post("/guardrail/v1/flagger").status, 200) << "an empty body is tolerated";
  EXPECT_EQ(post("/guardrail/v1/flagger/rollback", body).status, 412);

  go_rollback();
  const auto gated = post("/guardrail/v1/flagger", body);
  EXPECT_EQ(gated.status, 412);
  EXPECT_EQ(nlohmann::json::parse(gated.body)["error"]["code"], "rollback");
  EXPECT_EQ(post("/guardrail/v1/flagger/rollback", body).status, 200);
}

TEST_F(GuardrailHttpTest, FlaggerRejectsMalformedBodiesWith400) {
  for (const char* bad :
       {"{not json", "[1,2]", R"({"name":5})", R"({"metadata":"x"})", "\"str\""}) {
    const auto r = post("/guardrail/v1/flagger", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(nlohmann::json::parse(r.body)["error"]["code"].is_string());
  }
  EXPECT_EQ(client->request("GET", "/guardrail/v1/flagger")->status, 405);
  EXPECT_EQ(client->request("POST", "/guardrail/v1/status")->status, 405);
  EXPECT_EQ(client->request("GET", "/guardrail/v2/status")->status, 404);
}

TEST_F(GuardrailHttpTest, ResetNeedsTheBearerTokenAndClearsTheLatch) {
  go_rollback();
  const auto none = post("/guardrail/v1/reset");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(post("/guardrail/v1/reset", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(post("/guardrail/v1/reset", "", {{"Authorization", "Basic czNjcmV0LXRva2Vu"}}).status,
            401);
  EXPECT_EQ(status()["data"]["verdict"], "rollback") << "failed resets change nothing";
  EXPECT_EQ(post("/guardrail/v1/reset", "{oops", {{"Authorization", "Bearer s3cret-token"}}).status,
            400);
  EXPECT_EQ(post("/guardrail/v1/reset", R"({"who":""})", {{"Authorization", "Bearer s3cret-token"}})
                .status,
            400);

  const auto ok = post("/guardrail/v1/reset", R"({"who":"alice","reason":"fixed forward"})",
                       {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(nlohmann::json::parse(ok.body)["data"]["verdict"], "hold");
  EXPECT_EQ(status()["data"]["latched"], false);
  const auto content = test_support::read_file(evidence_path);
  EXPECT_NE(content.find(R"("type":"reset")"), std::string::npos);
  EXPECT_NE(content.find("alice from 127.0.0.1"), std::string::npos);
  EXPECT_NE(content.find("fixed forward"), std::string::npos);
}

// The controller reports switches and rollbacks: with the bearer token only, validated, kept in
// the evidence chain.
TEST_F(GuardrailHttpTest, ControllerEventsNeedTheTokenAndLandInTheEvidence) {
  const std::string event =
      R"({"deployment":"deploy-42","event":"switched","detail":"traffic to green","who":"alice"})";
  EXPECT_EQ(post("/guardrail/v1/events", event).status, 401);
  EXPECT_EQ(post("/guardrail/v1/events", event, {{"Authorization", "Bearer wrong"}}).status, 401);
  const std::vector<http::Header> auth = {{"Authorization", "Bearer s3cret-token"}};
  for (const std::string bad :
       {"{oops", "[]", R"({"deployment":"d"})", R"({"deployment":"d","event":"Switched!"})",
        R"({"deployment":"d","event":"switched","detail":7})", R"({"event":"switched"})"}) {
    const auto r = post("/guardrail/v1/events", bad, auth);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(nlohmann::json::parse(r.body)["error"]["message"].is_string()) << r.body;
  }
  const auto ok = post("/guardrail/v1/events", event, auth);
  ASSERT_EQ(ok.status, 200) << ok.body;
  guardrail->stop();
  const auto content = test_support::read_file(evidence_path);
  EXPECT_NE(content.find(R"("type":"controller_event")"), std::string::npos);
  EXPECT_NE(content.find("deploy-42"), std::string::npos);
  EXPECT_NE(content.find("traffic to green"), std::string::npos);
  EXPECT_TRUE(guardrails::evidence::verify_file(evidence_path).ok);
}

TEST_F(GuardrailHttpTest, ResetIsRefusedWhenNoTokenIsConfigured) {
  start_with("");
  const auto r = post("/guardrail/v1/reset", "", {{"Authorization", "Bearer "}});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("reset_token"), std::string::npos);
}

TEST_F(GuardrailHttpTest, EveryVerdictChangeIsInTheEvidenceChain) {
  go_promote();
  go_rollback();
  post("/guardrail/v1/reset", "", {{"Authorization", "Bearer s3cret-token"}});
  guardrail->stop();
  const auto report = guardrails::evidence::verify_file(evidence_path);
  ASSERT_TRUE(report.ok) << report.problem;
  std::vector<std::string> kinds;
  std::vector<std::string> transitions;
  const auto content = test_support::read_file(evidence_path);
  std::size_t start = 0;
  while (start < content.size()) {
    const auto nl = content.find('\n', start);
    const auto e = nlohmann::json::parse(content.substr(start, nl - start));
    kinds.push_back(e["type"]);
    if (e["type"] == "verdict") {
      transitions.push_back(e["data"]["from"].get<std::string>() + ">" +
                            e["data"]["to"].get<std::string>());
      EXPECT_FALSE(e["data"]["reasons"].empty());
      EXPECT_FALSE(e["data"]["slos"].empty());
    }
    start = nl + 1;
  }
  EXPECT_EQ(kinds.front(), "startup");
  EXPECT_EQ(kinds.back(), "shutdown");
  EXPECT_EQ(transitions, (std::vector<std::string>{"hold>promote", "promote>hold", "hold>rollback",
                                                   "rollback>hold"}));
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "reset"), kinds.end());
}

TEST_F(GuardrailHttpTest, MetricsExportPassesPromtoolAndCarriesTheHistogram) {
  traffic(1000, 1);  // p99 stays fast: promote
  traffic(5, 100);
  auto r = client->request("GET", "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  const auto& body = r->body;
  for (const char* needle :
       {"guardrail_verdict{verdict=\"promote\"} 1",
        "guardrail_latency_seconds_bucket{slo=\"latency\",le=\"0.05\"} 1000",
        "guardrail_latency_seconds_bucket{slo=\"latency\",le=\"+Inf\"} 1005",
        "guardrail_latency_seconds_count{slo=\"latency\"} 1005", "guardrail_samples_total 1005",
        "guardrail_samples_dropped_total 0", "guardrail_slo_objective{slo=\"latency\"} 0.05",
        "guardrail_burn_rate{slo=\"latency\",alert=\"60s/5s\",window=\"long\"}",
        "guardrail_evaluation_lag_seconds",
        "guardrail_build_info{app=\"trading-engine\",version=\"9.9.9\""}) {
    EXPECT_NE(body.find(needle), std::string::npos) << needle << "\n" << body;
  }
  const std::string promtool = PROMTOOL;
  if (promtool.empty() || promtool.find("NOTFOUND") != std::string::npos)
    GTEST_SKIP() << "promtool not installed";
  test_support::write_file(dir.file("metrics.txt"), body);
  const auto [code, out] = test_support::run_command(
      {"/bin/sh", "-c", promtool + " check metrics < " + dir.file("metrics.txt")});
  EXPECT_EQ(code, 0) << out;
}

TEST_F(GuardrailHttpTest, StalledDrainDropsAndCountsWithoutBlockingProducers) {
  guardrail->stop();  // the drain thread is gone: nothing empties the queue
  std::size_t accepted = 0;
  for (int i = 0; i < 20'000; ++i) {
    accepted +=
        guardrail->record(guardrails::kLatencyMetric, 1'000'000, clock.monotonic_ns()) ? 1u : 0u;
  }
  EXPECT_GE(accepted, 4096u);
  EXPECT_LT(accepted, 20'000u);
  guardrail->evaluate_now();
  const auto snap = guardrail->snapshot();
  EXPECT_EQ(snap->samples_dropped, 20'000u - accepted);
  EXPECT_EQ(snap->samples_drained, accepted);
}

}  // namespace
