// Mes: batches (ISA-88 commands, steps in sequence, parameter entry, weighing, second-person
// verification), deviations, review by exception, QA release, genealogy.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "service_support.hpp"

namespace mes {

using detail::json;
using isa88::Command;
using isa88::State;

namespace {

std::string step_id(const std::string& batch, int n) {
  std::string digits = std::to_string(n);
  if (digits.size() < 3) digits.insert(0, 3 - digits.size(), '0');
  return batch + "/" + digits;
}

Result<Batch> load_batch(Transaction& tx, const std::string& id) {
  return detail::load<Batch>(tx, id, "batch", true);
}

struct LoadedStep {
  Step step;
  PhaseSpec spec;  // the phase of the control recipe
};

Result<LoadedStep> load_step(Transaction& tx, const Batch& b, int n) {
  if (n < 1 || static_cast<std::size_t>(n) > b.step_count()) {
    return refuse(Code::kNotFound, "batch " + b.id + " has no step " + std::to_string(n), "step");
  }
  auto doc = tx.get("step", step_id(b.id, n));
  if (!doc) return refuse(Code::kStorage, "step record " + step_id(b.id, n) + " is missing");
  auto step = decode<Step>(*doc);
  if (!step) return tl::unexpected(step.error());
  return LoadedStep{std::move(*step), b.recipe.phases[static_cast<std::size_t>(n - 1)]};
}

// Who does or verifies step s of batch b holds a current training for it (11.10(i)).
Result<void> require_trained(Transaction& tx, const std::string& user, const Batch& b,
                             const LoadedStep& s) {
  return detail::require_training(tx, user, b.master, s.spec.phase);
}

Result<void> require_running(const Batch& b) {
  if (b.state != State::kRunning) {
    return refuse(
        Code::kOutOfSequence,
        "batch " + b.id + " is " + std::string(isa88::to_string(b.state)) + ", not Running");
  }
  return {};
}

Result<void> require_step_running(const LoadedStep& s) {
  if (s.step.status != StepStatus::kRunning) {
    return refuse(
        Code::kOutOfSequence,
        "step " + s.step.id + " is " + std::string(to_string(s.step.status)) + ", not running",
        "step");
  }
  return {};
}

// Entries close when the step is verified: the verifier signed exactly these values.
Result<void> require_open_for_entries(const LoadedStep& s) {
  if (auto r = require_step_running(s); !r) return r;
  if (!s.step.verified_by.empty()) {
    return refuse(Code::kRecordImmutable,
                  "step " + s.step.id + " is verified: its entries can no longer change", "step");
  }
  if (s.step.is_held()) {
    return refuse(Code::kOutOfSequence, "step " + s.step.id + " is held", "step");
  }
  return {};
}

// A charge's target and the lowest and highest total it accepts, to the millionth.
struct ChargeBand {
  Quantity target, low, high;
};
ChargeBand band_of(const ChargeSpec& charge) {
  const double target = charge.quantity;
  const double tol = charge.tolerance_pct / 100.0;
  return {Quantity::nearest(target).value_or(Quantity{}),
          Quantity::nearest(target * (1 - tol)).value_or(Quantity{}),
          Quantity::nearest(target * (1 + tol)).value_or(Quantity{})};
}

// Frees the equipment a step held: used equipment is dirty until cleaned for the next batch.
// Equipment voided or gone meanwhile is left as it is.
Result<void> release_equipment(Transaction& tx, const std::string& actor, const std::string& id,
                               const std::string& reason) {
  if (id.empty()) return {};
  auto e = detail::load<Equipment>(tx, id, "equipment", true);
  if (!e) return e.error().code == Code::kNotFound ? Result<void>{} : tl::unexpected(e.error());
  e->status = EquipmentStatus::kDirty;
  e->in_use_by.clear();
  return detail::save(tx, actor, *e, "modify", reason);
}

// Batch `batch_id` Running and its step n loaded: where every step operation starts.
Result<std::pair<Batch, LoadedStep>> running_step(Transaction& tx, const std::string& batch_id,
                                                  int n) {
  auto b = load_batch(tx, batch_id);
  if (!b) return tl::unexpected(b.error());
  if (auto r = require_running(*b); !r) return tl::unexpected(r.error());
  auto s = load_step(tx, *b, n);
  if (!s) return tl::unexpected(s.error());
  return std::make_pair(std::move(*b), std::move(*s));
}

// Every parameter of the step entered and every charge weighed within tolerance: what a
// verification signs and what completing the step requires.
Result<void> require_entries_complete(const LoadedStep& s) {
  for (const auto& p : s.spec.parameters) {
    if (!s.step.parameters.contains(p.name)) {
      return refuse(Code::kOutOfSequence, "parameter " + p.name + " is not entered yet");
    }
  }
  for (const auto& c : s.spec.charges) {
    if (s.step.accepted_net(c.material) < band_of(c).low) {
      return refuse(Code::kOutOfSequence, c.material + " is not charged within tolerance yet");
    }
  }
  return {};
}

Result<std::string> open_deviation_in(Transaction& tx, const std::string& actor,
                                      const std::string& batch, const std::string& cause,
                                      const std::string& description, bool automatic) {
  Deviation d;
  d.id = batch + "-DEV-" + std::to_string(tx.list(Deviation::kType, batch).size() + 1);
  d.batch = batch;
  d.cause = cause;
  d.description = description;
  d.opened_by = actor;
  d.opened_at = tx.now();
  d.automatic = automatic;
  if (auto r = detail::save(tx, actor, d, "create", ""); !r) return tl::unexpected(r.error());
  return d.id;
}

// Batch record hash: the batch's data and the content hash of every step, in order.
std::string batch_record_hash(Transaction& tx, const Batch& b) {
  std::string all = detail::content_hash("batch", b.id, json::parse(to_document(b).body));
  for (const auto& step : tx.list("step", b.id)) {
    all += detail::content_hash("step", step.id, detail::body_of(step));
  }
  return crypto::sha256_hex(all);
}

}  // namespace

Result<void> Mes::create_batch(const std::string& actor, const std::string& batch_id,
                               const std::string& master_id, double size) {
  return command(actor, "create_batch", "batch", batch_id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kCreateBatch, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (batch_id.empty() || batch_id.find('/') != std::string::npos) {
      return refuse(Code::kInvalid, "a batch id is not empty and has no '/'", "batch");
    }
    if (!(size > 0) || !std::isfinite(size)) {
      return refuse(Code::kInvalid, "batch size must be positive", "size");
    }
    auto master = detail::load<MasterRecipe>(tx, master_id, "master");
    if (!master) return tl::unexpected(master.error());
    if (master->status != MasterStatus::kApproved) {
      return refuse(Code::kRecordImmutable,
                    "master " + master_id + " is not approved: batches use approved versions only",
                    "master");
    }
    // The control recipe: a copy of the approved master, scaled; later edits of the master (new
    // versions) never reach this batch.
    Batch batch;
    batch.id = batch_id;
    batch.recipe = *master;
    batch.scale = size / master->base_size;
    for (auto& phase : batch.recipe.phases) {
      for (auto& charge : phase.charges) charge.quantity *= batch.scale;
    }
    batch.master = master_id;
    batch.master_hash = detail::content_hash(
        "master", master_id, detail::body_of(*tx.get(MasterRecipe::kType, master_id)));
    batch.size = size;
    batch.created_by = actor;
    batch.created_at = tx.now();
    if (auto r = detail::save(tx, actor, batch, "create", ""); !r) return r;
    int n = 0;
    for (const auto& phase : batch.recipe.phases) {
      Step step;
      step.n = ++n;
      step.id = step_id(batch_id, n);
      step.batch = batch_id;
      step.phase = phase.phase;
      if (auto r = detail::save(tx, actor, step, "create", ""); !r) return r;
    }
    return {};
  });
}

