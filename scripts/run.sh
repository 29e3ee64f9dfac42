#!/usr/bin/env bash
# README command 1: install, build (release) and run the main job on embedded defaults.
# Until the trading venue and the MES land, the main job is guardrail-sim: the deployment
# guardrail serving its HTTP contract on :8080 over a synthetic workload. Extra arguments go to
# the binary (e.g. --sim.degrade_after_s=30 to watch a bad release get rolled back).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release guardrail-sim guardctl
mkdir -p data/evidence
echo "guardrail-sim on http://localhost:8080  (try: build/release/guardrails/cli/guardctl status http://localhost:8080)"
exec build/release/guardrails/sim/guardrail-sim "$@"
