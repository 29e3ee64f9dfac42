#!/usr/bin/env bash
# A/B of two venue binaries in the same minutes: each round the bare QuickFIX floor, then venue A,
# then venue B, each a pingpong of 20 000 orders (p50) and a flood of 100 000 (window 64).
#   benchmarks/fix_ab.sh <venue A> <venue B> [rounds] [build dir with fix_load]
# e.g. build the previous commit in a git worktree and compare its trading-engine with this one.
set -uo pipefail
a=$1
b=$2
rounds=${3:-3}
load=${4:-build/release}/benchmarks/fix_load
run_venue() {  # run_venue <binary> <label>
  local work port pid pp fl
  work=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  "$1" --fix.port=$port --http.port=$((port + 1)) --journal.directory="$work/j" \
    --fix.store_directory="$work/s" --guardrail.evidence_path="$work/e.jsonl" --log.level=warn \
    >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    curl -sf "localhost:$((port + 1))/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  pp=$("$load" --port $port --mode pingpong --orders 20000 2>/dev/null |
    sed -E 's/.*"p50":([0-9.]+).*/\1/')
  fl=$("$load" --port $port --mode flood --orders 100000 --window 64 2>/dev/null |
    sed -E 's/.*"throughput_per_s":([0-9.]+).*/\1/')
  kill "$pid"
  wait "$pid" 2>/dev/null
  rm -rf "$work"
  echo "$2 pingpong_p50_us=$pp flood_per_s=$fl"
}
for round in $(seq "$rounds"); do
  port=$((20000 + RANDOM % 20000))
  qf=$("$load" --floor quickfix --mode pingpong --orders 20000 --port $port 2>/dev/null |
    sed -E 's/.*"p50":([0-9.]+).*/\1/')
  echo "round $round quickfix_floor pingpong_p50_us=$qf"
  run_venue "$a" "round $round A"
  run_venue "$b" "round $round B"
done
