// Deployment risk score: how dangerous is this change, right now? A sum of factors, each listed
// with its points and reason, mapped to a class (Critical ≥ 70, High ≥ 40, Medium ≥ 20, Low).
// Base factors: environment (production +30), application domain (finance +25, pharma +30, each
// domain once), timing (inside the business hours of an affected market's or plant's calendar
// +15), scope (several applications at once +40). Reviewer factors: a rollback of an affected app
// in the last 24 h (+20), the change touches matching, risk or audit code (+15 each), a schema
// migration (+15). Pure: local times come in already resolved by the caller (the CLI does the
// time-zone conversion). Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace guardrails::risk {

enum class Domain { kFinance, kPharma, kOther };
enum class RiskClass { kLow, kMedium, kHigh, kCritical };
std::string_view to_string(RiskClass c);
std::string_view to_string(Domain d);

// Local wall time at the site that runs the app, as the caller resolved it.
struct LocalTime {
  int year = 2026, month = 1, day = 1;  // calendar date
  int weekday = 1;                      // 0 = Sunday .. 6 = Saturday
  int minute_of_day = 0;                // 0..1439
};

struct BusinessCalendar {
  std::string name;               // "XNYS market", "Basel plant"
  int open_minute = 9 * 60 + 30;  // inclusive
  int close_minute = 16 * 60;     // exclusive
  std::vector<int> trading_days = {1, 2, 3, 4, 5};
  std::vector<std::string> holidays;  // "YYYY-MM-DD"
};

// Is `t` inside the calendar's business hours (a working day, not a holiday, open ≤ t < close)?
bool in_business_hours(const BusinessCalendar& calendar, const LocalTime& t);

struct AppChange {
  std::string name;  // "trading-engine"
  Domain domain = Domain::kOther;
  BusinessCalendar calendar;  // of the market or plant it serves
  LocalTime local_time;       // deployment time in that calendar's zone
  bool rolled_back_last_24h = false;
};

struct ChangeRequest {
  std::string environment = "staging";  // "production" scores
  std::vector<AppChange> apps;
  std::vector<std::string> touched_areas;  // any of "matching", "risk", "audit" score
  bool schema_migration = false;
};

struct Factor {
  std::string name;
  int points = 0;
  std::string reason;
};

struct Assessment {
  int score = 0;
  RiskClass risk_class = RiskClass::kLow;
  std::vector<Factor> factors;  // every factor considered, with 0 points when it did not apply
};

// Error when the request has no app, an unknown touched area, or a malformed holiday/time.
core::Result<Assessment> assess(const ChangeRequest& request);

RiskClass classify(int score);

// The domain of a known application name ("trading-engine" → finance, "pharma-mes" → pharma).
Domain domain_of(std::string_view app);

}  // namespace guardrails::risk
