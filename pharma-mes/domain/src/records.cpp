#include "mes/domain/records.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace mes {
namespace {

using json = nlohmann::json;

// Reads the fields of one part ("data" or "flow") of a stored body; remembers the first field
// that is there but of the wrong type (or missing while required).
class FieldReader {
 public:
  FieldReader(const json& body, const char* part) : part_name_(part) {
    if (body.is_object() && body.contains(part) && body[part].is_object()) {
      part_ = &body[part];
    } else {
      problem_ = part;
    }
  }

  std::string text(const char* key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return {};
    if (!v->is_string()) return fail(key), std::string{};
    return v->get<std::string>();
  }
  double number(const char* key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return 0;
    if (!v->is_number()) return fail(key), 0.0;
    return v->get<double>();
  }
  std::int64_t integer(const char* key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return 0;
    if (v->is_number_integer()) return v->get<std::int64_t>();
    // A float within the range truncates; beyond it (1e30) the cast would be undefined.
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (d > -9.2e18 && d < 9.2e18) return static_cast<std::int64_t>(d);
    }
    return fail(key), 0;
  }
  Quantity quantity(const char* key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return {};
    auto q = v->is_number() ? Quantity::nearest(v->get<double>()) : std::nullopt;
    if (!q) return fail(key), Quantity{};
    return *q;
  }

