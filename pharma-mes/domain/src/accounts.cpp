#include "mes/domain/accounts.hpp"

namespace mes {

std::string_view to_string(AccountStatus status) {
  switch (status) {
    case AccountStatus::kActive:
      return "active";
    case AccountStatus::kLocked:
      return "locked";
    case AccountStatus::kDeactivated:
      return "deactivated";
  }
  return "?";
}

std::string_view to_string(LoginOutcome outcome) {
  switch (outcome) {
    case LoginOutcome::kOk:
      return "ok";
    case LoginOutcome::kMustChangePassword:
      return "must_change_password";
    case LoginOutcome::kBadCredentials:
      return "bad_credentials";
    case LoginOutcome::kLockedNow:
      return "locked_now";
    case LoginOutcome::kLocked:
      return "locked";
    case LoginOutcome::kDeactivated:
      return "deactivated";
  }
  return "?";
}

bool password_expired(const User& user, Millis now, const PasswordPolicy& policy) {
  if (policy.max_age_days <= 0) return false;
  const Millis max_age = static_cast<Millis>(policy.max_age_days) * 24 * 3600 * 1000;
  return now - user.password_set_at >= max_age;
}

LoginDecision decide_login(const User& user, bool password_matches, Millis now,
                           const PasswordPolicy& policy) {
  LoginDecision d{LoginOutcome::kBadCredentials, user};
  if (user.status == AccountStatus::kDeactivated) {
    d.outcome = LoginOutcome::kDeactivated;
    return d;
  }
  if (user.status == AccountStatus::kLocked) {
    d.outcome = LoginOutcome::kLocked;  // even with the right password
    return d;
  }
  if (!password_matches) {
    ++d.user.failed_logins;
    if (policy.max_failed_logins > 0 && d.user.failed_logins >= policy.max_failed_logins) {
      d.user.status = AccountStatus::kLocked;
      d.outcome = LoginOutcome::kLockedNow;
    }
    return d;
  }
  d.user.failed_logins = 0;
  d.outcome = user.must_change_password || password_expired(user, now, policy)
                  ? LoginOutcome::kMustChangePassword
                  : LoginOutcome::kOk;
  return d;
}

Result<void> check_new_password(std::string_view password, std::string_view user_id,
                                const PasswordPolicy& policy) {
  if (password.size() < policy.min_length) {
    return refuse(Code::kPasswordRejected,
                  "a password needs at least " + std::to_string(policy.min_length) + " characters",
                  "new_password");
  }
  if (password.size() > 256) {
    return refuse(Code::kPasswordRejected, "a password has at most 256 characters", "new_password");
  }
  bool lower = false, upper = false, digit = false, other = false;
  for (const char c : password) {
    if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      other = true;
    }
  }
  if (int{lower} + int{upper} + int{digit} + int{other} < 3) {
    return refuse(Code::kPasswordRejected,
                  "a password needs three of: lower case, upper case, digits, other characters",
                  "new_password");
  }
  if (!user_id.empty() && password.find(user_id) != std::string_view::npos) {
    return refuse(Code::kPasswordRejected, "a password may not contain the user id",
                  "new_password");
  }
  return {};
}

Result<void> check_user_id(std::string_view id) {
  if (id.size() < 3 || id.size() > 64) {
    return refuse(Code::kInvalid, "a user id has 3 to 64 characters", "user_id");
  }
  if (id[0] < 'a' || id[0] > 'z') {
    return refuse(Code::kInvalid, "a user id starts with a lower-case letter", "user_id");
  }
  for (const char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return refuse(Code::kInvalid, "a user id has only a-z 0-9 . _ -", "user_id");
  }
  return {};
}

}  // namespace mes
