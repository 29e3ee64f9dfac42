// HaproxySwitch: moves a service's traffic between its blue and green servers through HAProxy's
// runtime API (the admin-level UNIX socket of `stats socket`), without restarting HAProxy: the
// colour taking the traffic is set `ready`, the other `drain` (its established connections finish,
// new ones go to the ready colour). The role the Kubernetes Service selector or the AWS target
// group plays in production. Each backend named holds one server per colour, named "blue" and
// "green". Every command opens its own connection; thread-safe as long as callers do not race on
// the same backends.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "guardrails/deploy/workflow.hpp"

namespace guardrails::controller {

struct ServerState {
  std::string backend;
  std::string server;
  std::string admin_state;     // "ready", "drain", "maint"
  int operational_state = -1;  // HAProxy's srv_op_state: 0 stopped, 2 running
  int current_sessions = 0;
};

class HaproxySwitch {
 public:
  HaproxySwitch(std::string socket_path, std::vector<std::string> backends);

  // All new traffic of every backend to `colour`; the other colour drains. An error names the
  // backend and what HAProxy answered.
  core::Result<void> route_to(deploy::Colour colour) const;
  // The colour whose servers are all `ready` while the other's are not; an error when the
  // backends disagree or HAProxy cannot be reached.
  core::Result<deploy::Colour> routed_colour() const;
  core::Result<std::vector<ServerState>> servers() const;

  // One runtime-API command; its answer.
  core::Result<std::string> command(const std::string& line) const;

 private:
  std::string socket_path_;
  std::vector<std::string> backends_;
};

}  // namespace guardrails::controller
