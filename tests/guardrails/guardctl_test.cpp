// guardctl against a real guardrail over loopback, and the guardrail-sim binary as a process.
#include <gtest/gtest.h>

#include <signal.h>

#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <thread>

#include "guardrails/cli/guardctl.hpp"
#include "guardrails/cli/time_zone.hpp"
#include "guardrails/status/routes.hpp"
#include "guardrails/status/settings.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "logging/logger.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using guardrails::cli::run_guardctl;

struct Run {
  int code;
  std::string out, err;
};

// An output stream another thread can wait on: "has guardctl printed X yet?".
class WatchedOutput : public std::streambuf {
 public:
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return text_.find(text) != std::string::npos; });
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) append(std::string(1, static_cast<char>(c)));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    append(std::string(s, static_cast<std::size_t>(n)));
    return n;
  }

 private:
  void append(const std::string& more) {
    {
      std::lock_guard lock(mutex_);
      text_ += more;
    }
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
};

Run guardctl(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = run_guardctl(args, out, err);
  return {code, out.str(), err.str()};
}

class GuardctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logging::set_level(logging::Level::kError);
    guardrails::GuardrailConfig c;
    c.app = "pharma-mes";
    c.version = "2.0.0";
    c.evidence_path = dir.file("evidence.jsonl");
    guardrails::slo::SloSpec latency;
    latency.name = "latency";
    latency.metric = guardrails::kLatencyMetric;
    latency.window = 10 * core::kNanosPerSecond;
    latency.min_samples = 10;
    c.evaluator.slos = {latency};
    guardrail = std::move(*guardrails::Guardrail::create(c, clock));
    http::Router router;
    guardrails::mount_guardrail_routes(router, *guardrail);
    http::ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<http::Server>(o, std::move(router));
    ASSERT_TRUE(server->start());
    url = "http://127.0.0.1:" + std::to_string(server->port());
  }
  void TearDown() override { server->stop(1s); }

  void traffic(int n, double ms) {
    for (int i = 0; i < n; ++i) {
      clock.advance(core::kNanosPerMilli);
      guardrail->record(guardrails::kLatencyMetric, static_cast<std::int64_t>(ms * 1e6),
                        clock.monotonic_ns());
    }
    guardrail->evaluate_now();
  }

  test_support::TempDir dir;
  core::ManualClock clock{100 * core::kNanosPerSecond};
  std::unique_ptr<guardrails::Guardrail> guardrail;
  std::unique_ptr<http::Server> server;
  std::string url;
};

