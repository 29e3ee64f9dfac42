#include "guardrails/deploy/workflow.hpp"

#include <array>
#include <utility>

namespace guardrails::deploy {
namespace {

constexpr std::array kPhaseNames{"assess-risk",   "preflight", "start-green",    "await-ready",
                                 "pre-promotion", "switching", "post-promotion", "scale-down-delay",
                                 "rolling-back",  "stopping",  "finished"};

std::string seconds_text(core::Nanos ns) {
  return std::to_string(ns / core::kNanosPerSecond) + " s";
}

}  // namespace

std::string_view to_string(Colour colour) { return colour == Colour::kBlue ? "blue" : "green"; }

std::string_view to_string(Phase phase) { return kPhaseNames[static_cast<std::size_t>(phase)]; }

std::optional<Phase> phase_from_string(std::string_view text) {
  for (std::size_t i = 0; i < kPhaseNames.size(); ++i) {
    if (text == kPhaseNames[i]) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "pending";
    case Outcome::kPromoted:
      return "promoted";
    case Outcome::kRolledBackPrePromotion:
      return "rolled-back-pre-promotion";
    case Outcome::kRolledBackPostPromotion:
      return "rolled-back-post-promotion";
    case Outcome::kAborted:
      return "aborted";
  }
  return "pending";
}

std::optional<Outcome> outcome_from_string(std::string_view text) {
  for (auto o : {Outcome::kPending, Outcome::kPromoted, Outcome::kRolledBackPrePromotion,
                 Outcome::kRolledBackPostPromotion, Outcome::kAborted}) {
    if (to_string(o) == text) return o;
  }
  return std::nullopt;
}

int exit_code(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPromoted:
      return 0;
    case Outcome::kRolledBackPrePromotion:
    case Outcome::kRolledBackPostPromotion:
      return 4;
    case Outcome::kAborted:
      return 5;
    case Outcome::kPending:
      return 1;
  }
  return 1;
}

std::string_view to_string(Step step) {
  switch (step) {
    case Step::kAssessRisk:
      return "assess-risk";
    case Step::kPreflight:
      return "preflight";
    case Step::kStartGreen:
      return "start-green";
    case Step::kProbeReady:
      return "probe-ready";
    case Step::kReadVerdict:
      return "read-verdict";
    case Step::kSwitchTraffic:
      return "switch-traffic";
    case Step::kStopColour:
      return "stop-colour";
    case Step::kWaitUntil:
      return "wait-until";
    case Step::kFinish:
      return "finish";
  }
  return "finish";
}

Workflow::Workflow(Timing timing) : timing_(timing) {}

void Workflow::go(Phase to, core::Nanos now, std::string reason) {
  transitions_.push_back(
      Transition{now, phase_, to, traffic_, green_started_, outcome_, std::move(reason)});
  phase_ = to;
}

std::vector<Transition> Workflow::take_transitions() { return std::exchange(transitions_, {}); }

std::vector<Action> Workflow::wait_then(core::Nanos now, Action next) {
  after_timer_ = next;
  return {Action{Step::kWaitUntil, next.colour, now + timing_.poll_interval}};
}

std::vector<Action> Workflow::begin(core::Nanos now) {
  go(Phase::kAssessRisk, now, "deployment started");
  return {Action{Step::kAssessRisk}};
}

// Stops `colour` and finishes with `outcome` once it has stopped.
std::vector<Action> Workflow::stop(Colour colour, core::Nanos now, Outcome outcome,
                                   std::string why) {
  outcome_ = outcome;
  reason_ = why;
  go(Phase::kStopping, now, std::move(why));
  return {Action{Step::kStopColour, colour}};
}

// Before green had user traffic: stop it if it was started, then finish.
std::vector<Action> Workflow::abort(core::Nanos now, std::string why) {
  if (green_started_) return stop(Colour::kGreen, now, Outcome::kAborted, std::move(why));
  outcome_ = Outcome::kAborted;
  reason_ = why;
  go(Phase::kFinished, now, std::move(why));
  return {Action{Step::kFinish}};
}

// The users' traffic goes to blue (again), then green is stopped.
std::vector<Action> Workflow::roll_back(core::Nanos now, Outcome outcome, std::string why) {
  outcome_ = outcome;
  reason_ = why;
  if (!rollback_started_) rollback_started_ = now;
  go(Phase::kRollingBack, now, std::move(why));
  return {Action{Step::kSwitchTraffic, Colour::kBlue}};
}

