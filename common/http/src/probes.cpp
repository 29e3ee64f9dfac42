#include "http/probes.hpp"

#include "logging/logger.hpp"

namespace http {

namespace {
std::string quoted(std::string_view s) {
  std::string out = "\"";
  logging::append_json_escaped(out, s);
  return out + "\"";
}
}  // namespace

void mount_probe_routes(Router& router, ReadinessCheck readiness,
                        std::vector<HealthCheck> health_checks) {
  router.get("/livez", [](const Request&) { return Response::json(200, R"({"status":"alive"})"); });
  router.get("/readyz", [readiness](const Request&) {
    const std::string why = readiness ? readiness() : std::string();
    if (why.empty()) return Response::json(200, R"({"status":"ready"})");
    return Response::json(503, R"({"status":"not_ready","reason":)" + quoted(why) + "}");
  });
  router.get("/health", [readiness, checks = std::move(health_checks)](const Request&) {
    bool all = true;
    std::string body = R"({"checks":[)";
    bool first = true;
    const auto add = [&](std::string_view name, bool ok, std::string_view detail) {
      all = all && ok;
      body += (first ? "" : ",") + std::string(R"({"name":)") + quoted(name) + R"(,"ok":)" +
              (ok ? "true" : "false") + R"(,"detail":)" + quoted(detail) + "}";
      first = false;
    };
    const std::string why = readiness ? readiness() : std::string();
    add("ready", why.empty(), why.empty() ? "ready" : why);
    for (const auto& [name, check] : checks) {
      const auto [ok, detail] = check();
      add(name, ok, detail);
    }
    body += std::string(R"(],"status":)") + (all ? R"("ok")" : R"("failing")") + "}";
    return Response::json(all ? 200 : 503, std::move(body));
  });
}

}  // namespace http
