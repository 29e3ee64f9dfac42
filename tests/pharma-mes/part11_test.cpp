// 21 CFR Part 11, one test per software-testable clause, each on SQLite and on PostgreSQL,
// through the Mes service over the real store with real Argon2id hashing.
#include <nlohmann/json.hpp>

#include "mes_fixture.hpp"

namespace {

using namespace mes_test;

std::size_t count_if_entry(const std::vector<AuditEntry>& trail,
                           const std::function<bool(const AuditEntry&)>& pred) {
  return static_cast<std::size_t>(std::count_if(trail.begin(), trail.end(), pred));
}

// 11.10(d),(g): only authorised individuals, and each only what their role allows; admins
// administer users but cannot sign.
TEST_P(MesTest, Part11_10_d_g_AccessAndAuthorityChecks) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  auto refused = mes_->create_batch("op1", "B-1", "TABLET@1", 100);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kForbidden) << "operators do not create batches";
  EXPECT_EQ(mes_->create_user("qa1", NewUser{"x.user", "X", role_bit(Role::kOperator),
                                             "Initial-Passw0rd-1", "passport checked"})
                .error()
                .code,
            Code::kForbidden)
      << "only administrators manage users";
  EXPECT_EQ(mes_->create_batch("ghost", "B-1", "TABLET@1", 100).error().code,
            Code::kUnauthenticated);
  ASSERT_TRUE(mes_->create_batch("sup1", "B-1", "TABLET@1", 100));
  EXPECT_EQ(mes_->command_batch("op1", "B-1", isa88::Command::kAbort, "test").error().code,
            Code::kForbidden)
      << "abort is a supervisor's command";
  // The administrator cannot sign, even with the right password.
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-2", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  auto admin = session("admin1");
  const auto admin_sign =
      mes_->set_lot_status("admin1", admin, "L-2", LotStatus::kReleased, "trying", both("admin1"));
  ASSERT_FALSE(admin_sign);
  EXPECT_EQ(admin_sign.error().code, Code::kForbidden);
  // Every refusal is on the record with its code.
  const auto t = trail();
  EXPECT_GE(count_if_entry(t,
                           [](const AuditEntry& e) {
                             return e.action == "refused" && e.new_value.rfind("forbidden", 0) == 0;
                           }),
            3u);
}