TEST_F(GuardctlTest, StatusExitCodeFollowsTheVerdict) {
  auto r = guardctl({"status", url});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.out.find("pharma-mes 2.0.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": hold"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("collecting samples"), std::string::npos) << r.out;

  traffic(20, 1);
  r = guardctl({"status", url + "/guardrail/v1/status"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("latency"), std::string::npos);
  EXPECT_NE(r.out.find("ok"), std::string::npos);

  for (int i = 0; i < 3; ++i) traffic(50, 200);
  r = guardctl({"status", url});
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;

  r = guardctl({"status", url, "--json"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.out.find(R"("verdict":"rollback")"), std::string::npos);
}

TEST_F(GuardctlTest, UnreachableOrNotAGuardrailExits1) {
  const test_support::HeldPort nothing_listens;  // bound, never listening: connections refused
  auto r = guardctl({"status", "http://127.0.0.1:" + std::to_string(nothing_listens.port()),
                     "--timeout-ms", "500"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot reach"), std::string::npos) << r.err;
  r = guardctl({"status", url + "/guardrail/v1/nothing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
}

TEST_F(GuardctlTest, WatchEndsOnPromoteOrRollbackOrTimeout) {
  auto r = guardctl({"watch", url, "--timeout", "0.3", "--interval-ms", "50"});
  EXPECT_EQ(r.code, 3) << "still on hold when the time ran out";
  EXPECT_NE(r.err.find("still on hold"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("hold"), std::string::npos) << r.out;

  // The watch must see the hold first, then the promote the traffic brings: the traffic starts
  // once the watch has printed a hold.
  WatchedOutput watched;
  std::ostream watch_out(&watched);
  std::ostringstream watch_err;
  int watch_code = -1;
  std::thread watch([&] {
    watch_code = run_guardctl({"watch", url, "--timeout", "10", "--interval-ms", "50"}, watch_out,
                              watch_err);
  });
  ASSERT_TRUE(watched.wait_for("hold", 10s)) << watched.text();
  traffic(20, 1);
  watch.join();
  EXPECT_EQ(watch_code, 0) << watched.text() << watch_err.str();
  EXPECT_LT(watched.text().find("hold"), watched.text().find("promote")) << watched.text();

  for (int i = 0; i < 3; ++i) traffic(50, 200);
  r = guardctl({"watch", url, "--timeout", "5", "--interval-ms", "50"});
  EXPECT_EQ(r.code, 4);
}

TEST(Guardctl, RiskTableAndJson) {
  auto r = guardctl(
      {"risk", "--env", "production", "--app", "trading-engine", "--at", "2026-11-24T15:00:00Z"});
  EXPECT_EQ(r.code, 0) << r.err;
  // 15:00 UTC is 10:00 in New York (EST): market open → 30 + 25 + 15.
  EXPECT_NE(r.out.find("risk 70 (Critical)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("timing.business_hours"), std::string::npos);

  r = guardctl({"risk", "--env", "staging", "--app", "pharma-mes", "--at", "2026-11-28T12:00Z",
                "--json", "--touches", "audit", "--schema-migration"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["score"], 30 + 15 + 15);  // Saturday: plant closed
  EXPECT_EQ(j["class"], "High");
  EXPECT_EQ(j["factors"].size(), 10u);

  // Same instant, the plant's calendar says open on a weekday at 13:00 Zurich.
  r = guardctl(
      {"risk", "--env", "staging", "--app", "pharma-mes", "--at", "2026-11-27T12:00Z", "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["score"], 30 + 15);
  r = guardctl({"risk", "--env", "staging", "--app", "pharma-mes", "--at", "2026-11-27T12:00Z",
                "--json", "--holiday", "pharma-mes=2026-11-27"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["score"], 30);
}

TEST(Guardctl, UsageErrorsExit2WithAMessage) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"status"},
           {"status", "ftp://x"},
           {"watch", "http://127.0.0.1:1"},
           {"watch", "http://127.0.0.1:1", "--timeout", "abc"},
           {"risk", "--app", "x"},
           {"risk", "--env", "production"},
           {"risk", "--env", "production", "--app", "x", "--at", "yesterday"},
           {"risk", "--env", "production", "--app", "x", "--touches", "ui"},
           {"risk", "--env", "production", "--app", "x", "--tz", "x=Mars/Olympus"},
           {"risk", "--env", "production", "--app", "x", "--hours", "x=17:00-09:00"},
           {"evidence", "check", "f"}}) {
    const auto r = guardctl(args);
    EXPECT_EQ(r.code, 2) << (args.empty() ? "" : args[0]);
    EXPECT_FALSE(r.err.empty());
  }
  for (const auto& cmd : {"status", "watch", "risk", "evidence"}) {
    const auto r = guardctl({cmd, "--help"});
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("guardctl"), std::string::npos);
  }
}

TEST(Guardctl, EvidenceVerify) {
  test_support::TempDir dir;
  {
    auto log = guardrails::evidence::EvidenceLog::open(dir.file("e.jsonl"));
    ASSERT_TRUE(log);
    (*log)->append("startup", {{"v", 1}}, 1);
    (*log)->append("verdict", {{"to", "promote"}}, 2);
  }
  auto r = guardctl({"evidence", "verify", dir.file("e.jsonl")});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("ok: 2 entries"), std::string::npos) << r.out;
  auto content = test_support::read_file(dir.file("e.jsonl"));
  content[content.find("promote")] = 'P';
  test_support::write_file(dir.file("e.jsonl"), content);
  r = guardctl({"evidence", "verify", dir.file("e.jsonl")});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.out.find("BROKEN at entry 2"), std::string::npos) << r.out;
  r = guardctl({"evidence", "verify", dir.file("missing.jsonl")});
  EXPECT_EQ(r.code, 1);
}

TEST(GuardctlBinary, HelpExits0) {
  const auto [code, out] = test_support::run_command({GUARDCTL_BIN, "--help"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("Usage:"), std::string::npos);
}

// The sim binary end to end: serves, turns bad, is rolled back, exits 0 on SIGTERM.
TEST(GuardrailSimProcess, ServesDetectsAndShutsDownCleanly) {
  test_support::TempDir dir;
  test_support::ChildProcess sim({GUARDRAIL_SIM_BIN, "--http.address=127.0.0.1", "--http.port=0",
                                  "--http.port_file=" + dir.file("http.port"),
                                  "--guardrail.evidence_path=" + dir.file("e.jsonl"),
                                  "--sim.degrade_after_s=1.5", "--guardrail.min_samples=50"},
                                 dir.file("sim.log"));
  const int port = test_support::wait_for_port_file(dir.file("http.port"), sim);
  ASSERT_NE(port, 0) << test_support::read_file(dir.file("sim.log"));
  http::Client client("127.0.0.1", static_cast<std::uint16_t>(port));
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    auto r = client.request("GET", "/readyz", {}, {}, 1s);
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(25ms);
  }
  ASSERT_TRUE(ready) << test_support::read_file(dir.file("sim.log"));
  std::ostringstream out, err;
  const int code = run_guardctl({"watch", "http://127.0.0.1:" + std::to_string(port), "--timeout",
                                 "20", "--interval-ms", "100"},
                                out, err);
  EXPECT_EQ(code, 0) << "first promote: " << out.str() << err.str();
  // The release turns bad 1.5 s after start: poll the status until the rollback shows.
  int last = code;
  for (int i = 0; i < 100 && last != 4; ++i) {
    std::ostringstream o, e;
    last = run_guardctl({"status", "http://127.0.0.1:" + std::to_string(port)}, o, e);
    if (last != 4) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(last, 4) << "the degraded release was rolled back";
  sim.signal(SIGTERM);
  EXPECT_EQ(sim.wait(10'000), 0) << test_support::read_file(dir.file("sim.log"));
  const auto log = test_support::read_file(dir.file("sim.log"));
  EXPECT_NE(log.find(R"("msg":"verdict changed")"), std::string::npos);
  const auto report = guardrails::evidence::verify_file(dir.file("e.jsonl"));
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_GE(report.entries, 4u);  // startup, hold>promote, ..., rollback, shutdown
}

TEST(GuardrailSimProcess, BadConfigurationExits2WithOneLineNamingTheKey) {
  const auto [code, out] =
      test_support::run_command({GUARDRAIL_SIM_BIN, "--guardrail.latency_window=ten"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("guardrail.latency_window"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  const auto [code2, out2] = test_support::run_command({GUARDRAIL_SIM_BIN, "--http.port=70000"});
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("http.port"), std::string::npos) << out2;
  const auto [code3, out3] = test_support::run_command({GUARDRAIL_SIM_BIN, "--help"});
  EXPECT_EQ(code3, 0);
  EXPECT_NE(out3.find("--guardrail.reset_token"), std::string::npos);
}

}  // namespace

namespace {

// TimeZone (TZif file + POSIX rule) gives the C library's offsets, for zones north and south,
// half-hour and 45-minute offsets, negative DST and abolished DST, from 1950 to 2080 (past the
// file's last transition the footer rule decides). Only this test touches TZ.
TEST(TimeZone, AgreesWithTheCLibraryAcrossZonesAndYears) {
  const char* zones[] = {"Europe/Berlin",    "America/New_York",  "Australia/Sydney",
                         "Asia/Kolkata",     "America/Sao_Paulo", "Pacific/Chatham",
                         "Europe/Dublin",    "America/St_Johns",  "Asia/Tehran",
                         "Pacific/Auckland", "America/Santiago",  "UTC"};
  const char* old = std::getenv("TZ");
  const std::string saved = old != nullptr ? old : "";
  int compared = 0;
  for (const char* zone : zones) {
    const auto tz = guardrails::cli::TimeZone::load(zone);
    if (std::string(zone) != "UTC" &&
        !std::filesystem::exists(std::string("/usr/share/zoneinfo/") + zone)) {
      continue;
    }
    ASSERT_TRUE(tz) << zone;
    ::setenv("TZ", zone, 1);
    ::tzset();
    // Every 5 days and 7 hours (so every hour of the day and every weekday comes up).
    for (std::int64_t t = -631'152'000; t < 3'471'292'800; t += 5 * 86'400 + 7 * 3600) {
      const std::time_t instant = static_cast<std::time_t>(t);
      std::tm tm{};
      localtime_r(&instant, &tm);
      ASSERT_EQ(tz->offset_at(t), tm.tm_gmtoff) << zone << " at " << t;
      ++compared;
    }
  }
  if (old != nullptr) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
  EXPECT_GT(compared, 10'000);
}

TEST(TimeZone, RefusesWhatIsNotAZone) {
  EXPECT_FALSE(guardrails::cli::TimeZone::load("../../etc/passwd"));
  EXPECT_FALSE(guardrails::cli::TimeZone::load("/etc/passwd"));
  EXPECT_FALSE(guardrails::cli::TimeZone::load("No/Such_Zone"));
  EXPECT_FALSE(guardrails::cli::TimeZone::parse("TZif2 but far too short"));
  EXPECT_FALSE(guardrails::cli::TimeZone::parse(""));
}

}  // namespace
