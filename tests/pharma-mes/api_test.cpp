// The MES API through its router (no sockets) over a real SQLite store: every protected route
// refuses a missing token (401) and a role without its action (403) — both lists generated from
// the route table — plus sessions, rate limiting, decoding errors and a signed lot release.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "mes/api/api.hpp"
#include "mes/api/archive.hpp"
#include "mes/api/secret_spool.hpp"
#include "mes/domain/text.hpp"

#include "mes_fixture.hpp"
#include "test_support.hpp"

namespace {

using namespace mes_test;
using json = nlohmann::json;

class ApiTest : public MesTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(MesTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(add_users());
    // One-time secrets of accounts made or reset over the API go to a real spool directory.
    api::ApiOptions options;
    options.deliver_secret = [this](const std::string& user, const std::string& secret,
                                    const std::string& why) -> Result<void> {
      auto path = api::SecretSpool(spool_.path()).deliver(user, secret, why, now_.load());
      if (!path) return tl::unexpected(path.error());
      return {};
    };
    api_ = std::make_unique<api::Api>(
        *mes_, *store_, [this] { return now_.load(); },
        [this] { return "token-" + std::to_string(++tokens_); }, options);
    api_->add_routes(router_);
  }
  // The secrets spooled for `user`, oldest first (what the delivery agent would take to them).
  std::vector<std::string> spooled_secrets(const std::string& user) const {
    std::vector<std::pair<std::string, std::string>> found;  // (file name, secret)
    for (const auto& f : std::filesystem::directory_iterator(spool_.path())) {
      const std::string name = f.path().filename().string();
      if (name.rfind(user + "-", 0) != 0) continue;
      found.emplace_back(name, json::parse(test_support::read_file(f.path().string()))["secret"]);
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (auto& [name, secret] : found) out.push_back(secret);
    return out;
  }
  test_support::TempDir spool_;
  http::Response call(const std::string& method, const std::string& target,
                      const std::string& token = "", const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    r.body = body;
    r.remote_address = "10.0.0.9:5555";
    return router_.route(r);
  }
  std::string login(const std::string& user) {
    auto r = call("POST", "/api/v1/login", "",
                  json{{"user_id", user}, {"password", password_of(user)}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["data"].value("token", "");
  }
  static std::string concrete(std::string pattern) {
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"{id}", "X-1"}, {"{step}", "1"}}) {
      for (auto at = pattern.find(from); at != std::string::npos; at = pattern.find(from)) {
        pattern.replace(at, from.size(), to);
      }
    }
    return pattern;
  }
  http::Router router_;
  std::unique_ptr<api::Api> api_;
  int tokens_ = 0;
};

TEST_P(ApiTest, EveryProtectedRouteRefusesAMissingOrWrongToken) {
  int checked = 0;
  for (const auto& route : api_->route_table()) {
    if (route.access == api::RouteInfo::Access::kPublic) continue;
    for (const std::string token : {"", "not-a-session"}) {
      const auto r = call(route.method, concrete(route.pattern), token, "{}");
      EXPECT_EQ(r.status, 401) << route.method << " " << route.pattern << ": " << r.body;
      EXPECT_NE(r.body.find("\"unauthenticated\""), std::string::npos);
    }
    ++checked;
  }
  EXPECT_GT(checked, 35);
}

TEST_P(ApiTest, EveryRouteRefusesARoleWithoutItsAction) {
  const std::vector<std::pair<std::string, RoleSet>> people = {
      {"op1", role_bit(Role::kOperator)},
      {"sup1", role_bit(Role::kSupervisor)},
      {"qa1", role_bit(Role::kQa)},
      {"admin1", role_bit(Role::kAdmin)}};
  std::map<std::string, std::string> tokens;
  for (const auto& [user, roles] : people) tokens[user] = login(user);
  int checked = 0;
  for (const auto& route : api_->route_table()) {
    if (route.access != api::RouteInfo::Access::kAction) continue;
    for (const auto& [user, roles] : people) {
      if (allowed(roles, route.action)) continue;
      const auto r = call(route.method, concrete(route.pattern), tokens[user], "{}");
      EXPECT_EQ(r.status, 403) << user << " " << route.method << " " << route.pattern << ": "
                               << r.body;
      ++checked;
    }
  }
  EXPECT_GT(checked, 60);
}

TEST_P(ApiTest, SessionsLoginLimitsAndIdleTimeout) {
  auto bad = call("POST", "/api/v1/login", "", R"({"user_id":"op1","password":"nope"})");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(json::parse(bad.body)["error"]["code"], "unauthenticated");
  const std::string token = login("op1");
  auto me = call("GET", "/api/v1/me", token);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["data"]["id"], "op1");
  bool has_csp = false;
  for (const auto& [k, v] : me.headers) has_csp = has_csp || k == "Content-Security-Policy";
  EXPECT_TRUE(has_csp);
  advance(15 * kMinute);
  EXPECT_EQ(call("GET", "/api/v1/me", token).status, 401) << "idle timeout";
  const std::string again = login("op1");
  EXPECT_EQ(call("POST", "/api/v1/logout", again).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/me", again).status, 401);
  int limited = 0;
  for (int i = 0; i < 12; ++i) {
    limited +=
        call("POST", "/api/v1/login", "", R"({"user_id":"qa2","password":"x"})").status == 429;
  }
  EXPECT_GT(limited, 0) << "login attempts are rate-limited";
}

