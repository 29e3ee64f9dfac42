#!/usr/bin/env bash
# The venue's deployment drill (scripts/drill.sh venue; DESIGN.md section 7, issue #15): HAProxy in
# TCP mode on the FIX port and HTTP on the admin port, trading-engine blue as the primary, the
# journal and the FIX session stores in one shared directory (the ReadWriteMany volume on
# Kubernetes), and for the whole drill `fix_load --mode sessions` trading open loop from two
# sessions through HAProxy. Then three deployments with `guardctl deploy --handover`:
#   (a) a good release as green: a standby whose digests agree with blue's, promoted by that
#       analysis, cut over (blue hands over, green takes over, HAProxy moves), confirmed;
#   (b) a release with a latency fault (--fault.reply_delay_ms): cut over, rolled back by the
#       post-promotion analysis (the same handover the other way);
#   (c) a release that computes another book (--fault.matching): refused before promotion, its
#       digest differing at a named sequence; it never takes over.
# Last line: {"drill":"venue","cutovers":N,"rollbacks":N,"refused":1,"lost_orders":0,
# "duplicate_fills":0,"seq_resets":0,"digest_equal":true,"no_accept_gap_ms":[...],
# "client_gap_ms":[...],...}; exit 0 when every target is met.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
scripts/build.sh release trading-engine guardctl fix_load >/dev/null
bin=$root/build/release
venue=$bin/trading-engine/app/trading-engine
guardctl=$bin/guardrails/cli/guardctl
fix_load=$bin/benchmarks/fix_load
for tool in /usr/sbin/haproxy python3 curl; do
  command -v "$tool" >/dev/null || { echo "drill: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/drill-venue.XXXXXX)
chmod 755 "$work"
started=$(date +%s)
# shellcheck disable=SC1091  # scripts/drill/lib.sh, checked on its own
. "$root/scripts/drill/lib.sh"
pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for f in "$work"/deploy-*/green.pid "$work"/deploy-*/blue.pid "$work"/blue.pid; do
    [ -f "$f" ] && { kill -TERM "$(cat "$f")" 2>/dev/null || true; }
  done
  sleep 1
}
trap cleanup EXIT

# ---- the estate: HAProxy in front of two colours ----
fix_front=$(free_port)
admin_front=$(free_port)
blue_fix=$(free_port)
green_fix=$(free_port)
blue_http=$(free_port)
green_http=$(free_port)
cat >"$work/haproxy.cfg" <<CFG
global
  stats socket $work/haproxy.sock mode 600 level admin
defaults
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 2
  option redispatch
frontend fix
  mode tcp
  bind 127.0.0.1:$fix_front
  default_backend venue_fix
backend venue_fix
  mode tcp
  server blue 127.0.0.1:$blue_fix
  server green 127.0.0.1:$green_fix disabled
frontend admin
  mode http
  bind 127.0.0.1:$admin_front
  default_backend venue_http
backend venue_http
  mode http
  http-response set-header X-Served-By %[srv_name]
  server blue 127.0.0.1:$blue_http
  server green 127.0.0.1:$green_http disabled