std::vector<Action> Workflow::handle(const Input& input) {
  const core::Nanos now = input.now;
  if (phase_ == Phase::kFinished) return {Action{Step::kFinish}};
  if (const auto* i = std::get_if<Interrupted>(&input.event)) return on_interrupt(*i, now);

  if (std::holds_alternative<TimerFired>(input.event)) {
    if (phase_ == Phase::kScaleDownDelay) {
      return stop(Colour::kBlue, now, Outcome::kPromoted,
                  "scale-down delay over: blue is stopped, green serves");
    }
    if (!after_timer_) return {};
    const Action next = *after_timer_;
    after_timer_.reset();
    return {next};
  }

  switch (phase_) {
    case Phase::kAssessRisk:
      if (const auto* r = std::get_if<RiskAssessed>(&input.event)) {
        if (r->critical && !r->approved) {
          return abort(now, "risk class " + r->risk_class +
                                " needs --approve by a second identity; not deployed");
        }
        go(Phase::kPreflight, now,
           "risk " + r->risk_class + (r->approved ? ", approved" : "") +
               (r->detail.empty() ? "" : ": " + r->detail));
        return {Action{Step::kPreflight}};
      }
      break;
    case Phase::kPreflight:
      if (const auto* p = std::get_if<PreflightChecked>(&input.event)) {
        if (!p->problems.empty()) {
          std::string why = "pre-flight failed:";
          for (const auto& problem : p->problems) why += " " + problem + ";";
          why.pop_back();
          return abort(now, why);
        }
        go(Phase::kStartGreen, now, "pre-flight passed");
        return {Action{Step::kStartGreen}};
      }
      break;
    case Phase::kStartGreen:
      if (const auto* g = std::get_if<GreenStarted>(&input.event)) {
        green_started_ = true;  // even a failed start may have left a process behind
        if (!g->ok) return abort(now, "green did not start: " + g->error);
        deadline_ = now + timing_.ready_timeout;
        go(Phase::kAwaitReady, now, "green started");
        return {Action{Step::kProbeReady}};
      }
      break;
    case Phase::kAwaitReady:
      if (const auto* r = std::get_if<ReadyProbed>(&input.event)) {
        if (r->ready) {
          deadline_ = now + timing_.hold_limit;
          errors_ = 0;
          go(Phase::kPrePromotion, now, "green ready; pre-promotion analysis");
          return {Action{Step::kReadVerdict, Colour::kGreen}};
        }
        if (r->exited) return abort(now, "green exited before it was ready (" + r->detail + ")");
        if (now >= deadline_) {
          return abort(now, "green did not become ready within " +
                                seconds_text(timing_.ready_timeout) +
                                (r->detail.empty() ? "" : " (" + r->detail + ")"));
        }
        return wait_then(now, Action{Step::kProbeReady});
      }
      break;
    case Phase::kPrePromotion:
    case Phase::kPostPromotion:
      if (const auto* v = std::get_if<VerdictRead>(&input.event)) return on_verdict(*v, now);
      break;
    case Phase::kSwitching:
      if (const auto* s = std::get_if<TrafficSwitched>(&input.event)) {
        if (!s->ok) {
          return roll_back(now, Outcome::kRolledBackPrePromotion,
                           "the switch to green failed (" + s->error + "): traffic back to blue");
        }
        traffic_ = Colour::kGreen;
        deadline_ = now + timing_.post_promotion_window;
        post_hold_until_ = deadline_ + timing_.hold_limit;
        errors_ = 0;
        go(Phase::kPostPromotion, now, "traffic on green; post-promotion analysis");
        return {Action{Step::kReadVerdict, Colour::kGreen}};
      }
      break;
    case Phase::kRollingBack:
      if (const auto* s = std::get_if<TrafficSwitched>(&input.event)) {
        if (!s->ok) {
          // The traffic must return: try again, recording each failure.
          go(Phase::kRollingBack, now,
             "the switch back to blue failed (" + s->error + "); retrying");
          return wait_then(now, Action{Step::kSwitchTraffic, Colour::kBlue});
        }
        traffic_ = Colour::kBlue;
        const Outcome o = outcome_;
        return stop(Colour::kGreen, now, o, reason_);
      }
      break;
    case Phase::kStopping:
      if (std::holds_alternative<ColourStopped>(input.event)) {
        go(Phase::kFinished, now, std::string(to_string(outcome_)));
        return {Action{Step::kFinish}};
      }
      break;
    case Phase::kScaleDownDelay:
    case Phase::kFinished:
      break;
  }
  return {};  // an event this phase does not expect (a late answer): ignored
}

