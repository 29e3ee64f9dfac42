// `pharma-mes demo seed`: fills an empty database with the demo plant: users of every role with
// random passwords (returned once, for printing; never stored but as Argon2id hashes), clean
// rooms A-D with their environmental sensors (the simulator's), a reactor and a scale, released
// lots of the two materials, and an approved master recipe. Refuses a database that has users.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "mes/domain/service.hpp"

namespace mes::app {

struct DemoUser {
  std::string id, full_name, roles, password;
};

// Seeds through `mes` (every record audited like any other); `now` dates calibrations and lots.
Result<std::vector<DemoUser>> seed_demo_plant(Mes& mes, Millis now);

}  // namespace mes::app
