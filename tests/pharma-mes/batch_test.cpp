// Batch execution end to end on SQLite and PostgreSQL: ISA-88 commands, steps in sequence,
// parameter limits and automatic deviations, weighing tolerance and lot status, second-person
// verification, equipment rules, review by exception, QA release and genealogy.
#include <nlohmann/json.hpp>

#include "mes_fixture.hpp"

namespace {

using namespace mes_test;
using isa88::Command;
using isa88::State;
using json = nlohmann::json;

class BatchTest : public MesTest {
 protected:
  void SetUp() override {
    config_.passwords.max_age_days = 0;  // these tests move the clock by months
    ASSERT_NO_FATAL_FAILURE(MesTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(add_users());
    ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  }
  // R-101 is left dirty by a batch: clean it for the next one.
  void clean_reactor() {
    ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kClean, "cleaned"));
  }
  void review_and_release(const std::string& batch, const std::string& qa = "qa1") {
    ASSERT_NO_FATAL_FAILURE(record_output_if_missing(batch));
    auto s = session(qa);
    auto reviewed = mes_->mark_reviewed(qa, s, batch, both(qa));
    ASSERT_TRUE(reviewed) << reviewed.error().message;
    auto released = mes_->release_batch(qa, s, batch, true, "meets specification",
                                        SignatureInput{"", password_of(qa)});
    ASSERT_TRUE(released) << released.error().message;
  }
};

TEST_P(BatchTest, AWholeBatchFromCreationToQaReleaseVerifies) {
  ASSERT_NO_FATAL_FAILURE(run_batch("B-001"));
  auto exceptions = mes_->review_by_exception("qa1", "B-001");
  ASSERT_TRUE(exceptions);
  EXPECT_TRUE(exceptions->empty())
      << exceptions->front().kind << ": " << exceptions->front().detail;
  review_and_release("B-001");
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << (report->chain_problem ? report->chain_problem->message
                                : report->signature_problems.empty()
                                    ? ""
                                    : report->signature_problems[0]);
  EXPECT_EQ(*mes_->lots_of_batch("B-001"), (std::vector<std::string>{"L-API-1", "L-EXC-1"}));
  EXPECT_EQ(*mes_->batches_of_lot("L-API-1"), std::vector<std::string>{"B-001"});
  // Released is final: no second disposition, no reset.
  auto qa = session("qa1");
  EXPECT_EQ(
      mes_->release_batch("qa1", qa, "B-001", false, "changed mind", both("qa1")).error().code,
      Code::kRecordImmutable);
  EXPECT_EQ(mes_->command_batch("sup1", "B-001", Command::kReset, "again").error().code,
            Code::kRecordImmutable);
}

TEST_P(BatchTest, OutOfLimitValuesOpenADeviationThatBlocksReleaseUntilClosed) {
  ASSERT_NO_FATAL_FAILURE(run_batch("B-002", /*speed=*/30));  // speed limits are 15..25 rpm
  auto exceptions = mes_->review_by_exception("qa1", "B-002");
  ASSERT_TRUE(exceptions);
  std::vector<std::string> kinds;
  for (const auto& e : *exceptions) kinds.push_back(e.kind);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "out_of_limits"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "deviation"), kinds.end());
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->record_output("op1", "B-002", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-002", both("qa1")));
  auto blocked = mes_->release_batch("qa1", qa, "B-002", true, "ok", both("qa1"));
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, Code::kNotReleasable);
  EXPECT_NE(blocked.error().message.find("B-002-DEV-1"), std::string::npos);
  EXPECT_EQ(mes_->close_deviation("qa1", "B-002-DEV-1", "", "").error().code,
            Code::kReasonRequired);
  EXPECT_EQ(mes_->close_deviation("op1", "B-002-DEV-1", "fine", "").error().code, Code::kForbidden);
  EXPECT_EQ(mes_->close_deviation("qa1", "B-002-DEV-1", "no impact", "CAPA-17").error().code,
            Code::kNotFound)
      << "a CAPA named must exist";
  ASSERT_TRUE(mes_->open_capa(
      "qa1", Capa{"CAPA-17", "Speed controller", "sup1", now_ + 30 * kDay, {"B-002-DEV-1"}},
      "speed out of limits"));
  ASSERT_TRUE(mes_->close_deviation("qa1", "B-002-DEV-1", "no impact: blend uniformity within spec",
                                    "CAPA-17"));
  ASSERT_TRUE(mes_->release_batch("qa1", qa, "B-002", true, "deviation dispositioned",
                                  SignatureInput{"", password_of("qa1")}));
}

