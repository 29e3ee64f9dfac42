// Mes: the MES application service. Every public operation is one command: it checks who acts
// (an active account whose roles allow the action, 11.10(d),(g)), applies the rules, and writes
// the record changes with their audit entries (and signatures) in one store transaction. A
// refused command changes nothing and is itself audited with its code (11.10(e),(f)).
// Records are documents whose body has a "data" part (what signatures cover) and a "flow" part
// (workflow state); every record type is typed (records.hpp, one canonical form each). The
// operations are split by aggregate: service_accounts.cpp, service_recipes.cpp (plant, materials,
// masters), service_batches.cpp, service_monitoring.cpp, service_quality.cpp (CAPA, training,
// retention), service_verify.cpp, service_read.cpp. Thread-safe: no mutable state of its own; the
// store serialises writers.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mes/domain/accounts.hpp"
#include "mes/domain/audit.hpp"
#include "mes/domain/crypto.hpp"
#include "mes/domain/esign.hpp"
#include "mes/domain/isa88.hpp"
#include "mes/domain/records.hpp"
#include "mes/domain/roles.hpp"
#include "mes/domain/store.hpp"

namespace mes {

struct MesConfig {
  PasswordPolicy passwords;
  Millis signing_idle_timeout = 15 * 60 * 1000;
  std::string site = "Site 1";
  // Which running process this is (colour, version, start time): written on every batch it
  // ends, so that a new version's batch integrity SLO counts only the batches it handled, not
  // those the other colour finished on the same database. Empty: not recorded.
  std::string instance;
  // Fault injection for deployment drills (fault.batch_integrity; off by default): a release
  // that loses the second person's verification when it completes a step, so every batch it
  // finishes fails the batch integrity check. A bad release on purpose, never by accident.
  bool fault_drop_verification = false;
  // How far ahead of server time a device may date a reading (clock skew, NTP steps). Later ones
  // are refused: a reading from the future would hold off the data-gap alarm until then.
  Millis max_reading_ahead = 2 * 60 * 1000;
  // Deviation causes that need a CAPA: such a deviation closes only naming an existing CAPA
  // that answers it (e.g. {"out_of_limits"}; quality.capa_required_causes). Empty: QA judges.
  std::vector<std::string> capa_required_causes;
  // Retention (21 CFR 211.180, Annex 11 §17): how many years each record type — and every audit
  // entry and signature about it — is kept from its creation; types not named keep the default.
  int retention_default_years = 10;
  std::map<std::string, int> retention_years;  // by record type
};

// A record and its trail as the retention rules see them.
struct RetentionItem {
  std::string type, id;
  Millis created_at = 0;     // its first audit entry
  Millis retain_until = 0;   // created_at + the type's retention
  std::int64_t entries = 0;  // audit entries about it
};

// The components a signer presents (11.200): the user id may be empty for a later signing by the
// session's own user; the password is always needed.
// `attest`: the signer accepts kSignatureAttestation; needed at (and recorded with) a user's
// first signing, ignored after.
struct SignatureInput {
  std::string user_id;
  std::string password;
  bool attest = false;
};

struct LoginResult {
  LoginOutcome outcome = LoginOutcome::kBadCredentials;
  std::string user_id, full_name;
  RoleSet roles = 0;
};

struct NewUser {
  std::string id, full_name;
  RoleSet roles = 0;
  std::string initial_password;  // one-time: must be changed at first login
  // How the person's identity was verified before the account was issued (11.100(b)): what the
  // administrator checked, e.g. "passport checked in person; HR record 4411". Required.
  std::string identity_evidence = {};
};

// A batch's actual yield against its master's theoretical yield (from the batch's data).
struct BatchYield {
  bool recorded = false;  // an output was recorded
  double output = 0;
  double theoretical = 0;  // scaled to the batch size; 0: the master sets none
  double percent = 0;      // output / theoretical x 100 (when theoretical > 0)
  double low_pct = 0, high_pct = 0;
  bool within_limits() const {
    return theoretical <= 0 || (percent >= low_pct && percent <= high_pct);
  }
};
BatchYield batch_yield(const Document& batch);

// The terminal (workstation) this thread's commands come from, for as long as the scope lives:
// every audit entry they write names it (AuditEntry::terminal). An adapter opens one per request
// (the API from the client's X-Terminal-Id, the CLI "console"); scopes nest. Thread-local: the
// command carries it to whichever thread commits it.
class TerminalScope {
 public:
  explicit TerminalScope(std::string terminal);
  ~TerminalScope();
  TerminalScope(const TerminalScope&) = delete;
  TerminalScope& operator=(const TerminalScope&) = delete;
  static const std::string& current();

