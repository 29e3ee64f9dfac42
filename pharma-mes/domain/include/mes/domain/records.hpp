// The MES's typed records and their one canonical store form. A record type is a struct with
// its kType; to_document() gives the Document the store keeps (body {"data": what a signature
// covers, "flow": workflow state}, keys sorted, parent and state indexed) and decode<R>() reads
// one back, refusing (kStorage, naming the field) a body not of the type's shape. Fields added
// after a record was first stored read as their defaults. Value types; pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mes/domain/accounts.hpp"
#include "mes/domain/errors.hpp"
#include "mes/domain/isa88.hpp"
#include "mes/domain/quantity.hpp"
#include "mes/domain/record_meta.hpp"
#include "mes/domain/store.hpp"

namespace mes {

enum class EquipmentStatus : std::uint8_t { kClean, kDirty, kInUse, kOutOfService };
std::string_view to_string(EquipmentStatus status);
std::optional<EquipmentStatus> parse_equipment_status(std::string_view text);

// A piece of equipment in the ISA-88 physical model. Indexed by unit, state = status.
struct Equipment {
  static constexpr std::string_view kType = "equipment";
  std::string id, name;
  std::string equipment_class;         // e.g. "reactor", "scale"
  std::string site, area, cell, unit;  // ISA-88 physical model path
  EquipmentStatus status = EquipmentStatus::kClean;
  Millis calibration_due = 0;
  std::string in_use_by;  // batch id while kInUse
  RecordMeta meta;

  bool calibrated_at(Millis now) const { return calibration_due > now; }
  friend bool operator==(const Equipment&, const Equipment&) = default;
};

enum class LotStatus : std::uint8_t { kQuarantine, kReleased, kRejected, kExpired };
std::string_view to_string(LotStatus status);
std::optional<LotStatus> parse_lot_status(std::string_view text);

// A received lot of one material. Indexed by material, state = status.
struct Lot {
  static constexpr std::string_view kType = "lot";
  std::string id, material;
  Quantity quantity;  // as received
  std::string unit;
  Millis expires_at = 0;  // 0: no expiry date
  LotStatus status = LotStatus::kQuarantine;
  Quantity consumed;  // accepted weighings charged from it
  RecordMeta meta;
  std::string produced_by = {};  // the batch whose output it is; empty for a received lot

  Quantity remaining() const { return quantity - consumed; }
  bool expired_at(Millis now) const { return expires_at != 0 && expires_at <= now; }
  friend bool operator==(const Lot&, const Lot&) = default;
};

// An environmental monitoring sensor in a room. Indexed by room, state "active".
struct Sensor {
  static constexpr std::string_view kType = "sensor";
  std::string id, room, kind, unit;
  double alert_low = 0, alert_high = 0, action_low = 0, action_high = 0;
  int interval_seconds = 60;
  Millis calibration_due = 0;
  Millis created_at = 0;
  RecordMeta meta;

  friend bool operator==(const Sensor&, const Sensor&) = default;
};

enum class CapaStatus : std::uint8_t { kOpen, kClosed };
std::string_view to_string(CapaStatus status);
std::optional<CapaStatus> parse_capa_status(std::string_view text);

// One thing done under a CAPA, by whom and when.
struct CapaAction {
  std::string text, by;
  Millis at = 0;
  friend bool operator==(const CapaAction&, const CapaAction&) = default;
};

// A corrective and preventive action (ICH Q10 §3.2.2; 21 CFR 211.192's "follow-up"; Annex 11
// §13): raised for deviations and alarms, owned by one person with a due date, worked through
// recorded actions and closed only by QA's signed effectiveness check (never the owner's).
// Indexed by owner, state = status.
struct Capa {
  static constexpr std::string_view kType = "capa";
  std::string id, title, owner;
  Millis due_at = 0;
  std::vector<std::string> deviations = {};  // what it answers
  std::vector<std::string> alarms = {};
  std::vector<CapaAction> actions = {};
  CapaStatus status = CapaStatus::kOpen;
  std::string effectiveness = {};  // QA's finding at closure
  std::string closed_by = {};
  Millis closed_at = 0;
  RecordMeta meta = {};

