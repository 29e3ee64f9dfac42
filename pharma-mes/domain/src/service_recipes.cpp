// Mes: the physical model (equipment, sensors), material lots and master recipes.
#include <cmath>

#include "service_support.hpp"

namespace mes {

using detail::json;

namespace {

// Everyone who wrote `type id` with one of `actions` (from its audit trail, which the chain
// proves): separation of duties holds across roles, whatever roles a person holds.
bool wrote(Transaction& tx, const std::string& type, const std::string& id, const std::string& who,
           std::initializer_list<std::string_view> actions) {
  for (const auto& e : tx.audit_of(type, id)) {
    if (e.actor != who) continue;
    for (const auto action : actions) {
      if (e.action == action) return true;
    }
  }
  return false;
}

Result<void> check_recipe(const MasterRecipe& r) {
  if (r.product.empty()) return refuse(Code::kInvalid, "a recipe needs a product", "product");
  if (!(r.base_size > 0)) return refuse(Code::kInvalid, "base size must be positive", "base_size");
  if (r.phases.empty())
    return refuse(Code::kInvalid, "a recipe needs at least one phase", "phases");
  if (r.theoretical_yield < 0 || !std::isfinite(r.theoretical_yield)) {
    return refuse(Code::kInvalid, "the theoretical yield is 0 (none) or positive",
                  "theoretical_yield");
  }
  if (r.theoretical_yield > 0 &&
      !(r.yield_low_pct > 0 && r.yield_low_pct <= 100 && r.yield_low_pct <= r.yield_high_pct &&
        r.yield_high_pct <= 1000)) {
    return refuse(Code::kInvalid,
                  "yield limits are 0 < yield_low_pct <= 100 and yield_low_pct <= yield_high_pct "
                  "<= 1000 (% of theoretical)",
                  "yield_low_pct");
  }
  if (r.theoretical_yield == 0 && (r.yield_low_pct != 0 || r.yield_high_pct != 0)) {
    return refuse(Code::kInvalid, "yield limits need a theoretical yield", "theoretical_yield");
  }
  for (std::size_t i = 0; i < r.phases.size(); ++i) {
    const PhaseSpec& p = r.phases[i];
    const std::string where = "phases[" + std::to_string(i) + "]";
    if (p.phase.empty() || p.operation.empty() || p.unit_procedure.empty()) {
      return refuse(Code::kInvalid, "every phase names its unit procedure, operation and phase",
                    where);
    }
    for (const auto& x : p.parameters) {
      if (x.name.empty() || !(x.low <= x.target && x.target <= x.high)) {
        return refuse(Code::kInvalid, "parameter limits must satisfy low <= target <= high",
                      where + ".parameters." + x.name);
      }
    }
    for (const auto& c : p.charges) {
      if (c.material.empty() || !(c.quantity > 0) || c.tolerance_pct < 0) {
        return refuse(Code::kInvalid,
                      "a charge needs a material, a positive quantity and a tolerance",
                      where + ".charges");
      }
    }
  }
  return {};
}

}  // namespace

Result<void> Mes::add_equipment(const std::string& actor, const Equipment& e) {
  return command(actor, "add_equipment", "equipment", e.id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kManagePlant, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (e.id.empty() || e.equipment_class.empty()) {
      return refuse(Code::kInvalid, "equipment needs an id and a class", "id");
    }
    if (e.status == EquipmentStatus::kInUse) {
      return refuse(Code::kInvalid, "equipment is put in use by starting a step", "status");
    }
    Equipment record = e;
    if (record.site.empty()) record.site = config_.site;
    record.in_use_by.clear();
    record.meta = {};
    return detail::save(tx, actor, record, "create", "");
  });
}

Result<void> Mes::set_equipment_status(const std::string& actor, const std::string& id,
                                       EquipmentStatus status, const std::string& reason) {
  return command(actor, "set_equipment_status", "equipment", id,
                 [&](Transaction& tx) -> Result<void> {
                   if (auto a = detail::authorize(tx, actor, Action::kManagePlant, config_); !a) {
                     return tl::unexpected(a.error());
                   }
                   auto e = detail::load<Equipment>(tx, id);
                   if (!e) return tl::unexpected(e.error());
                   if (e->status == EquipmentStatus::kInUse) {
                     return refuse(Code::kEquipmentUnavailable,
                                   "equipment " + id + " is in use by batch " + e->in_use_by);
                   }
                   if (status == EquipmentStatus::kInUse) {
                     return refuse(Code::kInvalid, "equipment is put in use by starting a step");
                   }
                   e->status = status;
                   return detail::save(tx, actor, *e, "modify", reason);
                 });
}

