#include "sox_report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "admin_controls.hpp"
#include "guardrails/evidence/bundle.hpp"
#include "guardrails/evidence/evidence_log.hpp"
#include "http/message.hpp"
#include "trading/journal/checkpoint.hpp"
#include "trading/journal/reader.hpp"
#include "trading/journal/snapshot.hpp"
#include "trading/journal/verify.hpp"

namespace trading::app {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// "2026-12-01" (00:00 UTC) or "2026-12-01T13:45:00Z": nanoseconds since the epoch.
std::optional<core::Nanos> parse_time(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &y, &mo, &d, &h, &mi, &s, &tail) ==
      6) {
  } else if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3) {
    h = mi = s = 0;
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const std::time_t t = ::timegm(&tm);
  return static_cast<core::Nanos>(t) * core::kNanosPerSecond;
}

std::string iso(core::Nanos ns) {
  char out[32];
  core::format_utc_iso8601(ns, out);
  return out;
}

// --name VALUE pairs (each name one of `allowed`) and the other arguments; "" or what is wrong.
std::string parse_flags(int argc, char** argv, int first,
                        std::initializer_list<std::string_view> allowed,
                        std::map<std::string, std::string>& flags,
                        std::vector<std::string>& positional) {
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    const std::string name = arg.substr(2);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return "unknown option " + arg;
    }
    if (i + 1 >= argc) return arg + " needs a value";
    flags[name] = argv[++i];
  }
  return {};
}

// The public key checkpoints and seals are checked with: --public-key, or --signing-key's.
std::optional<std::string> trusted_key(std::map<std::string, std::string>& flags,
                                       std::string& error) {
  if (!flags["public-key"].empty()) {
    if (!journal::is_public_key_hex(flags["public-key"])) {
      error = "--public-key must be an Ed25519 public key in hex (64 hex digits)";
      return std::nullopt;
    }
    return flags["public-key"];
  }
  if (flags["signing-key"].empty()) return std::nullopt;
  if (!fs::exists(flags["signing-key"])) {
    error = "--signing-key " + flags["signing-key"] + " does not exist";
    return std::nullopt;
  }
  auto seed = guardrails::evidence::load_or_create_seed(flags["signing-key"]);
  auto key = seed ? guardrails::evidence::public_key_of(*seed) : core::Result<std::string>(seed);
  if (!key) {
    error = key.error().message;
    return std::nullopt;
  }
  return *key;
}

struct Control {
  std::string id;
  std::string name;
  std::string checks;
  bool pass = false;
  std::string finding;  // one line
  json evidence;
};

// The admin log's entries (verified), as written.
struct AdminLog {
  guardrails::evidence::VerifyReport verified;
  std::vector<json> entries;
};

AdminLog read_admin_log(const std::string& path) {
  AdminLog log;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    log.verified.ok = false;
    log.verified.problem = "no admin log at " + path;
    return log;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  log.verified = guardrails::evidence::verify_content(text, 0, guardrails::evidence::kGenesisHash,
                                                      &log.entries);
  return log;
}

core::Nanos time_of(const json& entry) {
  const auto& d = entry.contains("data") ? entry["data"] : entry;
  return d.value("time_ns", core::Nanos{0});
}