Result<State> Mes::command_batch(const std::string& actor, const std::string& batch_id, Command cmd,
                                 const std::string& reason) {
  State final_state = State::kIdle;
  const std::string name = "batch_" + std::string(isa88::to_string(cmd));
  auto r = command(actor, name, "batch", batch_id, [&](Transaction& tx) -> Result<void> {
    const bool supervise = cmd == Command::kRestart || cmd == Command::kStop ||
                           cmd == Command::kAbort || cmd == Command::kReset;
    if (auto a = detail::authorize(
            tx, actor, supervise ? Action::kSuperviseBatch : Action::kRunBatch, config_);
        !a) {
      return tl::unexpected(a.error());
    }
    auto b = load_batch(tx, batch_id);
    if (!b) return tl::unexpected(b.error());
    if (cmd == Command::kReset && isa88::is_final(b->state)) {
      return refuse(Code::kRecordImmutable, "batch " + batch_id + " is " +
                                                std::string(isa88::to_string(b->state)) +
                                                ": its record is final (make a new batch)");
    }
    const auto next = isa88::next_state(b->state, cmd);
    if (!next) {
      return refuse(Code::kIllegalTransition, std::string(isa88::to_string(cmd)) +
                                                  " is not allowed in state " +
                                                  std::string(isa88::to_string(b->state)));
    }
    const bool needs_reason = cmd == Command::kHold || cmd == Command::kRestart ||
                              cmd == Command::kStop || cmd == Command::kAbort;
    if (needs_reason) {
      if (auto rr = detail::require_reason(reason); !rr) return rr;
    }
    const Millis now = tx.now();
    // The transient state, then where it settles (our phases finish pausing, holding, ... at
    // once): both are on the record.
    const State settled = isa88::settle(*next);
    b->events.push_back({now, actor, std::string(isa88::to_string(cmd)),
                         std::string(isa88::to_string(b->state)),
                         std::string(isa88::to_string(settled)), reason});
    if (cmd == Command::kStart) b->started_at = now;
    if (settled == State::kHeld) b->held_since = now;
    if (b->state == State::kHeld && b->held_since != 0) {
      b->held_ms += now - b->held_since;
      b->held_since = 0;
    }
    if (isa88::is_final(settled) && !isa88::is_final(b->state)) {  // Stopped -> Aborted: ended
      b->ended_at = now;
      if (!config_.instance.empty()) b->ended_on = config_.instance;
    }
    b->add_performer(actor);
    b->state = settled;
    if (auto p = detail::save(tx, actor, *b, "command",
                              reason.empty() ? std::string(isa88::to_string(cmd)) : reason);
        !p) {
      return p;
    }
    if (*next != settled) {
      if (auto a =
              detail::audit(tx, "system", "transition", "batch", batch_id, "state",
                            std::string(isa88::to_string(*next)),
                            std::string(isa88::to_string(settled)), "transient state completed");
          !a) {
        return a;
      }
    }
    // A hold (and stop/abort) reaches the running phases; restart resumes them; stop/abort
    // release the equipment.
    std::vector<std::string> unreadable;
    for (auto step : detail::list_of<Step>(tx, batch_id, "running", unreadable)) {
      if (settled == State::kHeld) step.held = true;
      if (settled == State::kRunning) step.held = false;
      if (settled == State::kStopped || settled == State::kAborted) {
        step.status = settled == State::kStopped ? StepStatus::kStopped : StepStatus::kAborted;
        if (auto p = release_equipment(tx, actor, step.equipment, "batch ended"); !p) return p;
      }
      if (auto p = detail::save(tx, actor, step, "command",
                                "batch " + std::string(isa88::to_string(cmd)));
          !p) {
        return p;
      }
    }
    if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
    final_state = settled;
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return final_state;
}

Result<void> Mes::start_step(const std::string& actor, const std::string& batch_id, int n,
                             const std::string& equipment_id) {
  return command(
      actor, "start_step", "step", step_id(batch_id, n), [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kExecuteStep, config_); !a) {
          return tl::unexpected(a.error());
        }
        auto b = load_batch(tx, batch_id);
        if (!b) return tl::unexpected(b.error());
        if (auto r = require_running(*b); !r) return r;
        const int current = b->current_step;
        if (n != current) {
          return refuse(Code::kOutOfSequence,
                        "step " + std::to_string(n) + " is not next: step " +
                            std::to_string(current) + " comes first",
                        "step");
        }
        auto s = load_step(tx, *b, n);
        if (!s) return tl::unexpected(s.error());
        if (s->step.status != StepStatus::kPending) {
          return refuse(Code::kOutOfSequence, "step " + s->step.id + " was already started",
                        "step");
        }
        if (auto t = require_trained(tx, actor, *b, *s); !t) return t;
        const std::string& needed = s->spec.equipment_class;
        if (!needed.empty()) {
          auto e = detail::load<Equipment>(tx, equipment_id, "equipment");
          if (!e) return tl::unexpected(e.error());
          if (e->equipment_class != needed) {
            return refuse(
                Code::kEquipmentUnavailable,
                equipment_id + " is a " + e->equipment_class + ", the step needs a " + needed,
                "equipment");
          }
          if (e->status != EquipmentStatus::kClean) {
            return refuse(
                Code::kEquipmentUnavailable,
                equipment_id + " is " + std::string(to_string(e->status)) +
                    (e->status == EquipmentStatus::kInUse ? " by batch " + e->in_use_by : ""),
                "equipment");
          }
          if (!e->calibrated_at(tx.now())) {
            return refuse(Code::kEquipmentUnavailable,
                          equipment_id + " is past its calibration date", "equipment");
          }
          e->status = EquipmentStatus::kInUse;
          e->in_use_by = batch_id;
          if (auto p = detail::save(tx, actor, *e, "modify", "used by " + s->step.id); !p) {
            return p;
          }
          s->step.equipment = equipment_id;
        } else if (!equipment_id.empty()) {
          return refuse(Code::kInvalid, "step " + std::to_string(n) + " uses no equipment",
                        "equipment");
        }
        s->step.started_by = actor;
        s->step.started_at = tx.now();
        s->step.add_actor(actor);
        s->step.status = StepStatus::kRunning;
        if (auto p = detail::save(tx, actor, s->step, "start", "step started"); !p) {
          return p;
        }
        b->add_performer(actor);
        return detail::save(tx, actor, *b, "modify", "step " + std::to_string(n) + " started");
      });
}

