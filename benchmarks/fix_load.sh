#!/usr/bin/env bash
# Runs the FIX load generator against the two floors and the venue, minutes apart on the same
# machine, and prints each result (JSON) plus the venue/floor ratios.
#   benchmarks/fix_load.sh [build dir] [orders]        e.g. benchmarks/fix_load.sh build/release 20000
# Extra venue flags can be passed in VENUE_FLAGS (e.g. VENUE_FLAGS=--journal.sync=fsync).
set -euo pipefail
build=${1:-build/release}
orders=${2:-20000}
load="$build/benchmarks/fix_load"
venue="$build/trading-engine/app/trading-engine"
work=$(mktemp -d)
fix_port=$((20000 + RANDOM % 20000))
http_port=$((fix_port + 1))
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

field() {  # field <json> <key>: a number after "key":
  sed -E "s/.*\"$2\":([0-9.]+).*/\\1/" <<<"$1"
}

echo "# floors"
echo_pp=$("$load" --floor echo --mode pingpong --orders "$orders" 2>/dev/null)
echo "$echo_pp"
qf_pp=$("$load" --floor quickfix --mode pingpong --orders "$orders" --port "$fix_port" 2>/dev/null)
echo "$qf_pp"
qf_flood=$("$load" --floor quickfix --mode flood --orders $((orders * 5)) --window 64 \
  --port "$fix_port" 2>/dev/null)
echo "$qf_flood"
qf_rate=$("$load" --floor quickfix --mode rate --rate 10000 --orders $((orders * 5)) --window 256 \
  --port "$fix_port" 2>/dev/null)
echo "$qf_rate"

echo "# venue (${VENUE_FLAGS:-default flags})"
# shellcheck disable=SC2086
"$venue" --fix.port="$fix_port" --http.port="$http_port" --journal.directory="$work/journal" \
  --fix.store_directory="$work/store" --guardrail.evidence_path="$work/evidence.jsonl" \
  --log.level=warn ${VENUE_FLAGS:-} >"$work/venue.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  curl -sf "localhost:$http_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
v_pp=$("$load" --port "$fix_port" --mode pingpong --orders "$orders" 2>/dev/null)
echo "$v_pp"
v_flood=$("$load" --port "$fix_port" --mode flood --orders $((orders * 5)) --window 64 2>/dev/null)
echo "$v_flood"
v_rate=$("$load" --port "$fix_port" --mode rate --rate 10000 --orders $((orders * 5)) \
  --window 256 2>/dev/null)
echo "$v_rate"
kill -TERM "$pid"
wait "$pid" || true

echo "# ratios"
awk -v v="$(field "$v_pp" p50)" -v q="$(field "$qf_pp" p50)" -v e="$(field "$echo_pp" p50)" \
  'BEGIN { printf "pingpong p50: venue %.1f us, QuickFIX floor %.1f us (+%.1f us), echo floor %.1f us\n", v, q, v - q, e }'
awk -v v="$(field "$v_flood" throughput_per_s)" -v q="$(field "$qf_flood" throughput_per_s)" \
  'BEGIN { printf "flood: venue %.0f/s = %.2fx the QuickFIX floor (%.0f/s)\n", v, v / q, q }'
echo "rate 10k/s: venue p99 $(field "$v_rate" p99) us, p99.9 $(field "$v_rate" p999) us;" \
  "QuickFIX floor p99 $(field "$qf_rate" p99) us, p99.9 $(field "$qf_rate" p999) us"
