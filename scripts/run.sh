#!/usr/bin/env bash
# README command 1: install, build (release) and run the whole demo on embedded defaults:
#   - Mosquitto on localhost:1883 (loopback only)
#   - pharma-mes on SQLite (data/mes.db): the operator UI and API on http://localhost:8090, its
#     sensors over MQTT; the demo plant is seeded on the first run and the demo users' passwords
#     are printed once (rm -rf data/mes.db* data/mqtt-ingest to start over)
#   - mes-sensor-sim: rooms A-D (temperature, humidity, differential pressure, particles), with
#     occasional excursions and one silent sensor
#   - trading-engine: FIX 4.4 on localhost:9878 (CLIENT1 free for you), admin + guardrail HTTP on
#     http://localhost:8080, journal in data/journal; a light demo order flow trades as CLIENT2
#     against DEMOFLOW
# Logs go to data/logs/. Ctrl-C (or SIGTERM) stops everything. Extra arguments go to the
# trading engine (e.g. --admin.token=secret, --journal.sync=fsync).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release trading-engine guardrail-sim guardctl fix_load pharma-mes mes-sensor-sim
bin=build/release
mkdir -p data/evidence data/journal data/fix-store data/logs data/mosquitto

pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
stop_all() {
  trap - EXIT INT TERM
  echo "stopping the demo"
  # Newest first: the order flow and the services go before the broker they talk to.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    # The order-flow loops are subshells: stop the loop, then the fix_load it was running.
    children=$(pgrep -P "${pids[i]}" || true)
    kill -TERM "${pids[i]}" 2>/dev/null || true
    # shellcheck disable=SC2086  # one pid per word
    [ -n "$children" ] && kill -TERM $children 2>/dev/null
    [ "$i" -eq 1 ] && wait "${pids[i]}" 2>/dev/null  # pharma-mes has left the broker
  done
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_port() {  # host port what
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: $3 did not open $1:$2 (see data/logs/)" >&2
  exit 1
}

# 1. The MQTT broker (no persistence needed: the MES's sessions live while the broker runs).
cat > data/mosquitto/mosquitto.conf <<CONF
listener 1883 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 100
CONF
/usr/sbin/mosquitto -c data/mosquitto/mosquitto.conf > data/logs/mosquitto.log 2>&1 &
pids+=($!)
wait_port 127.0.0.1 1883 mosquitto

# 2. The MES, seeded with the demo plant on the first run.
mes=$bin/pharma-mes/app/pharma-mes
if [ ! -f data/mes.db ]; then
  echo
  "$mes" --db sqlite://data/mes.db --key data/mes-signing.key demo seed
  echo "(write the passwords down: they are not shown again)"
  echo
else
  echo "pharma-mes: the demo plant is already in data/mes.db (passwords were printed at its first run)"
fi
"$mes" serve --db.url=sqlite://data/mes.db --key.path=data/mes-signing.key \
  --guardrail.evidence_path=data/evidence/pharma-mes.jsonl > data/logs/pharma-mes.log 2>&1 &
pids+=($!)
wait_port 127.0.0.1 8090 pharma-mes

# 3. The plant's sensors.
$bin/pharma-mes/sim/mes-sensor-sim --seed=0 > data/logs/sensor-sim.log 2>&1 &
pids+=($!)

# 4. The trading venue and a light order flow (2 x 10 orders/s, crossing around 100).
$bin/trading-engine/app/trading-engine "$@" > data/logs/trading-engine.log 2>&1 &
pids+=($!)
wait_port 127.0.0.1 9878 trading-engine
# Two accounts (BOB on CLIENT2, CAROL on DEMOFLOW): an account never trades with itself (STP).
for sender in CLIENT2 DEMOFLOW; do
  (
    while true; do
      $bin/benchmarks/fix_load --port 9878 --sender $sender --mode rate --demo 1 --rate 10 \
        --orders 36000 --warmup 1 --window 16 || sleep 5
    done
  ) > "data/logs/demo-flow-$sender.log" 2>&1 &
  pids+=($!)
done

cat <<INFO

The demo is up (logs in data/logs/, Ctrl-C stops it):
  operator UI (pharma-mes)      http://localhost:8090/
  pharma-mes guardrail          http://localhost:8090/guardrail/v1/status
  pharma-mes metrics            http://localhost:8090/metrics
  trading-engine guardrail      http://localhost:8080/guardrail/v1/status
  trading-engine metrics        http://localhost:8080/metrics
  FIX 4.4 (trading-engine)      localhost:9878, SenderCompID CLIENT1, TargetCompID VENUE
                                try: $bin/benchmarks/fix_load --port 9878 --mode pingpong --orders 1000
INFO
# Until one of them stops (or Ctrl-C).
wait -n "${pids[@]}"
echo "run.sh: a demo process stopped; see data/logs/" >&2
exit 1
