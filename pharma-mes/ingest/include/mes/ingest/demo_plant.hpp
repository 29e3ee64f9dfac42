// The demo plant's clean rooms and environmental sensors (EU GMP Annex 1 grades A-D), shared by
// the demo seeding (`pharma-mes demo seed`) and the sensor simulator so both name the same
// sensors. Limits follow Annex 1: particles >= 0.5 um per m3 at the in-operation limit as the
// action limit, 70 % of it as the alert limit. Pure data; thread-safe.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "mes/domain/service.hpp"

namespace mes::ingest {

struct DemoSensor {
  Sensor sensor;
  double setpoint = 0;  // where the simulator's value wanders around
  double noise = 0;     // its typical step
};

inline std::vector<DemoSensor> demo_sensors(Millis calibration_due) {
  struct Room {
    char grade;
    double particles_action;
    double pressure_setpoint;
  };
  // In-operation particle limits (>= 0.5 um / m3); grade D has none in operation, its at-rest
  // limit is used. Pressure cascades from A (highest) to D.
  const std::array<Room, 4> rooms = {
      {{'A', 3'520, 45}, {'B', 352'000, 35}, {'C', 3'520'000, 25}, {'D', 3'520'000, 12}}};
  std::vector<DemoSensor> out;
  for (const Room& r : rooms) {
    const std::string room = std::string("room-") + static_cast<char>(r.grade - 'A' + 'a');
    const std::string prefix = std::string(1, r.grade) + "-";
    const auto add = [&](std::string kind, std::string unit, double alert_low, double alert_high,
                         double action_low, double action_high, double setpoint, double noise) {
      DemoSensor d;
      d.sensor.id = prefix + kind;
      d.sensor.room = room;
      d.sensor.kind = std::move(kind);
      d.sensor.unit = std::move(unit);
      d.sensor.alert_low = alert_low;
      d.sensor.alert_high = alert_high;
      d.sensor.action_low = action_low;
      d.sensor.action_high = action_high;
      d.sensor.interval_seconds = 5;
      d.sensor.calibration_due = calibration_due;
      d.setpoint = setpoint;
      d.noise = noise;
      out.push_back(std::move(d));
    };
    add("TEMP", "C", 19, 23, 18, 25, 21, 0.15);
    add("RH", "%RH", 35, 55, 30, 60, 45, 0.8);
    add("DP", "Pa", r.pressure_setpoint - 5, r.pressure_setpoint + 10, r.pressure_setpoint - 8,
        r.pressure_setpoint + 15, r.pressure_setpoint, 0.6);
    add("PART05", "count/m3", 0, r.particles_action * 0.7, 0, r.particles_action,
        r.particles_action * 0.2, r.particles_action * 0.03);
  }
  return out;
}

// The sensor the simulator keeps silent by default (so the demo shows a data-gap alarm).
inline constexpr const char* kDemoSilentSensor = "D-RH";

}  // namespace mes::ingest