 private:
  std::string previous_;
};
// A terminal id as the trail accepts it: 1..64 of A-Z a-z 0-9 . _ : - (nothing to escape in a
// CSV cell or an HTML page, nothing that spoofs another field).
bool valid_terminal_id(std::string_view id);

// One thing QA must look at before release.
struct Exception {
  std::string
      kind;  // out_of_limits, alarm, deviation, failed_weighing, hold, abort, late_entry, override
  std::string step, detail;
  Millis at = 0;
};

class Mes {
 public:
  Mes(Store& store, const PasswordHasher& hasher, crypto::SigningKey key, MesConfig config = {});

  // ---- accounts (11.300) ----
  // The first administrator, only on an empty user table.
  Result<void> bootstrap_admin(const std::string& id, const std::string& full_name,
                               const std::string& password);
  Result<void> create_user(const std::string& actor, const NewUser& user);
  // Grants and revokes roles (11.10(d),(g), Annex 11 §12): an administrator's reasoned,
  // audited change of another active or locked user's role set (never their own).
  Result<void> set_roles(const std::string& actor, const std::string& id, RoleSet roles,
                         const std::string& reason);
  // The periodic user-access review (Annex 11 §12.1): every account with its roles, status,
  // when its roles last changed and by whom, its password's age and its last login.
  struct UserAccess {
    std::string id, full_name, roles, status;
    Millis created_at = 0, password_set_at = 0;
    Millis roles_changed_at = 0;  // 0: as created
    std::string roles_changed_by;
    Millis last_login = 0;            // 0: never
    Millis identity_verified_at = 0;  // 0: never (may not sign)
    std::string identity_verified_by;
    Millis signature_attested_at = 0;  // 0: has not signed yet
  };
  Result<std::vector<UserAccess>> access_review(const std::string& actor);
  // 11.100(b) for an account created before identity evidence was recorded (it may not sign
  // until then): an administrator other than the user records what was checked. Once only.
  Result<void> verify_identity(const std::string& actor, const std::string& id,
                               const std::string& evidence);
  Result<void> deactivate_user(const std::string& actor, const std::string& id,
                               const std::string& reason);
  Result<void> set_locked(const std::string& actor, const std::string& id, bool locked,
                          const std::string& reason);
  // An administrator's reset: the new password is one-time (must be changed at next login).
  Result<void> reset_password(const std::string& actor, const std::string& id,
                              const std::string& one_time_password, const std::string& reason);
  Result<LoginResult> login(const std::string& id, const std::string& password);
  Result<void> change_password(const std::string& id, const std::string& old_password,
                               const std::string& new_password);
  Result<User> user(const std::string& id);

  // ---- plant, materials ----
  Result<void> add_equipment(const std::string& actor, const Equipment& equipment);
  Result<void> set_equipment_status(const std::string& actor, const std::string& id,
                                    EquipmentStatus status, const std::string& reason);
  Result<void> add_sensor(const std::string& actor, const Sensor& sensor);
  // GMP records are never deleted: a lot still in quarantine, equipment not in use, a sensor, a
  // master draft, a batch never started or a training withdrawn is voided with a reason (it
  // stays on file, out of lists).
  Result<void> void_record(const std::string& actor, const std::string& type, const std::string& id,
                           const std::string& reason);
  Result<void> receive_lot(const std::string& actor, const Lot& lot);
  // QA: quarantine -> released / rejected (signed "approved" / "rejected").
  Result<void> set_lot_status(const std::string& actor, SigningSession& session,
                              const std::string& lot, LotStatus status, const std::string& reason,
                              const SignatureInput& signature);

