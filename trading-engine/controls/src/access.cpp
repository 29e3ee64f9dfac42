#include "trading/controls/access.hpp"

namespace trading::controls {

std::optional<Role> parse_role(std::string_view text) {
  if (text == "operations") return Role::kOperations;
  if (text == "risk_officer") return Role::kRiskOfficer;
  if (text == "auditor") return Role::kAuditor;
  if (text == "deployer") return Role::kDeployer;
  return std::nullopt;  // break-glass is not a role anyone is given
}

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kOperations:
      return "operations";
    case Role::kRiskOfficer:
      return "risk_officer";
    case Role::kAuditor:
      return "auditor";
    case Role::kDeployer:
      return "deployer";
    case Role::kBreakGlass:
      return "break_glass";
  }
  return "unknown";
}

bool allowed(Role role, Action action) {
  switch (action) {
    case Action::kRead:
      return true;
    case Action::kReduceRisk:
    case Action::kPropose:
      return role == Role::kOperations || role == Role::kRiskOfficer || role == Role::kBreakGlass;
    case Action::kCutover:
      return role == Role::kDeployer || role == Role::kBreakGlass;
  }
  return false;
}

std::optional<Change> parse_change(std::string_view text) {
  if (text == "set_limits") return Change::kSetLimits;
  if (text == "release_kill_switch") return Change::kReleaseKillSwitch;
  if (text == "resume") return Change::kResume;
  if (text == "add_account") return Change::kAddAccount;
  if (text == "add_session") return Change::kAddSession;
  return std::nullopt;
}

std::string_view to_string(Change change) {
  switch (change) {
    case Change::kSetLimits:
      return "set_limits";
    case Change::kReleaseKillSwitch:
      return "release_kill_switch";
    case Change::kResume:
      return "resume";
    case Change::kAddAccount:
      return "add_account";
    case Change::kAddSession:
      return "add_session";
  }
  return "unknown";
}

bool may_approve(Role role, Change change) {
  switch (change) {
    case Change::kSetLimits:
    case Change::kReleaseKillSwitch:
    case Change::kAddAccount:  // credit and limits of a new account
    case Change::kAddSession:  // who may trade for an account
      return role == Role::kRiskOfficer;
    case Change::kResume:
      return role == Role::kOperations || role == Role::kRiskOfficer;
  }
  return false;
}

}  // namespace trading::controls
