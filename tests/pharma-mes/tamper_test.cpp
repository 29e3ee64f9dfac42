// Tampering with the database behind the application (its triggers dropped first, as an
// attacker with file or superuser access would): verify() fails and names what was touched.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "mes_fixture.hpp"

namespace {

using namespace mes_test;

class TamperTest : public MesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(MesTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(add_users());
    ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
    ASSERT_NO_FATAL_FAILURE(run_batch("B-001"));
    auto qa = session("qa1");
    ASSERT_TRUE(mes_->record_output("op1", "B-001", 95));
    ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-001", both("qa1")));
    ASSERT_TRUE(mes_->release_batch("qa1", qa, "B-001", true, "ok",
                                    SignatureInput{"", password_of("qa1")}));
    ASSERT_TRUE(mes_->set_equipment_status("sup1", "R-101", EquipmentStatus::kClean, "cleaned"));
    ASSERT_TRUE(mes_->create_batch("sup1", "B-002", "TABLET@1", 100));
    auto report = mes_->verify();
    ASSERT_TRUE(report);
    ASSERT_TRUE(report->ok());
    entries_ = report->entries;
    ASSERT_GT(entries_, 50);
    // The attacker removes the database's own guard first.
    const std::vector<std::string> unguard =
        GetParam() == "postgresql"
            ? std::vector<std::string>{"ALTER TABLE audit_entries DISABLE TRIGGER USER",
                                       "ALTER TABLE signatures DISABLE TRIGGER USER"}
            : std::vector<std::string>{"DROP TRIGGER audit_no_update",
                                       "DROP TRIGGER audit_no_delete",
                                       "DROP TRIGGER signatures_no_update"};
    for (const auto& sql : unguard) ASSERT_TRUE(raw_sql(sql).first) << sql;
  }
  ChainProblem chain_problem() {
    auto report = mes_->verify();
    EXPECT_TRUE(report);
    EXPECT_TRUE(report && report->chain_problem);
    return report && report->chain_problem ? *report->chain_problem : ChainProblem{};
  }
  std::int64_t entries_ = 0;
};

TEST_P(TamperTest, AChangedValueIsNamed) {
  const std::int64_t seq = entries_ / 2;
  ASSERT_TRUE(
      raw_sql("UPDATE audit_entries SET new_value = 'Complete' WHERE seq = " + std::to_string(seq))
          .first);
  const auto p = chain_problem();
  EXPECT_EQ(p.kind, ChainProblemKind::kAltered);
  EXPECT_EQ(p.seq, seq);
}

TEST_P(TamperTest, ADeletedRowIsNamed) {
  const std::int64_t seq = entries_ / 3;
  ASSERT_TRUE(raw_sql("DELETE FROM audit_entries WHERE seq = " + std::to_string(seq)).first);
  const auto p = chain_problem();
  EXPECT_EQ(p.kind, ChainProblemKind::kMissing);
  EXPECT_EQ(p.seq, seq);
}

TEST_P(TamperTest, TwoSwappedRowsAreNamed) {
  const std::int64_t a = entries_ / 4, b = a + 1;
  const std::string sa = std::to_string(a), sb = std::to_string(b);
  ASSERT_TRUE(raw_sql("UPDATE audit_entries SET seq = -1 WHERE seq = " + sa).first);
  ASSERT_TRUE(raw_sql("UPDATE audit_entries SET seq = " + sa + " WHERE seq = " + sb).first);
  ASSERT_TRUE(raw_sql("UPDATE audit_entries SET seq = " + sb + " WHERE seq = -1").first);
  const auto p = chain_problem();
  EXPECT_EQ(p.seq, a) << p.message;
}

TEST_P(TamperTest, ATruncatedTrailIsCaughtByTheExportedCheckpoint) {
  auto cp = mes_->checkpoint();
  ASSERT_TRUE(cp);
  const std::string held_by_auditor = checkpoint_line(*cp);
  // Remove the last entries and the checkpoint rows: the database alone looks consistent...
  ASSERT_TRUE(
      raw_sql("DELETE FROM audit_entries WHERE seq > " + std::to_string(entries_ - 5)).first);
  if (GetParam() == "postgresql") {
    ASSERT_TRUE(raw_sql("ALTER TABLE checkpoints DISABLE TRIGGER USER").first);
  } else {
    ASSERT_TRUE(raw_sql("DROP TRIGGER checkpoints_no_delete").first);
  }
  ASSERT_TRUE(raw_sql("DELETE FROM checkpoints").first);
  auto alone = mes_->verify();
  ASSERT_TRUE(alone);
  EXPECT_FALSE(alone->chain_problem) << "no checkpoint left in the database";
  // ...but not against the checkpoint the auditor kept.
  auto report = mes_->verify({*parse_checkpoint_line(held_by_auditor)});
  ASSERT_TRUE(report);
  ASSERT_TRUE(report->chain_problem);
  EXPECT_EQ(report->chain_problem->kind, ChainProblemKind::kTruncated);
}

