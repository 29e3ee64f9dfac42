#include "mes/domain/isa88.hpp"

namespace mes::isa88 {

std::string_view to_string(State state) {
  switch (state) {
    case State::kIdle:
      return "Idle";
    case State::kRunning:
      return "Running";
    case State::kComplete:
      return "Complete";
    case State::kPausing:
      return "Pausing";
    case State::kPaused:
      return "Paused";
    case State::kHolding:
      return "Holding";
    case State::kHeld:
      return "Held";
    case State::kRestarting:
      return "Restarting";
    case State::kStopping:
      return "Stopping";
    case State::kStopped:
      return "Stopped";
    case State::kAborting:
      return "Aborting";
    case State::kAborted:
      return "Aborted";
  }
  return "?";
}

std::string_view to_string(Command command) {
  switch (command) {
    case Command::kStart:
      return "Start";
    case Command::kPause:
      return "Pause";
    case Command::kResume:
      return "Resume";
    case Command::kHold:
      return "Hold";
    case Command::kRestart:
      return "Restart";
    case Command::kStop:
      return "Stop";
    case Command::kAbort:
      return "Abort";
    case Command::kReset:
      return "Reset";
  }
  return "?";
}

std::optional<State> parse_state(std::string_view text) {
  for (State s : kAllStates) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::optional<Command> parse_command(std::string_view text) {
  for (Command c : kAllCommands) {
    if (to_string(c) == text) return c;
  }
  return std::nullopt;
}

std::optional<State> next_state(State state, Command command) {
  using S = State;
  using C = Command;
  // The example state transition matrix of ANSI/ISA-88.01: Stop and Abort are accepted wherever
  // the element is active; Abort also while stopping and once stopped (nothing to abort while
  // Idle: the element has not started).
  switch (state) {
    case S::kIdle:
      if (command == C::kStart) return S::kRunning;
      return std::nullopt;
    case S::kRunning:
      if (command == C::kPause) return S::kPausing;
      if (command == C::kHold) return S::kHolding;
      if (command == C::kStop) return S::kStopping;
      if (command == C::kAbort) return S::kAborting;
      return std::nullopt;
    case S::kPausing:
    case S::kPaused:
      if (command == C::kResume && state == S::kPaused) return S::kRunning;
      if (command == C::kHold) return S::kHolding;
      if (command == C::kStop) return S::kStopping;
      if (command == C::kAbort) return S::kAborting;
      return std::nullopt;
    case S::kHolding:
      if (command == C::kStop) return S::kStopping;
      if (command == C::kAbort) return S::kAborting;
      return std::nullopt;
    case S::kHeld:
      if (command == C::kRestart) return S::kRestarting;
      if (command == C::kStop) return S::kStopping;
      if (command == C::kAbort) return S::kAborting;
      return std::nullopt;
    case S::kRestarting:
      if (command == C::kHold) return S::kHolding;
      if (command == C::kStop) return S::kStopping;
      if (command == C::kAbort) return S::kAborting;
      return std::nullopt;
    case S::kStopping:
      if (command == C::kAbort) return S::kAborting;
      return std::nullopt;
    case S::kAborting:
      return std::nullopt;
    case S::kStopped:
      if (command == C::kAbort) return S::kAborting;
      if (command == C::kReset) return S::kIdle;
      return std::nullopt;
    case S::kComplete:
    case S::kAborted:
      if (command == C::kReset) return S::kIdle;
      return std::nullopt;
  }
  return std::nullopt;
}

bool is_transient(State state) {
  return state == State::kPausing || state == State::kHolding || state == State::kRestarting ||
         state == State::kStopping || state == State::kAborting;
}

State settle(State state) {
  switch (state) {
    case State::kPausing:
      return State::kPaused;
    case State::kHolding:
      return State::kHeld;
    case State::kRestarting:
      return State::kRunning;
    case State::kStopping:
      return State::kStopped;
    case State::kAborting:
      return State::kAborted;
    default:
      return state;
  }
}

bool is_final(State state) {
  return state == State::kComplete || state == State::kStopped || state == State::kAborted;
}

}  // namespace mes::isa88
