#include "guardrails/risk/risk_score.hpp"

#include <algorithm>

namespace guardrails::risk {

namespace {

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string date_text(const LocalTime& t) {
  return std::to_string(t.year) + "-" + two(t.month) + "-" + two(t.day);
}

std::string clock_text(int minute_of_day) {
  return two(minute_of_day / 60) + ":" + two(minute_of_day % 60);
}

bool valid(const LocalTime& t) {
  return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31 && t.weekday >= 0 &&
         t.weekday <= 6 && t.minute_of_day >= 0 && t.minute_of_day < 24 * 60;
}

}  // namespace

std::string_view to_string(RiskClass c) {
  switch (c) {
    case RiskClass::kLow:
      return "Low";
    case RiskClass::kMedium:
      return "Medium";
    case RiskClass::kHigh:
      return "High";
    case RiskClass::kCritical:
      return "Critical";
  }
  return "Low";
}

std::string_view to_string(Domain d) {
  switch (d) {
    case Domain::kFinance:
      return "finance";
    case Domain::kPharma:
      return "pharma";
    case Domain::kOther:
      return "other";
  }
  return "other";
}

Domain domain_of(std::string_view app) {
  if (app == "trading-engine") return Domain::kFinance;
  if (app == "pharma-mes") return Domain::kPharma;
  return Domain::kOther;
}

RiskClass classify(int score) {
  if (score >= 70) return RiskClass::kCritical;
  if (score >= 40) return RiskClass::kHigh;
  if (score >= 20) return RiskClass::kMedium;
  return RiskClass::kLow;
}

bool in_business_hours(const BusinessCalendar& calendar, const LocalTime& t) {
  if (std::find(calendar.trading_days.begin(), calendar.trading_days.end(), t.weekday) ==
      calendar.trading_days.end()) {
    return false;
  }
  if (std::find(calendar.holidays.begin(), calendar.holidays.end(), date_text(t)) !=
      calendar.holidays.end()) {
    return false;
  }
  return t.minute_of_day >= calendar.open_minute && t.minute_of_day < calendar.close_minute;
}

core::Result<Assessment> assess(const ChangeRequest& request) {
  if (request.apps.empty()) return core::fail(1, "a change must name at least one application");
  for (const auto& area : request.touched_areas) {
    if (area != "matching" && area != "risk" && area != "audit") {
      return core::fail(1,
                        "unknown touched area '" + area + "' (expected matching, risk or audit)");
    }
  }
  for (const auto& app : request.apps) {
    if (!valid(app.local_time)) return core::fail(1, "invalid local time for " + app.name);
    for (const auto& h : app.calendar.holidays) {
      if (h.size() != 10 || h[4] != '-' || h[7] != '-') {
        return core::fail(1, "holiday '" + h + "' of " + app.calendar.name + " is not YYYY-MM-DD");
      }
    }
  }

  Assessment a;
  const auto add = [&a](std::string name, int points, std::string reason) {
    a.score += points;
    a.factors.push_back({std::move(name), points, std::move(reason)});
  };

  if (request.environment == "production") {
    add("environment", 30, "deploying to production");
  } else {
    add("environment", 0, "deploying to " + request.environment + ", not production");
  }

  bool finance = false, pharma = false;
  std::string finance_apps, pharma_apps;
  for (const auto& app : request.apps) {
    if (app.domain == Domain::kFinance) {
      finance = true;
      finance_apps += (finance_apps.empty() ? "" : ", ") + app.name;
    }
    if (app.domain == Domain::kPharma) {
      pharma = true;
      pharma_apps += (pharma_apps.empty() ? "" : ", ") + app.name;
    }
  }
  add("application.finance", finance ? 25 : 0,
      finance ? "finance application (" + finance_apps + "): orders and money at stake"
              : "no finance application");
  add("application.pharma", pharma ? 30 : 0,
      pharma ? "GxP application (" + pharma_apps + "): batch records and patient safety at stake"
             : "no GxP application");

  std::string open_where;
  for (const auto& app : request.apps) {
    if (in_business_hours(app.calendar, app.local_time)) {
      open_where += (open_where.empty() ? "" : "; ") + app.calendar.name + " is open (" +
                    date_text(app.local_time) + " " + clock_text(app.local_time.minute_of_day) +
                    " local, hours " + clock_text(app.calendar.open_minute) + "-" +
                    clock_text(app.calendar.close_minute) + ")";
    }
  }
  add("timing.business_hours", open_where.empty() ? 0 : 15,
      open_where.empty() ? "outside the business hours of every affected market and plant"
                         : open_where);

  add("scope.multiple_apps", request.apps.size() > 1 ? 40 : 0,
      request.apps.size() > 1 ? std::to_string(request.apps.size()) + " applications change at once"
                              : "one application changes");

  std::string recent;
  for (const auto& app : request.apps) {
    if (app.rolled_back_last_24h) recent += (recent.empty() ? "" : ", ") + app.name;
  }
  add("history.recent_rollback", recent.empty() ? 0 : 20,
      recent.empty() ? "no rollback in the last 24 h" : "rolled back in the last 24 h: " + recent);

  for (const char* area : {"matching", "risk", "audit"}) {
    const bool touched = std::find(request.touched_areas.begin(), request.touched_areas.end(),
                                   area) != request.touched_areas.end();
    add(std::string("code.") + area, touched ? 15 : 0,
        touched ? std::string("the change touches ") + area + " code"
                : std::string("no ") + area + " code touched");
  }
  add("schema.migration", request.schema_migration ? 15 : 0,
      request.schema_migration ? "the change migrates a database schema" : "no schema migration");

  a.risk_class = classify(a.score);
  return a;
}

}  // namespace guardrails::risk
