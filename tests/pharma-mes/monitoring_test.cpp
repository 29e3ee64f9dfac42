// Environmental monitoring and KPIs on SQLite and PostgreSQL: limits, alarms per excursion,
// rejected readings, deviations for batches in the room, acknowledgement, data gaps, calibration
// flags; batch integrity, right-first-time, yield and cycle-time efficiency.
#include <algorithm>
#include <cmath>

#include "mes_fixture.hpp"

namespace {

using namespace mes_test;
using isa88::Command;

class MonitoringTest : public MesTest {
 protected:
  void SetUp() override {
    config_.passwords.max_age_days = 0;
    ASSERT_NO_FATAL_FAILURE(MesTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(add_users());
    ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
    Sensor s{"TT-101", "Solids", "temperature", "C", 18, 25, 15, 30, 60, now_ + 30 * kDay, 0, {}};
    ASSERT_TRUE(mes_->add_sensor("sup1", s));
  }
  Mes::ReadingsOutcome send(std::vector<Mes::SensorReading> readings) {
    auto r = mes_->record_readings(readings);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : Mes::ReadingsOutcome{};
  }
  Mes::SensorReading reading(double value, Millis offset = 0, std::string unit = "C") {
    return Mes::SensorReading{"TT-101", std::move(unit), now_ + offset, value};
  }
};

TEST_P(MonitoringTest, OneAlarmPerExcursionAndLevelAndBadReadingsRejected) {
  auto out = send({reading(21, 0), reading(26, 1000), reading(27, 2000), reading(31, 3000),
                   reading(22, 4000), reading(26, 5000)});
  EXPECT_EQ(out.stored, 6u);
  EXPECT_EQ(out.alarms, 3u) << "alert, then action, then a new alert after returning";
  out = send({Mes::SensorReading{"TT-999", "C", now_, 20}, reading(20, 6000, "F"),
              reading(std::nan(""), 7000), reading(20, 8000)});
  EXPECT_EQ(out.stored, 1u);
  ASSERT_EQ(out.rejected.size(), 3u);
  EXPECT_EQ(out.rejected[0].code, Code::kUnknownDevice);
  EXPECT_EQ(out.rejected[1].code, Code::kInvalid);
  auto stored = store_->readings("TT-101", now_ - 1, now_ + 10'000);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 7u);
  EXPECT_EQ((*stored)[1].flags, "alert");
  EXPECT_EQ((*stored)[3].flags, "action");
  EXPECT_EQ((*stored)[0].flags, "");
  const auto t = trail();
  EXPECT_EQ(std::count_if(t.begin(), t.end(),
                          [](const AuditEntry& e) {
                            return e.action == "refused" && e.object_id == "TT-999";
                          }),
            1)
      << "one line per rejecting sensor, not per reading";
}

TEST_P(MonitoringTest, AnActionAlarmDuringABatchOpensADeviationAndIsAcknowledgedBySignature) {
  ASSERT_TRUE(mes_->create_batch("sup1", "B-1", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-1", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-1", 1, "R-101"));  // R-101 is in area "Solids"
  send({reading(32)});
  auto exceptions = mes_->review_by_exception("qa1", "B-1");
  ASSERT_TRUE(exceptions);
  std::vector<std::string> kinds;
  for (const auto& e : *exceptions) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"alarm", "deviation"}));
  auto active = mes_->alarms(true);
  ASSERT_TRUE(active);
  ASSERT_EQ(active->size(), 1u);
  auto op = session("op1");
  EXPECT_EQ(mes_->acknowledge_alarm("op1", op, active->at(0).id, "", both("op1")).error().code,
            Code::kReasonRequired);
  ASSERT_TRUE(
      mes_->acknowledge_alarm("op1", op, active->at(0).id, "door left open, closed", both("op1")));
  EXPECT_EQ(mes_->alarms(true)->size(), 0u);
  EXPECT_EQ(mes_->acknowledge_alarm("op1", op, active->at(0).id, "again",
                                    SignatureInput{"", password_of("op1")})
                .error()
                .code,
            Code::kConflict);
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
}

