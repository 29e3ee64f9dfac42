// DeployWorkflow: the blue/green deployment controller's sequence as a pure state machine, the
// same sequence Argo Rollouts runs on Kubernetes: risk → pre-flight → start green → wait until
// ready → pre-promotion analysis (green's own guardrail, no user traffic) → switch the traffic →
// post-promotion analysis → keep blue for the scale-down delay → stop blue; on a rollback verdict,
// an unreadable guardrail, a timeout or an interruption, the traffic goes (back) to blue and green
// is stopped.
//
// Pure (DESIGN.md §2): no clocks, sockets, processes or files. The caller (guardctl deploy's
// adapters: the runner, the guardrail client, HAProxy's runtime API, the evidence bundle) asks
// begin() for the first actions, performs each, and feeds what happened back through handle(),
// with the time it happened; handle() answers with the next actions. Every transition is also
// returned as a Transition, for the evidence log; resume() rebuilds a workflow from those records
// after the controller died (kill -9) and steers it to a safe end: traffic that was on an
// unconfirmed green goes back to blue. Not thread-safe (one controller drives it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "guardrails/slo/evaluator.hpp"

namespace guardrails::deploy {

enum class Colour : std::uint8_t { kBlue, kGreen };
std::string_view to_string(Colour colour);

enum class Phase : std::uint8_t {
  kAssessRisk,      // waiting for the risk report (and the approval a Critical change needs)
  kPreflight,       // blue healthy, green present, the two compatible, capacity
  kStartGreen,      // green's start issued
  kAwaitReady,      // polling green's /readyz until ready or ready_timeout
  kPrePromotion,    // green's verdict under smoke traffic; users stay on blue
  kSwitching,       // traffic moving to green
  kPostPromotion,   // green holds the traffic and is watched
  kScaleDownDelay,  // green confirmed; blue kept up for the scale-down delay
  kRollingBack,     // traffic moving back to blue
  kStopping,        // the colour that lost is being stopped
  kFinished,
};
std::string_view to_string(Phase phase);
std::optional<Phase> phase_from_string(std::string_view text);

enum class Outcome : std::uint8_t {
  kPending,
  kPromoted,                 // green holds the traffic, confirmed by the post-promotion analysis
  kRolledBackPrePromotion,   // green failed its analysis; it never had user traffic
  kRolledBackPostPromotion,  // green broke an SLO with the traffic; the traffic is back on blue
  kAborted,                  // refused or stopped before green had traffic (risk, pre-flight, ...)
};
std::string_view to_string(Outcome outcome);
std::optional<Outcome> outcome_from_string(std::string_view text);
// For pipelines: 0 promoted, 4 rolled back (either kind), 5 aborted, 1 still pending.
int exit_code(Outcome outcome);

struct Timing {
  core::Nanos poll_interval = core::kNanosPerSecond;
  core::Nanos ready_timeout = 60 * core::kNanosPerSecond;
  // How long "hold" may last: in the pre-promotion analysis, and after the post-promotion
  // window when the last verdict is still hold.
  core::Nanos hold_limit = 120 * core::kNanosPerSecond;
  core::Nanos post_promotion_window = 60 * core::kNanosPerSecond;
  core::Nanos scale_down_delay = 30 * core::kNanosPerSecond;
  // Consecutive unreadable verdicts (unreachable guardrail, malformed document) that count as a
  // rollback verdict: a colour whose health cannot be read is not trusted with traffic.
  std::uint32_t max_consecutive_errors = 3;
};

// --- what the adapters report -----------------------------------------------------------------
struct RiskAssessed {
  std::string risk_class;  // "Low" .. "Critical"
  bool critical = false;
  bool approved = false;  // a second identity approved (required when critical)
  std::string detail;     // the score and its factors, for the record
};
struct PreflightChecked {
  std::vector<std::string> problems;  // empty: passed
};
struct GreenStarted {
  bool ok = true;
  std::string error;
};
struct ReadyProbed {
  bool ready = false;
  std::string detail;
  bool exited = false;  // green's process is gone: it will never be ready
};
struct VerdictRead {
  Colour colour = Colour::kGreen;
  std::optional<slo::Verdict> verdict;  // nullopt: unreachable or a malformed document
  std::string detail;                   // reasons, or what went wrong reading it
};
struct TrafficSwitched {
  Colour to = Colour::kGreen;
  bool ok = true;
  std::string error;
};
struct ColourStopped {
  Colour colour = Colour::kGreen;
};
struct Interrupted {
  std::string reason;  // "SIGTERM", "controller restarted after a crash", ...
};
struct TimerFired {};

using Event = std::variant<RiskAssessed, PreflightChecked, GreenStarted, ReadyProbed, VerdictRead,
                           TrafficSwitched, ColourStopped, Interrupted, TimerFired>;
struct Input {
  core::Nanos now = 0;
  Event event;
};

// --- what the workflow asks for ---------------------------------------------------------------
enum class Step : std::uint8_t {
  kAssessRisk,
  kPreflight,
  kStartGreen,
  kProbeReady,     // green's /readyz
  kReadVerdict,    // `colour`'s /guardrail/v1/status
  kSwitchTraffic,  // all new traffic to `colour`, established connections drain
  kStopColour,     // stop `colour`'s process or container
  kWaitUntil,      // feed TimerFired at `until`
  kFinish,         // done: outcome() and exit_code() say how
};
std::string_view to_string(Step step);

struct Action {
  Step step = Step::kFinish;
  Colour colour = Colour::kGreen;
  core::Nanos until = 0;  // for kWaitUntil
};

// One state change, for the evidence log (and resume()).
struct Transition {
  core::Nanos at = 0;
  Phase from = Phase::kAssessRisk;
  Phase to = Phase::kAssessRisk;
  Colour traffic = Colour::kBlue;  // who holds the users' traffic after it
  bool green_started = false;
  Outcome outcome = Outcome::kPending;
  std::string reason;
};

class Workflow {
 public:
  explicit Workflow(Timing timing);

