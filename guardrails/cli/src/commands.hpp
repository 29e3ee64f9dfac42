// Internal to guardctl: the pieces its commands share (guardctl.cpp holds status, watch, risk and
// evidence; deploy.cpp holds deploy).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "guardrails/risk/risk_score.hpp"

namespace guardrails::cli {

// The risk flags of `guardctl risk` (all but --json) to an assessment; the error is the usage
// message.
core::Result<risk::Assessment> assess_risk_flags(const std::vector<std::string>& args);
nlohmann::json risk_json(const risk::Assessment& a);

int cmd_deploy(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace guardrails::cli
