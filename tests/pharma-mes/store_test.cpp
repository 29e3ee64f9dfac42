// The MES store on a real database: records with optimistic versions, one command = one atomic
// transaction (record changes, audit chain and signatures together), append-only audit and
// signature tables enforced by the database, group commit under concurrent writers, reopening
// continues the chain, and a writer killed with SIGKILL loses no acknowledged command.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "mes/store/migrations.hpp"
#include "mes/store/open.hpp"
#include "mes/store/security.hpp"
#include "postgres_server.hpp"
#include "test_support.hpp"

namespace {

using namespace mes;

// Each test runs against SQLite (a fresh file) and PostgreSQL (a fresh database on the server
// the test environment started).
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      url_ = mes_test::PostgresServer::instance().fresh_database();
      ASSERT_FALSE(url_.empty()) << mes_test::PostgresServer::instance().error();
    } else {
      url_ = "sqlite://" + dir.file("mes.db");
    }
  }
  const std::string& url() const { return url_; }
  std::unique_ptr<Store> open() {
    store::StoreOptions options;
    options.clock = [this] { return ++clock; };
    auto s = store::open_store(url(), options);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
  }
  // Runs SQL behind the application's back: {succeeded, error message}.
  std::pair<bool, std::string> raw_sql(const std::string& sql) {
    return mes_test::PostgresServer::run_store_sql(url_, sql);
  }

  // A command that creates record `id` of type "lot" with one audit entry.
  static Result<void> create_lot(Transaction& tx, const std::string& id) {
    Document d{"lot", id, 0, "", "quarantine", R"({"material":"API-1"})", false, {}};
    if (auto r = tx.put(d); !r) return r;
    AuditEntry e;
    e.actor = "sup1";
    e.action = "create";
    e.object_type = "lot";
    e.object_id = id;
    e.new_value = d.body;
    e.reason = "received";
    return tx.append_audit(e);
  }
  static std::optional<ChainProblem> verify_chain(Store& s, std::int64_t* count = nullptr) {
    ChainVerifier v;
    auto walked = s.walk_audit(1, [&](const AuditEntry& e) { return v.feed(e); });
    EXPECT_TRUE(walked);
    v.finish();
    if (count) *count = v.entries_checked();
    return v.problem();
  }

  test_support::TempDir dir;
  std::atomic<Millis> clock{1'700'000'000'000};
  std::string url_;
};

TEST_P(StoreTest, RecordsHaveVersionsAndStaleWritesAreRefused) {
  auto s = open();
  ASSERT_TRUE(s->transact([](Transaction& tx) { return create_lot(tx, "L1"); }));
  auto dup = s->transact([](Transaction& tx) { return create_lot(tx, "L1"); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::kConflict);
  Document seen;
  ASSERT_TRUE(s->read([&](Transaction& tx) -> Result<void> {
    seen = *tx.get("lot", "L1");
    return {};
  }));
  EXPECT_EQ(seen.version, 1);
  EXPECT_EQ(seen.state, "quarantine");
  seen.state = "released";
  ASSERT_TRUE(s->transact([&](Transaction& tx) {
    Document d = seen;
    return tx.put(d);
  }));
  auto stale = s->transact([&](Transaction& tx) {
    Document d = seen;  // still version 1
    d.state = "rejected";
    return tx.put(d);
  });
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Code::kConflict);
  ASSERT_TRUE(s->read([&](Transaction& tx) -> Result<void> {
    EXPECT_EQ(tx.get("lot", "L1")->state, "released");
    EXPECT_EQ(tx.get("lot", "L1")->version, 2);
    EXPECT_EQ(tx.list("lot", "", "released").size(), 1u);
    EXPECT_TRUE(tx.list("lot", "", "quarantine").empty());
    EXPECT_FALSE(tx.get("lot", "nope"));
    Document d{"lot", "L9", 0, "", "", "{}", false, {}};
    EXPECT_FALSE(tx.put(d)) << "a read-only view refuses changes";
    return {};
  }));
}

