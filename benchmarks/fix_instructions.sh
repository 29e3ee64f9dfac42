#!/usr/bin/env bash
# Instructions per order of venue binaries, from valgrind's callgrind (repeatable where times are
# not): each venue runs under callgrind with --engine.spin_us=0 and --fix.spin_us=0 (where the
# binary has it) (a spin's count depends on time)
# for 500 and for 2 500 pingpong orders; (count at 2 500 - count at 500) / 2 000 = instructions
# per order, all threads, start-up cancelled out.
#   benchmarks/fix_instructions.sh <venue binary>... [-- build dir with fix_load]
# VENUE_FLAGS="--x=y ..." adds settings to every venue's command line.
set -uo pipefail
load=build/release/benchmarks/fix_load
venues=()
while [ "$#" -gt 0 ]; do
  if [ "$1" = "--" ]; then
    load=$2/benchmarks/fix_load
    break
  fi
  venues+=("$1")
  shift
done
measure() {  # measure <binary> <orders>: total instructions
  local work port pid
  work=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  local no_spin=--engine.spin_us=0
  "$1" --help 2>&1 | grep -q fix.spin_us && no_spin="$no_spin --fix.spin_us=0"
  # shellcheck disable=SC2086  # flags are words
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$1" --fix.port=$port \
    --http.port=$((port + 1)) --journal.directory="$work/j" --fix.store_directory="$work/s" \
    $no_spin --guardrail.evidence_path="$work/e.jsonl" --log.level=warn ${VENUE_FLAGS:-} \
    >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    curl -sf "localhost:$((port + 1))/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$load" --port $port --mode pingpong --orders "$2" >/dev/null 2>&1
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
  grep -E "^(summary|totals):" "$work/cg.out" | head -1 | awk '{print $2}'
  rm -rf "$work"
}
for venue in "${venues[@]}"; do
  low=$(measure "$venue" 500)
  high=$(measure "$venue" 2500)
  echo "$venue: $(((high - low) / 2000)) instructions per order (500 orders: $low, 2500: $high)"
done
