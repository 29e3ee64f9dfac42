#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "logging/logger.hpp"

namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logging::set_sink([this](std::string_view line) { lines.emplace_back(line); });
    logging::set_level(logging::Level::kInfo);
  }
  void TearDown() override {
    logging::set_sink({});
    logging::set_level(logging::Level::kInfo);
  }
  std::vector<std::string> lines;
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithTypedFields) {
  logging::info("engine", "order accepted",
                {{"qty", 10},
                 {"px", 1.5},
                 {"ok", true},
                 {"sym", "ABC"},
                 {"big", std::uint64_t{18446744073709551615ULL}}});
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].back(), '\n');
  EXPECT_EQ(lines[0].find('\n'), lines[0].size() - 1);
  const auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["component"], "engine");
  EXPECT_EQ(j["msg"], "order accepted");
  EXPECT_EQ(j["qty"], 10);
  EXPECT_DOUBLE_EQ(j["px"].get<double>(), 1.5);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["sym"], "ABC");
  EXPECT_EQ(j["big"].get<std::uint64_t>(), 18446744073709551615ULL);
  EXPECT_TRUE(j["ts"].get<std::string>().ends_with("Z"));
}

TEST_F(LogTest, EscapesQuotesNewlinesAndControlCharacters) {
  logging::warn("x", "a \"quoted\"\nline\t\x01", {{"k\"ey", "v\\al"}});
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0]);  // throws if the escaping were wrong
  EXPECT_EQ(j["msg"], "a \"quoted\"\nline\t\x01");
  EXPECT_EQ(j["k\"ey"], "v\\al");
}

TEST_F(LogTest, LevelFiltersLowerLevels) {
  logging::set_level(logging::Level::kWarn);
  logging::debug("x", "no");
  logging::info("x", "no");
  logging::warn("x", "yes");
  logging::error("x", "yes");
  EXPECT_EQ(lines.size(), 2u);
}

TEST_F(LogTest, NonFiniteDoublesBecomeNull) {
  logging::info("x", "nan", {{"v", std::numeric_limits<double>::quiet_NaN()}});
  EXPECT_TRUE(nlohmann::json::parse(lines.at(0))["v"].is_null());
}

TEST(LogLevel, ParsesEveryNameAndRejectsOthers) {
  logging::Level l{};
  for (const char* name : {"debug", "info", "warn", "error", "off"}) {
    ASSERT_TRUE(logging::parse_level(name, l));
    EXPECT_EQ(logging::to_string(l), name);
  }
  EXPECT_FALSE(logging::parse_level("verbose", l));
}

}  // namespace

namespace {

TEST(JsonEscape, InvalidUtf8BecomesReplacementCharacterAndValidUtf8Passes) {
  std::string out;
  logging::append_json_escaped(out, "caf\xc3\xa9 \xe2\x82\xac ok");
  EXPECT_EQ(out, "caf\xc3\xa9 \xe2\x82\xac ok");
  for (const char* bad :
       {"\x9c", "\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf5\x80\x80\x80", "a\xffz"}) {
    out.clear();
    logging::append_json_escaped(out, bad);
    EXPECT_NE(out.find("\\ufffd"), std::string::npos) << out;
    EXPECT_FALSE(nlohmann::json::parse("\"" + out + "\"", nullptr, false).is_discarded()) << out;
  }
}

}  // namespace