Result<bool> Mes::enter_parameter(const std::string& actor, const std::string& batch_id, int n,
                                  const std::string& name, double value,
                                  const std::string& reason) {
  bool in_limits = false;
  auto r = command(
      actor, "enter_parameter", "step", step_id(batch_id, n), [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kExecuteStep, config_); !a) {
          return tl::unexpected(a.error());
        }
        if (!std::isfinite(value))
          return refuse(Code::kInvalid, "the value is not a number", "value");
        auto found = running_step(tx, batch_id, n);
        if (!found) return tl::unexpected(found.error());
        auto s = &found->second;
        if (auto rr = require_open_for_entries(*s); !rr) return rr;
        if (auto t = require_trained(tx, actor, found->first, *s); !t) return t;
        const ParameterSpec* spec = nullptr;
        for (const auto& p : s->spec.parameters) {
          if (p.name == name) spec = &p;
        }
        if (spec == nullptr) {
          return refuse(Code::kNotFound, "step " + std::to_string(n) + " has no parameter " + name,
                        "name");
        }
        const bool changed = s->step.parameters.contains(name);
        if (changed && reason.empty()) {
          return refuse(Code::kReasonRequired, "changing an entered value needs a reason",
                        "reason");
        }
        const double low = spec->low, high = spec->high;
        in_limits = value >= low && value <= high;
        s->step.parameters[name] =
            ParameterEntry{value, spec->unit, low, high, in_limits, actor, tx.now(), changed};
        s->step.add_actor(actor);
        if (auto p =
                detail::save(tx, actor, s->step, "enter", changed ? reason : "parameter " + name);
            !p) {
          return p;
        }
        if (!in_limits) {
          auto d = open_deviation_in(
              tx, "system", batch_id, "out_of_limits",
              name + " = " + detail::number_text(value) + " outside [" + detail::number_text(low) +
                  ", " + detail::number_text(high) + "] at step " + std::to_string(n),
              true);
          if (!d) return tl::unexpected(d.error());
        }
        return {};
      });
  if (!r) return tl::unexpected(r.error());
  return in_limits;
}

