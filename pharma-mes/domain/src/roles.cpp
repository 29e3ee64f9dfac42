#include "mes/domain/roles.hpp"

#include <array>

namespace mes {
namespace {

constexpr RoleSet kOp = role_bit(Role::kOperator);
constexpr RoleSet kSup = role_bit(Role::kSupervisor);
constexpr RoleSet kQa = role_bit(Role::kQa);
constexpr RoleSet kAdm = role_bit(Role::kAdmin);

// Which roles may perform each action (indexed by Action).
constexpr std::array<RoleSet, 20> kMatrix = {
    kAdm,               // kManageUsers
    kSup,               // kManagePlant
    kSup,               // kManageMaterials
    kQa,                // kSetLotStatus
    kSup,               // kEditMaster
    kQa,                // kApproveMaster
    kSup,               // kCreateBatch
    kOp | kSup,         // kRunBatch
    kSup,               // kSuperviseBatch
    kOp | kSup,         // kExecuteStep
    kOp | kSup | kQa,   // kVerifyStep
    kOp | kSup | kQa,   // kAcknowledgeAlarm
    kOp | kSup | kQa,   // kOpenDeviation
    kQa,                // kDispositionDeviation
    kQa,                // kReviewBatch
    kQa,                // kReleaseBatch
    kOp | kSup | kQa,   // kViewRecords
    kSup | kQa | kAdm,  // kViewAuditTrail
    kQa | kAdm,         // kManageCheckpoints
    kSup | kQa,         // kRecordTraining
};
static_assert(kMatrix.size() == static_cast<std::size_t>(Action::kRecordTraining) + 1);

constexpr std::array<std::string_view, 4> kRoleNames = {"operator", "supervisor", "qa", "admin"};

}  // namespace

std::string_view to_string(Role role) { return kRoleNames[static_cast<std::size_t>(role)]; }

std::optional<Role> parse_role(std::string_view text) {
  for (std::size_t i = 0; i < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == text) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string_view to_string(Action action) {
  static constexpr std::array<std::string_view, 20> kNames = {
      "manage_users",    "manage_plant",          "manage_materials",   "set_lot_status",
      "edit_master",     "approve_master",        "create_batch",       "run_batch",
      "supervise_batch", "execute_step",          "verify_step",        "acknowledge_alarm",
      "open_deviation",  "disposition_deviation", "review_batch",       "release_batch",
      "view_records",    "view_audit_trail",      "manage_checkpoints", "record_training"};
  return kNames[static_cast<std::size_t>(action)];
}

std::string roles_text(RoleSet roles) {
  std::string out;
  for (std::size_t i = 0; i < kRoleNames.size(); ++i) {
    if ((roles & (1u << i)) == 0) continue;
    if (!out.empty()) out += ',';
    out += kRoleNames[i];
  }
  return out;
}

std::optional<RoleSet> parse_roles(std::string_view text) {
  RoleSet roles = 0;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    const auto role = parse_role(name);
    if (!role || has_role(roles, *role)) return std::nullopt;
    roles = static_cast<RoleSet>(roles | role_bit(*role));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::nullopt;  // trailing comma
  }
  return roles;
}

bool allowed(RoleSet roles, Action action) {
  return (kMatrix[static_cast<std::size_t>(action)] & roles) != 0;
}

bool may_sign(RoleSet roles) { return roles != 0 && !has_role(roles, Role::kAdmin); }

bool valid_role_set(RoleSet roles) {
  if (roles == 0 || roles >= (1u << kRoleNames.size())) return false;
  return !has_role(roles, Role::kAdmin) || roles == kAdm;
}

}  // namespace mes