std::string csv_field(std::string text) {
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string html_report(const json& report) {
  std::string rows;
  for (const auto& c : report["controls"]) {
    rows += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td><b>{}</b><br><small>{}</small></td><td>{}</td><td>{}</td>"
        "<td><details><summary>evidence</summary><pre>{}</pre></details></td></tr>\n",
        c["pass"].get<bool>() ? "pass" : "fail", http::html_escape(c["id"].get<std::string>()),
        http::html_escape(c["name"].get<std::string>()),
        http::html_escape(c["checks"].get<std::string>()), c["pass"].get<bool>() ? "PASS" : "FAIL",
        http::html_escape(c["finding"].get<std::string>()),
        http::html_escape(c["evidence"].dump(2)));
  }
  return fmt::format(R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SOX control report: trading venue</title>
<style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #999; padding: 6px; vertical-align: top; text-align: left; }}
tr.pass td:nth-child(3) {{ color: #05660f; font-weight: bold; }}
tr.fail td:nth-child(3) {{ color: #a30000; font-weight: bold; }}
pre {{ white-space: pre-wrap; font-size: 11px; }}
@media print {{ details {{ display: block; }} details > summary {{ display: none; }} }}
</style></head><body>
<h1>SOX control report: trading venue</h1>
<p>Period {} to {} &middot; generated {} &middot; journal {} &middot; {} of {} controls passed</p>
<table><thead><tr><th>Id</th><th>Control</th><th>Result</th><th>Finding</th><th>Evidence</th></tr></thead>
<tbody>
{}</tbody></table>
<p><small>Each control is tested from the records alone: the journal (hash chain, signed
checkpoints), its start records and the hash-chained admin log. Sign-off:
______________________ (reviewer) &nbsp; ______________ (date)</small></p>
</body></html>
)",
                     http::html_escape(report["from"].get<std::string>()),
                     http::html_escape(report["to"].get<std::string>()),
                     http::html_escape(report["generated"].get<std::string>()),
                     http::html_escape(report["journal"].get<std::string>()),
                     report["passed"].get<int>(), report["controls"].size(), rows);
}

int report_sox(int argc, char** argv) {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
  if (const auto bad = parse_flags(
          argc, argv, 3, {"journal", "from", "to", "out", "public-key", "signing-key", "admin-log"},
          flags, positional);
      !bad.empty()) {
    std::fprintf(stderr, "trading-engine: %s\n", bad.c_str());
    return 2;
  }
  const auto from = parse_time(flags["from"]);
  const auto to = parse_time(flags["to"]);
  const std::string journal_dir = flags["journal"];
  const std::string out_dir = flags["out"];
  if (!from || !to || journal_dir.empty() || out_dir.empty() || !positional.empty() ||
      *from >= *to) {
    std::fputs(
        "usage: trading-engine report sox --journal DIR --from DATE --to DATE --out DIR\n"
        "       [--public-key HEX | --signing-key FILE] [--admin-log FILE]\n"
        "DATE: 2026-12-01 (00:00 UTC) or 2026-12-01T13:45:00Z; --from before --to\n",
        stderr);
    return 2;
  }
  if (!fs::is_directory(journal_dir)) {
    std::fprintf(stderr, "trading-engine: %s is not a directory\n", journal_dir.c_str());
    return 2;
  }
  std::string key_error;
  const auto key = trusted_key(flags, key_error);
  if (!key_error.empty()) {
    std::fprintf(stderr, "trading-engine: %s\n", key_error.c_str());
    return 2;
  }
  const std::string admin_path =
      flags["admin-log"].empty() ? journal_dir + "/" + kAdminLogFileName : flags["admin-log"];
  const auto in_period = [&](core::Nanos t) { return t >= *from && t < *to; };
  std::vector<Control> controls;

  // The admin log, and the registry it folds into.
  const AdminLog log = read_admin_log(admin_path);
  controls::AdminRegistry registry;
  for (const auto& e : log.entries) registry.apply(e);

  // JI-1: the trade record.
  journal::VerifyOptions vo;
  vo.trusted_public_key = key;
  const auto verified = journal::verify_journal(journal_dir, vo);
  {
    Control c{"SOX-JI-1",
              "Trade record integrity",
              "The journal's hash chain is unbroken, every segment anchors on the one before, "
              "signed checkpoints (Ed25519, pinned key) match the chain, nothing was cut off "
              "the end.",
              false,
              "",
              json::parse(journal::to_json(verified))};
    c.pass = verified.ok && verified.key_pinned && verified.checkpoints > 0;
    c.finding =
        !verified.ok ? verified.problem
        : !verified.key_pinned
            ? "checkpoints not checked against a pinned key (--public-key/--signing-key)"
        : verified.checkpoints == 0
            ? "no signed checkpoints (journal.signing_key unset)"
            : fmt::format(
                  "{} records, chain head {}, {} "
                  "checkpoints, last at sequence {}",
                  verified.records, journal::to_hex(verified.chain_head), verified.checkpoints,
                  verified.last_checkpoint ? verified.last_checkpoint->sequence : 0);
    controls.push_back(std::move(c));
  }
  // CM-1: which builds handled which trades.
  {
    json starts = json::array();
    bool all_named = true;
    std::size_t with_evidence = 0;
    for (const auto& s : verified.starts) {
      if (!in_period(s.time_ns)) continue;
      starts.push_back(
          {{"sequence", s.sequence}, {"time", iso(s.time_ns)}, {"build", s.annotation}});
      all_named = all_named && s.annotation.find("build=") != std::string::npos &&
                  s.annotation.find("config=") != std::string::npos;
      with_evidence += s.annotation.find("evidence=") != std::string::npos &&
                       s.annotation.substr(s.annotation.find("evidence=") + 9).size() > 0;
    }
    Control c{"SOX-CM-1",
              "Change management: builds of record",
              "Every start of the venue in the period wrote its build, its configuration digest "
              "and the deployment evidence bundle that started it into the journal.",
              all_named,
              "",
              {{"starts", starts}, {"with_deployment_evidence", with_evidence}}};
    c.finding = fmt::format("{} starts in the period, {} name their deployment evidence",
                            starts.size(), with_evidence);
    if (!all_named) c.finding = "a start record without a build or configuration digest";
    controls.push_back(std::move(c));
  }
  // AL-1: the admin log itself.
  controls.push_back(Control{
      "SOX-AL-1",
      "Admin log integrity",
      "The admin log (identities, proposals, approvals, changes, refusals) is an unbroken hash "
      "chain.",
      log.verified.ok,
      log.verified.ok
          ? fmt::format("{} entries, last hash {}", log.verified.entries, log.verified.last_hash)
          : fmt::format("broken at entry {}: {}", log.verified.first_bad_entry,
                        log.verified.problem),
      {{"entries", log.verified.entries}, {"last_hash", log.verified.last_hash}}});

  // AC-1..3 and MC-1: from the admin log in the period.
  json users = json::array(), changes = json::array(), refusals = json::array(),
       glass = json::array(), approvals = json::array(), reconciliations = json::array();
  std::size_t unnamed_changes = 0, refused_decisions = 0;
  for (const auto& e : log.entries) {
    const std::string type = e.value("type", "");
    const json& d = e["data"];
    if (type == "user_created" || type == "user_revoked") {
      if (in_period(time_of(e))) {
        users.push_back({{"event", type},
                         {"user", d.value("user", "")},
                         {"role", d.value("role", "")},
                         {"by", d.value("by", "")},
                         {"reason", d.value("reason", "")},
                         {"time", iso(time_of(e))}});
      }
      continue;
    }
    if (!in_period(time_of(e))) continue;
    if (type == "admin_call") {
      const std::string outcome = d.value("outcome", "");
      json row = {{"time", iso(time_of(e))},
                  {"actor", d.value("actor", "")},
                  {"role", d.value("role", "")},
                  {"what", d.value("what", "")},
                  {"reason", d.value("reason", "")},
                  {"status", d.value("status", 0)},
                  {"outcome", outcome},
                  {"detail", d.value("detail", "")}};
      if (d.value("actor", "") == "break-glass") glass.push_back(row);
      if (outcome == "refused") {
        refusals.push_back(row);
        const std::string what = d.value("what", "");
        if (what.rfind("approve ", 0) == 0 || what.rfind("reject ", 0) == 0) ++refused_decisions;
      } else if (d.value("detail", "") != "read") {
        changes.push_back(row);
        if (d.value("actor", "").empty() || d.value("reason", "").size() < 3) ++unnamed_changes;
      }
    } else if (type == "reconciliation") {
      reconciliations.push_back({{"time", iso(time_of(e))},
                                 {"by", d.value("by", "")},
                                 {"when", d.value("when", "")},
                                 {"ok", d.value("ok", false)},
                                 {"sequence", d.value("sequence", 0)},
                                 {"trades", d.value("trades", 0)},
                                 {"breaks", d.value("breaks", 0)}});
    }
  }
  std::size_t proposals_in_period = 0, bad_approvals = 0;
  for (const auto& p : registry.proposals()) {
    if (!in_period(p.created_ns) && !in_period(p.decided_ns)) continue;
    ++proposals_in_period;
    if (p.status == controls::ProposalStatus::kPending) continue;
    const bool second_person = p.decided_by != p.proposer && !p.decided_by.empty();
    const bool right_role = p.status == controls::ProposalStatus::kRejected ||
                            controls::may_approve(p.decided_role, p.change);
    if (!second_person || !right_role) ++bad_approvals;
    approvals.push_back({{"id", p.id},
                         {"change", controls::to_string(p.change)},
                         {"params", p.params},
                         {"proposer", p.proposer},
                         {"proposer_role", controls::to_string(p.proposer_role)},
                         {"reason", p.reason},
                         {"decided_by", p.decided_by},
                         {"decided_role", controls::to_string(p.decided_role)},
                         {"decision_reason", p.decision_reason},
                         {"status", controls::to_string(p.status)},
                         {"proposed", iso(p.created_ns)},
                         {"decided", iso(p.decided_ns)}});
  }
  std::size_t active = 0;
  for (const auto& [name, u] : registry.users()) active += u.revoked ? 0 : 1;
  controls.push_back(Control{
      "SOX-AC-1",
      "Named identities",
      "People act under their own identity with a role; tokens are kept only as hashes; users are "
      "created and revoked by someone named, for a stated reason.",
      active > 0,
      fmt::format("{} active users, {} user changes in the period", active, users.size()),
      {{"user_changes", users}, {"active_users", active}}});
  controls.push_back(Control{
      "SOX-AC-2",
      "Break-glass use",
      "The shared break-glass token was not used in the period (each use is an exception to "
      "review).",
      glass.empty(),
      fmt::format("{} uses of the break-glass token", glass.size()),
      {{"uses", glass}}});
  controls.push_back(Control{
      "SOX-AC-3",
      "Changes carry an identity and a reason; refusals are recorded",
      "Every change in the admin log names who made it and why; refused calls are recorded.",
      unnamed_changes == 0,
      fmt::format("{} changes ({} without identity or reason), {} refusals", changes.size(),
                  unnamed_changes, refusals.size()),
      {{"changes", changes}, {"refusals", refusals}}});
  controls.push_back(Control{
      "SOX-MC-1",
      "Maker-checker on money and risk changes",
      "Limit changes, kill-switch releases and resumes were proposed by one person and decided "
      "by a different one with a role allowed to approve them.",
      bad_approvals == 0,
      fmt::format("{} proposals, {} decided by a second person with the right role; {} "
                  "refused decisions (self-approval, wrong role, expired, replayed)",
                  proposals_in_period, approvals.size() - bad_approvals, refused_decisions),
      {{"decisions", approvals}}});
  bool all_ok = !reconciliations.empty();
  for (const auto& r : reconciliations) all_ok = all_ok && r["ok"].get<bool>();
  controls.push_back(Control{
      "SOX-RC-1",
      "Reconciliation",
      "Positions, cash and executions rebuilt from the journal were reconciled with the venue's "
      "at least once in the period, and every reconciliation came out without a break.",
      all_ok,
      reconciliations.empty() ? "no reconciliation in the period"
                              : fmt::format("{} reconciliations, {}", reconciliations.size(),
                                            all_ok ? "all without a break" : "breaks found"),
      {{"reconciliations", reconciliations}}});

  // The report.
  int passed = 0;
  json list = json::array();
  for (const auto& c : controls) {
    passed += c.pass ? 1 : 0;
    list.push_back({{"id", c.id},
                    {"name", c.name},
                    {"checks", c.checks},
                    {"pass", c.pass},
                    {"finding", c.finding},
                    {"evidence", c.evidence}});
  }
  const core::Nanos now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  const json report = {{"report", "sox"},
                       {"venue", "trading-engine"},
                       {"from", iso(*from)},
                       {"to", iso(*to)},
                       {"generated", iso(now)},
                       {"journal", journal_dir},
                       {"admin_log", admin_path},
                       {"passed", passed},
                       {"failed", static_cast<int>(controls.size()) - passed},
                       {"controls", list}};
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream out(out_dir + "/" + name, std::ios::binary | std::ios::trunc);
    out << text;
    return static_cast<bool>(out.flush());
  };
  std::string csv = "id,control,result,finding,checks\n";
  for (const auto& c : controls) {
    csv += fmt::format("{},{},{},{},{}\n", c.id, csv_field(c.name), c.pass ? "PASS" : "FAIL",
                       csv_field(c.finding), csv_field(c.checks));
  }
  if (!write("sox-report.json", report.dump(2) + "\n") || !write("sox-report.csv", csv) ||
      !write("sox-report.html", html_report(report))) {
    std::fprintf(stderr, "trading-engine: cannot write the report in %s\n", out_dir.c_str());
    return 1;
  }
  std::printf("%s\n", json{{"report", "sox"},
                           {"from", iso(*from)},
                           {"to", iso(*to)},
                           {"controls", controls.size()},
                           {"passed", passed},
                           {"failed", static_cast<int>(controls.size()) - passed},
                           {"ok", passed == static_cast<int>(controls.size())},
                           {"files",
                            {out_dir + "/sox-report.json", out_dir + "/sox-report.csv",
                             out_dir + "/sox-report.html"}}}
                          .dump()
                          .c_str());
  return passed == static_cast<int>(controls.size()) ? 0 : 1;
}

int archive_seal(int argc, char** argv) {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
  if (const auto bad = parse_flags(argc, argv, 3, {"journal", "report", "out", "signing-key"},
                                   flags, positional);
      !bad.empty()) {
    std::fprintf(stderr, "trading-engine: %s\n", bad.c_str());
    return 2;
  }
  const std::string journal_dir = flags["journal"], out = flags["out"], report = flags["report"];
  if (journal_dir.empty() || out.empty() || flags["signing-key"].empty() || !positional.empty()) {
    std::fputs(
        "usage: trading-engine archive seal --journal DIR [--report DIR] --out DIR "
        "--signing-key FILE\n",
        stderr);
    return 2;
  }
  if (!fs::is_directory(journal_dir) || fs::exists(out)) {
    std::fprintf(stderr, "trading-engine: %s must be a journal directory and %s must not exist\n",
                 journal_dir.c_str(), out.c_str());
    return 2;
  }
  auto seed = guardrails::evidence::load_or_create_seed(flags["signing-key"]);
  if (!seed) {
    std::fprintf(stderr, "trading-engine: %s\n", seed.error().message.c_str());
    return 2;
  }
  std::vector<std::string> files;
  std::error_code ec;
  fs::create_directories(out + "/journal", ec);
  const auto copy = [&](const fs::path& from, const std::string& name) {
    fs::copy_file(from, out + "/" + name, fs::copy_options::overwrite_existing, ec);
    if (!ec) files.push_back(name);
    return !ec;
  };
  for (const auto& [first, path] : journal::list_segments(journal_dir)) {
    if (!copy(path, "journal/" + fs::path(path).filename().string())) break;
  }
  if (fs::exists(journal_dir + "/" + journal::kCheckpointFileName)) {
    copy(journal_dir + "/" + journal::kCheckpointFileName,
         std::string("journal/") + journal::kCheckpointFileName);
  }
  if (!report.empty()) {
    fs::create_directories(out + "/report", ec);
    for (const char* name : {"sox-report.json", "sox-report.csv", "sox-report.html"}) {
      if (fs::exists(report + "/" + name)) copy(report + "/" + name, std::string("report/") + name);
    }
  }
  // The admin log is the bundle's chained log; an empty one when the venue never wrote one.
  const std::string admin = journal_dir + "/" + kAdminLogFileName;
  if (fs::exists(admin)) {
    fs::copy_file(admin, out + "/" + kAdminLogFileName, ec);
  } else {
    std::ofstream(out + "/" + kAdminLogFileName).flush();
  }
  if (ec) {
    std::fprintf(stderr, "trading-engine: cannot copy into %s: %s\n", out.c_str(),
                 ec.message().c_str());
    return 1;
  }
  const core::Nanos now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  if (auto sealed = guardrails::evidence::seal_bundle(out, kAdminLogFileName, files, *seed, now);
      !sealed) {
    std::fprintf(stderr, "trading-engine: %s\n", sealed.error().message.c_str());
    return 1;
  }
  std::printf("%s\n",
              json{{"archive", out}, {"files", files.size() + 1}, {"sealed", true}}.dump().c_str());
  return 0;
}

int archive_verify(int argc, char** argv) {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
  if (const auto bad = parse_flags(argc, argv, 3, {"public-key", "signing-key"}, flags, positional);
      !bad.empty()) {
    std::fprintf(stderr, "trading-engine: %s\n", bad.c_str());
    return 2;
  }
  if (positional.size() != 1) {
    std::fputs("usage: trading-engine archive verify DIR [--public-key HEX | --signing-key FILE]\n",
               stderr);
    return 2;
  }
  const std::string dir = positional[0];
  std::string key_error;
  const auto key = trusted_key(flags, key_error);
  if (!key_error.empty()) {
    std::fprintf(stderr, "trading-engine: %s\n", key_error.c_str());
    return 2;
  }
  const auto seal = guardrails::evidence::verify_bundle(dir, key);
  journal::VerifyOptions vo;
  vo.trusted_public_key = key;  // the journal's checkpoints may carry the venue's own key
  const auto chain = journal::verify_journal(dir + "/journal", vo);
  const bool ok = seal.ok && chain.ok;
  std::printf("%s\n", json{{"archive", dir},
                           {"ok", ok},
                           {"seal_ok", seal.ok},
                           {"seal_problem", seal.problem},
                           {"public_key", seal.public_key},
                           {"key_pinned", key.has_value()},
                           {"journal", json::parse(journal::to_json(chain))}}
                          .dump()
                          .c_str());
  return ok ? 0 : 1;
}

}  // namespace

int report_command(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[2]) == "sox") return report_sox(argc, argv);
  std::fputs("usage: trading-engine report sox --journal DIR --from DATE --to DATE --out DIR\n",
             stderr);
  return 2;
}

int archive_command(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[2]) == "seal") return archive_seal(argc, argv);
  if (argc >= 3 && std::string_view(argv[2]) == "verify") return archive_verify(argc, argv);
  std::fputs("usage: trading-engine archive seal|verify ...\n", stderr);
  return 2;
}

}  // namespace trading::app