TEST_P(TamperTest, ACopiedSignatureRowIsNamed) {
  // The release signature of B-001, copied onto B-002.
  ASSERT_TRUE(raw_sql("INSERT INTO signatures (id, user_id, printed_name, meaning, signed_at, "
                      "record_type, record_id, record_hash, seal) SELECT 'forged', user_id, "
                      "printed_name, meaning, signed_at, record_type, 'B-002', record_hash, seal "
                      "FROM signatures WHERE record_id = 'B-001' AND meaning = 'released'")
                  .first);
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->signature_problems.size(), 1u);
  EXPECT_NE(report->signature_problems[0].find("forged"), std::string::npos);
  EXPECT_NE(report->signature_problems[0].find("B-002"), std::string::npos);
}

TEST_P(TamperTest, AnEditedSignedRecordIsNamed) {
  // A weighing of the verified, released step 1 quietly changed in the records table.
  auto r = store_->transact([&](Transaction& tx) -> Result<void> {
    auto doc = tx.get("step", "B-001/001");
    if (!doc) return refuse(Code::kNotFound, "step");
    const auto at = doc->body.find("\"net\":10.1");
    if (at == std::string::npos) return refuse(Code::kInvalid, "no net 10.1 in " + doc->body);
    doc->body.replace(at, 11, "\"net\":10.0");
    return tx.put(*doc);
  });
  ASSERT_TRUE(r) << r.error().message;
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_FALSE(report->signature_problems.empty());
  bool step_named = false;
  for (const auto& p : report->signature_problems) {
    step_named = step_named || (p.find("B-001/001") != std::string::npos &&
                                p.find("record_changed") != std::string::npos);
  }
  EXPECT_TRUE(step_named) << report->signature_problems[0];
}

// 11.10(a), ALCOA Original: the whole stored record (workflow state too, unsigned records too)
// is proven by the chain; each change behind the application's back is named by record.
std::vector<std::string> record_problems(Mes& mes) {
  auto report = mes.verify();
  EXPECT_TRUE(report);
  if (!report) return {};
  EXPECT_FALSE(report->chain_problem) << report->chain_problem->message;
  return report->record_problems;
}

bool names(const std::vector<std::string>& problems, const std::string& record,
           const std::string& what) {
  return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
    return p.find("record " + record + " ") != std::string::npos &&
           p.find(what) != std::string::npos;
  });
}

TEST_P(TamperTest, AnIntactDatabaseProvesEveryRecord) {
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->record_problems.empty()) << report->record_problems[0];
  EXPECT_EQ(report->records_legacy, 0);
  EXPECT_GT(report->records, 15) << "users, plant, lots, master, batches, steps";
}

TEST_P(TamperTest, AChangedWorkflowStateOfAnUnsignedRecordIsNamed) {
  // A rejected lot put back to released in its body, a batch's indexed state rewound, a user
  // given every role: none of these fields is signed, each is trusted by the workflow.
  ASSERT_TRUE(raw_sql("UPDATE records SET body = replace(body, '\"status\":\"released\"', "
                      "'\"status\":\"quarantine\"') WHERE type = 'lot' AND id = 'L-API-1'")
                  .first);
  ASSERT_TRUE(
      raw_sql("UPDATE records SET state = 'Running' WHERE type = 'batch' AND id = 'B-001'").first);
  ASSERT_TRUE(raw_sql("UPDATE records SET body = replace(body, '\"roles\":\"operator\"', "
                      "'\"roles\":\"operator,qa,admin\"') WHERE type = 'user' AND id = 'op1'")
                  .first);
  ASSERT_TRUE(store_->read([&](Transaction& tx) -> Result<void> {
    EXPECT_NE(tx.get("lot", "L-API-1")->body.find("\"status\":\"quarantine\""), std::string::npos);
    EXPECT_NE(tx.get("user", "op1")->body.find("operator,qa,admin"), std::string::npos);
    return {};
  }));
  const auto problems = record_problems(*mes_);
  EXPECT_TRUE(names(problems, "lot L-API-1", "changed behind the application's back"));
  EXPECT_TRUE(names(problems, "batch B-001", "changed"));
  EXPECT_TRUE(names(problems, "user op1", "changed"));
  EXPECT_EQ(problems.size(), 3u) << problems[0];
}

