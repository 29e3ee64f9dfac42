#!/usr/bin/env bash
# README command 1: install, build (release) and run the whole demo on embedded defaults:
#   - Mosquitto on localhost:1883 (loopback only)
#   - pharma-mes on SQLite (data/mes.db) behind HAProxy: the operator UI and API on
#     http://localhost:8090 (blue on 8091, green on 8092); its sensors over MQTT; the demo plant
#     is seeded on the first run and the demo users' passwords printed once (the demo's batch
#     driver keeps them in data/demo-passwords.json, 0600; rm -rf data to start over)
#   - mes-sensor-sim: rooms A-D (temperature, humidity, differential pressure, particles), with
#     occasional excursions and one silent sensor
#   - the demo batch driver (scripts/demo/mes_batches.py): batches run, reviewed and released
#     through the API without end, every fourth with a deviation
#   - a blue/green deployment of pharma-mes every DEMO_DEPLOY_EVERY_S seconds (default 600, the
#     first after DEMO_FIRST_DEPLOY_S, default 120) by guardctl deploy; every second one is a
#     faulty release the guardrail rolls back; evidence bundles in data/deployments/
#   - trading-engine: FIX 4.4 on localhost:9878 (CLIENT1 free for you), admin + guardrail HTTP
#     and the status page on http://localhost:8080, journal in data/journal; a light demo order
#     flow trades as CLIENT2 against DEMOFLOW
#   - Prometheus on http://localhost:9099 scraping all of it each second with the project's rules
#     (dashboards/rules), and the node exporter's textfile collector on 9109 serving guardctl's
#     deployment outcomes
# Logs go to data/logs/. Ctrl-C (or SIGTERM) stops everything. Extra arguments go to the
# trading engine (e.g. --admin.token=secret, --journal.sync=fsync). DEMO_DATA=DIR puts the
# demo's files in DIR instead of data/ (the dashboards test runs it in a scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
scripts/build.sh release trading-engine guardrail-sim guardctl fix_load pharma-mes mes-sensor-sim
bin=$root/build/release
data=${DEMO_DATA:-data}
mkdir -p "$data"
data=$(cd "$data" && pwd)
mkdir -p "$data"/{evidence,journal,fix-store,logs,mosquitto,deployments,metrics-textfile,prometheus}
logs=$data/logs
first_deploy=${DEMO_FIRST_DEPLOY_S:-120}
deploy_every=${DEMO_DEPLOY_EVERY_S:-600}

pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
stop_all() {
  trap - EXIT INT TERM
  echo "stopping the demo"
  # Newest first: the drivers and the deployment loop, then the services, the broker last. A
  # deployment in progress gets SIGTERM from its loop and ends safely (traffic back on blue).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    children=$(pgrep -P "${pids[i]}" || true)
    [ "${pids[i]}" = "${mosquitto_pid:-}" ] && continue  # after the MES has left it
    kill -TERM "${pids[i]}" 2>/dev/null || true
    # shellcheck disable=SC2086  # one pid per word
    [ -n "$children" ] && kill -TERM $children 2>/dev/null
    if [ "${pids[i]}" = "${deploy_loop_pid:-}" ]; then
      # guardctl finishes its deployment before the colours are stopped below.
      for _ in $(seq 1 300); do pgrep -f "guardctl deploy --app pharma-mes --dir $data/" >/dev/null || break; sleep 0.1; done
    fi
  done
  # The MES colours run in their own sessions (started here or by guardctl deploy).
  mes_pids=$(pgrep -f "pharma-mes serve --http.address=127.0.0.1 --http.port=809[12] --db.url=sqlite://$data/mes.db" || true)
  # shellcheck disable=SC2086  # one pid per word
  [ -n "$mes_pids" ] && kill -TERM $mes_pids 2>/dev/null
  for _ in $(seq 1 150); do
    pgrep -f "pharma-mes serve --http.address=127.0.0.1 --http.port=809[12] --db.url=sqlite://$data/mes.db" >/dev/null || break
    sleep 0.1
  done
  [ -n "${mosquitto_pid:-}" ] && kill -TERM "$mosquitto_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_port() {  # host port what
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: $3 did not open $1:$2 (see $logs/)" >&2
  exit 1
}

# 1. The MQTT broker (no persistence needed: the MES's sessions live while the broker runs).
cat > "$data/mosquitto/mosquitto.conf" <<CONF
listener 1883 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 100
CONF
/usr/sbin/mosquitto -c "$data/mosquitto/mosquitto.conf" > "$logs/mosquitto.log" 2>&1 &
mosquitto_pid=$!
pids+=("$mosquitto_pid")
wait_port 127.0.0.1 1883 mosquitto

