#include "guardrails/cli/guardctl.hpp"

#include "commands.hpp"
#include "guardrails/cli/time_zone.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "guardrails/evidence/bundle.hpp"
#include "guardrails/evidence/evidence_log.hpp"
#include "guardrails/risk/risk_score.hpp"
#include "http/client.hpp"

namespace guardrails::cli {

namespace {

constexpr const char* kMainHelp = R"(guardctl - query and operate the deployment guardrail

Usage:
  guardctl status URL [--json] [--timeout-ms N]
  guardctl watch URL --timeout S [--interval-ms N]
  guardctl risk --env ENV --app APP[,APP...] [options]
  guardctl evidence verify FILE|DIR [--public-key HEX]
  guardctl deploy --app APP --dir DIR --blue-url URL --green-url URL --green-cmd CMD ...

URL is the binary's admin base URL (http://host:8080) or the full status URL.
Exit codes: 0 promote/ok, 3 hold (or watch timed out), 4 rollback/evidence broken,
1 unreachable or unreadable, 2 usage error. Each command has --help.
)";

constexpr const char* kStatusHelp = R"(guardctl status URL [--json] [--timeout-ms N]

Fetches GET /guardrail/v1/status and prints the verdict, the reasons and every SLO.
--json prints the raw response body instead. --timeout-ms bounds the request (default 3000).
Exit: 0 promote, 3 hold, 4 rollback, 1 unreachable or not a guardrail.
)";

constexpr const char* kWatchHelp = R"(guardctl watch URL --timeout S [--interval-ms N]

Polls the status every --interval-ms (default 500) and shows a live progress line until the
verdict is promote (exit 0) or rollback (exit 4). After --timeout seconds still on hold: exit 3;
never reached: exit 1.
)";

constexpr const char* kRiskHelp = R"(guardctl risk --env ENV --app APP[,APP...] [options]

Scores a deployment before it starts. Options:
  --env ENV                    production | staging | ... (production +30)
  --app A[,B]                  trading-engine (finance +25), pharma-mes (pharma +30), others 0;
                               several apps at once +40
  --at TIME                    deployment time, "now" (default) or YYYY-MM-DDTHH:MM[:SS]Z (UTC)
  --tz APP=ZONE                calendar time zone (default trading-engine America/New_York,
                               pharma-mes Europe/Zurich, others UTC)
  --hours APP=HH:MM-HH:MM      business hours (default 09:30-16:00 market, 06:00-22:00 plant)
  --holiday APP=YYYY-MM-DD     a closed day (repeatable)
  --rolled-back APP            APP was rolled back in the last 24 h (+20; repeatable)
  --touches AREA[,AREA]        matching, risk, audit (+15 each)
  --schema-migration           the change migrates a schema (+15)
  --json                       JSON output instead of a table
Business hours in any affected calendar: +15. Classes: Critical >= 70, High >= 40, Medium >= 20.
Exit 0 (the score is information, not a gate), 2 on bad input.
)";

constexpr const char* kEvidenceHelp = R"(guardctl evidence verify FILE|DIR [--public-key HEX]

FILE: verifies the hash chain of an evidence log. Prints the number of entries and the last
hash, or the first entry that does not chain or whose body was altered.
DIR: verifies a sealed evidence bundle (guardctl deploy's directory): the Ed25519 signature of
manifest.json (with --public-key, against that trusted key; otherwise the manifest's own key,
printed so it can be compared), the log's chain and hash, and every file the manifest lists.
Exit: 0 intact, 4 broken, 1 unreadable.
)";

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

std::optional<http::Url> status_url(const std::string& text, std::ostream& err) {
  auto url = http::parse_url(text);
  if (!url) {
    err << "guardctl: " << url.error().message << "\n";
    return std::nullopt;
  }
  if (url->target == "/" || url->target.empty()) url->target = "/guardrail/v1/status";
  return *url;
}

struct Fetched {
  std::optional<nlohmann::json> data;  // $.data when the answer is a guardrail status
  std::string raw;
  std::string problem;
};