// 11.10(d): locking, deactivating or resetting a user ends their open sessions at once (every
// session, also a second one), not at the next idle timeout; a read with the old token is 401.
TEST_P(ApiTest, LockingDeactivatingOrResettingAUserEndsTheirOpenSessionsAtOnce) {
  const std::string admin = login("admin1");
  const std::string op1 = login("op1"), op1_again = login("op1"), op2 = login("op2");
  ASSERT_EQ(call("GET", "/api/v1/me", op1).status, 200);
  auto r = call("POST", "/api/v1/users/op1/lock", admin, R"({"reason":"badge lost"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(call("GET", "/api/v1/me", op1).status, 401) << "the open session ended";
  EXPECT_EQ(call("GET", "/api/v1/batches", op1_again).status, 401) << "every session of op1";
  EXPECT_EQ(call("GET", "/api/v1/me", op2).status, 200) << "others keep theirs";
  const auto t = trail();
  EXPECT_TRUE(std::any_of(t.begin(), t.end(), [](const AuditEntry& e) {
    return e.action == "end_sessions" && e.object_id == "op1" && e.old_value == "2" &&
           e.reason == "locked";
  }));
  r = call("POST", "/api/v1/users/op2/deactivate", admin, R"({"reason":"left the company"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(call("GET", "/api/v1/me", op2).status, 401);
  const std::string qa2 = login("qa2");
  r = call("POST", "/api/v1/users/qa2/reset", admin, R"({"reason":"forgotten"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(call("GET", "/api/v1/me", qa2).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/me", admin).status, 200);
}

// 11.300(c),(d), Annex 11 §12: an administrator never chooses or sees a user's password. A body
// that names one is refused; the server draws the one-time secret and sends it down the user's
// channel (the spool), not in the response, not on the trail; it only opens a session that must
// change the password before anything else. So one administrator alone cannot end up able to
// log in or sign as someone else. Without a channel the API refuses to make or reset accounts.
TEST_P(ApiTest, Part11_300_AnAdministratorNeverChoosesOrSeesAUsersPassword) {
  const std::string admin = login("admin1");
  auto r = call("POST", "/api/v1/users", admin,
                R"({"id":"op9","full_name":"Nine Operator","roles":"operator",)"
                R"("initial_password":"Chosen-By-Admin-1"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"].value("field", ""), "initial_password");
  r = call("POST", "/api/v1/users", admin,
           R"({"id":"op9","full_name":"Nine Operator","roles":"operator"})");
  EXPECT_EQ(r.status, 400) << "11.100(b): no account without the identity check: " << r.body;
  EXPECT_EQ(json::parse(r.body)["error"].value("field", ""), "identity_evidence");
  r = call("POST", "/api/v1/users", admin,
           R"({"id":"op9","full_name":"Nine Operator","roles":"operator",)"
           R"("identity_evidence":"passport checked in person"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(json::parse(r.body)["data"].value("secret_sent_to_user", false));
  auto secrets = spooled_secrets("op9");
  ASSERT_EQ(secrets.size(), 1u);
  const std::string first = secrets[0];
  for (const auto& f : std::filesystem::directory_iterator(spool_.path())) {
    EXPECT_EQ(f.status().permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << f.path() << ": only the server's user (and the delivery agent running as it) reads it";
  }
  EXPECT_EQ(r.body.find(first), std::string::npos) << "not in the administrator's response";
  EXPECT_EQ(call("GET", "/api/v1/users", admin).body.find(first), std::string::npos);
  for (const auto& e : trail()) {
    EXPECT_EQ((e.old_value + e.new_value + e.reason).find(first), std::string::npos)
        << "entry " << e.seq;
  }
  // The user, with the secret their channel brought, must change it before anything else.
  r = call("POST", "/api/v1/login", "", json{{"user_id", "op9"}, {"password", first}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["data"].value("must_change_password", false));
  const std::string op9 = json::parse(r.body)["data"].value("token", "");
  EXPECT_EQ(call("GET", "/api/v1/batches", op9).status, 403) << "nothing before the change";

  // A reset: a chosen password is refused and changes nothing; a reset sends a new secret.
  r = call("POST", "/api/v1/users/op9/reset", admin,
           R"({"reason":"forgotten","one_time_password":"Chosen-By-Admin-2"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(call("POST", "/api/v1/login", "",
                 json{{"user_id", "op9"}, {"password", "Chosen-By-Admin-2"}}.dump())
                .status,
            401);
  r = call("POST", "/api/v1/users/op9/reset", admin, R"({"reason":"forgotten"})");
  ASSERT_EQ(r.status, 200) << r.body;
  secrets = spooled_secrets("op9");
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_NE(secrets[1], first);
  EXPECT_EQ(r.body.find(secrets[1]), std::string::npos);
  EXPECT_EQ(call("POST", "/api/v1/login", "", json{{"user_id", "op9"}, {"password", first}}.dump())
                .status,
            401)
      << "the first secret is spent";

  // A server with no channel for secrets makes and resets accounts only at its console.
  http::Router bare_router;
  api::Api bare(
      *mes_, *store_, [this] { return now_.load(); },
      [this] { return "bare-token-" + std::to_string(++tokens_); });
  bare.add_routes(bare_router);
  http::Request login_request;
  login_request.method = "POST";
  login_request.target = login_request.path = "/api/v1/login";
  login_request.body = json{{"user_id", "admin1"}, {"password", password_of("admin1")}}.dump();
  login_request.remote_address = "10.0.0.9:5555";
  const std::string bare_admin =
      json::parse(bare_router.route(login_request).body)["data"].value("token", "");
  http::Request make = login_request;
  make.target = make.path = "/api/v1/users/op9/reset";
  make.body = R"({"reason":"forgotten"})";
  make.headers.emplace_back("authorization", "Bearer " + bare_admin);
  const auto refused = bare_router.route(make);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("pharma-mes user add|reset"), std::string::npos) << refused.body;
  EXPECT_EQ(spooled_secrets("op9").size(), 2u);
}

// Annex 11 §17, 211.180: a released batch exported as a sealed archive (records, trail,
// signatures, readings, the printable record, a manifest signed with the site key) that
// `pharma-mes archive verify` checks offline, without the database; any change to it is named.
TEST_P(ApiTest, ABatchArchiveIsSealedAndVerifiesOfflineAndAnyChangeIsNamed) {
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  Sensor tt{"TT-301", "Solids", "temperature", "C", 18, 25, 15, 30, 60, now_ + 30 * kDay, 0, {}};
  ASSERT_TRUE(mes_->add_sensor("sup1", tt));
  ASSERT_NO_FATAL_FAILURE(run_batch("B-030", 20, [&] {
    ASSERT_TRUE(mes_->record_readings({Mes::SensorReading{"TT-301", "C", now_.load(), 21.5}}));
  }));
  auto qa = session("qa1");
  ASSERT_TRUE(mes_->record_output("op1", "B-030", 95));
  ASSERT_TRUE(mes_->mark_reviewed("qa1", qa, "B-030", both("qa1")));
  ASSERT_TRUE(
      mes_->release_batch("qa1", qa, "B-030", true, "ok", SignatureInput{"", password_of("qa1")}));
  const auto key = *crypto::SigningKey::from_seed(std::string(32, 'K'));
  auto archive = api_->batch_archive("qa1", "B-030", key);
  ASSERT_TRUE(archive) << archive.error().message;
  auto report = api::verify_archive(*archive, key.public_key_hex());
  EXPECT_TRUE(report.ok()) << report.problems[0];
  EXPECT_EQ(report.batch, "B-030");
  EXPECT_EQ(report.created_by, "qa1");
  EXPECT_EQ(report.parts, 7u);
  EXPECT_GE(report.records, 10u) << "batch, steps, charges, review, master, lots, equipment";
  EXPECT_GT(report.entries, 50u);
  EXPECT_GE(report.signatures, 6u) << "verification, reviews, release, lot and master approvals";
  EXPECT_GE(report.readings, 1u) << "the room's sensor over the batch's run";
  EXPECT_FALSE(api::verify_archive(*archive, std::string(64, 'a')).ok()) << "another site's key";
  const auto odd = api::verify_archive(R"({"format":5,"manifest":"{}","parts":{}})");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.problems[0].find("malformed archive"), std::string::npos) << odd.problems[0];
  EXPECT_EQ(api_->batch_archive("op1", "B-030", key).error().code, Code::kForbidden)
      << "an operator does not read the audit trail";

  // Offline with the CLI: no database, only the file.
  test_support::TempDir dir;
  test_support::write_file(dir.file("B-030.archive.json"), *archive);
  auto [code, out] = test_support::run_command(
      {PHARMA_MES_BINARY, "archive", "verify", dir.file("B-030.archive.json"), "--public-key",
       key.public_key_hex()},
      60'000);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("OK: the manifest's seal, every part"), std::string::npos) << out;

  // Changes, each named: a value in a part; a part re-hashed into a manifest nobody can re-seal.
  auto file = json::parse(*archive);
  std::string trail = file["parts"]["trail.jsonl"]["content"];
  const auto at = trail.find("\"actor\":\"op2\"");
  ASSERT_NE(at, std::string::npos);
  trail.replace(at, 13, "\"actor\":\"op1\"");
  file["parts"]["trail.jsonl"]["content"] = trail;
  report = api::verify_archive(file.dump());
  EXPECT_NE(std::find(report.problems.begin(), report.problems.end(),
                      "part trail.jsonl differs from its manifest hash"),
            report.problems.end())
      << report.problems[0];
  auto manifest = json::parse(file["manifest"].get<std::string>());
  for (auto& part : manifest["parts"]) {
    if (part["name"] == "trail.jsonl") part["sha256"] = crypto::sha256_hex(trail);
  }
  file["manifest"] = manifest.dump();
  report = api::verify_archive(file.dump());
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find("the manifest's signature does not verify"), std::string::npos)
      << report.problems[0];
  EXPECT_TRUE(std::any_of(report.problems.begin(), report.problems.end(), [](const std::string& p) {
    return p.find("does not match its hash") != std::string::npos;
  })) << "the entry whose actor changed";
  // A trail row whose seq is a float too big for an integer (a fuzzer's find): named, no UB.
  std::string odd_trail = trail;
  const auto seq = odd_trail.find("\"seq\":");
  ASSERT_NE(seq, std::string::npos);
  odd_trail.insert(seq + 6, "1.8e21,\"was\":");
  auto odd_file = file;
  odd_file["parts"]["trail.jsonl"]["content"] = odd_trail;
  for (auto& part : manifest["parts"]) {
    if (part["name"] == "trail.jsonl") part["sha256"] = crypto::sha256_hex(odd_trail);
  }
  odd_file["manifest"] = manifest.dump();
  report = api::verify_archive(odd_file.dump());
  EXPECT_NE(std::find(report.problems.begin(), report.problems.end(),
                      "malformed archive: a row's seq is not an integer"),
            report.problems.end())
      << report.problems.back();
  test_support::write_file(dir.file("forged.json"), file.dump());
  std::tie(code, out) = test_support::run_command(
      {PHARMA_MES_BINARY, "archive", "verify", dir.file("forged.json")}, 60'000);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("FAILED the manifest's signature does not verify"), std::string::npos) << out;
  std::tie(code, out) = test_support::run_command(
      {PHARMA_MES_BINARY, "archive", "verify", dir.file("nothing")}, 60'000);
  EXPECT_EQ(code, 2) << out;
}

// 11.10(e), Annex 11 §12: every entry names the terminal it was made from — the client's
// X-Terminal-Id (bounded, only A-Z a-z 0-9 . _ : -), else the client's address; a request with
// any other X-Terminal-Id is refused (400) before anything is done; the chain covers it.
TEST_P(ApiTest, EveryEntryNamesTheTerminalItCameFrom) {
  const auto from = [&](const std::string& terminal, const std::string& method,
                        const std::string& target, const std::string& token,
                        const std::string& body) {
    http::Request r;
    r.method = method;
    r.target = r.path = target;
    r.headers.emplace_back("X-Terminal-Id", terminal);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    r.body = body;
    r.remote_address = "10.0.0.9:5555";
    return router_.route(r);
  };
  auto r = from("HMI-LINE-3", "POST", "/api/v1/login", "",
                json{{"user_id", "admin1"}, {"password", password_of("admin1")}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string admin = json::parse(r.body)["data"].value("token", "");
  r = from("QA-OFFICE.2", "POST", "/api/v1/users/op1/lock", admin, R"({"reason":"badge lost"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("POST", "/api/v1/users/op1/unlock", admin, R"({"reason":"badge found"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto before = trail().size();
  for (const std::string& bad :
       std::vector<std::string>{"HMI 3", "<script>", std::string(65, 'A'), "HMI\r\nX: 1"}) {
    r = from(bad, "POST", "/api/v1/users/op1/lock", admin, R"({"reason":"x"})");
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(json::parse(r.body)["error"].value("field", ""), "X-Terminal-Id");
  }
  EXPECT_EQ(trail().size(), before) << "nothing was done, nothing written";
  std::map<std::string, std::string> terminal_of_action;
  for (const auto& e : trail()) {
    if (e.object_id == "admin1" && e.action == "login") terminal_of_action["login"] = e.terminal;
    if (e.object_id == "op1" && e.reason == "badge lost") terminal_of_action["lock"] = e.terminal;
    if (e.object_id == "op1" && e.reason == "badge found")
      terminal_of_action["unlock"] = e.terminal;
  }
  EXPECT_EQ(terminal_of_action["login"], "HMI-LINE-3");
  EXPECT_EQ(terminal_of_action["lock"], "QA-OFFICE.2");
  EXPECT_EQ(terminal_of_action["unlock"], "ip:10.0.0.9") << "no header: the client's address";
  auto report = mes_->verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->first_problem();
  // The terminal is chained: changed in the database, the entry no longer verifies.
  ASSERT_TRUE(raw_sql(GetParam() == "postgresql" ? "ALTER TABLE audit_entries DISABLE TRIGGER USER"
                                                 : "DROP TRIGGER audit_no_update")
                  .first);
  ASSERT_TRUE(
      raw_sql("UPDATE audit_entries SET terminal = 'HMI-LINE-4' WHERE terminal = 'QA-OFFICE.2'")
          .first);
  report = mes_->verify();
  ASSERT_TRUE(report);
  ASSERT_TRUE(report->chain_problem);
  EXPECT_EQ(report->chain_problem->kind, ChainProblemKind::kAltered);
}

// CAPA over the API: QA opens one for a deviation, the owner records an action, an open one past
// its due date shows in the overdue report; malformed lists are refused with their field.
// 11.10(i): training records over the API — recorded and signed by the trainer, listed per
// trainee, withdrawn with a reason; a step by someone without a current one is 403
// not_qualified.
TEST_P(ApiTest, TrainingRecordsOverTheApiGateTheSteps) {
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());  // op1, op2 trained on master:TABLET
  const std::string sup = login("sup1");
  auto r = call("POST", "/api/v1/batches", sup, R"({"id":"B-T","master":"TABLET@1","size":100})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = call("POST", "/api/v1/batches/B-T/commands", sup, R"({"command":"Start"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("POST", "/api/v1/batches/B-T/steps/1/start", sup, R"({"equipment":"R-101"})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_qualified");

  const std::string op = login("op1");
  const json training{
      {"trainee", "sup1"},
      {"procedure", "master:TABLET"},
      {"content", "SOP-100 rev 2, assessed on the line"},
      {"valid_until", "2027-01-01T00:00:00.000Z"},
      {"signature", {{"user_id", "qa1"}, {"password", password_of("qa1")}, {"attest", true}}}};
  r = call("POST", "/api/v1/trainings", op, training.dump());
  EXPECT_EQ(r.status, 403) << "operators do not train: " << r.body;
  const std::string qa = login("qa1");
  json bad = training;
  bad["procedure"] = "TABLET";
  r = call("POST", "/api/v1/trainings", qa, bad.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"].value("field", ""), "procedure");
  r = call("POST", "/api/v1/trainings", qa, training.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = json::parse(r.body)["data"].value("id", "");
  EXPECT_EQ(id.rfind("TRN-", 0), 0u) << id;
  r = call("GET", "/api/v1/trainings?trainee=sup1", sup);
  ASSERT_EQ(r.status, 200);
  const auto listed = json::parse(r.body)["data"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["trainer"], "qa1");
  EXPECT_EQ(listed[0]["valid_until"], "2027-01-01T00:00:00.000Z");
  r = call("POST", "/api/v1/batches/B-T/steps/1/start", sup, R"({"equipment":"R-101"})");
  EXPECT_EQ(r.status, 200) << "trained now: " << r.body;

  r = call("POST", "/api/v1/trainings/" + id + "/withdraw", qa, R"({"reason":""})");
  EXPECT_EQ(r.status, 422) << r.body;
  r = call("POST", "/api/v1/trainings/" + id + "/withdraw", qa,
           R"({"reason":"assessment repeated: not yet competent"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("POST", "/api/v1/batches/B-T/steps/1/weighings", sup,
           R"({"material":"API-1","scale":"SC-1","lot":"L-API-1","gross":12.0,"tare":2.0})");
  EXPECT_EQ(r.status, 403) << "withdrawn: " << r.body;
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/trainings?trainee=sup1", sup).body)["data"].empty());
}

TEST_P(ApiTest, CapasOverTheApiAndTheOverdueReport) {
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  ASSERT_NO_FATAL_FAILURE(run_batch("B-40", /*speed=*/30));  // B-40-DEV-1: out of limits
  std::string qa = login("qa1");
  auto r = call("POST", "/api/v1/capas", qa,
                R"({"id":"CAPA-9","title":"Speed drift","owner":"sup1",)"
                R"("due_at":"2026-01-02T00:00:00.000Z","deviations":"B-40-DEV-1","reason":"x"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"].value("field", ""), "deviations");
  r = call("POST", "/api/v1/capas", qa,
           R"({"id":"CAPA-9","title":"Speed drift","owner":"sup1",)"
           R"("due_at":"2026-01-02T00:00:00.000Z","deviations":["B-40-DEV-1"],)"
           R"("reason":"speed out of limits"})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = call("POST", "/api/v1/capas/CAPA-9/actions", login("op1"), R"({"text":"had a look"})");
  EXPECT_EQ(r.status, 403) << "neither the owner nor QA: " << r.body;
  r = call("POST", "/api/v1/capas/CAPA-9/actions", login("sup1"), R"({"text":"PID retuned"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("GET", "/api/v1/capas?overdue=true", qa);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(json::parse(r.body)["data"].empty());
  advance(2 * kDay);
  qa = login("qa1");
  r = call("GET", "/api/v1/capas?overdue=true", qa);
  ASSERT_EQ(r.status, 200);
  const auto overdue = json::parse(r.body)["data"];
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0]["id"], "CAPA-9");
  EXPECT_EQ(overdue[0]["owner"], "sup1");
  EXPECT_EQ(overdue[0]["actions"][0]["text"], "PID retuned");
  EXPECT_EQ(overdue[0]["due_at"], "2026-01-02T00:00:00.000Z");
}

// 11.10(d), Annex 11 §12: requests refused for want of a session (401) or a role (403) are
// security events on the trail — who, from where, what — rate-limited per address so a flood
// cannot fill the trail, and a flood raises one security alert.
TEST_P(ApiTest, RefusedRequestsAreRecordedRateLimitedAndAFloodRaisesAnAlert) {
  const auto count = [&](const std::string& action) {
    const auto t = trail();
    return std::count_if(t.begin(), t.end(),
                         [&](const AuditEntry& e) { return e.action == action; });
  };
  EXPECT_EQ(call("GET", "/api/v1/batches").status, 401);
  const std::string op1 = login("op1");
  EXPECT_EQ(call("POST", "/api/v1/users/op2/lock", op1, R"({"reason":"x"})").status, 403);
  auto t = trail();
  const auto anonymous = std::find_if(t.begin(), t.end(), [](const AuditEntry& e) {
    return e.action == "access_refused" && e.actor == "anonymous";
  });
  ASSERT_NE(anonymous, t.end());
  EXPECT_EQ(anonymous->object_id, "GET /api/v1/batches");
  EXPECT_EQ(anonymous->new_value, "401 unauthenticated");
  EXPECT_NE(anonymous->reason.find("from 10.0.0.9"), std::string::npos) << anonymous->reason;
  const auto forbidden = std::find_if(t.begin(), t.end(), [](const AuditEntry& e) {
    return e.action == "access_refused" && e.actor == "op1";
  });
  ASSERT_NE(forbidden, t.end());
  EXPECT_EQ(forbidden->object_id, "POST /api/v1/users/{id}/lock");
  EXPECT_EQ(forbidden->new_value, "403 forbidden");

  for (int i = 0; i < 200; ++i) EXPECT_EQ(call("GET", "/api/v1/me", "forged-token").status, 401);
  EXPECT_EQ(count("access_refused"), 5) << "the first 5 of the minute, not 202";
  EXPECT_EQ(count("security_alert"), 1) << "one alert for the flood";
  EXPECT_EQ(api_->counters().access_refused.load(), 202u);
  advance(61'000);
  EXPECT_EQ(call("GET", "/api/v1/me", "forged-token").status, 401);
  EXPECT_EQ(count("access_refused"), 6) << "a new minute, recorded again";
}

TEST_P(ApiTest, BadBodiesGetAFieldAndDomainRefusalsTheirStatus) {
  const std::string sup = login("sup1");
  auto r = call("POST", "/api/v1/lots", sup, "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "invalid_json");
  r = call("POST", "/api/v1/lots", sup, R"({"id":"L-1","material":"API-1"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "quantity");
  r = call("POST", "/api/v1/lots", sup, R"({"id":"L-1","material":"API-1","quantity":"ten"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "quantity");
  for (const char* quantity : {"10.0000001", "1e10", "-0"}) {
    r = call("POST", "/api/v1/lots", sup,
             std::string(R"({"id":"L-1","material":"API-1","quantity":)") + quantity + "}");
    EXPECT_EQ(r.status, 400) << quantity;
    EXPECT_EQ(json::parse(r.body)["error"]["field"], "quantity");
  }
  r = call("POST", "/api/v1/sensors", sup,
           R"({"id":"S-1","room":"r","unit":"C","alert_low":1,"alert_high":2,"action_low":0,)"
           R"("action_high":3,"interval_seconds":1e300})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "interval_seconds");
  r = call("POST", "/api/v1/lots", sup, R"({"id":"L-1","material":"API-1","quantity":10})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = call("POST", "/api/v1/lots", sup, R"({"id":"L-1","material":"API-1","quantity":10})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(call("GET", "/api/v1/nothing", sup).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/lots", sup).status, 405);
  r = call("POST", "/api/v1/batches", sup, R"({"id":"B-1","master":"NONE@1","size":10})");
  EXPECT_EQ(r.status, 404);
  // A signed lot release: the signature's password travels in the body only.
  const std::string qa = login("qa1");
  r = call("POST", "/api/v1/lots/L-1/status", qa,
           json{{"status", "released"},
                {"reason", "CoA ok"},
                {"signature", {{"password", password_of("qa1")}}}}
               .dump());
  EXPECT_EQ(r.status, 422) << "first signing of the session: the user id too";
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "signature_required");
  r = call("POST", "/api/v1/lots/L-1/status", qa,
           json{{"status", "released"},
                {"reason", "CoA ok"},
                {"signature", {{"user_id", "qa1"}, {"password", password_of("qa1")}}}}
               .dump());
  EXPECT_EQ(r.status, 422) << "qa1's first signing ever: the attestation (11.100(c)) too";
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "attestation_required");
  r = call(
      "POST", "/api/v1/lots/L-1/status", qa,
      json{{"status", "released"},
           {"reason", "CoA ok"},
           {"signature", {{"user_id", "qa1"}, {"password", password_of("qa1")}, {"attest", true}}}}
          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("GET", "/api/v1/lots?status=released", qa);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["data"].size(), 1u);
  r = call("GET", "/api/v1/users", login("admin1"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("argon2"), std::string::npos) << "no password hash leaves the server";
}

// Batch record exports: JSON, audit CSV that re-imports field for field, printable HTML with
// every signature and escaped text.
TEST_P(ApiTest, BatchRecordExportsRoundTripAndEscape) {
  config_.passwords.max_age_days = 0;
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  ASSERT_NO_FATAL_FAILURE(run_batch("B-1", /*speed=*/30));  // out of limits: a deviation
  ASSERT_TRUE(
      mes_->open_deviation("op1", "B-1", "operator", "<script>alert(1)</script>, \"quoted\""));
  ASSERT_TRUE(mes_->record_output("op1", "B-1", 95));
  const std::string qa = login("qa1");
  auto r = call("GET", "/api/v1/batches/B-1/record.json", qa);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto record = json::parse(r.body);
  EXPECT_EQ(record["steps"].size(), 2u);
  EXPECT_EQ(record["deviations"].size(), 2u);
  bool verified = false;
  for (const auto& sig : record["signatures"]) {
    verified = verified || (sig["meaning"] == "verified" && sig["printed_name"] == "Name of op2");
  }
  EXPECT_TRUE(verified);
  EXPECT_EQ(record["verification"]["public_key"], mes_->public_key());
  const auto& trail = record["audit_trail"];
  ASSERT_GT(trail.size(), 20u);

  r = call("GET", "/api/v1/batches/B-1/audit.csv", qa);
  ASSERT_EQ(r.status, 200);
  std::string_view csv = r.body;
  ASSERT_TRUE(parse_csv_record(csv));  // header
  std::size_t i = 0;
  while (auto row = parse_csv_record(csv)) {
    ASSERT_LT(i, trail.size());
    const auto& e = trail[i++];
    ASSERT_EQ(row->size(), 12u);
    EXPECT_EQ((*row)[0], std::to_string(e["seq"].get<std::int64_t>()));
    EXPECT_EQ((*row)[1], e["at"]);
    EXPECT_EQ((*row)[2], e["actor"]);
    EXPECT_EQ((*row)[6], e["field"]);
    EXPECT_EQ((*row)[7], e["old_value"]);
    EXPECT_EQ((*row)[8], e["new_value"]) << "formula-guarded cells come back as they were";
    EXPECT_EQ((*row)[9], e["reason"]);
    EXPECT_EQ((*row)[10], e["terminal"]);
    EXPECT_EQ((*row)[11], e["hash"]);
  }
  EXPECT_EQ(i, trail.size());

  r = call("GET", "/api/v1/batches/B-1/record.html", qa);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("Batch record B-1"), std::string::npos);
  EXPECT_NE(r.body.find("Name of op2"), std::string::npos);
  EXPECT_NE(r.body.find("OUT OF LIMITS"), std::string::npos);
  EXPECT_NE(r.body.find("<th>Yield</th><td>"), std::string::npos) << "211.103: printed";
  EXPECT_NE(r.body.find("<th>Yield</th><td>95 kg (the master sets no theoretical yield)"),
            std::string::npos);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos) << "text is escaped";
  EXPECT_NE(r.body.find("&lt;script&gt;"), std::string::npos);
  // The same record as PDF (uncompressed text objects: the content can be looked for).
  r = call("GET", "/api/v1/batches/B-1/record.pdf", qa);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("%PDF-1.", 0), 0u);
  EXPECT_NE(r.body.find("%%EOF"), std::string::npos);
  for (const char* text : {"(Batch record B-1)", "Name of op2", "OUT OF LIMITS",
                           "Latest signed checkpoint", "Yield"}) {
    EXPECT_NE(r.body.find(text), std::string::npos) << text;
  }
  EXPECT_EQ(call("GET", "/api/v1/batches/B-404/record.pdf", qa).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/batches/B-404/record.json", qa).status, 404);
}

// The OpenAPI file in the repository describes exactly the routes that exist, and says which
// need the bearer token.
// Genealogy over the API: an output lot recorded with the output, traced both ways; a bad
// direction is a 400 naming the field.
TEST_P(ApiTest, OutputLotsAndTheGenealogyTraceOverTheApi) {
  config_.passwords.max_age_days = 0;
  ASSERT_NO_FATAL_FAILURE(add_plant_and_master());
  ASSERT_NO_FATAL_FAILURE(run_batch("B-1"));
  const std::string op = login("op1"), qa = login("qa1");
  auto r = call("POST", "/api/v1/batches/B-1/output", op, R"({"quantity":95.5,"lot":"L-OUT-1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["data"]["lot"], "L-OUT-1");
  r = call("GET", "/api/v1/lots/L-OUT-1/trace?direction=backward", qa);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto nodes = json::parse(r.body)["data"];
  ASSERT_EQ(nodes.size(), 4u) << nodes.dump();
  EXPECT_EQ(nodes[0]["detail"], "TABLET, 95.5 kg left");
  EXPECT_EQ(nodes[1]["id"], "B-1");
  EXPECT_EQ(nodes[2]["id"], "L-API-1");
  EXPECT_EQ(nodes[2]["via"], "B-1");
  r = call("GET", "/api/v1/lots/L-API-1/trace?direction=forward", qa);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["data"].back()["id"], "L-OUT-1");
  r = call("GET", "/api/v1/lots/L-API-1/trace?direction=sideways", qa);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "direction");
  EXPECT_EQ(call("GET", "/api/v1/lots/L-NONE/trace?direction=forward", qa).status, 404);
}

// 11.10(d),(g), Annex 11 §12: roles are granted and revoked by reasoned, audited operations
// (never on one's own account), and the periodic access review lists every account with its
// roles, last role change and last login.
TEST_P(ApiTest, RolesAreGrantedAndRevokedWithAReasonAndTheAccessReviewShowsThem) {
  const std::string admin = login("admin1"), op1 = login("op1");
  auto r = call("POST", "/api/v1/users/op1/roles", admin, R"({"roles":"operator,supervisor"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "reason");
  r = call("POST", "/api/v1/users/op1/roles", admin,
           R"({"roles":"operator,supervisor","reason":"covers the night shift"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(mes_->authorized("op1", Action::kCreateBatch).has_value(), true) << "granted";
  r = call("POST", "/api/v1/users/admin1/roles", admin, R"({"roles":"qa","reason":"x"})");
  EXPECT_EQ(r.status, 403) << "not on one's own account: " << r.body;
  r = call("POST", "/api/v1/users/op2/roles", op1, R"({"roles":"admin","reason":"x"})");
  EXPECT_EQ(r.status, 403) << r.body;
  r = call("POST", "/api/v1/users/op1/roles", admin, R"({"roles":"pilot","reason":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "roles");
  advance(kMinute);
  r = call("POST", "/api/v1/users/op1/roles", admin,
           R"({"roles":"operator","reason":"night shift cover ended"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(mes_->authorized("op1", Action::kCreateBatch).has_value()) << "revoked";
  const auto t = trail();
  const auto revoked = std::find_if(t.rbegin(), t.rend(), [](const AuditEntry& e) {
    return e.action == "set_roles" && e.object_id == "op1";
  });
  ASSERT_NE(revoked, t.rend());
  EXPECT_EQ(revoked->old_value, "operator,supervisor");
  EXPECT_EQ(revoked->new_value, "operator");
  EXPECT_EQ(revoked->reason, "night shift cover ended");

  r = call("GET", "/api/v1/access-review", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto rows = json::parse(r.body)["data"];
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& row : rows) {
    if (row["id"] != "op1") continue;
    EXPECT_EQ(row["roles"], "operator");
    EXPECT_EQ(row["roles_changed_by"], "admin1");
    EXPECT_EQ(row["roles_changed_at"], now_.load());
    EXPECT_GT(row["last_login"].get<Millis>(), 0);
  }
  EXPECT_EQ(call("GET", "/api/v1/access-review", op1).status, 403);
}

TEST_P(ApiTest, TheOpenApiFileMatchesTheRoutes) {
  const auto spec = json::parse(test_support::read_file(MES_OPENAPI_FILE), nullptr, false);
  ASSERT_FALSE(spec.is_discarded());
  EXPECT_EQ(spec.value("openapi", ""), "3.0.3");
  std::set<std::string> documented, routed;
  for (const auto& [path, ops] : spec["paths"].items()) {
    if (path.rfind("/api/v1/", 0) != 0) continue;
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      for (char& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      documented.insert(m + " " + path);
      const bool open = op.contains("security") && op["security"].empty();
      EXPECT_EQ(open, path == "/api/v1/login") << path << " security";
    }
  }
  for (const auto& route : api_->route_table()) routed.insert(route.method + " " + route.pattern);
  for (const auto& r : routed)
    EXPECT_TRUE(documented.contains(r)) << r << " is not in openapi.json";
  for (const auto& d : documented) EXPECT_TRUE(routed.contains(d)) << d << " has no route";
}

// The login limit cannot be reset by flooding it with new keys (user ids, addresses): when its
// table is full it forgets only expired keys and otherwise refuses new ones.
TEST_P(ApiTest, FloodingTheLoginLimitWithNewKeysResetsNobody) {
  api::ApiOptions options;
  options.login_attempts_per_minute = 3;
  options.max_login_keys = 8;
  http::Router router;
  api::Api small(
      *mes_, *store_, [this] { return now_.load(); },
      [this] { return "token-" + std::to_string(++tokens_); }, options);
  small.add_routes(router);
  // The victim's attempts come from one address; the flood from a new address each time.
  const auto attempt = [&](const std::string& user, const std::string& from) {
    http::Request r;
    r.method = "POST";
    r.target = r.path = "/api/v1/login";
    r.body = R"({"user_id":")" + user + R"(","password":"wrong-password"})";
    r.remote_address = from + ":5555";
    return router.route(r).status;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt("op1", "10.9.9.9"), 401);
  EXPECT_EQ(attempt("op1", "10.9.9.9"), 429) << "op1 is at its limit";
  int refused_new = 0;
  for (int i = 0; i < 50; ++i) {
    refused_new += attempt("flood-" + std::to_string(i), "10.2.0." + std::to_string(i)) == 429;
  }
  EXPECT_GT(refused_new, 0) << "a full table refuses new keys";
  EXPECT_EQ(attempt("op1", "10.9.9.9"), 429) << "the flood did not reset op1's count";
  advance(61'000);
  EXPECT_EQ(attempt("op1", "10.9.9.9"), 401) << "after the minute op1 may try again";
  EXPECT_EQ(attempt("someone-new", "10.3.0.1"), 401) << "expired keys made room";
}

// Blue and green: two MES processes (here two stores, services and APIs) on one database. A
// session opened on one colour is known to the other (after a switch and after a rollback), a
// logout on either ends it on both, the e-signature state of the session carries over, and the
// login limit is one count for both. Only the token's hash is stored.
TEST_P(ApiTest, SessionsAndTheLoginLimitAreSharedByBothColours) {
  store::StoreOptions options;
  options.clock = [this] { return now_.load(); };
  auto green_store = store::open_store(url_, options);
  ASSERT_TRUE(green_store) << green_store.error().message;
  Mes green_mes(**green_store, hasher_, *crypto::SigningKey::from_seed(std::string(32, 'K')),
                config_);
  api::ApiOptions api_options;
  api_options.login_attempts_per_minute = 4;
  http::Router blue_router, green_router;
  api::Api blue(
      *mes_, *store_, [this] { return now_.load(); },
      [this] { return "blue-token-" + std::to_string(++tokens_); }, api_options);
  api::Api green(
      green_mes, **green_store, [this] { return now_.load(); },
      [this] { return "green-token-" + std::to_string(++tokens_); }, api_options);
  blue.add_routes(blue_router);
  green.add_routes(green_router);
  const auto on = [&](http::Router& router, const std::string& method, const std::string& path,
                      const std::string& token, const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.target = r.path = path;
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    r.body = body;
    r.remote_address = "10.0.0.7:4000";
    return router.route(r);
  };
  const auto login_on = [&](http::Router& router, const std::string& user) {
    auto r = on(router, "POST", "/api/v1/login", "",
                json{{"user_id", user}, {"password", password_of(user)}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["data"].value("token", "");
  };

  const std::string op = login_on(blue_router, "op1");
  EXPECT_EQ(on(green_router, "GET", "/api/v1/me", op).status, 200) << "after the switch";
  advance(10 * kMinute);
  EXPECT_EQ(on(blue_router, "GET", "/api/v1/me", op).status, 200) << "after a rollback";
  advance(10 * kMinute);
  EXPECT_EQ(on(green_router, "GET", "/api/v1/me", op).status, 200)
      << "activity on blue renewed the session for green too";
  EXPECT_EQ(blue.session_count(), 1u);
  EXPECT_EQ(green.session_count(), 1u);
  std::optional<StoredSession> stored;
  ASSERT_TRUE(store_->read([&](Transaction& tx) -> Result<void> {
    stored = tx.session(api::token_hash(op));
    return {};
  }));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->user_id, "op1");
  EXPECT_NE(stored->token_hash, op) << "the database keeps a hash, not the token";
  EXPECT_EQ(stored->token_hash.size(), 64u);
  EXPECT_EQ(on(green_router, "POST", "/api/v1/logout", op).status, 200);
  EXPECT_EQ(on(blue_router, "GET", "/api/v1/me", op).status, 401) << "logged out on both";

  // The first signing of a session needs both components; after it, on the other colour, the
  // password alone is enough (one continuous session, 11.200(a)(1)(i)).
  const std::string sup = login_on(blue_router, "sup1");
  for (const char* lot : {"L-B1", "L-B2"}) {
    ASSERT_EQ(on(blue_router, "POST", "/api/v1/lots", sup,
                 json{{"id", lot}, {"material", "API-1"}, {"quantity", 10}}.dump())
                  .status,
              201);
  }
  const std::string qa = login_on(blue_router, "qa1");
  auto r = on(
      blue_router, "POST", "/api/v1/lots/L-B1/status", qa,
      json{{"status", "released"},
           {"reason", "CoA ok"},
           {"signature", {{"user_id", "qa1"}, {"password", password_of("qa1")}, {"attest", true}}}}
          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  r = on(green_router, "POST", "/api/v1/lots/L-B2/status", qa,
         json{{"status", "released"},
              {"reason", "CoA ok"},
              {"signature", {{"password", password_of("qa1")}}}}
             .dump());
  EXPECT_EQ(r.status, 200) << "the signing session carried over: " << r.body;

  // One login limit for both colours: four attempts, alternating, then both refuse.
  advance(kMinute);  // the logins above from this address are a minute old
  for (int i = 0; i < 4; ++i) {
    http::Router& router = i % 2 == 0 ? blue_router : green_router;
    EXPECT_EQ(on(router, "POST", "/api/v1/login", "", R"({"user_id":"qa2","password":"x"})").status,
              401);
  }
  for (http::Router* router : {&blue_router, &green_router}) {
    EXPECT_EQ(
        on(*router, "POST", "/api/v1/login", "", R"({"user_id":"qa2","password":"x"})").status,
        429);
  }
}

INSTANTIATE_TEST_SUITE_P(Databases, ApiTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
