// clang-format off
// Who may do what on the venue's admin API (SOX segregation of duties). Four roles and the
// break-glass token; changes that move money or risk need a second person (maker-checker):
//
// | action                                    | operations | risk_officer | auditor | deployer | break-glass |
// |-------------------------------------------|------------|--------------|---------|----------|-------------|
// | read (state, book, sessions, proposals,   | yes        | yes          | yes     | yes      | yes         |
// |   admin log, control report)              |            |              |         |          |             |
// | halt, engage a kill switch (risk down)    | yes        | yes          |         |          | yes         |
// | propose a change (limits, kill switch     | yes        | yes          |         |          | yes         |
// |   release, resume, add account/session)   |            |              |         |          |             |
// | approve a limit change, a release, a new  |            | yes          |         |          |             |
// |   account or a new session                |            |              |         |          |             |
// | approve a resume                          | yes        | yes          |         |          |             |
// | handover, takeover (cutovers)             |            |              |         | yes      | yes         |
//
// Nobody approves their own proposal; break-glass never approves (an approval names a person).
// Pure functions; thread-safe.
// clang-format on
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace trading::controls {

enum class Role : std::uint8_t { kOperations, kRiskOfficer, kAuditor, kDeployer, kBreakGlass };
std::optional<Role> parse_role(
    std::string_view text);  // operations, risk_officer, auditor, deployer
std::string_view to_string(Role role);

enum class Action : std::uint8_t { kRead, kReduceRisk, kPropose, kCutover };
bool allowed(Role role, Action action);

// The changes that need a second person.
enum class Change : std::uint8_t {
  kSetLimits,
  kReleaseKillSwitch,
  kResume,
  kAddAccount,  // a new account with its limits
  kAddSession,  // a new FIX session trading for an account
};
std::optional<Change> parse_change(
    std::string_view text);  // set_limits, release_kill_switch, resume, add_account, add_session
std::string_view to_string(Change change);
bool may_approve(Role role, Change change);

}  // namespace trading::controls