Fetched fetch_status(http::Client& client, const http::Url& url,
                     std::chrono::milliseconds timeout) {
  Fetched f;
  auto res = client.request("GET", url.target, {}, {}, timeout);
  if (!res) {
    f.problem =
        "cannot reach " + url.host + ":" + std::to_string(url.port) + ": " + res.error().message;
    return f;
  }
  f.raw = res->body;
  if (res->status != 200) {
    f.problem = "guardrail answered HTTP " + std::to_string(res->status);
    return f;
  }
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (body.is_discarded() || !body.contains("data") || !body["data"].is_object() ||
      !body["data"].contains("verdict") || !body["data"]["verdict"].is_string()) {
    f.problem = "the answer is not a guardrail status (no $.data.verdict)";
    return f;
  }
  f.data = body["data"];
  return f;
}

int exit_for(const std::string& verdict) {
  if (verdict == "promote") return kExitPromote;
  if (verdict == "rollback") return kExitRollback;
  return kExitHold;
}

std::string slo_line(const nlohmann::json& s) {
  const bool latency = s.value("kind", "") == "latency";
  const auto num = [&](const char* key) {
    return s.contains(key) && s[key].is_number() ? s[key].get<double>() : 0.0;
  };
  std::string value = "-";
  if (s.contains("value") && s["value"].is_number()) {
    value = latency ? fmt::format("{:.3f} ms", num("value") * 1000)
                    : fmt::format("{:.4f}", num("value"));
  }
  const std::string objective = latency ? fmt::format("<= {:.3f} ms", num("objective") * 1000)
                                        : fmt::format(">= {:.4f}", num("objective"));
  return fmt::format("  {:<20} {:<4} value {:<14} objective {:<14} window {}s  samples {}/{}",
                     s.value("name", "?"), s.value("ok", false) ? "ok" : "FAIL", value, objective,
                     num("window_s"), s.value("samples", std::uint64_t{0}),
                     s.value("min_samples", std::uint64_t{0}));
}

int cmd_status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wants_help(args)) {
    out << kStatusHelp;
    return kExitPromote;
  }
  std::optional<std::string> url_text;
  bool json = false;
  long timeout_ms = 3000;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--timeout-ms" && i + 1 < args.size()) {
      timeout_ms = std::strtol(args[++i].c_str(), nullptr, 10);
      if (timeout_ms <= 0) {
        err << "guardctl status: --timeout-ms must be a positive integer\n";
        return kExitUsage;
      }
    } else if (!url_text && !args[i].starts_with("--")) {
      url_text = args[i];
    } else {
      err << "guardctl status: unexpected argument '" << args[i] << "' (see --help)\n";
      return kExitUsage;
    }
  }
  if (!url_text) {
    err << "guardctl status: missing URL (see --help)\n";
    return kExitUsage;
  }
  auto url = status_url(*url_text, err);
  if (!url) return kExitUsage;
  http::Client client(url->host, url->port);
  const auto f = fetch_status(client, *url, std::chrono::milliseconds(timeout_ms));
  if (!f.data) {
    err << "guardctl: " << f.problem << "\n";
    return kExitUnreachable;
  }
  const auto& d = *f.data;
  const std::string verdict = d["verdict"].get<std::string>();
  if (json) {
    out << f.raw << "\n";
    return exit_for(verdict);
  }
  out << fmt::format("{} {} {} ({}): {}\n", d.value("app", "?"), d.value("version", "?"),
                     d.value("colour", "?"), d.value("git_sha", "?"), verdict);
  if (d.contains("reasons") && d["reasons"].is_array()) {
    for (const auto& r : d["reasons"]) {
      if (r.is_string()) out << "  - " << r.get<std::string>() << "\n";
    }
  }
  if (d.contains("slos") && d["slos"].is_array()) {
    for (const auto& s : d["slos"]) {
      if (s.is_object()) out << slo_line(s) << "\n";
    }
  }
  return exit_for(verdict);
}

