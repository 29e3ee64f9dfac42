// The access rules and the registry folded from the admin log (pure): the role table, who may
// decide which proposal and when, and what the fold makes of users, revocations and decisions.
#include <gtest/gtest.h>

#include "trading/controls/access.hpp"
#include "trading/controls/admin_registry.hpp"

namespace {

using namespace trading::controls;
using nlohmann::json;

json entry(const std::string& type, json data) { return {{"type", type}, {"data", data}}; }

TEST(AccessRules, TheRoleTableSegregatesDuties) {
  EXPECT_TRUE(allowed(Role::kAuditor, Action::kRead));
  EXPECT_FALSE(allowed(Role::kAuditor, Action::kReduceRisk));
  EXPECT_FALSE(allowed(Role::kAuditor, Action::kPropose));
  EXPECT_FALSE(allowed(Role::kAuditor, Action::kCutover));
  EXPECT_TRUE(allowed(Role::kOperations, Action::kReduceRisk));
  EXPECT_FALSE(allowed(Role::kOperations, Action::kCutover));
  EXPECT_TRUE(allowed(Role::kDeployer, Action::kCutover));
  EXPECT_FALSE(allowed(Role::kDeployer, Action::kPropose));
  EXPECT_TRUE(may_approve(Role::kRiskOfficer, Change::kSetLimits));
  EXPECT_FALSE(may_approve(Role::kOperations, Change::kSetLimits));
  EXPECT_FALSE(may_approve(Role::kOperations, Change::kReleaseKillSwitch));
  EXPECT_TRUE(may_approve(Role::kOperations, Change::kResume));
  EXPECT_FALSE(may_approve(Role::kBreakGlass, Change::kResume));
  for (Change c : {Change::kAddAccount, Change::kAddSession}) {
    EXPECT_TRUE(may_approve(Role::kRiskOfficer, c));
    EXPECT_FALSE(may_approve(Role::kOperations, c));
    EXPECT_FALSE(may_approve(Role::kBreakGlass, c));
    EXPECT_EQ(parse_change(to_string(c)), c);
  }
  EXPECT_FALSE(parse_role("break_glass")) << "nobody is given the break-glass role";
  EXPECT_EQ(parse_role("risk_officer"), Role::kRiskOfficer);
}

TEST(AdminRegistry, UsersAreFoldedWithTheirTokenHashAndRevocation) {
  AdminRegistry r;
  r.apply(entry("user_created", {{"user", "olga"},
                                 {"role", "operations"},
                                 {"token_sha256", "h1"},
                                 {"by", "it"},
                                 {"time_ns", 5}}));
  ASSERT_NE(r.user_by_token_hash("h1"), nullptr);
  EXPECT_EQ(r.user_by_token_hash("h1")->role, Role::kOperations);
  EXPECT_EQ(r.user_by_token_hash("h2"), nullptr);
  r.apply(entry("user_revoked", {{"user", "olga"}, {"by", "it"}, {"time_ns", 9}}));
  EXPECT_TRUE(r.user_by_token_hash("h1")->revoked);
  r.apply(entry("user_created", {{"user", "olga"}, {"role", "auditor"}, {"token_sha256", "h3"}}));
  EXPECT_EQ(r.user_by_token_hash("h1"), nullptr) << "the old token is gone with the new user";
  EXPECT_FALSE(r.user_by_token_hash("h3")->revoked);
  r.apply(entry("user_created", {{"user", "x"}, {"role", "god"}, {"token_sha256", "h4"}}));
  EXPECT_EQ(r.user("x"), nullptr) << "an entry of an unknown role is not a user";
  r.apply(json("garbage"));
  EXPECT_EQ(r.entries(), 5u);
}

TEST(AdminRegistry, DecisionsNeedASecondPersonTheRightRoleAndTime) {
  AdminRegistry r;
  r.apply(entry("proposal", {{"id", "P-1"},
                             {"change", "set_limits"},
                             {"proposer", "olga"},
                             {"role", "operations"},
                             {"time_ns", 100},
                             {"expires_ns", 1000}}));
  const Proposal* p = r.proposal("P-1");
  ASSERT_NE(p, nullptr);
  const AdminUser olga{"olga", Role::kOperations, "", "", 0, false, "", 0};
  const AdminUser omar{"omar", Role::kOperations, "", "", 0, false, "", 0};
  const AdminUser rick{"rick", Role::kRiskOfficer, "", "", 0, false, "", 0};
  const AdminUser glass{"break-glass", Role::kBreakGlass, "", "", 0, false, "", 0};
  EXPECT_EQ(AdminRegistry::check_decision(*p, olga, 200, true)->code, "self_approval");
  EXPECT_EQ(AdminRegistry::check_decision(*p, olga, 200, false)->code, "self_approval");
  EXPECT_EQ(AdminRegistry::check_decision(*p, omar, 200, true)->code, "wrong_role");
  EXPECT_EQ(AdminRegistry::check_decision(*p, glass, 200, true)->code, "forbidden");
  EXPECT_EQ(AdminRegistry::check_decision(*p, rick, 1000, true)->code, "expired");
  EXPECT_FALSE(AdminRegistry::check_decision(*p, rick, 999, true));
  r.apply(entry("approval", {{"id", "P-1"},
                             {"approver", "rick"},
                             {"role", "risk_officer"},
                             {"outcome", "executed"},
                             {"result", "ok"}}));
  EXPECT_EQ(r.proposal("P-1")->status, ProposalStatus::kExecuted);
  EXPECT_EQ(AdminRegistry::check_decision(*r.proposal("P-1"), rick, 300, true)->code,
            "already_decided");
  r.apply(entry("rejection", {{"id", "P-1"}, {"by", "omar"}}));
  EXPECT_EQ(r.proposal("P-1")->status, ProposalStatus::kExecuted) << "the first decision stands";
  EXPECT_EQ(r.proposal("P-1")->decided_by, "rick");
  r.apply(entry("proposal", {{"id", "P-1"}, {"change", "resume"}, {"proposer", "x"}}));
  EXPECT_EQ(r.proposal("P-1")->change, Change::kSetLimits) << "an id is never reused";
}

}  // namespace
