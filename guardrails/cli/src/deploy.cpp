// guardctl deploy: drives the pure blue/green workflow (guardrails/deploy) with the adapters of
// guardrails/controller, and records every step in a hash-chained evidence log. The deployment's
// directory holds that log (deployment.jsonl), green's pid file and log, a lock, and the summary.
// Running it again on a directory whose deployment did not finish resumes it safely.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/clock.hpp"
#include "guardrails/cli/guardctl.hpp"
#include "guardrails/controller/colour_process.hpp"
#include "guardrails/controller/guardrail_client.hpp"
#include "guardrails/controller/haproxy.hpp"
#include "guardrails/deploy/outcome_metrics.hpp"
#include "guardrails/deploy/workflow.hpp"
#include "guardrails/evidence/bundle.hpp"
#include "guardrails/evidence/evidence_log.hpp"

namespace guardrails::cli {
namespace {

using deploy::Action;
using deploy::Colour;
using deploy::Step;

constexpr const char* kDeployHelp =
    R"(guardctl deploy --app APP --dir DIR --blue-url URL --green-url URL
                --new-cmd CMD --haproxy-socket PATH --backend NAME[,NAME] --who ID --env ENV
                [--colour green|blue] [options]

The blue/green deployment. The new release runs as --colour (default green; the next release
takes the other colour) and is called green below, the running one blue: risk and change
record, pre-flight, start green (--new-cmd, run by /bin/sh in its own session), wait for its
/readyz, pre-promotion analysis on green's guardrail
(promote: go on; hold: wait up to --hold-limit-s; rollback or unreadable: stop, green never
had traffic), switch HAProxy's backends to green over its runtime API (established connections
drain on blue), post-promotion analysis for --post-window-s (rollback: the traffic goes back to
blue at once, green is stopped), then blue is stopped after --scale-down-s.

Every step, verdict and switch is appended to DIR/deployment.jsonl (hash-chained); at the end
DIR/summary.json holds the outcome and DIR/manifest.json + manifest.sig seal the bundle with
Ed25519 (check it with `guardctl evidence verify DIR`). Running the
same command again on a DIR whose deployment did not finish (the controller was killed) ends it
safely: traffic on an unconfirmed green goes back to blue. SIGINT/SIGTERM do the same at once.
One deployment per DIR at a time.

Options:
  --app APP                the guardrails' app name (trading-engine, pharma-mes, ...)
  --dir DIR                the deployment's evidence bundle directory
  --blue-url, --green-url  each colour's HTTP base URL (http://host:port)
  --colour green|blue      the colour (HAProxy server) the new release runs as (default green)
  --new-cmd CMD            starts the new release (also --green-cmd); its pid and output go to
                           DIR/<colour>.pid and DIR/<colour>.log
  --old-pid-file FILE      the running release's pid file (also --blue-pid-file): stopped after
                           a promotion (the previous deployment's DIR/<colour>.pid)
  --compat-cmd CMD         pre-flight: is the new release compatible with the running one's
                           data (schema, formats)? exit 0 yes; otherwise its last output line
                           is the reason (e.g. `pharma-mes --db URL db compat`)
  --min-free-mb N          pre-flight: memory the host must have free beyond the running
                           release's resident size (default 64; the disk of --dir needs 64 MB)
  --smoke-cmd CMD          runs during the pre-promotion analysis only (users stay on blue), so
                           green's guardrail has traffic to judge; {url} is green's URL; output
                           in DIR/smoke.log (read-only requests or a test tenant: never user
                           writes)
  --handover               a stateful venue (trading-engine): green starts as the standby of
                           blue; each switch first hands over (the primary seals its journal and
                           logs the FIX sessions out, the standby takes over with their sequence
                           numbers) and only then moves the balancer; the venue's admin token
                           from --admin-token-file FILE or GUARDCTL_ADMIN_TOKEN
  --metrics-file FILE      add the outcome to this node-exporter textfile (Prometheus's
                           textfile collector): deployments by outcome, time to detect and to
                           recover, the last risk class, the colour and version serving
  --haproxy-socket PATH    HAProxy's admin runtime API socket
  --backend NAME[,NAME]    HAProxy backends with servers named blue and green
  --who ID                 who deploys; --approve ID: a second identity (required for Critical)
  --signing-key FILE       Ed25519 seed that seals the bundle (default ~/.guardctl/signing.key,
                           created 0600 when missing)
  --revision REV --blue-version V --green-version V   the change record
  --env ENV [--touches AREA[,AREA]] [--schema-migration] [--rolled-back APP] [--at TIME]
                           the risk flags of `guardctl risk`
  --poll-ms N (1000) --ready-timeout-s N (60) --hold-limit-s N (120) --post-window-s N (60)
  --scale-down-s N (30) --max-errors N (3) --stop-grace-s N (30)
Each switch, and the start and outcome of the deployment, is reported to the guardrail of the
colour holding the traffic (POST /guardrail/v1/events, the token from GUARDCTL_CONTROLLER_TOKEN or
--controller-token-file FILE: the colours' guardrail.reset_token); pharma-mes keeps them on its
audit trail as change events. A report that fails is recorded and never holds up a switch.

Exit: 0 promoted, 4 rolled back, 5 aborted (refused or stopped before green had traffic),
2 usage error or another deployment holds DIR, 1 the evidence log cannot be written.
)";

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

struct Options {
  std::string app, dir, blue_url, green_url, new_cmd, old_pid_file, haproxy_socket;
  Colour new_colour = Colour::kGreen;  // the server (colour) the new release runs as
  std::vector<std::string> backends;
  std::string who, approver, revision = "unknown", blue_version = "?", green_version = "?";
  std::string signing_key;
  std::string smoke_cmd;     // traffic for green during the pre-promotion analysis ({url}: green's)
  std::string compat_cmd;    // pre-flight compatibility check of the new release
  std::string metrics_file;  // node-exporter textfile of the outcomes (empty: none)
  std::int64_t min_free_mb = 64;  // pre-flight capacity: free memory beyond blue's size
  std::string controller_token;   // reports to the guardrails (empty: none)
  // A stateful venue: the switch is a handover (the primary seals and becomes the standby, the
  // standby takes over) before the balancer moves; the admin API's bearer token.
  bool handover = false;
  std::string admin_token;
  std::vector<std::string> risk_flags;
  deploy::Timing timing;
  std::chrono::milliseconds stop_grace{30'000};
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

core::Nanos now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json transition_json(const deploy::Transition& t) {
  return {{"at_ns", t.at},
          {"from", std::string(deploy::to_string(t.from))},
          {"to", std::string(deploy::to_string(t.to))},
          {"traffic", std::string(deploy::to_string(t.traffic))},
          {"green_started", t.green_started},
          {"outcome", std::string(deploy::to_string(t.outcome))},
          {"reason", t.reason}};
}

// The transitions an earlier run recorded (to resume it).
std::vector<deploy::Transition> recorded_transitions(const std::string& path) {
  std::vector<deploy::Transition> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != "deploy.transition") continue;
    const auto& d = j["data"];
    deploy::Transition t;
    t.at = d.value("at_ns", core::Nanos{0});
    auto from = deploy::phase_from_string(d.value("from", ""));
    auto to = deploy::phase_from_string(d.value("to", ""));
    auto outcome = deploy::outcome_from_string(d.value("outcome", ""));
    if (!from || !to || !outcome) continue;
    t.from = *from;
    t.to = *to;
    t.traffic = d.value("traffic", "blue") == "green" ? Colour::kGreen : Colour::kBlue;
    t.green_started = d.value("green_started", false);
    t.outcome = *outcome;
    t.reason = d.value("reason", "");
    out.push_back(t);
  }
  return out;
}

class Deployment {
 public:
  Deployment(Options o, std::ostream& out, std::ostream& err)
      : o_(std::move(o)),
        out_(out),
        err_(err),
        haproxy_(o_.haproxy_socket, o_.backends),
        workflow_(o_.timing) {}

  int run() {
    std::error_code ec;
    std::filesystem::create_directories(o_.dir, ec);
    lock_fd_ = ::open((o_.dir + "/deploy.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) {
      err_ << "guardctl deploy: cannot use " << o_.dir << " as the deployment's directory ("
           << (ec ? ec.message() : std::string(std::strerror(errno)))
           << "); not started (traffic unchanged)\n";
      return kExitUsage;
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      // The running deployment owns DIR/deployment.jsonl; the refusal goes to a log of its own.
      const std::string refusals = o_.dir + "/refused.jsonl";
      if (auto refused = evidence::EvidenceLog::open(refusals)) {
        (void)(*refused)->append("deploy.refused",
                                 {{"who", o_.who},
                                  {"app", o_.app},
                                  {"new_cmd", o_.new_cmd},
                                  {"reason", "another guardctl deploy is running in " + o_.dir}},
                                 now_ns());
      }
      err_ << "guardctl deploy: another guardctl deploy is running in " << o_.dir
           << "; not started (traffic unchanged; recorded in " << refusals << ")\n";
      return kExitUsage;
    }
    const std::string log_path = o_.dir + "/deployment.jsonl";
    auto previous = recorded_transitions(log_path);
    auto log = evidence::EvidenceLog::open(log_path);
    if (!log) {
      err_ << "guardctl deploy: " << log.error().message << "\n";
      return kExitUnreachable;
    }
    log_ = std::move(*log);

    std::vector<Action> actions;
    if (!previous.empty() && previous.back().to != deploy::Phase::kFinished) {
      record("deploy.resume",
             {{"last_phase", std::string(deploy::to_string(previous.back().to))},
              {"traffic", std::string(deploy::to_string(previous.back().traffic))}});
      out_ << "resuming an unfinished deployment (it stopped in phase "
           << deploy::to_string(previous.back().to) << ")\n";
      auto [w, a] = deploy::Workflow::resume(o_.timing, previous, now_ns());
      workflow_ = std::move(w);
      actions = std::move(a);
    } else {
      if (!previous.empty()) {
        err_ << "guardctl deploy: " << o_.dir
             << " holds a finished deployment; use a new --dir for a new one\n";
        return kExitUsage;
      }
      record("deploy.change", {{"app", o_.app},
                               {"who", o_.who},
                               {"approver", o_.approver},
                               {"revision", o_.revision},
                               {"blue_version", o_.blue_version},
                               {"green_version", o_.green_version},
                               {"blue_url", o_.blue_url},
                               {"green_url", o_.green_url},
                               {"new_colour", std::string(deploy::to_string(o_.new_colour))},
                               {"new_cmd", o_.new_cmd},
                               {"backends", o_.backends}});
      report(Colour::kBlue, "change",
             "deployment of " + o_.app + " " + o_.green_version + " (" + o_.revision + ") as " +
                 std::string(deploy::to_string(o_.new_colour)) + " beside " + o_.blue_version +
                 " started");
      actions = workflow_.begin(now_ns());
      // The release started here learns which evidence bundle started it and journals it (the
      // venue's start record: which build handled which trades): <APP>_DEPLOY_EVIDENCE_ID.
      std::string app_env;
      for (char c : o_.app) {
        app_env += std::isalnum(static_cast<unsigned char>(c))
                       ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                       : '_';
      }
      std::string bundle = std::filesystem::path(o_.dir).lexically_normal().filename().string();
      if (bundle.empty()) bundle = "deploy";
      std::string evidence_id = bundle.substr(0, 28) + "#" + o_.revision.substr(0, 11);
      for (char& c : evidence_id) {
        const bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                           c == '_' || c == '#';
        if (!plain) c = '_';
      }
      ::setenv((app_env + "_DEPLOY_EVIDENCE_ID").c_str(), evidence_id.c_str(), 1);
    }
    flush_transitions();

    bool interrupted = false;
    while (!actions.empty() && actions.front().step != Step::kFinish) {
      if (g_signal.load() != 0 && !interrupted) {
        interrupted = true;
        const int sig = g_signal.load();
        actions = feed(deploy::Interrupted{sig == SIGINT ? "SIGINT" : "SIGTERM"});
        continue;
      }
      const Action action = actions.front();
      auto event = perform(action);
      if (!event) {
        actions.clear();  // a wait interrupted by a signal: loop again to deliver it
        actions.push_back(action);
        continue;
      }
      actions = feed(std::move(*event));
      if (actions.empty()) {
        err_ << "guardctl deploy: the workflow stopped without a next step in phase "
             << deploy::to_string(workflow_.phase()) << "\n";
        break;
      }
    }
    return finish();
  }

 private:
  std::vector<Action> feed(deploy::Event e) {
    auto next = workflow_.handle(deploy::Input{now_ns(), std::move(e)});
    flush_transitions();
    update_smoke();
    return next;
  }

  // The smoke traffic runs exactly while green is analysed before promotion: users never reach
  // green then, so its guardrail needs traffic of its own.
  void update_smoke() {
    if (o_.smoke_cmd.empty()) return;
    const std::string pid_file = o_.dir + "/smoke.pid";
    const bool wanted = workflow_.phase() == deploy::Phase::kPrePromotion;
    const auto running = controller::running_pid(pid_file);
    if (wanted && !running) {
      std::string cmd = o_.smoke_cmd;
      for (auto at = cmd.find("{url}"); at != std::string::npos; at = cmd.find("{url}")) {
        cmd.replace(at, 5, new_url());
      }
      auto pid = controller::start_process(cmd, o_.dir + "/smoke.log", pid_file);
      record("deploy.smoke", {{"started", static_cast<bool>(pid)},
                              {"pid", pid ? *pid : 0},
                              {"command", cmd},
                              {"error", pid ? "" : pid.error().message}});
      out_ << (pid ? "  smoke traffic for green started\n"
                   : "  smoke traffic could not start: " + pid.error().message + "\n");
    } else if (!wanted && running) {
      const std::string how = controller::stop_process(*running, std::chrono::seconds(5));
      record("deploy.smoke", {{"stopped", how}, {"pid", *running}});
    }
  }

  void record(const std::string& type, const nlohmann::json& data) {
    if (!log_) return;
    auto r = log_->append(type, data, now_ns());
    if (!r) err_ << "guardctl deploy: evidence: " << r.error().message << "\n";
  }

  void flush_transitions() {
    for (const auto& t : workflow_.take_transitions()) {
      if (t.to == deploy::Phase::kPrePromotion && !analysis_started_) analysis_started_ = t.at;
      const bool rolling_back = t.to == deploy::Phase::kRollingBack ||
                                t.outcome == deploy::Outcome::kRolledBackPrePromotion ||
                                t.outcome == deploy::Outcome::kRolledBackPostPromotion;
      if (rolling_back && !rollback_decided_) rollback_decided_ = t.at;
      record("deploy.transition", transition_json(t));
      out_ << fmt::format("{:<16} traffic on {:<5} {}\n", deploy::to_string(t.to),
                          deploy::to_string(t.traffic), t.reason);
    }
  }

  // Performs one action; the event it produced, or nullopt when a wait was cut by a signal.
  std::optional<deploy::Event> perform(const Action& a) {
    switch (a.step) {
      case Step::kAssessRisk:
        return assess_risk();
      case Step::kPreflight:
        return preflight();
      case Step::kStartGreen: {
        auto pid = controller::start_process(o_.new_cmd, new_file(".log"), new_file(".pid"));
        deploy::GreenStarted g;
        g.ok = static_cast<bool>(pid);
        if (!pid) g.error = pid.error().message;
        record("deploy.start",
               {{"colour", "green"}, {"ok", g.ok}, {"pid", pid ? *pid : 0}, {"error", g.error}});
        return g;
      }
      case Step::kProbeReady: {
        auto r = green().ready(o_.handover);  // a venue's green is a standby until the switch
        // A green that already exited will never be ready: say so instead of waiting.
        if (!r.ready && !controller::running_pid(new_file(".pid"))) {
          r.exited = true;
          r.detail = "its process exited; see " + new_file(".log");
          record("deploy.ready", {{"ready", false}, {"detail", r.detail}});
          return r;
        }
        if (r.ready) record("deploy.ready", {{"ready", true}, {"detail", r.detail}});
        return r;
      }
      case Step::kReadVerdict: {
        auto v = green().verdict();
        const std::string verdict =
            v.verdict ? std::string(slo::to_string(*v.verdict)) : std::string("unreadable");
        record("deploy.verdict", {{"colour", std::string(deploy::to_string(v.colour))},
                                  {"verdict", verdict},
                                  {"detail", v.detail},
                                  {"status", green().last_status_body().substr(0, 4096)}});
        out_ << fmt::format("  green says {:<10} {}\n", verdict, v.detail);
        timeline_point(v);
        return v;
      }
      case Step::kSwitchTraffic: {
        const auto started = std::chrono::steady_clock::now();
        if (o_.handover) {
          if (auto moved = hand_over(a.colour); !moved) {
            deploy::TrafficSwitched s{a.colour, false, moved.error().message};
            record("deploy.switch", {{"to", std::string(deploy::to_string(a.colour))},
                                     {"ok", false},
                                     {"error", s.error},
                                     {"took_ms", 0}});
            return s;
          }
        }
        auto r = haproxy_.route_to(physical(a.colour));
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        deploy::TrafficSwitched s{a.colour, static_cast<bool>(r), r ? "" : r.error().message};
        if (s.ok) switches_.push_back({now_ns(), a.colour});
        record("deploy.switch", {{"to", std::string(deploy::to_string(a.colour))},
                                 {"ok", s.ok},
                                 {"error", s.error},
                                 {"took_ms", ms}});
        // Reported after the switch: the report never delays it.
        if (s.ok) {
          report(a.colour, "switched",
                 "traffic to " + std::string(deploy::to_string(physical(a.colour))) + " (" +
                     (a.colour == Colour::kGreen ? "the new release " + o_.green_version
                                                 : "the running release " + o_.blue_version) +
                     ") in " + std::to_string(ms) + " ms");
        }
        return s;
      }
      case Step::kStopColour: {
        const std::string pid_file =
            a.colour == Colour::kGreen ? new_file(".pid") : o_.old_pid_file;
        std::string how = "no pid file";
        pid_t pid = 0;
        if (!pid_file.empty()) {
          if (auto p = controller::running_pid(pid_file)) {
            pid = *p;
            how = controller::stop_process(*p, o_.stop_grace);
          } else {
            how = "was not running";
          }
        }
        record("deploy.stop",
               {{"colour", std::string(deploy::to_string(a.colour))}, {"pid", pid}, {"how", how}});
        return deploy::ColourStopped{a.colour};
      }
      case Step::kWaitUntil: {
        while (now_ns() < a.until) {
          if (g_signal.load() != 0) return std::nullopt;
          const core::Nanos left = a.until - now_ns();
          std::this_thread::sleep_for(
              std::chrono::nanoseconds(std::min<core::Nanos>(left, 50 * core::kNanosPerMilli)));
        }
        return deploy::TimerFired{};
      }
      case Step::kFinish:
        break;
    }
    return deploy::TimerFired{};
  }

  deploy::Event assess_risk() {
    auto flags = o_.risk_flags;
    flags.push_back("--app");
    flags.push_back(o_.app);
    auto assessed = assess_risk_flags(flags);
    deploy::RiskAssessed r;
    if (!assessed) {
      // A risk that cannot be computed is treated as Critical: it needs a second identity.
      r.risk_class = "Critical";
      r.critical = true;
      r.detail = "risk not assessed: " + assessed.error().message;
    } else {
      r.risk_class = std::string(risk::to_string(assessed->risk_class));
      r.critical = assessed->risk_class == risk::RiskClass::kCritical;
      r.detail = "score " + std::to_string(assessed->score);
    }
    r.approved = !o_.approver.empty() && o_.approver != o_.who;
    nlohmann::json j = assessed ? risk_json(*assessed) : nlohmann::json{{"error", r.detail}};
    j["who"] = o_.who;
    j["approver"] = o_.approver;
    j["approved"] = r.approved;
    if (!o_.approver.empty() && o_.approver == o_.who) {
      j["approval_refused"] = "the approver must be a second identity";
    }
    record("deploy.risk", j);
    risk_class_ = r.risk_class;
    out_ << "risk " << r.risk_class << " (" << r.detail << ")\n";
    return r;
  }

  deploy::Event preflight() {
    deploy::PreflightChecked p;
    auto blue = controller::GuardrailClient::make(Colour::kBlue, old_url(), o_.app);
    if (!blue) {
      p.problems.push_back("--blue-url: " + blue.error().message);
    } else {
      const auto ready = blue->ready();
      if (!ready.ready) p.problems.push_back("blue is not healthy (" + ready.detail + ")");
      const auto v = blue->verdict();
      if (!v.verdict) p.problems.push_back("blue's guardrail is unreadable (" + v.detail + ")");
    }
    if (!green_client_) p.problems.push_back("--green-url: " + green_error_);
    // Green must not be running yet: its port is for the new version.
    if (green_client_ && green_client_->ready().ready) {
      p.problems.push_back("something already answers on the new release's URL " + new_url());
    }
    // The command's program must exist.
    std::istringstream words(o_.new_cmd);
    std::string program;
    words >> program;
    if (program.empty()) {
      p.problems.push_back("--new-cmd is empty");
    } else if (program.find('/') != std::string::npos && ::access(program.c_str(), X_OK) != 0) {
      p.problems.push_back("green's program " + program + " is missing or not executable");
    }
    auto routed = haproxy_.routed_colour();
    if (!routed) {
      p.problems.push_back("load balancer: " + routed.error().message);
    } else if (*routed != physical(Colour::kBlue)) {
      p.problems.push_back("the traffic is not on the running release's colour " +
                           std::string(deploy::to_string(physical(Colour::kBlue))) +
                           " now (HAProxy routes " + std::string(deploy::to_string(*routed)) + ")");
    }
    const auto capacity = check_capacity(p.problems);
    const auto compatibility = check_compatibility(p.problems);
    nlohmann::json j = {
        {"problems", p.problems}, {"capacity", capacity}, {"compatibility", compatibility}};
    record("deploy.preflight", j);
    for (const auto& problem : p.problems) out_ << "  pre-flight: " << problem << "\n";
    return p;
  }

  // The stateful venue's cutover to `to` (logical colour), before the balancer moves: the other
  // colour hands over (seals the journal, logs the sessions out, follows), `to` takes over. When
  // `to` already is the primary (the handover never happened) only the balancer moves. A
  // takeover that fails gives the leadership back to the colour that handed over.
  core::Result<void> hand_over(Colour to) {
    const Colour from = to == Colour::kGreen ? Colour::kBlue : Colour::kGreen;
    const auto url = [&](Colour c) { return c == Colour::kGreen ? new_url() : old_url(); };
    auto to_client = controller::GuardrailClient::make(to, url(to), o_.app);
    auto from_client = controller::GuardrailClient::make(from, url(from), o_.app);
    if (!to_client || !from_client) {
      return core::fail(
          1, "bad URL: " + (to_client ? from_client.error().message : to_client.error().message));
    }
    constexpr auto kTimeout = std::chrono::milliseconds(30'000);
    const auto state = to_client->call("GET", "/admin/v1/state", o_.admin_token, "", kTimeout);
    if (state && state->find(R"("role":"primary")") != std::string::npos) {
      record("deploy.handover", {{"from", std::string(deploy::to_string(physical(from)))},
                                 {"to", std::string(deploy::to_string(physical(to)))},
                                 {"skipped", "already the primary"}});
      return {};
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto ms_since = [&](std::chrono::steady_clock::time_point t) {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t)
          .count();
    };
    // The venue records every cutover with who asked and why (its admin log).
    const std::string reason =
        fmt::format("guardctl deploy of {} revision {} by {}: {} -> {}", o_.app, o_.revision,
                    o_.who.empty() ? "?" : o_.who, deploy::to_string(physical(from)),
                    deploy::to_string(physical(to)));
    const std::string with_reason = nlohmann::json{{"reason", reason}}.dump();
    const std::string takeover_body = nlohmann::json{{"wait_ms", 10000}, {"reason", reason}}.dump();
    auto sealed =
        from_client->call("POST", "/admin/v1/handover", o_.admin_token, with_reason, kTimeout);
    const double handover_ms = ms_since(t0);
    if (!sealed) {
      record("deploy.handover", {{"from", std::string(deploy::to_string(physical(from)))},
                                 {"to", std::string(deploy::to_string(physical(to)))},
                                 {"ok", false},
                                 {"error", sealed.error().message}});
      return core::fail(1, "handover refused: " + sealed.error().message);
    }
    auto taken =
        to_client->call("POST", "/admin/v1/takeover", o_.admin_token, takeover_body, kTimeout);
    const double gap_ms = ms_since(t0);
    nlohmann::json evidence = {{"from", std::string(deploy::to_string(physical(from)))},
                               {"to", std::string(deploy::to_string(physical(to)))},
                               {"ok", static_cast<bool>(taken)},
                               {"handover", nlohmann::json::parse(*sealed, nullptr, false)},
                               {"handover_ms", handover_ms},
                               {"no_accept_gap_ms", gap_ms}};
    if (taken) {
      evidence["takeover"] = nlohmann::json::parse(*taken, nullptr, false);
      record("deploy.handover", evidence);
      out_ << fmt::format("  handover {} -> {}: no venue accepted orders for {:.0f} ms\n",
                          deploy::to_string(physical(from)), deploy::to_string(physical(to)),
                          gap_ms);
      handover_gaps_ms_.push_back(gap_ms);
      return {};
    }
    evidence["error"] = taken.error().message;
    auto back =
        from_client->call("POST", "/admin/v1/takeover", o_.admin_token, takeover_body, kTimeout);
    evidence["given_back"] = static_cast<bool>(back);
    if (!back) evidence["give_back_error"] = back.error().message;
    record("deploy.handover", evidence);
    return core::fail(1, "takeover failed (" + taken.error().message + "); the leadership went " +
                             (back ? "back" : "NOWHERE: " + back.error().message));
  }

  // Tells the guardrail of `to` (logical colour) what the controller did; recorded either way.
  void report(Colour to, const std::string& event, const std::string& detail) {
    if (o_.controller_token.empty()) return;
    const std::string url = to == Colour::kGreen ? new_url() : old_url();
    auto client = controller::GuardrailClient::make(to, url, o_.app);
    const std::string problem =
        client ? client->report(o_.controller_token, o_.dir, event, detail, o_.who)
               : client.error().message;
    record("deploy.report", {{"colour", std::string(deploy::to_string(physical(to)))},
                             {"event", event},
                             {"detail", detail},
                             {"recorded", problem.empty()},
                             {"error", problem}});
    if (!problem.empty()) {
      out_ << "  report '" << event << "' to " << url << " not recorded: " << problem << "\n";
    }
  }

  // Pre-flight capacity: room for a second copy beside the running one, and disk for the
  // evidence. Appends problems; returns the figures for the record.
  nlohmann::json check_capacity(std::vector<std::string>& problems) {
    nlohmann::json figures;
    std::int64_t available_kb = -1, blue_kb = 0;
    {
      std::ifstream meminfo("/proc/meminfo");
      std::string key;
      std::int64_t value = 0;
      std::string unit;
      while (meminfo >> key >> value >> unit) {
        if (key == "MemAvailable:") available_kb = value;
      }
    }
    if (!o_.old_pid_file.empty()) {
      if (auto pid = controller::running_pid(o_.old_pid_file)) {
        std::ifstream status("/proc/" + std::to_string(*pid) + "/status");
        std::string line;
        while (std::getline(status, line)) {
          if (line.rfind("VmRSS:", 0) == 0) blue_kb = std::strtoll(line.c_str() + 6, nullptr, 10);
        }
      }
    }
    figures["memory_available_mb"] = available_kb / 1024;
    figures["running_release_rss_mb"] = blue_kb / 1024;
    const std::int64_t needed_kb = blue_kb + o_.min_free_mb * 1024;
    if (available_kb >= 0 && available_kb < needed_kb) {
      problems.push_back(fmt::format(
          "not enough memory for the new release beside the running one: {} MB available, "
          "{} MB needed (the running release's {} MB + --min-free-mb {})",
          available_kb / 1024, needed_kb / 1024, blue_kb / 1024, o_.min_free_mb));
    }
    std::error_code ec;
    const auto space = std::filesystem::space(o_.dir, ec);
    if (!ec) {
      figures["disk_free_mb"] = space.available / (1024 * 1024);
      if (space.available < 64ULL * 1024 * 1024) {
        problems.push_back(fmt::format("only {} MB free on the disk of {} (64 MB needed)",
                                       space.available / (1024 * 1024), o_.dir));
      }
    }
    return figures;
  }

  // Pre-flight compatibility: --compat-cmd's exit status and output.
  nlohmann::json check_compatibility(std::vector<std::string>& problems) {
    if (o_.compat_cmd.empty()) return {{"checked", false}};
    const std::string out_file = o_.dir + "/compat.out";
    const std::string cmd = "(" + o_.compat_cmd + ") >'" + out_file + "' 2>&1";
    const int status = std::system(cmd.c_str());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    std::ifstream in(out_file);
    std::string output, line, last;
    while (std::getline(in, line)) {
      output += line + "\n";
      if (!line.empty()) last = line;
    }
    if (code != 0) {
      problems.push_back("the new release is not compatible with the running one (" +
                         o_.compat_cmd + " exited " + std::to_string(code) +
                         (last.empty() ? "" : ": " + last) + ")");
    }
    return {{"checked", true},
            {"command", o_.compat_cmd},
            {"exit_code", code},
            {"output", output.substr(0, 4096)}};
  }

  controller::GuardrailClient& green() { return *green_client_; }

  // The workflow speaks of green (the new release) and blue (the running one); the servers are
  // whichever colour --colour gave the new release.
  Colour physical(Colour logical) const {
    return logical == Colour::kGreen
               ? o_.new_colour
               : (o_.new_colour == Colour::kGreen ? Colour::kBlue : Colour::kGreen);
  }
  std::string new_url() const {
    return o_.new_colour == Colour::kGreen ? o_.green_url : o_.blue_url;
  }
  std::string old_url() const {
    return o_.new_colour == Colour::kGreen ? o_.blue_url : o_.green_url;
  }
  std::string new_file(const char* suffix) const {
    return o_.dir + "/" + std::string(deploy::to_string(o_.new_colour)) + suffix;
  }

  // One point of the timeline: green's verdict and latency SLO value at a verdict read.
  void timeline_point(const deploy::VerdictRead& v) {
    Point p;
    p.at = now_ns();
    p.verdict = !v.verdict                             ? -0.25
                : *v.verdict == slo::Verdict::kPromote ? 1.0
                : *v.verdict == slo::Verdict::kHold    ? 0.5
                                                       : 0.0;
    const auto doc = nlohmann::json::parse(green().last_status_body(), nullptr, false);
    if (!doc.is_discarded() && doc.contains("data") && doc["data"].contains("slos") &&
        doc["data"]["slos"].is_array()) {
      for (const auto& slo : doc["data"]["slos"]) {
        if (slo.is_object() && slo.value("name", "").find("latency") != std::string::npos &&
            slo.contains("value") && slo["value"].is_number()) {
          p.latency_ms = slo["value"].get<double>() * 1000.0;
        }
      }
    }
    points_.push_back(p);
  }

  // DIR/timeline.dat and, with gnuplot, DIR/timeline.png: green's verdict, its latency SLO
  // value and which colour holds the traffic over the deployment. Returns the files written.
  std::vector<std::string> write_timeline() {
    if (points_.empty()) return {};
    const core::Nanos t0 = points_.front().at;
    std::ofstream dat(o_.dir + "/timeline.dat");
    dat << "# seconds  green_verdict(1 promote, .5 hold, 0 rollback, -.25 unreadable)  "
           "green_latency_ms  traffic(1 green, 0 blue)\n";
    // One row per verdict read and one per switch (the traffic line steps where it moved).
    std::vector<Point> rows = points_;
    for (const auto& [at, to] : switches_) {
      Point p;
      p.at = at;
      p.verdict = std::numeric_limits<double>::quiet_NaN();
      rows.push_back(p);
    }
    std::sort(rows.begin(), rows.end(), [](const Point& a, const Point& b) { return a.at < b.at; });
    const core::Nanos start = std::min(t0, rows.front().at);
    for (const auto& p : rows) {
      Colour traffic = Colour::kBlue;
      for (const auto& [at, to] : switches_) {
        if (at <= p.at) traffic = to;
      }
      dat << fmt::format("{:.3f} {} {} {}\n", static_cast<double>(p.at - start) / 1e9,
                         std::isnan(p.verdict) ? "NaN" : fmt::format("{:.2f}", p.verdict),
                         p.latency_ms ? fmt::format("{:.3f}", *p.latency_ms) : "NaN",
                         traffic == Colour::kGreen ? 1 : 0);
    }
    dat.close();
    std::vector<std::string> files{"timeline.dat"};
    std::ofstream gp(o_.dir + "/timeline.gp");
    gp << "set terminal png size 900,420\nset output '" << o_.dir << "/timeline.png'\n"
       << "set title '" << o_.app << ": " << deploy::to_string(workflow_.outcome())
       << "'\nset xlabel 'seconds'\nset ylabel 'verdict / traffic'\nset yrange [-0.4:1.2]\n"
       << "set y2label 'green latency SLO value (ms)'\nset y2tics\nset ytics nomirror\n"
       << "set key outside bottom center horizontal\n"
       << "plot '" << o_.dir
       << "/timeline.dat' using 1:4 with steps lw 3 title 'traffic on green', "
       << "'' using 1:2 with linespoints pt 7 title 'green verdict (1 promote, .5 hold, 0 "
          "rollback)', "
       << "'' using 1:3 axes x1y2 with lines title 'green latency (ms)'\n";
    gp.close();
    const std::string cmd = "gnuplot '" + o_.dir + "/timeline.gp' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0 && std::filesystem::exists(o_.dir + "/timeline.png")) {
      files.push_back("timeline.png");
    }
    return files;
  }

  // The outcome joins the node-exporter textfile (DeploymentMetrics says why a textfile):
  // read, add, write to a temporary file and rename (the collector never sees half a file).
  void write_metrics_file(deploy::Outcome outcome, nlohmann::json& summary) {
    deploy::DeploymentRecord r;
    r.app = o_.app;
    r.outcome = std::string(deploy::to_string(outcome));
    r.risk_class = risk_class_.empty() ? "unknown" : risk_class_;
    const bool new_serves = workflow_.traffic() == Colour::kGreen;
    const Colour other = o_.new_colour == Colour::kGreen ? Colour::kBlue : Colour::kGreen;
    r.serving_colour = std::string(deploy::to_string(new_serves ? o_.new_colour : other));
    r.serving_version = new_serves ? o_.green_version : o_.blue_version;
    r.finished_at_seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (const auto decided =
            workflow_.rollback_started() ? workflow_.rollback_started() : rollback_decided_) {
      // Detect: from the new release's first user traffic (or, rolled back before promotion,
      // the start of its analysis) to the rollback decision.
      std::optional<core::Nanos> exposed;
      for (const auto& [at, to] : switches_) {
        if (to == Colour::kGreen && at <= *decided) {
          exposed = at;
          break;
        }
      }
      if (!exposed) exposed = analysis_started_;
      if (exposed) r.detect_seconds = static_cast<double>(*decided - *exposed) / 1e9;
      // Recover: the decision to the users' traffic back (only when users had the new one).
      if (summary.contains("rollback_switch_ms")) {
        r.recover_seconds = summary["rollback_switch_ms"].get<double>() / 1e3;
      }
    }
    if (r.detect_seconds) summary["detect_s"] = *r.detect_seconds;
    if (o_.metrics_file.empty()) return;
    std::string previous;
    if (std::ifstream in(o_.metrics_file); in) {
      previous.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto metrics = deploy::DeploymentMetrics::parse(previous);
    metrics.add(r);
    const std::string tmp = o_.metrics_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << metrics.render();
      if (!out.flush()) {
        err_ << "guardctl deploy: cannot write " << tmp << "\n";
        return;
      }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, o_.metrics_file, ec);
    if (ec)
      err_ << "guardctl deploy: cannot write " << o_.metrics_file << ": " << ec.message() << "\n";
  }
  std::string risk_class_;
  std::optional<core::Nanos> analysis_started_, rollback_decided_;

  struct Point {
    core::Nanos at = 0;
    double verdict = 0;
    std::optional<double> latency_ms;
  };
  std::vector<Point> points_;
  std::vector<std::pair<core::Nanos, Colour>> switches_;

  int finish() {
    update_smoke();  // never left running
    const auto outcome = workflow_.outcome();
    nlohmann::json summary = {{"app", o_.app},
                              {"outcome", std::string(deploy::to_string(outcome))},
                              {"exit_code", deploy::exit_code(outcome)},
                              {"traffic", std::string(deploy::to_string(workflow_.traffic()))},
                              {"reason", workflow_.reason()},
                              {"evidence", o_.dir + "/deployment.jsonl"},
                              {"evidence_entries", log_ ? log_->entries() : 0}};
    // From the rollback decision to the traffic back on blue.
    if (const auto started = workflow_.rollback_started()) {
      for (const auto& [at, to] : switches_) {
        if (to == Colour::kBlue && at >= *started) {
          summary["rollback_switch_ms"] = static_cast<double>(at - *started) / 1e6;
          break;
        }
      }
    }
    if (o_.handover) summary["handover_gaps_ms"] = handover_gaps_ms_;
    write_metrics_file(outcome, summary);
    const char* event = outcome == deploy::Outcome::kPromoted ? "promoted"
                        : outcome == deploy::Outcome::kRolledBackPrePromotion ||
                                outcome == deploy::Outcome::kRolledBackPostPromotion
                            ? "rolled_back"
                            : "aborted";
    report(workflow_.traffic(), event,
           std::string(deploy::to_string(outcome)) + ": " + workflow_.reason());
    auto files = write_timeline();
    summary["timeline"] = files;
    record("deploy.finish", summary);
    std::ofstream(o_.dir + "/summary.json") << summary.dump(2) << "\n";
    files.push_back("summary.json");
    out_ << "deployment " << deploy::to_string(outcome) << ": " << workflow_.reason() << "\n";
    // Seal the bundle: the log, the summary and the timeline, signed.
    auto seed = evidence::load_or_create_seed(o_.signing_key);
    auto sealed = seed ? evidence::seal_bundle(o_.dir, "deployment.jsonl", files, *seed, now_ns())
                       : core::Result<void>(core::fail(seed.error()));
    if (!sealed) {
      err_ << "guardctl deploy: the evidence bundle is not sealed: " << sealed.error().message
           << "\n";
      return kExitUnreachable;
    }
    out_ << "evidence sealed: " << o_.dir << " (guardctl evidence verify " << o_.dir
         << "), signed by " << evidence::public_key_of(*seed).value_or("?") << "\n";
    return deploy::exit_code(outcome);
  }

 public:
  void make_green_client() {
    auto g = controller::GuardrailClient::make(Colour::kGreen, new_url(), o_.app);
    if (g) {
      green_client_.emplace(std::move(*g));
    } else {
      green_error_ = g.error().message;
    }
  }

 private:
  Options o_;
  std::ostream& out_;
  std::ostream& err_;
  controller::HaproxySwitch haproxy_;
  deploy::Workflow workflow_;
  std::optional<controller::GuardrailClient> green_client_;
  std::vector<double> handover_gaps_ms_;  // venue cutovers of this deployment
  std::string green_error_;
  std::unique_ptr<evidence::EvidenceLog> log_;
  int lock_fd_ = -1;
};

}  // namespace

int cmd_deploy(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      out << kDeployHelp;
      return kExitPromote;
    }
  }
  Options o;
  std::string token_file, admin_token_file;
  const auto usage = [&err](const std::string& msg) {
    err << "guardctl deploy: " << msg << " (see --help)\n";
    return kExitUsage;
  };
  const std::map<std::string, std::string*> strings{{"--app", &o.app},
                                                    {"--dir", &o.dir},
                                                    {"--blue-url", &o.blue_url},
                                                    {"--green-url", &o.green_url},
                                                    {"--new-cmd", &o.new_cmd},
                                                    {"--green-cmd", &o.new_cmd},
                                                    {"--old-pid-file", &o.old_pid_file},
                                                    {"--blue-pid-file", &o.old_pid_file},
                                                    {"--haproxy-socket", &o.haproxy_socket},
                                                    {"--who", &o.who},
                                                    {"--approve", &o.approver},
                                                    {"--revision", &o.revision},
                                                    {"--blue-version", &o.blue_version},
                                                    {"--green-version", &o.green_version},
                                                    {"--signing-key", &o.signing_key},
                                                    {"--smoke-cmd", &o.smoke_cmd},
                                                    {"--compat-cmd", &o.compat_cmd},
                                                    {"--metrics-file", &o.metrics_file},
                                                    {"--controller-token-file", &token_file},
                                                    {"--admin-token-file", &admin_token_file}};
  const std::map<std::string, core::Nanos*> seconds{
      {"--ready-timeout-s", &o.timing.ready_timeout},
      {"--hold-limit-s", &o.timing.hold_limit},
      {"--post-window-s", &o.timing.post_promotion_window},
      {"--scale-down-s", &o.timing.scale_down_delay}};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--schema-migration") {
      o.risk_flags.push_back(a);
      continue;
    }
    if (a == "--handover") {
      o.handover = true;
      continue;
    }
    if (!has_value) return usage("unexpected argument '" + a + "' or a missing value");
    const std::string& v = args[++i];
    if (auto s = strings.find(a); s != strings.end()) {
      *s->second = v;
    } else if (a == "--colour") {
      if (v != "blue" && v != "green") return usage("--colour must be blue or green");
      o.new_colour = v == "blue" ? Colour::kBlue : Colour::kGreen;
    } else if (a == "--backend") {
      o.backends = split_commas(v);
    } else if (a == "--env" || a == "--touches" || a == "--rolled-back" || a == "--at" ||
               a == "--tz" || a == "--hours" || a == "--holiday") {
      o.risk_flags.push_back(a);
      o.risk_flags.push_back(v);
    } else {
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < 0 || n > 86'400'000) {
        return usage(a + " needs a whole number, got '" + v + "'");
      }
      if (auto sec = seconds.find(a); sec != seconds.end()) {
        *sec->second = n * core::kNanosPerSecond;
      } else if (a == "--poll-ms") {
        if (n < 10) return usage("--poll-ms must be at least 10");
        o.timing.poll_interval = n * core::kNanosPerMilli;
      } else if (a == "--max-errors") {
        if (n < 1) return usage("--max-errors must be at least 1");
        o.timing.max_consecutive_errors = static_cast<std::uint32_t>(n);
      } else if (a == "--stop-grace-s") {
        o.stop_grace = std::chrono::milliseconds(n * 1000);
      } else if (a == "--min-free-mb") {
        o.min_free_mb = n;
      } else {
        return usage("unexpected argument '" + a + "'");
      }
    }
  }
  for (const auto& [name, value] :
       {std::pair{"--app", o.app}, std::pair{"--dir", o.dir}, std::pair{"--blue-url", o.blue_url},
        std::pair{"--green-url", o.green_url}, std::pair{"--new-cmd", o.new_cmd},
        std::pair{"--haproxy-socket", o.haproxy_socket}, std::pair{"--who", o.who}}) {
    if (value.empty()) return usage(std::string(name) + " is required");
  }
  if (o.backends.empty()) return usage("--backend is required");
  if (o.signing_key.empty()) {
    const char* home = std::getenv("HOME");
    const std::string base =
        std::string(home != nullptr && *home != '\0' ? home : "/tmp") + "/.guardctl";
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    o.signing_key = base + "/signing.key";
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, o.controller_token) || o.controller_token.empty()) {
      return usage("--controller-token-file " + token_file + " cannot be read or is empty");
    }
  } else if (const char* t = std::getenv("GUARDCTL_CONTROLLER_TOKEN"); t != nullptr) {
    o.controller_token = t;
  }
  if (!admin_token_file.empty()) {
    std::ifstream in(admin_token_file);
    if (!in || !std::getline(in, o.admin_token) || o.admin_token.empty()) {
      return usage("--admin-token-file " + admin_token_file + " cannot be read or is empty");
    }
  } else if (const char* t = std::getenv("GUARDCTL_ADMIN_TOKEN"); t != nullptr) {
    o.admin_token = t;
  }
  if (o.handover && o.admin_token.empty()) {
    return usage(
        "--handover needs the venue's admin token (--admin-token-file or "
        "GUARDCTL_ADMIN_TOKEN)");
  }
  bool env = false;
  for (const auto& f : o.risk_flags) env = env || f == "--env";
  if (!env) return usage("--env is required (the risk assessment needs it)");

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  g_signal.store(0);
  Deployment d(std::move(o), out, err);
  d.make_green_client();
  return d.run();
}

}  // namespace guardrails::cli