int cmd_watch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wants_help(args)) {
    out << kWatchHelp;
    return kExitPromote;
  }
  std::optional<std::string> url_text;
  double timeout_s = -1;
  long interval_ms = 500;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--timeout" && i + 1 < args.size()) {
      char* end = nullptr;
      timeout_s = std::strtod(args[++i].c_str(), &end);
      if (end == args[i].c_str() || *end != '\0' || !(timeout_s > 0)) {
        err << "guardctl watch: --timeout must be a positive number of seconds\n";
        return kExitUsage;
      }
    } else if (args[i] == "--interval-ms" && i + 1 < args.size()) {
      interval_ms = std::strtol(args[++i].c_str(), nullptr, 10);
      if (interval_ms <= 0) {
        err << "guardctl watch: --interval-ms must be a positive integer\n";
        return kExitUsage;
      }
    } else if (!url_text && !args[i].starts_with("--")) {
      url_text = args[i];
    } else {
      err << "guardctl watch: unexpected argument '" << args[i] << "' (see --help)\n";
      return kExitUsage;
    }
  }
  if (!url_text || timeout_s <= 0) {
    err << "guardctl watch: needs URL and --timeout S (see --help)\n";
    return kExitUsage;
  }
  auto url = status_url(*url_text, err);
  if (!url) return kExitUsage;
  const bool tty = &out == &std::cout && ::isatty(STDOUT_FILENO);
  http::Client client(url->host, url->port);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(timeout_s);
  bool ever_reached = false;
  std::string last_line;
  for (;;) {
    const auto f =
        fetch_status(client, *url, std::chrono::milliseconds(std::max<long>(interval_ms, 1000)));
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line;
    std::string verdict = "unreachable";
    if (f.data) {
      ever_reached = true;
      const auto& d = *f.data;
      verdict = d["verdict"].get<std::string>();
      std::string reason;
      if (d.contains("reasons") && d["reasons"].is_array() && !d["reasons"].empty() &&
          d["reasons"][0].is_string()) {
        reason = d["reasons"][0].get<std::string>();
      }
      line = fmt::format("[{:6.1f}s] {:<8} samples {}/{}  {}", elapsed, verdict,
                         d.value("samples", std::uint64_t{0}),
                         d.value("min_samples", std::uint64_t{0}), reason);
    } else {
      line = fmt::format("[{:6.1f}s] {:<8} {}", elapsed, "?", f.problem);
    }
    if (tty) {
      out << "\r\x1b[K" << line << std::flush;
    } else if (line.substr(10) != last_line) {  // non-tty: one line per change, without the clock
      out << line << "\n" << std::flush;
      last_line = line.substr(10);
    }
    if (verdict == "promote" || verdict == "rollback") {
      if (tty) out << "\n";
      return exit_for(verdict);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (tty) out << "\n";
      err << "guardctl watch: timed out after " << timeout_s << " s "
          << (ever_reached ? "still on hold" : "without reaching the guardrail") << "\n";
      return ever_reached ? kExitHold : kExitUnreachable;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
}

// --- risk -------------------------------------------------------------------------------------

std::optional<std::time_t> parse_utc(const std::string& text) {
  std::tm tm{};
  int sec = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &sec) == 6 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min) == 5) {
    if (text.back() != 'Z') return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_sec = sec;
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60) {
      return std::nullopt;
    }
    return timegm(&tm);
  }
  return std::nullopt;
}