# 2. The MES, seeded with the demo plant on the first run, behind HAProxy (the users' address,
#    8090) so that a deployment can move the traffic between blue (8091) and green (8092).
mes=$bin/pharma-mes/app/pharma-mes
passwords=$data/demo-passwords.json
if [ ! -f "$data/mes.db" ]; then
  echo
  (umask 077 && "$mes" --db "sqlite://$data/mes.db" --key "$data/mes-signing.key" demo seed \
    > "$data/seed.txt")
  cat "$data/seed.txt"
  (umask 077 && python3 - "$data/seed.txt" "$passwords" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
json.dump(dict(re.findall(r"\n  (\S+)\t\S+\t(\S+)\t", text)), open(sys.argv[2], "w"))
EOF
  )
  rm -f "$data/seed.txt"
  echo "(write the passwords down: they are not shown again; the demo's batch driver keeps"
  echo " them in $passwords, readable by you only)"
  echo
else
  echo "pharma-mes: the demo plant is already in $data/mes.db (passwords were printed at its first run)"
fi
# The colour serving now: the one the last promoted deployment left (blue at first).
serving_colour=blue
serving_pid=$data/deployments/blue.pid
if [ -f "$data/deployments/serving" ]; then
  read -r serving_colour serving_pid _ < "$data/deployments/serving"
fi
if [ "$serving_colour" = green ]; then
  serving_port=8092 blue_state=" disabled" green_state=""
else
  serving_port=8091 blue_state="" green_state=" disabled"
fi
cat > "$data/haproxy.cfg" <<EOF
global
  stats socket $data/haproxy.sock mode 600 level admin
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 2
  option redispatch
frontend floor
  bind 127.0.0.1:8090
  # W3C Trace Context in the balancer's log: the caller's traceparent and the MES's
  # traceresponse (the same trace id as the MES's log lines for the request).
  capture request header traceparent len 55
  capture response header traceresponse len 55
  default_backend mes
backend mes
  option forwardfor
  http-response set-header X-Served-By %[srv_name]
  server blue 127.0.0.1:8091$blue_state
  server green 127.0.0.1:8092$green_state
EOF
/usr/sbin/haproxy -db -f "$data/haproxy.cfg" > "$logs/haproxy.log" 2>&1 &
pids+=($!)
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GUARDCTL_CONTROLLER_TOKEN=$token
mes_cmd() {  # colour port [extra flags...]: the command line of one colour
  local colour=$1 port=$2
  shift 2
  echo "$mes serve --http.address=127.0.0.1 --http.port=$port --db.url=sqlite://$data/mes.db" \
    "--key.path=$data/mes-signing.key --guardrail.colour=$colour" \
    "--guardrail.evidence_path=$data/evidence/pharma-mes-$colour.jsonl" \
    "--guardrail.reset_token=$token --mqtt.client_id=pharma-mes-$colour" \
    "--mqtt.share_group=pharma-mes-ingest --mqtt.leave_on_stop=true" \
    "--mqtt.spool_dir=$data/mqtt-spool-$colour --http.trusted_proxies=127.0.0.1" \
    "--guardrail.min_samples=40 --slo.batch_min_samples=1 --audit.verify_minutes=1 $*"
}
setsid sh -c "exec $(mes_cmd "$serving_colour" "$serving_port")" > "$logs/pharma-mes-$serving_colour.log" 2>&1 &
echo $! > "$serving_pid"
wait_port 127.0.0.1 "$serving_port" pharma-mes
wait_port 127.0.0.1 8090 haproxy

# 3. The plant's sensors.
"$bin/pharma-mes/sim/mes-sensor-sim" --seed=0 > "$logs/sensor-sim.log" 2>&1 &
pids+=($!)

# 4. The trading venue (the demo venue file: its accounts have credit and position limits) and
#    a light order flow (2 x 10 orders/s, crossing around 100).
#    The journal's checkpoints are signed with a key kept outside the journal directory
#    (trading-engine journal verify data/journal --signing-key data/keys/journal-signing.key).
mkdir -p "$data/keys" && chmod 700 "$data/keys"
"$bin/trading-engine/app/trading-engine" --venue.file=trading-engine/app/config/venue.toml \
  --journal.directory="$data/journal" --fix.store_directory="$data/fix-store" \
  --journal.signing_key="$data/keys/journal-signing.key" \
  --guardrail.evidence_path="$data/evidence/trading-engine.jsonl" --log.orders=true "$@" \
  > "$logs/trading-engine.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 9878 trading-engine
# Two accounts (BOB on CLIENT2, CAROL on DEMOFLOW): an account never trades with itself (STP).
for sender in CLIENT2 DEMOFLOW; do
  (
    while true; do
      "$bin/benchmarks/fix_load" --port 9878 --sender $sender --mode rate --demo 1 --rate 10 \
        --orders 36000 --warmup 1 --window 16 || sleep 5
    done
  ) > "$logs/demo-flow-$sender.log" 2>&1 &
  pids+=($!)