  bool boolean(const char* key, bool required = false) {
    const json* v = find(key, required);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return fail(key), false;
    return v->get<bool>();
  }
  std::vector<std::string> texts(const char* key, bool required = false) {
    const json* v = find(key, required);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) return fail(key), out;
    for (const auto& item : *v) {
      if (!item.is_string()) return fail(key), std::vector<std::string>{};
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // The first problem as "data.quantity", or empty.
  const std::string& problem() const { return problem_; }

 private:
  const json* find(const char* key, bool required) {
    if (part_ == nullptr) return nullptr;
    auto it = part_->find(key);
    if (it == part_->end() || it->is_null()) {
      if (required) fail(key);
      return nullptr;
    }
    return &*it;
  }
  void fail(const char* key) {
    if (problem_.empty()) problem_ = std::string(part_name_) + "." + key;
  }

  const char* part_name_;
  const json* part_ = nullptr;
  std::string problem_;
};

json parse_body(const Document& doc) {
  json j = json::parse(doc.body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

RecordMeta meta_of(const Document& doc) { return {doc.version, doc.voided, doc.void_reason}; }

Document document(std::string_view type, const std::string& id, const RecordMeta& meta,
                  std::string parent, std::string state, const json& data, const json& flow) {
  Document doc;
  doc.type = std::string(type);
  doc.id = id;
  doc.version = meta.version;
  doc.parent = std::move(parent);
  doc.state = std::move(state);
  doc.body = json{{"data", data}, {"flow", flow}}.dump();
  doc.voided = meta.voided;
  doc.void_reason = meta.void_reason;
  return doc;
}

tl::unexpected<Error> malformed(const Document& doc, const std::string& field) {
  return refuse(Code::kStorage,
                "stored " + doc.type + " " + doc.id + " is malformed (" + field + ")", field);
}

template <typename R>
Result<void> check_type(const Document& doc) {
  if (doc.type != R::kType) {
    return refuse(Code::kStorage,
                  "record " + doc.id + " is a " + doc.type + ", not a " + std::string(R::kType));
  }
  return {};
}

}  // namespace

std::string_view to_string(EquipmentStatus status) {
  switch (status) {
    case EquipmentStatus::kClean:
      return "clean";
    case EquipmentStatus::kDirty:
      return "dirty";
    case EquipmentStatus::kInUse:
      return "in_use";
    case EquipmentStatus::kOutOfService:
      return "out_of_service";
  }
  return "?";
}

std::optional<EquipmentStatus> parse_equipment_status(std::string_view text) {
  for (auto s : {EquipmentStatus::kClean, EquipmentStatus::kDirty, EquipmentStatus::kInUse,
                 EquipmentStatus::kOutOfService}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string_view to_string(LotStatus status) {
  switch (status) {
    case LotStatus::kQuarantine:
      return "quarantine";
    case LotStatus::kReleased:
      return "released";
    case LotStatus::kRejected:
      return "rejected";
    case LotStatus::kExpired:
      return "expired";
  }
  return "?";
}

std::optional<LotStatus> parse_lot_status(std::string_view text) {
  for (auto s :
       {LotStatus::kQuarantine, LotStatus::kReleased, LotStatus::kRejected, LotStatus::kExpired}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

// ---- equipment ----

Document to_document(const Equipment& e) {
  const std::string status(to_string(e.status));
  return document(
      Equipment::kType, e.id, e.meta, e.unit, status,
      json{{"name", e.name},
           {"class", e.equipment_class},
           {"site", e.site},
           {"area", e.area},
           {"cell", e.cell},
           {"unit", e.unit}},
      json{{"status", status}, {"calibration_due", e.calibration_due}, {"in_use_by", e.in_use_by}});
}

template <>
Result<Equipment> decode<Equipment>(const Document& doc) {
  if (auto t = check_type<Equipment>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Equipment e;
  e.id = doc.id;
  e.name = data.text("name");
  e.equipment_class = data.text("class", true);
  e.site = data.text("site");
  e.area = data.text("area");
  e.cell = data.text("cell");
  e.unit = data.text("unit");
  const auto status = parse_equipment_status(flow.text("status", true));
  e.calibration_due = flow.integer("calibration_due");
  e.in_use_by = flow.text("in_use_by");
  e.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (!status) return malformed(doc, "flow.status");
  e.status = *status;
  return e;
}

// ---- lot ----

Document to_document(const Lot& lot) {
  const std::string status(to_string(lot.status));
  return document(Lot::kType, lot.id, lot.meta, lot.material, status,
                  lot.produced_by.empty() ? json{{"material", lot.material},
                                                 {"quantity", lot.quantity.to_double()},
                                                 {"unit", lot.unit},
                                                 {"expires_at", lot.expires_at}}
                                          : json{{"material", lot.material},
                                                 {"quantity", lot.quantity.to_double()},
                                                 {"unit", lot.unit},
                                                 {"expires_at", lot.expires_at},
                                                 {"produced_by", lot.produced_by}},
                  json{{"status", status}, {"consumed", lot.consumed.to_double()}});
}

template <>
Result<Lot> decode<Lot>(const Document& doc) {
  if (auto t = check_type<Lot>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Lot lot;
  lot.id = doc.id;
  lot.material = data.text("material", true);
  lot.quantity = data.quantity("quantity", true);
  lot.unit = data.text("unit");
  lot.expires_at = data.integer("expires_at");
  lot.produced_by = data.text("produced_by");
  const auto status = parse_lot_status(flow.text("status", true));
  lot.consumed = flow.quantity("consumed");
  lot.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (!status) return malformed(doc, "flow.status");
  lot.status = *status;
  return lot;
}

// ---- CAPA ----

std::string_view to_string(CapaStatus status) {
  return status == CapaStatus::kOpen ? "open" : "closed";
}

std::optional<CapaStatus> parse_capa_status(std::string_view text) {
  if (text == "open") return CapaStatus::kOpen;
  if (text == "closed") return CapaStatus::kClosed;
  return std::nullopt;
}

Document to_document(const Capa& c) {
  const std::string status(to_string(c.status));
  json actions = json::array();
  for (const auto& a : c.actions) actions.push_back({{"text", a.text}, {"by", a.by}, {"at", a.at}});
  return document(Capa::kType, c.id, c.meta, c.owner, status,
                  json{{"title", c.title},
                       {"owner", c.owner},
                       {"due_at", c.due_at},
                       {"deviations", c.deviations},
                       {"alarms", c.alarms}},
                  json{{"status", status},
                       {"actions", actions},
                       {"effectiveness", c.effectiveness},
                       {"closed_by", c.closed_by},
                       {"closed_at", c.closed_at}});
}

template <>
Result<Capa> decode<Capa>(const Document& doc) {
  if (auto t = check_type<Capa>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Capa c;
  c.id = doc.id;
  c.title = data.text("title", true);
  c.owner = data.text("owner", true);
  c.due_at = data.integer("due_at", true);
  c.deviations = data.texts("deviations");
  c.alarms = data.texts("alarms");
  const auto status = parse_capa_status(flow.text("status", true));
  c.effectiveness = flow.text("effectiveness");
  c.closed_by = flow.text("closed_by");
  c.closed_at = flow.integer("closed_at");
  c.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (!status) return malformed(doc, "flow.status");
  c.status = *status;
  const json actions = body.value("flow", json::object()).value("actions", json::array());
  if (!actions.is_array()) return malformed(doc, "flow.actions");
  for (const auto& a : actions) {
    if (!a.is_object() || !a.value("text", json()).is_string() ||
        !a.value("by", json()).is_string() || !a.value("at", json()).is_number_integer()) {
      return malformed(doc, "flow.actions");
    }
    c.actions.push_back({a["text"], a["by"], a["at"]});
  }
  return c;
}

// ---- master recipe ----

std::string_view to_string(MasterStatus status) {
  return status == MasterStatus::kDraft ? "draft" : "approved";
}

namespace {

// The content of a master recipe as stored in its data (a batch's data holds a copy).
json recipe_data(const MasterRecipe& m) {
  json phases = json::array();
  for (const auto& p : m.phases) {
    json params = json::array();
    for (const auto& x : p.parameters) {
      params.push_back({{"name", x.name},
                        {"unit", x.unit},
                        {"target", x.target},
                        {"low", x.low},
                        {"high", x.high}});
    }
    json charges = json::array();
    for (const auto& c : p.charges) {
      charges.push_back({{"material", c.material},
                         {"quantity", c.quantity},
                         {"tolerance_pct", c.tolerance_pct},
                         {"unit", c.unit}});
    }
    phases.push_back({{"unit_procedure", p.unit_procedure},
                      {"operation", p.operation},
                      {"phase", p.phase},
                      {"instructions", p.instructions},
                      {"equipment_class", p.equipment_class},
                      {"standard_minutes", p.standard_minutes},
                      {"second_person_verification", p.second_person_verification},
                      {"parameters", params},
                      {"charges", charges}});
  }
  json data{{"product", m.product},
            {"version", m.version},
            {"base_size", m.base_size},
            {"size_unit", m.size_unit},
            {"phases", phases}};
  if (m.theoretical_yield > 0) {  // absent for masters without one (earlier bodies stay equal)
    data["theoretical_yield"] = m.theoretical_yield;
    data["yield_low_pct"] = m.yield_low_pct;
    data["yield_high_pct"] = m.yield_high_pct;
  }
  return data;
}

// Reads recipe_data() back from a body's data; the first field not of its shape as an error.
Result<void> read_recipe(const Document& doc, const json& body, FieldReader& data,
                         MasterRecipe& m) {
  m.product = data.text("product", true);
  m.version = static_cast<int>(data.integer("version", true));
  m.base_size = data.number("base_size", true);
  m.size_unit = data.text("size_unit");
  m.theoretical_yield = data.number("theoretical_yield");
  m.yield_low_pct = data.number("yield_low_pct");
  m.yield_high_pct = data.number("yield_high_pct");
  if (!data.problem().empty()) return malformed(doc, data.problem());
  const json phases = body["data"].value("phases", json());
  if (!phases.is_array()) return malformed(doc, "data.phases");
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const std::string where = "data.phases[" + std::to_string(i) + "]";
    if (!phases[i].is_object() || !phases[i].value("parameters", json::array()).is_array() ||
        !phases[i].value("charges", json::array()).is_array()) {
      return malformed(doc, where);
    }
    const json wrapped{{"p", phases[i]}};
    FieldReader p(wrapped, "p");
    PhaseSpec ph;
    ph.unit_procedure = p.text("unit_procedure", true);
    ph.operation = p.text("operation", true);
    ph.phase = p.text("phase", true);
    ph.instructions = p.text("instructions");
    ph.equipment_class = p.text("equipment_class");
    ph.standard_minutes = static_cast<int>(p.integer("standard_minutes"));
    ph.second_person_verification = p.boolean("second_person_verification");
    if (!p.problem().empty()) return malformed(doc, where + p.problem().substr(1));
    for (const auto& x : phases[i].value("parameters", json::array())) {
      const json wx{{"x", x}};
      FieldReader r(wx, "x");
      ph.parameters.push_back({r.text("name", true), r.text("unit"), r.number("target", true),
                               r.number("low", true), r.number("high", true)});
      if (!r.problem().empty())
        return malformed(doc, where + ".parameters" + r.problem().substr(1));
    }
    for (const auto& c : phases[i].value("charges", json::array())) {
      const json wc{{"c", c}};
      FieldReader r(wc, "c");
      ph.charges.push_back({r.text("material", true), r.number("quantity", true),
                            r.number("tolerance_pct"), r.text("unit")});
      if (!r.problem().empty()) return malformed(doc, where + ".charges" + r.problem().substr(1));
    }
    m.phases.push_back(std::move(ph));
  }
  return {};
}

}  // namespace

Document to_document(const MasterRecipe& m) {
  const std::string status(to_string(m.status));
  return document(MasterRecipe::kType, m.id(), m.meta, m.product, status, recipe_data(m),
                  json{{"status", status}});
}

template <>
Result<MasterRecipe> decode<MasterRecipe>(const Document& doc) {
  if (auto t = check_type<MasterRecipe>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  MasterRecipe m;
  if (auto r = read_recipe(doc, body, data, m); !r) return tl::unexpected(r.error());
  const std::string status = flow.text("status", true);
  m.meta = meta_of(doc);
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (status != "draft" && status != "approved") return malformed(doc, "flow.status");
  m.status = status == "draft" ? MasterStatus::kDraft : MasterStatus::kApproved;
  if (m.id() != doc.id) return malformed(doc, "data.version");
  return m;
}

// ---- batch ----

std::string_view to_string(Disposition disposition) {
  switch (disposition) {
    case Disposition::kNone:
      return "";
    case Disposition::kReleased:
      return "released";
    case Disposition::kRejected:
      return "rejected";
  }
  return "?";
}

void Batch::add_performer(const std::string& user) {
  if (std::find(performers.begin(), performers.end(), user) == performers.end()) {
    performers.push_back(user);
  }
}

Document to_document(const Batch& b) {
  json data = recipe_data(b.recipe);
  data["master"] = b.master;
  data["master_hash"] = b.master_hash;
  data["size"] = b.size;
  data["scale"] = b.scale;
  data["created_by"] = b.created_by;
  data["created_at"] = b.created_at;
  if (b.output) data["output"] = *b.output;
  if (!b.output_lot.empty()) data["output_lot"] = b.output_lot;
  json events = json::array();
  for (const auto& e : b.events) {
    events.push_back({{"at", e.at},
                      {"by", e.by},
                      {"command", e.command},
                      {"from", e.from},
                      {"to", e.to},
                      {"reason", e.reason}});
  }
  json flow{{"current_step", b.current_step},
            {"performers", b.performers},
            {"held_ms", b.held_ms},
            {"reviewed", b.reviewed},
            {"disposition", std::string(to_string(b.disposition))},
            {"events", events}};
  if (b.started_at != 0) flow["started_at"] = b.started_at;
  if (b.held_since != 0) flow["held_since"] = b.held_since;
  if (b.ended_at != 0) flow["ended_at"] = b.ended_at;
  if (!b.ended_on.empty()) flow["ended_on"] = b.ended_on;
  if (b.reviewed_exceptions) flow["reviewed_exceptions"] = *b.reviewed_exceptions;
  if (!b.trail_review.empty()) flow["trail_review"] = b.trail_review;
  if (!b.disposition_by.empty()) {
    flow["disposition_by"] = b.disposition_by;
    flow["disposition_at"] = b.disposition_at;
    flow["disposition_reason"] = b.disposition_reason;
  }
  return document(Batch::kType, b.id, b.meta, b.master, std::string(isa88::to_string(b.state)),
                  data, flow);
}

template <>
Result<Batch> decode<Batch>(const Document& doc) {
  if (auto t = check_type<Batch>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Batch b;
  b.id = doc.id;
  if (auto r = read_recipe(doc, body, data, b.recipe); !r) return tl::unexpected(r.error());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());  // no flow object
  b.master = data.text("master", true);
  b.master_hash = data.text("master_hash");
  b.size = data.number("size", true);
  b.scale = data.number("scale", true);
  b.created_by = data.text("created_by");
  b.created_at = data.integer("created_at");
  if (body["data"].contains("output")) b.output = data.number("output", true);
  b.output_lot = data.text("output_lot");
  b.current_step = static_cast<int>(flow.integer("current_step", true));
  b.performers = flow.texts("performers");
  b.held_ms = flow.integer("held_ms");
  b.held_since = flow.integer("held_since");
  b.reviewed = flow.boolean("reviewed");
  if (body["flow"].contains("reviewed_exceptions")) {
    b.reviewed_exceptions = static_cast<int>(flow.integer("reviewed_exceptions", true));
  }
  b.trail_review = flow.text("trail_review");
  const std::string disposition = flow.text("disposition");
  b.disposition_by = flow.text("disposition_by");
  b.disposition_at = flow.integer("disposition_at");
  b.disposition_reason = flow.text("disposition_reason");
  b.started_at = flow.integer("started_at");
  b.ended_at = flow.integer("ended_at");
  b.ended_on = flow.text("ended_on");
  b.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  const auto state = isa88::parse_state(doc.state);
  if (!state) return malformed(doc, "state");
  b.state = *state;
  if (b.master != doc.parent) return malformed(doc, "data.master");
  if (disposition == "released") {
    b.disposition = Disposition::kReleased;
  } else if (disposition == "rejected") {
    b.disposition = Disposition::kRejected;
  } else if (!disposition.empty()) {
    return malformed(doc, "flow.disposition");
  }
  const json events = body["flow"].value("events", json::array());
  if (!events.is_array()) return malformed(doc, "flow.events");
  for (std::size_t i = 0; i < events.size(); ++i) {
    const json wrapped{{"e", events[i]}};
    FieldReader r(wrapped, "e");
    BatchEvent e{r.integer("at", true), r.text("by", true), r.text("command", true),
                 r.text("from", true),  r.text("to", true), r.text("reason")};
    if (!r.problem().empty()) {
      return malformed(doc, "flow.events[" + std::to_string(i) + "]" + r.problem().substr(1));
    }
    b.events.push_back(std::move(e));
  }
  return b;
}

// ---- step ----

std::string_view to_string(StepStatus status) {
  switch (status) {
    case StepStatus::kPending:
      return "pending";
    case StepStatus::kRunning:
      return "running";
    case StepStatus::kComplete:
      return "complete";
    case StepStatus::kStopped:
      return "stopped";
    case StepStatus::kAborted:
      return "aborted";
  }
  return "?";
}

std::optional<StepStatus> parse_step_status(std::string_view text) {
  for (auto s : {StepStatus::kPending, StepStatus::kRunning, StepStatus::kComplete,
                 StepStatus::kStopped, StepStatus::kAborted}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

Quantity Step::accepted_net(const std::string& material) const {
  Quantity total;
  for (const auto& w : weighings) {
    if (w.material == material && w.accepted) total = total + w.net;
  }
  return total;
}

void Step::add_actor(const std::string& user) {
  if (std::find(actors.begin(), actors.end(), user) == actors.end()) actors.push_back(user);
}

Document to_document(const Step& st) {
  json parameters = json::object();
  for (const auto& [name, p] : st.parameters) {
    parameters[name] = {{"value", p.value}, {"unit", p.unit},           {"low", p.low},
                        {"high", p.high},   {"in_limits", p.in_limits}, {"by", p.by},
                        {"at", p.at},       {"changed", p.changed}};
  }
  json weighings = json::array();
  for (const auto& w : st.weighings) {
    weighings.push_back({{"material", w.material},
                         {"scale", w.scale},
                         {"lot", w.lot},
                         {"gross", w.gross.to_double()},
                         {"tare", w.tare.to_double()},
                         {"net", w.net.to_double()},
                         {"low", w.low.to_double()},
                         {"high", w.high.to_double()},
                         {"accepted", w.accepted},
                         {"reason_code", w.reason_code},
                         {"by", w.by},
                         {"at", w.at}});
  }
  json data{{"batch", st.batch},      {"n", st.n},
            {"phase", st.phase},      {"parameters", parameters},
            {"weighings", weighings}, {"actors", st.actors}};
  if (!st.equipment.empty()) data["equipment"] = st.equipment;
  if (!st.started_by.empty()) {
    data["started_by"] = st.started_by;
    data["started_at"] = st.started_at;
  }
  const std::string status(to_string(st.status));
  json flow{{"status", status}};
  if (st.held) flow["held"] = *st.held;
  if (!st.verified_by.empty()) flow["verified_by"] = st.verified_by;
  if (st.verified_at != 0) flow["verified_at"] = st.verified_at;
  if (!st.verification.empty()) flow["verification"] = st.verification;
  if (!st.completed_by.empty()) flow["completed_by"] = st.completed_by;
  if (st.completed_at != 0) flow["completed_at"] = st.completed_at;
  return document(Step::kType, st.id, st.meta, st.batch, status, data, flow);
}

template <>
Result<Step> decode<Step>(const Document& doc) {
  if (auto t = check_type<Step>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Step st;
  st.id = doc.id;
  st.batch = data.text("batch", true);
  st.n = static_cast<int>(data.integer("n", true));
  st.phase = data.text("phase");
  st.actors = data.texts("actors");
  st.equipment = data.text("equipment");
  st.started_by = data.text("started_by");
  st.started_at = data.integer("started_at");
  const auto status = parse_step_status(flow.text("status", true));
  if (body.contains("flow") && body["flow"].is_object() && body["flow"].contains("held")) {
    st.held = flow.boolean("held", true);
  }
  st.verified_by = flow.text("verified_by");
  st.verified_at = flow.integer("verified_at");
  st.verification = flow.text("verification");
  st.completed_by = flow.text("completed_by");
  st.completed_at = flow.integer("completed_at");
  st.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (!status) return malformed(doc, "flow.status");
  st.status = *status;
  const json parameters = body["data"].value("parameters", json::object());
  if (!parameters.is_object()) return malformed(doc, "data.parameters");
  for (const auto& [name, p] : parameters.items()) {
    const json wrapped{{"p", p}};
    FieldReader r(wrapped, "p");
    ParameterEntry e{r.number("value", true), r.text("unit"),         r.number("low"),
                     r.number("high"),        r.boolean("in_limits"), r.text("by"),
                     r.integer("at"),         r.boolean("changed")};
    if (!r.problem().empty()) return malformed(doc, "data.parameters." + name);
    st.parameters.emplace(name, std::move(e));
  }
  const json weighings = body["data"].value("weighings", json::array());
  if (!weighings.is_array()) return malformed(doc, "data.weighings");
  for (std::size_t i = 0; i < weighings.size(); ++i) {
    const json wrapped{{"w", weighings[i]}};
    FieldReader r(wrapped, "w");
    WeighingEntry w;
    w.material = r.text("material", true);
    w.scale = r.text("scale");
    w.lot = r.text("lot", true);
    w.gross = r.quantity("gross");
    w.tare = r.quantity("tare");
    w.net = r.quantity("net", true);
    w.low = r.quantity("low");
    w.high = r.quantity("high");
    w.accepted = r.boolean("accepted", true);
    w.reason_code = r.text("reason_code");
    w.by = r.text("by");
    w.at = r.integer("at");
    if (!r.problem().empty()) {
      return malformed(doc, "data.weighings[" + std::to_string(i) + "]" + r.problem().substr(1));
    }
    st.weighings.push_back(std::move(w));
  }
  return st;
}

// ---- charge, trail review ----

Document to_document(const Charge& c) {
  return document(Charge::kType, c.id, c.meta, c.lot, c.batch,
                  json{{"lot", c.lot},
                       {"batch", c.batch},
                       {"step", c.step},
                       {"material", c.material},
                       {"net", c.net.to_double()}},
                  json::object());
}

template <>
Result<Charge> decode<Charge>(const Document& doc) {
  if (auto t = check_type<Charge>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data");
  Charge c;
  c.id = doc.id;
  c.lot = data.text("lot", true);
  c.batch = data.text("batch", true);
  c.step = static_cast<int>(data.integer("step", true));
  c.material = data.text("material");
  c.net = data.quantity("net", true);
  c.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  // The index is derived from the content: a charge listed under another lot or batch than
  // the one it names was moved behind the application's back.
  if (doc.parent != c.lot || doc.state != c.batch) return malformed(doc, "index");
  return c;
}

Document to_document(const TrailReview& r) {
  return document(TrailReview::kType, r.id, r.meta, r.batch, "signed",
                  json{{"batch", r.batch},
                       {"entries", r.entries},
                       {"through_seq", r.through_seq},
                       {"sha256", r.sha256},
                       {"batch_record", r.batch_record},
                       {"exceptions", r.exceptions}},
                  json::object());
}

template <>
Result<TrailReview> decode<TrailReview>(const Document& doc) {
  if (auto t = check_type<TrailReview>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data");
  TrailReview r;
  r.id = doc.id;
  r.batch = data.text("batch", true);
  r.entries = data.integer("entries", true);
  r.through_seq = data.integer("through_seq", true);
  r.sha256 = data.text("sha256", true);
  r.batch_record = data.text("batch_record");
  r.exceptions = data.integer("exceptions");
  r.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  return r;
}

// ---- deviation ----

std::string_view to_string(DeviationStatus status) {
  return status == DeviationStatus::kOpen ? "open" : "closed";
}

std::optional<DeviationStatus> parse_deviation_status(std::string_view text) {
  if (text == "open") return DeviationStatus::kOpen;
  if (text == "closed") return DeviationStatus::kClosed;
  return std::nullopt;
}

Document to_document(const Deviation& d) {
  const std::string status(to_string(d.status));
  json flow{{"status", status}, {"disposition", d.disposition}, {"capa", d.capa}};
  if (d.status == DeviationStatus::kClosed) {
    flow["closed_by"] = d.closed_by;
    flow["closed_at"] = d.closed_at;
  }
  return document(Deviation::kType, d.id, d.meta, d.batch, status,
                  json{{"batch", d.batch},
                       {"cause", d.cause},
                       {"description", d.description},
                       {"opened_by", d.opened_by},
                       {"opened_at", d.opened_at},
                       {"automatic", d.automatic}},
                  flow);
}

template <>
Result<Deviation> decode<Deviation>(const Document& doc) {
  if (auto t = check_type<Deviation>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Deviation d;
  d.id = doc.id;
  d.batch = data.text("batch", true);
  d.cause = data.text("cause");
  d.description = data.text("description");
  d.opened_by = data.text("opened_by", true);
  d.opened_at = data.integer("opened_at", true);
  d.automatic = data.boolean("automatic");
  const auto status = parse_deviation_status(flow.text("status", true));
  d.disposition = flow.text("disposition");
  d.capa = flow.text("capa");
  d.closed_by = flow.text("closed_by");
  d.closed_at = flow.integer("closed_at");
  d.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (!status) return malformed(doc, "flow.status");
  d.status = *status;
  return d;
}

// ---- alarm ----

std::string_view to_string(AlarmStatus status) {
  return status == AlarmStatus::kActive ? "active" : "acknowledged";
}

std::optional<AlarmStatus> parse_alarm_status(std::string_view text) {
  if (text == "active") return AlarmStatus::kActive;
  if (text == "acknowledged") return AlarmStatus::kAcknowledged;
  return std::nullopt;
}

Document to_document(const Alarm& a) {
  const std::string status(to_string(a.status));
  json flow{{"status", status}};
  if (a.status == AlarmStatus::kAcknowledged) {
    flow["acknowledged_by"] = a.acknowledged_by;
    flow["acknowledged_at"] = a.acknowledged_at;
    flow["comment"] = a.comment;
  }
  return document(Alarm::kType, a.id, a.meta, a.room, status,
                  json{{"sensor", a.sensor},
                       {"room", a.room},
                       {"kind", a.kind},
                       {"level", a.level},
                       {"value", a.value},
                       {"unit", a.unit},
                       {"at", a.at},
                       {"batches", a.batches}},
                  flow);
}

template <>
Result<Alarm> decode<Alarm>(const Document& doc) {
  if (auto t = check_type<Alarm>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Alarm a;
  a.id = doc.id;
  a.sensor = data.text("sensor", true);
  a.room = data.text("room", true);
  a.kind = data.text("kind");
  a.level = data.text("level", true);
  a.value = data.number("value");
  a.unit = data.text("unit");
  a.at = data.integer("at", true);
  a.batches = data.texts("batches");
  const auto status = parse_alarm_status(flow.text("status", true));
  a.acknowledged_by = flow.text("acknowledged_by");
  a.acknowledged_at = flow.integer("acknowledged_at");
  a.comment = flow.text("comment");
  a.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  if (!status) return malformed(doc, "flow.status");
  a.status = *status;
  return a;
}

// ---- training ----

std::string master_procedure(std::string_view product) { return "master:" + std::string(product); }
std::string phase_procedure(std::string_view phase) { return "phase:" + std::string(phase); }

Document to_document(const Training& t) {
  return document(Training::kType, t.id, t.meta, t.trainee, "signed",
                  json{{"trainee", t.trainee},
                       {"procedure", t.procedure},
                       {"trainer", t.trainer},
                       {"content", t.content},
                       {"trained_at", t.trained_at},
                       {"valid_until", t.valid_until}},
                  json::object());
}

template <>
Result<Training> decode<Training>(const Document& doc) {
  if (auto t = check_type<Training>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data");
  Training t;
  t.id = doc.id;
  t.trainee = data.text("trainee", true);
  t.procedure = data.text("procedure", true);
  t.trainer = data.text("trainer", true);
  t.content = data.text("content");
  t.trained_at = data.integer("trained_at", true);
  t.valid_until = data.integer("valid_until");
  t.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  return t;
}

// ---- sensor ----

Document to_document(const Sensor& s) {
  return document(Sensor::kType, s.id, s.meta, s.room, "active",
                  json{{"room", s.room},
                       {"kind", s.kind},
                       {"unit", s.unit},
                       {"alert_low", s.alert_low},
                       {"alert_high", s.alert_high},
                       {"action_low", s.action_low},
                       {"action_high", s.action_high},
                       {"interval_seconds", s.interval_seconds},
                       {"created_at", s.created_at}},
                  json{{"calibration_due", s.calibration_due}});
}

template <>
Result<Sensor> decode<Sensor>(const Document& doc) {
  if (auto t = check_type<Sensor>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  Sensor s;
  s.id = doc.id;
  s.room = data.text("room", true);
  s.kind = data.text("kind");
  s.unit = data.text("unit", true);
  s.alert_low = data.number("alert_low", true);
  s.alert_high = data.number("alert_high", true);
  s.action_low = data.number("action_low", true);
  s.action_high = data.number("action_high", true);
  s.interval_seconds = static_cast<int>(data.integer("interval_seconds", true));
  s.created_at = data.integer("created_at");
  s.calibration_due = flow.integer("calibration_due");
  s.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  return s;
}

// ---- user ----

Document to_document(const User& u) {
  json data{
      {"full_name", u.full_name}, {"roles", roles_text(u.roles)}, {"created_at", u.created_at}};
  const std::string status(to_string(u.status));
  json flow{{"status", status},
            {"password_hash", u.password_hash},
            {"password_set_at", u.password_set_at},
            {"must_change_password", u.must_change_password},
            {"failed_logins", u.failed_logins}};
  // Written only once set, so that an account stored before they existed keeps its hash.
  if (u.identity_verified()) {
    data["identity_evidence"] = u.identity_evidence;
    data["identity_verified_by"] = u.identity_verified_by;
    data["identity_verified_at"] = u.identity_verified_at;
  }
  if (u.signature_attested()) {
    flow["signature_attested_at"] = u.signature_attested_at;
    flow["signature_statement_sha256"] = u.signature_statement_sha256;
  }
  return document(User::kType, u.id, u.meta, "", status, data, flow);
}

template <>
Result<User> decode<User>(const Document& doc) {
  if (auto t = check_type<User>(doc); !t) return tl::unexpected(t.error());
  const json body = parse_body(doc);
  FieldReader data(body, "data"), flow(body, "flow");
  User u;
  u.id = doc.id;
  u.full_name = data.text("full_name");
  const std::string roles = data.text("roles");
  u.created_at = data.integer("created_at");
  u.identity_evidence = data.text("identity_evidence");
  u.identity_verified_by = data.text("identity_verified_by");
  u.identity_verified_at = data.integer("identity_verified_at");
  const std::string status = flow.text("status", true);
  u.password_hash = flow.text("password_hash");
  u.password_set_at = flow.integer("password_set_at");
  u.must_change_password = flow.boolean("must_change_password");
  u.failed_logins = static_cast<int>(flow.integer("failed_logins"));
  u.signature_attested_at = flow.integer("signature_attested_at");
  u.signature_statement_sha256 = flow.text("signature_statement_sha256");
  u.meta = meta_of(doc);
  if (!data.problem().empty()) return malformed(doc, data.problem());
  if (!flow.problem().empty()) return malformed(doc, flow.problem());
  const auto role_set = parse_roles(roles);
  if (!role_set) return malformed(doc, "data.roles");
  u.roles = *role_set;
  if (status == "active") {
    u.status = AccountStatus::kActive;
  } else if (status == "locked") {
    u.status = AccountStatus::kLocked;
  } else if (status == "deactivated") {
    u.status = AccountStatus::kDeactivated;
  } else {
    return malformed(doc, "flow.status");
  }
  return u;
}

}  // namespace mes
