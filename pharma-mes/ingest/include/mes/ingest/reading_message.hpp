// The sensor reading message of the plant's MQTT bus: topic `plant/{area}/{sensor}/reading`,
// payload JSON {"value": number, "unit": "text", "ts": "2026-01-01T00:00:00.000Z" | epoch ms}.
// decode_reading() turns one message into a reading or a specific refusal (Code::kInvalid with
// the field at fault: topic, payload, value, unit, ts). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "mes/domain/service.hpp"

namespace mes::ingest {

inline constexpr std::size_t kMaxPayloadBytes = 1024;

struct DecodedReading {
  std::string area;
  Mes::SensorReading reading;
};

// The sensor id of a topic (for counting a refusal against it), or "" when the topic has none.
std::string_view sensor_of_topic(std::string_view topic);

Result<DecodedReading> decode_reading(std::string_view topic, std::string_view payload);

// The payload for a reading (what the simulator publishes).
std::string encode_reading(double value, std::string_view unit, Millis at);

}  // namespace mes::ingest
