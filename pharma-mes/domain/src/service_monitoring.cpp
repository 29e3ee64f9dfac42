// Mes: environmental monitoring (readings, alarms, data gaps), batch output and the KPIs.
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "service_support.hpp"

namespace mes {

using detail::json;

namespace {

constexpr const char* kIngest = "sensor-ingest";

int level_rank(const std::string& level) {
  return level == "action" ? 2 : level == "alert" ? 1 : 0;
}

// Batches running a step on equipment in `room` (the equipment's area or unit).
std::vector<std::string> batches_in_room(Transaction& tx, const std::string& room) {
  std::vector<std::string> out;
  for (const auto& batch : tx.list("batch", "", "Running")) {
    std::vector<std::string> unreadable;  // named by verify and the release gate, not here
    for (const auto& step : detail::list_of<Step>(tx, batch.id, "running", unreadable)) {
      const std::string& eq = step.equipment;
      if (eq.empty()) continue;
      auto e = detail::load<Equipment>(tx, eq, "equipment", true);
      if (e && (e->area == room || e->unit == room)) out.push_back(batch.id);
    }
  }
  return out;
}

Result<std::string> open_alarm(Transaction& tx, const Sensor& sensor, const std::string& level,
                               double value, Millis at, const std::vector<std::string>& batches) {
  Alarm alarm;
  alarm.id = "ALM-" + sensor.id + "-" + std::to_string(at) + "-" + level;
  if (tx.get(Alarm::kType, alarm.id)) return alarm.id;  // the same reading sent twice
  alarm.sensor = sensor.id;
  alarm.room = sensor.room;
  alarm.kind = sensor.kind;
  alarm.level = level;
  alarm.value = value;
  alarm.unit = sensor.unit;
  alarm.at = at;
  alarm.batches = batches;
  if (auto r = detail::save(tx, kIngest, alarm, "create", ""); !r) {
    return tl::unexpected(r.error());
  }
  return alarm.id;
}

}  // namespace

Result<Mes::ReadingsOutcome> Mes::record_readings(const std::vector<SensorReading>& readings) {
  ReadingsOutcome outcome;
  auto r = transact([&](Transaction& tx) -> Result<void> {
    outcome = {};
    struct SensorView {
      Sensor sensor;
      Document state;
      json runtime;
      bool known = false;
      std::string unknown_why;  // unregistered, voided or unreadable
    };
    std::map<std::string, SensorView> sensors;
    std::vector<Reading> rows;
    rows.reserve(readings.size());
    std::map<std::string, std::string> rejected_by_sensor;  // one audit line per sensor
    for (std::size_t i = 0; i < readings.size(); ++i) {
      const SensorReading& in = readings[i];
      auto [it, inserted] = sensors.try_emplace(in.sensor_id);
      SensorView& s = it->second;
      if (inserted) {
        auto sensor = detail::load<Sensor>(tx, in.sensor_id, "sensor");
        if (!sensor) {
          s.unknown_why = sensor.error().code == Code::kNotFound
                              ? "unregistered sensor " + in.sensor_id
                              : sensor.error().message;
        } else {
          s.known = true;
          s.sensor = std::move(*sensor);
          auto state = tx.get("sensor_state", in.sensor_id);
          s.state =
              state ? *state : Document{"sensor_state", in.sensor_id, 0, "", "", "", false, {}};
          s.runtime = state ? json::parse(state->body, nullptr, false) : json::object();
          if (!s.runtime.is_object()) s.runtime = json::object();
        }
      }
      const auto reject = [&](Code code, std::string message) {
        rejected_by_sensor.try_emplace(in.sensor_id, message);
        outcome.rejected.push_back({i, code, std::move(message)});
      };
      if (!s.known) {
        reject(Code::kUnknownDevice, s.unknown_why);
        continue;
      }
      if (!std::isfinite(in.value)) {
        reject(Code::kInvalid, "reading of " + in.sensor_id + " is not a number");
        continue;
      }
      if (in.at <= 0) {
        reject(Code::kInvalid, "reading of " + in.sensor_id + " has no time");
        continue;
      }
      if (in.at > tx.now() + config_.max_reading_ahead) {
        reject(Code::kInvalid, "reading of " + in.sensor_id + " is dated " +
                                   std::to_string((in.at - tx.now()) / 1000) +
                                   " s ahead of server time (device clock?)");
        continue;
      }
      const Sensor& sensor = s.sensor;
      if (in.unit != sensor.unit) {
        reject(Code::kInvalid, in.sensor_id + " reads in " + sensor.unit + ", not " + in.unit);
        continue;
      }
      std::string level;
      if (in.value < sensor.action_low || in.value > sensor.action_high) {
        level = "action";
      } else if (in.value < sensor.alert_low || in.value > sensor.alert_high) {
        level = "alert";
      }
      std::string flags = level;
      if (sensor.calibration_due <= in.at) {
        flags += flags.empty() ? "uncalibrated" : ",uncalibrated";
      }
      rows.push_back(Reading{in.sensor_id, in.at, in.value, flags, 0});
      ++outcome.stored;
      if (in.at >= s.runtime.value("last_reading_at", Millis{0}))
        s.runtime["last_value"] = in.value;
      s.runtime["last_reading_at"] = std::max(s.runtime.value("last_reading_at", Millis{0}), in.at);
      s.runtime["gap_open"] = false;
      const std::string current = s.runtime.value("excursion", "");
      if (level_rank(level) > level_rank(current)) {
        const auto batches =
            level == "action" ? batches_in_room(tx, sensor.room) : std::vector<std::string>{};
        auto alarm = open_alarm(tx, sensor, level, in.value, in.at, batches);
        if (!alarm) return tl::unexpected(alarm.error());
        ++outcome.alarms;
        for (const auto& batch : batches) {
          Deviation d;
          d.id = batch + "-DEV-" + std::to_string(tx.list(Deviation::kType, batch).size() + 1);
          d.batch = batch;
          d.cause = "environmental_excursion";
          d.description = in.sensor_id + " " + detail::number_text(in.value) + " " + in.unit +
                          " beyond its action limit (" + *alarm + ")";
          d.opened_by = kIngest;
          d.opened_at = in.at;
          d.automatic = true;
          if (auto p = detail::save(tx, kIngest, d, "create", ""); !p) return p;
        }
      }
      s.runtime["excursion"] = level;
    }
    if (!rows.empty()) {
      if (auto a = tx.add_readings(rows); !a) return a;
    }
    for (auto& [id, s] : sensors) {
      if (!s.known) continue;
      // Runtime state of the monitor (last reading, open excursion): not a GMP record, kept
      // outside the audit trail so that readings do not flood it.
      s.state.body = s.runtime.dump();
      if (auto p = tx.put(s.state); !p) return p;
    }
    for (const auto& [sensor, message] : rejected_by_sensor) {
      if (auto a = detail::audit(tx, kIngest, "refused", "sensor", sensor, "record_readings", "",
                                 "unknown_device or invalid: " + message, "");
          !a) {
        return a;
      }
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return outcome;
}

Result<void> Mes::acknowledge_alarm(const std::string& actor, SigningSession& session,
                                    const std::string& alarm_id, const std::string& comment,
                                    const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  return command(
      actor, "acknowledge_alarm", "alarm", alarm_id, [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kAcknowledgeAlarm, config_); !a) {
          return tl::unexpected(a.error());
        }
        if (signer->id != actor) return refuse(Code::kBadSignature, "the signer must be the actor");
        if (comment.empty()) {
          return refuse(Code::kReasonRequired, "an acknowledgement needs a comment", "comment");
        }
        auto alarm = detail::load<Alarm>(tx, alarm_id, "alarm");
        if (!alarm) return tl::unexpected(alarm.error());
        if (alarm->status != AlarmStatus::kActive) {
          return refuse(Code::kConflict, "alarm " + alarm_id + " is already acknowledged");
        }
        alarm->status = AlarmStatus::kAcknowledged;
        alarm->acknowledged_by = actor;
        alarm->acknowledged_at = tx.now();
        alarm->comment = comment;
        if (auto p = detail::save(tx, actor, *alarm, "acknowledge", comment); !p) return p;
        // The signature covers the alarm's data (what was measured), which acknowledging
        // leaves as it was.
        auto sig = sign(tx, session, *signer, signature, Meaning::kReviewed, "alarm", alarm_id,
                        signed_hash(*tx.get(Alarm::kType, alarm_id)));
        if (!sig) return tl::unexpected(sig.error());
        return {};
      });
}

Result<int> Mes::check_data_gaps() {
  int opened = 0;
  auto r = transact([&](Transaction& tx) -> Result<void> {
    opened = 0;
    for (const auto& doc : tx.list("sensor")) {
      auto sensor = decode<Sensor>(doc);
      if (!sensor) continue;  // unreadable: one sensor must not stop the others' checks
      auto state = tx.get("sensor_state", sensor->id);
      Document st = state ? *state : Document{"sensor_state", sensor->id, 0, "", "", "", false, {}};
      json runtime = state ? json::parse(state->body, nullptr, false) : json::object();
      if (!runtime.is_object()) runtime = json::object();
      if (runtime.value("gap_open", false)) continue;
      const Millis last = runtime.value("last_reading_at", sensor->created_at);
      const Millis allowed = 2LL * 1000 * sensor->interval_seconds;
      if (last == 0 || tx.now() - last <= allowed) continue;
      auto alarm = open_alarm(tx, *sensor, "data_gap", 0, tx.now(), {});
      if (!alarm) return tl::unexpected(alarm.error());
      runtime["gap_open"] = true;
      st.body = runtime.dump();
      if (auto p = tx.put(st); !p) return p;
      ++opened;
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return opened;
}

Result<int> Mes::seal_readings(Millis lag) {
  int sealed = 0;
  auto r = transact([&](Transaction& tx) -> Result<void> {
    sealed = 0;
    const Millis through = tx.now() - lag;
    for (const auto& sensor : tx.list("sensor")) {
      const auto previous = detail::last_seal(tx, sensor.id);
      const Millis after = previous ? previous->through : 0;
      if (through <= after) continue;
      const auto rows = tx.readings_stored(sensor.id, after, through);
      if (rows.empty()) continue;  // nothing new: no entry (the next seal starts at `after`)
      const detail::ReadingsSeal seal{after, through, static_cast<std::int64_t>(rows.size()),
                                      readings_digest(rows)};
      if (auto a = detail::audit(tx, "system", "seal", "sensor", sensor.id, "readings", "",
                                 detail::seal_text(seal), "");
          !a) {
        return a;
      }
      ++sealed;
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return sealed;
}

Result<std::vector<Alarm>> Mes::alarms(bool active_only) {
  std::vector<Alarm> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    std::vector<std::string> unreadable;
    out = detail::list_of<Alarm>(tx, "", active_only ? "active" : "", unreadable);
    if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

Result<void> Mes::record_output(const std::string& actor, const std::string& batch_id,
                                double quantity, const std::string& output_lot,
                                const std::string& unit) {
  return command(actor, "record_output", "batch", batch_id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kExecuteStep, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (!(quantity >= 0) || !std::isfinite(quantity)) {
      return refuse(Code::kInvalid, "the output is a quantity >= 0", "quantity");
    }
    auto batch = detail::load<Batch>(tx, batch_id, "batch", true);
    if (!batch) return tl::unexpected(batch.error());
    if (batch->state != isa88::State::kComplete) {
      return refuse(Code::kOutOfSequence, "the output is recorded when the batch is Complete");
    }
    if (batch->reviewed) {
      return refuse(Code::kRecordImmutable, "batch " + batch_id + " is reviewed");
    }
    const std::string had_lot = batch->output_lot;
    if (!output_lot.empty() || !had_lot.empty()) {
      const std::string lot_id = output_lot.empty() ? had_lot : output_lot;
      if (!had_lot.empty() && lot_id != had_lot) {
        return refuse(Code::kConflict, "batch " + batch_id + " already produced lot " + had_lot,
                      "lot");
      }
      const auto amount = Quantity::exactly(quantity);
      if (!amount || !amount->positive() || !amount->in_range()) {
        return refuse(Code::kInvalid,
                      "an output lot's quantity is positive, at most 1e9 and "
                      "exact to a millionth",
                      "quantity");
      }
      if (unit.empty() || unit.size() > 16) {
        return refuse(Code::kInvalid, "a unit of 1 to 16 characters", "unit");
      }
      if (auto existing = tx.get("lot", lot_id); !existing) {
        Lot lot;
        lot.id = lot_id;
        lot.material = batch->recipe.product;
        lot.quantity = *amount;
        lot.unit = unit;
        lot.produced_by = batch_id;
        if (auto saved = detail::save(tx, actor, lot, "create", "output of batch " + batch_id);
            !saved) {
          return saved;
        }
      } else {
        auto lot = decode<Lot>(*existing);
        if (!lot) return tl::unexpected(lot.error());
        if (lot->produced_by != batch_id) {
          return refuse(Code::kConflict, "lot " + lot_id + " exists", "lot");
        }
        if (lot->status != LotStatus::kQuarantine || lot->consumed.positive()) {
          return refuse(Code::kRecordImmutable,
                        "lot " + lot_id + " is " + std::string(to_string(lot->status)) +
                            (lot->consumed.positive() ? " and in use" : "") +
                            ": its quantity stays");
        }
        lot->quantity = *amount;
        if (auto saved = detail::save(tx, actor, *lot, "modify", "output corrected"); !saved) {
          return saved;
        }
      }
      batch->output_lot = lot_id;
    }
    const bool changed = batch->output.has_value();
    batch->output = quantity;
    return detail::save(tx, actor, *batch, "modify",
                        changed ? "output corrected" : "output recorded");
  });
}

Result<std::vector<Mes::TraceNode>> Mes::trace_lot(const std::string& actor,
                                                   const std::string& lot_id,
                                                   TraceDirection direction) {
  std::vector<TraceNode> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kViewRecords, config_); !a) {
      return tl::unexpected(a.error());
    }
    std::set<std::pair<std::string, std::string>> seen;
    std::deque<TraceNode> queue;
    auto visit = [&](const std::string& kind, const std::string& id, int depth,
                     const std::string& via) {
      if (id.empty() || !seen.emplace(kind, id).second) return;
      queue.push_back(TraceNode{kind, id, depth, via, {}, {}});
    };
    if (!tx.get("lot", lot_id)) return refuse(Code::kNotFound, "no lot " + lot_id, "lot");
    visit("lot", lot_id, 0, "");
    while (!queue.empty()) {
      TraceNode node = std::move(queue.front());
      queue.pop_front();
      if (node.kind == "lot") {
        auto lot = detail::load<Lot>(tx, node.id, "lot", true);
        if (!lot) return tl::unexpected(lot.error());
        node.status = std::string(to_string(lot->status)) + (lot->meta.voided ? " (voided)" : "");
        node.detail = lot->material + ", " + lot->remaining().text() + " " + lot->unit + " left";
        if (direction == TraceDirection::kBackward) {
          visit("batch", lot->produced_by, node.depth + 1, node.id);
        } else {
          std::vector<std::string> batches;
          for (const auto& c : tx.list("charge", node.id)) batches.push_back(c.state);
          std::sort(batches.begin(), batches.end());
          for (const auto& b : batches) visit("batch", b, node.depth + 1, node.id);
        }
      } else {
        auto b = detail::load<Batch>(tx, node.id, "batch", true);
        if (!b) return tl::unexpected(b.error());
        const std::string disposition(to_string(b->disposition));
        node.status = std::string(isa88::to_string(b->state)) +
                      (disposition.empty() ? "" : "/" + disposition);
        node.detail = b->master;
        if (direction == TraceDirection::kBackward) {
          std::vector<std::string> lots, unreadable;
          for (const auto& step : detail::list_of<Step>(tx, node.id, "", unreadable)) {
            for (const auto& w : step.weighings) {
              if (w.accepted) lots.push_back(w.lot);
            }
          }
          if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
          std::sort(lots.begin(), lots.end());
          for (const auto& l : lots) visit("lot", l, node.depth + 1, node.id);
        } else {
          visit("lot", b->output_lot, node.depth + 1, node.id);
        }
      }
      out.push_back(std::move(node));
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

namespace {

// What a terminal batch's record says about its integrity: `software` names the first fault the
// software is answerable for (an illegal transition, a completed step without its actor or
// verification, an audit entry that does not verify); `process` the first open matter people
// are answerable for (an undispositioned deviation). Both empty: intact.
struct BatchIntegrityCheck {
  std::string software, process;
  bool failed_weighing = false, changed = false;
  double standard_ms = 0;
  std::size_t deviations = 0;
};

BatchIntegrityCheck check_batch_integrity(Transaction& tx, const Batch& batch) {
  BatchIntegrityCheck c;
  std::string& why = c.software;
  // Every transition legal, replayed from Idle through the table.
  auto replay = isa88::State::kIdle;
  for (const auto& e : batch.events) {
    const auto cmd = isa88::parse_command(e.command);
    auto next = cmd ? isa88::next_state(replay, *cmd) : std::nullopt;
    if (!next && replay == isa88::State::kIdle && cmd == isa88::Command::kAbort) {
      next = isa88::State::kAborting;  // the table before #18 allowed it: such records stay intact
    }
    if (!next) {
      why = "illegal transition " + e.command + " in " + std::string(isa88::to_string(replay));
      break;
    }
    replay = isa88::settle(*next);
  }
  const auto& phases = batch.recipe.phases;
  std::vector<std::string> unreadable;
  for (const auto& step : detail::list_of<Step>(tx, batch.id, "", unreadable)) {
    const std::size_t n = static_cast<std::size_t>(step.n);
    const PhaseSpec spec = n >= 1 && n <= phases.size() ? phases[n - 1] : PhaseSpec{};
    c.standard_ms += spec.standard_minutes * 60'000.0;
    if (step.status == StepStatus::kComplete) {
      if (step.started_by.empty() || step.completed_by.empty()) {
        why = why.empty() ? "step " + step.id + " has no actor" : why;
      }
      if (spec.second_person_verification && step.verified_by.empty()) {
        why = why.empty() ? "step " + step.id + " lacks its verification" : why;
      }
    }
    for (const auto& w : step.weighings) c.failed_weighing = c.failed_weighing || !w.accepted;
    for (const auto& [name, p] : step.parameters) c.changed = c.changed || p.changed;
    for (const auto& e : tx.audit_of("step", step.id)) {
      if (crypto::sha256_hex(canonical(e)) != e.hash && why.empty()) {
        why = "audit entry " + std::to_string(e.seq) + " does not verify";
      }
    }
  }
  if (!unreadable.empty() && why.empty()) why = unreadable.front();
  for (const auto& e : tx.audit_of("batch", batch.id)) {
    if (crypto::sha256_hex(canonical(e)) != e.hash && why.empty()) {
      why = "audit entry " + std::to_string(e.seq) + " does not verify";
    }
  }
  const auto deviations = tx.list("deviation", batch.id);
  c.deviations = deviations.size();
  for (const auto& d : deviations) {
    if (d.state != "closed" && c.process.empty()) {
      c.process = "deviation " + d.id + " is not dispositioned";
    }
  }
  return c;
}

}  // namespace

Result<std::vector<Mes::BatchIntegrity>> Mes::batch_integrity(Millis ended_since,
                                                              const std::set<std::string>& known,
                                                              const std::string& instance) {
  std::vector<BatchIntegrity> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    for (const auto& doc : tx.list(Batch::kType)) {
      const auto state = isa88::parse_state(doc.state).value_or(isa88::State::kIdle);
      if (!isa88::is_final(state) || known.count(doc.id) > 0) continue;
      auto batch = decode<Batch>(doc);
      if (!batch) {  // a record this software cannot read is its fault
        out.push_back({doc.id, doc.state, 0, true, batch.error().message});
        continue;
      }
      BatchIntegrity item{batch->id, doc.state, batch->ended_at, false, {}};
      if (batch->ended_at >= ended_since && (instance.empty() || batch->ended_on == instance)) {
        item.checked = true;
        item.software_fault = check_batch_integrity(tx, *batch).software;
      }
      out.push_back(std::move(item));
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.ended_at < b.ended_at; });
  return out;
}

Result<Mes::Kpis> Mes::kpis() {
  Kpis k;
  double output = 0, output_size = 0, efficiency_sum = 0;
  int efficiency_n = 0;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    for (const auto& doc : tx.list(Batch::kType)) {
      const auto state = isa88::parse_state(doc.state).value_or(isa88::State::kIdle);
      if (!isa88::is_final(state)) continue;
      ++k.terminal;
      auto read = decode<Batch>(doc);
      if (!read) {
        k.not_intact.push_back(doc.id + ": " + read.error().message);
        continue;
      }
      const Batch& batch = *read;
      const auto check = check_batch_integrity(tx, batch);
      std::string why = check.software.empty() ? check.process : check.software;
      const bool failed_weighing = check.failed_weighing, changed = check.changed;
      const double standard = check.standard_ms;
      if (why.empty()) {
        ++k.intact;
      } else {
        k.not_intact.push_back(batch.id + ": " + why);
      }
      if (state == isa88::State::kComplete) {
        ++k.complete;
        bool held = false;
        for (const auto& e : batch.events) held = held || e.command == "Hold";
        if (check.deviations == 0 && !failed_weighing && !held && !changed) ++k.right_first_time;
        const Millis run = batch.ended_at - batch.started_at - batch.held_ms;
        if (run > 0) {
          efficiency_sum += std::min(1.0, standard / static_cast<double>(run));
          ++efficiency_n;
        }
        if (batch.output) {
          output += *batch.output;
          output_size += batch.size;
        }
      }
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  k.integrity = k.terminal == 0 ? 1.0 : static_cast<double>(k.intact) / k.terminal;
  k.right_first_time_ratio =
      k.complete == 0 ? 1.0 : static_cast<double>(k.right_first_time) / k.complete;
  k.yield = output_size > 0 ? output / output_size : 0;
  k.cycle_time_efficiency = efficiency_n == 0 ? 0 : efficiency_sum / efficiency_n;
  return k;
}

Result<Mes::PlantStatus> Mes::plant_status(Millis deviation_due_ms) {
  PlantStatus p;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    std::vector<std::string> unreadable;  // counted open and past due: someone must look
    for (const auto& d : detail::list_of<Deviation>(tx, "", "open", unreadable)) {
      ++p.deviations_open;
      if (tx.now() - d.opened_at > deviation_due_ms) ++p.deviations_past_due;
    }
    p.deviations_open += static_cast<int>(unreadable.size());
    p.deviations_past_due += static_cast<int>(unreadable.size());
    std::vector<std::string> unreadable_batches;  // awaiting review: someone must look
    for (const auto& batch : detail::list_of<Batch>(tx, "", "Complete", unreadable_batches)) {
      if (batch.disposition != Disposition::kNone) continue;
      ++(batch.reviewed ? p.batches_awaiting_release : p.batches_awaiting_review);
    }
    p.batches_awaiting_review += static_cast<int>(unreadable_batches.size());
    std::vector<std::string> unreadable_users;  // not known to be able to work: counted locked
    for (const auto& u : detail::list_of<User>(tx, "", "", unreadable_users)) {
      p.users_locked += u.status == AccountStatus::kLocked ? 1 : 0;
    }
    p.users_locked += static_cast<int>(unreadable_users.size());
    for (const auto& doc : tx.list("sensor")) {
      auto sensor = decode<Sensor>(doc);
      if (!sensor) continue;  // unreadable: one sensor must not stop the others' checks
      SensorStatus s;
      s.id = sensor->id;
      s.room = sensor->room;
      s.kind = sensor->kind;
      s.unit = sensor->unit;
      s.alert_low = sensor->alert_low;
      s.alert_high = sensor->alert_high;
      s.action_low = sensor->action_low;
      s.action_high = sensor->action_high;
      if (auto state = tx.get("sensor_state", sensor->id)) {
        const json runtime = json::parse(state->body, nullptr, false);
        if (runtime.is_object()) {
          if (runtime.contains("last_value") && runtime["last_value"].is_number()) {
            s.value = runtime["last_value"].get<double>();
          }
          s.last_reading_at = runtime.value("last_reading_at", Millis{0});
          s.gap_open = runtime.value("gap_open", false);
        }
      }
      p.sensors.push_back(std::move(s));
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return p;
}

}  // namespace mes