  // ---- master recipes ----
  // A new draft (version = last + 1); returns its id "<product>@<version>".
  Result<std::string> create_master_draft(const std::string& actor, MasterRecipe recipe,
                                          const std::string& reason);
  Result<void> edit_master_draft(const std::string& actor, const std::string& id,
                                 MasterRecipe recipe, const std::string& reason);
  Result<void> approve_master(const std::string& actor, SigningSession& session,
                              const std::string& id, const SignatureInput& signature);

  // ---- batches ----
  // Creates batch `batch_id` from an approved master, scaled to `size`.
  Result<void> create_batch(const std::string& actor, const std::string& batch_id,
                            const std::string& master_id, double size);
  Result<isa88::State> command_batch(const std::string& actor, const std::string& batch_id,
                                     isa88::Command command, const std::string& reason);
  // Step n (1-based): must be the current step; binds the equipment (clean, free, calibrated).
  Result<void> start_step(const std::string& actor, const std::string& batch_id, int step,
                          const std::string& equipment_id);
  // Out of limits: recorded, flagged and a deviation opened; a changed value needs a reason.
  Result<bool> enter_parameter(const std::string& actor, const std::string& batch_id, int step,
                               const std::string& name, double value, const std::string& reason);
  // A weighing on a registered, calibrated scale from a released lot of the charge's material
  // (otherwise refused). Net = gross - tare; outside the charge's tolerance it is recorded as a
  // failed weighing (accepted = false, reason "out_of_tolerance") for review by exception, and
  // the charge still needs an accepted one. Gross and tare are exact to a millionth (finer is
  // refused); an accepted weighing cannot take more than the lot has left.
  struct Weighing {
    bool accepted = false;
    Quantity net, low, high;  // low/high: what this weighing may add to the charge
    std::string reason_code;
  };
  Result<Weighing> weigh(const std::string& actor, const std::string& batch_id, int step,
                         const std::string& material, const std::string& scale_id,
                         const std::string& lot_id, double gross, double tare);
  // Second-person verification of the step's entries (signed "verified" by someone else).
  Result<void> verify_step(const std::string& actor, SigningSession& session,
                           const std::string& batch_id, int step, const SignatureInput& signature);
  Result<void> complete_step(const std::string& actor, const std::string& batch_id, int step);

  // ---- deviations, review, release ----
  Result<std::string> open_deviation(const std::string& actor, const std::string& batch_id,
                                     const std::string& cause, const std::string& description);
  // ---- CAPA (ICH Q10 §3.2.2, Annex 11 §13): QA opens one for deviations and alarms with an
  // owner and a due date; the owner (or QA) records what was done; QA — never the owner — closes
  // it with a signed effectiveness check ("approved"). ----
  Result<void> open_capa(const std::string& actor, Capa capa, const std::string& reason);
  Result<void> record_capa_action(const std::string& actor, const std::string& capa_id,
                                  const std::string& text);
  Result<void> close_capa(const std::string& actor, SigningSession& session,
                          const std::string& capa_id, const std::string& effectiveness,
                          const SignatureInput& signature);
  // ---- training (11.10(i), 211.25(a), Annex 11 §2): nobody executes or verifies a step
  // without a current training record for its master recipe or its step type (kNotQualified).
  // A supervisor or QA person — never the trainee — records a training and signs it as the
  // trainer ("approved"); training.id is assigned ("TRN-000001", ...) and returned; trained_at
  // is now. ----
  Result<std::string> record_training(const std::string& actor, SigningSession& session,
                                      Training training, const SignatureInput& signature);
  // Training records, of one trainee or all, oldest first (voided ones are out of lists).
  Result<std::vector<Training>> trainings(const std::string& actor, const std::string& trainee);

