// Mes: the command wrapper, accounts (11.300), logins and electronic signatures (11.200, 11.50,
// 11.70).
#include <algorithm>

#include "service_support.hpp"

namespace mes {

using detail::audit;
using detail::json;

Mes::Mes(Store& store, const PasswordHasher& hasher, crypto::SigningKey key, MesConfig config)
    : store_(store),
      hasher_(hasher),
      key_(std::move(key)),
      public_key_(key_.public_key_hex()),
      config_(std::move(config)) {}

Result<void> Mes::command(const std::string& actor, std::string_view name,
                          std::string_view object_type, const std::string& object_id,
                          const std::function<Result<void>(Transaction&)>& fn) {
  auto result = transact(fn);
  if (!result && result.error().code != Code::kStorage) {
    // The refusal itself is on the record (11.10(e),(f)): who tried what, and why it was refused.
    const Error refusal = result.error();
    (void)transact([&](Transaction& tx) {
      return audit(tx, actor.empty() ? "anonymous" : actor, "refused", std::string(object_type),
                   object_id, std::string(name), "",
                   std::string(to_string(refusal.code)) + ": " + refusal.message, "");
    });
  }
  return result;
}

Result<void> Mes::transact(const std::function<Result<void>(Transaction&)>& fn) {
  const std::string terminal = TerminalScope::current();  // a copy: the scope below replaces it
  if (terminal.empty()) return store_.transact(fn);
  return store_.transact([&](Transaction& tx) {
    const TerminalScope scope(terminal);  // on the committing thread, for this command only
    return fn(tx);
  });
}

namespace {
thread_local std::string t_terminal;  // TerminalScope::current()
}  // namespace

TerminalScope::TerminalScope(std::string terminal) : previous_(std::move(t_terminal)) {
  t_terminal = terminal.empty() || valid_terminal_id(terminal) ? std::move(terminal)
                                                               : std::string("invalid");
}
TerminalScope::~TerminalScope() { t_terminal = std::move(previous_); }
const std::string& TerminalScope::current() { return t_terminal; }

bool valid_terminal_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

Result<std::optional<User>> Mes::find_user(const std::string& id) {
  std::optional<User> u;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    auto doc = tx.get(User::kType, id);
    if (!doc) return {};
    auto read = decode<User>(*doc);
    if (!read) return tl::unexpected(read.error());
    u = std::move(*read);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return u;
}

Result<void> Mes::bootstrap_admin(const std::string& id, const std::string& full_name,
                                  const std::string& password) {
  if (auto r = check_user_id(id); !r) return r;
  if (auto r = check_new_password(password, id, config_.passwords); !r) return r;
  const std::string hash = hasher_.hash(password);
  return command("system", "bootstrap_admin", "user", id, [&](Transaction& tx) -> Result<void> {
    if (!tx.list("user").empty()) {
      return refuse(Code::kConflict, "users exist: the first administrator is already there");
    }
    User u;
    u.id = id;
    u.full_name = full_name;
    u.roles = role_bit(Role::kAdmin);
    u.password_hash = hash;
    u.password_set_at = tx.now();
    u.created_at = tx.now();
    // Whoever holds the server's console is, by the organisation's act of installing it, the
    // first administrator; administrators never sign, so no signature rests on this.
    u.identity_evidence = "first administrator, created at the server console";
    u.identity_verified_by = "system";
    u.identity_verified_at = tx.now();
    return detail::save(tx, "system", u, "create", "");
  });
}

namespace {

// What an administrator writes about the identity check (11.100(b)).
constexpr const char* kIdentityEvidence =
    "what was checked to verify the person's identity (11.100(b)), e.g. \"passport checked in "
    "person; HR record 4411\"";

}  // namespace

Result<void> Mes::create_user(const std::string& actor, const NewUser& nu) {
  if (auto r = check_user_id(nu.id); !r) return r;
  if (nu.full_name.empty()) return refuse(Code::kInvalid, "a user needs a full name", "full_name");
  if (!valid_role_set(nu.roles)) {
    return refuse(Code::kInvalid,
                  "roles must be one or more of operator, supervisor, qa, or admin alone", "roles");
  }
  if (auto r = detail::check_one_line(nu.identity_evidence, "identity_evidence", kIdentityEvidence);
      !r) {
    return r;
  }
  if (auto r = check_new_password(nu.initial_password, nu.id, config_.passwords); !r) return r;
  const std::string hash = hasher_.hash(nu.initial_password);
  return command(actor, "create_user", "user", nu.id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kManageUsers, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (tx.get("user", nu.id)) {
      // Ids are never reused, not even those of deactivated users (11.300(a)).
      return refuse(Code::kConflict, "user id " + nu.id + " exists or existed", "id");
    }
    User u;
    u.id = nu.id;
    u.full_name = nu.full_name;
    u.roles = nu.roles;
    u.password_hash = hash;
    u.password_set_at = tx.now();
    u.must_change_password = true;  // the first password was chosen by the administrator
    u.created_at = tx.now();
    u.identity_evidence = nu.identity_evidence;
    u.identity_verified_by = actor;
    u.identity_verified_at = tx.now();
    return detail::save(tx, actor, u, "create", "");
  });
}

