#include <gtest/gtest.h>

#include "guardrails/risk/risk_score.hpp"

namespace {

using namespace guardrails::risk;

LocalTime at(int weekday, int hour, int minute = 0) {
  LocalTime t;
  t.year = 2026;
  t.month = 11;
  t.day = 23 + weekday - 1;  // 2026-11-23 is a Monday
  t.weekday = weekday;
  t.minute_of_day = hour * 60 + minute;
  return t;
}

AppChange app(std::string name, LocalTime t) {
  AppChange a;
  a.name = name;
  a.domain = domain_of(name);
  a.calendar.name = "cal";
  a.local_time = t;
  return a;
}

int points(const Assessment& a, const std::string& factor) {
  for (const auto& f : a.factors) {
    if (f.name == factor) return f.points;
  }
  ADD_FAILURE() << "no factor " << factor;
  return -1;
}

TEST(RiskScore, QuietStagingChangeIsLow) {
  ChangeRequest r;
  r.environment = "staging";
  r.apps = {app("docs-site", at(6, 3))};
  const auto a = assess(r).value();
  EXPECT_EQ(a.score, 0);
  EXPECT_EQ(a.risk_class, RiskClass::kLow);
  EXPECT_EQ(a.factors.size(), 10u) << "every factor is listed, applied or not";
  for (const auto& f : a.factors) EXPECT_FALSE(f.reason.empty()) << f.name;
}

TEST(RiskScore, EachBaseFactorAddsItsPoints) {
  ChangeRequest r;
  r.environment = "production";
  r.apps = {app("trading-engine", at(2, 10))};  // Tuesday 10:00, market open
  const auto a = assess(r).value();
  EXPECT_EQ(points(a, "environment"), 30);
  EXPECT_EQ(points(a, "application.finance"), 25);
  EXPECT_EQ(points(a, "application.pharma"), 0);
  EXPECT_EQ(points(a, "timing.business_hours"), 15);
  EXPECT_EQ(points(a, "scope.multiple_apps"), 0);
  EXPECT_EQ(a.score, 70);
  EXPECT_EQ(a.risk_class, RiskClass::kCritical);
}

TEST(RiskScore, BothProductsAtOnceScoreBothDomainsAndScope) {
  ChangeRequest r;
  r.environment = "production";
  r.apps = {app("trading-engine", at(6, 10)), app("pharma-mes", at(6, 10))};  // Saturday
  const auto a = assess(r).value();
  EXPECT_EQ(points(a, "application.finance"), 25);
  EXPECT_EQ(points(a, "application.pharma"), 30);
  EXPECT_EQ(points(a, "scope.multiple_apps"), 40);
  EXPECT_EQ(points(a, "timing.business_hours"), 0);
  EXPECT_EQ(a.score, 125);
}

TEST(RiskScore, ReviewerFactors) {
  ChangeRequest r;
  r.environment = "staging";
  r.apps = {app("pharma-mes", at(0, 3))};
  r.apps[0].rolled_back_last_24h = true;
  r.touched_areas = {"audit", "risk"};
  r.schema_migration = true;
  const auto a = assess(r).value();
  EXPECT_EQ(points(a, "history.recent_rollback"), 20);
  EXPECT_EQ(points(a, "code.audit"), 15);
  EXPECT_EQ(points(a, "code.risk"), 15);
  EXPECT_EQ(points(a, "code.matching"), 0);
  EXPECT_EQ(points(a, "schema.migration"), 15);
  EXPECT_EQ(a.score, 30 + 20 + 15 + 15 + 15);
}

TEST(RiskScore, ClassBoundaries) {
  EXPECT_EQ(classify(0), RiskClass::kLow);
  EXPECT_EQ(classify(19), RiskClass::kLow);
  EXPECT_EQ(classify(20), RiskClass::kMedium);
  EXPECT_EQ(classify(39), RiskClass::kMedium);
  EXPECT_EQ(classify(40), RiskClass::kHigh);
  EXPECT_EQ(classify(69), RiskClass::kHigh);
  EXPECT_EQ(classify(70), RiskClass::kCritical);
}

TEST(BusinessHours, WeekdaysHoursAndHolidays) {
  BusinessCalendar c;  // 09:30-16:00 Mon-Fri
  EXPECT_TRUE(in_business_hours(c, at(1, 9, 30)));
  EXPECT_FALSE(in_business_hours(c, at(1, 9, 29)));
  EXPECT_TRUE(in_business_hours(c, at(5, 15, 59)));
  EXPECT_FALSE(in_business_hours(c, at(5, 16, 0)));
  EXPECT_FALSE(in_business_hours(c, at(6, 11)));
  EXPECT_FALSE(in_business_hours(c, at(0, 11)));
  c.holidays = {"2026-11-26"};  // Thanksgiving, a Thursday
  EXPECT_FALSE(in_business_hours(c, at(4, 11)));
  EXPECT_TRUE(in_business_hours(c, at(3, 11)));
}

TEST(RiskScore, BadInputIsAnError) {
  ChangeRequest none;
  EXPECT_FALSE(assess(none));
  ChangeRequest area;
  area.apps = {app("x", at(1, 1))};
  area.touched_areas = {"ui"};
  EXPECT_NE(assess(area).error().message.find("'ui'"), std::string::npos);
  ChangeRequest holiday;
  holiday.apps = {app("x", at(1, 1))};
  holiday.apps[0].calendar.holidays = {"26/11/2026"};
  EXPECT_FALSE(assess(holiday));
  ChangeRequest time;
  time.apps = {app("x", at(1, 1))};
  time.apps[0].local_time.minute_of_day = 24 * 60;
  EXPECT_FALSE(assess(time));
}

}  // namespace