Result<void> Mes::add_sensor(const std::string& actor, const Sensor& s) {
  return command(actor, "add_sensor", "sensor", s.id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kManagePlant, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (s.id.empty() || s.room.empty() || s.unit.empty()) {
      return refuse(Code::kInvalid, "a sensor needs an id, a room and a unit", "id");
    }
    if (!(s.action_low <= s.alert_low && s.alert_low < s.alert_high &&
          s.alert_high <= s.action_high) ||
        s.interval_seconds <= 0) {
      return refuse(Code::kInvalid,
                    "limits must satisfy action_low <= alert_low < alert_high <= action_high",
                    "limits");
    }
    Sensor record = s;
    record.created_at = tx.now();
    record.meta = {};
    return detail::save(tx, actor, record, "create", "");
  });
}

Result<void> Mes::void_record(const std::string& actor, const std::string& type,
                              const std::string& id, const std::string& reason) {
  return command(actor, "void_record", type, id, [&](Transaction& tx) -> Result<void> {
    Action needed = Action::kManagePlant;
    if (type == "lot") {
      needed = Action::kManageMaterials;
    } else if (type == "master") {
      needed = Action::kEditMaster;
    } else if (type == "batch") {
      needed = Action::kSuperviseBatch;
    } else if (type == Training::kType) {
      needed = Action::kRecordTraining;  // withdrawn: its trainee is no longer qualified by it
    } else if (type != "equipment" && type != "sensor") {
      return refuse(Code::kRecordImmutable, "a " + type + " record cannot be voided", "type");
    }
    if (auto a = detail::authorize(tx, actor, needed, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (auto r = detail::require_reason(reason); !r) return r;
    auto doc = tx.get(type, id);
    if (!doc) return refuse(Code::kNotFound, "no " + type + " " + id, "id");
    if (doc->voided) return refuse(Code::kConflict, type + " " + id + " is already voided");
    // Only what nothing depends on yet: a lot still in quarantine, equipment not in use, a
    // master still a draft, a batch never started (ISA-88 has no Abort while Idle).
    std::string blocking_status;
    if (type == "lot") {
      auto lot = decode<Lot>(*doc);
      if (!lot) return tl::unexpected(lot.error());
      if (lot->status != LotStatus::kQuarantine) blocking_status = to_string(lot->status);
    } else if (type == "equipment") {
      auto e = decode<Equipment>(*doc);
      if (!e) return tl::unexpected(e.error());
      if (e->status == EquipmentStatus::kInUse) blocking_status = to_string(e->status);
    } else if (type == "master") {
      const std::string status = detail::body_of(*doc)["flow"].value("status", "");
      if (status != "draft") blocking_status = status;
    } else if (type == "batch" && doc->state != "Idle") {
      blocking_status = doc->state;  // once started, a batch ends by Stop or Abort
    }
    if (!blocking_status.empty()) {
      return refuse(Code::kRecordImmutable,
                    type + " " + id + " is " + blocking_status + ": it cannot be voided");
    }
    doc->voided = true;
    doc->void_reason = reason;
    if (auto p = tx.put(*doc); !p) return p;
    return detail::audit(tx, actor, "void", type, id, "voided", "false", "true", reason,
                         record_hash(*doc));
  });
}

Result<void> Mes::receive_lot(const std::string& actor, const Lot& lot) {
  return command(actor, "receive_lot", "lot", lot.id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kManageMaterials, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (lot.id.empty() || lot.material.empty()) {
      return refuse(Code::kInvalid, "a lot needs an id and a material",
                    lot.id.empty() ? "id" : "material");
    }
    if (!lot.quantity.positive() || !lot.quantity.in_range()) {
      return refuse(Code::kInvalid, "a lot's quantity is positive and at most 1e9", "quantity");
    }
    Lot record = lot;
    record.status = LotStatus::kQuarantine;
    record.consumed = {};
    record.meta = {};
    return detail::save(tx, actor, record, "create", "");
  });
}

Result<void> Mes::set_lot_status(const std::string& actor, SigningSession& session,
                                 const std::string& lot_id, LotStatus status,
                                 const std::string& reason, const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  return command(actor, "set_lot_status", "lot", lot_id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kSetLotStatus, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (signer->id != actor) return refuse(Code::kBadSignature, "the signer must be the actor");
    auto lot = detail::load<Lot>(tx, lot_id, "lot");
    if (!lot) return tl::unexpected(lot.error());
    if (wrote(tx, "lot", lot_id, actor, {"create"})) {
      return refuse(Code::kSameUser, "who received lot " + lot_id + " cannot also release it");
    }
    if (lot->status != LotStatus::kQuarantine || status == LotStatus::kQuarantine) {
      return refuse(Code::kIllegalTransition,
                    "a lot goes from quarantine to released, rejected or expired (it is " +
                        std::string(to_string(lot->status)) + ")");
    }
    lot->status = status;
    if (auto r = detail::save(tx, actor, *lot, "modify", reason); !r) return r;
    auto s = sign(tx, session, *signer, signature,
                  status == LotStatus::kReleased ? Meaning::kApproved : Meaning::kRejected, "lot",
                  lot_id, detail::content_hash("lot", lot_id, json::parse(to_document(*lot).body)));
    if (!s) return tl::unexpected(s.error());
    return {};
  });
}