// 11.10(g), Annex 11 §12: separation of duties holds across roles — a person holding both the
// supervisor and the QA role still cannot approve a master they wrote or release a lot they
// received; another QA person can.
TEST_P(MesTest, Part11_10_g_SeparationOfDutiesHoldsAcrossRoles) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_TRUE(mes_->create_user(
      "admin1", NewUser{"sq1", "Sam Both", role_bit(Role::kSupervisor) | role_bit(Role::kQa),
                        "Initial-Passw0rd-1", "passport checked"}));
  ASSERT_TRUE(mes_->change_password("sq1", "Initial-Passw0rd-1", password_of("sq1")));
  auto draft = mes_->create_master_draft("sq1", master(), "new product");
  ASSERT_TRUE(draft) << draft.error().message;
  auto sq1 = session("sq1");
  auto approve = mes_->approve_master("sq1", sq1, *draft, both("sq1"));
  ASSERT_FALSE(approve);
  EXPECT_EQ(approve.error().code, Code::kSameUser) << approve.error().message;
  // An edit by another supervisor does not make sq1 any less an author.
  ASSERT_TRUE(mes_->edit_master_draft("sup1", *draft, master(), "typo"));
  EXPECT_EQ(mes_->approve_master("sq1", sq1, *draft, both("sq1")).error().code, Code::kSameUser);
  auto qa1 = session("qa1");
  ASSERT_TRUE(mes_->approve_master("qa1", qa1, *draft, both("qa1")));

  ASSERT_TRUE(
      mes_->receive_lot("sq1", Lot{"L-SQ", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  auto release = mes_->set_lot_status("sq1", sq1, "L-SQ", LotStatus::kReleased, "CoA ok",
                                      SignatureInput{"", password_of("sq1")});
  ASSERT_FALSE(release);
  EXPECT_EQ(release.error().code, Code::kSameUser) << release.error().message;
  ASSERT_TRUE(mes_->set_lot_status("qa1", qa1, "L-SQ", LotStatus::kReleased, "CoA ok",
                                   SignatureInput{"", password_of("qa1")}));
  const auto t = trail();
  EXPECT_EQ(count_if_entry(t,
                           [](const AuditEntry& e) {
                             return e.action == "refused" && e.actor == "sq1" &&
                                    e.new_value.rfind("same_user", 0) == 0;
                           }),
            3u);
}

// 11.300: unique ids never reused; Argon2id hashes; aging; lockout with a security alert; a reset
// gives a one-time password.
TEST_P(MesTest, Part11_300_IdentificationCodesAndPasswords) {
  config_.passwords.max_failed_logins = 3;
  config_.passwords.max_age_days = 30;
  ASSERT_NO_FATAL_FAILURE(open());
  ASSERT_NO_FATAL_FAILURE(add_users());
  const auto op1 = mes_->user("op1");
  ASSERT_TRUE(op1);
  EXPECT_EQ(op1->password_hash.rfind("$argon2id$", 0), 0u) << op1->password_hash;
  EXPECT_EQ(op1->password_hash.find(password_of("op1")), std::string::npos);
  // Deactivated, never deleted, never reused.
  ASSERT_TRUE(mes_->deactivate_user("admin1", "op2", "left the company"));
  EXPECT_EQ(mes_->login("op2", password_of("op2"))->outcome, LoginOutcome::kDeactivated);
  const auto reuse =
      mes_->create_user("admin1", NewUser{"op2", "Someone Else", role_bit(Role::kOperator),
                                          "Initial-Passw0rd-1", "passport checked"});
  ASSERT_FALSE(reuse);
  EXPECT_EQ(reuse.error().code, Code::kConflict);
  EXPECT_TRUE(mes_->user("op2")) << "the record of op2 is still there";
  // Lockout after 3 consecutive failures, with a security alert; the right password then fails too.
  EXPECT_EQ(mes_->login("op1", "wrong")->outcome, LoginOutcome::kBadCredentials);
  EXPECT_EQ(mes_->login("op1", "wrong")->outcome, LoginOutcome::kBadCredentials);
  EXPECT_EQ(mes_->login("op1", "wrong")->outcome, LoginOutcome::kLockedNow);
  EXPECT_EQ(mes_->login("op1", password_of("op1"))->outcome, LoginOutcome::kLocked);
  auto t = trail();
  EXPECT_EQ(count_if_entry(t,
                           [](const AuditEntry& e) {
                             return e.action == "security_alert" && e.object_id == "op1";
                           }),
            1u);
  for (const auto& e : t) {
    EXPECT_EQ(e.old_value.find("$argon2id$"), std::string::npos) << "no hash in the trail";
    EXPECT_EQ(e.new_value.find("$argon2id$"), std::string::npos) << "no hash in the trail";
  }
  // The administrator's reset issues a one-time password: it must be changed at next login.
  ASSERT_TRUE(mes_->set_locked("admin1", "op1", false, "identity confirmed by phone"));
  ASSERT_TRUE(mes_->reset_password("admin1", "op1", "One-Time-Pass-42", "forgotten password"));
  EXPECT_EQ(mes_->login("op1", "One-Time-Pass-42")->outcome, LoginOutcome::kMustChangePassword);
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-9", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  EXPECT_EQ(mes_->create_batch("op1", "B-9", "none", 1).error().code, Code::kPasswordExpired)
      << "nothing but a password change until it is changed";
  ASSERT_TRUE(mes_->change_password("op1", "One-Time-Pass-42", "Brand-New-Pass-43"));
  EXPECT_EQ(mes_->login("op1", "Brand-New-Pass-43")->outcome, LoginOutcome::kOk);
  // Aging: 30 days later the password must be changed.
  advance(31 * kDay);
  EXPECT_EQ(mes_->login("op1", "Brand-New-Pass-43")->outcome, LoginOutcome::kMustChangePassword);
  // Weak passwords are refused.
  EXPECT_EQ(mes_->change_password("op1", "Brand-New-Pass-43", "short").error().code,
            Code::kPasswordRejected);
}

// 11.200: both components for the first signing of a session, the password alone later, both
// again after the idle timeout; a wrong password is refused and counts as a failed login.
TEST_P(MesTest, Part11_200_ElectronicSignatureComponents) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-1", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-2", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-3", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-4", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  auto qa = session("qa1");
  const SignatureInput password_only{"", password_of("qa1")};
  auto first = mes_->set_lot_status("qa1", qa, "L-1", LotStatus::kReleased, "ok", password_only);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Code::kSignatureRequired) << "first signing: user id too";
  ASSERT_TRUE(mes_->set_lot_status("qa1", qa, "L-1", LotStatus::kReleased, "ok", both("qa1")));
  ASSERT_TRUE(mes_->set_lot_status("qa1", qa, "L-2", LotStatus::kReleased, "ok", password_only))
      << "later signing in the same session: the password alone";
  auto wrong = mes_->set_lot_status("qa1", qa, "L-3", LotStatus::kReleased, "ok",
                                    SignatureInput{"", "not-the-password"});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Code::kBadSignature);
  EXPECT_EQ(mes_->user("qa1")->failed_logins, 1) << "a failed signing counts as a failed login";
  advance(config_.signing_idle_timeout + 1);
  auto idle = mes_->set_lot_status("qa1", qa, "L-3", LotStatus::kReleased, "ok", password_only);
  ASSERT_FALSE(idle);
  EXPECT_EQ(idle.error().code, Code::kSignatureRequired) << "after the idle timeout: both again";
  ASSERT_TRUE(mes_->set_lot_status("qa1", qa, "L-3", LotStatus::kReleased, "ok", both("qa1")));
  // Signing in someone else's session needs both, and the user id must be the signer's own.
  auto other = mes_->set_lot_status("qa1", qa, "L-4", LotStatus::kReleased, "ok",
                                    SignatureInput{"qa2", password_of("qa1")});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Code::kBadSignature);
}

