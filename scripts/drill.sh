#!/usr/bin/env bash
# Deployment drills (DESIGN.md section 7): a whole blue/green story against real processes; the
# last line of the output is one JSON object with the drill's counts and figures.
#
#   scripts/drill.sh venue
#     The trading venue's cutovers under live FIX order flow: scripts/drill/venue.sh says how.
#
#   scripts/drill.sh mes
#     A private PostgreSQL, Mosquitto and HAProxy; pharma-mes blue on PostgreSQL with the sensor
#     simulator publishing; for the whole drill, people on the floor through HAProxy (QA reading
#     batches, an operator team executing batches step by step: writes with signatures); then
#     three deployments with `guardctl deploy`, the new release alternating colours:
#       (a) a good green: promoted, blue stopped;
#       (b) a release with an API latency fault: rolled back before promotion (no user saw it);
#       (c) a release that loses the second person's verification when it completes a step (a
#           batch integrity fault, visible only once operators finish batches on it): promoted,
#           then rolled back after promotion.
#     Then: failed requests (5xx or connection errors through the balancer), acknowledged writes
#     missing from the records, sessions lost, seconds from each fault's onset to the traffic
#     back on the healthy release, the three evidence bundles verified, the audit trail verified,
#     the acknowledged sensor readings all stored. Exit 0 when every target is met.
#
# Uses the release build (built here when missing). The work directory (logs, evidence, the
# timeline pictures) is kept and named at the end; DRILL_KEEP=0 removes it on success.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
product=${1:-}
if [ "$product" = venue ]; then
  exec scripts/drill/venue.sh  # the venue's drill: see its header
fi
if [ "$product" != mes ]; then
  echo "usage: scripts/drill.sh mes|venue" >&2
  exit 2
fi