  // Records (each with its audit entries) whose retention ends before `before`, soonest first:
  // what may leave the live database (after archiving) and nothing else.
  Result<std::vector<RetentionItem>> retention_report(const std::string& actor, Millis before);
  // When a record of `type` created at `created_at` leaves retention.
  Millis retain_until(const std::string& type, Millis created_at) const;

  // Every CAPA, or only the open ones past their due date.
  Result<std::vector<Capa>> capas(const std::string& actor, bool overdue_only);

  Result<void> close_deviation(const std::string& actor, const std::string& deviation_id,
                               const std::string& disposition, const std::string& capa);
  Result<std::vector<Exception>> review_by_exception(const std::string& actor,
                                                     const std::string& batch_id);
  Result<void> mark_reviewed(const std::string& actor, SigningSession& session,
                             const std::string& batch_id, const SignatureInput& signature);
  Result<void> release_batch(const std::string& actor, SigningSession& session,
                             const std::string& batch_id, bool release, const std::string& reason,
                             const SignatureInput& signature);
  // Genealogy: lots that went into a batch; batches a lot went into.
  Result<std::vector<std::string>> lots_of_batch(const std::string& batch_id);
  Result<std::vector<std::string>> batches_of_lot(const std::string& lot_id);

  // The quantity a Complete batch produced (for its yield), before QA review. With output_lot,
  // the output becomes that lot (material: the batch's product, in quarantine, produced_by the
  // batch) for QA to release and later batches to consume: genealogy over any depth. A
  // correction before review changes the lot's quantity while nothing was taken from it.
  Result<void> record_output(const std::string& actor, const std::string& batch_id, double quantity,
                             const std::string& output_lot = {}, const std::string& unit = "kg");

  // Genealogy (recall): from a lot, backward (the batch that produced it, the lots that went into
  // that batch, the batches that produced those, ...) or forward (the batches it went into, their
  // output lots, the batches those went into, ...) over any depth, breadth first, each node
  // once, with its status (a lot's status and what is left; a batch's state and disposition).
  struct TraceNode {
    std::string kind;  // "lot" or "batch"
    std::string id;
    int depth = 0;       // 0: the lot traced from
    std::string via;     // the node it was reached from (empty for the start)
    std::string status;  // lot: quarantine/released/...; batch: ISA-88 state[/disposition]
    std::string detail;  // lot: material and quantity left; batch: master
  };
  enum class TraceDirection { kBackward, kForward };
  Result<std::vector<TraceNode>> trace_lot(const std::string& actor, const std::string& lot_id,
                                           TraceDirection direction);

