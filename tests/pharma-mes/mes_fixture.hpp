// A Mes service over a real store (SQLite file or a fresh PostgreSQL database, by test
// parameter), real Argon2id hashing (at libsodium's minimal cost, for speed), a fixed server key
// and a clock the test moves. Users, plant, a released lot and an approved master on request.
#pragma once

#include <functional>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>

#include "mes/domain/service.hpp"
#include "mes/store/open.hpp"
#include "mes/store/security.hpp"
#include "postgres_server.hpp"
#include "test_support.hpp"

namespace mes {
inline void PrintTo(Code code, std::ostream* os) { *os << to_string(code); }
}  // namespace mes

namespace mes_test {

using namespace mes;

inline constexpr Millis kDay = 24LL * 3600 * 1000;
inline constexpr Millis kMinute = 60 * 1000;
inline constexpr Millis kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

// Each user's password (never containing the user id, which the policy forbids).
inline std::string password_of(const std::string& user) {
  return "Pw-" + std::string(user.rbegin(), user.rend()) + "-Secret7!";
}

class MesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      url_ = PostgresServer::instance().fresh_database();
      ASSERT_FALSE(url_.empty()) << PostgresServer::instance().error();
    } else {
      url_ = "sqlite://" + dir_.file("mes.db");
    }
    ASSERT_NO_FATAL_FAILURE(open());
  }
  void open() {
    mes_.reset();
    store_.reset();
    store::StoreOptions options;
    options.clock = [this] { return now_.load(); };
    auto s = store::open_store(url_, options);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    mes_ = std::make_unique<Mes>(*store_, hasher_,
                                 *crypto::SigningKey::from_seed(std::string(32, 'K')), config_);
  }
  void advance(Millis ms) { now_ += ms; }

  // admin1 (bootstrap), sup1, op1, op2, qa1, qa2, each with password_of(id), first change done.
  void add_users() {
    ASSERT_TRUE(mes_->bootstrap_admin("admin1", "Ada Admin", password_of("admin1")));
    const std::pair<const char*, Role> users[] = {{"sup1", Role::kSupervisor},
                                                  {"op1", Role::kOperator},
                                                  {"op2", Role::kOperator},
                                                  {"qa1", Role::kQa},
                                                  {"qa2", Role::kQa}};
    for (const auto& [id, role] : users) {
      NewUser u{id, std::string("Name of ") + id, role_bit(role), "Initial-Passw0rd-1",
                "badge and passport checked in person"};
      ASSERT_TRUE(mes_->create_user("admin1", u));
      ASSERT_TRUE(mes_->change_password(id, "Initial-Passw0rd-1", password_of(id)));
    }
  }
  SigningSession session(const std::string& user) {
    return SigningSession{user, now_.load(), false};
  }
  // Both components, with the first-signing attestation (11.100(c)) accepted.
  SignatureInput both(const std::string& user) {
    return SignatureInput{user, password_of(user), true};
  }

  // Reactor R-101, scale SC-1 (both calibrated for 90 days), lot L-API-1 (released by qa2),
  // lot L-EXC-1 (released), master TABLET@1 approved by qa1, op1 and op2 trained on it by sup1.
  void add_plant_and_master() {
    Equipment reactor{
        "R-101",  "Reactor 101",           "reactor",        "", "Solids", "Granulation",
        "Unit 1", EquipmentStatus::kClean, now_ + 90 * kDay, "", {}};
    ASSERT_TRUE(mes_->add_equipment("sup1", reactor));
    Equipment scale{
        "SC-1",      "Floor scale 1",         "scale",          "", "Solids", "Dispensing",
        "Scale bay", EquipmentStatus::kClean, now_ + 90 * kDay, "", {}};
    ASSERT_TRUE(mes_->add_equipment("sup1", scale));
    ASSERT_TRUE(mes_->receive_lot(
        "sup1",
        Lot{"L-API-1", "API-1", Quantity::whole(500), "kg", now_ + 365 * kDay, {}, {}, {}}));
    ASSERT_TRUE(mes_->receive_lot(
        "sup1",
        Lot{"L-EXC-1", "EXC-1", Quantity::whole(500), "kg", now_ + 365 * kDay, {}, {}, {}}));
    auto qa2 = session("qa2");
    ASSERT_TRUE(mes_->set_lot_status("qa2", qa2, "L-API-1", LotStatus::kReleased, "CoA reviewed",
                                     both("qa2")));
    ASSERT_TRUE(mes_->set_lot_status("qa2", qa2, "L-EXC-1", LotStatus::kReleased, "CoA reviewed",
                                     SignatureInput{"", password_of("qa2")}));
    auto id = mes_->create_master_draft("sup1", master(), "new product");
    ASSERT_TRUE(id) << id.error().message;
    ASSERT_EQ(*id, "TABLET@1");
    auto qa1 = session("qa1");
    ASSERT_TRUE(mes_->approve_master("qa1", qa1, "TABLET@1", both("qa1")));
    for (const char* op : {"op1", "op2"}) {
      ASSERT_NO_FATAL_FAILURE(train(op, master_procedure("TABLET")));
    }
  }

  // A current training of `trainee` on `procedure`, recorded and signed by `trainer`.
  void train(const std::string& trainee, const std::string& procedure,
             const std::string& trainer = "sup1", Millis valid_until = 0) {
    auto s = session(trainer);
    auto r = mes_->record_training(trainer, s,
                                   Training{{},
                                            trainee,
                                            procedure,
                                            {},
                                            "SOP-100 rev 2, read and shown on the line",
                                            0,
                                            valid_until,
                                            {}},
                                   both(trainer));
    ASSERT_TRUE(r) << r.error().message;
  }

  static MasterRecipe master() {
    MasterRecipe m;
    m.product = "TABLET";
    m.base_size = 100;
    PhaseSpec charge;
    charge.unit_procedure = "Granulation";
    charge.operation = "Charge";
    charge.phase = "Charge API and excipient";
    charge.instructions = "Weigh API-1 and EXC-1 into R-101";
    charge.equipment_class = "reactor";
    charge.standard_minutes = 30;
    charge.second_person_verification = true;
    charge.charges = {ChargeSpec{"API-1", 10, 2, "kg"}, ChargeSpec{"EXC-1", 40, 5, "kg"}};
    PhaseSpec blend;
    blend.unit_procedure = "Granulation";
    blend.operation = "Blend";
    blend.phase = "Blend";
    blend.instructions = "Blend at 20 rpm for 10 minutes";
    blend.standard_minutes = 10;
    blend.parameters = {ParameterSpec{"speed", "rpm", 20, 15, 25},
                        ParameterSpec{"time", "min", 10, 8, 12}};
    m.phases = {charge, blend};
    return m;
  }

  // Runs batch `id` (size 100) from creation to Complete, step 1 verified by op2; takes 10
  // minutes of the test clock.
  // `during_step1` runs while step 1 is running on R-101 (e.g. a sensor excursion in its room).
  void run_batch(const std::string& id, double speed = 20,
                 const std::function<void()>& during_step1 = {},
                 const std::string& master_id = "TABLET@1") {
    ASSERT_TRUE(mes_->create_batch("sup1", id, master_id, 100));
    ASSERT_TRUE(mes_->command_batch("op1", id, isa88::Command::kStart, ""));
    ASSERT_TRUE(mes_->start_step("op1", id, 1, "R-101"));
    if (during_step1) {
      ASSERT_NO_FATAL_FAILURE(during_step1());
    }
    advance(5 * kMinute);  // time passes on the plant floor
    auto w = mes_->weigh("op1", id, 1, "API-1", "SC-1", "L-API-1", 12.1, 2.0);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE(w->accepted);
    w = mes_->weigh("op1", id, 1, "EXC-1", "SC-1", "L-EXC-1", 42.0, 2.0);
    ASSERT_TRUE(w && w->accepted);
    auto op2 = session("op2");
    auto v = mes_->verify_step("op1", op2, id, 1, both("op2"));
    ASSERT_TRUE(v) << v.error().message;
    ASSERT_TRUE(mes_->complete_step("op1", id, 1));
    ASSERT_TRUE(mes_->start_step("op1", id, 2, ""));
    advance(5 * kMinute);
    ASSERT_TRUE(mes_->enter_parameter("op1", id, 2, "speed", speed, ""));
    ASSERT_TRUE(mes_->enter_parameter("op1", id, 2, "time", 10, ""));
    ASSERT_TRUE(mes_->complete_step("op1", id, 2));
  }

  // The operator records an output of 95 for a Complete batch that has none yet.
  void record_output_if_missing(const std::string& batch) {
    bool has_output = false;
    ASSERT_TRUE(store_->read([&](Transaction& tx) -> Result<void> {
      auto doc = tx.get("batch", batch);
      has_output = doc && doc->body.find("\"output\":") != std::string::npos;
      return {};
    }));
    if (!has_output) {
      ASSERT_TRUE(mes_->record_output("op1", batch, 95));
    }
  }

  // Runs SQL behind the application's back: {succeeded, error message}.
  std::pair<bool, std::string> raw_sql(const std::string& sql) {
    return PostgresServer::run_store_sql(url_, sql);
  }

  std::vector<AuditEntry> trail() {
    std::vector<AuditEntry> out;
    EXPECT_TRUE(store_->walk_audit(1, [&](const AuditEntry& e) {
      out.push_back(e);
      return true;
    }));
    return out;
  }

  test_support::TempDir dir_;
  std::string url_;
  std::atomic<Millis> now_{kStart};
  store::Argon2idHasher hasher_{store::Argon2idHasher::minimal()};
  MesConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Mes> mes_;
};

}  // namespace mes_test