// Signatures attest the status they sign: a status written with a proper trail entry (as a
// command that forgot to sign would) but no signature of its meaning is named, though every
// record and entry verifies.
TEST_P(TamperTest, AStatusNoSignatureAttestsIsNamed) {
  ASSERT_TRUE(store_->transact([&](Transaction& tx) -> Result<void> {
    auto batch = tx.get("batch", "B-002");
    if (!batch) return refuse(Code::kNotFound, "B-002");
    auto body = nlohmann::json::parse(batch->body);
    body["flow"]["disposition"] = "released";
    body["flow"]["disposition_by"] = "qa1";
    batch->body = body.dump();
    if (auto r = tx.put(*batch); !r) return r;
    AuditEntry e;
    e.actor = "qa1";
    e.action = "release";
    e.object_type = "batch";
    e.object_id = "B-002";
    e.field = "flow.disposition";
    e.new_value = "released";
    e.reason = "no signature";
    e.record_hash = record_hash(*batch);
    return tx.append_audit(e);
  }));
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->chain_problem);
  EXPECT_TRUE(report->record_problems.empty()) << report->record_problems[0];
  ASSERT_EQ(report->signature_problems.size(), 1u) << report->first_problem();
  EXPECT_EQ(report->signature_problems[0],
            "batch B-002 is released but no valid released signature by qa1 attests it");
  EXPECT_FALSE(report->ok());
}

TEST_P(TamperTest, AnOlderVersionPutBackIsNamed) {
  // The equipment's version counter rolled back with its body: still not what the chain wrote.
  ASSERT_TRUE(raw_sql("UPDATE records SET version = version - 1 WHERE type = 'equipment' AND "
                      "id = 'R-101'")
                  .first);
  EXPECT_TRUE(names(record_problems(*mes_), "equipment R-101", "changed"));
}

TEST_P(TamperTest, AnAddedAndARemovedRecordAreNamed) {
  ASSERT_TRUE(raw_sql("INSERT INTO records (type, id, version, parent, state, body, voided, "
                      "void_reason, updated_at) VALUES ('lot', 'L-FAKE', 1, '', 'released', "
                      "'{\"data\":{},\"flow\":{\"status\":\"released\"}}', " +
                      std::string(GetParam() == "postgresql" ? "FALSE" : "0") + ", '', 0)")
                  .first);
  ASSERT_TRUE(raw_sql(GetParam() == "postgresql" ? "ALTER TABLE records DISABLE TRIGGER USER"
                                                 : "DROP TRIGGER records_never_deleted")
                  .first);
  ASSERT_TRUE(raw_sql("DELETE FROM records WHERE type = 'lot' AND id = 'L-EXC-1'").first);
  const auto problems = record_problems(*mes_);
  EXPECT_TRUE(names(problems, "lot L-FAKE", "added behind the application's back"));
  EXPECT_TRUE(names(problems, "lot L-EXC-1", "removed behind the application's back"));
}

TEST_P(TamperTest, RawReadingsAreAppendOnly) {
  ASSERT_TRUE(raw_sql("INSERT INTO readings (sensor_id, at, value, flags) VALUES ('T-1', 1, "
                      "21.5, '')")
                  .first);
  const auto update = raw_sql("UPDATE readings SET value = 99 WHERE sensor_id = 'T-1'");
  EXPECT_FALSE(update.first);
  EXPECT_NE(update.second.find("append-only"), std::string::npos) << update.second;
  const auto remove = raw_sql("DELETE FROM readings WHERE sensor_id = 'T-1'");
  EXPECT_FALSE(remove.first);
  EXPECT_NE(remove.second.find("append-only"), std::string::npos) << remove.second;
}

INSTANTIATE_TEST_SUITE_P(Databases, TamperTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