// 11.100(b),(c): an account is issued only with the record of how the person's identity was
// verified (what, by which administrator, when), and a user's first signing carries their
// attestation that the electronic signature is the legal equivalent of a handwritten one —
// refused without it, kept on the user's record (with the statement's hash) and in the trail
// with it. An account from before identity checks were recorded cannot sign until an
// administrator other than the user records one.
TEST_P(MesTest, Part11_100_IdentityVerifiedAndSignatureMeaningAttestedAtFirstSigning) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  const auto no_evidence = mes_->create_user(
      "admin1", NewUser{"op7", "Seven", role_bit(Role::kOperator), "Initial-Passw0rd-1", " "});
  ASSERT_FALSE(no_evidence);
  EXPECT_EQ(no_evidence.error().code, Code::kInvalid);
  EXPECT_EQ(no_evidence.error().field, "identity_evidence");
  EXPECT_FALSE(mes_->user("op7")) << "no account was issued";
  const User qa1 = *mes_->user("qa1");
  EXPECT_EQ(qa1.identity_evidence, "badge and passport checked in person");
  EXPECT_EQ(qa1.identity_verified_by, "admin1");
  EXPECT_EQ(qa1.identity_verified_at, kStart);
  EXPECT_FALSE(qa1.signature_attested());

  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-1", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-2", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  advance(kMinute);
  auto qa = session("qa1");
  auto unattested = mes_->set_lot_status("qa1", qa, "L-1", LotStatus::kReleased, "CoA ok",
                                         SignatureInput{"qa1", password_of("qa1"), false});
  ASSERT_FALSE(unattested);
  EXPECT_EQ(unattested.error().code, Code::kAttestationRequired);
  EXPECT_NE(unattested.error().message.find(kSignatureAttestation), std::string::npos)
      << "the refusal shows what to attest: " << unattested.error().message;
  EXPECT_EQ(mes_->record("qa1", "lot", "L-1")->state, "quarantine") << "nothing was signed";
  EXPECT_TRUE(mes_->signatures("qa1", "lot", "L-1")->empty());

  ASSERT_TRUE(mes_->set_lot_status("qa1", qa, "L-1", LotStatus::kReleased, "CoA ok",
                                   SignatureInput{"qa1", password_of("qa1"), true}));
  const User attested = *mes_->user("qa1");
  EXPECT_EQ(attested.signature_attested_at, kStart + kMinute);
  EXPECT_EQ(attested.signature_statement_sha256, crypto::sha256_hex(kSignatureAttestation));
  const auto entries = trail();
  EXPECT_EQ(count_if_entry(entries,
                           [](const AuditEntry& e) {
                             return e.action == "attest_signature" && e.actor == "qa1" &&
                                    e.object_id == "qa1" &&
                                    e.field == "flow.signature_attested_at" &&
                                    e.reason == kSignatureAttestation;
                           }),
            1u)
      << "the attestation is on the trail, by the user, once";
  ASSERT_TRUE(mes_->set_lot_status("qa1", qa, "L-2", LotStatus::kReleased, "CoA ok",
                                   SignatureInput{"", password_of("qa1"), false}))
      << "attested once, for good";
  EXPECT_EQ(mes_->user("qa1")->signature_attested_at, kStart + kMinute) << "not re-stamped";

  // An account stored before identity checks were recorded (as an earlier version wrote it).
  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    auto doc = tx.get("user", "qa2");
    auto body = nlohmann::json::parse(doc->body);
    for (const char* key : {"identity_evidence", "identity_verified_by", "identity_verified_at"}) {
      body["data"].erase(key);
    }
    doc->body = body.dump();
    return tx.put(*doc);
  }));
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-3", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  auto qa2 = session("qa2");
  auto unverified =
      mes_->set_lot_status("qa2", qa2, "L-3", LotStatus::kReleased, "CoA ok", both("qa2"));
  ASSERT_FALSE(unverified);
  EXPECT_EQ(unverified.error().code, Code::kNotQualified) << unverified.error().message;
  EXPECT_EQ(mes_->verify_identity("qa2", "qa2", "my own passport").error().code, Code::kForbidden)
      << "only administrators record it";
  EXPECT_EQ(mes_->verify_identity("admin1", "qa2", "").error().code, Code::kInvalid);
  EXPECT_EQ(mes_->verify_identity("admin1", "qa2", "passport\x1b[2J").error().field,
            "identity_evidence")
      << "one line of printable text";
  ASSERT_TRUE(mes_->verify_identity("admin1", "qa2", "passport checked in person, HR 4411"));
  EXPECT_EQ(mes_->verify_identity("admin1", "qa2", "again").error().code, Code::kConflict)
      << "once only";
  EXPECT_EQ(mes_->user("qa2")->identity_verified_by, "admin1");
  ASSERT_TRUE(mes_->set_lot_status("qa2", qa2, "L-3", LotStatus::kReleased, "CoA ok", both("qa2")));
  const auto review = mes_->access_review("admin1");
  ASSERT_TRUE(review);
  for (const auto& row : *review) {
    if (row.id == "qa2") {
      EXPECT_EQ(row.identity_verified_by, "admin1");
      EXPECT_NE(row.signature_attested_at, 0);
    }
    if (row.id == "op1") {
      EXPECT_EQ(row.signature_attested_at, 0) << "op1 never signed";
    }
  }
}

