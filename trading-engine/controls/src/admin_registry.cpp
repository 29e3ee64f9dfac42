#include "trading/controls/admin_registry.hpp"

namespace trading::controls {

std::string_view to_string(ProposalStatus status) {
  switch (status) {
    case ProposalStatus::kPending:
      return "pending";
    case ProposalStatus::kExecuted:
      return "executed";
    case ProposalStatus::kFailed:
      return "failed";
    case ProposalStatus::kRejected:
      return "rejected";
  }
  return "unknown";
}

namespace {

std::string text(const nlohmann::json& data, const char* key) {
  const auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

core::Nanos nanos(const nlohmann::json& data, const char* key) {
  const auto it = data.find(key);
  return it != data.end() && it->is_number_integer() ? it->get<core::Nanos>() : 0;
}

}  // namespace

void AdminRegistry::apply(const nlohmann::json& entry) {
  ++entries_;
  if (!entry.is_object()) return;
  const std::string type = text(entry, "type");
  const auto data_it = entry.find("data");
  if (data_it == entry.end() || !data_it->is_object()) return;
  const nlohmann::json& data = *data_it;
  if (type == "user_created") {
    const auto role = parse_role(text(data, "role"));
    const std::string name = text(data, "user");
    if (!role || name.empty()) return;
    AdminUser u;
    u.name = name;
    u.role = *role;
    u.token_sha256 = text(data, "token_sha256");
    u.created_by = text(data, "by");
    u.created_ns = nanos(data, "time_ns");
    if (auto old = users_.find(name); old != users_.end()) {
      user_by_token_.erase(old->second.token_sha256);
    }
    user_by_token_[u.token_sha256] = name;
    users_[name] = std::move(u);
  } else if (type == "user_revoked") {
    if (auto it = users_.find(text(data, "user")); it != users_.end()) {
      it->second.revoked = true;
      it->second.revoked_by = text(data, "by");
      it->second.revoked_ns = nanos(data, "time_ns");
    }
  } else if (type == "proposal") {
    const auto change = parse_change(text(data, "change"));
    const auto role = parse_role(text(data, "role"));
    const std::string id = text(data, "id");
    if (!change || id.empty() || proposal_index_.count(id) != 0) return;
    Proposal p;
    p.id = id;
    p.change = *change;
    p.params = data.value("params", nlohmann::json::object());
    p.reason = text(data, "reason");
    p.proposer = text(data, "proposer");
    p.proposer_role = role.value_or(Role::kBreakGlass);
    p.created_ns = nanos(data, "time_ns");
    p.expires_ns = nanos(data, "expires_ns");
    proposal_index_[id] = proposals_.size();
    proposals_.push_back(std::move(p));
  } else if (type == "approval" || type == "rejection") {
    const auto it = proposal_index_.find(text(data, "id"));
    if (it == proposal_index_.end()) return;
    Proposal& p = proposals_[it->second];
    if (p.status != ProposalStatus::kPending) return;  // the first decision stands
    const bool approval = type == "approval";
    p.decided_by = text(data, approval ? "approver" : "by");
    p.decided_role = parse_role(text(data, "role")).value_or(Role::kBreakGlass);
    p.decision_reason = text(data, "reason");
    p.decided_ns = nanos(data, "time_ns");
    p.result = text(data, "result");
    p.status = !approval                             ? ProposalStatus::kRejected
               : text(data, "outcome") == "executed" ? ProposalStatus::kExecuted
                                                     : ProposalStatus::kFailed;
  } else if (type == "admin_call") {
    ++admin_calls_;
    if (text(data, "outcome") == "refused") ++refused_calls_;
  }
}

const AdminUser* AdminRegistry::user_by_token_hash(const std::string& token_sha256) const {
  const auto it = user_by_token_.find(token_sha256);
  return it == user_by_token_.end() ? nullptr : user(it->second);
}

const AdminUser* AdminRegistry::user(const std::string& name) const {
  const auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

const Proposal* AdminRegistry::proposal(const std::string& id) const {
  const auto it = proposal_index_.find(id);
  return it == proposal_index_.end() ? nullptr : &proposals_[it->second];
}

std::optional<Refusal> AdminRegistry::check_decision(const Proposal& p, const AdminUser& approver,
                                                     core::Nanos now, bool approving) {
  if (p.status != ProposalStatus::kPending) {
    return Refusal{409, "already_decided",
                   "proposal " + p.id + " was already " + std::string(to_string(p.status)) +
                       " by " + p.decided_by + ": a decision is taken once"};
  }
  if (now >= p.expires_ns) {
    return Refusal{410, "expired", "proposal " + p.id + " expired: propose it again"};
  }
  if (approver.role == Role::kBreakGlass) {
    return Refusal{403, "forbidden",
                   "the break-glass token cannot decide a proposal: a decision names a person"};
  }
  if (approver.name == p.proposer) {
    return Refusal{403, "self_approval",
                   std::string("nobody ") + (approving ? "approves" : "rejects") +
                       " their own proposal: a second person must"};
  }
  if (!may_approve(approver.role, p.change)) {
    return Refusal{403, "wrong_role",
                   "the " + std::string(to_string(approver.role)) + " role may not decide a " +
                       std::string(to_string(p.change)) + " proposal"};
  }
  return std::nullopt;
}

}  // namespace trading::controls