scripts/build.sh release pharma-mes guardctl mes-sensor-sim >/dev/null
bin=$root/build/release
mes=$bin/pharma-mes/app/pharma-mes
guardctl=$bin/guardrails/cli/guardctl
sim=$bin/pharma-mes/sim/mes-sensor-sim
for tool in /usr/sbin/haproxy /usr/sbin/mosquitto python3 psql; do
  command -v "$tool" >/dev/null || { echo "drill: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/drill-mes.XXXXXX)
chmod 755 "$work"
started=$(date +%s)
# shellcheck disable=SC1091  # scripts/drill/lib.sh, checked on its own
. "$root/scripts/drill/lib.sh"

pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for f in "$work"/deploy-*/green.pid "$work"/deploy-*/blue.pid "$work"/blue.pid; do
    if [ -f "$f" ]; then
      kill -TERM "-$(cat "$f")" 2>/dev/null || kill -TERM "$(cat "$f")" 2>/dev/null || true
    fi
  done
  sleep 1
  scripts/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT


# ---- the estate: PostgreSQL, Mosquitto, HAProxy ----
pg_port=$(free_port)
db=$(scripts/postgres.sh start "$work/pg" "$pg_port")
psql_url="postgresql:///postgres?host=$work/pg&port=$pg_port&user=postgres"
log "PostgreSQL on $db"
mqtt_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\n' \
  "$mqtt_port" >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
front=$(free_port)
blue_port=$(free_port)
green_port=$(free_port)
cat >"$work/haproxy.cfg" <<EOF
global
  stats socket $work/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 2
  option redispatch
frontend floor
  bind 127.0.0.1:$front
  default_backend mes
backend mes
  option forwardfor
  http-response set-header X-Served-By %[srv_name]
  server blue 127.0.0.1:$blue_port
  server green 127.0.0.1:$green_port disabled
EOF
/usr/sbin/haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

# ---- the plant: the demo seeded on PostgreSQL; blue serving ----
"$mes" --db "$db" --key "$work/mes-signing.key" demo seed >"$work/seed.txt"
python3 - "$work/seed.txt" "$work/passwords.json" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
users = dict(re.findall(r"\n  (\S+)\t\S+\t(\S+)\t", text))
json.dump(users, open(sys.argv[2], "w"))
assert len(users) == 6, text
EOF
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GUARDCTL_CONTROLLER_TOKEN=$token
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mes_cmd() { # colour port client-id [fault flags...]: the command line of one colour
  local colour=$1 port=$2 client=$3
  shift 3
  echo "$mes serve --http.address=127.0.0.1 --http.port=$port --db.url='$db'" \
    "--key.path=$work/mes-signing.key --guardrail.colour=$colour" \
    "--guardrail.evidence_path=$work/$colour-evidence.jsonl --guardrail.reset_token=$token" \
    "--mqtt.uri=tcp://127.0.0.1:$mqtt_port --mqtt.client_id=$client" \
    "--mqtt.share_group=pharma-mes-ingest --mqtt.leave_on_stop=true" \
    "--mqtt.spool_dir=$work/$colour-spool --slo.batch_min_samples=1" \
    "--http.trusted_proxies=127.0.0.1 --http.io_threads=4 --guardrail.min_samples=40" \
    "--log.level=warn $*"
}
sh -c "exec $(mes_cmd blue "$blue_port" pharma-mes-ingest)" >"$work/blue-first.log" 2>&1 &
echo $! >"$work/blue.pid"
wait_http "http://127.0.0.1:$blue_port/readyz" 60 || { cat "$work/blue-first.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$front/readyz" 10 || { cat "$work/haproxy.log" >&2; exit 1; }
log "pharma-mes blue ready behind HAProxy on 127.0.0.1:$front"

"$sim" --mqtt.uri="tcp://127.0.0.1:$mqtt_port" --rate=40 --count=0 --silent= \
  >"$work/sim.json" 2>"$work/sim.log" &
sim_pid=$!
pids+=("$sim_pid")
python3 scripts/drill/mes_load.py load --url "http://127.0.0.1:$front" \
  --passwords "$work/passwords.json" --out "$work/load.json" 2>"$work/load.log" &
load_pid=$!
pids+=("$load_pid")
sleep 3

deploy() { # n colour port client old-pid-file [fault flags...]
  local n=$1 colour=$2 port=$3 client=$4 old_pid=$5
  shift 5
  local rc=0
  log "deployment $n: the new release as $colour ${*:-(no fault)}"
  "$guardctl" deploy --app pharma-mes --dir "$work/deploy-$n" \
    --blue-url "http://127.0.0.1:$blue_port" --green-url "http://127.0.0.1:$green_port" \
    --colour "$colour" --new-cmd "$(mes_cmd "$colour" "$port" "$client" "$@")" \
    --old-pid-file "$old_pid" \
    --compat-cmd "$mes --db '$db' db compat" \
    --smoke-cmd "python3 $root/scripts/drill/mes_load.py smoke --url {url} --passwords $work/passwords.json" \
    --haproxy-socket "$work/haproxy.sock" --backend mes --who drill-operator --env staging \
    --revision "$revision" --blue-version "$revision" --green-version "$revision" \
    --poll-ms 200 --ready-timeout-s 60 --hold-limit-s 60 --post-window-s 15 --scale-down-s 2 \
    --stop-grace-s 15 --signing-key "$work/controller-signing.key" \
    >"$work/deploy-$n.out" 2>&1 || rc=$?
  # The outcome and the controller's reason: a drill that fails in CI says why in its log.
  log "deployment $n: exit $rc, $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("outcome"), "-", s.get("reason"))' "$work/deploy-$n/summary.json" 2>/dev/null || tail -1 "$work/deploy-$n.out")"
}
# (a) a good release as green; (b) and (c) as blue beside the promoted green.
deploy 1 green "$green_port" pharma-mes-green "$work/blue.pid"
deploy 2 blue "$blue_port" pharma-mes-ingest "$work/deploy-1/green.pid" --fault.api_latency_ms=150
deploy 3 blue "$blue_port" pharma-mes-ingest "$work/deploy-1/green.pid" --fault.batch_integrity=true
sleep 2

# ---- the reckoning ----
kill -TERM "$load_pid"
wait "$load_pid" || true
kill -TERM "$sim_pid"
wait "$sim_pid" || true
acked=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["acked"])' "$work/sim.json")
stored=0
for _ in $(seq 1 100); do
  stored=$(psql -tA "$psql_url" -c "SELECT count(*) FROM (SELECT DISTINCT sensor_id, at FROM readings) r")
  [ "$stored" -ge "$acked" ] && break
  sleep 0.2
done
# The running release (green, after (c) rolled back) is stopped: it leaves the share group.
kill -TERM "$(cat "$work/deploy-1/green.pid")" 2>/dev/null || true
for _ in $(seq 1 150); do
  kill -0 "$(cat "$work/deploy-1/green.pid")" 2>/dev/null || break
  sleep 0.1
done
evidence_ok=true
for n in 1 2 3; do
  "$guardctl" evidence verify "$work/deploy-$n" >"$work/verify-$n.txt" 2>&1 || evidence_ok=false
done
audit_ok=true
"$mes" --db "$db" --key "$work/mes-signing.key" audit verify >"$work/audit-verify.txt" 2>&1 || audit_ok=false
change_events=$(psql -tA "$psql_url" -c "SELECT count(*) FROM audit_entries WHERE action LIKE 'deployment_%'")
cat >"$work/figures.json" <<EOF
{"evidence_verified": $evidence_ok, "audit_verified": $audit_ok,
 "readings_acknowledged": $acked, "readings_lost": $((acked > stored ? acked - stored : 0)),
 "change_events": $change_events, "seconds": $(($(date +%s) - started))}
EOF
for n in 1 2 3; do
  [ -f "$work/deploy-$n/timeline.png" ] && cp "$work/deploy-$n/timeline.png" "$work/timeline-$n.png"
done
log "work directory: $work (deployment evidence in deploy-1..3, timelines timeline-1..3.png)"
rc=0
python3 scripts/drill/mes_summary.py "$work" "$work/figures.json" || rc=$?
if [ "$rc" = 0 ] && [ "${DRILL_KEEP:-1}" = 0 ]; then rm -rf "$work"; fi
exit "$rc"