// 11.50 / 11.70: the signature shows printed name, UTC time and meaning; it is linked to one
// version of one record; a copied signature or a record edited after signing is detected.
TEST_P(MesTest, Part11_50_70_SignatureManifestationAndLinking) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  auto sigs = store_->all_signatures();
  ASSERT_TRUE(sigs);
  const auto approval = std::find_if(sigs->begin(), sigs->end(), [](const Signature& s) {
    return s.record_type == "master" && s.record_id == "TABLET@1";
  });
  ASSERT_NE(approval, sigs->end());
  EXPECT_EQ(approval->printed_name, "Name of qa1");
  EXPECT_EQ(approval->meaning, Meaning::kApproved);
  EXPECT_EQ(approval->signed_at, now_.load());
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << (report->signature_problems.empty() ? ""
                                                                   : report->signature_problems[0]);
  EXPECT_EQ(report->signatures, 5u) << "two lot releases, the approval, op1's and op2's training";
  // An approved master is immutable.
  EXPECT_EQ(mes_->edit_master_draft("sup1", "TABLET@1", master(), "tweak").error().code,
            Code::kRecordImmutable);
  // Editing the approved record behind the application's back is detected...
  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    auto doc = *tx.get("master", "TABLET@1");
    const auto at = doc.body.find("\"base_size\":100");
    if (at == std::string::npos) return refuse(Code::kInvalid, "no base_size in " + doc.body);
    doc.body.replace(at, 15, "\"base_size\":50");
    return tx.put(doc);
  }));
  report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->signature_problems.size(), 2u);
  EXPECT_NE(report->signature_problems[0].find("record_changed"), std::string::npos)
      << report->signature_problems[0];
  EXPECT_EQ(report->signature_problems[1],
            "master TABLET@1 is approved but no valid approved signature attests it")
      << "the approved status stands on no signature any more";
  // ...and so is a signature copied onto another record.
  Signature copy = *approval;
  copy.id = "copied";
  copy.record_id = "TABLET@2";
  ASSERT_TRUE(store_->transact([&](Transaction& tx) {
    Document other{"master", "TABLET@2", 0, "TABLET", "approved", R"({"data":{},"flow":{}})",
                   false,    {}};
    if (auto r = tx.put(other); !r) return r;
    return tx.add_signature(copy);
  }));
  report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->signature_problems.size(), 4u);
  const auto mentions = [&](const std::string& a, const std::string& b) {
    return std::any_of(report->signature_problems.begin(), report->signature_problems.end(),
                       [&](const std::string& p) {
                         return p.find(a) != std::string::npos && p.find(b) != std::string::npos;
                       });
  };
  EXPECT_TRUE(mentions("signature copied", "seal_broken"));
  EXPECT_TRUE(mentions("TABLET@1", "record_changed"));
  EXPECT_TRUE(mentions("master TABLET@2 is approved", "no valid approved signature"));
  EXPECT_TRUE(mentions("master TABLET@1 is approved", "no valid approved signature"));
}