done

# 5. Prometheus and the node exporter's textfile collector (guardctl deploy's outcomes).
/usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:9109 \
  --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$data/metrics-textfile" > "$logs/node-exporter.log" 2>&1 &
pids+=($!)
sed -e "s#@ROOT@#$root#g" -e "s#@DATA@#$data#g" deploy/prometheus/prometheus.yml \
  > "$data/prometheus/prometheus.yml"
/usr/bin/prometheus --config.file="$data/prometheus/prometheus.yml" \
  --storage.tsdb.path="$data/prometheus/data" --storage.tsdb.retention.time=7d \
  --web.listen-address=127.0.0.1:9099 > "$logs/prometheus.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 9099 prometheus

# 6. The plant's people (the batch driver) and, now and then, a new release of the MES.
if [ -f "$passwords" ]; then
  python3 scripts/demo/mes_batches.py --url http://127.0.0.1:8090 --passwords "$passwords" \
    > "$logs/batches.log" 2>&1 &
  pids+=($!)
  (
    n=0
    sleep "$first_deploy"
    while true; do
      n=$((n + 1))
      read -r serving_colour serving_pid serving_version < <(cat "$data/deployments/serving" \
        2>/dev/null || echo "blue $data/deployments/blue.pid demo.0")
      if [ "$serving_colour" = blue ]; then new=green port=8092; else new=blue port=8091; fi
      # Every second release is faulty: losing its batch records' verifications (caught after
      # promotion, once its first batch ends) or slow (caught before promotion, under the smoke
      # traffic).
      fault=""
      version=demo.$n
      case $((n % 4)) in
        2) fault=--fault.batch_integrity=true version=demo.$n-broken ;;
        0) fault=--fault.api_latency_ms=150 version=demo.$n-slow ;;
      esac
      dir=$data/deployments/$(date -u +%Y%m%dT%H%M%SZ)-$n
      rc=0
      "$bin/guardrails/cli/guardctl" deploy --app pharma-mes --dir "$dir" \
        --blue-url http://127.0.0.1:8091 --green-url http://127.0.0.1:8092 --colour "$new" \
        --new-cmd "$(mes_cmd "$new" "$port" "$fault")" --old-pid-file "$serving_pid" \
        --compat-cmd "$mes --db sqlite://$data/mes.db db compat" \
        --smoke-cmd "python3 $root/scripts/drill/mes_load.py smoke --url {url} --passwords $passwords" \
        --haproxy-socket "$data/haproxy.sock" --backend mes --who demo-operator --env staging \
        --revision "$version" --blue-version "${serving_version:-demo.0}" --green-version "$version" \
        --poll-ms 250 --ready-timeout-s 60 --hold-limit-s 60 --post-window-s 40 \
        --scale-down-s 3 --stop-grace-s 15 --signing-key "$data/controller-signing.key" \
        --metrics-file "$data/metrics-textfile/guardctl_deploy.prom" || rc=$?
      if [ "$rc" = 0 ]; then
        echo "$new $dir/$new.pid $version" > "$data/deployments/serving"
      fi
      echo "deployment $n ($version as $new): exit $rc, evidence in $dir"
      sleep "$deploy_every"
    done
  ) > "$logs/deployments.log" 2>&1 &
  deploy_loop_pid=$!
  pids+=("$deploy_loop_pid")
else
  echo "run.sh: $passwords is missing (this data/ predates it): no batch driver and no" \
    "deployments; rm -rf $data to start over" >&2
fi

cat <<INFO

The demo is up (logs in $logs/, Ctrl-C stops it):
  operator UI (pharma-mes)      http://localhost:8090/
  pharma-mes guardrail          http://localhost:8090/guardrail/v1/status
  pharma-mes metrics            http://localhost:8090/metrics
  trading-engine status page    http://localhost:8080/status
  trading-engine guardrail      http://localhost:8080/guardrail/v1/status
  trading-engine metrics        http://localhost:8080/metrics
  Prometheus (rules, alerts)    http://localhost:9099/alerts
  deployments                   every ${deploy_every} s, the first in ${first_deploy} s: $logs/deployments.log
  FIX 4.4 (trading-engine)      localhost:9878, SenderCompID CLIENT1, TargetCompID VENUE
                                try: $bin/benchmarks/fix_load --port 9878 --mode pingpong --orders 1000
  dashboards                    dashboards/*.json for Grafana (dashboards/README.md)
INFO
# Until one of them stops (or Ctrl-C).
wait -n "${pids[@]}"
echo "run.sh: a demo process stopped; see $logs/" >&2
exit 1