  bool overdue_at(Millis now) const { return status == CapaStatus::kOpen && due_at <= now; }
  friend bool operator==(const Capa&, const Capa&) = default;
};

struct ParameterSpec {
  std::string name, unit;
  double target = 0, low = 0, high = 0;
  friend bool operator==(const ParameterSpec&, const ParameterSpec&) = default;
};
struct ChargeSpec {
  std::string material;
  double quantity = 0;       // per base batch size
  double tolerance_pct = 0;  // allowed deviation of the net weight
  std::string unit = "kg";
  friend bool operator==(const ChargeSpec&, const ChargeSpec&) = default;
};
// One phase of a master recipe, with its place in the procedure.
struct PhaseSpec {
  std::string unit_procedure, operation, phase;
  std::string instructions;
  std::string equipment_class;  // empty: no equipment
  int standard_minutes = 0;
  bool second_person_verification = false;
  std::vector<ParameterSpec> parameters;
  std::vector<ChargeSpec> charges;
  friend bool operator==(const PhaseSpec&, const PhaseSpec&) = default;
};

enum class MasterStatus : std::uint8_t { kDraft, kApproved };
std::string_view to_string(MasterStatus status);

// A master recipe (21 CFR 211.186): one version of a product's procedure, a draft until QA
// approves it (signed "approved"; immutable after). Its id is "<product>@<version>". Indexed
// by product, state = status.
struct MasterRecipe {
  static constexpr std::string_view kType = "master";
  std::string product;
  int version = 0;
  double base_size = 1;  // batch size the charges are written for
  std::string size_unit = "kg";
  std::vector<PhaseSpec> phases;
  MasterStatus status = MasterStatus::kDraft;
  // Theoretical yield: the output expected from a batch of base_size (in size_unit); 0: none.
  // With it, a batch's actual yield (output / theoretical scaled to its size) must lie within
  // [yield_low_pct, yield_high_pct] % for release (211.103, 211.192).
  double theoretical_yield = 0;
  double yield_low_pct = 0, yield_high_pct = 0;
  RecordMeta meta = {};

  std::string id() const { return product + "@" + std::to_string(version); }
  friend bool operator==(const MasterRecipe&, const MasterRecipe&) = default;
};

enum class DeviationStatus : std::uint8_t { kOpen, kClosed };
std::string_view to_string(DeviationStatus status);
std::optional<DeviationStatus> parse_deviation_status(std::string_view text);

// A deviation from the batch's instructions or conditions (21 CFR 211.192): opened by a person
// or automatically (an action-limit excursion in the batch's room), closed by QA with a
// disposition and, where its cause needs one, the CAPA that answers it. Indexed by batch,
// state = status.
struct Deviation {
  static constexpr std::string_view kType = "deviation";
  std::string id, batch, cause, description, opened_by;
  Millis opened_at = 0;
  bool automatic = false;  // opened by the system, not a person
  DeviationStatus status = DeviationStatus::kOpen;
  std::string disposition = {}, capa = {}, closed_by = {};
  Millis closed_at = 0;
  RecordMeta meta = {};

  friend bool operator==(const Deviation&, const Deviation&) = default;
};

enum class AlarmStatus : std::uint8_t { kActive, kAcknowledged };
std::string_view to_string(AlarmStatus status);
std::optional<AlarmStatus> parse_alarm_status(std::string_view text);

// An environmental monitoring alarm: one per excursion and level of one sensor ("alert",
// "action") or per data gap ("data_gap", value 0), naming the batches running in the room at
// an action-level excursion; acknowledged once, with a comment and a "reviewed" signature.
// Indexed by room, state = status.
struct Alarm {
  static constexpr std::string_view kType = "alarm";
  std::string id, sensor, room, kind, level;
  double value = 0;
  std::string unit;
  Millis at = 0;
  std::vector<std::string> batches = {};
  AlarmStatus status = AlarmStatus::kActive;
  std::string acknowledged_by = {}, comment = {};
  Millis acknowledged_at = 0;
  RecordMeta meta = {};

