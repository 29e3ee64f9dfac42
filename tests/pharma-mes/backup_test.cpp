// Backup and restore (21 CFR 11.10(c), Annex 11 §7.2) on SQLite and PostgreSQL: a backup taken
// while sensor readings keep being stored restores into an empty database that verifies, with
// the identical chain head, records, signatures and readings; a restore never goes into a
// database that has data, a file that is not a backup is named, and a backup never overwrites.
#include <atomic>
#include <filesystem>
#include <thread>

#include "mes/store/backup.hpp"
#include "mes_fixture.hpp"

namespace {

using namespace mes_test;

class BackupTest : public MesTest {
 protected:
  void SetUp() override {
    config_.passwords.max_age_days = 0;
    ASSERT_NO_FATAL_FAILURE(MesTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(add_users());
    ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
    Sensor tt{"TT-101", "Solids", "temperature", "C", 18, 25, 15, 30, 60, now_ + 30 * kDay, 0, {}};
    ASSERT_TRUE(mes_->add_sensor("sup1", tt));
    ASSERT_NO_FATAL_FAILURE(run_batch("B-001"));
    auto qa = session("qa1");
    ASSERT_TRUE(mes_->record_output("op1", "B-001", 95));
    ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-001", both("qa1")));
    ASSERT_TRUE(mes_->release_batch("qa1", qa, "B-001", true, "ok", both("qa1")));
    ASSERT_TRUE(mes_->record_readings({{"TT-101", "C", now_.load(), 21.25}}));
    advance(61'000);
    ASSERT_EQ(*mes_->seal_readings(), 1);
    ASSERT_TRUE(mes_->checkpoint());
  }
  std::string empty_target() {
    if (GetParam() == "postgresql") return PostgresServer::instance().fresh_database();
    return "sqlite://" + dir_.file("restored/mes.db");
  }
  std::vector<Document> records(Store& store) {
    std::vector<Document> out;
    EXPECT_TRUE(store.walk_records([&](const Document& d) {
      out.push_back(d);
      return true;
    }));
    return out;
  }
};

TEST_P(BackupTest, ARestoredBackupVerifiesWithTheIdenticalChainHead) {
  // Readings keep arriving while the backup runs: the copy is still one consistent moment.
  std::atomic<bool> stop{false};
  std::atomic<int> stored{0};
  std::thread feeder([&] {
    Millis at = now_.load();
    while (!stop.load()) {
      if (mes_->record_readings({{"TT-101", "C", ++at, 21.5}})) ++stored;
    }
  });
  const std::string file = dir_.file("mes.backup");
  auto backed_up = store::backup_database(url_, file);
  stop = true;
  feeder.join();
  ASSERT_TRUE(backed_up) << backed_up.error().message;
  EXPECT_GT(stored.load(), 0);
  EXPECT_FALSE(std::filesystem::exists(file + ".partial"));

  const std::string target = empty_target();
  ASSERT_FALSE(target.empty());
  auto restored = store::restore_database(file, target);
  ASSERT_TRUE(restored) << restored.error().message;
  auto copy = store::open_store(target);
  ASSERT_TRUE(copy) << copy.error().message;
  Mes restored_mes(**copy, hasher_, *crypto::SigningKey::from_seed(std::string(32, 'K')), config_);
  auto report = restored_mes.verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->first_problem();
  EXPECT_EQ(report->checkpoints, 1u);
  EXPECT_EQ(report->signatures, 9u) << "two lot releases, the master approval, two trainings, the "
                                       "verification, the review, its audit trail review and the "
                                       "batch release";
  EXPECT_EQ(report->readings_sealed, 1);

  // The original, quiet now, against the copy: same records, and the copy's chain is a prefix
  // of it ending exactly where the original stood at the copy's moment.
  auto original = mes_->verify();
  ASSERT_TRUE(original && original->ok());
  EXPECT_LE(report->entries, original->entries);
  std::string head_then;
  ASSERT_TRUE(store_->walk_audit(report->entries, [&](const AuditEntry& e) {
    head_then = e.hash;
    return false;
  }));
  EXPECT_EQ(report->root, head_then) << "identical chain head";
  const auto mine = records(*store_), theirs = records(**copy);
  ASSERT_EQ(mine.size(), theirs.size());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    if (mine[i].type == "sensor_state") continue;  // moves with every reading
    EXPECT_EQ(mine[i], theirs[i]) << mine[i].type << " " << mine[i].id;
  }
}

TEST_P(BackupTest, AQuietBackupRestoresEveryRowAndTheSameHead) {
  const std::string file = dir_.file("quiet.backup");
  ASSERT_TRUE(store::backup_database(url_, file));
  auto before = mes_->verify();
  ASSERT_TRUE(before && before->ok());
  const std::string target = empty_target();
  ASSERT_TRUE(store::restore_database(file, target));
  auto copy = store::open_store(target);
  ASSERT_TRUE(copy);
  Mes restored_mes(**copy, hasher_, *crypto::SigningKey::from_seed(std::string(32, 'K')), config_);
  auto after = restored_mes.verify();
  ASSERT_TRUE(after && after->ok()) << (after ? after->first_problem() : "");
  EXPECT_EQ(after->entries, before->entries);
  EXPECT_EQ(after->root, before->root);
  EXPECT_EQ(after->records, before->records);
  auto readings = (*copy)->readings("TT-101", 0, now_ + 1);
  ASSERT_TRUE(readings);
  ASSERT_EQ(readings->size(), 1u);
  EXPECT_EQ(readings->at(0).value, 21.25);
  // The restored database works on: a user logs in with the same password.
  auto login = restored_mes.login("qa1", password_of("qa1"));
  ASSERT_TRUE(login);
  EXPECT_EQ(login->outcome, LoginOutcome::kOk);
}

TEST_P(BackupTest, RestoreRefusesADatabaseWithDataAndAFileThatIsNotABackup) {
  const std::string file = dir_.file("b.backup");
  ASSERT_TRUE(store::backup_database(url_, file));
  auto again = store::backup_database(url_, file);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kConflict) << "a backup never overwrites";

  auto into_live = store::restore_database(file, url_);
  ASSERT_FALSE(into_live);
  EXPECT_EQ(into_live.error().code, Code::kConflict) << into_live.error().message;

  test_support::write_file(dir_.file("junk.backup"), "not a backup at all\n");
  auto junk = store::restore_database(dir_.file("junk.backup"), empty_target());
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, Code::kInvalid) << junk.error().message;
  EXPECT_NE(junk.error().message.find("junk.backup"), std::string::npos) << junk.error().message;

  auto missing = store::restore_database(dir_.file("none.backup"), empty_target());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
  // The live database is untouched by all of it.
  auto report = mes_->verify();
  ASSERT_TRUE(report && report->ok());
}

INSTANTIATE_TEST_SUITE_P(Databases, BackupTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