Result<std::string> Mes::create_master_draft(const std::string& actor, MasterRecipe recipe,
                                             const std::string& reason) {
  if (auto r = check_recipe(recipe); !r) return tl::unexpected(r.error());
  std::string id;
  auto r = command(
      actor, "create_master_draft", "master", recipe.product, [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kEditMaster, config_); !a) {
          return tl::unexpected(a.error());
        }
        int version = 0;
        std::vector<std::string> unreadable;
        for (const auto& m : detail::list_of<MasterRecipe>(tx, recipe.product, "", unreadable)) {
          version = std::max(version, m.version);
        }
        if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
        recipe.version = version + 1;
        recipe.status = MasterStatus::kDraft;
        recipe.meta = {};
        id = recipe.id();
        return detail::save(tx, actor, recipe, "create", reason);
      });
  if (!r) return tl::unexpected(r.error());
  return id;
}

Result<void> Mes::edit_master_draft(const std::string& actor, const std::string& id,
                                    MasterRecipe recipe, const std::string& reason) {
  if (auto r = check_recipe(recipe); !r) return r;
  return command(actor, "edit_master_draft", "master", id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kEditMaster, config_); !a) {
      return tl::unexpected(a.error());
    }
    auto stored = detail::load<MasterRecipe>(tx, id);
    if (!stored) return tl::unexpected(stored.error());
    if (stored->status != MasterStatus::kDraft) {
      return refuse(Code::kRecordImmutable, "master " + id + " is approved: make a new version");
    }
    if (recipe.product != stored->product) {
      return refuse(Code::kInvalid, "a draft keeps its product", "product");
    }
    recipe.version = stored->version;
    recipe.status = stored->status;
    recipe.meta = stored->meta;
    return detail::save(tx, actor, recipe, "modify", reason);
  });
}

Result<void> Mes::approve_master(const std::string& actor, SigningSession& session,
                                 const std::string& id, const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  return command(actor, "approve_master", "master", id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kApproveMaster, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (signer->id != actor) return refuse(Code::kBadSignature, "the signer must be the actor");
    auto master = detail::load<MasterRecipe>(tx, id);
    if (!master) return tl::unexpected(master.error());
    if (master->status != MasterStatus::kDraft) {
      return refuse(Code::kRecordImmutable, "master " + id + " is already approved");
    }
    if (wrote(tx, "master", id, actor, {"create", "modify"})) {
      return refuse(Code::kSameUser, "an author of master " + id + " cannot also approve it");
    }
    master->status = MasterStatus::kApproved;
    if (auto r = detail::save(tx, actor, *master, "approve", "approved for use"); !r) return r;
    auto s = sign(tx, session, *signer, signature, Meaning::kApproved, "master", id,
                  signed_hash(*tx.get(MasterRecipe::kType, id)));
    if (!s) return tl::unexpected(s.error());
    return {};
  });
}

}  // namespace mes
