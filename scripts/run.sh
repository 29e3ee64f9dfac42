#!/usr/bin/env bash
# README command 1: install, build (release) and run the main job on embedded defaults: the
# trading venue with the demo instruments and sessions, its journal in data/journal, FIX on
# 9878, admin + guardrail HTTP on 8080. Extra arguments go to the binary
# (e.g. --admin.token=secret, --journal.sync=fsync). guardrail-sim (the guardrail on a synthetic
# workload) is built too: build/release/guardrails/sim/guardrail-sim.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release trading-engine guardrail-sim guardctl fix_load
mkdir -p data/evidence data/journal data/fix-store
echo "trading-engine: FIX 4.4 on localhost:9878 (CLIENT1 or CLIENT2 -> VENUE), HTTP on http://localhost:8080"
echo "  try: build/release/benchmarks/fix_load --port 9878 --mode pingpong --orders 1000"
exec build/release/trading-engine/app/trading-engine "$@"
