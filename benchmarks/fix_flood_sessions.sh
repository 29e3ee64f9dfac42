#!/usr/bin/env bash
# Two sessions flooding one venue at once: fix_load --mode flood (100 k orders, window 64) as
# CLIENT1 and as CLIENT2 (the demo venue's two sessions) against one venue; prints each
# session's throughput and p99 and their sum. Shows how the sessions share the engine.
#   benchmarks/fix_flood_sessions.sh [build dir] ["<venue flags>"]
#   e.g. benchmarks/fix_flood_sessions.sh build/release "--engine.threading=thread --fix.spin_us=0"
set -euo pipefail
build=${1:-build/release}
flags=${2:-}
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\\1/" "$1"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
# shellcheck disable=SC2086  # flags are words
"$build/trading-engine/app/trading-engine" --fix.port=$port --http.port=$((port + 1)) \
  --journal.directory="$work/journal" --fix.store_directory="$work/store" \
  --guardrail.evidence_path="$work/evidence.jsonl" --log.level=warn $flags >"$work/venue.log" 2>&1 &
venue=$!
for _ in $(seq 50); do
  curl -sf "localhost:$((port + 1))/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
clients=()
for sender in CLIENT1 CLIENT2; do
  "$build/benchmarks/fix_load" --port $port --mode flood --orders 100000 --window 64 \
    --sender $sender >"$work/$sender" 2>/dev/null &
  clients+=($!)
done
wait "${clients[@]}"
kill -TERM "$venue"
wait "$venue" || true
a=$(field "$work/CLIENT1" throughput_per_s)
b=$(field "$work/CLIENT2" throughput_per_s)
echo "[$flags] CLIENT1 $a/s p99 $(field "$work/CLIENT1" p99) us," \
  "CLIENT2 $b/s p99 $(field "$work/CLIENT2" p99) us, sum $(awk "BEGIN {print $a + $b}")/s"
