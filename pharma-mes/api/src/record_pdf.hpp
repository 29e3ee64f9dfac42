// The printable batch record as PDF (libharu): the same content as record.html — header, steps
// with values, limits, actors and times, weighings, deviations, alarms, every signature with
// printed name, UTC time and meaning, values changed after first entry marked, and the
// verification section. A4 pages in the PDF standard fonts (Latin-1: other characters print as
// '?'). Pure function of the record JSON; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mes::api {

// The PDF bytes, or nullopt if libharu failed (out of memory).
std::optional<std::string> record_pdf(const nlohmann::json& record);

// The record's "yield" (actual and % of theoretical, 211.103) as one printed line: "95 of
// theoretical 100 = 95.0 % (limits 90-102 %)", "not recorded", or the output alone when the
// master sets no theoretical yield.
std::string yield_line(const nlohmann::json& yield, const std::string& unit);

}  // namespace mes::api