TEST_P(StoreTest, AFailedCommandLeavesNothingAndTheChainContinues) {
  auto s = open();
  ASSERT_TRUE(s->transact([](Transaction& tx) { return create_lot(tx, "L1"); }));
  auto failed = s->transact([](Transaction& tx) -> Result<void> {
    if (auto r = create_lot(tx, "L2"); !r) return r;
    return refuse(Code::kLotNotReleased, "refused after writing");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Code::kLotNotReleased);
  ASSERT_TRUE(s->transact([](Transaction& tx) { return create_lot(tx, "L3"); }));
  ASSERT_TRUE(s->read([&](Transaction& tx) -> Result<void> {
    EXPECT_FALSE(tx.get("lot", "L2")) << "no partial write";
    EXPECT_TRUE(tx.audit_of("lot", "L2").empty());
    EXPECT_EQ(tx.audit_of("lot", "L3").at(0).seq, 2) << "the chain skipped nothing";
    return {};
  }));
  std::int64_t n = 0;
  EXPECT_FALSE(verify_chain(*s, &n));
  EXPECT_EQ(n, 2);
}

TEST_P(StoreTest, TheDatabaseRefusesUpdatesAndDeletesOfTheTrail) {
  auto s = open();
  ASSERT_TRUE(s->transact([](Transaction& tx) { return create_lot(tx, "L1"); }));
  Signature g{"S1", "qa1", "Quinn QA", Meaning::kApproved, 5, "lot", "L1", "h", "seal"};
  ASSERT_TRUE(s->transact([&](Transaction& tx) { return tx.add_signature(g); }));
  s.reset();
  for (const char* sql : {"UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries",
                          "UPDATE signatures SET meaning = 'released'", "DELETE FROM signatures",
                          "DELETE FROM records"}) {
    const auto [ok, message] = raw_sql(sql);
    EXPECT_FALSE(ok) << sql;
    EXPECT_TRUE(message.find("append-only") != std::string::npos ||
                message.find("never deleted") != std::string::npos)
        << sql << ": " << message;
  }
  s = open();
  EXPECT_FALSE(verify_chain(*s));
}

TEST_P(StoreTest, ConcurrentWritersAreCommittedInGroupsWithAnUnbrokenChain) {
  auto s = open();
  ASSERT_TRUE(s);
  constexpr int kThreads = 8, kEach = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "T" + std::to_string(t) + "-" + std::to_string(i);
        if (!s->transact([&](Transaction& tx) { return create_lot(tx, id); })) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::int64_t n = 0;
  EXPECT_FALSE(verify_chain(*s, &n));
  EXPECT_EQ(n, kThreads * kEach);
  ASSERT_TRUE(s->read([&](Transaction& tx) -> Result<void> {
    EXPECT_EQ(tx.list("lot").size(), static_cast<std::size_t>(kThreads * kEach));
    return {};
  }));
}

// An older build opens a database a newer one expanded (blue on green's schema), and refuses one
// that a contracting release marked as needing a newer build.
TEST_P(StoreTest, ReopeningContinuesTheChainAndRefusesAnIncompatibleSchema) {
  {
    auto s = open();
    ASSERT_TRUE(s);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          s->transact([&](Transaction& tx) { return create_lot(tx, "L" + std::to_string(i)); }));
    }
  }
  {
    auto s = open();
    ASSERT_TRUE(s->transact([](Transaction& tx) { return create_lot(tx, "L5"); }));
    std::int64_t n = 0;
    EXPECT_FALSE(verify_chain(*s, &n));
    EXPECT_EQ(n, 6);
  }
  ASSERT_TRUE(raw_sql("INSERT INTO schema_migrations VALUES (99, 0)").first);
  {
    auto expanded = store::open_store(url());
    ASSERT_TRUE(expanded) << expanded.error().message;
    EXPECT_TRUE((*expanded)->transact([](Transaction& tx) { return create_lot(tx, "L6"); }));
  }
  ASSERT_TRUE(raw_sql("INSERT INTO schema_compat VALUES (99)").first);
  auto refused = store::open_store(url());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("which builds of schema version 99 or later can use"),
            std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(store::open_store("mysql://x"));
  EXPECT_FALSE(store::open_store("sqlite://"));
}