namespace {

// Ends the user's open sessions at once (11.10(d)): a locked, deactivated or reset account is
// logged out everywhere, on every process of the database. Audited when there were any.
Result<void> end_sessions(Transaction& tx, const std::string& actor, const std::string& id,
                          const std::string& why) {
  auto ended = tx.delete_sessions_of(id);
  if (!ended) return tl::unexpected(ended.error());
  if (*ended == 0) return {};
  return detail::audit(tx, actor, "end_sessions", "user", id, "sessions", std::to_string(*ended),
                       "0", why);
}

// Loads user `id` for an administrator's change.
Result<User> user_for_admin(Transaction& tx, const std::string& actor, const std::string& id,
                            const MesConfig& config) {
  if (auto a = detail::authorize(tx, actor, Action::kManageUsers, config); !a) {
    return tl::unexpected(a.error());
  }
  return detail::load<User>(tx, id, "id", true);
}

}  // namespace

Result<void> Mes::deactivate_user(const std::string& actor, const std::string& id,
                                  const std::string& reason) {
  return command(actor, "deactivate_user", "user", id, [&](Transaction& tx) -> Result<void> {
    if (auto r = detail::require_reason(reason); !r) return r;
    auto found = user_for_admin(tx, actor, id, config_);
    if (!found) return tl::unexpected(found.error());
    User& u = *found;
    if (id == actor) return refuse(Code::kForbidden, "administrators cannot deactivate themselves");
    u.status = AccountStatus::kDeactivated;
    if (auto p = detail::save(tx, actor, u, "deactivate", reason); !p) {
      return p;
    }
    return end_sessions(tx, actor, id, "deactivated");
  });
}

Result<void> Mes::verify_identity(const std::string& actor, const std::string& id,
                                  const std::string& evidence) {
  if (auto r = detail::check_one_line(evidence, "identity_evidence", kIdentityEvidence); !r) {
    return r;
  }
  return command(actor, "verify_identity", "user", id, [&](Transaction& tx) -> Result<void> {
    auto found = user_for_admin(tx, actor, id, config_);
    if (!found) return tl::unexpected(found.error());
    User& u = *found;
    if (id == actor) {
      return refuse(Code::kSameUser, "nobody verifies their own identity (11.100(b))");
    }
    if (u.status == AccountStatus::kDeactivated) {
      return refuse(Code::kAccountInactive, "user " + id + " is deactivated");
    }
    if (u.identity_verified()) {
      return refuse(Code::kConflict, "the identity of " + id + " was verified by " +
                                         u.identity_verified_by + " already");
    }
    u.identity_evidence = evidence;
    u.identity_verified_by = actor;
    u.identity_verified_at = tx.now();
    return detail::save(tx, actor, u, "verify_identity", "identity verified (11.100(b))");
  });
}

Result<void> Mes::set_roles(const std::string& actor, const std::string& id, RoleSet roles,
                            const std::string& reason) {
  if (!valid_role_set(roles)) {
    return refuse(Code::kInvalid,
                  "roles must be one or more of operator, supervisor, qa, or admin alone", "roles");
  }
  return command(actor, "set_roles", "user", id, [&](Transaction& tx) -> Result<void> {
    if (auto r = detail::require_reason(reason); !r) return r;
    auto found = user_for_admin(tx, actor, id, config_);
    if (!found) return tl::unexpected(found.error());
    User& u = *found;
    if (id == actor) return refuse(Code::kSameUser, "administrators cannot change their own roles");
    if (u.status == AccountStatus::kDeactivated) {
      return refuse(Code::kAccountInactive, "user " + id + " is deactivated");
    }
    if (u.roles == roles) {
      return refuse(Code::kConflict, "user " + id + " already has exactly " + roles_text(roles));
    }
    u.roles = roles;
    return detail::save(tx, actor, u, "set_roles", reason);
  });
}

Result<std::vector<Mes::UserAccess>> Mes::access_review(const std::string& actor) {
  std::vector<UserAccess> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kManageUsers, config_); !a) {
      return tl::unexpected(a.error());
    }
    std::vector<std::string> unreadable;
    for (const User& u : detail::list_of<User>(tx, "", "", unreadable)) {
      UserAccess row{u.id,
                     u.full_name,
                     roles_text(u.roles),
                     std::string(to_string(u.status)),
                     u.created_at,
                     u.password_set_at,
                     0,
                     {},
                     0,
                     u.identity_verified_at,
                     u.identity_verified_by,
                     u.signature_attested_at};
      for (const auto& e : tx.audit_of("user", u.id)) {
        if (e.action == "set_roles" && e.field == "data.roles") {
          row.roles_changed_at = e.at;
          row.roles_changed_by = e.actor;
        } else if (e.action == "login" && (e.new_value == "ok" || e.reason == "login ok")) {
          row.last_login = e.at;
        }
      }
      out.push_back(std::move(row));
    }
    // An account this software cannot read is named: a review that skipped it would be wrong.
    if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

