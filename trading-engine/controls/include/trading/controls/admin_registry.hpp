// AdminRegistry: the venue's admin identities and maker-checker proposals, folded from the
// entries of the hash-chained admin log (one JSON object per entry: {"type", "data", "seq", ...};
// see admin_log in the app). The log is the only record: users are created and revoked by the
// `trading-engine admin user` CLI, which records who did it and why; proposals, approvals and
// rejections by the admin API; so both colours of a venue, folding the same file, agree.
// Entry types and their data:
//   user_created  {user, role, token_sha256, by, reason, time_ns}
//   user_revoked  {user, by, reason, time_ns}
//   proposal      {id, change, params, reason, proposer, role, time_ns, expires_ns}
//   approval      {id, approver, role, reason, time_ns, outcome ("executed"|"failed"), result}
//   rejection     {id, by, role, reason, time_ns}
//   admin_call    {actor, role, method, path, reason, status, outcome, detail, time_ns}
// Tokens are kept only as SHA-256 hashes (they are 256-bit random secrets, not passwords: a slow
// hash adds nothing but latency to every call). Pure; not thread-safe (its owner locks).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "trading/controls/access.hpp"

namespace trading::controls {

struct AdminUser {
  std::string name;
  Role role = Role::kAuditor;
  std::string token_sha256;
  std::string created_by;
  core::Nanos created_ns = 0;
  bool revoked = false;
  std::string revoked_by;
  core::Nanos revoked_ns = 0;
};

enum class ProposalStatus : std::uint8_t { kPending, kExecuted, kFailed, kRejected };
std::string_view to_string(ProposalStatus status);

struct Proposal {
  std::string id;
  Change change = Change::kSetLimits;
  nlohmann::json params;
  std::string reason;
  std::string proposer;
  Role proposer_role = Role::kOperations;
  core::Nanos created_ns = 0;
  core::Nanos expires_ns = 0;
  ProposalStatus status = ProposalStatus::kPending;
  std::string decided_by;  // the approver or the rejecter
  Role decided_role = Role::kOperations;
  std::string decision_reason;
  core::Nanos decided_ns = 0;
  std::string result;  // what the execution answered
};

// Why a request is refused: the HTTP status, a stable code and words for the person.
struct Refusal {
  int status = 403;
  std::string code;
  std::string message;
};

class AdminRegistry {
 public:
  // Folds one log entry in; unknown types are counted, not errors (a newer build's entries).
  void apply(const nlohmann::json& entry);

  // The user a token hash belongs to (revoked ones included: the caller says so).
  const AdminUser* user_by_token_hash(const std::string& token_sha256) const;
  const AdminUser* user(const std::string& name) const;
  const std::map<std::string, AdminUser>& users() const { return users_; }
  const Proposal* proposal(const std::string& id) const;
  const std::vector<Proposal>& proposals() const { return proposals_; }
  std::uint64_t admin_calls() const { return admin_calls_; }
  std::uint64_t refused_calls() const { return refused_calls_; }
  std::uint64_t entries() const { return entries_; }

  // Whether `approver` may approve (or reject) proposal `p` at `now`: it must be pending and
  // unexpired, the approver a named person, not the proposer, with a role allowed to approve
  // this change. nullopt: allowed.
  static std::optional<Refusal> check_decision(const Proposal& p, const AdminUser& approver,
                                               core::Nanos now, bool approving);

 private:
  std::map<std::string, AdminUser> users_;
  std::map<std::string, std::string> user_by_token_;  // token hash -> name
  std::vector<Proposal> proposals_;
  std::map<std::string, std::size_t> proposal_index_;
  std::uint64_t admin_calls_ = 0;
  std::uint64_t refused_calls_ = 0;
  std::uint64_t entries_ = 0;
};

}  // namespace trading::controls