// A writer process killed with SIGKILL while committing, three times: the database opens, every
// command it acknowledged is there, nothing half-written is visible, the chain verifies.
TEST_P(StoreTest, AKilledWriterLosesNoAcknowledgedCommand) {
  int acked_total = 0;
  for (int round = 0; round < 3; ++round) {
    int report[2];
    ASSERT_EQ(pipe(report), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(report[0]);
      auto s = store::open_store(url());
      if (!s) _exit(3);
      std::vector<std::thread> threads;
      std::mutex pipe_mutex;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0;; ++i) {
            const std::string id =
                "R" + std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(i);
            auto r = (*s)->transact([&](Transaction& tx) -> Result<void> {
              if (auto c = create_lot(tx, id); !c) return c;
              AuditEntry extra;  // a second entry in the same command
              extra.actor = "sup1";
              extra.action = "modify";
              extra.object_type = "lot";
              extra.object_id = id;
              extra.field = "state";
              extra.new_value = "quarantine";
              extra.reason = "second entry";
              return tx.append_audit(extra);
            });
            if (!r) _exit(4);
            std::lock_guard lock(pipe_mutex);
            const std::uint32_t len = static_cast<std::uint32_t>(id.size());
            if (write(report[1], &len, 4) != 4 || write(report[1], id.data(), len) != len) _exit(5);
          }
        });
      }
      for (auto& th : threads) th.join();
      _exit(0);
    }
    close(report[1]);
    std::vector<std::string> acked;
    while (acked.size() < 150u + static_cast<unsigned>(round) * 37u) {
      std::uint32_t len = 0;
      ASSERT_EQ(read(report[0], &len, 4), 4);
      std::string id(len, '\0');
      ASSERT_EQ(read(report[0], id.data(), len), static_cast<ssize_t>(len));
      acked.push_back(id);
    }
    kill(child, SIGKILL);
    close(report[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);

    auto s = open();
    ASSERT_TRUE(s);
    std::int64_t entries = 0;
    EXPECT_FALSE(verify_chain(*s, &entries)) << "round " << round;
    ASSERT_TRUE(s->read([&](Transaction& tx) -> Result<void> {
      for (const auto& id : acked) {
        EXPECT_TRUE(tx.get("lot", id)) << id << " was acknowledged";
        EXPECT_EQ(tx.audit_of("lot", id).size(), 2u) << id << ": both entries or none";
      }
      const auto all = tx.list("lot");
      EXPECT_EQ(static_cast<std::int64_t>(all.size()) * 2, entries)
          << "every stored lot has exactly its two entries";
      acked_total = static_cast<int>(all.size());
      return {};
    }));
  }
  EXPECT_GT(acked_total, 0);
}

