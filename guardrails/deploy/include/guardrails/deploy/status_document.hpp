// Reading a colour's guardrail status (GET /guardrail/v1/status, DESIGN.md §4) into the
// workflow's VerdictRead: the HTTP status and body in, the verdict out, or no verdict and a
// detail saying exactly what was wrong (not 200, not JSON, no $.data.verdict, an unknown verdict,
// the document of another colour). Pure; thread-safe.
#pragma once

#include <string_view>

#include "guardrails/deploy/workflow.hpp"

namespace guardrails::deploy {

// `expected_app` (when not empty) must match $.data.app: a balancer or a port mix-up that
// answers with another service's guardrail is not a verdict on this one.
VerdictRead read_status_document(Colour colour, int http_status, std::string_view body,
                                 std::string_view expected_app = {});

}  // namespace guardrails::deploy
