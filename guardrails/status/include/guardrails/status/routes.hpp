// The guardrail HTTP contract (DESIGN.md §4) mounted on any common/http Router:
//   GET  /guardrail/v1/status           200 always; the verdict is in $.data.verdict (Argo `web`)
//   POST /guardrail/v1/flagger          200 when promote, 412 + JSON reason when hold/rollback
//   POST /guardrail/v1/flagger/rollback 200 when rollback (roll back now), else 412
//   POST /guardrail/v1/reset            bearer token required (401 without); clears the latch
//   POST /guardrail/v1/events           bearer token required; the deployment controller's
//                                       report of a switch, rollback or promotion, kept in the
//                                       evidence log (and by the app: the MES's audit trail)
// The handlers only read snapshots (and reset), so they are safe on any io thread.
#pragma once

#include "guardrails/status/guardrail.hpp"
#include "http/router.hpp"

namespace guardrails {

void mount_guardrail_routes(http::Router& router, Guardrail& guardrail);

}  // namespace guardrails