// 11.10(e): who, what, old and new value, why and when, for every change; append-only in the
// database; records are voided, never deleted; a change without a reason is refused.
TEST_P(MesTest, Part11_10_e_AuditTrail) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  const Millis before = now_.load();
  advance(5000);
  EXPECT_EQ(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kDirty, "").error().code,
            Code::kReasonRequired);
  ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kDirty, "spill"));
  const auto t = trail();
  const auto change = std::find_if(t.begin(), t.end(), [](const AuditEntry& e) {
    return e.object_type == "equipment" && e.object_id == "R-101" && e.field == "flow.status" &&
           e.action == "modify";
  });
  ASSERT_NE(change, t.end());
  EXPECT_EQ(change->actor, "sup1");
  EXPECT_EQ(change->old_value, "clean");
  EXPECT_EQ(change->new_value, "dirty");
  EXPECT_EQ(change->reason, "spill");
  EXPECT_EQ(change->at, before + 5000) << "server-side UTC time";
  // The refusal without a reason is there too.
  EXPECT_EQ(count_if_entry(t,
                           [](const AuditEntry& e) {
                             return e.action == "refused" && e.field == "set_equipment_status";
                           }),
            1u);
  // The database itself refuses to change or delete the trail, signatures or records.
  std::vector<std::string> refused_sql = {"UPDATE audit_entries SET reason = 'x' WHERE seq = 1",
                                          "DELETE FROM audit_entries WHERE seq = 1",
                                          "DELETE FROM signatures", "DELETE FROM records"};
  for (const auto& sql : refused_sql) {
    const auto [ok, message] = raw_sql(sql);
    EXPECT_FALSE(ok) << sql;
    EXPECT_TRUE(message.find("append-only") != std::string::npos ||
                message.find("never deleted") != std::string::npos)
        << sql << ": " << message;
  }
  // Records are voided with a reason, never deleted: still on file, out of lists.
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-WRONG", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  EXPECT_EQ(mes_->void_record("sup1", "lot", "L-WRONG", "").error().code, Code::kReasonRequired);
  ASSERT_TRUE(mes_->void_record("sup1", "lot", "L-WRONG", "received against the wrong order"));
  EXPECT_EQ(mes_->void_record("sup1", "lot", "L-API-1", "x").error().code, Code::kRecordImmutable)
      << "a released lot stays";
  EXPECT_EQ(mes_->void_record("sup1", "audit", "1", "x").error().code, Code::kRecordImmutable);
  ASSERT_TRUE(store_->read([&](Transaction& tx) -> Result<void> {
    const auto lot = tx.get("lot", "L-WRONG");
    EXPECT_TRUE(lot && lot->voided);
    EXPECT_EQ(lot->void_reason, "received against the wrong order");
    for (const auto& l : tx.list("lot")) EXPECT_NE(l.id, "L-WRONG");
    return {};
  }));
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
}

// 11.10(c),(e) tamper evidence: the chain, signed checkpoints an auditor can keep, and verify()
// naming the altered entry.
TEST_P(MesTest, Part11_10_c_e_TamperEvidenceWithSignedCheckpoints) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  auto cp = mes_->checkpoint();
  ASSERT_TRUE(cp) << cp.error().message;
  const std::string exported = checkpoint_line(*cp);
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-7", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  auto report = mes_->verify({*parse_checkpoint_line(exported)});
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_GE(report->entries, cp->seq);
  EXPECT_TRUE(crypto::verify_hex(mes_->public_key(), checkpoint_message(*cp), cp->signature));
}

