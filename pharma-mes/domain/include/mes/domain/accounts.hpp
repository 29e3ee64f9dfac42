// User accounts and passwords (21 CFR 11.300): unique ids that are never reused (accounts are
// deactivated, never deleted), password aging, lockout after N consecutive failed logins with a
// security alert, one-time passwords after an administrator's reset. Hashing is behind the
// PasswordHasher port (Argon2id in the adapter; the domain never sees a salt or a clock).
// Value types and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mes/domain/errors.hpp"
#include "mes/domain/record_meta.hpp"
#include "mes/domain/roles.hpp"

namespace mes {

using Millis = std::int64_t;  // UTC, milliseconds since the Unix epoch

enum class AccountStatus : std::uint8_t { kActive, kLocked, kDeactivated };
std::string_view to_string(AccountStatus status);

// A user account. Its stored form (records.hpp) keeps the name, roles and identity
// verification in data, the status, password and signature attestation in flow; state = status.
struct User {
  static constexpr std::string_view kType = "user";
  std::string id;         // the login name; unique forever
  std::string full_name;  // printed with every signature (11.50)
  RoleSet roles = 0;
  AccountStatus status = AccountStatus::kActive;
  std::string password_hash;  // PHC string from the hasher
  Millis password_set_at = 0;
  bool must_change_password = false;  // set by an administrator's reset (one-time password)
  int failed_logins = 0;              // consecutive
  Millis created_at = 0;
  // 11.100(b): how the organisation verified the person's identity before sanctioning their
  // electronic signature (what was checked), by which administrator, when. Empty: never
  // verified (an account from before this was recorded): the account may not sign.
  std::string identity_evidence = {};
  std::string identity_verified_by = {};
  Millis identity_verified_at = 0;
  // 11.100(c): when the user attested, at their first signing, that their electronic signature
  // is the legally binding equivalent of their handwritten one (kSignatureAttestation); 0: not
  // yet. The attested statement's SHA-256 is kept with it.
  Millis signature_attested_at = 0;
  std::string signature_statement_sha256 = {};
  RecordMeta meta = {};

  bool identity_verified() const { return identity_verified_at != 0; }
  bool signature_attested() const { return signature_attested_at != 0; }
};

struct PasswordPolicy {
  std::size_t min_length = 12;
  int max_age_days = 90;      // 0: passwords never expire
  int max_failed_logins = 5;  // consecutive failures that lock the account
};

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  virtual std::string hash(std::string_view password) const = 0;
  virtual bool verify(std::string_view hash, std::string_view password) const = 0;
};

enum class LoginOutcome : std::uint8_t {
  kOk,
  kMustChangePassword,  // authenticated, but may only change the password (reset or aged)
  kBadCredentials,
  kLockedNow,  // this failure locked the account: raise a security alert
  kLocked,
  kDeactivated,
};
std::string_view to_string(LoginOutcome outcome);

struct LoginDecision {
  LoginOutcome outcome = LoginOutcome::kBadCredentials;
  User user;  // the account after the attempt (failure counter, status)
};

// The outcome of a login attempt whose password did or did not match the stored hash.
LoginDecision decide_login(const User& user, bool password_matches, Millis now,
                           const PasswordPolicy& policy);

bool password_expired(const User& user, Millis now, const PasswordPolicy& policy);

// A new password: long enough, three of four character classes, not the user id.
Result<void> check_new_password(std::string_view password, std::string_view user_id,
                                const PasswordPolicy& policy);

// A login name: 3-64 of [a-z0-9._-], starting with a letter.
Result<void> check_user_id(std::string_view id);

}  // namespace mes
