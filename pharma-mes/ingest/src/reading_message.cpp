#include "mes/ingest/reading_message.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "mes/domain/text.hpp"

namespace mes::ingest {
namespace {

using nlohmann::json;

// 10000-01-01T00:00:00Z: a time the record can print (ISO 8601 has four-digit years).
constexpr std::int64_t kLastMillis = 253'402'300'800'000;

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

struct TopicParts {
  std::string_view area, sensor;
};

std::optional<TopicParts> split_topic(std::string_view topic) {
  std::string_view parts[4];
  std::size_t n = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = topic.find('/', start);
    if (n == 4) return std::nullopt;
    parts[n++] = topic.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (n != 4 || parts[0] != "plant" || parts[3] != "reading") return std::nullopt;
  return TopicParts{parts[1], parts[2]};
}

}  // namespace

std::string_view sensor_of_topic(std::string_view topic) {
  const auto parts = split_topic(topic);
  return parts && is_name(parts->sensor) ? parts->sensor : std::string_view{};
}

Result<DecodedReading> decode_reading(std::string_view topic, std::string_view payload) {
  const auto parts = split_topic(topic);
  if (!parts) {
    return refuse(Code::kInvalid, "topic must be plant/{area}/{sensor}/reading", "topic");
  }
  if (!is_name(parts->area) || !is_name(parts->sensor)) {
    return refuse(Code::kInvalid, "area and sensor must be 1-64 of A-Z a-z 0-9 - _ .", "topic");
  }
  if (payload.size() > kMaxPayloadBytes) {
    return refuse(Code::kInvalid, "payload larger than 1024 bytes", "payload");
  }
  const json doc = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return refuse(Code::kInvalid, "payload is not a JSON object", "payload");
  DecodedReading out;
  out.area = std::string(parts->area);
  out.reading.sensor_id = std::string(parts->sensor);
  const auto value = doc.find("value");
  if (value == doc.end() || !value->is_number()) {
    return refuse(Code::kInvalid, "value must be a number", "value");
  }
  out.reading.value = value->get<double>();
  if (!std::isfinite(out.reading.value)) {
    return refuse(Code::kInvalid, "value must be finite", "value");
  }
  const auto unit = doc.find("unit");
  if (unit == doc.end() || !unit->is_string() || unit->get_ref<const std::string&>().empty() ||
      unit->get_ref<const std::string&>().size() > 16) {
    return refuse(Code::kInvalid, "unit must be a text of 1-16 characters", "unit");
  }
  out.reading.unit = unit->get<std::string>();
  const auto ts = doc.find("ts");
  if (ts == doc.end()) return refuse(Code::kInvalid, "ts is missing", "ts");
  if (ts->is_string()) {
    const auto at = parse_utc(ts->get_ref<const std::string&>());
    if (!at) return refuse(Code::kInvalid, "ts must be UTC ISO 8601 (…Z)", "ts");
    out.reading.at = *at;
  } else if (ts->is_number_integer() && ts->get<std::int64_t>() > 0 &&
             ts->get<std::int64_t>() < kLastMillis) {
    out.reading.at = ts->get<std::int64_t>();
  } else {
    return refuse(Code::kInvalid, "ts must be UTC ISO 8601 text or epoch milliseconds", "ts");
  }
  return out;
}

std::string encode_reading(double value, std::string_view unit, Millis at) {
  return json{{"value", value}, {"unit", unit}, {"ts", format_utc(at)}}.dump();
}

}  // namespace mes::ingest