// 11.10(f),(h): steps in their order; devices must be registered.
TEST_P(MesTest, Part11_10_f_h_SequencingAndDeviceChecks) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  ASSERT_TRUE(mes_->create_batch("sup1", "B-1", "TABLET@1", 100));
  EXPECT_EQ(mes_->start_step("op1", "B-1", 1, "R-101").error().code, Code::kOutOfSequence)
      << "not before the batch is started";
  ASSERT_TRUE(mes_->command_batch("op1", "B-1", isa88::Command::kStart, ""));
  EXPECT_EQ(mes_->start_step("op1", "B-1", 2, "").error().code, Code::kOutOfSequence);
  ASSERT_TRUE(mes_->start_step("op1", "B-1", 1, "R-101"));
  EXPECT_EQ(mes_->complete_step("op1", "B-1", 1).error().code, Code::kOutOfSequence)
      << "charges not weighed yet";
  EXPECT_EQ(mes_->weigh("op1", "B-1", 1, "API-1", "SC-404", "L-API-1", 12, 2).error().code,
            Code::kUnknownDevice);
  EXPECT_EQ(mes_->weigh("op1", "B-1", 1, "API-1", "R-101", "L-API-1", 12, 2).error().code,
            Code::kUnknownDevice)
      << "a reactor is not a scale";
  const auto t = trail();
  EXPECT_EQ(count_if_entry(t,
                           [](const AuditEntry& e) {
                             return e.action == "refused" &&
                                    (e.new_value.rfind("out_of_sequence", 0) == 0 ||
                                     e.new_value.rfind("unknown_device", 0) == 0);
                           }),
            5u);
}

