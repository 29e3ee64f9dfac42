// The ISA-88 procedural state model shared by batches and their phases: twelve states, eight
// commands, the full state x command table, and the transient states that finish on their own.
// Pure functions over enums; thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace mes::isa88 {

enum class State {
  kIdle,
  kRunning,
  kComplete,
  kPausing,
  kPaused,
  kHolding,
  kHeld,
  kRestarting,
  kStopping,
  kStopped,
  kAborting,
  kAborted,
};
inline constexpr std::array kAllStates = {State::kIdle,    State::kRunning,    State::kComplete,
                                          State::kPausing, State::kPaused,     State::kHolding,
                                          State::kHeld,    State::kRestarting, State::kStopping,
                                          State::kStopped, State::kAborting,   State::kAborted};

enum class Command { kStart, kPause, kResume, kHold, kRestart, kStop, kAbort, kReset };
inline constexpr std::array kAllCommands = {Command::kStart, Command::kPause,   Command::kResume,
                                            Command::kHold,  Command::kRestart, Command::kStop,
                                            Command::kAbort, Command::kReset};

std::string_view to_string(State state);
std::string_view to_string(Command command);
std::optional<State> parse_state(std::string_view text);
std::optional<Command> parse_command(std::string_view text);

// The state `command` leads to from `state`, or nothing when the table forbids it.
std::optional<State> next_state(State state, Command command);

// Transient states (Pausing, Holding, Restarting, Stopping, Aborting) complete on their own
// once the element has done what they stand for; settle() is where they end up.
bool is_transient(State state);
State settle(State state);

// Complete, Stopped, Aborted: nothing more runs (Reset returns a phase to Idle).
bool is_final(State state);

}  // namespace mes::isa88