TEST_P(MonitoringTest, ASilentSensorGetsOneDataGapAndPastCalibrationReadingsAreFlagged) {
  send({reading(20)});
  advance(60'000);
  EXPECT_EQ(*mes_->check_data_gaps(), 0);
  advance(61'000);
  EXPECT_EQ(*mes_->check_data_gaps(), 1);
  EXPECT_EQ(*mes_->check_data_gaps(), 0) << "one alarm per gap";
  send({reading(20)});
  advance(125'000);
  EXPECT_EQ(*mes_->check_data_gaps(), 1) << "a new gap after readings resumed";
  advance(31 * kDay);
  send({reading(20)});
  auto stored = store_->readings("TT-101", now_, now_ + 1);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->at(0).flags, "uncalibrated");
}

// Device timestamps are bounded against server time: a reading dated beyond the allowed clock
// skew (2 min) is refused and named, so it cannot push "last reading" into the future and hold
// off the data-gap alarm; one within the skew is kept.
TEST_P(MonitoringTest, AReadingFromTheFutureIsRefusedAndDoesNotSilenceTheDataGapAlarm) {
  send({reading(20)});
  auto out = send({reading(20, 60 * kMinute), reading(20, 0 - now_.load()), reading(21, 90'000)});
  EXPECT_EQ(out.stored, 1u) << "only the reading 90 s ahead, within the skew";
  ASSERT_EQ(out.rejected.size(), 2u);
  EXPECT_EQ(out.rejected[0].code, Code::kInvalid);
  EXPECT_NE(out.rejected[0].message.find("3600 s ahead of server time"), std::string::npos)
      << out.rejected[0].message;
  EXPECT_NE(out.rejected[1].message.find("has no time"), std::string::npos)
      << out.rejected[1].message;
  auto stored = store_->readings("TT-101", 0, now_ + 2 * 60 * kMinute);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->size(), 2u);
  advance(90'000 + 121'000);  // two intervals after the last good reading
  EXPECT_EQ(*mes_->check_data_gaps(), 1) << "the refused future reading did not silence it";
}

// The raw readings are covered by the verification (11.10(a), ALCOA Original): seals chain each
// sensor's readings (count and SHA-256 per range of storing time) into the trail, and verify
// recomputes them; a reading changed, removed or slipped in behind the application is named.
TEST_P(MonitoringTest, SealedReadingsVerifyAndAChangedRemovedOrAddedReadingIsNamed) {
  send({reading(20, 0), reading(21, 1000), reading(22, 2000)});
  EXPECT_EQ(*mes_->seal_readings(), 0) << "stored less than a minute ago: the next seal";
  advance(61'000);
  send({reading(23, 0)});  // stored now: after this seal's range
  EXPECT_EQ(*mes_->seal_readings(), 1);
  EXPECT_EQ(*mes_->seal_readings(), 0) << "nothing new to seal";
  advance(61'000);
  EXPECT_EQ(*mes_->seal_readings(), 1) << "the fourth reading, in the next range";
  const auto t = trail();
  const auto seals = std::count_if(t.begin(), t.end(), [](const AuditEntry& e) {
    return e.action == "seal" && e.object_id == "TT-101" && e.field == "readings";
  });
  EXPECT_EQ(seals, 2);
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->first_problem();
  EXPECT_EQ(report->readings_sealed, 4);

  const bool pg = GetParam() == "postgresql";
  for (const char* sql :
       {pg ? "ALTER TABLE readings DISABLE TRIGGER USER" : "DROP TRIGGER readings_no_update",
        pg ? "SELECT 1" : "DROP TRIGGER readings_no_delete"}) {
    ASSERT_TRUE(raw_sql(sql).first) << sql;
  }
  ASSERT_TRUE(raw_sql("UPDATE readings SET value = 24.5 WHERE value = 22").first);
  report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->record_problems.size(), 1u) << report->first_problem();
  EXPECT_NE(report->record_problems[0].find("readings of TT-101 stored in"), std::string::npos);
  EXPECT_NE(report->record_problems[0].find("same count, other values"), std::string::npos)
      << report->record_problems[0];
  ASSERT_TRUE(raw_sql("UPDATE readings SET value = 22 WHERE value = 24.5").first);
  EXPECT_TRUE(mes_->verify()->ok()) << "put back exactly: verifies again";

  ASSERT_TRUE(raw_sql("DELETE FROM readings WHERE value = 23").first);
  report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->record_problems.size(), 1u);
  EXPECT_NE(report->record_problems[0].find("0 now, 1 when audit entry"), std::string::npos)
      << report->record_problems[0];

  ASSERT_TRUE(raw_sql("INSERT INTO readings (sensor_id, at, value, flags, stored_at) SELECT "
                      "sensor_id, at + 500, 20.5, '', stored_at FROM readings WHERE value = 20")
                  .first);
  report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->record_problems.size(), 2u) << "the slipped-in reading and the deleted one";
}

TEST_P(MonitoringTest, KpisCountIntactRightFirstTimeYieldAndCycleTime) {
  auto k = mes_->kpis();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->terminal, 0);
  EXPECT_DOUBLE_EQ(k->integrity, 1.0);
  ASSERT_NO_FATAL_FAILURE(run_batch("B-1"));
  ASSERT_TRUE(mes_->record_output("op1", "B-1", 95));
  ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kClean, "cleaned"));
  ASSERT_NO_FATAL_FAILURE(
      run_batch("B-2", /*speed=*/30));  // out of limits: a deviation, not right first time
  k = mes_->kpis();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->terminal, 2);
  EXPECT_EQ(k->complete, 2);
  EXPECT_EQ(k->intact, 1) << "B-2's deviation is still open";
  ASSERT_EQ(k->not_intact.size(), 1u);
  EXPECT_NE(k->not_intact[0].find("B-2"), std::string::npos);
  EXPECT_EQ(k->right_first_time, 1);
  EXPECT_DOUBLE_EQ(k->yield, 0.95);
  EXPECT_GT(k->cycle_time_efficiency, 0.0);
  EXPECT_LE(k->cycle_time_efficiency, 1.0);
  ASSERT_TRUE(mes_->close_deviation("qa1", "B-2-DEV-1", "no impact", ""));
  k = mes_->kpis();
  EXPECT_EQ(k->intact, 2);
  EXPECT_DOUBLE_EQ(k->integrity, 1.0);
  EXPECT_EQ(mes_->record_output("op1", "B-1", -1).error().code, Code::kInvalid);
}

