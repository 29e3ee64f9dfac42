#!/usr/bin/env bash
# Load test of GET /guardrail/v1/status with keep-alive (wrk), against /livez as the in-run
# baseline (same server, trivial handler). Starts a release guardrail-sim on a free loopback port.
# Usage: benchmarks/http_status_load.sh [build-dir] [seconds] [connections]
set -euo pipefail
build=${1:-build/release}
seconds=${2:-10}
connections=${3:-32}
sim="$build/guardrails/sim/guardrail-sim"
[ -x "$sim" ] || { echo "no $sim: build the release preset first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh" >&2; exit 1; }
port=$(( 20000 + RANDOM % 20000 ))
tmp=$(mktemp -d)
"$sim" --http.address=127.0.0.1 --http.port=$port --http.io_threads=2 --log.level=warn \
  --guardrail.evidence_path="$tmp/evidence.jsonl" >"$tmp/sim.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.05; done
for path in /livez /guardrail/v1/status; do
  echo "== $path (wrk -t2 -c$connections -d${seconds}s --latency)"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port$path" | \
    grep -E "Requests/sec|Latency |  50%|  99%|requests in|Non-2xx|Socket errors"
done
