// The blue/green workflow, driven by a scripted controller: each test feeds what the adapters
// would report and checks the actions asked for, where the traffic is, the outcome, the exit code
// and the transitions recorded for the evidence log.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guardrails/deploy/status_document.hpp"
#include "guardrails/deploy/workflow.hpp"

namespace {

using namespace guardrails::deploy;
using guardrails::slo::Verdict;
constexpr core::Nanos kS = core::kNanosPerSecond;

Timing fast_timing() {
  Timing t;
  t.poll_interval = 1 * kS;
  t.ready_timeout = 10 * kS;
  t.hold_limit = 20 * kS;
  t.post_promotion_window = 30 * kS;
  t.scale_down_delay = 15 * kS;
  t.max_consecutive_errors = 3;
  return t;
}

// Drives a workflow, keeping the clock and the last actions.
class Drive {
 public:
  explicit Drive(Timing t = fast_timing()) : w(t) {}
  std::vector<Action> begin() { return last = w.begin(now); }
  std::vector<Action> on(Event e, core::Nanos advance = 0) {
    now += advance;
    return last = w.handle(Input{now, std::move(e)});
  }
  // Follows a kWaitUntil: moves the clock there and fires the timer.
  std::vector<Action> fire() {
    EXPECT_EQ(last.size(), 1u);
    EXPECT_EQ(last.at(0).step, Step::kWaitUntil);
    now = last.at(0).until;
    return last = w.handle(Input{now, TimerFired{}});
  }
  Step step() const { return last.empty() ? Step::kFinish : last.at(0).step; }
  // Through risk, pre-flight, start and readiness to the first verdict read.
  void to_pre_promotion() {
    begin();
    on(RiskAssessed{"Medium", false, false, "score 25"});
    on(PreflightChecked{});
    on(GreenStarted{});
    on(ReadyProbed{true, ""}, 1 * kS);
    ASSERT_EQ(w.phase(), Phase::kPrePromotion);
  }
  void to_post_promotion() {
    to_pre_promotion();
    on(VerdictRead{Colour::kGreen, Verdict::kPromote, "ok"}, 1 * kS);
    ASSERT_EQ(step(), Step::kSwitchTraffic);
    on(TrafficSwitched{Colour::kGreen, true, ""});
    ASSERT_EQ(w.phase(), Phase::kPostPromotion);
  }