Result<Mes::Weighing> Mes::weigh(const std::string& actor, const std::string& batch_id, int n,
                                 const std::string& material, const std::string& scale_id,
                                 const std::string& lot_id, double gross, double tare) {
  Weighing result;
  auto r =
      command(actor, "weigh", "step", step_id(batch_id, n), [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kExecuteStep, config_); !a) {
          return tl::unexpected(a.error());
        }
        const auto gross_q = Quantity::exactly(gross), tare_q = Quantity::exactly(tare);
        if (!gross_q || !tare_q) {
          return refuse(Code::kInvalid,
                        "gross and tare are numbers of at most six decimals, within 1e9",
                        gross_q ? "tare" : "gross");
        }
        if (tare_q->micros() < 0 || *gross_q <= *tare_q) {
          return refuse(Code::kInvalid, "gross must be above tare, tare not negative", "gross");
        }
        auto found = running_step(tx, batch_id, n);
        if (!found) return tl::unexpected(found.error());
        auto s = &found->second;
        if (auto rr = require_open_for_entries(*s); !rr) return rr;
        if (auto t = require_trained(tx, actor, found->first, *s); !t) return t;
        const ChargeSpec* charge = nullptr;
        for (const auto& c : s->spec.charges) {
          if (c.material == material) charge = &c;
        }
        if (charge == nullptr) {
          return refuse(Code::kNotFound, "step " + std::to_string(n) + " charges no " + material,
                        "material");
        }
        // The scale: registered (11.10(h)), in service, calibrated.
        auto scale = detail::load<Equipment>(tx, scale_id, "scale");
        if (!scale && scale.error().code != Code::kNotFound) return tl::unexpected(scale.error());
        if (!scale || scale->equipment_class != "scale") {
          return refuse(Code::kUnknownDevice, "no registered scale " + scale_id, "scale");
        }
        if (scale->status == EquipmentStatus::kOutOfService) {
          return refuse(Code::kEquipmentUnavailable, "scale " + scale_id + " is out of service",
                        "scale");
        }
        if (!scale->calibrated_at(tx.now())) {
          return refuse(Code::kEquipmentUnavailable,
                        "scale " + scale_id + " is past its calibration date", "scale");
        }
        auto lot = detail::load<Lot>(tx, lot_id, "lot");
        if (!lot) return tl::unexpected(lot.error());
        if (lot->material != material) {
          return refuse(Code::kInvalid,
                        "lot " + lot_id + " is " + lot->material + ", not " + material, "lot");
        }
        if (lot->status != LotStatus::kReleased) {
          return refuse(
              Code::kLotNotReleased,
              "lot " + lot_id + " is " + std::string(to_string(lot->status)) + ", not released",
              "lot");
        }
        if (lot->expired_at(tx.now())) {
          return refuse(Code::kLotNotReleased, "lot " + lot_id + " has expired", "lot");
        }
        const ChargeBand band = band_of(*charge);
        const Quantity already = s->step.accepted_net(material);
        result.net = *gross_q - *tare_q;
        result.low = band.low - already;
        result.high = band.high - already;
        result.accepted = result.net >= result.low && result.net <= result.high;
        result.reason_code = result.accepted ? "" : "out_of_tolerance";
        // Dispensed = consumed: a lot cannot give more than it has left.
        if (result.accepted && result.net > lot->remaining()) {
          return refuse(Code::kOutOfLimits,
                        "lot " + lot_id + " has " + lot->remaining().text() + " " + lot->unit +
                            " left, the weighing takes " + result.net.text(),
                        "lot");
        }
        s->step.weighings.push_back(
            WeighingEntry{material, scale_id, lot_id, *gross_q, *tare_q, result.net, result.low,
                          result.high, result.accepted, result.reason_code, actor, tx.now()});
        s->step.add_actor(actor);
        if (auto p = detail::save(tx, actor, s->step, "weigh",
                                  result.accepted ? "weighing" : "weighing out of tolerance");
            !p) {
          return p;
        }
        if (result.accepted) {
          // Genealogy: which lot went into which batch (forward and backward trace).
          Charge charged{s->step.id + "/" + std::to_string(s->step.weighings.size()),
                         lot_id,
                         batch_id,
                         n,
                         material,
                         result.net,
                         {}};
          if (auto p = detail::save(tx, actor, charged, "create", ""); !p) return p;
          lot->consumed = lot->consumed + result.net;
          if (auto p = detail::save(tx, actor, *lot, "consume", "charged to " + batch_id); !p) {
            return p;
          }
        }
        return {};
      });
  if (!r) return tl::unexpected(r.error());
  return result;
}

Result<void> Mes::verify_step(const std::string& actor, SigningSession& session,
                              const std::string& batch_id, int n, const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  return command(
      actor, "verify_step", "step", step_id(batch_id, n), [&](Transaction& tx) -> Result<void> {
        if (!allowed(signer->roles, Action::kVerifyStep)) {
          return refuse(Code::kForbidden, signer->id + " may not verify steps");
        }
        auto found = running_step(tx, batch_id, n);
        if (!found) return tl::unexpected(found.error());
        auto b = &found->first;
        auto s = &found->second;
        if (auto rr = require_step_running(*s); !rr) return rr;
        if (auto t = require_trained(tx, signer->id, *b, *s); !t) return t;
        if (!s->spec.second_person_verification) {
          return refuse(Code::kInvalid, "step " + std::to_string(n) + " needs no verification",
                        "step");
        }
        for (const auto& who : s->step.actors) {
          if (who == signer->id) {
            return refuse(Code::kSameUser,
                          "the verifier must be another person than who did the step", "user_id");
          }
        }
        if (auto rr = require_entries_complete(*s); !rr) return rr;
        if (!s->step.verified_by.empty()) {
          return refuse(Code::kConflict, "step " + s->step.id + " is already verified");
        }
        // The verifier signs the step's entries as stored (its data, which the verification
        // itself leaves as it is).
        auto sig = sign(tx, session, *signer, signature, Meaning::kVerified, "step", s->step.id,
                        signed_hash(*tx.get(Step::kType, s->step.id)));
        if (!sig) return tl::unexpected(sig.error());
        s->step.verified_by = signer->id;
        s->step.verified_at = tx.now();
        s->step.verification = sig->id;
        if (auto p = detail::save(tx, actor, s->step, "verify", "second-person verification"); !p) {
          return p;
        }
        b->add_performer(signer->id);  // a verifier took part: not the one to release it
        return detail::save(tx, actor, *b, "modify", "step " + std::to_string(n) + " verified");
      });
}

