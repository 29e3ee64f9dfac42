#!/usr/bin/env bash
# Compares venue configurations on FIX pingpong (and flood with FLOOD=1, the floor's flood too;
# the open loop at 10 k orders/s with RATE=1, the floor's too), interleaved with the QuickFIX floor
# over 3 rounds (ROUNDS=n), so that a noisy machine hits every configuration alike.
# A configuration is venue flags, optionally led by @<trading-engine binary> to compare builds
# (e.g. the previous commit built in a git worktree) instead of the one in the build dir.
#   benchmarks/fix_compare.sh [build dir] "<venue flags A>" "<venue flags B>" ...
#   e.g. benchmarks/fix_compare.sh build/release "" "--engine.threading=inline" "--engine.spin_us=0"
#        FLOOD=1 benchmarks/fix_compare.sh build/release "@/tmp/base/build/release/trading-engine/app/trading-engine" ""
set -euo pipefail
build=$1
shift
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\\1/" <<<"$1"; }
base=$((20000 + RANDOM % 20000))
for round in $(seq "${ROUNDS:-3}"); do
  f=$("$build/benchmarks/fix_load" --floor quickfix --mode pingpong --orders 20000 --port "$base" \
    2>/dev/null)
  floor_flood=""
  if [ -n "${FLOOD:-}" ]; then
    ff=$("$build/benchmarks/fix_load" --floor quickfix --mode flood --orders 100000 --window 64 \
      --port "$base" 2>/dev/null)
    floor_flood=" flood $(field "$ff" throughput_per_s)/s"
  fi
  floor_rate=""
  if [ -n "${RATE:-}" ]; then
    fr=$("$build/benchmarks/fix_load" --floor quickfix --mode rate --rate 10000 --orders 100000 \
      --window 256 --port "$base" 2>/dev/null)
    floor_rate=" rate p99 $(field "$fr" p99) us p99.9 $(field "$fr" p999) us"
  fi
  echo "round $round QuickFIX floor pingpong p50 $(field "$f" p50) us$floor_flood$floor_rate"
  i=0
  for config in "$@"; do
    i=$((i + 1))
    venue="$build/trading-engine/app/trading-engine"
    flags=$config
    if [[ $config == @* ]]; then
      venue=${config%% *}
      venue=${venue#@}
      flags=${config#"@$venue"}
    fi
    work=$(mktemp -d)
    port=$((base + i * 10))
    # shellcheck disable=SC2086
    "$venue" --fix.port=$port --http.port=$((port + 1)) \
      --journal.directory="$work/journal" --fix.store_directory="$work/store" \
      --guardrail.evidence_path="$work/evidence.jsonl" --log.level=warn $flags \
      >"$work/venue.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
      curl -sf "localhost:$((port + 1))/readyz" >/dev/null 2>&1 && break
      sleep 0.1
    done
    v=$("$build/benchmarks/fix_load" --port $port --mode pingpong --orders 20000 2>/dev/null)
    flood=""
    if [ -n "${FLOOD:-}" ]; then
      fl=$("$build/benchmarks/fix_load" --port $port --mode flood --orders 100000 --window 64 \
        2>/dev/null)
      flood=" flood $(field "$fl" throughput_per_s)/s"
    fi
    rate=""
    if [ -n "${RATE:-}" ]; then
      r=$("$build/benchmarks/fix_load" --port $port --mode rate --rate 10000 --orders 100000 \
        --window 256 2>/dev/null)
      rate=" rate p99 $(field "$r" p99) us p99.9 $(field "$r" p999) us"
    fi
    echo "round $round [${config:-defaults}] pingpong p50 $(field "$v" p50) us p99 $(field "$v" p99) us$flood$rate"
    kill "$pid"
    wait "$pid" || true
    rm -rf "$work"
  done
done
