#!/usr/bin/env bash
# MES API reads under writes: `pharma-mes serve` (release, SQLite, demo plant, 20 batches) with
# wrk reading the batch list and one batch view while a second wrk writes <= 200 audited
# commands/s (lots received). The baseline in the same run is /livez on the same server (the HTTP
# stack without the store). Usage: benchmarks/mes_api_load.sh [build dir] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
seconds=${2:-8}
conns=${3:-16}
mes=$build/pharma-mes/app/pharma-mes
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
"$mes" --db "sqlite://$dir/mes.db" --key "$dir/key" demo seed > "$dir/seed.txt"
pw() { awk -v u="$1" -F'\t' '$1 == "  " u {print $3}' "$dir/seed.txt"; }
"$mes" serve --http.port=$port --db.url="sqlite://$dir/mes.db" --key.path="$dir/key" \
  --mqtt.enabled=false --guardrail.evidence_path="$dir/ev.jsonl" --log.level=warn &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port"
login() { curl -s "$url/api/v1/login" -d "{\"user_id\":\"$1\",\"password\":\"$(pw "$1")\"}" |
          sed -E 's/.*"token":"([0-9a-f]+)".*/\1/'; }
sup=$(login sup1)
op=$(login op1)
for i in $(seq 1 20); do
  curl -s -o /dev/null -H "Authorization: Bearer $sup" "$url/api/v1/batches" \
    -d "{\"id\":\"B-$i\",\"master\":\"PARA-500@1\",\"size\":100}"
done
summary() { awk '/Requests\/sec/ {rps=$2} /99%/ {p99=$2} END {printf "%s req/s, p99 %s\n", rps, p99}'; }
echo "baseline GET /livez:            $(wrk -t2 -c"$conns" -d"${seconds}s" --latency "$url/livez" | summary)"
for path in /api/v1/batches /api/v1/batches/B-7; do
  echo "GET $path (no writes):   $(wrk -t2 -c"$conns" -d"${seconds}s" --latency -H "Authorization: Bearer $op" "$url$path" | summary)"
  WRITE_TOKEN=$sup wrk -t1 -c2 -d"${seconds}s" -s benchmarks/wrk/mes_writes.lua "$url" > "$dir/writes.txt" &
  writer=$!
  reads=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency -H "Authorization: Bearer $op" "$url$path" | summary)
  wait $writer
  echo "GET $path + writes:      $reads; writes $(awk '/Requests\/sec/ {print $2}' "$dir/writes.txt")/s"
done