Result<void> Mes::set_locked(const std::string& actor, const std::string& id, bool locked,
                             const std::string& reason) {
  return command(actor, locked ? "lock_user" : "unlock_user", "user", id,
                 [&](Transaction& tx) -> Result<void> {
                   if (auto r = detail::require_reason(reason); !r) return r;
                   auto found = user_for_admin(tx, actor, id, config_);
                   if (!found) return tl::unexpected(found.error());
                   User& u = *found;
                   if (u.status == AccountStatus::kDeactivated) {
                     return refuse(Code::kAccountInactive, "user " + id + " is deactivated");
                   }
                   u.status = locked ? AccountStatus::kLocked : AccountStatus::kActive;
                   u.failed_logins = 0;
                   if (auto p = detail::save(tx, actor, u, locked ? "lock" : "unlock", reason);
                       !p) {
                     return p;
                   }
                   return locked ? end_sessions(tx, actor, id, "locked") : Result<void>{};
                 });
}

Result<void> Mes::reset_password(const std::string& actor, const std::string& id,
                                 const std::string& one_time_password, const std::string& reason) {
  if (auto r = check_new_password(one_time_password, id, config_.passwords); !r) return r;
  const std::string hash = hasher_.hash(one_time_password);
  return command(actor, "reset_password", "user", id, [&](Transaction& tx) -> Result<void> {
    if (auto r = detail::require_reason(reason); !r) return r;
    auto found = user_for_admin(tx, actor, id, config_);
    if (!found) return tl::unexpected(found.error());
    User& u = *found;
    if (u.status == AccountStatus::kDeactivated) {
      return refuse(Code::kAccountInactive, "user " + id + " is deactivated");
    }
    u.password_hash = hash;
    u.password_set_at = tx.now();
    u.must_change_password = true;
    if (auto p = detail::save(tx, actor, u, "reset_password", reason); !p) {
      return p;
    }
    return end_sessions(tx, actor, id, "password reset");
  });
}

