// Access and authority checks (21 CFR 11.10(d),(g)): four roles and the matrix of what each may
// do. Separation of duties: administrators manage user accounts and nothing else, and cannot
// sign records; the admin role is never combined with another. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mes {

enum class Role : std::uint8_t { kOperator, kSupervisor, kQa, kAdmin };

enum class Action : std::uint8_t {
  kManageUsers,      // create, deactivate, lock/unlock, reset passwords
  kManagePlant,      // equipment, scales, sensors, their status and calibration
  kManageMaterials,  // materials and received lots
  kSetLotStatus,     // quarantine / release / reject a lot
  kEditMaster,       // author master recipe drafts
  kApproveMaster,    // approve a master version (signature "approved")
  kCreateBatch,
  kRunBatch,        // Start, Pause, Resume, Hold
  kSuperviseBatch,  // Restart, Stop, Abort, Reset
  kExecuteStep,     // parameter entry, weighing, material charge, step completion
  kVerifyStep,      // second-person verification (signature "verified")
  kAcknowledgeAlarm,
  kOpenDeviation,
  kDispositionDeviation,
  kReviewBatch,   // mark exceptions reviewed (signature "reviewed")
  kReleaseBatch,  // release or reject (signature "released" / "rejected")
  kViewRecords,   // batches, recipes, plant, alarms, deviations
  kViewAuditTrail,
  kManageCheckpoints,  // sign and export audit-chain checkpoints
  kRecordTraining,     // record (and sign as trainer) another person's training
};

using RoleSet = std::uint8_t;  // bit (1 << Role)

constexpr RoleSet role_bit(Role r) { return static_cast<RoleSet>(1u << static_cast<unsigned>(r)); }
constexpr bool has_role(RoleSet roles, Role r) { return (roles & role_bit(r)) != 0; }

std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);
std::string_view to_string(Action action);
// "operator,qa" <-> bits; parse fails on an unknown or repeated name.
std::string roles_text(RoleSet roles);
std::optional<RoleSet> parse_roles(std::string_view text);

// True when any of the roles allows the action.
bool allowed(RoleSet roles, Action action);
// May this user put an electronic signature on a record? (Not administrators.)
bool may_sign(RoleSet roles);
// A valid combination for one account: not empty, admin alone.
bool valid_role_set(RoleSet roles);

}  // namespace mes