std::vector<Action> Workflow::on_verdict(const VerdictRead& v, core::Nanos now) {
  const bool pre = phase_ == Phase::kPrePromotion;
  if (v.colour != Colour::kGreen) return {};
  if (!v.verdict) {
    if (++errors_ >= timing_.max_consecutive_errors) {
      const std::string why = "green's guardrail could not be read " + std::to_string(errors_) +
                              " times in a row (" + v.detail + ")";
      return pre ? abort(now, why + "; green never had traffic")
                 : roll_back(now, Outcome::kRolledBackPostPromotion, why);
    }
    return wait_then(now, Action{Step::kReadVerdict, Colour::kGreen});
  }
  errors_ = 0;
  const std::string reasons = v.detail.empty() ? "" : " (" + v.detail + ")";
  switch (*v.verdict) {
    case slo::Verdict::kRollback:
      if (pre) {
        return stop(Colour::kGreen, now, Outcome::kRolledBackPrePromotion,
                    "green's guardrail says rollback before promotion" + reasons +
                        "; it never had user traffic");
      }
      return roll_back(now, Outcome::kRolledBackPostPromotion,
                       "green's guardrail says rollback" + reasons);
    case slo::Verdict::kPromote:
      if (pre) {
        go(Phase::kSwitching, now, "green's guardrail says promote" + reasons);
        return {Action{Step::kSwitchTraffic, Colour::kGreen}};
      }
      if (now >= deadline_) {
        outcome_ = Outcome::kPromoted;
        go(Phase::kScaleDownDelay, now,
           "post-promotion analysis passed; blue kept " + seconds_text(timing_.scale_down_delay));
        return {Action{Step::kWaitUntil, Colour::kBlue, now + timing_.scale_down_delay}};
      }
      return wait_then(now, Action{Step::kReadVerdict, Colour::kGreen});
    case slo::Verdict::kHold:
      if (pre && now >= deadline_) {
        return stop(Colour::kGreen, now, Outcome::kRolledBackPrePromotion,
                    "green's guardrail still says hold after " + seconds_text(timing_.hold_limit) +
                        reasons + "; not promoted");
      }
      if (!pre && now >= post_hold_until_) {
        return roll_back(now, Outcome::kRolledBackPostPromotion,
                         "post-promotion analysis inconclusive (hold) past its limit" + reasons);
      }
      return wait_then(now, Action{Step::kReadVerdict, Colour::kGreen});
  }
  return {};
}

std::vector<Action> Workflow::on_interrupt(const Interrupted& i, core::Nanos now) {
  const std::string why = "interrupted (" + i.reason + ")";
  after_timer_.reset();
  switch (phase_) {
    case Phase::kAssessRisk:
    case Phase::kPreflight:
    case Phase::kStartGreen:
    case Phase::kAwaitReady:
    case Phase::kPrePromotion:
      return abort(now, why + "; green never had traffic");
    case Phase::kSwitching:
    case Phase::kPostPromotion:
      // Where the traffic is may be unknown (a switch in flight): send it to blue.
      return roll_back(now, Outcome::kRolledBackPostPromotion,
                       why + " before green was confirmed: traffic back to blue");
    case Phase::kRollingBack:
      return {Action{Step::kSwitchTraffic, Colour::kBlue}};  // finish the rollback
    case Phase::kScaleDownDelay:
      // Green is confirmed: stop blue now rather than leave both running.
      return stop(Colour::kBlue, now, Outcome::kPromoted, why + " during the scale-down delay");
    case Phase::kStopping:
      return {
          Action{Step::kStopColour, traffic_ == Colour::kBlue ? Colour::kGreen : Colour::kBlue}};
    case Phase::kFinished:
      break;
  }
  return {Action{Step::kFinish}};
}

std::pair<Workflow, std::vector<Action>> Workflow::resume(Timing timing,
                                                          const std::vector<Transition>& records,
                                                          core::Nanos now) {
  Workflow w(timing);
  if (records.empty()) {
    auto actions = w.begin(now);
    return {std::move(w), std::move(actions)};
  }
  const Transition& last = records.back();
  w.phase_ = last.to;
  w.traffic_ = last.traffic;
  w.green_started_ = last.green_started;
  w.outcome_ = last.outcome;
  w.reason_ = last.reason;
  if (w.phase_ == Phase::kFinished) return {std::move(w), {Action{Step::kFinish}}};
  // The controller died: nothing it was waiting for will come. What was in flight when it died
  // is treated as unknown, which interrupting handles safely.
  auto actions = w.on_interrupt(Interrupted{"controller restarted after it stopped in phase " +
                                            std::string(to_string(last.to))},
                                now);
  return {std::move(w), std::move(actions)};
}

}  // namespace guardrails::deploy