// Blue and green on one database: two stores (two writers, as two processes have) append to
// one audit chain at the same time; every entry is committed, the chain is unbroken. (On
// PostgreSQL in production; two colours on one host may share a SQLite file too.)
TEST_P(StoreTest, TwoWritersOnOneDatabaseKeepOneChain) {
  auto blue = open();
  auto green = open();
  ASSERT_TRUE(blue && green);
  constexpr int kEach = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (Store* s : {blue.get(), green.get()}) {
    const std::string colour = s == blue.get() ? "B" : "G";
    threads.emplace_back([&, s, colour] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = colour + std::to_string(i);
        if (!s->transact([&](Transaction& tx) { return create_lot(tx, id); })) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << "no write lost to the other writer";
  std::int64_t n = 0;
  auto reopened = open();
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(verify_chain(*reopened, &n));
  EXPECT_EQ(n, 2 * kEach);
}

INSTANTIATE_TEST_SUITE_P(Databases, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

// The signing key file: created 0600; 0640 (a Kubernetes Secret read through the pod's group)
// is accepted; group write or any access for others is refused, as is a file that is no seed.
// StoreOptions::warm_readers: a server's PostgreSQL reader connections are open (statements
// prepared) before open_store returns, so its first requests pay no connection set-up. Seen
// from the database: pg_stat_activity counts the writer, the warm readers and the checking
// session itself; a store opened without them has only its writer.
TEST_P(StoreTest, WarmReadersAreConnectedBeforeTheStoreIsReady) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "SQLite opens its readers per thread";
  const auto sessions_at_least = [&](int n) {
    return raw_sql(
        "DO $$ DECLARE c int; BEGIN SELECT count(*) INTO c FROM pg_stat_activity WHERE datname = "
        "current_database() AND backend_type = 'client backend'; IF c < " +
        std::to_string(n) + " THEN RAISE EXCEPTION 'only % sessions', c; END IF; END $$");
  };
  {
    auto cold = open();
    ASSERT_TRUE(cold);
    EXPECT_FALSE(sessions_at_least(3).first) << "the writer and this session only";
  }
  store::StoreOptions options;
  options.clock = [this] { return ++clock; };
  options.warm_readers = 3;
  auto warm = store::open_store(url(), options);
  ASSERT_TRUE(warm) << warm.error().message;
  const auto [ok, why] = sessions_at_least(5);
  EXPECT_TRUE(ok) << "the writer, 3 warm readers and this session: " << why;
  // The warm readers serve reads at once.
  ASSERT_TRUE((*warm)->transact([](Transaction& tx) { return create_lot(tx, "L-1"); }));
  bool found = false;
  ASSERT_TRUE((*warm)->read([&](Transaction& tx) -> Result<void> {
    found = tx.get("lot", "L-1").has_value();
    return {};
  }));
  EXPECT_TRUE(found);
}

TEST(SigningKeyFile, ModesAndContentAreChecked) {
  test_support::TempDir dir;
  const std::string path = dir.file("mes-signing.key");
  auto created = store::load_or_create_signing_key(path);
  ASSERT_TRUE(created) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = store::load_or_create_signing_key(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_key_hex(), created->public_key_hex()) << "the same key is read back";
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_TRUE(store::load_or_create_signing_key(path)) << "a Secret mounted 0440/0640";
  for (const mode_t refused : {mode_t{0660}, mode_t{0644}, mode_t{0604}}) {
    ASSERT_EQ(::chmod(path.c_str(), refused), 0);
    const auto r = store::load_or_create_signing_key(path);
    ASSERT_FALSE(r) << std::oct << refused;
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  }
  test_support::write_file(dir.file("not-a-seed"), "hello\n");
  ASSERT_EQ(::chmod(dir.file("not-a-seed").c_str(), 0600), 0);
  EXPECT_FALSE(store::load_or_create_signing_key(dir.file("not-a-seed")));
}

// Blue/green: a release's migrations only expand the schema, so the previous version keeps
// working on the new one's schema. Every migration of both stores passes; each kind of
// contraction is refused with its name.
TEST(SchemaMigrations, AreExpandOnly) {
  for (const auto* list : {&store::sqlite_migrations(), &store::postgres_migrations()}) {
    ASSERT_FALSE(list->empty());
    for (std::size_t i = 0; i < list->size(); ++i) {
      EXPECT_TRUE(store::expand_only_problems((*list)[i]).empty())
          << "migration " << i + 1 << ": " << store::expand_only_problems((*list)[i]).at(0);
    }
  }
  EXPECT_TRUE(
      store::expand_only_problems(
          "CREATE TABLE api_sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL);\n"
          "ALTER TABLE records ADD COLUMN note TEXT NOT NULL DEFAULT '';\n"
          "-- DROP TABLE readings; (a comment)\n"
          "CREATE INDEX readings_by_flags ON readings (flags);")
          .empty());
  const std::vector<std::pair<std::string, std::string>> refused{
      {"DROP TABLE readings;", "drops what the previous version uses"},
      {"alter table records drop column void_reason;", "drops what the previous version uses"},
      {"ALTER TABLE records RENAME COLUMN body TO document;", "renames"},
      {"ALTER TABLE records ALTER COLUMN parent SET NOT NULL;", "tightens a column"},
      {"ALTER TABLE readings ALTER COLUMN value TYPE NUMERIC(12,4);", "changes a column's type"},
      {"ALTER TABLE records ADD CONSTRAINT body_json CHECK (body LIKE '{%');", "adds a constraint"},
      {"ALTER TABLE records ADD COLUMN owner TEXT NOT NULL;", "NOT NULL column without a default"},
      {"DROP TRIGGER audit_no_update;", "drops a protection"},
      {"DELETE FROM readings WHERE at < 0;", "deletes rows"},
  };
  for (const auto& [sql, words] : refused) {
    const auto problems = store::expand_only_problems("CREATE TABLE x (a TEXT);\n" + sql);
    ASSERT_EQ(problems.size(), 1u) << sql;
    EXPECT_NE(problems[0].find(words), std::string::npos) << problems[0];
  }
}

// Which build may use which database: the same or an older schema (it migrates), a newer
// expanded one (blue on green's), never one a contracting release marked as beyond it.
TEST(SchemaMigrations, CompatibilityOfABuildWithADatabase) {
  EXPECT_EQ(store::schema_compatibility_problem(1, 0, 2), "") << "migrates up";
  EXPECT_EQ(store::schema_compatibility_problem(2, 0, 2), "");
  EXPECT_EQ(store::schema_compatibility_problem(3, 0, 2), "") << "expanded by a newer build";
  EXPECT_EQ(store::schema_compatibility_problem(3, 2, 2), "");
  const std::string problem = store::schema_compatibility_problem(4, 3, 2);
  EXPECT_NE(problem.find("schema version 4"), std::string::npos) << problem;
  EXPECT_NE(problem.find("this build's is 2"), std::string::npos) << problem;
}

}  // namespace