INSTANTIATE_TEST_SUITE_P(Databases, MesTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace

// 11.10(i), 211.25(a), Annex 11 §2: nobody executes or verifies a step without a current
// training for its master recipe or its step type, recorded and signed by a trainer who is not
// the trainee. A phase training covers that step type only; a training lapses at valid_until
// and when withdrawn; every refusal names both procedures and is itself audited.
TEST_P(MesTest, Part11_10_i_StepsNeedACurrentTrainingSignedByTheTrainer) {
  ASSERT_NO_FATAL_FAILURE(add_users());
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());  // op1 and op2 trained on master:TABLET
  auto sup = session("sup1");
  const auto training = [](const std::string& trainee, const std::string& procedure,
                           const std::string& content = "SOP-100 rev 2", Millis valid_until = 0) {
    return Training{{}, trainee, procedure, {}, content, 0, valid_until, {}};
  };
  // Who may record one, and what it must say.
  auto op = session("op1");
  EXPECT_EQ(
      mes_->record_training("op1", op, training("op2", "master:TABLET"), both("op1")).error().code,
      Code::kForbidden)
      << "operators do not train";
  EXPECT_EQ(mes_->record_training("sup1", sup, training("sup1", "master:TABLET"), both("sup1"))
                .error()
                .code,
            Code::kSameUser)
      << "nobody records their own training";
  EXPECT_EQ(mes_->record_training("sup1", sup, training("admin1", "master:TABLET"), both("sup1"))
                .error()
                .field,
            "trainee");
  EXPECT_EQ(
      mes_->record_training("sup1", sup, training("op1", "master:NOPE"), both("sup1")).error().code,
      Code::kNotFound);
  EXPECT_EQ(
      mes_->record_training("sup1", sup, training("op1", "TABLET"), both("sup1")).error().field,
      "procedure");
  EXPECT_EQ(mes_->record_training("sup1", sup, training("op1", "phase:Blend", ""), both("sup1"))
                .error()
                .field,
            "content");
  for (const char* content : {"   ", "SOP-100\nrev 2"}) {
    EXPECT_EQ(
        mes_->record_training("sup1", sup, training("op1", "phase:Blend", content), both("sup1"))
            .error()
            .field,
        "content")
        << "blank or more than one line: " << content;
  }
  EXPECT_EQ(mes_->record_training("sup1", sup, training("op1", "phase:Blend", "SOP-100", now_ - 1),
                                  both("sup1"))
                .error()
                .field,
            "valid_until");
  EXPECT_EQ(
      mes_->record_training("sup1", sup, training("op1", "phase:Blend"), both("qa1")).error().code,
      Code::kBadSignature)
      << "the trainer signs, no one else";

  // sup1 has no training: refused at the step, naming what would qualify, and audited.
  ASSERT_TRUE(mes_->create_batch("sup1", "B-1", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-1", isa88::Command::kStart, ""));
  auto refused = mes_->start_step("sup1", "B-1", 1, "R-101");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kNotQualified);
  EXPECT_NE(refused.error().message.find("master:TABLET or phase:Charge API and excipient"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(count_if_entry(trail(),
                           [](const AuditEntry& e) {
                             return e.action == "refused" && e.actor == "sup1" &&
                                    e.field == "start_step" &&
                                    e.new_value.rfind("not_qualified", 0) == 0;
                           }),
            1u);

  // A phase training, for a day, recorded and signed by qa1: step 1's type, not step 2's.
  auto qa = session("qa1");
  const auto id = mes_->record_training(
      "qa1", qa, training("sup1", "phase:Charge API and excipient", "SOP-101 rev 1", now_ + kDay),
      both("qa1"));
  ASSERT_TRUE(id) << id.error().message;
  const auto sigs = mes_->signatures("qa1", "training", *id);
  ASSERT_TRUE(sigs);
  ASSERT_EQ(sigs->size(), 1u);
  EXPECT_EQ((*sigs)[0].user_id, "qa1");
  EXPECT_EQ((*sigs)[0].meaning, Meaning::kApproved);
  ASSERT_TRUE(mes_->start_step("sup1", "B-1", 1, "R-101"));
  ASSERT_TRUE(mes_->weigh("sup1", "B-1", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0));
  ASSERT_TRUE(mes_->weigh("sup1", "B-1", 1, "EXC-1", "SC-1", "L-EXC-1", 42.0, 2.0));
  auto op2 = session("op2");
  ASSERT_TRUE(mes_->verify_step("sup1", op2, "B-1", 1, both("op2")));
  ASSERT_TRUE(mes_->complete_step("sup1", "B-1", 1));
  EXPECT_EQ(mes_->start_step("sup1", "B-1", 2, "").error().code, Code::kNotQualified)
      << "a phase training covers that step type only";
  ASSERT_TRUE(mes_->start_step("op1", "B-1", 2, ""));
  EXPECT_EQ(mes_->enter_parameter("sup1", "B-1", 2, "speed", 20, "").error().code,
            Code::kNotQualified);

  // Lapsed: a day later sup1's training no longer qualifies.
  advance(kDay);
  ASSERT_TRUE(mes_->enter_parameter("op1", "B-1", 2, "speed", 20, ""));
  ASSERT_TRUE(mes_->enter_parameter("op1", "B-1", 2, "time", 10, ""));
  ASSERT_TRUE(mes_->complete_step("op1", "B-1", 2));
  ASSERT_TRUE(mes_->create_batch("sup1", "B-2", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-2", isa88::Command::kStart, ""));
  EXPECT_EQ(mes_->start_step("sup1", "B-2", 1, "R-101").error().code, Code::kNotQualified)
      << "past valid_until";

  // Withdrawn: op2's training is voided with a reason; op2 can no longer verify.
  const auto of_op2 = mes_->trainings("qa1", "op2");
  ASSERT_TRUE(of_op2);
  ASSERT_EQ(of_op2->size(), 1u);
  EXPECT_EQ(mes_->void_record("op1", "training", (*of_op2)[0].id, "x").error().code,
            Code::kForbidden);
  ASSERT_TRUE(
      mes_->void_record("sup1", "training", (*of_op2)[0].id, "SOP-100 rev 3: retraining required"));
  ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kClean, "cleaned"));
  ASSERT_TRUE(mes_->start_step("op1", "B-2", 1, "R-101"));
  ASSERT_TRUE(mes_->weigh("op1", "B-2", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0));
  ASSERT_TRUE(mes_->weigh("op1", "B-2", 1, "EXC-1", "SC-1", "L-EXC-1", 42.0, 2.0));
  auto verifier = session("op2");
  EXPECT_EQ(mes_->verify_step("op1", verifier, "B-2", 1, both("op2")).error().code,
            Code::kNotQualified)
      << "a verifier needs a current training too";
  EXPECT_TRUE(mes_->trainings("qa1", "op2")->empty()) << "a withdrawn training is out of lists";

  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->first_problem();
}
