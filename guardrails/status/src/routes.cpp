#include "guardrails/status/routes.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

namespace guardrails {

namespace {

std::string join_reasons(const slo::Evaluation& ev) {
  std::string out;
  for (const auto& r : ev.reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

// 412 body: the standard error shape plus the verdict, so Flagger's log shows why.
http::Response precondition_failed(const Snapshot& snap) {
  const auto& ev = snap.evaluation;
  nlohmann::json body = {
      {"error", {{"code", std::string(slo::to_string(ev.verdict))}, {"message", join_reasons(ev)}}},
      {"data", {{"verdict", std::string(slo::to_string(ev.verdict))}, {"reasons", ev.reasons}}}};
  return http::Response::json(412, body.dump());
}

http::Response ok_verdict(const Snapshot& snap) {
  nlohmann::json body = {{"data",
                          {{"verdict", std::string(slo::to_string(snap.evaluation.verdict))},
                           {"reasons", snap.evaluation.reasons}}}};
  return http::Response::json(200, body.dump());
}

// The controller's routes (reset, events) take guardrail.reset_token as a bearer token.
std::optional<http::Response> check_controller_token(const Guardrail& guardrail,
                                                     const http::Request& req, const char* what) {
  const auto& expected = guardrail.config().reset_token;
  const auto token = req.bearer_token();
  if (expected.empty()) {
    return http::error_response(
        401, "unauthorized",
        std::string(what) + " disabled: no guardrail.reset_token is configured");
  }
  if (token.empty()) return http::error_response(401, "unauthorized", "missing bearer token");
  if (!http::secure_equals(token, expected)) {
    return http::error_response(401, "unauthorized", "invalid bearer token");
  }
  return std::nullopt;
}

// Flagger webhooks POST {name, namespace, phase, checksum, metadata}. An empty body is tolerated
// (curl checks); anything else must be that object.
std::optional<http::Response> check_flagger_body(const http::Request& req) {
  if (req.body.empty()) return std::nullopt;
  const auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded())
    return http::error_response(400, "bad_json", "request body is not valid JSON");
  if (!body.is_object())
    return http::error_response(400, "bad_request", "webhook body must be a JSON object");
  for (const char* key : {"name", "namespace", "phase"}) {
    if (body.contains(key) && !body[key].is_string()) {
      return http::error_response(400, "bad_request",
                                  std::string("\"") + key + "\" must be a string");
    }
  }
  if (body.contains("metadata") && !body["metadata"].is_object() && !body["metadata"].is_null()) {
    return http::error_response(400, "bad_request", "\"metadata\" must be an object");
  }
  return std::nullopt;
}

}  // namespace

void mount_guardrail_routes(http::Router& router, Guardrail& guardrail) {
  router.get("/guardrail/v1/status", [&guardrail](const http::Request&) {
    return http::Response::json(200, guardrail.snapshot()->status_body);
  });

  router.post("/guardrail/v1/flagger", [&guardrail](const http::Request& req) {
    if (auto bad = check_flagger_body(req)) return *bad;
    const auto snap = guardrail.snapshot();
    if (snap->evaluation.verdict == slo::Verdict::kPromote) return ok_verdict(*snap);
    return precondition_failed(*snap);
  });

  router.post("/guardrail/v1/flagger/rollback", [&guardrail](const http::Request& req) {
    if (auto bad = check_flagger_body(req)) return *bad;
    const auto snap = guardrail.snapshot();
    if (snap->evaluation.verdict == slo::Verdict::kRollback) return ok_verdict(*snap);
    return precondition_failed(*snap);
  });

  router.post("/guardrail/v1/events", [&guardrail](const http::Request& req) {
    if (auto refused = check_controller_token(guardrail, req, "controller events")) {
      return *refused;
    }
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return http::error_response(
          400, "bad_json",
          "request body must be a JSON object {\"deployment\",\"event\",\"detail\",\"who\"}");
    }
    ControllerEvent e;
    const std::pair<const char*, std::string*> fields[] = {
        {"deployment", &e.deployment}, {"event", &e.event}, {"detail", &e.detail}, {"who", &e.who}};
    for (const auto& [name, target] : fields) {
      if (!body.contains(name)) continue;
      if (!body[name].is_string() || body[name].get<std::string>().size() > 2000) {
        return http::error_response(
            400, "bad_request",
            std::string("\"") + name + "\" must be a string of ≤ 2000 characters");
      }
      *target = body[name].get<std::string>();
    }
    const bool event_ok = !e.event.empty() && e.event.size() <= 40 &&
                          std::all_of(e.event.begin(), e.event.end(),
                                      [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    if (!event_ok) {
      return http::error_response(400, "bad_request",
                                  "\"event\" must be 1-40 characters of a-z and _ (e.g. "
                                  "\"switched\", \"rolled_back\")");
    }
    if (e.deployment.empty()) {
      return http::error_response(400, "bad_request", "\"deployment\" is required");
    }
    e.remote = req.remote_address;
    if (const std::string problem = guardrail.controller_event(e); !problem.empty()) {
      return http::error_response(503, "not_recorded", "the event was not recorded: " + problem);
    }
    return http::Response::json(200, R"({"data":{"recorded":true}})");
  });

  router.post("/guardrail/v1/reset", [&guardrail](const http::Request& req) {
    if (auto refused = check_controller_token(guardrail, req, "reset")) return *refused;
    std::string who = "api", reason;
    if (!req.body.empty()) {
      const auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return http::error_response(400, "bad_json",
                                    "request body must be a JSON object {\"who\",\"reason\"}");
      }
      if (body.contains("who")) {
        if (!body["who"].is_string() || body["who"].get<std::string>().empty() ||
            body["who"].get<std::string>().size() > 200) {
          return http::error_response(400, "bad_request",
                                      "\"who\" must be a non-empty string of ≤ 200 characters");
        }
        who = body["who"].get<std::string>();
      }
      if (body.contains("reason")) {
        if (!body["reason"].is_string() || body["reason"].get<std::string>().size() > 2000) {
          return http::error_response(400, "bad_request",
                                      "\"reason\" must be a string of ≤ 2000 characters");
        }
        reason = body["reason"].get<std::string>();
      }
    }
    guardrail.reset(who + " from " + req.remote_address, reason);
    return http::Response::json(200, guardrail.snapshot()->status_body);
  });
}

}  // namespace guardrails