Result<void> Mes::complete_step(const std::string& actor, const std::string& batch_id, int n) {
  return command(
      actor, "complete_step", "step", step_id(batch_id, n), [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kExecuteStep, config_); !a) {
          return tl::unexpected(a.error());
        }
        auto b = load_batch(tx, batch_id);
        if (!b) return tl::unexpected(b.error());
        if (auto rr = require_running(*b); !rr) return rr;
        const int current = b->current_step;
        if (n != current) {
          return refuse(Code::kOutOfSequence,
                        "step " + std::to_string(n) + " cannot complete before step " +
                            std::to_string(current),
                        "step");
        }
        auto s = load_step(tx, *b, n);
        if (!s) return tl::unexpected(s.error());
        if (auto rr = require_step_running(*s); !rr) return rr;
        if (auto t = require_trained(tx, actor, *b, *s); !t) return t;
        if (auto rr = require_entries_complete(*s); !rr) return rr;
        if (s->spec.second_person_verification && s->step.verified_by.empty()) {
          return refuse(Code::kOutOfSequence, "step " + std::to_string(n) +
                                                  " needs its second-person verification first");
        }
        if (auto p = release_equipment(tx, actor, s->step.equipment, "released by " + s->step.id);
            !p) {
          return p;
        }
        if (config_.fault_drop_verification) s->step.verified_by.clear();
        s->step.completed_by = actor;  // flow: the verifier's signature covers data
        s->step.completed_at = tx.now();
        s->step.status = StepStatus::kComplete;
        if (auto p = detail::save(tx, actor, s->step, "complete", "step completed"); !p) {
          return p;
        }
        b->current_step = n + 1;
        b->add_performer(actor);
        if (static_cast<std::size_t>(n) == b->step_count()) {
          b->ended_at = tx.now();
          if (!config_.instance.empty()) b->ended_on = config_.instance;
          b->state = State::kComplete;
        }
        return detail::save(tx, actor, *b, "modify", "step " + std::to_string(n) + " completed");
      });
}

Result<std::string> Mes::open_deviation(const std::string& actor, const std::string& batch_id,
                                        const std::string& cause, const std::string& description) {
  std::string id;
  auto r =
      command(actor, "open_deviation", "batch", batch_id, [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kOpenDeviation, config_); !a) {
          return tl::unexpected(a.error());
        }
        if (cause.empty() || description.empty()) {
          return refuse(Code::kInvalid, "a deviation needs a cause and a description", "cause");
        }
        if (!tx.get("batch", batch_id))
          return refuse(Code::kNotFound, "no batch " + batch_id, "batch");
        auto d = open_deviation_in(tx, actor, batch_id, cause, description, false);
        if (!d) return tl::unexpected(d.error());
        id = *d;
        return {};
      });
  if (!r) return tl::unexpected(r.error());
  return id;
}

Result<void> Mes::close_deviation(const std::string& actor, const std::string& deviation_id,
                                  const std::string& disposition, const std::string& capa) {
  return command(
      actor, "close_deviation", "deviation", deviation_id, [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kDispositionDeviation, config_); !a) {
          return tl::unexpected(a.error());
        }
        if (disposition.empty()) {
          return refuse(Code::kReasonRequired, "a deviation closes only with a disposition",
                        "disposition");
        }
        auto d = detail::load<Deviation>(tx, deviation_id, "deviation");
        if (!d) return tl::unexpected(d.error());
        if (d->status != DeviationStatus::kOpen) {
          return refuse(Code::kConflict, "deviation " + deviation_id + " is closed");
        }
        // A CAPA named must exist and answer this deviation; a cause that needs one needs it.
        const std::string& cause = d->cause;
        const auto& needing = config_.capa_required_causes;
        if (capa.empty() && std::find(needing.begin(), needing.end(), cause) != needing.end()) {
          return refuse(Code::kOutOfSequence,
                        "deviation " + deviation_id + " (" + cause +
                            ") needs a CAPA: open one that answers it, then close naming it",
                        "capa");
        }
        if (!capa.empty()) {
          auto c = detail::load<Capa>(tx, capa, "capa");
          if (!c) return tl::unexpected(c.error());
          if (std::find(c->deviations.begin(), c->deviations.end(), deviation_id) ==
              c->deviations.end()) {
            return refuse(Code::kInvalid, "CAPA " + capa + " does not answer " + deviation_id,
                          "capa");
          }
        }
        d->status = DeviationStatus::kClosed;
        d->disposition = disposition;
        d->capa = capa;
        d->closed_by = actor;
        d->closed_at = tx.now();
        return detail::save(tx, actor, *d, "close", disposition);
      });
}

namespace {

std::vector<Exception> exceptions_of(Transaction& tx, const Batch& b) {
  std::vector<Exception> out;
  for (const auto& e : b.events) {
    if (e.command == "Hold" || e.command == "Abort" || e.command == "Stop") {
      out.push_back({e.command == "Hold"    ? "hold"
                     : e.command == "Abort" ? "abort"
                                            : "stop",
                     "", e.reason, e.at});
    }
  }
  std::vector<std::string> unreadable;
  const auto& phases = b.recipe.phases;
  for (const auto& step : detail::list_of<Step>(tx, b.id, "", unreadable)) {
    const std::size_t n = static_cast<std::size_t>(step.n);
    const int standard = n >= 1 && n <= phases.size() ? phases[n - 1].standard_minutes : 0;
    for (const auto& [name, p] : step.parameters) {
      if (!p.in_limits) {
        out.push_back(
            {"out_of_limits", step.id, name + " = " + detail::number_text(p.value), p.at});
      }
      // Entered later than twice the phase's standard time after the step started.
      if (standard > 0 && p.at - step.started_at > 2LL * standard * 60'000) {
        out.push_back({"late_entry", step.id, name + " entered late", p.at});
      }
      if (p.changed) {
        out.push_back({"changed_entry", step.id, name + " changed after first entry", p.at});
      }
    }
    for (const auto& w : step.weighings) {
      if (!w.accepted) {
        out.push_back({"failed_weighing", step.id,
                       w.material + " net " + w.net.text() + " outside [" + w.low.text() + ", " +
                           w.high.text() + "]",
                       w.at});
      }
    }
  }
  if (const BatchYield y = detail::yield_of(b); y.recorded && !y.within_limits()) {
    out.push_back({"yield", "",
                   "yield " + detail::number_text(std::round(y.percent * 10) / 10) +
                       " % of theoretical, limits " + detail::number_text(y.low_pct) + "-" +
                       detail::number_text(y.high_pct) + " %",
                   0});
  }
  for (const auto& alarm : detail::list_of<Alarm>(tx, "", "", unreadable)) {
    if (std::find(alarm.batches.begin(), alarm.batches.end(), b.id) != alarm.batches.end()) {
      out.push_back(
          {"alarm", "", alarm.id + " (" + std::string(to_string(alarm.status)) + ")", alarm.at});
    }
  }
  for (const auto& d : detail::list_of<Deviation>(tx, b.id, "", unreadable)) {
    out.push_back({"deviation", "",
                   d.id + " (" + std::string(to_string(d.status)) + "): " + d.description,
                   d.opened_at});
  }
  for (const auto& why : unreadable) out.push_back({"unreadable_record", "", why, 0});
  std::sort(out.begin(), out.end(),
            [](const Exception& a, const Exception& c) { return a.at < c.at; });
  return out;
}

}  // namespace

