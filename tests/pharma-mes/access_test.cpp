// Roles and the action matrix, account lockout and aging, password rules, signing components.
#include <gtest/gtest.h>

#include "mes/domain/accounts.hpp"
#include "mes/domain/esign.hpp"
#include "mes/domain/roles.hpp"

namespace {

using namespace mes;

constexpr Millis kDay = 24LL * 3600 * 1000;

User make_user(std::string id, std::string name, Role role) {
  User u;
  u.id = std::move(id);
  u.full_name = std::move(name);
  u.roles = role_bit(role);
  return u;
}

TEST(Roles, MatrixSeparatesDuties) {
  const RoleSet op = role_bit(Role::kOperator), sup = role_bit(Role::kSupervisor),
                qa = role_bit(Role::kQa), adm = role_bit(Role::kAdmin);
  EXPECT_TRUE(allowed(op, Action::kExecuteStep));
  EXPECT_FALSE(allowed(op, Action::kSuperviseBatch));
  EXPECT_FALSE(allowed(op, Action::kReleaseBatch));
  EXPECT_TRUE(allowed(sup, Action::kSuperviseBatch));
  EXPECT_FALSE(allowed(sup, Action::kApproveMaster));
  EXPECT_TRUE(allowed(qa, Action::kReleaseBatch));
  EXPECT_FALSE(allowed(qa, Action::kExecuteStep));
  EXPECT_TRUE(allowed(adm, Action::kManageUsers));
  for (Action a : {Action::kExecuteStep, Action::kVerifyStep, Action::kReleaseBatch,
                   Action::kApproveMaster, Action::kRunBatch}) {
    EXPECT_FALSE(allowed(adm, a)) << to_string(a);
  }
  EXPECT_FALSE(may_sign(adm));
  EXPECT_TRUE(may_sign(qa));
  EXPECT_TRUE(valid_role_set(op | sup));
  EXPECT_FALSE(valid_role_set(adm | qa));
  EXPECT_FALSE(valid_role_set(0));
  EXPECT_EQ(parse_roles("operator,qa"), op | qa);
  EXPECT_EQ(roles_text(op | qa), "operator,qa");
  EXPECT_FALSE(parse_roles("operator,operator"));
  EXPECT_FALSE(parse_roles("operator,"));
  EXPECT_FALSE(parse_roles("root"));
}

TEST(Accounts, ConsecutiveFailuresLockAndTheRightPasswordDoesNotUnlock) {
  PasswordPolicy policy;
  policy.max_failed_logins = 3;
  User u = make_user("op1", "Olga Operator", Role::kOperator);
  u.password_set_at = 0;
  auto d = decide_login(u, false, kDay, policy);
  EXPECT_EQ(d.outcome, LoginOutcome::kBadCredentials);
  d = decide_login(d.user, true, kDay, policy);
  EXPECT_EQ(d.outcome, LoginOutcome::kOk);
  EXPECT_EQ(d.user.failed_logins, 0) << "a success resets the count: failures are consecutive";
  for (int i = 0; i < 2; ++i) d = decide_login(d.user, false, kDay, policy);
  EXPECT_EQ(d.outcome, LoginOutcome::kBadCredentials);
  d = decide_login(d.user, false, kDay, policy);
  EXPECT_EQ(d.outcome, LoginOutcome::kLockedNow);
  EXPECT_EQ(d.user.status, AccountStatus::kLocked);
  EXPECT_EQ(decide_login(d.user, true, kDay, policy).outcome, LoginOutcome::kLocked);
  u.status = AccountStatus::kDeactivated;
  EXPECT_EQ(decide_login(u, true, kDay, policy).outcome, LoginOutcome::kDeactivated);
}

TEST(Accounts, AgedOrResetPasswordsMustBeChanged) {
  PasswordPolicy policy;
  policy.max_age_days = 90;
  User u = make_user("qa1", "Quinn QA", Role::kQa);
  u.password_set_at = 10 * kDay;
  EXPECT_EQ(decide_login(u, true, 99 * kDay, policy).outcome, LoginOutcome::kOk);
  EXPECT_EQ(decide_login(u, true, 100 * kDay, policy).outcome, LoginOutcome::kMustChangePassword);
  u.must_change_password = true;
  EXPECT_EQ(decide_login(u, true, 11 * kDay, policy).outcome, LoginOutcome::kMustChangePassword);
  policy.max_age_days = 0;
  u.must_change_password = false;
  EXPECT_FALSE(password_expired(u, 10'000 * kDay, policy));
}

TEST(Accounts, PasswordAndUserIdRules) {
  PasswordPolicy policy;
  EXPECT_TRUE(check_new_password("Correct-Horse-7", "op1", policy));
  EXPECT_EQ(check_new_password("short1A!", "op1", policy).error().code, Code::kPasswordRejected);
  EXPECT_FALSE(check_new_password("alllowercaseletters", "op1", policy));
  EXPECT_FALSE(check_new_password("Xop1-longer-password", "op1", policy));
  EXPECT_TRUE(check_user_id("olga.operator"));
  EXPECT_FALSE(check_user_id("Olga"));
  EXPECT_FALSE(check_user_id("ab"));
  EXPECT_FALSE(check_user_id("olga operator"));
}

TEST(Esign, ComponentsPerSession) {
  const Millis idle = 15 * 60 * 1000;
  SigningSession s{"qa1", 1'000, false};
  EXPECT_EQ(components_needed(s, "qa1", 2'000, idle), Components::kUserIdAndPassword);
  s.has_signed = true;
  EXPECT_EQ(components_needed(s, "qa1", 2'000, idle), Components::kPasswordOnly);
  EXPECT_EQ(components_needed(s, "qa1", 1'000 + idle, idle), Components::kUserIdAndPassword)
      << "after the idle timeout both again";
  EXPECT_EQ(components_needed(s, "op2", 2'000, idle), Components::kUserIdAndPassword)
      << "another person signing at this terminal gives both";
  EXPECT_TRUE(check_components(s, "qa1", "", 2'000, idle));
  EXPECT_EQ(check_components(s, "op2", "", 2'000, idle).error().code, Code::kSignatureRequired);
  EXPECT_EQ(check_components(s, "op2", "op3", 2'000, idle).error().code, Code::kBadSignature);
  EXPECT_TRUE(check_components(s, "op2", "op2", 2'000, idle));
}

TEST(Esign, SealLinksTheSignatureToOneRecordVersion) {
  const auto key = crypto::SigningKey::from_seed(std::string(32, 'k'));
  ASSERT_TRUE(key);
  Signature s{"sig-1",
              "qa1",
              "Quinn QA",
              Meaning::kReleased,
              1700000000000,
              "batch",
              "B-001",
              crypto::sha256_hex("batch B-001 v7"),
              {}};
  seal(s, *key);
  const std::string pk = key->public_key_hex();
  const std::string h = s.record_hash;
  EXPECT_EQ(check_signature(s, "batch", "B-001", h, pk), SignatureCheck::kValid);
  EXPECT_EQ(check_signature(s, "batch", "B-001", crypto::sha256_hex("batch B-001 v8"), pk),
            SignatureCheck::kRecordChanged);
  EXPECT_EQ(check_signature(s, "batch", "B-002", h, pk), SignatureCheck::kWrongRecord)
      << "copied to another record";
  Signature moved = s;
  moved.record_id = "B-002";  // copied and edited to point at the other record
  EXPECT_EQ(check_signature(moved, "batch", "B-002", h, pk), SignatureCheck::kSealBroken);
  Signature renamed = s;
  renamed.meaning = Meaning::kApproved;
  EXPECT_EQ(check_signature(renamed, "batch", "B-001", h, pk), SignatureCheck::kSealBroken);
  const auto other = crypto::SigningKey::from_seed(std::string(32, 'x'));
  ASSERT_TRUE(other);
  EXPECT_EQ(check_signature(s, "batch", "B-001", h, other->public_key_hex()),
            SignatureCheck::kSealBroken);
}

}  // namespace