// Converts an instant to local time in `zone`, read from the system tz database by TimeZone
// (the process's own TZ is never touched).
std::optional<risk::LocalTime> local_time_in(const std::string& zone, std::time_t instant) {
  const auto tz = TimeZone::load(zone);
  if (!tz) return std::nullopt;
  const std::time_t local = instant + static_cast<std::time_t>(tz->offset_at(instant));
  std::tm tm{};
  gmtime_r(&local, &tm);
  risk::LocalTime t;
  t.year = tm.tm_year + 1900;
  t.month = tm.tm_mon + 1;
  t.day = tm.tm_mday;
  t.weekday = tm.tm_wday;
  t.minute_of_day = tm.tm_hour * 60 + tm.tm_min;
  return t;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

std::optional<std::pair<int, int>> parse_hours(const std::string& text) {
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2d:%2d-%2d:%2d%c", &h1, &m1, &h2, &m2, &tail) != 4)
    return std::nullopt;
  if (h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
    return std::nullopt;
  const int open = h1 * 60 + m1, close = h2 * 60 + m2;
  if (open >= close || close > 24 * 60) return std::nullopt;
  return std::make_pair(open, close);
}

}  // namespace

nlohmann::json risk_json(const risk::Assessment& a) {
  nlohmann::json factors = nlohmann::json::array();
  for (const auto& f : a.factors)
    factors.push_back({{"name", f.name}, {"points", f.points}, {"reason", f.reason}});
  return {{"score", a.score},
          {"class", std::string(risk::to_string(a.risk_class))},
          {"factors", factors}};
}

core::Result<risk::Assessment> assess_risk_flags(const std::vector<std::string>& args) {
  risk::ChangeRequest request;
  std::vector<std::string> apps;
  std::map<std::string, std::string> zones, hours;
  std::map<std::string, std::vector<std::string>> holidays;
  std::vector<std::string> rolled_back;
  std::string at = "now";
  bool env_given = false;
  const auto usage = [](const std::string& msg) -> core::Result<risk::Assessment> {
    return core::fail(kExitUsage, msg);
  };
  const auto app_value =
      [](const std::string& v) -> std::optional<std::pair<std::string, std::string>> {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) return std::nullopt;
    return std::make_pair(v.substr(0, eq), v.substr(eq + 1));
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--schema-migration") {
      request.schema_migration = true;
    } else if (a == "--env" && has_value) {
      request.environment = args[++i];
      env_given = true;
    } else if (a == "--app" && has_value) {
      for (auto& name : split(args[++i], ',')) {
        if (name.empty()) return usage("empty application name in --app");
        apps.push_back(name);
      }
    } else if (a == "--at" && has_value) {
      at = args[++i];
    } else if (a == "--touches" && has_value) {
      for (auto& area : split(args[++i], ',')) request.touched_areas.push_back(area);
    } else if (a == "--rolled-back" && has_value) {
      rolled_back.push_back(args[++i]);
    } else if ((a == "--tz" || a == "--hours" || a == "--holiday") && has_value) {
      auto kv = app_value(args[++i]);
      if (!kv) return usage(a + " expects APP=VALUE");
      if (a == "--tz") zones[kv->first] = kv->second;
      if (a == "--hours") hours[kv->first] = kv->second;
      if (a == "--holiday") holidays[kv->first].push_back(kv->second);
    } else {
      return usage("unexpected argument '" + a + "'");
    }
  }
  if (!env_given) return usage("--env is required");
  if (apps.empty()) return usage("--app is required");
  std::time_t instant = std::time(nullptr);
  if (at != "now") {
    auto parsed = parse_utc(at);
    if (!parsed) return usage("--at must be 'now' or YYYY-MM-DDTHH:MM[:SS]Z, got '" + at + "'");
    instant = *parsed;
  }
  for (const auto& name : apps) {
    risk::AppChange app;
    app.name = name;
    app.domain = risk::domain_of(name);
    std::string zone = "UTC";
    if (app.domain == risk::Domain::kFinance) {
      zone = "America/New_York";
      app.calendar.name = "market (" + name + ")";
    } else if (app.domain == risk::Domain::kPharma) {
      zone = "Europe/Zurich";
      app.calendar.name = "plant (" + name + ")";
      app.calendar.open_minute = 6 * 60;
      app.calendar.close_minute = 22 * 60;
    } else {
      app.calendar.name = "office (" + name + ")";
      app.calendar.open_minute = 9 * 60;
      app.calendar.close_minute = 17 * 60;
    }
    if (zones.count(name)) zone = zones[name];
    if (hours.count(name)) {
      auto h = parse_hours(hours[name]);
      if (!h) return usage("--hours for " + name + " must be HH:MM-HH:MM with open < close");
      app.calendar.open_minute = h->first;
      app.calendar.close_minute = h->second;
    }
    app.calendar.name += " " + zone;
    app.calendar.holidays = holidays[name];
    auto local = local_time_in(zone, instant);
    if (!local) return usage("unknown time zone '" + zone + "' for " + name);
    app.local_time = *local;
    for (const auto& r : rolled_back)
      app.rolled_back_last_24h = app.rolled_back_last_24h || r == name;
    request.apps.push_back(std::move(app));
  }
  for (const auto& r : rolled_back) {
    if (std::find(apps.begin(), apps.end(), r) == apps.end()) {
      return usage("--rolled-back names '" + r + "', which is not among --app");
    }
  }
  for (const auto& [name, _] : zones) {
    if (std::find(apps.begin(), apps.end(), name) == apps.end())
      return usage("--tz names unknown app '" + name + "'");
  }

  auto assessed = risk::assess(request);
  if (!assessed) return usage(assessed.error().message);
  return *assessed;
}

