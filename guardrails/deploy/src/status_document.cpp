#include "guardrails/deploy/status_document.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace guardrails::deploy {

VerdictRead read_status_document(Colour colour, int http_status, std::string_view body,
                                 std::string_view expected_app) {
  VerdictRead r;
  r.colour = colour;
  if (http_status != 200) {
    r.detail = "guardrail answered HTTP " + std::to_string(http_status);
    return r;
  }
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    r.detail = "malformed status document (not JSON)";
    return r;
  }
  const auto data = doc.find("data");
  if (!doc.is_object() || data == doc.end() || !data->is_object()) {
    r.detail = "malformed status document (no $.data object)";
    return r;
  }
  const auto verdict = data->find("verdict");
  if (verdict == data->end() || !verdict->is_string()) {
    r.detail = "malformed status document (no $.data.verdict string)";
    return r;
  }
  if (!expected_app.empty()) {
    const auto app = data->find("app");
    if (app == data->end() || !app->is_string() || app->get<std::string>() != expected_app) {
      r.detail = "the status document is not " + std::string(expected_app) + "'s (app " +
                 (app != data->end() && app->is_string() ? app->get<std::string>() : "missing") +
                 ")";
      return r;
    }
  }
  const std::string v = verdict->get<std::string>();
  if (v == "promote") {
    r.verdict = slo::Verdict::kPromote;
  } else if (v == "hold") {
    r.verdict = slo::Verdict::kHold;
  } else if (v == "rollback") {
    r.verdict = slo::Verdict::kRollback;
  } else {
    r.detail = "unknown verdict \"" + v.substr(0, 40) + "\"";
    return r;
  }
  std::string detail;
  if (const auto reasons = data->find("reasons"); reasons != data->end() && reasons->is_array()) {
    for (const auto& reason : *reasons) {
      if (!reason.is_string()) continue;
      if (!detail.empty()) detail += "; ";
      detail += reason.get<std::string>();
    }
  }
  const auto samples = data->find("samples");
  const auto min_samples = data->find("min_samples");
  if (samples != data->end() && samples->is_number_integer() && min_samples != data->end() &&
      min_samples->is_number_integer()) {
    if (!detail.empty()) detail += "; ";
    detail += std::to_string(samples->get<long long>()) + "/" +
              std::to_string(min_samples->get<long long>()) + " samples";
  }
  r.detail = detail;
  return r;
}

}  // namespace guardrails::deploy
