// UTC timestamps and formula-safe RFC 4180 CSV.
#include <gtest/gtest.h>

#include "mes/domain/text.hpp"

namespace {

using namespace mes;

TEST(Text, UtcTimestampsRoundTrip) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(1'767'225'600'000), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(951'782'400'123), "2000-02-29T00:00:00.123Z");
  EXPECT_EQ(format_utc(-1), "1969-12-31T23:59:59.999Z");
  for (Millis t :
       {Millis{0}, Millis{951'782'400'123}, Millis{1'767'225'599'999}, Millis{4'102'444'800'000}}) {
    EXPECT_EQ(parse_utc(format_utc(t)), t) << format_utc(t);
  }
  EXPECT_FALSE(parse_utc("2026-13-01T00:00:00.000Z"));
  EXPECT_FALSE(parse_utc("2026-01-01 00:00:00"));
}

TEST(Text, CsvCellsCannotBecomeFormulasAndRoundTrip) {
  EXPECT_EQ(csv_cell("=SUM(A1:A9)"), "\"'=SUM(A1:A9)\"");
  EXPECT_EQ(csv_cell("+1"), "\"'+1\"");
  EXPECT_EQ(csv_cell("-2"), "\"'-2\"");
  EXPECT_EQ(csv_cell("@cmd"), "\"'@cmd\"");
  EXPECT_EQ(csv_cell("plain"), "plain");
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  const std::vector<std::string> cells = {"",
                                          "plain",
                                          "with \"quotes\"",
                                          "comma, inside",
                                          "line\nbreak",
                                          "=HYPERLINK(\"x\")",
                                          "'quoted'",
                                          "-3.5",
                                          "\tTab"};
  std::string text = csv_line(cells) + csv_line({"second", "row"});
  std::string_view view = text;
  const auto first = parse_csv_record(view);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, cells);
  const auto second = parse_csv_record(view);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, (std::vector<std::string>{"second", "row"}));
  EXPECT_FALSE(parse_csv_record(view));
  std::string_view broken = "\"unterminated";
  EXPECT_FALSE(parse_csv_record(broken));
}

}  // namespace