  std::vector<Action> begin(core::Nanos now);
  std::vector<Action> handle(const Input& input);

  // Rebuilds the state the records describe (the last one wins) and, unless it had finished,
  // interrupts it at `now`: the actions returned lead to a safe end.
  static std::pair<Workflow, std::vector<Action>> resume(Timing timing,
                                                         const std::vector<Transition>& records,
                                                         core::Nanos now);

  Phase phase() const { return phase_; }
  Outcome outcome() const { return outcome_; }
  Colour traffic() const { return traffic_; }
  const std::string& reason() const { return reason_; }
  // Transitions since the last call (the caller records them).
  std::vector<Transition> take_transitions();
  // When the traffic started moving back to blue (the rollback's start), if it did.
  std::optional<core::Nanos> rollback_started() const { return rollback_started_; }

 private:
  void go(Phase to, core::Nanos now, std::string reason);
  std::vector<Action> wait_then(core::Nanos now, Action next);
  std::vector<Action> abort(core::Nanos now, std::string why);
  std::vector<Action> roll_back(core::Nanos now, Outcome outcome, std::string why);
  std::vector<Action> on_verdict(const VerdictRead& v, core::Nanos now);
  std::vector<Action> on_interrupt(const Interrupted& i, core::Nanos now);
  std::vector<Action> stop(Colour colour, core::Nanos now, Outcome outcome, std::string why);

  Timing timing_;
  Phase phase_ = Phase::kAssessRisk;
  Outcome outcome_ = Outcome::kPending;
  Colour traffic_ = Colour::kBlue;
  bool green_started_ = false;
  std::string reason_;
  core::Nanos deadline_ = 0;  // ready / hold / post-promotion window
  core::Nanos post_hold_until_ = 0;
  std::uint32_t errors_ = 0;  // consecutive unreadable verdicts
  std::optional<Action> after_timer_;
  std::optional<core::Nanos> rollback_started_;
  std::vector<Transition> transitions_;
};

}  // namespace guardrails::deploy