Result<std::vector<Exception>> Mes::review_by_exception(const std::string& actor,
                                                        const std::string& batch_id) {
  std::vector<Exception> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kReviewBatch, config_); !a) {
      return tl::unexpected(a.error());
    }
    auto b = load_batch(tx, batch_id);
    if (!b) return tl::unexpected(b.error());
    out = exceptions_of(tx, *b);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

namespace {

// The batch's audit trail as its reviewer reads it: every entry about the batch, its steps, its
// deviations and its charges, in trail order.
std::vector<AuditEntry> batch_trail(Transaction& tx, const std::string& batch_id) {
  std::vector<AuditEntry> out = tx.audit_of("batch", batch_id);
  const auto add = [&](const char* type, const std::vector<Document>& docs) {
    for (const auto& d : docs) {
      auto entries = tx.audit_of(type, d.id);
      out.insert(out.end(), entries.begin(), entries.end());
    }
  };
  add("step", tx.list("step", batch_id));
  add("deviation", tx.list("deviation", batch_id));
  add("charge", tx.list("charge", "", batch_id));
  std::sort(out.begin(), out.end(),
            [](const AuditEntry& x, const AuditEntry& y) { return x.seq < y.seq; });
  return out;
}

// What a reviewer signs of the trail: how many entries, up to which, and their chained hashes.
struct TrailDigest {
  std::int64_t entries = 0;
  std::int64_t through_seq = 0;
  std::string sha256;
};

TrailDigest digest_of(const std::vector<AuditEntry>& trail, std::int64_t through_seq) {
  TrailDigest d;
  d.through_seq = through_seq;
  std::string all;
  for (const auto& e : trail) {
    if (e.seq > through_seq) break;
    all += std::to_string(e.seq) + " " + e.hash + "\n";
    ++d.entries;
  }
  d.sha256 = crypto::sha256_hex(all);
  return d;
}

}  // namespace

Result<void> Mes::mark_reviewed(const std::string& actor, SigningSession& session,
                                const std::string& batch_id, const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  return command(actor, "mark_reviewed", "batch", batch_id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kReviewBatch, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (signer->id != actor) return refuse(Code::kBadSignature, "the signer must be the reviewer");
    auto b = load_batch(tx, batch_id);
    if (!b) return tl::unexpected(b.error());
    if (!isa88::is_final(b->state)) {
      return refuse(Code::kOutOfSequence, "batch " + batch_id + " has not ended");
    }
    const auto exceptions = exceptions_of(tx, *b);
    const std::string record = batch_record_hash(tx, *b);
    // The audit trail review (Annex 11 §9, 211.192): the reviewer signs the batch's trail as it
    // stands (its entries' hashes up to the last), as well as the record and its exceptions.
    const auto trail = batch_trail(tx, batch_id);
    const TrailDigest digest = digest_of(trail, trail.empty() ? 0 : trail.back().seq);
    TrailReview review{
        batch_id + "/R" + std::to_string(tx.list(TrailReview::kType, batch_id).size() + 1),
        batch_id,
        digest.entries,
        digest.through_seq,
        digest.sha256,
        record,
        static_cast<std::int64_t>(exceptions.size()),
        {}};
    if (auto p = detail::save(tx, actor, review, "create", "audit trail reviewed"); !p) return p;
    auto trail_sig = sign(tx, session, *signer, signature, Meaning::kReviewed, "trail_review",
                          review.id, signed_hash(*tx.get(TrailReview::kType, review.id)));
    if (!trail_sig) return tl::unexpected(trail_sig.error());
    auto sig = sign(tx, session, *signer, signature, Meaning::kReviewed, "batch", batch_id, record);
    if (!sig) return tl::unexpected(sig.error());
    b->reviewed = true;
    b->reviewed_exceptions = static_cast<int>(exceptions.size());
    b->trail_review = review.id;
    return detail::save(tx, actor, *b, "review",
                        std::to_string(exceptions.size()) + " exceptions reviewed");
  });
}

namespace {

// The latest record hash the trail holds for a record, or empty (written before record hashes).
std::string proven_hash(Transaction& tx, const std::string& type, const std::string& id) {
  const auto entries = tx.audit_of(type, id);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (!it->record_hash.empty()) return it->record_hash;
  }
  return {};
}

// A lot's status just before the audit entry `before_seq`, from the lot's own trail (its
// creation and every status change are entries with field flow.status), not its status now.
std::string lot_status_before(Transaction& tx, const std::string& lot_id, std::int64_t before_seq) {
  std::string status;
  for (const auto& e : tx.audit_of("lot", lot_id)) {
    if (e.seq >= before_seq) break;
    if (e.field == "flow.status") status = e.new_value;
  }
  return status;
}

