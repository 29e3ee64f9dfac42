// `guardctl deploy` end to end: real processes (guardrail-sim as blue and green, with the faults
// it can simulate), a real HAProxy switched over its runtime API, the evidence log verified after
// each deployment. A good green is promoted and blue stopped; a failing green is stopped before it
// gets traffic; a green that breaks after promotion sends the traffic back to blue; a green that
// dies is not waited for; a second deployment on the same directory is refused; SIGTERM and
// kill -9 + a re-run both end with the traffic on blue.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "guardrails/controller/haproxy.hpp"
#include "test_support.hpp"

namespace {

using guardrails::controller::HaproxySwitch;
using guardrails::deploy::Colour;

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string port_file = dir.file("blue.port");
    blue = std::make_unique<test_support::ChildProcess>(
        std::vector<std::string>{GUARDRAIL_SIM_BIN, "--http.address=127.0.0.1", "--http.port=0",
                                 "--http.port_file=" + port_file, "--guardrail.colour=blue",
                                 "--guardrail.evidence_path=" + dir.file("blue.jsonl"),
                                 "--guardrail.reset_token=controller-token", "--log.level=warn"},
        dir.file("blue.log"));
    blue_port = test_support::wait_for_port_file(port_file, *blue);
    ASSERT_NE(blue_port, 0) << test_support::read_file(dir.file("blue.log"));
    std::ofstream(dir.file("blue.pid")) << blue->pid() << "\n";
    green_port = test_support::free_port();
    for (int attempt = 0; attempt < 5 && front_port == 0; ++attempt) {
      const int port = test_support::free_port();
      test_support::write_file(dir.file("haproxy.cfg"), haproxy_config(port));
      haproxy = std::make_unique<test_support::ChildProcess>(
          std::vector<std::string>{HAPROXY_BIN, "-db", "-f", dir.file("haproxy.cfg")},
          dir.file("haproxy.log"));
      for (int i = 0; i < 100; ++i) {
        if (HaproxySwitch(dir.file("haproxy.sock"), {"svc"}).routed_colour()) {
          front_port = port;
          break;
        }
        if (haproxy->wait(0) != -1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_NE(front_port, 0) << test_support::read_file(dir.file("haproxy.log"));
  }
  void TearDown() override {
    if (haproxy) haproxy->signal(SIGTERM);
    // A green the deployment left running (promoted) is stopped here.
    std::ifstream in(dir.file("d/green.pid"));
    long pid = 0;
    if (in >> pid && pid > 1) ::kill(static_cast<pid_t>(-pid), SIGKILL);
  }
  std::string haproxy_config(int port) const {
    return "global\n  stats socket " + dir.file("haproxy.sock") +
           " mode 600 level admin\n"
           "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
           "  timeout server 30s\nfrontend front\n  bind 127.0.0.1:" +
           std::to_string(port) + "\n  default_backend svc\nbackend svc\n  server blue 127.0.0.1:" +
           std::to_string(blue_port) + "\n  server green 127.0.0.1:" + std::to_string(green_port) +
           " disabled\n";
  }
  // The guardctl deploy command line; `green_flags` are guardrail-sim's (its faults).
  std::vector<std::string> deploy_args(const std::string& green_flags,
                                       std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{
        GUARDCTL_BIN,
        "deploy",
        "--app",
        "guardrail-sim",
        "--dir",
        dir.file("d"),
        "--blue-url",
        "http://127.0.0.1:" + std::to_string(blue_port),
        "--green-url",
        "http://127.0.0.1:" + std::to_string(green_port),
        "--green-cmd",
        std::string(GUARDRAIL_SIM_BIN) +
            " --http.address=127.0.0.1 --http.port=" + std::to_string(green_port) +
            " --guardrail.colour=green --guardrail.evidence_path=" + dir.file("green.jsonl") +
            " --guardrail.reset_token=controller-token --log.level=warn " + green_flags,
        "--blue-pid-file",
        dir.file("blue.pid"),
        "--haproxy-socket",
        dir.file("haproxy.sock"),
        "--backend",
        "svc",
        "--who",
        "alice",
        "--env",
        "staging",
        "--poll-ms",
        "200",
        "--ready-timeout-s",
        "15",
        "--hold-limit-s",
        "15",
        "--post-window-s",
        "3",
        "--scale-down-s",
        "1",
        "--stop-grace-s",
        "5",
        "--signing-key",
        dir.file("signing.key")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  static void set_flag(std::vector<std::string>& args, const std::string& flag,
                       const std::string& value) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == flag) args[i + 1] = value;
    }
  }
  // Which colour HAProxy routes to; asked again when the admin socket is busy for a moment (the
  // controller talks to it at the same time).
  Colour routed() const {
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (auto r = HaproxySwitch(dir.file("haproxy.sock"), {"svc"}).routed_colour()) return *r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return HaproxySwitch(dir.file("haproxy.sock"), {"svc"}).routed_colour().value();
  }
  // The colour that answers through HAProxy.
  std::string served_colour() const {
    const auto r = test_support::run_command(
        {"/usr/bin/curl", "-s", "-m", "5",
         "http://127.0.0.1:" + std::to_string(front_port) + "/guardrail/v1/status"});
    const auto at = r.second.find("\"colour\":\"");
    return at == std::string::npos ? "" : r.second.substr(at + 10, 4);
  }
  // The sealed bundle (signature, chain, files) once the deployment finished; the chain alone
  // before.
  std::string evidence_check() const {
    const bool sealed = ::access(dir.file("d/manifest.json").c_str(), R_OK) == 0;
    const std::string target = sealed ? dir.file("d") : dir.file("d/deployment.jsonl");
    return test_support::run_command({GUARDCTL_BIN, "evidence", "verify", target}).second;
  }
  bool green_running() const {
    std::ifstream in(dir.file("d/green.pid"));
    long pid = 0;
    return in >> pid && pid > 1 && ::kill(static_cast<pid_t>(pid), 0) == 0;
  }

  test_support::TempDir dir;
  std::unique_ptr<test_support::ChildProcess> blue, haproxy;
  int blue_port = 0, green_port = 0, front_port = 0;
};

TEST_F(DeployTest, AGoodGreenIsPromotedAndBlueStopped) {
  const auto [code, out] = test_support::run_command(deploy_args(""), 90'000);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(routed(), Colour::kGreen);
  EXPECT_EQ(served_colour(), "gree");
  EXPECT_EQ(blue->wait(5000), 0) << "blue stopped by SIGTERM after the scale-down delay";
  EXPECT_NE(evidence_check().find("ok: bundle sealed"), std::string::npos) << evidence_check();
  // Any change to the sealed files is found.
  test_support::write_file(dir.file("d/summary.json"),
                           test_support::read_file(dir.file("d/summary.json")) + " ");
  EXPECT_NE(evidence_check().find("BROKEN: summary.json does not match"), std::string::npos)
      << evidence_check();
  const std::string summary = test_support::read_file(dir.file("d/summary.json"));
  EXPECT_NE(summary.find("\"outcome\": \"promoted\""), std::string::npos) << summary;
  const std::string log = test_support::read_file(dir.file("d/deployment.jsonl"));
  for (const char* type : {"deploy.change", "deploy.risk", "deploy.preflight", "deploy.start",
                           "deploy.verdict", "deploy.switch", "deploy.stop", "deploy.finish"}) {
    EXPECT_NE(log.find(std::string("\"type\":\"") + type + "\""), std::string::npos) << type;
  }
}

// The controller reports the start to blue, and each switch and the outcome to the colour then
// holding the traffic; each report is in the deployment's evidence too.
TEST_F(DeployTest, TheSwitchesAndTheOutcomeAreReportedToTheGuardrails) {
  ::setenv("GUARDCTL_CONTROLLER_TOKEN", "controller-token", 1);
  const auto [code, out] = test_support::run_command(deploy_args(""), 90'000);
  ::unsetenv("GUARDCTL_CONTROLLER_TOKEN");
  EXPECT_EQ(code, 0) << out;
  ASSERT_EQ(blue->wait(5000), 0);
  const std::string blue_log = test_support::read_file(dir.file("blue.jsonl"));
  EXPECT_NE(blue_log.find(R"("event":"change")"), std::string::npos) << blue_log;
  // Green is still running: its evidence so far.
  const std::string green_log = test_support::read_file(dir.file("green.jsonl"));
  EXPECT_NE(green_log.find(R"("event":"switched")"), std::string::npos) << green_log;
  EXPECT_NE(green_log.find(R"("event":"promoted")"), std::string::npos) << green_log;
  EXPECT_NE(green_log.find(R"("who":"alice")"), std::string::npos);
  const std::string log = test_support::read_file(dir.file("d/deployment.jsonl"));
  EXPECT_EQ(log.find(R"("recorded":false)"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("type":"deploy.report")"), std::string::npos);
}

// Pre-flight: a new release that says it cannot use the running one's data, or a host without
// room for a second copy, is refused before anything starts, with the reason in the evidence.
TEST_F(DeployTest, AnIncompatibleReleaseOrAFullHostIsRefusedInPreFlight) {
  const auto [code, out] = test_support::run_command(
      deploy_args("", {"--compat-cmd", "echo 'database schema 9 needs build 9 or later'; exit 1"}),
      60'000);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("not compatible with the running one"), std::string::npos) << out;
  EXPECT_NE(out.find("database schema 9 needs build 9 or later"), std::string::npos) << out;
  EXPECT_FALSE(green_running());
  EXPECT_EQ(routed(), Colour::kBlue);
  const std::string log = test_support::read_file(dir.file("d/deployment.jsonl"));
  EXPECT_NE(log.find(R"("exit_code":1)"), std::string::npos) << log;
  auto full = deploy_args("", {"--min-free-mb", "50000000"});
  set_flag(full, "--dir", dir.file("d2"));
  const auto [code2, out2] = test_support::run_command(full, 60'000);
  EXPECT_EQ(code2, 5) << out2;
  EXPECT_NE(out2.find("not enough memory for the new release"), std::string::npos) << out2;
  EXPECT_EQ(routed(), Colour::kBlue);
}

TEST_F(DeployTest, AFailingGreenNeverGetsTraffic) {
  const auto [code, out] = test_support::run_command(deploy_args("--sim.error_ratio=0.5"), 90'000);
  EXPECT_EQ(code, 4) << out;
  EXPECT_NE(out.find("rollback before promotion"), std::string::npos) << out;
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_EQ(out.find("switching"), std::string::npos) << "the traffic never moved\n" << out;
  EXPECT_FALSE(green_running()) << "green stopped";
  EXPECT_EQ(blue->wait(0), -1) << "blue still serves";
  EXPECT_NE(evidence_check().find("ok: bundle sealed"), std::string::npos) << evidence_check();
}

TEST_F(DeployTest, AGreenThatBreaksAfterPromotionIsRolledBack) {
  const auto [code, out] =
      test_support::run_command(deploy_args("--sim.degrade_after_s=5 --sim.degraded_latency_ms=400",
                                            {"--post-window-s", "30"}),
                                120'000);
  EXPECT_EQ(code, 4) << out;
  EXPECT_NE(out.find("rolled-back-post-promotion"), std::string::npos) << out;
  EXPECT_NE(out.find("post-promotion"), std::string::npos) << out;
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_EQ(served_colour(), "blue");
  EXPECT_FALSE(green_running());
  const std::string summary = test_support::read_file(dir.file("d/summary.json"));
  EXPECT_NE(summary.find("\"rollback_switch_ms\""), std::string::npos) << summary;
  EXPECT_NE(summary.find("timeline.png"), std::string::npos) << "gnuplot drew the timeline";
  EXPECT_GT(test_support::read_file(dir.file("d/timeline.png")).size(), 1000u);
  EXPECT_NE(evidence_check().find("ok: bundle sealed"), std::string::npos) << evidence_check();
}

TEST_F(DeployTest, AGreenThatDiesIsNotWaitedFor) {
  auto args = deploy_args("");
  set_flag(args, "--green-cmd", "/bin/false");  // a program that exits at once
  const auto started = std::chrono::steady_clock::now();
  const auto [code, out] = test_support::run_command(args, 60'000);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("exited before it was ready"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10))
      << "not the 15 s ready timeout";
  EXPECT_EQ(routed(), Colour::kBlue);
}

TEST_F(DeployTest, BadSetupsAreRefusedBeforeAnythingStarts) {
  auto args = deploy_args("");
  set_flag(args, "--haproxy-socket", dir.file("no-haproxy.sock"));
  auto [code, out] = test_support::run_command(args, 60'000);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("load balancer: haproxy runtime API"), std::string::npos) << out;
  EXPECT_FALSE(green_running());

  // A --dir that cannot be a directory says so (not "another deployment is running").
  test_support::write_file(dir.file("plain-file"), "x");
  auto not_dir = deploy_args("");
  set_flag(not_dir, "--dir", dir.file("plain-file"));
  auto [code1, out1] = test_support::run_command(not_dir);
  EXPECT_EQ(code1, 2) << out1;
  EXPECT_NE(out1.find("cannot use " + dir.file("plain-file") + " as the deployment's directory"),
            std::string::npos)
      << out1;
  EXPECT_EQ(routed(), Colour::kBlue);

  auto [code2, out2] = test_support::run_command(
      std::vector<std::string>{GUARDCTL_BIN, "deploy", "--app", "x", "--dir", dir.file("e")});
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("--blue-url is required"), std::string::npos) << out2;
  auto [code3, out3] = test_support::run_command(deploy_args("", {"--poll-ms", "soon"}));
  EXPECT_EQ(code3, 2);
  EXPECT_NE(out3.find("--poll-ms needs a whole number"), std::string::npos) << out3;
}

TEST_F(DeployTest, OneDeploymentPerDirectoryAndInterruptionsEndOnBlue) {
  // A long post-promotion window: the deployment is still watching when it is interrupted.
  test_support::ChildProcess first(deploy_args("", {"--post-window-s", "120"}),
                                   dir.file("first.out"));
  for (int i = 0; i < 200 && routed() != Colour::kGreen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(routed(), Colour::kGreen) << test_support::read_file(dir.file("first.out"));
  const auto [code, out] = test_support::run_command(deploy_args(""));
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("another guardctl deploy is running"), std::string::npos) << out;
  EXPECT_EQ(routed(), Colour::kGreen) << "the refused one changed nothing";
  const std::string refusals = test_support::read_file(dir.file("d/refused.jsonl"));
  EXPECT_NE(refusals.find(R"("type":"deploy.refused")"), std::string::npos) << refusals;
  EXPECT_NE(
      test_support::run_command({GUARDCTL_BIN, "evidence", "verify", dir.file("d/refused.jsonl")})
          .second.find("ok"),
      std::string::npos);

  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(30'000), 4) << test_support::read_file(dir.file("first.out"));
  EXPECT_EQ(routed(), Colour::kBlue) << "SIGTERM before green was confirmed: back to blue";
  EXPECT_FALSE(green_running());
  EXPECT_NE(evidence_check().find("ok: bundle sealed"), std::string::npos) << evidence_check();
}

// Green holds the traffic and its guardrail stops answering (the process is frozen): after
// --max-errors unreadable reads the traffic goes back to blue, and the evidence says why.
TEST_F(DeployTest, AGuardrailThatStopsAnsweringSendsTheTrafficBack) {
  test_support::ChildProcess deploying(deploy_args("", {"--post-window-s", "60"}),
                                       dir.file("deploy.out"));
  for (int i = 0; i < 300 && routed() != Colour::kGreen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(routed(), Colour::kGreen) << test_support::read_file(dir.file("deploy.out"));
  std::ifstream in(dir.file("d/green.pid"));
  long pid = 0;
  ASSERT_TRUE(in >> pid && pid > 1);
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGSTOP), 0);
  EXPECT_EQ(deploying.wait(60'000), 4) << test_support::read_file(dir.file("deploy.out"));
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_EQ(served_colour(), "blue");
  EXPECT_FALSE(green_running()) << "the frozen green is killed after the grace period";
  const std::string log = test_support::read_file(dir.file("d/deployment.jsonl"));
  EXPECT_NE(log.find(R"("verdict":"unreadable")"), std::string::npos);
  EXPECT_NE(log.find("could not be read 3 times in a row"), std::string::npos) << log;
}

TEST_F(DeployTest, AKilledControllerIsResumedToASafeEnd) {
  test_support::ChildProcess first(deploy_args("", {"--post-window-s", "120"}),
                                   dir.file("first.out"));
  for (int i = 0; i < 200 && routed() != Colour::kGreen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(routed(), Colour::kGreen) << test_support::read_file(dir.file("first.out"));
  first.signal(SIGKILL);
  first.wait(5000);
  EXPECT_EQ(routed(), Colour::kGreen) << "kill -9 left the traffic on the unconfirmed green";
  const auto [code, out] = test_support::run_command(deploy_args(""), 60'000);
  EXPECT_EQ(code, 4) << out;
  EXPECT_NE(out.find("resuming an unfinished deployment"), std::string::npos) << out;
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_FALSE(green_running());
  EXPECT_NE(evidence_check().find("ok: bundle sealed"), std::string::npos) << evidence_check();

  const auto [code2, out2] = test_support::run_command(deploy_args(""));
  EXPECT_EQ(code2, 2) << "a finished deployment's directory is not reused\n" << out2;
}

TEST_F(DeployTest, AGreenThatNeverAnswersIsStoppedAfterTheReadyTimeout) {
  auto args = deploy_args("", {"--ready-timeout-s", "2"});
  set_flag(args, "--green-cmd", "/bin/sleep 600");  // alive, never ready
  const auto [code, out] = test_support::run_command(args, 60'000);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("did not become ready within 2 s"), std::string::npos) << out;
  EXPECT_FALSE(green_running()) << "the process that never answered is stopped";
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_NE(evidence_check().find("ok: bundle sealed"), std::string::npos) << evidence_check();
}

TEST_F(DeployTest, AGuardrailThatIsNotThisAppsIsNoVerdict) {
  // Green answers with another application's status document: unreadable three times in a row,
  // so it is never promoted.
  const auto [code, out] =
      test_support::run_command(deploy_args("--guardrail.app=someone-else"), 60'000);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("not guardrail-sim's (app someone-else)"), std::string::npos) << out;
  EXPECT_NE(out.find("could not be read 3 times in a row"), std::string::npos) << out;
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_FALSE(green_running());
}

// Releases alternate colours: after green was promoted, the next release runs as blue (on blue's
// server), is judged, promoted, and the old green is stopped.
TEST_F(DeployTest, TheNextReleaseTakesTheOtherColour) {
  auto [code, out] = test_support::run_command(deploy_args(""), 90'000);
  ASSERT_EQ(code, 0) << out;
  ASSERT_EQ(routed(), Colour::kGreen);
  ASSERT_EQ(blue->wait(5000), 0);
  auto next = deploy_args("");
  set_flag(next, "--dir", dir.file("d2"));
  set_flag(next, "--green-cmd",
           std::string(GUARDRAIL_SIM_BIN) +
               " --http.address=127.0.0.1 --http.port=" + std::to_string(blue_port) +
               " --guardrail.colour=blue --guardrail.evidence_path=" + dir.file("blue2.jsonl") +
               " --log.level=warn");
  set_flag(next, "--blue-pid-file", dir.file("d/green.pid"));
  next.push_back("--colour");
  next.push_back("blue");
  auto [code2, out2] = test_support::run_command(next, 90'000);
  EXPECT_EQ(code2, 0) << out2;
  EXPECT_EQ(routed(), Colour::kBlue);
  EXPECT_EQ(served_colour(), "blue");
  EXPECT_FALSE(green_running()) << "the previous release (green) is stopped";
  std::ifstream in(dir.file("d2/blue.pid"));
  long pid = 0;
  ASSERT_TRUE(in >> pid);
  ::kill(static_cast<pid_t>(-pid), SIGKILL);  // the promoted blue, not the fixture's
}

// --smoke-cmd runs while green is analysed before promotion and is stopped before the switch.
TEST_F(DeployTest, SmokeTrafficRunsOnlyDuringThePrePromotionAnalysis) {
  const std::string marks = dir.file("smoke.marks");
  const auto [code, out] = test_support::run_command(
      deploy_args(
          "", {"--smoke-cmd", "sh -c 'echo \"start {url}\" >> " + marks + "; trap \"echo stop >> " +
                                  marks + "; exit 0\" TERM; while :; do sleep 0.05; done'"}),
      90'000);
  EXPECT_EQ(code, 0) << out;
  const std::string m = test_support::read_file(marks);
  EXPECT_NE(m.find("start http://127.0.0.1:" + std::to_string(green_port)), std::string::npos) << m;
  EXPECT_NE(m.find("stop"), std::string::npos) << "stopped by SIGTERM\n" << m;
  const std::string log = test_support::read_file(dir.file("d/deployment.jsonl"));
  const auto smoke_stop = log.find("\"stopped\":\"exited\"");
  const auto switch_to_green = log.find("\"type\":\"deploy.switch\"");
  ASSERT_NE(smoke_stop, std::string::npos) << log;
  ASSERT_NE(switch_to_green, std::string::npos);
  EXPECT_LT(smoke_stop, switch_to_green) << "the smoke traffic ended before users came";
}

}  // namespace