CFG
/usr/sbin/haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$admin" >"$work/admin.token"
chmod 600 "$work/admin.token"
export GUARDCTL_CONTROLLER_TOKEN=$token
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
venue_cmd() { # colour fix-port http-port [flags...]: the command line of one colour
  local colour=$1 fix=$2 http=$3
  shift 3
  echo "$venue --fix.port=$fix --http.address=127.0.0.1 --http.port=$http" \
    "--journal.directory=$work/journal --fix.store_directory=$work/fix-store" \
    "--journal.digest_interval_ms=250 --guardrail.colour=$colour" \
    "--guardrail.evidence_path=$work/$colour-evidence.jsonl --guardrail.reset_token=$token" \
    "--admin.token=$admin --log.level=info $*"
}
sh -c "exec $(venue_cmd blue "$blue_fix" "$blue_http")" >"$work/blue-first.log" 2>&1 &
echo $! >"$work/blue.pid"
wait_http "http://127.0.0.1:$blue_http/readyz" 60 || { cat "$work/blue-first.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$admin_front/readyz" 10 || { cat "$work/haproxy.log" >&2; exit 1; }
log "trading-engine blue trading behind HAProxy (FIX 127.0.0.1:$fix_front)"

"$fix_load" --mode sessions --host 127.0.0.1 --port "$fix_front" --sessions CLIENT1,CLIENT2 \
  --rate "${DRILL_RATE:-100}" --seconds 0 --store "$work/client-store" \
  >"$work/load.json" 2>"$work/load.log" &
load_pid=$!
pids+=("$load_pid")
sleep 3

deploy() { # n colour fix-port http-port old-pid-file [flags...]
  local n=$1 colour=$2 fix=$3 http=$4 old_pid=$5
  shift 5
  local rc=0
  log "deployment $n: the new release as $colour ${*:-(no fault)}"
  "$guardctl" deploy --app trading-engine --dir "$work/deploy-$n" --handover \
    --admin-token-file "$work/admin.token" \
    --blue-url "http://127.0.0.1:$blue_http" --green-url "http://127.0.0.1:$green_http" \
    --colour "$colour" --new-cmd "$(venue_cmd "$colour" "$fix" "$http" --venue.role=standby "$@")" \
    --old-pid-file "$old_pid" \
    --compat-cmd "$venue journal compat $work/journal" \
    --haproxy-socket "$work/haproxy.sock" --backend venue_fix,venue_http \
    --who drill-operator --env staging \
    --revision "$revision" --blue-version "$revision" --green-version "$revision" \
    --poll-ms 200 --ready-timeout-s 60 --hold-limit-s 60 --post-window-s 10 --scale-down-s 2 \
    --stop-grace-s 15 --signing-key "$work/controller-signing.key" \
    >"$work/deploy-$n.out" 2>&1 || rc=$?
  # The outcome and the controller's reason: a drill that fails in CI says why in its log.
  log "deployment $n: exit $rc, $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("outcome"), "-", s.get("reason"))' "$work/deploy-$n/summary.json" 2>/dev/null || tail -1 "$work/deploy-$n.out")"
}
deploy 1 green "$green_fix" "$green_http" "$work/blue.pid"
deploy 2 blue "$blue_fix" "$blue_http" "$work/deploy-1/green.pid" --fault.reply_delay_ms=80
deploy 3 blue "$blue_fix" "$blue_http" "$work/deploy-1/green.pid" --fault.matching=true
sleep 2

# ---- the reckoning ----
kill -TERM "$load_pid"
wait "$load_pid" || true
# The state of the venue now against a fresh replay of the journal by this build: equal digests.
curl -s -H "Authorization: Bearer $admin" "http://127.0.0.1:$admin_front/admin/v1/state" \
  >"$work/state-live.json" || true
kill -TERM "$(cat "$work/deploy-1/green.pid")" 2>/dev/null || true
for _ in $(seq 1 150); do
  kill -0 "$(cat "$work/deploy-1/green.pid")" 2>/dev/null || break
  sleep 0.1
done
replay_http=$(free_port)
"$venue" --venue.role=standby --fix.port=0 --http.address=127.0.0.1 --http.port="$replay_http" \
  --journal.directory="$work/journal" --fix.store_directory="$work/replay-store" \
  --guardrail.evidence_path="$work/replay-evidence.jsonl" --admin.token="$admin" --log.level=warn \
  >"$work/replay.log" 2>&1 &
replay_pid=$!
pids+=("$replay_pid")
# The replay has caught up once it reached the live sequence: the stopped primary may have written
# a digest marker (kind 9, no state change) after the live state was read, so it may go further.
live_sequence=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["sequence"])' \
  "$work/state-live.json" 2>/dev/null || echo 0)
for _ in $(seq 1 300); do
  if curl -s -H "Authorization: Bearer $admin" "http://127.0.0.1:$replay_http/admin/v1/state" \
    >"$work/state-replayed.json" 2>/dev/null &&
    python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["data"]["sequence"] >= int(sys.argv[2]) else 1)' \
      "$work/state-replayed.json" "$live_sequence" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
evidence_ok=true
for n in 1 2 3; do
  "$guardctl" evidence verify "$work/deploy-$n" >"$work/verify-$n.txt" 2>&1 || evidence_ok=false
done
cat >"$work/figures.json" <<JSON
{"evidence_verified": $evidence_ok, "seconds": $(($(date +%s) - started))}
JSON
log "work directory: $work (deployment evidence in deploy-1..3)"
rc=0
python3 scripts/drill/venue_summary.py "$work" || rc=$?
if [ "$rc" = 0 ] && [ "${DRILL_KEEP:-1}" = 0 ]; then rm -rf "$work"; fi
exit "$rc"
