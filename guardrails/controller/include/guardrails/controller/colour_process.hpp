// A colour's service as a local process: started from a command line (run by /bin/sh, in its own
// session so it outlives the controller and can be stopped as a group), its pid written to a
// file so a later controller run (the next deployment, or a resume after a crash) finds it, and
// stopped with SIGTERM, then SIGKILL after a grace period. The role a Kubernetes ReplicaSet plays
// for Argo Rollouts. Free functions; thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "core/result.hpp"

namespace guardrails::controller {

// Starts `command` with stdout and stderr appended to `log_file`; writes its pid to `pid_file`.
core::Result<pid_t> start_process(const std::string& command, const std::string& log_file,
                                  const std::string& pid_file);

// The pid in a pid file, when the file holds one and that process is alive.
std::optional<pid_t> running_pid(const std::string& pid_file);

bool process_alive(pid_t pid);

// SIGTERM to the process's group, up to `grace` for it to exit, then SIGKILL. Returns how it
// ended: "exited", "killed after the grace period" or "was not running".
std::string stop_process(pid_t pid, std::chrono::milliseconds grace);

}  // namespace guardrails::controller
