// guardctl: the command line for SREs and pipelines. `status URL`, `watch URL --timeout S`,
// `risk ...`, `evidence verify FILE`. Exit codes: 0 promote / ok, 3 hold (or watch timed out),
// 4 rollback / evidence broken, 1 unreachable or unreadable, 2 usage error.
// run_guardctl is the whole program with its streams injected, so tests call it in-process.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace guardrails::cli {

enum ExitCode : int {
  kExitPromote = 0,
  kExitUnreachable = 1,
  kExitUsage = 2,
  kExitHold = 3,
  kExitRollback = 4,
};

int run_guardctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace guardrails::cli