// Genealogy reconciled (211.188(b), 211.101(c)): every accepted weighing of the batch has its
// charge (the lot-to-batch link a recall follows) with the same lot and net, no charge of the
// batch lacks its weighing, each lot was released and unexpired when it was weighed (by the
// lot's trail at the charge's entry, not its status today), and each lot's consumed quantity is
// the total of its charges (dispensed = consumed). Nothing here can fail through the
// application's own commands: it catches records changed or removed behind it.
void genealogy_problems(Transaction& tx, const std::string& batch_id,
                        const std::vector<Step>& steps, std::vector<std::string>& reasons) {
  struct Weighed {
    std::string lot;
    Quantity net;
    Millis at = 0;
  };
  std::map<std::string, Weighed> weighed;  // by charge id: step id / weighing number
  for (const auto& step : steps) {
    for (std::size_t i = 0; i < step.weighings.size(); ++i) {
      const WeighingEntry& w = step.weighings[i];
      if (w.accepted) weighed[step.id + "/" + std::to_string(i + 1)] = {w.lot, w.net, w.at};
    }
  }
  std::set<std::string> lots;
  for (const auto& [charge_id, w] : weighed) lots.insert(w.lot);
  for (const auto& charge : tx.list(Charge::kType, "", batch_id)) lots.insert(charge.parent);
  std::set<std::string> charged;
  for (const auto& lot_id : lots) {
    auto lot = detail::load<Lot>(tx, lot_id, "lot");
    if (!lot) {
      reasons.push_back("genealogy: lot " + lot_id + " of the batch's weighings is not on record");
      continue;
    }
    Quantity all_charges;
    std::vector<std::string> unreadable;
    for (const auto& charge : detail::list_of<Charge>(tx, lot_id, "", unreadable)) {
      const Quantity& net = charge.net;
      all_charges = all_charges + net;
      if (charge.batch != batch_id) continue;
      charged.insert(charge.id);
      auto it = weighed.find(charge.id);
      if (it == weighed.end()) {
        reasons.push_back("genealogy: charge " + charge.id + " of lot " + lot_id +
                          " has no accepted weighing in the batch");
        continue;
      }
      if (it->second.lot != lot_id || it->second.net != net) {
        reasons.push_back("genealogy: charge " + charge.id + " (" + net.text() + " " + lot->unit +
                          " of lot " + lot_id + ") differs from its weighing (" +
                          it->second.net.text() + " of lot " + it->second.lot + ")");
      }
      const auto entries = tx.audit_of("charge", charge.id);
      const std::int64_t at_seq = entries.empty() ? 0 : entries.front().seq;
      const std::string status = lot_status_before(tx, lot_id, at_seq);
      if (status != "released") {
        reasons.push_back("genealogy: lot " + lot_id + " was " +
                          (status.empty() ? "not on record" : status) + ", not released, when " +
                          charge.id + " was weighed");
      }
      if (lot->expired_at(it->second.at)) {
        reasons.push_back("genealogy: lot " + lot_id + " had expired when " + charge.id +
                          " was weighed");
      }
    }
    for (const auto& why : unreadable) reasons.push_back("genealogy: " + why);
    if (all_charges != lot->consumed) {
      reasons.push_back("genealogy: lot " + lot_id + " shows " + lot->consumed.text() + " " +
                        lot->unit + " consumed but its charges total " + all_charges.text());
    }
  }
  for (const auto& [charge_id, w] : weighed) {
    if (!charged.contains(charge_id)) {
      reasons.push_back("genealogy: the weighing " + charge_id + " of lot " + w.lot +
                        " has no charge to the batch");
    }
  }
}

// The signed audit trail review still stands: its record is there with a valid reviewer's
// signature, the trail it covered hashes as it did, and neither the batch nor a step was written
// after it (an output recorded after the review, say): otherwise the batch is reviewed again.
void trail_review_problems(Transaction& tx, const Batch& b, const std::string& public_key,
                           std::vector<std::string>& reasons) {
  const std::string& id = b.trail_review;
  const auto doc = id.empty() ? std::nullopt : tx.get(TrailReview::kType, id);
  if (!doc) {
    reasons.push_back("the audit trail review is not on record (review the batch again)");
    return;
  }
  const auto review = decode<TrailReview>(*doc);
  if (!review) {
    reasons.push_back(review.error().message);
    return;
  }
  const auto trail = batch_trail(tx, b.id);
  const std::int64_t through = review->through_seq;
  const TrailDigest now = digest_of(trail, through);
  if (now.sha256 != review->sha256) {
    reasons.push_back("the audit trail up to entry " + std::to_string(through) +
                      " is not the one reviewed in " + id + " (" + std::to_string(now.entries) +
                      " entries now, " + std::to_string(review->entries) + " reviewed)");
  }
  bool signed_review = false;
  for (const auto& sig : tx.signatures_of("trail_review", id)) {
    signed_review |= sig.meaning == Meaning::kReviewed &&
                     check_signature(sig, "trail_review", id, signed_hash(*doc), public_key) ==
                         SignatureCheck::kValid;
  }
  if (!signed_review) reasons.push_back("the audit trail review " + id + " is not validly signed");
  for (const auto& e : trail) {
    if (e.seq > through && !e.record_hash.empty() && e.action != "review" &&
        (e.object_type == "batch" || e.object_type == "step")) {
      reasons.push_back("the batch record changed after its review (entry " +
                        std::to_string(e.seq) + ": " + e.action + " " + e.object_type + " " +
                        e.object_id + "): review it again");
      break;
    }
  }
}

