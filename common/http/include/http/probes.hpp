// Kubernetes probe routes every binary mounts: /livez (the process serves: always 200),
// /readyz (200 when the binary should take traffic, else 503 with the reason), /health (named
// checks, 200 when all pass, 503 otherwise). The callbacks run on io threads: keep them cheap.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "http/router.hpp"

namespace http {

// Returns "" when ready, else why not ("draining", "journal replay 40 %", ...).
using ReadinessCheck = std::function<std::string()>;
// A named health check: {passed, detail}.
using HealthCheck = std::pair<std::string, std::function<std::pair<bool, std::string>()>>;

void mount_probe_routes(Router& router, ReadinessCheck readiness,
                        std::vector<HealthCheck> health_checks);

}  // namespace http
