#include "demo_seed.hpp"

#include <sodium.h>

#include "mes/ingest/demo_plant.hpp"

namespace mes::app {
namespace {

constexpr Millis kDay = 24LL * 3600 * 1000;

// 16 characters from an alphabet without look-alikes, in groups of four: "Kq7m-Xr2p-...".
std::string random_password() {
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kAlphabet[randombytes_uniform(sizeof kAlphabet - 1)];
  }
  return out;
}

MasterRecipe demo_master() {
  MasterRecipe m;
  m.product = "PARA-500";
  m.base_size = 100;
  m.size_unit = "kg";
  PhaseSpec dispense;
  dispense.unit_procedure = "Granulation";
  dispense.operation = "Dispense";
  dispense.phase = "Charge API and excipient";
  dispense.instructions =
      "Weigh paracetamol (API-PARA) and lactose (EXC-LAC) on scale SC-1 and charge them into "
      "reactor R-101. A second person verifies the charges.";
  dispense.equipment_class = "reactor";
  dispense.standard_minutes = 30;
  dispense.second_person_verification = true;
  dispense.charges = {ChargeSpec{"API-PARA", 50, 2, "kg"}, ChargeSpec{"EXC-LAC", 45, 5, "kg"}};
  PhaseSpec granulate;
  granulate.unit_procedure = "Granulation";
  granulate.operation = "Granulate";
  granulate.phase = "Wet granulation";
  granulate.instructions = "Granulate at 150 rpm, jacket at 45 C, for 12 minutes.";
  granulate.standard_minutes = 15;
  granulate.parameters = {ParameterSpec{"impeller speed", "rpm", 150, 140, 160},
                          ParameterSpec{"jacket temperature", "C", 45, 40, 50},
                          ParameterSpec{"time", "min", 12, 10, 14}};
  PhaseSpec dry;
  dry.unit_procedure = "Granulation";
  dry.operation = "Dry";
  dry.phase = "Fluid bed drying";
  dry.instructions = "Dry to a loss on drying of at most 2 %. Record the LOD.";
  dry.standard_minutes = 40;
  dry.parameters = {ParameterSpec{"loss on drying", "%", 1.5, 0.5, 2.0}};
  m.phases = {dispense, granulate, dry};
  return m;
}

template <typename T>
Result<void> check(const Result<T>& r, const std::string& what) {
  if (r) return {};
  return refuse(r.error().code, what + ": " + r.error().message, r.error().field);
}

}  // namespace

Result<std::vector<DemoUser>> seed_demo_plant(Mes& mes, Millis now) {
  if (sodium_init() < 0) return refuse(Code::kStorage, "libsodium failed to start");
  std::vector<DemoUser> users = {{"admin", "Ada Admin", "admin", random_password()},
                                 {"sup1", "Sam Supervisor", "supervisor", random_password()},
                                 {"op1", "Olivia Operator", "operator", random_password()},
                                 {"op2", "Oscar Operator", "operator", random_password()},
                                 {"qa1", "Quinn QA", "qa", random_password()},
                                 {"qa2", "Quincy QA", "qa", random_password()}};
  if (auto r = mes.bootstrap_admin(users[0].id, users[0].full_name, users[0].password); !r) {
    return refuse(r.error().code, "the demo needs an empty database (" + r.error().message + ")");
  }
  for (std::size_t i = 1; i < users.size(); ++i) {
    const DemoUser& u = users[i];
    const std::string one_time = random_password();
    NewUser nu{u.id, u.full_name, *parse_roles(u.roles), one_time,
               "demonstration account: no person's identity checked"};
    if (auto r = check(mes.create_user("admin", nu), "user " + u.id); !r)
      return tl::unexpected(r.error());
    // The user's own first change: the demo password is then an ordinary one.
    if (auto r = check(mes.change_password(u.id, one_time, u.password), "password of " + u.id);
        !r) {
      return tl::unexpected(r.error());
    }
  }
  const Millis calibrated_until = now + 365 * kDay;
  const std::vector<Equipment> equipment = {{"R-101",
                                             "Reactor 101 (high-shear granulator)",
                                             "reactor",
                                             "",
                                             "room-c",
                                             "Granulation",
                                             "Unit 1",
                                             EquipmentStatus::kClean,
                                             calibrated_until,
                                             "",
                                             {}},
                                            {"SC-1",
                                             "Floor scale 1 (150 kg)",
                                             "scale",
                                             "",
                                             "room-c",
                                             "Dispensing",
                                             "Scale bay",
                                             EquipmentStatus::kClean,
                                             calibrated_until,
                                             "",
                                             {}},
                                            {"FBD-1",
                                             "Fluid bed dryer 1",
                                             "dryer",
                                             "",
                                             "room-c",
                                             "Drying",
                                             "Unit 2",
                                             EquipmentStatus::kClean,
                                             calibrated_until,
                                             "",
                                             {}}};
  for (const auto& e : equipment) {
    if (auto r = check(mes.add_equipment("sup1", e), "equipment " + e.id); !r) {
      return tl::unexpected(r.error());
    }
  }
  for (const auto& d : ingest::demo_sensors(calibrated_until)) {
    if (auto r = check(mes.add_sensor("sup1", d.sensor), "sensor " + d.sensor.id); !r) {
      return tl::unexpected(r.error());
    }
  }
  const std::vector<Lot> lots = {{"L-PARA-0426",
                                  "API-PARA",
                                  Quantity::whole(800),
                                  "kg",
                                  now + 730 * kDay,
                                  LotStatus::kQuarantine,
                                  {},
                                  {}},
                                 {"L-LAC-0311",
                                  "EXC-LAC",
                                  Quantity::whole(900),
                                  "kg",
                                  now + 730 * kDay,
                                  LotStatus::kQuarantine,
                                  {},
                                  {}}};
  // The seed signs for qa2, qa1 and sup1 (and so attests for them, 11.100(c)); the operators
  // attest at their own first signing.
  SigningSession qa2{"qa2", now, false};
  for (const auto& lot : lots) {
    if (auto r = check(mes.receive_lot("sup1", lot), "lot " + lot.id); !r) {
      return tl::unexpected(r.error());
    }
    if (auto r = check(mes.set_lot_status("qa2", qa2, lot.id, LotStatus::kReleased,
                                          "certificate of analysis reviewed",
                                          SignatureInput{"qa2", users[5].password, true}),
                       "release of " + lot.id);
        !r) {
      return tl::unexpected(r.error());
    }
  }
  auto master = mes.create_master_draft("sup1", demo_master(), "new product introduction");
  if (!master) return refuse(master.error().code, "master: " + master.error().message);
  SigningSession qa1{"qa1", now, false};
  if (auto r = check(
          mes.approve_master("qa1", qa1, *master, SignatureInput{"qa1", users[4].password, true}),
          "approval of " + *master);
      !r) {
    return tl::unexpected(r.error());
  }
  // The operators are trained on the product's master by the supervisor, who signs each record
  // (11.10(i)): without it they could not execute or verify its steps.
  SigningSession sup1{"sup1", now, false};
  for (const char* op : {"op1", "op2"}) {
    Training t{{},
               op,
               master_procedure("PARA-500"),
               {},
               "SOP-GRAN-004 rev 3 (PARA-500 granulation), shown on the line and assessed",
               0,
               0,
               {}};
    if (auto r = check(
            mes.record_training("sup1", sup1, t, SignatureInput{"sup1", users[1].password, true}),
            std::string("training of ") + op);
        !r) {
      return tl::unexpected(r.error());
    }
  }
  return users;
}

}  // namespace mes::app