// Why the batch cannot be released (211.192, Annex 11 §9), every reason; empty: releasable.
std::vector<std::string> release_blockers(Transaction& tx, const Batch& b,
                                          const std::string& chain_problem,
                                          const std::string& public_key) {
  std::vector<std::string> reasons;
  const std::string& batch_id = b.id;
  if (!b.reviewed) {
    reasons.push_back("the exceptions are not reviewed");
  } else {
    trail_review_problems(tx, b, public_key, reasons);
  }
  const BatchYield yield = detail::yield_of(b);
  if (!yield.recorded) {
    reasons.push_back("no output is recorded");
  } else if (!yield.within_limits()) {
    reasons.push_back("the yield " + detail::number_text(std::round(yield.percent * 10) / 10) +
                      " % of theoretical (" + detail::number_text(yield.output) + " of " +
                      detail::number_text(yield.theoretical) + ") is outside the master's " +
                      detail::number_text(yield.low_pct) + "-" +
                      detail::number_text(yield.high_pct) + " %");
  }
  std::vector<std::string> unreadable;
  for (const auto& d : detail::list_of<Deviation>(tx, batch_id, "", unreadable)) {
    if (d.status != DeviationStatus::kClosed) {
      reasons.push_back("deviation " + d.id + " is still open");
    }
  }
  const auto steps = detail::list_of<Step>(tx, batch_id, "", unreadable);
  for (const auto& step : steps) {
    if (step.status != StepStatus::kComplete) {
      reasons.push_back("step " + step.id + " is " + std::string(to_string(step.status)));
    }
  }
  genealogy_problems(tx, batch_id, steps, reasons);
  for (const auto& alarm : detail::list_of<Alarm>(tx, "", "active", unreadable)) {
    if (std::find(alarm.batches.begin(), alarm.batches.end(), batch_id) != alarm.batches.end()) {
      reasons.push_back("alarm " + alarm.id + " is not acknowledged");
    }
  }
  for (const auto& why : unreadable) reasons.push_back(why);
  if (!chain_problem.empty()) {
    reasons.push_back("the audit trail does not verify (" + chain_problem + ")");
  }
  // The batch's records as the chain proved them, and every signature on them.
  std::vector<Document> records;
  if (auto stored = tx.get(Batch::kType, batch_id)) records.push_back(std::move(*stored));
  for (auto& step : tx.list(Step::kType, batch_id)) records.push_back(std::move(step));
  const std::string batch_hash = batch_record_hash(tx, b);  // what its signatures cover
  for (const Document& doc : records) {
    const std::string proven = proven_hash(tx, doc.type, doc.id);
    if (!proven.empty() && proven != record_hash(doc)) {
      reasons.push_back(doc.type + " " + doc.id +
                        " differs from the version its audit trail wrote");
    }
    for (const auto& sig : tx.signatures_of(doc.type, doc.id)) {
      const std::string hash = doc.type == Batch::kType
                                   ? batch_hash
                                   : detail::content_hash(doc.type, doc.id, detail::body_of(doc));
      const auto check = check_signature(sig, doc.type, doc.id, hash, public_key);
      if (check != SignatureCheck::kValid) {
        reasons.push_back("signature " + sig.id + " on " + doc.id + ": " +
                          std::string(to_string(check)));
      }
    }
  }
  return reasons;
}

}  // namespace

Result<void> Mes::release_batch(const std::string& actor, SigningSession& session,
                                const std::string& batch_id, bool release,
                                const std::string& reason, const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  // The whole chain against its signed checkpoints, before the release transaction (a walk of
  // the trail; entries appended meanwhile come after what was verified).
  std::optional<ChainProblem> chain_problem;
  if (release) {
    auto checked = verify_chain({});
    if (!checked) return tl::unexpected(checked.error());
    chain_problem = checked->problem();
  }
  return command(
      actor, release ? "release_batch" : "reject_batch", "batch", batch_id,
      [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kReleaseBatch, config_); !a) {
          return tl::unexpected(a.error());
        }
        if (signer->id != actor) return refuse(Code::kBadSignature, "the signer must be the actor");
        if (auto rr = detail::require_reason(reason); !rr) return rr;
        auto b = load_batch(tx, batch_id);
        if (!b) return tl::unexpected(b.error());
        if (b->disposition != Disposition::kNone) {
          return refuse(Code::kRecordImmutable, "batch " + batch_id + " is already " +
                                                    std::string(to_string(b->disposition)));
        }
        if (release ? b->state != State::kComplete : !isa88::is_final(b->state)) {
          return refuse(
              Code::kNotReleasable,
              "batch " + batch_id + " is " + std::string(isa88::to_string(b->state)) +
                  (release ? ": only a Complete batch is released" : ": it has not ended"));
        }
        for (const auto& who : b->performers) {
          if (who == actor) {
            return refuse(Code::kSameUser,
                          "QA who performed a step of the batch cannot release it");
          }
        }
        if (release) {
          // 211.192, Annex 11 §9: every reason the batch cannot be released, each named.
          std::vector<std::string> reasons =
              release_blockers(tx, *b, chain_problem ? chain_problem->message : "", public_key_);
          if (!reasons.empty()) {
            std::string all;
            for (const auto& why : reasons) all += (all.empty() ? "" : "; ") + why;
            return refuse(Code::kNotReleasable,
                          "batch " + batch_id + " cannot be released: " + all);
          }
        }
        auto sig =
            sign(tx, session, *signer, signature, release ? Meaning::kReleased : Meaning::kRejected,
                 "batch", batch_id, batch_record_hash(tx, *b));
        if (!sig) return tl::unexpected(sig.error());
        b->disposition = release ? Disposition::kReleased : Disposition::kRejected;
        b->disposition_by = actor;
        b->disposition_at = tx.now();
        b->disposition_reason = reason;
        return detail::save(tx, actor, *b, release ? "release" : "reject", reason);
      });
}

BatchYield batch_yield(const Document& batch) {
  const auto b = decode<Batch>(batch);
  return b ? detail::yield_of(*b) : BatchYield{};
}

Result<std::vector<std::string>> Mes::lots_of_batch(const std::string& batch_id) {
  std::vector<std::string> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    std::vector<std::string> unreadable;
    for (const auto& step : detail::list_of<Step>(tx, batch_id, "", unreadable)) {
      for (const auto& w : step.weighings) {
        if (w.accepted) out.push_back(w.lot);
      }
    }
    if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<std::string>> Mes::batches_of_lot(const std::string& lot_id) {
  std::vector<std::string> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    for (const auto& c : tx.list("charge", lot_id)) out.push_back(c.state);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace mes