Result<LoginResult> Mes::login(const std::string& id, const std::string& password) {
  // The slow hash check runs outside the transaction; the outcome is recorded inside it.
  auto found_before = find_user(id);
  if (!found_before) return tl::unexpected(found_before.error());
  const std::optional<User> before = *found_before;
  if (!before) {
    (void)transact([&](Transaction& tx) {
      return audit(tx, "anonymous", "login_failed", "user", id, "", "", "unknown user id", "");
    });
    return LoginResult{LoginOutcome::kBadCredentials, id, "", 0};
  }
  const bool matches = hasher_.verify(before->password_hash, password);
  LoginResult result;
  auto r = transact([&](Transaction& tx) -> Result<void> {
    auto u = detail::load<User>(tx, id, "id", true);
    if (!u) return tl::unexpected(u.error());
    LoginDecision d = decide_login(*u, matches, tx.now(), config_.passwords);
    result = LoginResult{d.outcome, u->id, u->full_name, u->roles};
    const std::string outcome(to_string(d.outcome));
    if (d.user.failed_logins != u->failed_logins || d.user.status != u->status) {
      if (auto p = detail::save(tx, id, d.user, "login", "login " + outcome); !p) {
        return p;
      }
    } else if (auto a = audit(tx, id, "login", "user", id, "", "", outcome, ""); !a) {
      return a;
    }
    if (d.outcome == LoginOutcome::kLockedNow) {
      if (auto a = audit(tx, "system", "security_alert", "user", id, "status", "active", "locked",
                         std::to_string(d.user.failed_logins) + " consecutive failed logins");
          !a) {
        return a;
      }
      return end_sessions(tx, "system", id, "locked after failed logins");
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return result;
}

Result<void> Mes::change_password(const std::string& id, const std::string& old_password,
                                  const std::string& new_password) {
  auto signer = authenticate_signer(id, old_password);
  if (!signer) return tl::unexpected(signer.error());
  if (auto r = check_new_password(new_password, id, config_.passwords); !r) return r;
  if (hasher_.verify(signer->password_hash, new_password)) {
    return refuse(Code::kPasswordRejected, "the new password must differ from the old one",
                  "new_password");
  }
  const std::string hash = hasher_.hash(new_password);
  return command(id, "change_password", "user", id, [&](Transaction& tx) -> Result<void> {
    auto u = detail::load<User>(tx, id, "id", true);
    if (!u) return tl::unexpected(u.error());
    u->password_hash = hash;
    u->password_set_at = tx.now();
    u->must_change_password = false;
    return detail::save(tx, id, *u, "change_password", "password changed by its owner");
  });
}

Result<User> Mes::user(const std::string& id) {
  auto found_u = find_user(id);
  if (!found_u) return tl::unexpected(found_u.error());
  const std::optional<User> u = *found_u;
  if (!u) return refuse(Code::kNotFound, "no user " + id, "id");
  return *u;
}

Result<User> Mes::authenticate_signer(const std::string& signer, const std::string& password) {
  auto found_u = find_user(signer);
  if (!found_u) return tl::unexpected(found_u.error());
  const std::optional<User> u = *found_u;
  if (!u) return refuse(Code::kBadSignature, "user id or password is wrong", "user_id");
  if (u->status == AccountStatus::kDeactivated) {
    return refuse(Code::kAccountInactive, "user " + signer + " is deactivated");
  }
  if (u->status == AccountStatus::kLocked) {
    return refuse(Code::kAccountLocked, "user " + signer + " is locked");
  }
  if (!hasher_.verify(u->password_hash, password)) {
    // A wrong password at a signing counts like a failed login (and may lock the account).
    (void)login(signer, password);
    return refuse(Code::kBadSignature, "user id or password is wrong", "password");
  }
  return *u;
}

Result<User> Mes::signer_for(SigningSession& session, const SignatureInput& input) {
  const std::string signer = input.user_id.empty() ? session.user_id : input.user_id;
  if (signer.empty()) {
    return refuse(Code::kSignatureRequired, "a signature needs the user id and password",
                  "user_id");
  }
  if (input.password.empty()) {
    return refuse(Code::kSignatureRequired, "a signature needs the password", "password");
  }
  return authenticate_signer(signer, input.password);
}

namespace {

// A signer's first signing (11.100(c)): with `attest`, records on the user's record when they
// accepted kSignatureAttestation (and that text's hash); without, refuses.
Result<void> attest_signature(Transaction& tx, const std::string& signer, bool attest) {
  if (!attest) {
    return refuse(Code::kAttestationRequired,
                  "a first signing needs " + signer +
                      "'s attestation that the electronic signature is the legally binding "
                      "equivalent of a handwritten one: " +
                      std::string(kSignatureAttestation),
                  "attest");
  }
  auto u = detail::load<User>(tx, signer, "id", true);
  if (!u) return tl::unexpected(u.error());
  u->signature_attested_at = tx.now();
  u->signature_statement_sha256 = crypto::sha256_hex(kSignatureAttestation);
  return detail::save(tx, signer, *u, "attest_signature", std::string(kSignatureAttestation));
}

}  // namespace

Result<Signature> Mes::sign(Transaction& tx, SigningSession& session, const User& signer,
                            const SignatureInput& input, Meaning meaning,
                            const std::string& record_type, const std::string& record_id,
                            const std::string& record_hash) {
  // Which components this signing needed (11.200(a)(1)), judged at the command's time.
  if (auto c = check_components(session, signer.id, input.user_id, tx.now(),
                                config_.signing_idle_timeout);
      !c) {
    return tl::unexpected(c.error());
  }
  if (!may_sign(signer.roles)) {
    return refuse(Code::kForbidden, "administrators cannot sign records");
  }
  if (!signer.identity_verified()) {
    return refuse(Code::kNotQualified,
                  "the identity of " + signer.id +
                      " was never verified (11.100(b)): an administrator records it first");
  }
  if (!signer.signature_attested()) {
    if (auto a = attest_signature(tx, signer.id, input.attest); !a) {
      return tl::unexpected(a.error());
    }
  }
  Signature s;
  s.user_id = signer.id;
  s.printed_name = signer.full_name;
  s.meaning = meaning;
  s.signed_at = tx.now();
  s.record_type = record_type;
  s.record_id = record_id;
  s.record_hash = record_hash;
  s.id = crypto::sha256_hex(record_type + "|" + record_id + "|" + signer.id + "|" +
                            std::string(to_string(meaning)) + "|" + std::to_string(tx.now()))
             .substr(0, 24);
  seal(s, key_);
  if (auto r = tx.add_signature(s); !r) return tl::unexpected(r.error());
  if (auto r =
          audit(tx, signer.id, "sign", record_type, record_id, "signature", "",
                std::string(to_string(meaning)) + " by " + signer.full_name + " (" + s.id + ")",
                std::string(to_string(meaning)));
      !r) {
    return tl::unexpected(r.error());
  }
  if (signer.id == session.user_id) {
    session.has_signed = true;
    session.last_activity = tx.now();
  }
  return s;
}

}  // namespace mes