namespace {

int cmd_risk(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wants_help(args)) {
    out << kRiskHelp;
    return kExitPromote;
  }
  bool json = false;
  std::vector<std::string> flags;
  for (const auto& a : args) {
    if (a == "--json") {
      json = true;
    } else {
      flags.push_back(a);
    }
  }
  auto assessed = assess_risk_flags(flags);
  if (!assessed) {
    err << "guardctl risk: " << assessed.error().message << " (see --help)\n";
    return kExitUsage;
  }
  const auto& a = *assessed;
  if (json) {
    out << risk_json(a).dump(2) << "\n";
    return kExitPromote;
  }
  out << fmt::format("risk {} ({})\n", a.score, risk::to_string(a.risk_class));
  out << fmt::format("  {:<24} {:>6}  {}\n", "factor", "points", "reason");
  for (const auto& f : a.factors)
    out << fmt::format("  {:<24} {:>6}  {}\n", f.name, f.points, f.reason);
  return kExitPromote;
}

int cmd_evidence(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wants_help(args) || args.empty()) {
    if (args.empty()) {
      err << kEvidenceHelp;
      return kExitUsage;
    }
    out << kEvidenceHelp;
    return kExitPromote;
  }
  std::optional<std::string> trusted_key;
  std::vector<std::string> rest;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--public-key" && i + 1 < args.size()) {
      trusted_key = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  if (args[0] != "verify" || rest.size() != 1) {
    err << "guardctl evidence: expected 'verify FILE|DIR [--public-key HEX]' (see --help)\n";
    return kExitUsage;
  }
  const std::string& path = rest[0];
  if (::access(path.c_str(), R_OK) != 0) {
    err << "guardctl evidence: cannot read " << path << "\n";
    return kExitUnreachable;
  }
  if (std::filesystem::is_directory(path)) {
    const auto bundle = evidence::verify_bundle(path, trusted_key);
    if (bundle.ok) {
      out << "ok: bundle sealed, " << bundle.entries << " entries, signed by " << bundle.public_key
          << "\n";
      return kExitPromote;
    }
    out << "BROKEN: " << bundle.problem << "\n";
    return kExitRollback;
  }
  const auto report = evidence::verify_file(path);
  if (report.ok) {
    out << "ok: " << report.entries << " entries, last hash " << report.last_hash << "\n";
    return kExitPromote;
  }
  out << "BROKEN at entry " << report.first_bad_entry << ": " << report.problem << " ("
      << report.entries << " entries verified before it)\n";
  return kExitRollback;
}

}  // namespace

int run_guardctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kMainHelp;
    return kExitUsage;
  }
  const std::string& cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    out << kMainHelp;
    return kExitPromote;
  }
  if (cmd == "status") return cmd_status(rest, out, err);
  if (cmd == "watch") return cmd_watch(rest, out, err);
  if (cmd == "risk") return cmd_risk(rest, out, err);
  if (cmd == "evidence") return cmd_evidence(rest, out, err);
  if (cmd == "deploy") return cmd_deploy(rest, out, err);
  err << "guardctl: unknown command '" << cmd << "'\n" << kMainHelp;
  return kExitUsage;
}

}  // namespace guardrails::cli