  Workflow w;
  core::Nanos now = 1'000 * kS;
  std::vector<Action> last;
};

TEST(DeployWorkflow, AGoodGreenIsPromotedAndBlueStoppedAfterTheDelay) {
  Drive d;
  ASSERT_EQ(d.begin().at(0).step, Step::kAssessRisk);
  EXPECT_EQ(d.on(RiskAssessed{"High", false, false, "score 45"}).at(0).step, Step::kPreflight);
  EXPECT_EQ(d.on(PreflightChecked{}).at(0).step, Step::kStartGreen);
  EXPECT_EQ(d.on(GreenStarted{}).at(0).step, Step::kProbeReady);
  EXPECT_EQ(d.on(ReadyProbed{false, "503"}).at(0).step, Step::kWaitUntil);
  EXPECT_EQ(d.fire().at(0).step, Step::kProbeReady);
  EXPECT_EQ(d.on(ReadyProbed{true, ""}).at(0).step, Step::kReadVerdict);
  EXPECT_EQ(d.on(VerdictRead{Colour::kGreen, Verdict::kHold, "12/20 samples"}).at(0).step,
            Step::kWaitUntil);
  d.fire();
  EXPECT_EQ(d.w.traffic(), Colour::kBlue) << "users stay on blue during the analysis";
  auto a = d.on(VerdictRead{Colour::kGreen, Verdict::kPromote, ""});
  ASSERT_EQ(a.at(0).step, Step::kSwitchTraffic);
  EXPECT_EQ(a.at(0).colour, Colour::kGreen);
  d.on(TrafficSwitched{Colour::kGreen, true, ""});
  EXPECT_EQ(d.w.traffic(), Colour::kGreen);
  // Promote verdicts through the whole post-promotion window.
  for (int i = 0; i < 40 && d.w.phase() == Phase::kPostPromotion; ++i) {
    d.on(VerdictRead{Colour::kGreen, Verdict::kPromote, ""}, 1 * kS);
    if (d.step() == Step::kWaitUntil && d.w.phase() == Phase::kPostPromotion) d.fire();
  }
  ASSERT_EQ(d.w.phase(), Phase::kScaleDownDelay);
  EXPECT_EQ(d.last.at(0).until, d.now + 15 * kS) << "blue is kept for the scale-down delay";
  a = d.fire();
  ASSERT_EQ(a.at(0).step, Step::kStopColour);
  EXPECT_EQ(a.at(0).colour, Colour::kBlue);
  EXPECT_EQ(d.on(ColourStopped{Colour::kBlue}).at(0).step, Step::kFinish);
  EXPECT_EQ(d.w.outcome(), Outcome::kPromoted);
  EXPECT_EQ(exit_code(d.w.outcome()), 0);
  EXPECT_FALSE(d.w.rollback_started());

  std::vector<Phase> phases;
  for (const auto& t : d.w.take_transitions()) phases.push_back(t.to);
  const std::vector<Phase> expected{
      Phase::kAssessRisk,   Phase::kPreflight, Phase::kStartGreen,    Phase::kAwaitReady,
      Phase::kPrePromotion, Phase::kSwitching, Phase::kPostPromotion, Phase::kScaleDownDelay,
      Phase::kStopping,     Phase::kFinished};
  EXPECT_EQ(phases, expected);
  EXPECT_TRUE(d.w.take_transitions().empty()) << "taken once";
}

TEST(DeployWorkflow, ACriticalChangeNeedsASecondIdentitysApproval) {
  Drive d;
  d.begin();
  auto a = d.on(RiskAssessed{"Critical", true, false, "score 85"});
  EXPECT_EQ(a.at(0).step, Step::kFinish) << "nothing was started, nothing to stop";
  EXPECT_EQ(d.w.outcome(), Outcome::kAborted);
  EXPECT_EQ(exit_code(d.w.outcome()), 5);
  EXPECT_NE(d.w.reason().find("--approve"), std::string::npos) << d.w.reason();

  Drive approved;
  approved.begin();
  EXPECT_EQ(approved.on(RiskAssessed{"Critical", true, true, "score 85"}).at(0).step,
            Step::kPreflight);
}

TEST(DeployWorkflow, PreflightProblemsStopTheDeploymentWithTheirNames) {
  Drive d;
  d.begin();
  d.on(RiskAssessed{"Low", false, false, ""});
  auto a = d.on(PreflightChecked{{"blue is not healthy (503)", "green's binary is missing"}});
  EXPECT_EQ(a.at(0).step, Step::kFinish);
  EXPECT_EQ(d.w.outcome(), Outcome::kAborted);
  EXPECT_NE(d.w.reason().find("blue is not healthy (503); green's binary is missing"),
            std::string::npos)
      << d.w.reason();
}

TEST(DeployWorkflow, AGreenThatNeverBecomesReadyIsStoppedAndNeverGetsTraffic) {
  Drive d;
  d.begin();
  d.on(RiskAssessed{"Low", false, false, ""});
  d.on(PreflightChecked{});
  d.on(GreenStarted{});
  for (int i = 0; i < 30 && d.step() != Step::kStopColour; ++i) {
    d.on(ReadyProbed{false, "connection refused"});
    if (d.step() == Step::kWaitUntil) d.fire();
  }
  ASSERT_EQ(d.step(), Step::kStopColour);
  EXPECT_EQ(d.last.at(0).colour, Colour::kGreen);
  EXPECT_GE(d.now, 1'000 * kS + 10 * kS) << "not before the ready timeout";
  d.on(ColourStopped{Colour::kGreen});
  EXPECT_EQ(d.w.outcome(), Outcome::kAborted);
  EXPECT_EQ(d.w.traffic(), Colour::kBlue);
  EXPECT_NE(d.w.reason().find("did not become ready within 10 s"), std::string::npos);
}

TEST(DeployWorkflow, AGreenWhoseProcessExitsIsNotWaitedFor) {
  Drive d;
  d.begin();
  d.on(RiskAssessed{"Low", false, false, ""});
  d.on(PreflightChecked{});
  d.on(GreenStarted{});
  auto a = d.on(ReadyProbed{false, "its process exited", true});
  ASSERT_EQ(a.at(0).step, Step::kStopColour) << "no waiting for the ready timeout";
  EXPECT_NE(d.w.reason().find("exited before it was ready"), std::string::npos);
}

TEST(DeployWorkflow, AGreenThatFailsToStartIsCleanedUp) {
  Drive d;
  d.begin();
  d.on(RiskAssessed{"Low", false, false, ""});
  d.on(PreflightChecked{});
  auto a = d.on(GreenStarted{false, "exit code 2: unknown key"});
  ASSERT_EQ(a.at(0).step, Step::kStopColour);
  EXPECT_EQ(a.at(0).colour, Colour::kGreen);
  EXPECT_NE(d.w.reason().find("unknown key"), std::string::npos);
}

TEST(DeployWorkflow, RollbackBeforePromotionStopsGreenWithoutEverSwitching) {
  Drive d;
  d.to_pre_promotion();
  auto a = d.on(VerdictRead{Colour::kGreen, Verdict::kRollback, "latency p99 80 ms > 50 ms"});
  ASSERT_EQ(a.at(0).step, Step::kStopColour);
  EXPECT_EQ(a.at(0).colour, Colour::kGreen);
  d.on(ColourStopped{Colour::kGreen});
  EXPECT_EQ(d.w.outcome(), Outcome::kRolledBackPrePromotion);
  EXPECT_EQ(exit_code(d.w.outcome()), 4);
  for (const auto& t : d.w.take_transitions()) {
    EXPECT_EQ(t.traffic, Colour::kBlue) << "green never held the traffic";
    EXPECT_NE(t.to, Phase::kSwitching);
  }
  EXPECT_NE(d.w.reason().find("latency p99"), std::string::npos);
}

TEST(DeployWorkflow, HoldPastItsLimitIsNotPromoted) {
  Drive d;
  d.to_pre_promotion();
  for (int i = 0; i < 40 && d.step() != Step::kStopColour; ++i) {
    d.on(VerdictRead{Colour::kGreen, Verdict::kHold, "3/20 samples"});
    if (d.step() == Step::kWaitUntil) d.fire();
  }
  ASSERT_EQ(d.step(), Step::kStopColour);
  EXPECT_EQ(d.w.outcome(), Outcome::kRolledBackPrePromotion);
  EXPECT_NE(d.w.reason().find("still says hold after 20 s"), std::string::npos) << d.w.reason();
}

TEST(DeployWorkflow, AnUnreadableGuardrailIsRetriedThenTrustedWithNothing) {
  Drive d;
  d.to_pre_promotion();
  d.on(VerdictRead{Colour::kGreen, std::nullopt, "connection refused"});
  EXPECT_EQ(d.fire().at(0).step, Step::kReadVerdict) << "one failure is retried";
  d.on(VerdictRead{Colour::kGreen, std::nullopt, "malformed status document"});
  d.fire();
  auto a = d.on(VerdictRead{Colour::kGreen, std::nullopt, "malformed status document"});
  ASSERT_EQ(a.at(0).step, Step::kStopColour) << "three in a row: green is not promoted";
  EXPECT_EQ(d.w.outcome(), Outcome::kAborted);
  EXPECT_NE(d.w.reason().find("could not be read 3 times in a row (malformed"), std::string::npos);

  Drive post;
  post.to_post_promotion();
  for (int i = 0; i < 3; ++i) {
    post.on(VerdictRead{Colour::kGreen, std::nullopt, "timeout"});
    if (post.step() == Step::kWaitUntil) post.fire();
  }
  ASSERT_EQ(post.step(), Step::kSwitchTraffic) << "with the traffic: back to blue";
  EXPECT_EQ(post.last.at(0).colour, Colour::kBlue);
  EXPECT_EQ(post.w.outcome(), Outcome::kRolledBackPostPromotion);
}

TEST(DeployWorkflow, ARollbackAfterPromotionSendsTheTrafficBackAtOnce) {
  Drive d;
  d.to_post_promotion();
  d.on(VerdictRead{Colour::kGreen, Verdict::kPromote, ""}, 1 * kS);
  d.fire();
  const core::Nanos breach = d.now + 1 * kS;
  auto a = d.on(VerdictRead{Colour::kGreen, Verdict::kRollback, "errors 4 % > 1 %"}, 1 * kS);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a.at(0).step, Step::kSwitchTraffic) << "no wait between the verdict and the switch";
  EXPECT_EQ(a.at(0).colour, Colour::kBlue);
  ASSERT_TRUE(d.w.rollback_started());
  EXPECT_EQ(*d.w.rollback_started(), breach);
  a = d.on(TrafficSwitched{Colour::kBlue, true, ""});
  EXPECT_EQ(d.w.traffic(), Colour::kBlue);
  ASSERT_EQ(a.at(0).step, Step::kStopColour);
  EXPECT_EQ(a.at(0).colour, Colour::kGreen);
  d.on(ColourStopped{Colour::kGreen});
  EXPECT_EQ(d.w.outcome(), Outcome::kRolledBackPostPromotion);
  EXPECT_EQ(d.w.phase(), Phase::kFinished);
}

TEST(DeployWorkflow, AFailedSwitchBackIsRetriedUntilTheTrafficIsOnBlue) {
  Drive d;
  d.to_post_promotion();
  d.on(VerdictRead{Colour::kGreen, Verdict::kRollback, ""});
  d.on(TrafficSwitched{Colour::kBlue, false, "runtime API refused the command"});
  auto a = d.fire();
  ASSERT_EQ(a.at(0).step, Step::kSwitchTraffic);
  EXPECT_EQ(a.at(0).colour, Colour::kBlue);
  EXPECT_EQ(d.w.traffic(), Colour::kGreen) << "until a switch succeeds";
  d.on(TrafficSwitched{Colour::kBlue, true, ""});
  EXPECT_EQ(d.w.traffic(), Colour::kBlue);
}

TEST(DeployWorkflow, ASwitchToGreenThatFailsLeavesTheTrafficOnBlue) {
  Drive d;
  d.to_pre_promotion();
  d.on(VerdictRead{Colour::kGreen, Verdict::kPromote, ""});
  auto a = d.on(TrafficSwitched{Colour::kGreen, false, "server green not found"});
  ASSERT_EQ(a.at(0).step, Step::kSwitchTraffic);
  EXPECT_EQ(a.at(0).colour, Colour::kBlue);
}

TEST(DeployWorkflow, InterruptionsEndSafely) {
  {
    Drive d;  // before green had traffic: green is stopped
    d.to_pre_promotion();
    auto a = d.on(Interrupted{"SIGINT"});
    ASSERT_EQ(a.at(0).step, Step::kStopColour);
    EXPECT_EQ(a.at(0).colour, Colour::kGreen);
    EXPECT_EQ(d.w.outcome(), Outcome::kAborted);
  }
  {
    Drive d;  // green holds unconfirmed traffic: back to blue
    d.to_post_promotion();
    auto a = d.on(Interrupted{"SIGTERM"});
    ASSERT_EQ(a.at(0).step, Step::kSwitchTraffic);
    EXPECT_EQ(a.at(0).colour, Colour::kBlue);
  }
  {
    Drive d;  // a switch in flight: where the traffic is is unknown, so back to blue
    d.to_pre_promotion();
    d.on(VerdictRead{Colour::kGreen, Verdict::kPromote, ""});
    auto a = d.on(Interrupted{"SIGTERM"});
    ASSERT_EQ(a.at(0).step, Step::kSwitchTraffic);
    EXPECT_EQ(a.at(0).colour, Colour::kBlue);
  }
  {
    Drive d;  // before anything started: nothing to stop
    d.begin();
    EXPECT_EQ(d.on(Interrupted{"SIGINT"}).at(0).step, Step::kFinish);
  }
}

TEST(DeployWorkflow, ResumingAfterACrashSteersToASafeEnd) {
  Drive d;
  d.to_post_promotion();
  const auto records = d.w.take_transitions();
  auto [resumed, actions] = Workflow::resume(fast_timing(), records, d.now + 60 * kS);
  EXPECT_EQ(resumed.traffic(), Colour::kGreen) << "as the records left it";
  ASSERT_EQ(actions.at(0).step, Step::kSwitchTraffic) << "unconfirmed green: traffic to blue";
  EXPECT_EQ(actions.at(0).colour, Colour::kBlue);
  resumed.handle(Input{d.now + 61 * kS, TrafficSwitched{Colour::kBlue, true, ""}});
  EXPECT_EQ(resumed.traffic(), Colour::kBlue);

  Drive pre;
  pre.to_pre_promotion();
  auto [r2, a2] = Workflow::resume(fast_timing(), pre.w.take_transitions(), pre.now);
  ASSERT_EQ(a2.at(0).step, Step::kStopColour);
  EXPECT_EQ(a2.at(0).colour, Colour::kGreen);

  Drive done;
  done.to_post_promotion();
  done.on(VerdictRead{Colour::kGreen, Verdict::kRollback, ""});
  done.on(TrafficSwitched{Colour::kBlue, true, ""});
  done.on(ColourStopped{Colour::kGreen});
  auto [r3, a3] = Workflow::resume(fast_timing(), done.w.take_transitions(), done.now);
  EXPECT_EQ(a3.at(0).step, Step::kFinish);
  EXPECT_EQ(r3.outcome(), Outcome::kRolledBackPostPromotion);
}

TEST(DeployWorkflow, LateAnswersAreIgnoredAndNamesRoundTrip) {
  Drive d;
  d.to_pre_promotion();
  EXPECT_TRUE(d.on(ReadyProbed{true, ""}).empty()) << "a late readiness answer changes nothing";
  EXPECT_TRUE(d.on(VerdictRead{Colour::kBlue, Verdict::kRollback, ""}).empty())
      << "blue's verdict does not judge green";
  EXPECT_EQ(d.w.phase(), Phase::kPrePromotion);
  for (int p = 0; p <= static_cast<int>(Phase::kFinished); ++p) {
    const auto phase = static_cast<Phase>(p);
    EXPECT_EQ(phase_from_string(to_string(phase)), phase);
  }
  EXPECT_FALSE(phase_from_string("nonsense"));
  for (auto o : {Outcome::kPending, Outcome::kPromoted, Outcome::kRolledBackPrePromotion,
                 Outcome::kRolledBackPostPromotion, Outcome::kAborted}) {
    EXPECT_EQ(outcome_from_string(to_string(o)), o);
  }
  EXPECT_FALSE(outcome_from_string("won"));
}

// The status document as the guardrail serves it becomes a verdict; anything else becomes no
// verdict and a detail that says what was wrong (the workflow retries, then trusts nothing).
TEST(StatusDocument, VerdictsAndEveryWayOfBeingWrong) {
  const std::string good =
      R"({"data":{"app":"pharma-mes","version":"1.2","verdict":"rollback",)"
      R"("reasons":["api latency p99 0.8 s > 0.5 s"],"samples":40,"min_samples":20,"slos":[]}})";
  auto r = read_status_document(Colour::kGreen, 200, good, "pharma-mes");
  ASSERT_TRUE(r.verdict);
  EXPECT_EQ(*r.verdict, Verdict::kRollback);
  EXPECT_EQ(r.colour, Colour::kGreen);
  EXPECT_EQ(r.detail, "api latency p99 0.8 s > 0.5 s; 40/20 samples");
  EXPECT_EQ(*read_status_document(Colour::kBlue, 200, R"({"data":{"verdict":"hold"}})").verdict,
            Verdict::kHold);
  EXPECT_EQ(*read_status_document(Colour::kBlue, 200, R"({"data":{"verdict":"promote"}})").verdict,
            Verdict::kPromote);

  const std::vector<std::pair<std::pair<int, std::string>, std::string>> bad{
      {{503, good}, "HTTP 503"},
      {{200, "<html>busy</html>"}, "not JSON"},
      {{200, R"([1,2])"}, "no $.data object"},
      {{200, R"({"data":"promote"})"}, "no $.data object"},
      {{200, R"({"data":{"verdict":1}})"}, "no $.data.verdict string"},
      {{200, R"({"data":{"verdict":"maybe"}})"}, "unknown verdict \"maybe\""},
      {{200, ""}, "not JSON"},
  };
  for (const auto& [input, words] : bad) {
    const auto v = read_status_document(Colour::kGreen, input.first, input.second);
    EXPECT_FALSE(v.verdict) << input.second;
    EXPECT_NE(v.detail.find(words), std::string::npos) << v.detail;
  }
  const auto other = read_status_document(Colour::kGreen, 200, good, "trading-engine");
  EXPECT_FALSE(other.verdict) << "another service's guardrail is no verdict on this one";
  EXPECT_NE(other.detail.find("not trading-engine's (app pharma-mes)"), std::string::npos)
      << other.detail;
}

}  // namespace