// 211.192, Annex 11 §9: release refuses with every reason named at once — not reviewed, each
// open deviation, each unacknowledged alarm of the batch — and releases once each is cleared.
TEST_P(BatchTest, ReleaseGate211_192_NamesEveryReasonAndReleasesOnceCleared) {
  Sensor tt{"TT-101", "Solids", "temperature", "C", 18, 25, 15, 30, 60, now_ + 30 * kDay, 0, {}};
  ASSERT_TRUE(mes_->add_sensor("sup1", tt));
  ASSERT_NO_FATAL_FAILURE(run_batch("B-020", /*speed=*/30, [&] {
    auto r = mes_->record_readings({Mes::SensorReading{"TT-101", "C", now_.load(), 32}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->alarms, 1u) << "an action alarm in R-101's room";
  }));
  auto qa = session("qa1");
  auto refused = mes_->release_batch("qa1", qa, "B-020", true, "ok", both("qa1"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kNotReleasable);
  const std::string why = refused.error().message;
  EXPECT_NE(why.find("the exceptions are not reviewed"), std::string::npos) << why;
  EXPECT_NE(why.find("no output is recorded"), std::string::npos) << why;
  EXPECT_NE(why.find("deviation B-020-DEV-1 is still open"), std::string::npos) << why;
  EXPECT_NE(why.find("deviation B-020-DEV-2 is still open"), std::string::npos) << why;
  EXPECT_NE(why.find("alarm ALM-TT-101-"), std::string::npos) << why;
  EXPECT_NE(why.find("is not acknowledged"), std::string::npos) << why;
  const auto t = trail();
  EXPECT_TRUE(std::any_of(t.begin(), t.end(), [](const AuditEntry& e) {
    return e.action == "refused" && e.object_id == "B-020" && e.field == "release_batch";
  })) << "the refusal is on the trail";

  ASSERT_TRUE(mes_->record_output("op1", "B-020", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-020", both("qa1")));
  ASSERT_TRUE(mes_->open_capa("qa1",
                              Capa{"CAPA-20",
                                   "Room temperature and speed",
                                   "sup1",
                                   now_ + 30 * kDay,
                                   {"B-020-DEV-1", "B-020-DEV-2"}},
                              "excursions during B-020"));
  for (const char* dev : {"B-020-DEV-1", "B-020-DEV-2"}) {
    ASSERT_TRUE(mes_->close_deviation("qa1", dev, "assessed: no impact", "CAPA-20"));
  }
  refused =
      mes_->release_batch("qa1", qa, "B-020", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message.find("reviewed"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("is not acknowledged"), std::string::npos);
  auto op = session("op1");
  ASSERT_TRUE(
      mes_->acknowledge_alarm("op1", op, mes_->alarms(true)->at(0).id, "door closed", both("op1")));
  auto released =
      mes_->release_batch("qa1", qa, "B-020", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_TRUE(released) << released.error().message;
}

// The release calls the real verification: a step changed behind the application's back and an
// audit trail that does not verify (here an entry of another object rewritten) each block it.
TEST_P(BatchTest, ReleaseGateRefusesARecordChangedBehindTheTrailAndATrailThatDoesNotVerify) {
  ASSERT_NO_FATAL_FAILURE(run_batch("B-021"));
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->record_output("op1", "B-021", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-021", both("qa1")));
  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    auto step = tx.get("step", "B-021/002");
    if (!step) return refuse(Code::kNotFound, "step");
    step->state = "complete";  // same state, rewritten: a new version no entry wrote
    return tx.put(*step);
  }));
  auto refused =
      mes_->release_batch("qa1", qa, "B-021", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  EXPECT_NE(
      refused.error().message.find("step B-021/002 differs from the version its audit trail wrote"),
      std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find("audit trail does not verify"), std::string::npos);

  ASSERT_TRUE(raw_sql(GetParam() == "postgresql" ? "ALTER TABLE audit_entries DISABLE TRIGGER USER"
                                                 : "DROP TRIGGER audit_no_update")
                  .first);
  ASSERT_TRUE(raw_sql("UPDATE audit_entries SET reason = 'rewritten' WHERE seq = 3").first);
  refused =
      mes_->release_batch("qa1", qa, "B-021", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("the audit trail does not verify (entry 3 was altered"),
            std::string::npos)
      << refused.error().message;
}

// Annex 11 §13, ICH Q10 §3.2.2: a deviation whose cause needs a CAPA closes only naming one that
// exists and answers it; the owner (or QA) records the actions; QA — never the owner — closes it
// with a signed effectiveness check; open CAPAs past their due date are reported.
TEST_P(BatchTest, AnnexXI_13_CapaAnswersDeviationsAndClosesOnlyOnASignedEffectivenessCheck) {
  config_.capa_required_causes = {"out_of_limits"};
  ASSERT_NO_FATAL_FAILURE(open());
  ASSERT_NO_FATAL_FAILURE(run_batch("B-026", /*speed=*/30));  // out of limits: B-026-DEV-1
  auto refused = mes_->close_deviation("qa1", "B-026-DEV-1", "no impact", "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kOutOfSequence);
  EXPECT_NE(refused.error().message.find("needs a CAPA"), std::string::npos);
  const Capa capa{"CAPA-1", "Speed controller drift", "qa2", now_ + 30 * kDay, {"B-026-DEV-1"}};
  EXPECT_EQ(mes_->open_capa("op1", capa, "x").error().code, Code::kForbidden);
  EXPECT_EQ(mes_->open_capa("qa1", capa, "").error().code, Code::kReasonRequired);
  Capa bad = capa;
  bad.owner = "nobody";
  EXPECT_EQ(mes_->open_capa("qa1", bad, "x").error().code, Code::kNotFound);
  bad = capa;
  bad.due_at = now_ - 1;
  EXPECT_EQ(mes_->open_capa("qa1", bad, "x").error().code, Code::kInvalid);
  bad = capa;
  bad.deviations = {"B-026-DEV-9"};
  EXPECT_EQ(mes_->open_capa("qa1", bad, "x").error().code, Code::kNotFound);
  ASSERT_TRUE(mes_->open_capa("qa1", capa, "speed out of limits on B-026"));
  EXPECT_EQ(mes_->open_capa("qa1", capa, "again").error().code, Code::kConflict);
  Capa other{"CAPA-2", "Unrelated", "qa2", now_ + kDay, {"B-026-DEV-1"}};
  other.deviations.clear();
  EXPECT_EQ(mes_->open_capa("qa1", other, "x").error().code, Code::kInvalid)
      << "a CAPA answers something";
  ASSERT_TRUE(mes_->close_deviation("qa1", "B-026-DEV-1", "speed excursion, product within spec",
                                    "CAPA-1"));

  auto qa1 = session("qa1");
  auto qa2 = session("qa2");
  EXPECT_EQ(mes_->close_capa("qa1", qa1, "CAPA-1", "works", both("qa1")).error().code,
            Code::kOutOfSequence)
      << "nothing done yet";
  EXPECT_EQ(mes_->record_capa_action("op2", "CAPA-1", "looked at it").error().code,
            Code::kForbidden)
      << "neither the owner nor QA";
  ASSERT_TRUE(mes_->record_capa_action("qa2", "CAPA-1", "controller retuned, SOP-12 updated"));
  EXPECT_EQ(mes_->close_capa("qa2", qa2, "CAPA-1", "works", both("qa2")).error().code,
            Code::kSameUser)
      << "the owner does not judge their own CAPA";
  ASSERT_TRUE(mes_->close_capa("qa1", qa1, "CAPA-1", "no recurrence over the next 20 batches",
                               both("qa1")));
  EXPECT_EQ(mes_->record_capa_action("qa2", "CAPA-1", "more").error().code, Code::kRecordImmutable);
  auto sigs = mes_->signatures("qa1", "capa", "CAPA-1");
  ASSERT_TRUE(sigs);
  ASSERT_EQ(sigs->size(), 1u);
  EXPECT_EQ(sigs->at(0).meaning, Meaning::kApproved);

  // Overdue: an open CAPA past its due date is reported; a closed one never is.
  ASSERT_TRUE(mes_->open_capa(
      "qa1",
      Capa{"CAPA-3", "Operator training on speed limits", "sup1", now_ + kDay, {"B-026-DEV-1"}},
      "retrain"));
  EXPECT_TRUE(mes_->capas("qa1", true)->empty());
  advance(2 * kDay);
  auto overdue = mes_->capas("op1", true);
  ASSERT_TRUE(overdue);
  ASSERT_EQ(overdue->size(), 1u);
  EXPECT_EQ(overdue->at(0).id, "CAPA-3");
  EXPECT_EQ(mes_->capas("op1", false)->size(), 2u);
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->first_problem();
}

// 211.180, Annex 11 §17: every record, with its audit entries, is kept for its type's years
// from creation (a rule per type over the default); the report lists what leaves retention
// before a date, and nothing else.
TEST_P(BatchTest, Retention211_180_ReportsWhatLeavesRetentionByTheTypesRule) {
  config_.retention_default_years = 10;
  config_.retention_years = {{"batch", 15}};
  ASSERT_NO_FATAL_FAILURE(open());
  const Millis created = now_.load();
  ASSERT_NO_FATAL_FAILURE(run_batch("B-027"));
  constexpr Millis kYear = 31'556'952'000;
  auto report = mes_->retention_report("qa1", now_ + 9 * kYear);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->empty()) << report->front().type << " " << report->front().id;
  EXPECT_EQ(mes_->retention_report("op1", now_).error().code, Code::kForbidden);
  const auto find = [](const std::vector<RetentionItem>& items, const std::string& type,
                       const std::string& id) {
    return std::find_if(items.begin(), items.end(),
                        [&](const RetentionItem& i) { return i.type == type && i.id == id; });
  };
  report = mes_->retention_report("qa1", now_ + 11 * kYear);
  ASSERT_TRUE(report);
  const auto step = find(*report, "step", "B-027/001");
  ASSERT_NE(step, report->end()) << "a step keeps the default 10 years";
  EXPECT_GE(step->created_at, created);
  EXPECT_EQ(step->retain_until, step->created_at + 10 * kYear);
  EXPECT_GT(step->entries, 3);
  EXPECT_NE(find(*report, "user", "op1"), report->end());
  EXPECT_EQ(find(*report, "batch", "B-027"), report->end()) << "a batch keeps 15 years";
  report = mes_->retention_report("qa1", now_ + 16 * kYear);
  ASSERT_TRUE(report);
  const auto batch = find(*report, "batch", "B-027");
  ASSERT_NE(batch, report->end());
  EXPECT_EQ(batch->retain_until, batch->created_at + 15 * kYear);
  EXPECT_TRUE(std::is_sorted(report->begin(), report->end(),
                             [](const RetentionItem& a, const RetentionItem& b) {
                               return a.retain_until < b.retain_until;
                             }));
}

// 211.188(b), 211.101(c): the release reconciles the genealogy — every accepted weighing has its
// charge (same lot, same net), every charge its weighing, each lot was released when weighed and
// its consumed quantity is the total of its charges. Only records changed behind the
// application can break it; each such change is named.
TEST_P(BatchTest, ReleaseGate211_188_ReconcilesTheGenealogy) {
  ASSERT_NO_FATAL_FAILURE(run_batch("B-023"));
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->record_output("op1", "B-023", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-023", both("qa1")));
  std::string api_charge, exc_charge;
  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    for (auto charge : tx.list("charge", "", "B-023")) {
      auto body = nlohmann::json::parse(charge.body);
      if (charge.parent == "L-API-1") {  // 10.100 kg weighed, 11.100 charged
        api_charge = charge.id;
        body["data"]["net"] = 11.1;
        charge.body = body.dump();
      } else {  // the excipient's charge moved to another batch
        exc_charge = charge.id;
        charge.state = "B-999";
      }
      if (auto r = tx.put(charge); !r) return r;
    }
    return {};
  }));
  ASSERT_FALSE(api_charge.empty());
  ASSERT_FALSE(exc_charge.empty());
  auto refused =
      mes_->release_batch("qa1", qa, "B-023", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kNotReleasable);
  const std::string why = refused.error().message;
  EXPECT_NE(why.find("genealogy: charge " + api_charge +
                     " (11.1 kg of lot L-API-1) differs from its weighing (10.1 of lot L-API-1)"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("genealogy: lot L-API-1 shows 10.1 kg consumed but its charges total 11.1"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("genealogy: the weighing " + exc_charge +
                     " of lot L-EXC-1 has no charge to the batch"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("genealogy: stored charge " + exc_charge + " is malformed (index)"),
            std::string::npos)
      << "listed under another batch than the one it names: " << why;
  EXPECT_EQ(why.find("was quarantine"), std::string::npos)
      << "both lots were released when weighed";
}

// Annex 11 §9, 211.192: the review signs the batch's audit trail (its entries up to the review,
// by their chained hashes) as well as the record and its exceptions; release checks that review
// still stands. A review record rewritten behind the application is named twice: its signature
// no longer matches it, and the trail it claims is not the one on the chain.
TEST_P(BatchTest, ReviewSignsTheBatchAuditTrailAndReleaseChecksIt) {
  ASSERT_NO_FATAL_FAILURE(run_batch("B-025"));
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->record_output("op1", "B-025", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-025", both("qa1")));
  auto sigs = mes_->signatures("qa1", "trail_review", "B-025/R1");
  ASSERT_TRUE(sigs) << sigs.error().message;
  ASSERT_EQ(sigs->size(), 1u);
  EXPECT_EQ(sigs->at(0).meaning, Meaning::kReviewed);
  EXPECT_EQ(sigs->at(0).user_id, "qa1");
  std::int64_t entries = 0;
  ASSERT_TRUE(store_->read([&](Transaction& tx) -> Result<void> {
    auto review = tx.get("trail_review", "B-025/R1");
    if (!review) return refuse(Code::kNotFound, "no review record");
    entries = json::parse(review->body)["data"].value("entries", std::int64_t{0});
    return {};
  }));
  EXPECT_GT(entries, 20) << "the batch, its steps and its charges, from creation to the end";
  auto verified = mes_->verify();
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok()) << verified->first_problem();

  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    auto review = tx.get("trail_review", "B-025/R1");
    if (!review) return refuse(Code::kNotFound, "no review record");
    auto body = json::parse(review->body);
    body["data"]["entries"] = entries - 5;
    body["data"]["through_seq"] = body["data"]["through_seq"].get<std::int64_t>() - 40;
    review->body = body.dump();
    return tx.put(*review);
  }));
  auto refused =
      mes_->release_batch("qa1", qa, "B-025", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  const std::string why = refused.error().message;
  EXPECT_NE(why.find("the audit trail review B-025/R1 is not validly signed"), std::string::npos)
      << why;
  EXPECT_NE(why.find("is not the one reviewed in B-025/R1"), std::string::npos) << why;
}

// A weighing whose lot was still in quarantine when it was weighed (a step rewritten to name
// another lot) is named from the lot's trail, whatever the lot's status is now.
TEST_P(BatchTest, ReleaseGateNamesALotThatWasNotReleasedWhenWeighed) {
  ASSERT_TRUE(mes_->receive_lot(
      "sup1", Lot{"L-API-9", "API-1", Quantity::whole(50), "kg", now_ + 365 * kDay, {}, {}, {}}));
  ASSERT_NO_FATAL_FAILURE(run_batch("B-024"));
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->record_output("op1", "B-024", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-024", both("qa1")));
  auto qa2 = session("qa2");
  ASSERT_TRUE(mes_->set_lot_status("qa2", qa2, "L-API-9", LotStatus::kReleased, "CoA reviewed",
                                   both("qa2")));  // released only after the batch ran
  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    for (auto charge : tx.list("charge", "", "B-024")) {
      if (charge.parent != "L-API-1") continue;
      charge.parent = "L-API-9";
      auto body = nlohmann::json::parse(charge.body);
      body["data"]["lot"] = "L-API-9";
      charge.body = body.dump();
      if (auto r = tx.put(charge); !r) return r;
    }
    return {};
  }));
  auto refused =
      mes_->release_batch("qa1", qa, "B-024", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  const std::string why = refused.error().message;
  EXPECT_NE(why.find("genealogy: lot L-API-9 was quarantine, not released, when B-024/001/"),
            std::string::npos)
      << why;
}

// Genealogy (recall): batches produce output lots that later batches consume; a trace goes
// backward and forward over any depth (here three levels of manufacture) with each node's
// status, and a recall of the raw material reaches every batch and lot it went into.
TEST_P(BatchTest, GenealogyTracesThreeLevelsBackwardAndForward) {
  // A one-phase master that charges 10 +- 2 kg of `input` per 100 kg.
  const auto one_phase = [&](const std::string& product, const std::string& input) {
    MasterRecipe m;
    m.product = product;
    m.base_size = 100;
    PhaseSpec charge;
    charge.unit_procedure = "Processing";
    charge.operation = "Charge";
    charge.phase = "Charge " + input;
    charge.instructions = "Weigh " + input + " into R-101";
    charge.equipment_class = "reactor";
    charge.standard_minutes = 30;
    charge.charges = {ChargeSpec{input, 10, 2, "kg"}};
    m.phases = {charge};
    auto id = mes_->create_master_draft("sup1", m, "new product");
    ASSERT_TRUE(id) << id.error().message;
    auto qa1 = session("qa1");
    ASSERT_TRUE(mes_->approve_master("qa1", qa1, *id, both("qa1")));
    ASSERT_NO_FATAL_FAILURE(train("op1", master_procedure(product)));
  };
  const auto release_lot = [&](const std::string& lot) {
    auto qa2 = session("qa2");
    ASSERT_TRUE(
        mes_->set_lot_status("qa2", qa2, lot, LotStatus::kReleased, "CoA reviewed", both("qa2")));
  };
  const auto run_one_phase = [&](const std::string& batch, const std::string& master,
                                 const std::string& material, const std::string& lot) {
    clean_reactor();
    ASSERT_TRUE(mes_->create_batch("sup1", batch, master, 100));
    ASSERT_TRUE(mes_->command_batch("op1", batch, Command::kStart, ""));
    ASSERT_TRUE(mes_->start_step("op1", batch, 1, "R-101"));
    auto w = mes_->weigh("op1", batch, 1, material, "SC-1", lot, 12.0, 2.0);
    ASSERT_TRUE(w && w->accepted) << (w ? w->reason_code : w.error().message);
    ASSERT_TRUE(mes_->complete_step("op1", batch, 1));
  };

  ASSERT_NO_FATAL_FAILURE(run_batch("B-G1"));  // L-API-1 + L-EXC-1 -> TABLET
  ASSERT_TRUE(mes_->record_output("op1", "B-G1", 95, "L-TAB-1"));
  EXPECT_EQ(mes_->record_output("op1", "B-G1", 95, "L-TAB-2").error().code, Code::kConflict)
      << "one output lot per batch";
  ASSERT_TRUE(mes_->record_output("op1", "B-G1", 94.5, "L-TAB-1")) << "corrected before use";
  ASSERT_NO_FATAL_FAILURE(release_lot("L-TAB-1"));
  EXPECT_EQ(mes_->record_output("op1", "B-G1", 90, "L-TAB-1").error().code, Code::kRecordImmutable)
      << "a released lot's quantity stays";
  ASSERT_NO_FATAL_FAILURE(one_phase("COATED", "TABLET"));
  ASSERT_NO_FATAL_FAILURE(run_one_phase("B-G2", "COATED@1", "TABLET", "L-TAB-1"));
  ASSERT_TRUE(mes_->record_output("op1", "B-G2", 19.8, "L-COAT-1"));
  ASSERT_NO_FATAL_FAILURE(release_lot("L-COAT-1"));
  ASSERT_NO_FATAL_FAILURE(one_phase("PACK", "COATED"));
  ASSERT_NO_FATAL_FAILURE(run_one_phase("B-G3", "PACK@1", "COATED", "L-COAT-1"));
  ASSERT_TRUE(mes_->record_output("op1", "B-G3", 9.9, "L-PACK-1"));

  const auto path = [](const std::vector<Mes::TraceNode>& nodes) {
    std::string out;
    for (const auto& n : nodes) out += n.kind + ":" + n.id + "@" + std::to_string(n.depth) + " ";
    return out;
  };
  auto back = mes_->trace_lot("qa1", "L-PACK-1", Mes::TraceDirection::kBackward);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(path(*back),
            "lot:L-PACK-1@0 batch:B-G3@1 lot:L-COAT-1@2 batch:B-G2@3 lot:L-TAB-1@4 "
            "batch:B-G1@5 lot:L-API-1@6 lot:L-EXC-1@6 ");
  EXPECT_EQ(back->at(0).status, "quarantine");
  EXPECT_EQ(back->at(0).detail, "PACK, 9.9 kg left");
  EXPECT_EQ(back->at(4).detail, "TABLET, 84.5 kg left") << "94.5 made, 10 used by B-G2";
  EXPECT_EQ(back->at(5).status, "Complete");
  EXPECT_EQ(back->at(6).via, "B-G1");

  // A recall of the API lot: every batch and lot it reached, with their status.
  auto forward = mes_->trace_lot("qa1", "L-API-1", Mes::TraceDirection::kForward);
  ASSERT_TRUE(forward);
  EXPECT_EQ(path(*forward),
            "lot:L-API-1@0 batch:B-G1@1 lot:L-TAB-1@2 batch:B-G2@3 lot:L-COAT-1@4 batch:B-G3@5 "
            "lot:L-PACK-1@6 ");
  EXPECT_EQ(forward->at(2).status, "released");
  EXPECT_EQ(forward->at(6).status, "quarantine");
  EXPECT_EQ(mes_->trace_lot("qa1", "L-NONE", Mes::TraceDirection::kForward).error().code,
            Code::kNotFound);
  // Batch B-G2's record is still complete: its output lot is on it.
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->first_problem();
}

// 211.103, 211.192: with a theoretical yield on the master, a batch's actual yield (% of
// theoretical, scaled to its size) outside the master's limits is an exception and blocks
// release, named with the figures; within them it releases.
TEST_P(BatchTest, ReleaseGate211_192_YieldOutsideTheMastersLimitsBlocksRelease) {
  MasterRecipe m = master();
  m.product = "TABLET-Y";
  m.theoretical_yield = 95;  // kg from a 100 kg batch
  m.yield_low_pct = 90;
  m.yield_high_pct = 102;
  MasterRecipe bad = m;
  bad.yield_low_pct = 103;
  EXPECT_EQ(mes_->create_master_draft("sup1", bad, "x").error().field, "yield_low_pct");
  auto id = mes_->create_master_draft("sup1", m, "with yield limits");
  ASSERT_TRUE(id) << id.error().message;
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->approve_master("qa1", qa, *id, both("qa1")));
  for (const char* op : {"op1", "op2"}) {
    ASSERT_NO_FATAL_FAILURE(train(op, master_procedure("TABLET-Y")));
  }
  ASSERT_NO_FATAL_FAILURE(run_batch("B-Y1", 20, {}, *id));
  ASSERT_TRUE(mes_->record_output("op1", "B-Y1", 76));  // 80 % of 95
  auto exceptions = mes_->review_by_exception("qa1", "B-Y1");
  ASSERT_TRUE(exceptions);
  ASSERT_EQ(exceptions->size(), 1u);
  EXPECT_EQ(exceptions->at(0).kind, "yield");
  EXPECT_EQ(exceptions->at(0).detail, "yield 80 % of theoretical, limits 90-102 %");
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-Y1", both("qa1")));
  auto refused =
      mes_->release_batch("qa1", qa, "B-Y1", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(
                "the yield 80 % of theoretical (76 of 95) is outside the master's 90-102 %"),
            std::string::npos)
      << refused.error().message;
  // Rejected instead; another batch within the limits releases.
  ASSERT_TRUE(mes_->release_batch("qa1", qa, "B-Y1", false, "low yield",
                                  SignatureInput{"", password_of("qa1")}));
  clean_reactor();
  ASSERT_NO_FATAL_FAILURE(run_batch("B-Y2", 20, {}, *id));
  ASSERT_TRUE(mes_->record_output("op1", "B-Y2", 93.1));  // 98 %
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-Y2", SignatureInput{"", password_of("qa1")}));
  auto released =
      mes_->release_batch("qa1", qa, "B-Y2", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_TRUE(released) << released.error().message;
}

TEST_P(BatchTest, WeighingNeedsAReleasedLotAndTheToleranceAndFailuresAreKept) {
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-API-Q", "API-1", Quantity::whole(50), "kg", 0, {}, {}, {}}));
  ASSERT_TRUE(mes_->create_batch("sup1", "B-003", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-003", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-003", 1, "R-101"));
  EXPECT_EQ(mes_->weigh("op1", "B-003", 1, "API-1", "SC-1", "L-API-Q", 12, 2).error().code,
            Code::kLotNotReleased);
  EXPECT_EQ(mes_->weigh("op1", "B-003", 1, "API-1", "SC-1", "L-EXC-1", 12, 2).error().code,
            Code::kInvalid)
      << "wrong material";
  EXPECT_EQ(mes_->weigh("op1", "B-003", 1, "API-1", "SC-1", "L-API-1", 2, 2).error().code,
            Code::kInvalid)
      << "gross must exceed tare";
  auto w = mes_->weigh("op1", "B-003", 1, "API-1", "SC-1", "L-API-1", 13.0, 2.0);  // 11 kg
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->accepted);
  EXPECT_EQ(w->reason_code, "out_of_tolerance");
  EXPECT_EQ(w->low.text(), "9.8");
  EXPECT_EQ(w->high.text(), "10.2");
  w = mes_->weigh("op1", "B-003", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0);
  ASSERT_TRUE(w && w->accepted);
  auto exceptions = mes_->review_by_exception("qa1", "B-003");
  ASSERT_TRUE(exceptions);
  ASSERT_EQ(exceptions->size(), 1u);
  EXPECT_EQ(exceptions->at(0).kind, "failed_weighing");
}

// #18 typed records: a lot's balance is an exact decimal, a lot cannot give more than it has
// left (dispensed = consumed), and weights finer than a millionth are refused, not rounded.
TEST_P(BatchTest, TypedRecordsKeepExactLotBalancesAndALotCannotGiveMoreThanItHas) {
  Lot small;
  small.id = "L-API-S";
  small.material = "API-1";
  small.quantity = *Quantity::parse("10.1");
  small.unit = "kg";
  ASSERT_TRUE(mes_->receive_lot("sup1", small));
  auto qa2 = session("qa2");
  ASSERT_TRUE(mes_->set_lot_status("qa2", qa2, "L-API-S", LotStatus::kReleased, "CoA reviewed",
                                   both("qa2")));
  ASSERT_TRUE(mes_->create_batch("sup1", "B-011", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-011", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-011", 1, "R-101"));
  EXPECT_EQ(mes_->weigh("op1", "B-011", 1, "API-1", "SC-1", "L-API-S", 12.0000001, 2).error().field,
            "gross");
  auto w = mes_->weigh("op1", "B-011", 1, "API-1", "SC-1", "L-API-S", 12.3, 2.2);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_TRUE(w->accepted);
  EXPECT_EQ(w->net.text(), "10.1");  // 12.3 - 2.2 in doubles is 10.100000000000001

  auto doc = mes_->record("qa1", "lot", "L-API-S");
  ASSERT_TRUE(doc);
  auto lot = decode<Lot>(*doc);
  ASSERT_TRUE(lot) << lot.error().message;
  EXPECT_EQ(lot->consumed.text(), "10.1");
  EXPECT_EQ(lot->remaining(), Quantity{});
  EXPECT_EQ(lot->status, LotStatus::kReleased);

  // The lot is empty: the next batch's charge from it is refused and nothing is recorded.
  ASSERT_TRUE(mes_->command_batch("sup1", "B-011", Command::kAbort, "test ends"));
  clean_reactor();
  ASSERT_TRUE(mes_->create_batch("sup1", "B-012", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-012", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-012", 1, "R-101"));
  auto refused = mes_->weigh("op1", "B-012", 1, "API-1", "SC-1", "L-API-S", 12.0, 2.0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kOutOfLimits);
  EXPECT_EQ(refused.error().message, "lot L-API-S has 0 kg left, the weighing takes 10");
  EXPECT_EQ(mes_->lots_of_batch("B-012")->size(), 0u);
}

// A voided lot stays on file but can no longer be released or used.
TEST_P(BatchTest, TypedRecordsAVoidedLotCannotBeReleased) {
  ASSERT_TRUE(
      mes_->receive_lot("sup1", Lot{"L-V", "API-1", Quantity::whole(5), "kg", 0, {}, {}, {}}));
  ASSERT_TRUE(mes_->void_record("sup1", "lot", "L-V", "received in error"));
  auto qa2 = session("qa2");
  auto r = mes_->set_lot_status("qa2", qa2, "L-V", LotStatus::kReleased, "CoA", both("qa2"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kRecordImmutable);
  EXPECT_EQ(r.error().message, "lot L-V is voided (received in error)");
}

TEST_P(BatchTest, SecondPersonVerificationMustBeSomeoneElse) {
  ASSERT_TRUE(mes_->create_batch("sup1", "B-004", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-004", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-004", 1, "R-101"));
  ASSERT_TRUE(mes_->weigh("op1", "B-004", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0));
  auto op2 = session("op2");
  EXPECT_EQ(mes_->verify_step("op1", op2, "B-004", 1, both("op2")).error().code,
            Code::kOutOfSequence)
      << "EXC-1 is not weighed yet";
  ASSERT_TRUE(mes_->weigh("op1", "B-004", 1, "EXC-1", "SC-1", "L-EXC-1", 42.0, 2.0));
  auto op1 = session("op1");
  EXPECT_EQ(mes_->verify_step("op1", op1, "B-004", 1, both("op1")).error().code, Code::kSameUser);
  EXPECT_EQ(mes_->complete_step("op1", "B-004", 1).error().code, Code::kOutOfSequence)
      << "verification first";
  ASSERT_TRUE(mes_->verify_step("op1", op2, "B-004", 1, both("op2")));
  EXPECT_EQ(mes_->weigh("op1", "B-004", 1, "API-1", "SC-1", "L-API-1", 2.1, 2.0).error().code,
            Code::kRecordImmutable)
      << "entries close with the verification";
  ASSERT_TRUE(mes_->complete_step("op1", "B-004", 1));
}

TEST_P(BatchTest, HoldReachesTheRunningStepAndRestartResumesIt) {
  ASSERT_TRUE(mes_->create_batch("sup1", "B-005", "TABLET@1", 100));
  EXPECT_EQ(mes_->command_batch("op1", "B-005", Command::kHold, "why").error().code,
            Code::kIllegalTransition)
      << "an Idle batch cannot be held";
  ASSERT_TRUE(mes_->command_batch("op1", "B-005", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-005", 1, "R-101"));
  EXPECT_EQ(mes_->command_batch("op1", "B-005", Command::kHold, "").error().code,
            Code::kReasonRequired);
  auto held = mes_->command_batch("op1", "B-005", Command::kHold, "granulator alarm");
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, State::kHeld);
  EXPECT_EQ(mes_->weigh("op1", "B-005", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0).error().code,
            Code::kOutOfSequence)
      << "nothing is entered while held";
  EXPECT_EQ(mes_->command_batch("op1", "B-005", Command::kRestart, "fixed").error().code,
            Code::kForbidden)
      << "restart is a supervisor's";
  advance(10 * kMinute);
  auto restarted = mes_->command_batch("sup1", "B-005", Command::kRestart, "alarm cleared");
  ASSERT_TRUE(restarted);
  EXPECT_EQ(*restarted, State::kRunning);
  ASSERT_TRUE(mes_->weigh("op1", "B-005", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0));
  auto stopped = mes_->command_batch("sup1", "B-005", Command::kStop, "line stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(*stopped, State::kStopped);
  auto exceptions = mes_->review_by_exception("qa1", "B-005");
  ASSERT_TRUE(exceptions);
  ASSERT_EQ(exceptions->size(), 2u);
  EXPECT_EQ(exceptions->at(0).kind, "hold");
  EXPECT_EQ(exceptions->at(1).kind, "stop");
  // The reactor was released (dirty) by the stop; a stopped batch can be rejected, not released.
  EXPECT_EQ(mes_->start_step("op1", "B-005", 2, "").error().code, Code::kOutOfSequence);
  auto qa = session("qa2");
  EXPECT_EQ(mes_->release_batch("qa2", qa, "B-005", true, "x", both("qa2")).error().code,
            Code::kNotReleasable);
  // The refused attempt signed nothing: the first signing of the session still needs both.
  EXPECT_EQ(mes_->release_batch("qa2", qa, "B-005", false, "stopped batch",
                                SignatureInput{"", password_of("qa2")})
                .error()
                .code,
            Code::kSignatureRequired);
  ASSERT_TRUE(mes_->release_batch("qa2", qa, "B-005", false, "stopped batch", both("qa2")));
}

TEST_P(BatchTest, EquipmentMustBeCleanFreeAndCalibrated) {
  ASSERT_NO_FATAL_FAILURE(run_batch("B-006"));
  ASSERT_TRUE(mes_->create_batch("sup1", "B-007", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-007", Command::kStart, ""));
  const auto dirty = mes_->start_step("op1", "B-007", 1, "R-101");
  ASSERT_FALSE(dirty);
  EXPECT_EQ(dirty.error().code, Code::kEquipmentUnavailable);
  EXPECT_NE(dirty.error().message.find("dirty"), std::string::npos);
  EXPECT_EQ(mes_->start_step("op1", "B-007", 1, "SC-1").error().code, Code::kEquipmentUnavailable)
      << "a scale is not a reactor";
  clean_reactor();
  advance(91 * kDay);
  const auto expired = mes_->start_step("op1", "B-007", 1, "R-101");
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("calibration"), std::string::npos);
}

// #18 ISA-88 at service level: every state a batch can rest in, times every command. An illegal
// pair changes nothing and is refused and audited (11.10(f)); a legal one writes exactly one
// state-change event, from the state to where the command settles. The table is ANSI/ISA-88.01's
// example matrix, except that Reset never reopens a batch that ended (its record is final).
TEST_P(BatchTest, Isa88EveryIllegalCommandIsRefusedAndAuditedAndEveryLegalOneIsOneEvent) {
  const State resting[] = {State::kIdle,     State::kRunning, State::kPaused, State::kHeld,
                           State::kComplete, State::kStopped, State::kAborted};
  int n = 0, legal = 0, refused = 0;
  for (State from : resting) {
    for (Command cmd : isa88::kAllCommands) {
      const std::string id = "S-" + std::to_string(++n);
      if (from == State::kComplete) {
        ASSERT_NO_FATAL_FAILURE(run_batch(id));
        clean_reactor();
      } else {
        ASSERT_TRUE(mes_->create_batch("sup1", id, "TABLET@1", 100));
        if (from != State::kIdle) {
          ASSERT_TRUE(mes_->command_batch("sup1", id, Command::kStart, ""));
        }
        const std::optional<Command> to_rest = from == State::kPaused    ? Command::kPause
                                               : from == State::kHeld    ? Command::kHold
                                               : from == State::kStopped ? Command::kStop
                                               : from == State::kAborted ? Command::kAbort
                                                                         : std::optional<Command>{};
        if (to_rest) {
          ASSERT_TRUE(mes_->command_batch("sup1", id, *to_rest, "drill"));
        }
      }
      const auto events_of = [&] {
        auto doc = mes_->record("qa1", "batch", id);
        EXPECT_TRUE(doc);
        return json::parse(doc->body)["flow"]["events"];
      };
      const auto entries_of = [&] {
        std::vector<AuditEntry> out;
        for (auto& e : trail()) {
          if (e.object_type == "batch" && e.object_id == id) out.push_back(e);
        }
        return out;
      };
      const json events_before = events_of();
      const auto entries_before = entries_of();
      ASSERT_EQ(mes_->record("qa1", "batch", id)->state, isa88::to_string(from));
      const std::string pair =
          std::string(isa88::to_string(from)) + " x " + std::string(isa88::to_string(cmd));

      const auto next = isa88::next_state(from, cmd);
      const bool reopens = cmd == Command::kReset && isa88::is_final(from);
      auto r = mes_->command_batch("sup1", id, cmd, "drill");
      const json events_after = events_of();
      const auto entries_after = entries_of();
      if (!next || reopens) {
        ++refused;
        ASSERT_FALSE(r) << pair;
        EXPECT_EQ(r.error().code, reopens ? Code::kRecordImmutable : Code::kIllegalTransition)
            << pair;
        EXPECT_EQ(events_after, events_before) << pair;
        EXPECT_EQ(mes_->record("qa1", "batch", id)->state, isa88::to_string(from)) << pair;
        ASSERT_EQ(entries_after.size(), entries_before.size() + 1) << pair;
        const AuditEntry& e = entries_after.back();
        EXPECT_EQ(e.action, "refused") << pair;
        EXPECT_EQ(e.actor, "sup1");
        EXPECT_EQ(e.field, "batch_" + std::string(isa88::to_string(cmd))) << pair;
        EXPECT_EQ(e.new_value.rfind(std::string(to_string(r.error().code)) + ": ", 0), 0u)
            << pair << ": " << e.new_value;
      } else {
        ++legal;
        ASSERT_TRUE(r) << pair << ": " << r.error().message;
        const State settled = isa88::settle(*next);
        EXPECT_EQ(*r, settled);
        EXPECT_EQ(mes_->record("qa1", "batch", id)->state, isa88::to_string(settled));
        ASSERT_EQ(events_after.size(), events_before.size() + 1) << pair;
        const json& event = events_after.back();
        EXPECT_EQ(event["command"], isa88::to_string(cmd)) << pair;
        EXPECT_EQ(event["from"], isa88::to_string(from)) << pair;
        EXPECT_EQ(event["to"], isa88::to_string(settled)) << pair;
        EXPECT_EQ(event["by"], "sup1");
        for (std::size_t i = entries_before.size(); i < entries_after.size(); ++i) {
          EXPECT_NE(entries_after[i].action, "refused") << pair;
        }
      }
    }
  }
  // 7 resting states x 8 commands; legal: Idle:Start; Running:Pause,Hold,Stop,Abort;
  // Paused:Resume,Hold,Stop,Abort; Held:Restart,Stop,Abort; Stopped:Abort.
  EXPECT_EQ(legal, 13);
  EXPECT_EQ(refused, 43);
}

// With no Abort while Idle (ISA-88), a batch created by mistake is voided, with a reason,
// before it starts; once started it ends by Stop or Abort.
TEST_P(BatchTest, Isa88ABatchNeverStartedIsVoidedNotAborted) {
  ASSERT_TRUE(mes_->create_batch("sup1", "B-V", "TABLET@1", 100));
  EXPECT_EQ(mes_->command_batch("sup1", "B-V", Command::kAbort, "wrong size").error().code,
            Code::kIllegalTransition);
  EXPECT_EQ(mes_->void_record("op1", "batch", "B-V", "wrong size").error().code, Code::kForbidden);
  ASSERT_TRUE(mes_->void_record("sup1", "batch", "B-V", "wrong size"));
  auto listed = mes_->records("qa1", "batch");
  ASSERT_TRUE(listed);
  for (const auto& d : *listed) EXPECT_NE(d.id, "B-V");
  ASSERT_TRUE(mes_->create_batch("sup1", "B-S", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("sup1", "B-S", Command::kStart, ""));
  EXPECT_EQ(mes_->void_record("sup1", "batch", "B-S", "wrong size").error().code,
            Code::kRecordImmutable);
}

TEST_P(BatchTest, ABatchKeepsItsControlRecipeWhenTheMasterMovesOn) {
  ASSERT_TRUE(mes_->create_batch("sup1", "B-008", "TABLET@1", 50));
  MasterRecipe v2 = master();
  v2.phases[0].charges[0].quantity = 20;
  auto id = mes_->create_master_draft("sup1", v2, "double API");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "TABLET@2");
  EXPECT_EQ(mes_->create_batch("sup1", "B-009", "TABLET@2", 100).error().code,
            Code::kRecordImmutable)
      << "drafts make no batches";
  ASSERT_TRUE(mes_->command_batch("op1", "B-008", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-008", 1, "R-101"));
  // Scaled to 50 of 100: 5 kg +- 2 %.
  auto w = mes_->weigh("op1", "B-008", 1, "API-1", "SC-1", "L-API-1", 7.0, 2.0);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->accepted);
  EXPECT_EQ(w->high.text(), "5.1");
}

TEST_P(BatchTest, QaWhoTookPartCannotRelease) {
  ASSERT_TRUE(mes_->create_batch("sup1", "B-010", "TABLET@1", 100));
  ASSERT_TRUE(mes_->command_batch("op1", "B-010", Command::kStart, ""));
  ASSERT_TRUE(mes_->start_step("op1", "B-010", 1, "R-101"));
  ASSERT_TRUE(mes_->weigh("op1", "B-010", 1, "API-1", "SC-1", "L-API-1", 12.0, 2.0));
  ASSERT_TRUE(mes_->weigh("op1", "B-010", 1, "EXC-1", "SC-1", "L-EXC-1", 42.0, 2.0));
  ASSERT_NO_FATAL_FAILURE(train("qa1", master_procedure("TABLET")));  // verifiers are trained too
  auto qa1 = session("qa1");
  ASSERT_TRUE(mes_->verify_step("op1", qa1, "B-010", 1, both("qa1")));
  ASSERT_TRUE(mes_->complete_step("op1", "B-010", 1));
  ASSERT_TRUE(mes_->start_step("op1", "B-010", 2, ""));
  ASSERT_TRUE(mes_->enter_parameter("op1", "B-010", 2, "speed", 20, ""));
  EXPECT_EQ(mes_->enter_parameter("op1", "B-010", 2, "speed", 21, "").error().code,
            Code::kReasonRequired);
  ASSERT_TRUE(mes_->enter_parameter("op1", "B-010", 2, "speed", 21, "typo"));
  ASSERT_TRUE(mes_->enter_parameter("op1", "B-010", 2, "time", 10, ""));
  ASSERT_TRUE(mes_->complete_step("op1", "B-010", 2));
  ASSERT_TRUE(mes_->record_output("op1", "B-010", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa1, "B-010", SignatureInput{"", password_of("qa1")}));
  auto refused =
      mes_->release_batch("qa1", qa1, "B-010", true, "ok", SignatureInput{"", password_of("qa1")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kSameUser);
  review_and_release("B-010", "qa2");
  auto exceptions = mes_->review_by_exception("qa2", "B-010");
  ASSERT_TRUE(exceptions);
  ASSERT_EQ(exceptions->size(), 1u);
  EXPECT_EQ(exceptions->at(0).kind, "changed_entry");
}

INSTANTIATE_TEST_SUITE_P(Databases, BatchTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
