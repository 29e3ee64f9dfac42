// libFuzzer: the MQTT sensor message decoder (first line: topic, the rest: payload). Nothing
// crashes; a decoded reading is finite, names a sensor from the topic, and re-encodes to a
// payload that decodes to the same reading.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mes/ingest/reading_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string topic = input.substr(0, newline);
  const std::string payload = newline == std::string::npos ? "" : input.substr(newline + 1);
  const auto decoded = mes::ingest::decode_reading(topic, payload);
  if (!decoded) {
    if (decoded.error().field.empty()) std::abort();  // every refusal names its field
    return 0;
  }
  const auto& r = decoded->reading;
  if (!std::isfinite(r.value) || r.sensor_id.empty() || r.unit.empty()) std::abort();
  if (mes::ingest::sensor_of_topic(topic) != r.sensor_id) std::abort();
  const auto again =
      mes::ingest::decode_reading(topic, mes::ingest::encode_reading(r.value, r.unit, r.at));
  if (!again || again->reading.value != r.value || again->reading.unit != r.unit ||
      again->reading.at != r.at) {
    std::abort();
  }
  return 0;
}
