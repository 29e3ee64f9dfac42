// Text formats the MES hands to people and other tools: UTC timestamps (ISO 8601) and RFC 4180
// CSV whose cells cannot be read as spreadsheet formulas (a cell starting with = + - @ ' tab or
// CR gets a leading apostrophe, which parse_csv_line() removes again). Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mes/domain/accounts.hpp"

namespace mes {

// 2026-01-01T00:00:00.000Z
std::string format_utc(Millis ms);
std::optional<Millis> parse_utc(std::string_view text);

std::string csv_cell(std::string_view value);
std::string csv_line(const std::vector<std::string>& cells);  // with CRLF
// One record (which may span lines inside quotes) from the front of `text`; advances `text`.
std::optional<std::vector<std::string>> parse_csv_record(std::string_view& text);

}  // namespace mes