  friend bool operator==(const Alarm&, const Alarm&) = default;
};

// A process parameter entered in a step, with the phase's limits it was judged against.
struct ParameterEntry {
  double value = 0;
  std::string unit;
  double low = 0, high = 0;
  bool in_limits = false;
  std::string by;
  Millis at = 0;
  bool changed = false;  // entered again (with a reason): the first value stands in the trail
  friend bool operator==(const ParameterEntry&, const ParameterEntry&) = default;
};

// One weighing of a charge: gross, tare, net and the tolerance band of the whole charge
// (low..high), accepted or refused (reason_code) — refused ones are kept for QA's review.
struct WeighingEntry {
  std::string material, scale, lot;
  Quantity gross, tare, net, low, high;
  bool accepted = false;
  std::string reason_code;
  std::string by;
  Millis at = 0;
  friend bool operator==(const WeighingEntry&, const WeighingEntry&) = default;
};

enum class StepStatus : std::uint8_t { kPending, kRunning, kComplete, kStopped, kAborted };
std::string_view to_string(StepStatus status);
std::optional<StepStatus> parse_step_status(std::string_view text);

// The execution of one phase of a batch's control recipe: who started it on which equipment,
// the parameters entered and the weighings made (data, what a verifier signs), its status, hold,
// second-person verification and completion (flow). Its id is "<batch>/<nnn>". Optional fields
// are absent from the stored form until set, so that every body written before a field existed
// (and every signature over it) stays as it was. Indexed by batch, state = status.
struct Step {
  static constexpr std::string_view kType = "step";
  std::string id, batch;
  int n = 0;
  std::string phase;
  std::map<std::string, ParameterEntry> parameters = {};
  std::vector<WeighingEntry> weighings = {};
  std::vector<std::string> actors = {};  // everyone who entered something
  std::string equipment = {};            // empty: the phase uses none
  std::string started_by = {};
  Millis started_at = 0;
  StepStatus status = StepStatus::kPending;
  std::optional<bool> held = {};  // set once the batch was first held while it ran
  std::string verified_by = {}, verification = {};  // the verifier and their signature's id
  Millis verified_at = 0;
  std::string completed_by = {};
  Millis completed_at = 0;
  RecordMeta meta = {};

  bool is_held() const { return held.value_or(false); }
  // The accepted net weight of one material.
  Quantity accepted_net(const std::string& material) const;
  void add_actor(const std::string& user);
  friend bool operator==(const Step&, const Step&) = default;
};

enum class Disposition : std::uint8_t { kNone, kReleased, kRejected };
std::string_view to_string(Disposition disposition);  // "", "released", "rejected"

// One ISA-88 command a batch took, as its record shows it (`to`: where the state settled).
struct BatchEvent {
  Millis at = 0;
  std::string by, command, from, to, reason;
  friend bool operator==(const BatchEvent&, const BatchEvent&) = default;
};

// A batch (21 CFR 211.188): its control recipe — a copy of an approved master, charges scaled
// to the batch size, that later versions of the master never reach — and who made it (data,
// what review and release signatures cover with the steps); its ISA-88 state, commands,
// performers, output, review and disposition (flow; the output is data). Optional parts are
// absent from the stored form until set, so every body written before a field existed (and every
// signature over it) stays as it was. Indexed by master, state = the ISA-88 state.
struct Batch {
  static constexpr std::string_view kType = "batch";
  std::string id;
  isa88::State state = isa88::State::kIdle;
  MasterRecipe recipe;  // the control recipe (its status and meta are not part of the batch)
  std::string master, master_hash;  // the master's id and content hash when copied
  double size = 0, scale = 1;       // scale = size / the master's base size
  std::string created_by;
  Millis created_at = 0;
  std::optional<double> output = {};  // recorded once the batch is Complete
  std::string output_lot = {};        // the lot the output became, if any

  int current_step = 1;  // the next step to run; past the last once all are complete
  std::vector<std::string> performers = {};  // everyone who commanded or executed it
  std::vector<BatchEvent> events = {};
  Millis started_at = 0, ended_at = 0;  // 0: not yet
  std::string ended_on = {};            // the instance (blue/green colour) that ended it
  Millis held_ms = 0;                   // time spent Held, closed holds
  Millis held_since = 0;                // 0: not Held now
  bool reviewed = false;
  std::optional<int> reviewed_exceptions = {};
  std::string trail_review = {};  // the TrailReview record QA signed
  Disposition disposition = Disposition::kNone;
  std::string disposition_by = {}, disposition_reason = {};
  Millis disposition_at = 0;
  RecordMeta meta = {};