// What the plant and compliance figures read: open deviations and those past due, Complete
// batches waiting for review and then for release, locked accounts, each sensor's latest reading
// against its limits and its data gap.
TEST_P(MonitoringTest, PlantStatusCountsWhatWaitsAndEachSensorsLatestReading) {
  auto p = mes_->plant_status(kDay);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->deviations_open, 0);
  ASSERT_EQ(p->sensors.size(), 1u);
  EXPECT_FALSE(p->sensors[0].value) << "no reading yet";
  EXPECT_EQ(p->sensors[0].alert_high, 25);
  EXPECT_EQ(p->sensors[0].action_low, 15);
  // A reading arriving late (older than the latest) does not become the latest value.
  send({reading(21, 2000), reading(19.5, 1000)});
  ASSERT_NO_FATAL_FAILURE(run_batch("B-1", /*speed=*/30));  // out of limits: a deviation
  p = mes_->plant_status(kDay);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->sensors[0].value);
  EXPECT_DOUBLE_EQ(*p->sensors[0].value, 21);
  EXPECT_EQ(p->sensors[0].room, "Solids");
  EXPECT_EQ(p->deviations_open, 1);
  EXPECT_EQ(p->deviations_past_due, 0);
  EXPECT_EQ(p->batches_awaiting_review, 1);
  EXPECT_EQ(p->batches_awaiting_release, 0);
  advance(kDay + 1);
  p = mes_->plant_status(kDay);
  EXPECT_EQ(p->deviations_past_due, 1) << "open longer than the due time";
  EXPECT_FALSE(p->sensors[0].gap_open);
  ASSERT_EQ(*mes_->check_data_gaps(), 1);
  EXPECT_TRUE(mes_->plant_status(kDay)->sensors[0].gap_open);
  ASSERT_TRUE(mes_->close_deviation("qa1", "B-1-DEV-1", "no impact", ""));
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-1", both("qa1")));
  p = mes_->plant_status(kDay);
  EXPECT_EQ(p->deviations_open, 0);
  EXPECT_EQ(p->batches_awaiting_review, 0);
  EXPECT_EQ(p->batches_awaiting_release, 1);
  EXPECT_EQ(p->users_locked, 0);
  ASSERT_TRUE(mes_->set_locked("admin1", "op2", true, "left the company"));
  EXPECT_EQ(mes_->plant_status(kDay)->users_locked, 1);
}