  // ---- environmental monitoring ----
  // Readings from the ingest path (actor "sensor-ingest"): a reading of an unregistered sensor,
  // in another unit than the sensor's or not a number is rejected (11.10(h)); the rest are stored,
  // flagged (alert, action, uncalibrated). A reading outside a limit opens an alarm (one per
  // excursion and level); an action-limit alarm while a batch runs on equipment in the sensor's
  // room opens a deviation for that batch. A reading closes the sensor's data gap.
  struct RejectedReading {
    std::size_t index = 0;
    Code code = Code::kInvalid;
    std::string message;
  };
  struct ReadingsOutcome {
    std::size_t stored = 0, alarms = 0;
    std::vector<RejectedReading> rejected;
  };
  struct SensorReading {
    std::string sensor_id, unit;
    Millis at = 0;
    double value = 0;
  };
  Result<ReadingsOutcome> record_readings(const std::vector<SensorReading>& readings);
  // Acknowledged with a comment and a signature (meaning "reviewed").
  Result<void> acknowledge_alarm(const std::string& actor, SigningSession& session,
                                 const std::string& alarm_id, const std::string& comment,
                                 const SignatureInput& signature);
  // Sensors silent for longer than twice their interval get one data-gap alarm per gap.
  Result<int> check_data_gaps();
  // Seals each sensor's raw readings stored since its last seal and at least `lag` ago (so a
  // storing command still in flight falls into the next seal): one audit entry per sensor with
  // new readings, action "seal", field "readings", new value "stored_after=T0 stored_through=T1
  // count=N sha256=H" (readings_digest). verify() recomputes every seal. Returns the sensors
  // sealed.
  Result<int> seal_readings(Millis lag = 60'000);
  // Alarm records, active or all.
  Result<std::vector<Alarm>> alarms(bool active_only);

  // ---- KPIs over the batches that reached a terminal state ----
  struct Kpis {
    int terminal = 0, intact = 0, complete = 0, right_first_time = 0;
    double integrity = 1;                 // intact / terminal (1 when none)
    double right_first_time_ratio = 1;    // of Complete batches
    double yield = 0;                     // sum output / sum size, of batches with an output
    double cycle_time_efficiency = 0;     // mean of min(1, standard / (run - held)), Complete ones
    std::vector<std::string> not_intact;  // "B-7: why"
  };
  Result<Kpis> kpis();
  // What a plant manager and an auditor watch (the dashboards' pharma and compliance figures):
  // open deviations and those open longer than `deviation_due_ms`, Complete batches waiting for
  // QA review or for the release decision, locked accounts, and each sensor's latest reading
  // against its limits. Read-only, one snapshot.
  struct SensorStatus {
    std::string id, room, kind, unit;
    std::optional<double> value;  // the latest reading (none yet: nullopt)
    Millis last_reading_at = 0;
    double alert_low = 0, alert_high = 0, action_low = 0, action_high = 0;
    bool gap_open = false;  // a data-gap alarm is open
  };
  struct PlantStatus {
    int deviations_open = 0, deviations_past_due = 0;
    int batches_awaiting_review = 0, batches_awaiting_release = 0;
    int users_locked = 0;
    std::vector<SensorStatus> sensors;
  };
  Result<PlantStatus> plant_status(Millis deviation_due_ms);
  // The terminal batches not in `known`, oldest first. Those that ended at or after
  // `ended_since` are checked: `software_fault` names the first integrity fault the software is
  // answerable for (empty: intact). Earlier ones come back unchecked, so that a caller polling
  // with a growing `known` reads each batch once. This is the batch integrity SLO's input; open
  // deviations are people's business and do not count here.
  struct BatchIntegrity {
    std::string batch_id, state;
    Millis ended_at = 0;
    bool checked = false;
    std::string software_fault;
  };
  // With `instance`, only the batches that instance ended are checked (MesConfig::instance).
  Result<std::vector<BatchIntegrity>> batch_integrity(Millis ended_since,
                                                      const std::set<std::string>& known = {},
                                                      const std::string& instance = {});

  // ---- reading: records need kViewRecords (users: kManageUsers; password hashes are never
  // returned), the audit trail kViewAuditTrail ----
  Result<Document> record(const std::string& actor, const std::string& type, const std::string& id);
  Result<std::vector<Document>> records(const std::string& actor, const std::string& type,
                                        const std::string& parent = {},
                                        const std::string& state = {});
  Result<std::vector<AuditEntry>> audit_trail(const std::string& actor, const std::string& type,
                                              const std::string& id);
  Result<std::vector<Signature>> signatures(const std::string& actor, const std::string& type,
                                            const std::string& id);
  // The role check alone (for adapters that answer from elsewhere, e.g. the KPIs).
  Result<User> authorized(const std::string& actor, Action action);

  // ---- verification ----
  // Walks the audit chain against the stored checkpoints and checks every signature against the
  // record it points to. The first problem found, or nothing.
  // Also recomputes every record's hash (data and workflow state, every type) against the
  // latest one the chain holds for it: a record changed, added or removed behind the
  // application's back is named in record_problems.
  struct VerifyReport {
    std::int64_t entries = 0;
    std::size_t checkpoints = 0, signatures = 0;
    std::int64_t records = 0;          // records whose current content the chain proves
    std::int64_t records_legacy = 0;   // written before record hashes (schema 3): not provable
    std::int64_t readings_sealed = 0;  // raw readings whose seal verified
    std::string root;  // hash of the last entry verified (the chain head when the chain is OK)
    std::optional<ChainProblem> chain_problem;
    std::vector<std::string> signature_problems;
    std::vector<std::string> record_problems;  // records and sealed readings
    bool ok() const {
      return !chain_problem && signature_problems.empty() && record_problems.empty();
    }
    // The first problem's text (empty when ok()).
    std::string first_problem() const {
      if (chain_problem) return chain_problem->message;
      if (!signature_problems.empty()) return signature_problems.front();
      return record_problems.empty() ? std::string() : record_problems.front();
    }
  };
  Result<VerifyReport> verify(const std::vector<Checkpoint>& external_checkpoints = {});
  // Change control (11.10(k), Annex 11 §10): a system event on the trail, e.g. the start-up of a
  // version with its configuration digest, or a guardrail verdict change. Object: ("system", app).
  Result<void> record_system_event(const std::string& app, const std::string& action,
                                   const std::string& from, const std::string& to,
                                   const std::string& detail);
  // Security events (11.10(d), Annex 11 §12): a request refused for want of a session or a role —
  // who (or "anonymous"), from where, what (method and route), the status and code — and an
  // alert when one address is refused too often. Texts from the request are bounded (200
  // characters) and control characters replaced. Object ("api", what) / ("api", address).
  Result<void> record_access_refused(const std::string& actor, const std::string& address,
                                     const std::string& what, int status, const std::string& code);
  Result<void> record_security_alert(const std::string& address, const std::string& detail);
  // Signs a checkpoint of the chain as it is now and stores it.
  Result<Checkpoint> checkpoint();

  const std::string& public_key() const { return public_key_; }

 private:
  // Runs fn as one store transaction; a refusal (not a storage failure) is audited afterwards
  // in its own transaction, with the command's name and the code.
  Result<void> command(const std::string& actor, std::string_view name,
                       std::string_view object_type, const std::string& object_id,
                       const std::function<Result<void>(Transaction&)>& fn);
  // store_.transact with the caller's terminal carried to the thread that runs fn (a group
  // commit may run it on another caller's thread).
  Result<void> transact(const std::function<Result<void>(Transaction&)>& fn);
  // Password check outside any transaction (Argon2id is slow); a wrong one counts as a failed
  // login and may lock the account (recorded in its own transaction).
  Result<User> authenticate_signer(const std::string& signer, const std::string& password);
  // Signs (record_type, record_id, record_hash) inside tx, after authenticate_signer().
  Result<Signature> sign(Transaction& tx, SigningSession& session, const User& signer,
                         const SignatureInput& input, Meaning meaning,
                         const std::string& record_type, const std::string& record_id,
                         const std::string& record_hash);
  Result<User> signer_for(SigningSession& session, const SignatureInput& input);
  Result<std::optional<User>> find_user(const std::string& id);  // a read, no role check
  // The chain walked against the stored and the given checkpoints (finished; problem() says).
  Result<ChainVerifier> verify_chain(const std::vector<Checkpoint>& external_checkpoints);
  // Part of verify(): every seal of raw readings against the readings it covers.
  Result<void> verify_readings(const std::vector<std::string>& sensors, VerifyReport& report);
  // Part of verify(): every stored record against the latest record hash the chain holds; adds
  // the ids of the sensors it walked past (voided too) to `sensors`.
  Result<void> verify_records(
      const std::map<std::pair<std::string, std::string>, ChainVerifier::RecordProof>& proofs,
      VerifyReport& report, std::vector<std::string>& sensors);

  Store& store_;
  const PasswordHasher& hasher_;
  crypto::SigningKey key_;
  std::string public_key_;
  MesConfig config_;
};

}  // namespace mes
