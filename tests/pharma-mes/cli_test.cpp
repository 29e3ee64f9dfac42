// The pharma-mes command-line tool, run as a process against a SQLite file: the first
// administrator, users with one-time passwords, a refused lock without a reason, a checkpoint kept
// outside, verify, CSV export, and verify naming an entry altered behind its back.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

#include "mes/domain/text.hpp"
#include "test_support.hpp"

namespace {

class CliTest : public ::testing::Test {
 protected:
  std::pair<int, std::string> run(std::vector<std::string> args, const std::string& password = "") {
    if (password.empty()) {
      unsetenv("MES_PASSWORD");
    } else {
      setenv("MES_PASSWORD", password.c_str(), 1);
    }
    args.insert(args.begin(), {PHARMA_MES_BINARY, "--db", "sqlite://" + dir.file("mes.db"), "--key",
                               dir.file("signing.key")});
    auto r = test_support::run_command(args, 120'000);
    unsetenv("MES_PASSWORD");
    return r;
  }
  test_support::TempDir dir;
};

// `db compat`, a deployment's pre-flight: read-only, yes for an empty, the same or a newer
// expanded schema, no (exit 1, with the reason) for one a contracting release put beyond it.
TEST_F(CliTest, DbCompatSaysWhetherThisBuildMayUseTheDatabase) {
  auto r = run({"db", "compat"});
  EXPECT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("\"database_schema\":0"), std::string::npos) << r.second;
  EXPECT_FALSE(std::filesystem::exists(dir.file("mes.db"))) << "nothing is created";
  ASSERT_EQ(run({"db", "migrate"}).first, 0);
  r = run({"db", "compat"});
  EXPECT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("\"compatible\":true"), std::string::npos) << r.second;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("mes.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (40, 0)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  r = run({"db", "compat"});
  EXPECT_EQ(r.first, 0) << "a newer, expanded schema: " << r.second;
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_compat VALUES (40)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  r = run({"db", "compat"});
  EXPECT_EQ(r.first, 1) << r.second;
  EXPECT_NE(r.second.find("\"compatible\":false"), std::string::npos) << r.second;
  EXPECT_NE(r.second.find("schema version 40 or later"), std::string::npos) << r.second;
}

TEST_F(CliTest, AdministerUsersAndVerifyTheTrail) {
  auto r = run({"db", "migrate"});
  ASSERT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("schema version 4"), std::string::npos) << r.second;
  r = run({"user", "add", "admin1", "--name", "Ada Admin", "--roles", "admin"}, "Admin-Passw0rd!");
  ASSERT_EQ(r.first, 0) << r.second;
  r = run({"user", "add", "op1", "--name", "Olga Operator", "--roles", "operator"});
  EXPECT_EQ(r.first, 2) << "without --as only the first administrator";
  r = run(
      {"user", "add", "op1", "--name", "Olga Operator", "--roles", "operator", "--as", "admin1"},
      "Admin-Passw0rd!");
  EXPECT_EQ(r.first, 1) << "11.100(b): the identity check is recorded with the account";
  EXPECT_NE(r.second.find("identity_evidence is required"), std::string::npos) << r.second;
  r = run({"user", "add", "op1", "--name", "Olga Operator", "--roles", "operator", "--identity",
           "passport checked in person", "--as", "admin1"},
          "Admin-Passw0rd!");
  ASSERT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("one-time password"), std::string::npos);
  r = run({"user", "add", "op2", "--roles", "operator", "--as", "admin1"}, "wrong-password");
  EXPECT_EQ(r.first, 1) << r.second;
  r = run({"user", "lock", "op1", "--as", "admin1"}, "Admin-Passw0rd!");
  EXPECT_EQ(r.first, 1);
  EXPECT_NE(r.second.find("reason_required"), std::string::npos) << r.second;
  // A misspelt option is refused (exit 2, named), never ignored: here it would have locked the
  // account without the reason the operator meant to give.
  r = run({"user", "lock", "op1", "--reson", "on leave", "--as", "admin1"}, "Admin-Passw0rd!");
  EXPECT_EQ(r.first, 2) << r.second;
  EXPECT_NE(r.second.find("unknown option --reson"), std::string::npos) << r.second;
  r = run({"audit", "verify", "--checkpoint", dir.file("kept.txt")});
  EXPECT_EQ(r.first, 2) << "--checkpoint is not --checkpoints: " << r.second;
  r = run({"user", "lock", "op1", "--reason", "on leave", "--as", "admin1"}, "Admin-Passw0rd!");
  ASSERT_EQ(r.first, 0) << r.second;
  r = run({"audit", "seal-readings"});
  ASSERT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("sealed the new readings of 0 sensor(s)"), std::string::npos) << r.second;
  r = run({"audit", "checkpoint"});
  ASSERT_EQ(r.first, 0) << r.second;
  test_support::write_file(dir.file("kept.txt"), r.second);
  r = run({"audit", "verify", "--checkpoints", dir.file("kept.txt")});
  ASSERT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("OK"), std::string::npos);
  EXPECT_NE(r.second.find(", records 2, sealed readings 0"), std::string::npos)
      << "admin1 and op1, each proven by the chain: " << r.second;

  // `backup FILE` and `restore FILE` (into an empty database, then verified with the site key).
  r = run({"backup", dir.file("mes.backup")});
  ASSERT_EQ(r.first, 0) << r.second;
  const auto head_at = r.second.find("chain head before the copy entry ");
  ASSERT_NE(head_at, std::string::npos) << r.second;
  const std::string head =
      r.second.substr(head_at + 33, r.second.find('\n', head_at) - head_at - 33);
  r = run({"backup", dir.file("mes.backup")});
  EXPECT_EQ(r.first, 1) << "never overwrites: " << r.second;
  const std::vector<std::string> restore = {PHARMA_MES_BINARY,
                                            "--db",
                                            "sqlite://" + dir.file("restored/mes.db"),
                                            "--key",
                                            dir.file("signing.key"),
                                            "restore",
                                            dir.file("mes.backup")};
  r = test_support::run_command(restore, 120'000);
  ASSERT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("OK: the restored audit trail"), std::string::npos) << r.second;
  EXPECT_NE(r.second.find("entries " + head.substr(0, head.find(' ')) + ", chain head " +
                          head.substr(head.find(' ') + 1)),
            std::string::npos)
      << "the identical chain head: " << head << " / " << r.second;
  r = test_support::run_command(restore, 120'000);
  EXPECT_EQ(r.first, 1) << "not into a database that exists: " << r.second;

  r = run({"audit", "export"});
  ASSERT_EQ(r.first, 0);
  std::string_view csv = r.second;
  const auto header = mes::parse_csv_record(csv);
  ASSERT_TRUE(header);
  ASSERT_EQ(header->size(), 14u);
  EXPECT_EQ((*header)[12], "record_hash");
  EXPECT_EQ(header->back(), "terminal");
  int rows = 0, at_console = 0;
  while (auto row = mes::parse_csv_record(csv)) {
    ASSERT_EQ(row->size(), 14u);
    EXPECT_TRUE(mes::parse_utc((*row)[1])) << (*row)[1];
    at_console += row->back() == "console";
    ++rows;
  }
  EXPECT_EQ(at_console, rows) << "every entry here was made with the CLI, at the console";
  EXPECT_GT(rows, 10);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("mes.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER audit_no_update; UPDATE audit_entries SET actor = 'nobody' "
                         "WHERE seq = 4",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  r = run({"audit", "verify", "--checkpoints", dir.file("kept.txt")});
  EXPECT_EQ(r.first, 1);
  EXPECT_NE(r.second.find("FAILED at entry 4 (altered)"), std::string::npos) << r.second;
}

}  // namespace