  std::size_t step_count() const { return recipe.phases.size(); }
  void add_performer(const std::string& user);
  friend bool operator==(const Batch&, const Batch&) = default;
};

// The net quantity of one accepted weighing of a lot, charged into a batch (genealogy: 211.101(c),
// 211.188(b)); its id is the weighing's, "<step id>/<n>". Indexed by lot (parent) and batch
// (state).
struct Charge {
  static constexpr std::string_view kType = "charge";
  std::string id, lot, batch;
  int step = 0;
  std::string material;
  Quantity net;
  RecordMeta meta = {};

  friend bool operator==(const Charge&, const Charge&) = default;
};

// QA's review of a batch's audit trail (Annex 11 §9, 211.192), signed "reviewed": the trail's
// entries up to `through_seq` hashed together (`sha256` over "<seq> <hash>" lines), the batch
// record's hash and how many exceptions were seen. Indexed by batch, state "signed".
struct TrailReview {
  static constexpr std::string_view kType = "trail_review";
  std::string id, batch;
  std::int64_t entries = 0, through_seq = 0;
  std::string sha256, batch_record;
  std::int64_t exceptions = 0;
  RecordMeta meta = {};

  friend bool operator==(const TrailReview&, const TrailReview&) = default;
};

// A training record (21 CFR 11.10(i), 211.25(a), Annex 11 §2): `trainee` was trained on
// `procedure` by `trainer`, who signs it ("approved": trained and found competent). A procedure
// is a master recipe — "master:<product>", every step of that product's masters — or a step
// type — "phase:<phase name>", that phase in any master. Current from trained_at until
// valid_until (0: no expiry), unless voided. A retraining is a new record; none is changed.
// Indexed by trainee, state "signed".
struct Training {
  static constexpr std::string_view kType = "training";
  std::string id, trainee, procedure, trainer;
  std::string content = {};  // what the training was: SOP and revision, how competence was shown
  Millis trained_at = 0;
  Millis valid_until = 0;
  RecordMeta meta = {};

  bool current_at(Millis now) const {
    return !meta.voided && trained_at <= now && (valid_until == 0 || now < valid_until);
  }
  friend bool operator==(const Training&, const Training&) = default;
};
// The procedure names a step is done under (either kind of training qualifies for it).
std::string master_procedure(std::string_view product);
std::string phase_procedure(std::string_view phase);

Document to_document(const Equipment& equipment);
Document to_document(const Training& training);
Document to_document(const Deviation& deviation);
Document to_document(const MasterRecipe& master);
Document to_document(const Charge& charge);
Document to_document(const Step& step);
Document to_document(const Batch& batch);
Document to_document(const TrailReview& review);
Document to_document(const Alarm& alarm);
Document to_document(const Capa& capa);
Document to_document(const Lot& lot);
Document to_document(const Sensor& sensor);
Document to_document(const User& user);

// Reads a stored record of type R (doc.type must be R::kType).
template <typename R>
Result<R> decode(const Document& doc);
template <>
Result<Equipment> decode<Equipment>(const Document& doc);
template <>
Result<Lot> decode<Lot>(const Document& doc);
template <>
Result<Sensor> decode<Sensor>(const Document& doc);
template <>
Result<Capa> decode<Capa>(const Document& doc);
template <>
Result<Training> decode<Training>(const Document& doc);
template <>
Result<Deviation> decode<Deviation>(const Document& doc);
template <>
Result<MasterRecipe> decode<MasterRecipe>(const Document& doc);
template <>
Result<Charge> decode<Charge>(const Document& doc);
template <>
Result<Step> decode<Step>(const Document& doc);
template <>
Result<Batch> decode<Batch>(const Document& doc);
template <>
Result<TrailReview> decode<TrailReview>(const Document& doc);
template <>
Result<Alarm> decode<Alarm>(const Document& doc);
template <>
Result<User> decode<User>(const Document& doc);

}  // namespace mes
