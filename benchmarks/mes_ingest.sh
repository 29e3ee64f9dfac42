#!/usr/bin/env bash
# MQTT sensor ingest: a private Mosquitto, `pharma-mes serve` (release, SQLite, demo plant) and
# mes-sensor-sim publishing COUNT readings at RATE/s (QoS 1). Reports the readings stored per
# second (from the first to the last stored, alarms evaluated on the way), and as the baseline in
# the same run the rate at which the simulator gets the broker's acknowledgements with no MES
# subscribed. Usage: benchmarks/mes_ingest.sh [build dir] [count] [rate] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
count=${2:-60000}
rate=${3:-30000}
clients=${4:-4}
dir=$(mktemp -d)
mport=$((20000 + RANDOM % 20000))
hport=$((mport + 1))
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000000\nmax_inflight_messages 100\n' \
  "$mport" > "$dir/mosquitto.conf"
/usr/sbin/mosquitto -c "$dir/mosquitto.conf" > "$dir/mosquitto.log" 2>&1 &
pids+=($!)
sleep 0.5
sim=$build/pharma-mes/sim/mes-sensor-sim
echo "baseline (broker only): $($sim --mqtt.uri=tcp://127.0.0.1:$mport --mqtt.client_id=baseline \
  --rate="$rate" --count="$count" --silent= 2>/dev/null)"
mes=$build/pharma-mes/app/pharma-mes
"$mes" --db "sqlite://$dir/mes.db" --key "$dir/key" demo seed > /dev/null
"$mes" serve --http.port=$hport --db.url="sqlite://$dir/mes.db" --key.path="$dir/key" \
  --mqtt.uri=tcp://127.0.0.1:$mport --mqtt.clients="$clients" \
  --mqtt.spool_dir="$dir/spool" --mqtt.persist_dir="${PAHO_PERSIST:+$dir/paho}" \
  --guardrail.evidence_path="$dir/ev.jsonl" --log.level=warn &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null && break; sleep 0.1; done
stored() { curl -s "http://127.0.0.1:$hport/metrics" |
           awk '/^mes_sensor_readings_total\{source="mqtt"\}/ {print $2}'; }
sleep 2  # the subscribers connect
$sim --mqtt.uri=tcp://127.0.0.1:$mport --rate="$rate" --count="$count" --silent= > "$dir/pub.json" 2>/dev/null &
simpid=$!
pids+=($simpid)
start=$(date +%s.%N)
first=""
while true; do
  n=$(stored)
  if [ -z "$first" ] && [ "${n%.*}" -gt 0 ]; then first=$(date +%s.%N); fi
  [ "${n%.*}" -ge "$count" ] && break
  now=$(date +%s.%N)
  if awk -v a="$now" -v b="$start" 'BEGIN {exit !(a - b > 300)}'; then echo "timeout at $n"; break; fi
  sleep 0.2
done
end=$(date +%s.%N)
awk -v n="$(stored)" -v a="$first" -v b="$end" -v c="$clients" \
  'BEGIN {printf "stored %d readings in %.1f s: %.0f readings/s with %d subscribers\n", n, b - a, n / (b - a), c}'
wait "$simpid" || true
echo "publisher: $(cat "$dir/pub.json")"

# 2. A backlog: the MES stopped while COUNT readings are published (they wait at the broker in
# its persistent sessions), then started: how fast it drains them, the publisher out of the way.
kill -TERM "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
$sim --mqtt.uri=tcp://127.0.0.1:$mport --rate="$rate" --count="$count" --silent= >/dev/null 2>&1
before=$(sqlite3 "$dir/mes.db" "SELECT count(*) FROM readings")
"$mes" serve --http.port=$hport --db.url="sqlite://$dir/mes.db" --key.path="$dir/key" \
  --mqtt.uri=tcp://127.0.0.1:$mport --mqtt.clients="$clients" \
  --mqtt.spool_dir="$dir/spool" --mqtt.persist_dir="${PAHO_PERSIST:+$dir/paho}" \
  --guardrail.evidence_path="$dir/ev.jsonl" --log.level=warn &
pids+=($!)
started=$(date +%s.%N)
while [ $(( $(sqlite3 "$dir/mes.db" "SELECT count(*) FROM readings") - before )) -lt "$count" ]; do
  sleep 0.1
done
awk -v n="$count" -v a="$started" -v b="$(date +%s.%N)" -v c="$clients" \
  'BEGIN {printf "backlog of %d drained in %.1f s (start-up included): %.0f readings/s with %d subscribers\n", n, b - a, n / (b - a), c}'
