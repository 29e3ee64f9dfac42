#include "guardrails/status/routes.hpp"

#include <nlohmann/json.hpp>

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

  router.post("/guardrail/v1/reset", [&guardrail](const http::Request& req) {
    const auto& expected = guardrail.config().reset_token;
    const auto token = req.bearer_token();
    if (expected.empty()) {
      return http::error_response(401, "unauthorized",
                                  "reset is disabled: no guardrail.reset_token is configured");
    }
    if (token.empty()) return http::error_response(401, "unauthorized", "missing bearer token");
    if (!http::secure_equals(token, expected))
      return http::error_response(401, "unauthorized", "invalid bearer token");
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