// The batch integrity SLO's input: software faults only (an open deviation is not one), batches
// finished before `since` come back unchecked, `known` ones not at all, and a record whose step
// lost its verification behind the application's back is named.
TEST_P(MonitoringTest, BatchIntegrityNamesSoftwareFaultsOnly) {
  const Millis start = now_.load();
  ASSERT_NO_FATAL_FAILURE(run_batch("B-1"));
  ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kClean, "cleaned"));
  advance(kMinute);
  const Millis since = now_.load();
  ASSERT_NO_FATAL_FAILURE(
      run_batch("B-2", /*speed=*/30));  // out of limits: an open deviation, still intact here
  auto all = mes_->batch_integrity(start);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).batch_id, "B-1");
  EXPECT_TRUE(all->at(0).checked);
  EXPECT_EQ(all->at(1).software_fault, "") << "an open deviation is not a software fault";
  auto recent = mes_->batch_integrity(since);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_FALSE(recent->at(0).checked) << "B-1 finished before `since`";
  EXPECT_TRUE(recent->at(1).checked);
  auto unknown = mes_->batch_integrity(start, {"B-1"});
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->size(), 1u);
  EXPECT_EQ(unknown->at(0).batch_id, "B-2");
  // Step 1 of B-1 needed a second person; take the verifier out of the stored record.
  const auto [ok, message] = raw_sql(
      "UPDATE records SET body = replace(body, '\"verified_by\":\"op2\"', "
      "'\"verified_by\":\"\"') WHERE type = 'step' AND id = 'B-1/001'");
  ASSERT_TRUE(ok) << message;
  all = mes_->batch_integrity(start);
  ASSERT_TRUE(all);
  EXPECT_NE(all->at(0).software_fault.find("lacks its verification"), std::string::npos)
      << all->at(0).software_fault;
  EXPECT_EQ(all->at(1).software_fault, "");
}

// Blue and green on one database: each version's batch integrity SLO reads only the batches it
// ended itself; and a green with the batch integrity fault injected (fault.batch_integrity)
// ends batches that fail the check, while blue's stay intact.
TEST_P(MonitoringTest, EachColourJudgesTheBatchesItEndedAndTheFaultShows) {
  config_.instance = "blue 1.0 pid 1 at 1";
  ASSERT_NO_FATAL_FAILURE(open());  // blue, with its instance name, on the same database
  const Millis start = now_.load();
  ASSERT_NO_FATAL_FAILURE(run_batch("B-BLUE"));
  ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kClean, "cleaned"));
  // Green: another service on the same database, with the fault on.
  MesConfig green_config = config_;
  green_config.instance = "green 1.1 pid 2 at 2";
  green_config.fault_drop_verification = true;
  auto blue_mes = std::move(mes_);
  mes_ = std::make_unique<Mes>(*store_, hasher_,
                               *crypto::SigningKey::from_seed(std::string(32, 'K')), green_config);
  ASSERT_NO_FATAL_FAILURE(run_batch("B-GREEN"));
  auto green_view = mes_->batch_integrity(start, {}, green_config.instance);
  ASSERT_TRUE(green_view) << green_view.error().message;
  ASSERT_EQ(green_view->size(), 2u);
  for (const auto& b : *green_view) {
    if (b.batch_id == "B-BLUE") {
      EXPECT_FALSE(b.checked) << "blue ended it: not green's to judge";
    } else {
      EXPECT_TRUE(b.checked);
      EXPECT_NE(b.software_fault.find("lacks its verification"), std::string::npos)
          << b.software_fault;
    }
  }
  auto blue_view = blue_mes->batch_integrity(start, {}, config_.instance);
  ASSERT_TRUE(blue_view);
  for (const auto& b : *blue_view) {
    EXPECT_EQ(b.checked, b.batch_id == "B-BLUE") << b.batch_id;
    if (b.checked) {
      EXPECT_EQ(b.software_fault, "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Databases, MonitoringTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
